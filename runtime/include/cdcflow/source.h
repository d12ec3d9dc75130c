#pragma once
// Sources: where rows enter a job (the generator below, Kafka in connectors/).
//
// A SourceFunction instance belongs to one subtask and is called from its task thread
// only, never concurrently. Call order: Open, [EnumerateSplits + AssignSplits for a
// SplitSource], [RestorePosition when restarting from a checkpoint], PollBatch until
// it reports kEndOfInput or the task is cancelled, Close (always).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/batch.h"
#include "cdcflow/export.h"
#include "cdcflow/operator.h"

namespace cdcflow {

enum class PollStatus : uint8_t {
  kMore = 0,        // poll again right away (rows may or may not have been added)
  kIdle = 1,        // nothing available now: the runtime backs off briefly (~1-10 ms)
  kEndOfInput = 2,  // a bounded source is exhausted; rows added by this call still count
};

struct PollResult {
  PollStatus status = PollStatus::kMore;
  // When set, the source's event time advanced: no row with a smaller timestamp will
  // follow from this subtask. The runtime sends kMaxWatermark after kEndOfInput itself.
  int64_t watermark = kNoTimestamp;
};

class SplitSource;

class CDCFLOW_API SourceFunction {
 public:
  virtual ~SourceFunction();
  virtual absl::Status Open(RuntimeContext& ctx) { return absl::OkStatus(); }
  // Appends at most `max_rows` rows to `out` (which the runtime hands over empty).
  // Must not block longer than about 100 ms, so cancellation and checkpoint barriers
  // are not held up: return kIdle instead.
  virtual absl::StatusOr<PollResult> PollBatch(RowBatch& out, size_t max_rows) = 0;
  // Called from another thread when the runtime needs the task thread back (a
  // checkpoint trigger, cancellation): a PollBatch blocked waiting for input should
  // return soon (kIdle is fine). Thread-safe; may come at any time of the source's
  // life, also before Open and after Close. Without it a trigger waits for the poll's
  // timeout, and every barrier's alignment downstream (blocked input) with it.
  virtual void Wakeup() {}
  // The read position as opaque bytes (e.g. Kafka offsets per partition), taken
  // between two PollBatch calls when checkpoint `checkpoint_id` passes this source.
  virtual absl::StatusOr<std::string> SnapshotPosition(int64_t checkpoint_id) {
    return std::string();
  }
  // Resume from bytes that SnapshotPosition returned (possibly in another process).
  virtual absl::Status RestorePosition(std::string_view position) { return absl::OkStatus(); }
  virtual absl::Status NotifyCheckpointComplete(int64_t checkpoint_id) {
    return absl::OkStatus();
  }
  virtual absl::Status Close() { return absl::OkStatus(); }
  // Non-null when this source is a SplitSource (avoids dynamic_cast across the plugin
  // boundary).
  virtual SplitSource* AsSplitSource() { return nullptr; }
};

// A unit of a source's input that one subtask reads: a Kafka partition, a file.
struct SourceSplit {
  std::string id;    // stable and unique within the source, e.g. "orders-3"
  std::string data;  // whatever the source needs to open it
  friend bool operator==(const SourceSplit&, const SourceSplit&) = default;
};

// A source whose input divides into splits spread over the subtasks. After Open, the
// runtime calls EnumerateSplits and hands this subtask its share: split i (in the
// enumerated order) goes to subtask i % parallelism. EnumerateSplits must therefore
// return the same list in every subtask.
class CDCFLOW_API SplitSource : public SourceFunction {
 public:
  virtual absl::StatusOr<std::vector<SourceSplit>> EnumerateSplits(RuntimeContext& ctx) = 0;
  // This subtask's splits (possibly none: the subtask then ends at once if bounded,
  // or idles).
  virtual absl::Status AssignSplits(std::vector<SourceSplit> splits) = 0;
  SplitSource* AsSplitSource() final { return this; }
};

}  // namespace cdcflow
