#pragma once
// Which channels connect which tasks: computed the same way in every process from the
// job graph and its execution plan, so producer and consumer agree on channel indices
// without talking.

#include <cstdint>
#include <vector>

#include "runtime/exchange/channel.h"
#include "runtime/graph/job_graph.h"

namespace cdcflow::exchange {

struct InputChannel {
  int32_t edge = 0;
  int32_t producer_subtask = 0;
  int32_t target_input = 0;  // the input of the chain head this edge feeds
};

// The input gate layout of task (chain, subtask): the chain's exchange input edges in
// edge-id order, each contributing one channel per producer subtask (ascending), or
// exactly one channel (from the same subtask index) for a forward edge.
std::vector<InputChannel> InputChannels(const graph::JobGraphSpec& spec,
                                        const graph::ExecutionPlan& plan, int32_t chain,
                                        int32_t subtask);

struct OutputChannel {
  int32_t consumer_subtask = 0;
  int32_t gate_channel = 0;  // index in the consumer task's input gate
};

// The channels of exchange edge `edge` leaving producer subtask `producer_subtask`,
// by consumer subtask ascending (one, the same index, for a forward edge).
std::vector<OutputChannel> OutputChannels(const graph::JobGraphSpec& spec,
                                          const graph::ExecutionPlan& plan, int32_t edge,
                                          int32_t producer_subtask);

}  // namespace cdcflow::exchange
