#pragma once
// The local mini-cluster: runs every task of a job on threads of this process, with
// in-process exchange (LocalChannelFactory). What `cdcflow run job.so` does without
// --jobmanager, and what the example-job tests use.
//
// With a checkpoint directory the job checkpoints (periodically and on demand) through
// a CheckpointCoordinator, and on a task failure restarts from the latest completed
// checkpoint under the restart strategy: every task of the failed attempt is cancelled
// and its thread joined before the next attempt starts (they share state directories).

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/checkpoint/checkpoint_coordinator.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/task_restore.h"
#include "runtime/checkpoint/upload_pool.h"
#include "runtime/exchange/local_channel_factory.h"
#include "runtime/graph/job_graph.h"
#include "runtime/graph/logical_graph.h"
#include "runtime/metrics/metrics.h"
#include "runtime/task/task.h"

namespace cdcflow::local {

// How often and how fast a failed job is restarted. The delay before restart k (1-based)
// is min(delay * multiplier^(k-1), max_delay): multiplier 1 is a fixed delay, above 1
// exponential backoff.
struct RestartStrategy {
  int max_restarts = 0;  // 0: the first task failure fails the job
  absl::Duration delay = absl::Seconds(1);
  double multiplier = 1.0;
  absl::Duration max_delay = absl::Minutes(1);
  absl::Duration DelayBefore(int restart) const;
};

struct LocalJobOptions {
  task::TaskOptions task;
  exchange::LocalExchangeOptions exchange;
  std::string job_id = "local";
  metrics::MetricRegistry* metrics = nullptr;  // optional; else a private registry

  // Checkpoints: off without a directory (then a failure cannot be recovered from state,
  // and restarts start from scratch). interval zero: on demand only (TriggerCheckpoint).
  std::string checkpoint_dir;
  absl::Duration checkpoint_interval = absl::ZeroDuration();
  absl::Duration checkpoint_timeout = absl::Minutes(10);
  absl::Duration checkpoint_min_pause = absl::ZeroDuration();
  int retained_checkpoints = 3;
  int upload_threads = 2;
  // Copy snapshot files into the checkpoint dir instead of hard-linking them (a remote
  // volume; benchmarks).
  bool copy_checkpoint_files = false;
  // Start from this savepoint or checkpoint directory (the one holding _metadata).
  std::string from_savepoint;
  RestartStrategy restart;
};

struct VertexProgress {
  int32_t vertex = 0;
  std::string name;
  int32_t parallelism = 1;
  uint64_t records_in = 0;
  uint64_t records_out = 0;
  // Thread time over all subtasks, in seconds (see metrics::SubtaskMetrics).
  double busy_s = 0;
  double backpressured_s = 0;
  double idle_s = 0;
};

// Thread-safe. `graph` and `args` (and the plugin the graph came from) must outlive
// the LocalJob.
class LocalJob {
 public:
  static absl::StatusOr<std::unique_ptr<LocalJob>> Start(const graph::LogicalGraph* graph,
                                                         const JobArgs* args,
                                                         LocalJobOptions options = {});
  ~LocalJob();  // cancels and joins if still running

  // Blocks until the job ended. OK when every task finished; the failure that exhausted
  // the restart strategy otherwise (the other tasks are cancelled then); kCancelled
  // after Cancel().
  absl::Status Wait();
  bool Done() const { return done_.load(); }
  void Cancel();
  std::vector<VertexProgress> Progress() const;
  const graph::JobGraphSpec& spec() const { return spec_; }
  const graph::ExecutionPlan& plan() const { return plan_; }

  // Checkpoints (kFailedPrecondition without a checkpoint directory). Both block until
  // the checkpoint completed or failed (at most the checkpoint timeout).
  absl::StatusOr<checkpoint::CompletedCheckpoint> TriggerCheckpoint();
  absl::StatusOr<checkpoint::CompletedCheckpoint> TriggerSavepoint(const std::string& dir);
  // Newest first; empty without checkpoints.
  std::vector<checkpoint::CheckpointStats> CheckpointHistory() const;
  int restarts() const { return restarts_.load(); }
  // Why each restart happened (the failure of the attempt before it), oldest first.
  std::vector<std::string> RestartCauses() const;

 private:
  LocalJob() = default;
  // Creates and starts the tasks of attempt `attempt_` from `restore` (or empty).
  absl::Status StartAttempt(const std::optional<checkpoint::CompletedCheckpoint>& restore);
  void OnTaskDone(size_t index, absl::Status status);
  void Supervise();
  void CancelTasksLocked();
  // The checkpoint to restart from: the coordinator's latest if it still loads, else the
  // newest valid one in storage, else the savepoint the job started from.
  std::optional<checkpoint::CompletedCheckpoint> RestartPoint();

  const graph::LogicalGraph* graph_ = nullptr;
  const JobArgs* args_ = nullptr;
  LocalJobOptions options_;
  graph::JobGraphSpec spec_;
  graph::ExecutionPlan plan_;
  std::unique_ptr<metrics::MetricRegistry> own_metrics_;
  metrics::MetricRegistry* registry_ = nullptr;
  std::optional<checkpoint::CompletedCheckpoint> initial_;  // from_savepoint
  int64_t first_run_id_ = 1;  // checkpoints of this run have ids from here on

  // Declared in this order so that destruction runs uploads out before the coordinator
  // (their listener) and the storage go.
  std::unique_ptr<checkpoint::CheckpointStorage> storage_;
  std::unique_ptr<checkpoint::CheckpointCoordinator> coordinator_;
  std::unique_ptr<checkpoint::UploadPool> uploader_;

  mutable std::mutex mu_;  // guards the attempt's objects below and first_error_
  std::condition_variable cv_;
  int32_t attempt_ = 0;
  std::unique_ptr<exchange::LocalChannelFactory> channels_;
  std::vector<std::unique_ptr<checkpoint::TaskRestore>> restores_;
  std::vector<std::unique_ptr<task::Task>> tasks_;
  std::vector<std::thread> threads_;
  int running_ = 0;
  absl::Status first_error_;
  std::vector<std::string> restart_causes_;
  absl::Status final_status_;

  std::atomic<bool> cancel_requested_{false};
  std::atomic<bool> done_{false};
  std::atomic<int> restarts_{0};
  std::thread supervisor_;
  std::mutex join_mu_;
  bool joined_ = false;
};

}  // namespace cdcflow::local
