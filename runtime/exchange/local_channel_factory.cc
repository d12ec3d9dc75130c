#include "runtime/exchange/local_channel_factory.h"

#include "absl/strings/str_cat.h"
#include "runtime/exchange/topology.h"

namespace cdcflow::exchange {

LocalChannelFactory::LocalChannelFactory(const graph::JobGraphSpec& spec,
                                         const graph::ExecutionPlan& plan,
                                         LocalExchangeOptions options) {
  gates_.resize(plan.chains.size());
  for (const graph::ChainSpec& c : plan.chains) {
    for (int32_t s = 0; s < c.parallelism; ++s) {
      int32_t n = static_cast<int32_t>(InputChannels(spec, plan, c.id, s).size());
      size_t capacity = std::max<size_t>(2, options.messages_per_channel) * std::max(n, 1);
      gates_[c.id].push_back(std::make_unique<InputGate>(n, capacity));
    }
  }
}

InputGate* LocalChannelFactory::gate(const TaskId& id) {
  if (id.chain < 0 || id.chain >= static_cast<int32_t>(gates_.size()) || id.subtask < 0 ||
      id.subtask >= static_cast<int32_t>(gates_[id.chain].size())) {
    return nullptr;
  }
  return gates_[id.chain][id.subtask].get();
}

absl::StatusOr<std::unique_ptr<BatchReader>> LocalChannelFactory::OpenReader(
    const TaskId& consumer) {
  InputGate* g = gate(consumer);
  if (g == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no task ", consumer.chain, "/", consumer.subtask, " in this job"));
  }
  return std::make_unique<GateReader>(g);
}

absl::StatusOr<std::unique_ptr<BatchWriter>> LocalChannelFactory::OpenWriter(
    const ChannelId& id, const TaskId& consumer, int32_t gate_channel) {
  InputGate* g = gate(consumer);
  if (g == nullptr || gate_channel < 0 || gate_channel >= g->num_channels()) {
    return absl::InvalidArgumentError(absl::StrCat("no channel ", gate_channel, " into task ",
                                                   consumer.chain, "/", consumer.subtask));
  }
  return std::make_unique<LocalBatchWriter>(g, gate_channel);
}

void LocalChannelFactory::Cancel() {
  for (auto& chain : gates_) {
    for (auto& g : chain) g->Cancel();
  }
}

}  // namespace cdcflow::exchange
