#pragma once
// Sinks: where rows leave a job (stdout, files, Kafka, Elasticsearch).
//
// A SinkFunction instance belongs to one subtask, task thread only. Call order: Open,
// [RestoreState], WriteBatch* with PrepareCommit(n) between batches whenever
// checkpoint n passes the sink, Commit(n) once checkpoint n is complete job-wide (it
// may come late, or for a later n only, which then covers the earlier ones), Finish
// when every input ended (not on cancel), Close (always).
//
// Exactly-once sinks (Kafka transactions) stage rows per checkpoint: WriteBatch writes
// into the open transaction, PrepareCommit(n) flushes and pre-commits it and returns
// what is needed to commit it after a restart, Commit(n) commits. At-least-once /
// idempotent sinks (Elasticsearch upserts) flush in PrepareCommit and ignore Commit.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/batch.h"
#include "cdcflow/export.h"
#include "cdcflow/operator.h"

namespace cdcflow {

class CDCFLOW_API SinkFunction {
 public:
  virtual ~SinkFunction();
  virtual absl::Status Open(RuntimeContext& ctx) { return absl::OkStatus(); }
  // Writes or buffers a batch; may consume its rows. Blocking here is how a slow
  // sink slows the sources (backpressure); still return within a few seconds.
  virtual absl::Status WriteBatch(RowBatch& batch) = 0;
  // Checkpoint `checkpoint_id` reached the sink: flush and stage everything written
  // so far; returns the sink's state for that checkpoint (e.g. a transaction id).
  virtual absl::StatusOr<std::string> PrepareCommit(int64_t checkpoint_id) {
    return std::string();
  }
  // Checkpoint `checkpoint_id` is complete: make its staged rows visible.
  virtual absl::Status Commit(int64_t checkpoint_id) { return absl::OkStatus(); }
  // Restart from a checkpoint: `state` is what PrepareCommit returned for it; called
  // after Open, before any WriteBatch. It commits what that checkpoint pre-committed
  // and cleans up what later attempts left. On a rescale it may be called once per
  // old subtask's state: the built-in sinks act on old subtask j's state only in new
  // subtask j % new_parallelism (so every old state must reach that subtask at least).
  virtual absl::Status RestoreState(std::string_view state) { return absl::OkStatus(); }
  // Every input ended: flush and make everything durable/visible.
  virtual absl::Status Finish() { return absl::OkStatus(); }
  virtual absl::Status Close() { return absl::OkStatus(); }
};

}  // namespace cdcflow
