#include "runtime/exchange/topology.h"

namespace cdcflow::exchange {

namespace {
int32_t ChannelsOf(const graph::JobGraphSpec& spec, const graph::EdgeSpec& e) {
  return e.partitioning == Partitioning::kForward ? 1 : spec.vertices[e.source].parallelism;
}
}  // namespace

std::vector<InputChannel> InputChannels(const graph::JobGraphSpec& spec,
                                        const graph::ExecutionPlan& plan, int32_t chain,
                                        int32_t subtask) {
  std::vector<InputChannel> out;
  for (int32_t edge_id : plan.chain_inputs[chain]) {
    const graph::EdgeSpec& e = spec.edges[edge_id];
    if (e.partitioning == Partitioning::kForward) {
      out.push_back({edge_id, subtask, e.target_input});
    } else {
      for (int32_t p = 0; p < spec.vertices[e.source].parallelism; ++p) {
        out.push_back({edge_id, p, e.target_input});
      }
    }
  }
  return out;
}

std::vector<OutputChannel> OutputChannels(const graph::JobGraphSpec& spec,
                                          const graph::ExecutionPlan& plan, int32_t edge,
                                          int32_t producer_subtask) {
  const graph::EdgeSpec& e = spec.edges[edge];
  const int32_t target_chain = plan.chain_of_vertex[e.target];
  int32_t offset = 0;
  for (int32_t in : plan.chain_inputs[target_chain]) {
    if (in == edge) break;
    offset += ChannelsOf(spec, spec.edges[in]);
  }
  std::vector<OutputChannel> out;
  if (e.partitioning == Partitioning::kForward) {
    out.push_back({producer_subtask, offset});
  } else {
    for (int32_t c = 0; c < spec.vertices[e.target].parallelism; ++c) {
      out.push_back({c, offset + producer_subtask});
    }
  }
  return out;
}

}  // namespace cdcflow::exchange
