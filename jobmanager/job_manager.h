#pragma once
// The job manager's core: task-manager registry with heartbeats, jobs and their
// attempts, scheduling into slots, failover with a restart strategy, cancel, status.
//
// It is a state machine driven by calls (from the gRPC service or tests) and by
// Tick(), which a timer thread calls periodically to time out task managers and start
// restarts. Time comes from Options::now so tests control it. Task managers are only
// reached through TaskManagerClient; calls to them are made after the internal lock
// is released, so a client (or a fake) may call back into the JobManager.
//
// Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "jobmanager/job_store.h"
#include "runtime/checkpoint/checkpoint_coordinator.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "jobmanager/task_manager_client.h"
#include "proto/ids.h"
#include "proto/job_manager.pb.h"

namespace cdcflow::jobmanager {

// Restarts with backoff: after the k-th failed attempt (k = 1, 2, ...) the job is
// redeployed min(max_delay, delay * backoff_multiplier^(k-1)) later, at most
// `max_restarts` times; the failure after that fails the job. backoff_multiplier 1 is
// a fixed delay (the default), 2 doubles the delay with every restart.
struct RestartStrategy {
  int max_restarts = 3;
  absl::Duration delay = absl::Seconds(1);
  double backoff_multiplier = 1.0;
  absl::Duration max_delay = absl::Minutes(5);

  // The delay before restart number `restart` (1-based).
  absl::Duration DelayBefore(int restart) const;
};

// One operator chain of the job's execution plan: the unit the scheduler places.
struct ChainInfo {
  int32_t vertex_id = 0;
  std::string name;
  int32_t parallelism = 1;
  std::vector<int32_t> vertices;  // the job graph's vertices fused in it, head first
};

// What a job was submitted as: its job graph and the chains the scheduler places.
struct JobTopology {
  v1::JobGraph graph;
  std::vector<ChainInfo> chains;
  std::vector<std::string> args;
};

class JobManager {
 public:
  struct Options {
    absl::Duration heartbeat_interval = absl::Seconds(1);
    absl::Duration heartbeat_timeout = absl::Seconds(5);
    RestartStrategy restart;
    // A job waiting longer than this for enough free slots fails its attempt.
    absl::Duration slot_wait_timeout = absl::Minutes(5);
    std::function<absl::Time()> now = [] { return absl::Now(); };
    // Rates and ratios of task metrics (from heartbeats) are measured over at least this.
    absl::Duration rate_window = absl::Seconds(1);
    // Where jobs and their checkpoints are kept (JobStore, CHECKPOINT_DESIGN.md 1);
    // empty: nowhere, so jobs are not recovered and cannot checkpoint.
    std::string checkpoint_dir;
    // Checkpoint interval of jobs that do not choose one (0: no periodic checkpoints).
    absl::Duration checkpoint_interval = absl::ZeroDuration();
    // A checkpoint not completed this long after its trigger is aborted.
    absl::Duration checkpoint_timeout = absl::Minutes(10);
    int retained_checkpoints = 3;
  };

  JobManager(Options options, std::unique_ptr<TaskManagerClientFactory> clients);
  ~JobManager();
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Task managers.
  absl::StatusOr<v1::RegisterTaskManagerResponse> RegisterTaskManager(
      const v1::RegisterTaskManagerRequest& request);
  v1::HeartbeatResponse Heartbeat(const v1::HeartbeatRequest& request);
  // Ignores reports about unknown jobs and older attempts.
  void UpdateTaskState(const v1::UpdateTaskStateRequest& request);

  // Clients. `chains` is the execution plan of request.job().graph(), computed by the
  // caller (the job manager never loads job plugins).
  // With a checkpoint directory the job is stored before it is accepted (an error
  // storing it fails the submission).
  absl::StatusOr<JobId> SubmitJob(v1::SubmitJobRequest request, std::vector<ChainInfo> chains);
  // Takes back a job a previous job manager stored (JobStore::LoadJobs) and was
  // running: it is deployed again (restoring its latest completed checkpoint) once
  // task managers offer enough slots. `last_attempt` is the last attempt that job
  // manager deployed: the new attempts count on from it, so task managers that still
  // hold the old attempts' tasks tell them apart.
  absl::Status RecoverJob(const JobId& id, v1::SubmitJobRequest request,
                          std::vector<ChainInfo> chains, int last_attempt);
  absl::StatusOr<v1::JobState> CancelJob(const JobId& job);
  v1::ListJobsResponse ListJobs();
  v1::ListTaskManagersResponse ListTaskManagers();
  absl::StatusOr<v1::GetJobStatusResponse> GetJobStatus(const JobId& job);
  absl::StatusOr<JobTopology> GetJobTopology(const JobId& job);

  // Checkpoints, reported by task managers; reports of other attempts are ignored.
  void AcknowledgeCheckpoint(const v1::AcknowledgeCheckpointRequest& request);
  void DeclineCheckpoint(const v1::DeclineCheckpointRequest& request);

