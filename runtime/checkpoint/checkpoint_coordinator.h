#pragma once
// The checkpoint coordinator (CHECKPOINT_DESIGN.md §4): triggers checkpoints at the
// source tasks, collects acks, writes the metadata atomically on completion, prunes to
// the last N, tells the tasks that a checkpoint completed or was aborted, and keeps the
// history for the REST API. Transport-agnostic: the local job wires the callbacks to
// its Task objects, the job manager to gRPC calls to its task managers.
//
// A checkpoint completes when every task of the job acked it or had finished
// (TaskFinished) before acking; finished tasks are recorded in the metadata as
// finished. A checkpoint that is declined, fails to write its metadata, or times out
// is aborted (notify_aborted, its partial files discarded) without failing the job.
//
// Savepoints are checkpoints too (their sinks commit on completion, they count towards
// the retained ones) that are additionally exported into a self-contained directory.
//
// Thread-safety: every method is thread-safe. Callbacks run without the coordinator's
// lock held, from the periodic thread, from the caller of TriggerNow, or from the
// thread that delivered the last ack; they must not block for long.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/checkpoint/checkpoint_listener.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/exchange/channel.h"

namespace cdcflow::checkpoint {

struct CoordinatorOptions {
  absl::Duration interval = absl::ZeroDuration();  // periodic checkpoints; zero: on demand only
  absl::Duration timeout = absl::Minutes(10);      // a checkpoint not complete by then aborts
  absl::Duration min_pause = absl::ZeroDuration(); // between the end of one and the next trigger
  int retained = 3;                                // completed checkpoints kept
  int max_concurrent = 1;                          // checkpoints in flight at once
  int history_size = 50;                           // entries History() keeps
};

struct CoordinatorCallbacks {
  // Trigger checkpoint `id` at every running source task (Task::TriggerCheckpoint).
  std::function<void(int64_t id, bool savepoint)> trigger;
  // Checkpoint `id` completed: Task::NotifyCheckpointComplete on every task.
  std::function<void(int64_t id)> notify_complete;
  // Checkpoint `id` was aborted: Task::NotifyCheckpointAborted on every task.
  std::function<void(int64_t id)> notify_aborted;
};

enum class CheckpointStatus { kInProgress, kCompleted, kFailed };
const char* CheckpointStatusName(CheckpointStatus status);  // "IN_PROGRESS", ...

// One row of the checkpoint history (REST API: /jobs/<id>/checkpoints).
struct CheckpointStats {
  int64_t id = 0;
  CheckpointStatus status = CheckpointStatus::kInProgress;
  bool savepoint = false;
  int64_t trigger_time_ms = 0;  // wall clock
  int64_t duration_ms = 0;      // trigger to completion / failure (so far while in progress)
  uint64_t uploaded_bytes = 0;  // new bytes written for this checkpoint (incremental)
  uint64_t full_bytes = 0;      // total size of the files the checkpoint references
  int64_t alignment_ns_max = 0; // the longest barrier alignment of any task
  int32_t acked = 0;
  int32_t expected = 0;
  std::string path;             // chk dir, or the savepoint dir
  std::string failure;          // why it failed (kFailed)
};

class CheckpointCoordinator final : public CheckpointListener {
 public:
  // `tasks`: every task of the job (all must ack). `storage` must outlive the
  // coordinator. The first checkpoint id is one above the newest chk-<id> in storage
  // and `min_next_id` (pass a restored savepoint's id + 1).
  static absl::StatusOr<std::unique_ptr<CheckpointCoordinator>> Create(
      std::vector<exchange::TaskId> tasks, CheckpointStorage* storage, CoordinatorOptions options,
      CoordinatorCallbacks callbacks, int64_t min_next_id = 1);
  ~CheckpointCoordinator() override;  // Stop()

  // Starts the periodic trigger thread (no-op when interval is zero) and the timeout
  // watchdog. Idempotent.
  void Start();
  // Stops the threads; pending checkpoints are aborted. Idempotent.
  void Stop();

  // A new attempt of the job (after a restart): pending checkpoints are aborted, every
  // task is expected again (finished marks cleared), acks of older attempts ignored.
  void ResetForAttempt(int32_t attempt);
  // Pauses/resumes periodic triggering (while restarting).
  void Suspend();
  void Resume();

  // Triggers a checkpoint now (a savepoint when `savepoint_dir` is set). Returns its id;
  // kFailedPrecondition when max_concurrent checkpoints are already in flight.
  absl::StatusOr<int64_t> TriggerNow(std::optional<std::string> savepoint_dir = std::nullopt);
  // Waits until checkpoint `id` completed or failed (or `timeout` passed: kDeadlineExceeded).
  // Returns the completed checkpoint (for a savepoint: the exported savepoint) or why it failed.
  absl::StatusOr<CompletedCheckpoint> Await(int64_t id,
                                            absl::Duration timeout = absl::InfiniteDuration());

  // CheckpointListener.
  void Acknowledge(const v1::TaskCheckpointAck& ack) override;
  void Decline(const exchange::TaskId& task, int64_t checkpoint_id, absl::Status reason) override;
  void TaskFinished(const exchange::TaskId& task) override;

  // The newest completed checkpoint of this coordinator (savepoints included), if any.
  std::optional<CompletedCheckpoint> LatestCompleted() const;
  // Newest first.
  std::vector<CheckpointStats> History() const;
  int32_t attempt() const;

 private:
  struct Pending;
  CheckpointCoordinator(std::vector<exchange::TaskId> tasks, CheckpointStorage* storage,
                        CoordinatorOptions options, CoordinatorCallbacks callbacks, int64_t next_id);
  void PeriodicLoop();
  // With mu_ held: starts checkpoint `id`; the caller runs the trigger callback after
  // unlocking.
  int64_t StartCheckpointLocked(std::optional<std::string> savepoint_dir);
  // Completes or aborts; called without mu_ held.
  void Complete(int64_t id);
  void Abort(int64_t id, absl::Status reason);
  void AbortAllPending(absl::Status reason);
  CheckpointStats* StatsLocked(int64_t id);
  void RecordResultLocked(int64_t id, absl::StatusOr<CompletedCheckpoint> result);

  const std::vector<exchange::TaskId> tasks_;
  CheckpointStorage* const storage_;
  const CoordinatorOptions options_;
  const CoordinatorCallbacks callbacks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // wakes the periodic thread and Await
  int64_t next_id_;
  int32_t attempt_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  bool suspended_ = false;
  absl::Time last_end_ = absl::InfinitePast();
  absl::Time next_trigger_ = absl::InfiniteFuture();
  std::map<int64_t, std::unique_ptr<Pending>> pending_;
  absl::flat_hash_set<exchange::TaskId> finished_;
  std::optional<CompletedCheckpoint> latest_;
  // Outcomes for Await (for a savepoint: the exported savepoint), bounded.
  std::map<int64_t, absl::StatusOr<CompletedCheckpoint>> results_;
  std::vector<CheckpointStats> history_;               // oldest first
  std::thread thread_;
};

}  // namespace cdcflow::checkpoint
