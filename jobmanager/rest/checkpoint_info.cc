#include "jobmanager/rest/checkpoint_info.h"

namespace cdcflow::rest {

CheckpointInfo ToCheckpointInfo(const checkpoint::CheckpointStats& c) {
  CheckpointInfo ci;
  ci.id = c.id;
  ci.status = checkpoint::CheckpointStatusName(c.status);
  ci.savepoint = c.savepoint;
  ci.trigger_time_ms = c.trigger_time_ms;
  ci.duration_ms = c.duration_ms;
  ci.size_bytes = static_cast<int64_t>(c.full_bytes);
  ci.alignment_ms = c.alignment_ns_max / 1'000'000;
  ci.acknowledged = c.acked;
  ci.total = c.expected;
  ci.path = c.path;
  ci.failure_reason = c.failure;
  return ci;
}

}  // namespace cdcflow::rest