  // Takes a savepoint of a running job into `directory` (empty: under the checkpoint
  // directory, <dir>/savepoints/<job_id>/savepoint-<id>) and waits for it; cancels the
  // job afterwards when `cancel_job`. FAILED_PRECONDITION when the job does not run or
  // the job manager has no checkpoint directory. Blocks: call it from a request thread.
  struct SavepointResult {
    int64_t checkpoint_id = 0;
    std::string path;  // the savepoint directory (for --from-savepoint)
    v1::JobState state = v1::JOB_STATE_UNSPECIFIED;  // the job's state afterwards
  };
  absl::StatusOr<SavepointResult> TriggerSavepoint(const JobId& job, const std::string& directory,
                                                   bool cancel_job = false,
                                                   absl::Duration timeout = absl::Minutes(10));
  // The job's checkpoints and savepoints, newest first (empty when it never checkpointed);
  // NOT_FOUND for an unknown job.
  absl::StatusOr<std::vector<checkpoint::CheckpointStats>> CheckpointHistory(const JobId& job);

  // Times out task managers, starts due restarts, retries scheduling of waiting jobs.
  void Tick();

  int RegisteredTaskManagers();
  int FreeSlots();

 private:
  struct TaskManager {
    TaskManagerId id;
    std::string address;
    int slots = 0;
    int used = 0;
    absl::Time last_heartbeat;
    absl::Time registered;
    std::string metrics_address;
    std::shared_ptr<TaskManagerClient> client;
    // Jobs whose plugin this task manager has received.
    absl::flat_hash_set<std::string> plugins;
  };
  struct Task {
    int32_t vertex_id = 0;
    std::string vertex_name;
    int32_t subtask = 0;
    v1::TaskState state = v1::TASK_STATE_CREATED;
    TaskManagerId task_manager;
    std::string error;
    // The latest metrics report from heartbeats and the rates derived from the one before.
    v1::TaskMetricsReport metrics;
    absl::Time metrics_time = absl::InfinitePast();
    v1::TaskMetricsReport rate_base;  // the report the rates are measured from
    absl::Time rate_base_time = absl::InfinitePast();
    double records_in_per_sec = 0;
    double records_out_per_sec = 0;
    double busy_ratio = 0;
    double backpressure_ratio = 0;
    double idle_ratio = 0;
  };
  struct Job {
    JobId id;
    v1::SubmitJobRequest request;
    std::vector<ChainInfo> chains;
    int slices = 0;
    v1::JobState state = v1::JOB_STATE_CREATED;
    int attempt = -1;  // the current attempt; -1 before the first deployment
    int restarts = 0;
    std::vector<Task> tasks;  // of the current attempt
    // Slots held by the current attempt, per task manager.
    absl::flat_hash_map<TaskManagerId, int> held;
    absl::Time submit_time;
    absl::Time end_time = absl::InfinitePast();
    absl::Time waiting_since;
    absl::Time restart_at;
    std::string failure;
    std::string waiting;  // why a CREATED job is not deployed yet
    // Checkpoints (with a checkpoint directory): the coordinator spans the job's
    // attempts; created at the first deployment, stopped when the job ends.
    std::unique_ptr<checkpoint::CheckpointStorage> storage;
    std::unique_ptr<checkpoint::CheckpointCoordinator> coordinator;
    bool coordinator_stopped = false;
    std::string restored_from;  // of the current attempt
    int64_t latest_checkpoint_id = 0;
    std::string latest_checkpoint_path;
    int completed_checkpoints = 0;
  };
  using Actions = std::vector<std::function<void()>>;

  // All below require mu_.
  void TryScheduleLocked(Job& job, Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DeployLocked(Job& job, const std::vector<std::string>& slice_owner, Actions& actions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The checkpoint to restore the next attempt from (the newest valid one in storage,
  // else the job's savepoint); empty to start empty. Sets up storage and coordinator.
  absl::StatusOr<std::string> PrepareCheckpointsLocked(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Coordinator callbacks (run without mu_).
  void TriggerOnTaskManagers(const JobId& job, int64_t checkpoint_id, bool savepoint);
  void NotifyTaskManagers(const JobId& job, int64_t checkpoint_id, bool complete);
  // Records the job's state and attempt in the job store (no-op without one).
  void PersistLocked(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The current attempt failed: cancel what runs, release slots, restart or fail.
  void FailAttemptLocked(Job& job, const std::string& reason, Actions& actions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseSlotsLocked(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CancelRunningTasksLocked(Job& job, Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveTaskManagerLocked(const TaskManagerId& id, const std::string& reason,
                               Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishIfDoneLocked(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleWaitingLocked(Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reports a deployment failure back into the state machine (runs without mu_).
  void OnDeployFailed(const JobId& job, int attempt, const TaskManagerId& tm, bool unreachable,
                      const std::string& reason);
  void OnCancelFailed(const JobId& job, int attempt, const TaskManagerId& tm);
  void RecordMetricsLocked(const v1::TaskMetricsReport& report, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int FreeSlotsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::JobSummary SummaryLocked(const Job& job) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  static void Run(Actions& actions);

  const Options options_;
  const std::unique_ptr<TaskManagerClientFactory> clients_;
  const std::unique_ptr<JobStore> store_;  // null without a checkpoint directory
  absl::Mutex mu_;
  absl::btree_map<TaskManagerId, TaskManager> task_managers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<JobId, std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<JobId> job_order_ ABSL_GUARDED_BY(mu_);  // submission order
};

bool IsTerminal(v1::JobState state);
bool IsTerminal(v1::TaskState state);
// "RUNNING", "FINISHED", ... without the proto prefix.
std::string JobStateName(v1::JobState state);
std::string TaskStateName(v1::TaskState state);

}  // namespace cdcflow::jobmanager
