#pragma once
// The producer side of one exchange edge in one subtask: routes the rows of each batch
// to the downstream subtasks as the edge's partitioning says (forward, hash by key
// group, broadcast, rebalance) and writes per-channel batches through BatchWriters.

#include <memory>
#include <vector>

#include "cdcflow/batch.h"
#include "cdcflow/job.h"
#include "cdcflow/operator.h"
#include "runtime/exchange/channel.h"

namespace cdcflow::exchange {

struct EdgeOutputOptions {
  // A channel's pending rows are sent once they reach this many; smaller remainders go
  // on Flush (the task flushes whenever its input runs dry, so latency stays low).
  size_t target_batch_rows = 1024;
};

// Task-thread only.
class EdgeOutput {
 public:
  // `writers[i]` is the channel to downstream subtask i (one writer for kForward).
  // `key` (kHash only) must outlive the EdgeOutput.
  EdgeOutput(Partitioning partitioning, int32_t max_parallelism, const KeySelector* key,
             std::vector<std::unique_ptr<BatchWriter>> writers, EdgeOutputOptions options = {});

  // Routes and consumes the rows of `batch`.
  absl::Status Emit(RowBatch& batch);
  // Sends every channel's pending rows.
  absl::Status Flush();
  // Flushes, then sends the watermark / end of stream on every channel.
  absl::Status EmitWatermark(int64_t watermark);
  absl::Status EmitEndOfStream();
  // Flushes, then sends checkpoint barrier `checkpoint_id` on every channel.
  absl::Status EmitBarrier(int64_t checkpoint_id);

  int64_t rows_sent() const { return rows_sent_; }
  // Nanoseconds spent inside BatchWriter::Write, i.e. waiting for downstream room
  // (backpressure) plus the hand-over itself.
  int64_t blocked_ns() const { return blocked_ns_; }

 private:
  absl::Status SendPending(size_t channel);
  absl::Status Write(size_t channel, ChannelMessage message);

  Partitioning partitioning_;
  int32_t max_parallelism_;
  const KeySelector* key_;
  std::vector<std::unique_ptr<BatchWriter>> writers_;
  EdgeOutputOptions options_;
  std::vector<RowBatch> pending_;
  std::vector<uint64_t> hashes_;
  size_t next_channel_ = 0;
  int64_t rows_sent_ = 0;
  int64_t blocked_ns_ = 0;
};

}  // namespace cdcflow::exchange
