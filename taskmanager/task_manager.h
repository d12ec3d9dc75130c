#pragma once
// The task manager's core: registers its slots with the job manager and heartbeats,
// keeps job plugins by content hash (each travels once), runs deployed job attempts
// and cancels them, and forwards task state changes to the job manager.
//
// When the job manager stops answering for longer than the heartbeat timeout, or says
// it does not know this task manager, every attempt here is canceled (the job manager
// has failed them already) and the task manager registers again.
//
// Thread-safe. Calls from the gRPC service and the heartbeat thread run concurrently.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "taskmanager/attempt.h"
#include "taskmanager/checkpoint_forwarder.h"
#include "taskmanager/job_manager_client.h"

namespace cdcflow::taskmanager {

class TaskManager {
 public:
  struct Options {
    std::string task_manager_id;     // random when empty
    std::string advertised_address;  // where this task manager's service listens
    int slots = 1;
    std::string plugin_directory = "/tmp/cdcflow-plugins";
    absl::Duration register_retry = absl::Milliseconds(500);
    // How long an exchange stream waits for its consumer's attempt to be deployed here.
    absl::Duration attempt_wait = absl::Seconds(10);
    // Where this process serves Prometheus /metrics (told to the job manager); may be empty.
    std::string metrics_address;
    // Called (from the heartbeat thread) when the last attempt of a job here has ended
    // and been dropped, e.g. to stop exporting the job's metric series.
    std::function<void(const std::string& job_id)> on_job_released;
  };

  TaskManager(Options options, std::unique_ptr<JobManagerClient> job_manager,
              AttemptFactory attempts);
  ~TaskManager();
  TaskManager(const TaskManager&) = delete;
  TaskManager& operator=(const TaskManager&) = delete;

  // Before Start(): the address registered with the job manager.
  void set_advertised_address(std::string address) {
    options_.advertised_address = std::move(address);
  }
  // Before Start(): the /metrics address registered with the job manager.
  void set_metrics_address(std::string address) {
    options_.metrics_address = std::move(address);
  }
  // Starts the registration/heartbeat thread.
  void Start();
  // Stops heartbeating and cancels every attempt (waits for their threads).
  void Stop();

  // gRPC service entry points.
  absl::Status DeployTask(const v1::DeployTaskRequest& request);
  absl::Status CancelTask(const v1::CancelTaskRequest& request);
  // Checkpoints of an attempt here; NOT_FOUND when it does not run here.
  absl::StatusOr<v1::TriggerCheckpointResponse> TriggerCheckpoint(
      const v1::TriggerCheckpointRequest& request);
  absl::Status NotifyCheckpointComplete(const v1::NotifyCheckpointRequest& request);
  absl::Status NotifyCheckpointAborted(const v1::NotifyCheckpointRequest& request);
  // The attempt, waiting up to Options::attempt_wait for it to be deployed; NOT_FOUND
  // when it never was, CANCELLED when it was canceled.
  absl::StatusOr<std::shared_ptr<Attempt>> AwaitAttempt(const std::string& job_id, int attempt);

  const std::string& id() const { return options_.task_manager_id; }
  bool registered();
  // Attempts still held (running or not yet reaped).
  int attempts();

 private:
  using Key = std::pair<std::string, int>;  // job id, attempt

  void HeartbeatLoop();
  // Cancels every attempt (the job manager considers them failed).
  void CancelAll(const std::string& reason);
  // Drops attempts whose tasks all ended.
  void ReapDone();
  void MarkCanceledLocked(const std::string& job_id, int upto) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Report(const v1::TaskId& task, v1::TaskState state, const std::string& error);
  absl::StatusOr<std::shared_ptr<Attempt>> Find(const std::string& job_id, int attempt);

  Options options_;
  std::unique_ptr<JobManagerClient> job_manager_;
  AttemptFactory factory_;
  std::unique_ptr<CheckpointForwarder> forwarder_;  // outlives every attempt

  absl::Mutex mu_;
  bool registered_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(1);
  absl::Duration heartbeat_timeout_ ABSL_GUARDED_BY(mu_) = absl::Seconds(5);
  std::map<Key, std::shared_ptr<Attempt>> attempts_ ABSL_GUARDED_BY(mu_);
  // Per job, every attempt up to this one is canceled: a late deploy of it is refused.
  absl::flat_hash_map<std::string, int> canceled_upto_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<const std::string>> plugins_
      ABSL_GUARDED_BY(mu_);  // by sha256

  absl::Notification stop_;
  std::thread heartbeat_;
};

}  // namespace cdcflow::taskmanager
