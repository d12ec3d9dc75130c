#pragma once
// Where a task reports checkpoints (CHECKPOINT_DESIGN.md §3). The local job passes the
// CheckpointCoordinator itself; a task manager passes a forwarder that sends the calls
// to the job manager over gRPC (ckpt-cluster).
//
// Thread-safety: implementations must be thread-safe. Acknowledge/Decline come from the
// uploader threads (after the asynchronous part of a snapshot) or from task threads;
// TaskFinished from the thread that ran the task. Calls must not block for long (no
// I/O under locks the task thread needs): a forwarder queues them.

#include <cstdint>

#include "absl/status/status.h"
#include "proto/checkpoint.pb.h"
#include "runtime/exchange/channel.h"

namespace cdcflow::checkpoint {

class CheckpointListener {
 public:
  virtual ~CheckpointListener() = default;
  // Task `ack.chain()/ack.subtask()` finished its part of checkpoint ack.checkpoint_id():
  // every file the ack references is already in the checkpoint storage.
  virtual void Acknowledge(const v1::TaskCheckpointAck& ack) = 0;
  // The task cannot take part in checkpoint `checkpoint_id` (snapshot or upload failed,
  // alignment was overtaken by a newer barrier, the task is not running, ...): the
  // coordinator aborts that checkpoint without failing the job.
  virtual void Decline(const exchange::TaskId& task, int64_t checkpoint_id,
                       absl::Status reason) = 0;
  // The task ended normally (every input ended and its operators finished). It acks no
  // further checkpoints; they complete without it and record it as finished.
  virtual void TaskFinished(const exchange::TaskId& task) = 0;
};

}  // namespace cdcflow::checkpoint
