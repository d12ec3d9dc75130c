#pragma once
// The data-exchange boundary between subtasks.
//
// A task (one subtask of an operator chain, see graph::ExecutionPlan) reads all its
// inputs through one BatchReader and sends each output edge's rows through one
// BatchWriter per downstream subtask. The runtime gets both from a ChannelFactory, so a
// channel to a subtask in another process (gRPC, the cluster's factory) plugs in
// without touching operators or tasks:
//
//   producer task --BatchWriter::Write--> [channel] --> consumer's InputGate --Read--> consumer task
//
// Local channels push straight into the consumer's InputGate (a bounded queue): Write
// blocks while it is full, which is the backpressure. A remote channel encodes the
// batch (EncodeBatch in batch_codec.h) and streams it; the receiving process decodes it
// and Pushes it into the consumer's InputGate, blocking the stream while the gate is
// full, so gRPC/HTTP2 flow control carries the backpressure back to the writer.
//
// Order: messages of one channel arrive in the order written; channels interleave.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cdcflow/batch.h"

namespace cdcflow::exchange {

// Numeric values travel between processes: never renumber.
enum class MessageKind : uint8_t {
  kBatch = 0,
  kWatermark = 1,    // value = the producer subtask's watermark
  kEndOfStream = 2,  // the producer subtask finished; the channel carries nothing after it
  kBarrier = 3,      // value = checkpoint id (CHECKPOINT_DESIGN.md §3)
};

struct ChannelMessage {
  MessageKind kind = MessageKind::kBatch;
  // Index of the channel within the consumer's input gate. Writers set it.
  int32_t channel = 0;
  RowBatch batch;     // kBatch only
  int64_t value = 0;  // kWatermark / kBarrier

  static ChannelMessage Batch(RowBatch batch) {
    ChannelMessage m;
    m.batch = std::move(batch);
    return m;
  }
  static ChannelMessage Watermark(int64_t watermark) {
    ChannelMessage m;
    m.kind = MessageKind::kWatermark;
    m.value = watermark;
    return m;
  }
  static ChannelMessage Barrier(int64_t checkpoint_id) {
    ChannelMessage m;
    m.kind = MessageKind::kBarrier;
    m.value = checkpoint_id;
    return m;
  }
  static ChannelMessage EndOfStream() {
    ChannelMessage m;
    m.kind = MessageKind::kEndOfStream;
    return m;
  }
};

// A task: subtask `subtask` of chain `chain` of the execution plan.
struct TaskId {
  int32_t chain = 0;
  int32_t subtask = 0;
  friend bool operator==(const TaskId&, const TaskId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const TaskId& t) {
    return H::combine(std::move(h), t.chain, t.subtask);
  }
};

// One channel: exchange edge `edge` from producer subtask to consumer subtask.
struct ChannelId {
  int32_t edge = 0;
  int32_t producer_subtask = 0;
  int32_t consumer_subtask = 0;
  friend bool operator==(const ChannelId&, const ChannelId&) = default;
};

// Producer side of one channel. Owned and called by the producing task's thread only.
class BatchWriter {
 public:
  virtual ~BatchWriter() = default;
  // Hands `message` to the consumer (its `channel` field is set by the writer). Blocks
  // while the consumer has no room: that is how backpressure reaches the sources.
  // Returns kCancelled once the exchange was cancelled, kUnavailable when a remote
  // consumer is lost.
  virtual absl::Status Write(ChannelMessage message) = 0;
};

// Consumer side: every input channel of one task, multiplexed. Owned and called by the
// consuming task's thread only.
class BatchReader {
 public:
  virtual ~BatchReader() = default;
  virtual int32_t num_channels() const = 0;
  // The next message from any channel. Returns false when `timeout` passed without
  // one, kCancelled once the exchange was cancelled.
  virtual absl::StatusOr<bool> Read(ChannelMessage* message, absl::Duration timeout) = 0;
  // Barrier alignment: while `channel` is blocked, Read delivers none of its messages
  // (they stay queued, so its producer is backpressured). Returns false when this
  // reader cannot block channels; the task then holds the channel's messages itself.
  virtual bool SetChannelBlocked(int32_t channel, bool blocked) { return false; }
};

// Creates the channels of one job's tasks in one process. Thread-safe: tasks open their
// readers and writers concurrently from their own threads.
class ChannelFactory {
 public:
  virtual ~ChannelFactory() = default;
  // The input gate of task `consumer`, over all its input channels in the order of
  // InputChannels() (topology.h). Called once per task.
  virtual absl::StatusOr<std::unique_ptr<BatchReader>> OpenReader(const TaskId& consumer) = 0;
  // The producer end of channel `id`, whose consumer is task `consumer` where the
  // channel has index `gate_channel` (OutputChannels() in topology.h computes both).
  virtual absl::StatusOr<std::unique_ptr<BatchWriter>> OpenWriter(const ChannelId& id,
                                                                  const TaskId& consumer,
                                                                  int32_t gate_channel) = 0;
  // Unblocks every blocked Write/Read with kCancelled; later calls fail the same way.
  virtual void Cancel() = 0;
};

}  // namespace cdcflow::exchange
