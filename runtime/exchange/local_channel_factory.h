#pragma once
// Channels between tasks of one process: every task's InputGate is created up front
// from the plan; writers push into the consumer's gate.

#include <memory>
#include <vector>

#include "runtime/exchange/channel.h"
#include "runtime/exchange/input_gate.h"
#include "runtime/graph/job_graph.h"

namespace cdcflow::exchange {

struct LocalExchangeOptions {
  // Gate capacity in messages per input channel (at least 2 per channel so a producer
  // can write while the consumer works).
  size_t messages_per_channel = 4;
};

// Thread-safe. Owns the gates; must outlive every reader and writer it handed out.
class LocalChannelFactory final : public ChannelFactory {
 public:
  LocalChannelFactory(const graph::JobGraphSpec& spec, const graph::ExecutionPlan& plan,
                      LocalExchangeOptions options = {});
  absl::StatusOr<std::unique_ptr<BatchReader>> OpenReader(const TaskId& consumer) override;
  absl::StatusOr<std::unique_ptr<BatchWriter>> OpenWriter(const ChannelId& id,
                                                          const TaskId& consumer,
                                                          int32_t gate_channel) override;
  void Cancel() override;
  // The gate of task `id` (for a network receiver that pushes remote messages in).
  InputGate* gate(const TaskId& id);

 private:
  std::vector<std::vector<std::unique_ptr<InputGate>>> gates_;  // [chain][subtask]
};

}  // namespace cdcflow::exchange
