#include "jobmanager/job_manager.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "proto/cluster_log.h"
#include "absl/strings/str_cat.h"
#include "jobmanager/scheduler.h"
#include "proto/common.pb.h"

namespace cdcflow::jobmanager {

bool IsTerminal(v1::JobState state) {
  return state == v1::JOB_STATE_FINISHED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELED;
}

bool IsTerminal(v1::TaskState state) {
  return state == v1::TASK_STATE_FINISHED || state == v1::TASK_STATE_FAILED ||
         state == v1::TASK_STATE_CANCELED;
}

std::string JobStateName(v1::JobState state) {
  std::string name = v1::JobState_Name(state);
  return name.size() > 10 ? name.substr(10) : name;  // drops "JOB_STATE_"
}

std::string TaskStateName(v1::TaskState state) {
  std::string name = v1::TaskState_Name(state);
  return name.size() > 11 ? name.substr(11) : name;  // drops "TASK_STATE_"
}

absl::Duration RestartStrategy::DelayBefore(int restart) const {
  absl::Duration d = delay;
  for (int i = 1; i < restart && d < max_delay; ++i) d *= backoff_multiplier;
  return std::min(d, max_delay);
}

JobManager::JobManager(Options options, std::unique_ptr<TaskManagerClientFactory> clients)
    : options_(std::move(options)),
      clients_(std::move(clients)),
      store_(options_.checkpoint_dir.empty() ? nullptr
                                             : std::make_unique<JobStore>(options_.checkpoint_dir)) {}

JobManager::~JobManager() {
  std::vector<checkpoint::CheckpointCoordinator*> coordinators;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, job] : jobs_) {
      if (job->coordinator) coordinators.push_back(job->coordinator.get());
    }
  }
  // Their threads may be in a callback that takes mu_: stop them before it goes.
  for (auto* c : coordinators) c->Stop();
}

void JobManager::Run(Actions& actions) {
  for (auto& action : actions) action();
  actions.clear();
}

absl::StatusOr<v1::RegisterTaskManagerResponse> JobManager::RegisterTaskManager(
    const v1::RegisterTaskManagerRequest& request) {
  if (request.task_manager_id().empty()) {
    return absl::InvalidArgumentError("RegisterTaskManager: task_manager_id is empty");
  }
  if (request.address().empty()) {
    return absl::InvalidArgumentError("RegisterTaskManager: address is empty");
  }
  if (request.slots() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("RegisterTaskManager: slots must be >= 1, got ", request.slots()));
  }
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    TaskManagerId id(request.task_manager_id());
    if (task_managers_.contains(id)) {
      RemoveTaskManagerLocked(id, "task manager " + id.value() + " registered again", actions);
    }
    TaskManager& tm = task_managers_[id];
    tm.id = id;
    tm.address = request.address();
    tm.slots = request.slots();
    tm.last_heartbeat = options_.now();
    tm.registered = tm.last_heartbeat;
    tm.metrics_address = request.metrics_address();
    tm.client = clients_->Connect(request.address());
    CDCFLOW_CLOG(INFO) << "task manager " << id.value() << " at " << tm.address << " registered with "
              << tm.slots << " slot(s)";
    ScheduleWaitingLocked(actions);
  }
  Run(actions);
  v1::RegisterTaskManagerResponse response;
  response.set_heartbeat_interval_ms(absl::ToInt64Milliseconds(options_.heartbeat_interval));
  response.set_heartbeat_timeout_ms(absl::ToInt64Milliseconds(options_.heartbeat_timeout));
  return response;
}

v1::HeartbeatResponse JobManager::Heartbeat(const v1::HeartbeatRequest& request) {
  absl::MutexLock lock(&mu_);
  v1::HeartbeatResponse response;
  auto it = task_managers_.find(TaskManagerId(request.task_manager_id()));
  if (it != task_managers_.end()) {
    const absl::Time now = options_.now();
    it->second.last_heartbeat = now;
    response.set_registered(true);
    for (const v1::TaskMetricsReport& report : request.task_metrics()) {
      RecordMetricsLocked(report, now);
    }
  }
  return response;
}

void JobManager::RecordMetricsLocked(const v1::TaskMetricsReport& report, absl::Time now) {
  auto it = jobs_.find(JobId(report.task().job_id()));
  if (it == jobs_.end()) return;
  Job& job = *it->second;
  if (report.task().attempt() != job.attempt) return;
  auto task = std::find_if(job.tasks.begin(), job.tasks.end(), [&](const Task& t) {
    return t.vertex_id == report.task().vertex_id() && t.subtask == report.task().subtask_index();
  });
  if (task == job.tasks.end()) return;
  // Rates span at least Options::rate_window of reports: heartbeats come often, and a
  // task's counters move by whole batches, so one heartbeat interval alone is noisy.
  if (task->rate_base_time == absl::InfinitePast()) {
    task->rate_base = report;
    task->rate_base_time = now;
  } else if (now - task->rate_base_time >= options_.rate_window && now > task->rate_base_time) {
    const double dt = absl::ToDoubleSeconds(now - task->rate_base_time);
    const v1::TaskMetricsReport& p = task->rate_base;
    auto rate = [dt](int64_t cur, int64_t prev) {
      return cur >= prev ? static_cast<double>(cur - prev) / dt : 0.0;
    };
    auto ratio = [dt](int64_t cur_ns, int64_t prev_ns) {
      return std::clamp(static_cast<double>(cur_ns - prev_ns) * 1e-9 / dt, 0.0, 1.0);
    };
    task->records_in_per_sec = rate(report.records_in(), p.records_in());
    task->records_out_per_sec = rate(report.records_out(), p.records_out());
    task->busy_ratio = ratio(report.busy_ns(), p.busy_ns());
    task->backpressure_ratio = ratio(report.backpressured_ns(), p.backpressured_ns());
    task->idle_ratio = ratio(report.idle_ns(), p.idle_ns());
    task->rate_base = report;
    task->rate_base_time = now;
  }
  task->metrics = report;
  task->metrics_time = now;
}

void JobManager::UpdateTaskState(const v1::UpdateTaskStateRequest& request) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(JobId(request.task().job_id()));
    if (it == jobs_.end()) return;
    Job& job = *it->second;
    if (request.task().attempt() != job.attempt || IsTerminal(job.state)) return;
    auto task = std::find_if(job.tasks.begin(), job.tasks.end(), [&](const Task& t) {
      return t.vertex_id == request.task().vertex_id() &&
             t.subtask == request.task().subtask_index();
    });
    if (task == job.tasks.end() || IsTerminal(task->state)) return;
    task->state = request.state();
    switch (request.state()) {
      case v1::TASK_STATE_FAILED:
        task->error = request.error();
        if (job.state == v1::JOB_STATE_RUNNING) {
          FailAttemptLocked(job,
                            absl::StrCat("task ", task->vertex_name, " #", task->subtask,
                                         " failed on task manager ", task->task_manager.value(),
                                         ": ", request.error()),
                            actions);
        } else {
          FinishIfDoneLocked(job);
        }
        break;
      case v1::TASK_STATE_CANCELED:
        if (job.state == v1::JOB_STATE_RUNNING) {
          FailAttemptLocked(job,
                            absl::StrCat("task ", task->vertex_name, " #", task->subtask,
                                         " was canceled by task manager ",
                                         task->task_manager.value()),
                            actions);
        } else {
          FinishIfDoneLocked(job);
        }
        break;
      case v1::TASK_STATE_FINISHED:
        if (job.coordinator) {
          checkpoint::CheckpointCoordinator* c = job.coordinator.get();
          exchange::TaskId t{task->vertex_id, task->subtask};
          actions.push_back([c, t] { c->TaskFinished(t); });
        }
        FinishIfDoneLocked(job);
        break;
      default:
        break;
    }
  }
  Run(actions);
}

absl::StatusOr<JobId> JobManager::SubmitJob(v1::SubmitJobRequest request,
                                            std::vector<ChainInfo> chains) {
  if (request.plugin().empty()) {
    return absl::InvalidArgumentError("SubmitJob: the job's plugin (.so bytes) is empty");
  }
  if (chains.empty()) return absl::InvalidArgumentError("SubmitJob: the job has no vertices");
  int slices = 0;
  for (const ChainInfo& c : chains) {
    if (c.parallelism < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("SubmitJob: vertex ", c.name, " has parallelism ", c.parallelism));
    }
    slices = std::max(slices, c.parallelism);
  }
  request.mutable_job()->set_plugin_sha256(Sha256Hex(request.plugin()));
  Actions actions;
  JobId id = NewJobId();
  if (store_ != nullptr) {
    absl::Status saved = store_->SaveJob(id, request);
    if (saved.ok()) saved = store_->SaveStatus(id, v1::JOB_STATE_CREATED, -1);
    if (!saved.ok()) {
      return absl::Status(saved.code(),
                          absl::StrCat("SubmitJob: cannot store the job: ", saved.message()));
    }
  } else if (request.checkpoint_interval_ms() > 0 || !request.from_savepoint().empty()) {
    // Checkpoints need storage; a savepoint restore is fine without (nothing to write).
    if (request.checkpoint_interval_ms() > 0) {
      return absl::FailedPreconditionError(
          "SubmitJob: the job asks for checkpoints but the job manager has no checkpoint "
          "directory (start it with --checkpoint-dir)");
    }
  }
  {
    absl::MutexLock lock(&mu_);
    auto job = std::make_unique<Job>();
    job->id = id;
    job->request = std::move(request);
    job->chains = std::move(chains);
    job->slices = slices;
    job->submit_time = options_.now();
    job->waiting_since = job->submit_time;
    Job& ref = *job;
    jobs_[id] = std::move(job);
    job_order_.push_back(id);
    CDCFLOW_CLOG(INFO) << "job " << id.value() << " (" << ref.request.job().graph().job_name()
              << ") submitted, needs " << slices << " slot(s)";
    TryScheduleLocked(ref, actions);
  }
  Run(actions);
  return id;
}

absl::Status JobManager::RecoverJob(const JobId& id, v1::SubmitJobRequest request,
                                    std::vector<ChainInfo> chains, int last_attempt) {
  if (chains.empty()) return absl::InvalidArgumentError("RecoverJob: the job has no vertices");
  int slices = 0;
  for (const ChainInfo& c : chains) slices = std::max(slices, c.parallelism);
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    if (jobs_.contains(id)) return absl::AlreadyExistsError("job " + id.value() + " exists");
    auto job = std::make_unique<Job>();
    job->id = id;
    job->request = std::move(request);
    job->chains = std::move(chains);
    job->slices = slices;
    job->attempt = std::max(-1, last_attempt);
    job->submit_time = options_.now();
    job->waiting_since = job->submit_time;
    Job& ref = *job;
    jobs_[id] = std::move(job);
    job_order_.push_back(id);
    CDCFLOW_CLOG(INFO) << "job " << id.value() << " (" << ref.request.job().graph().job_name()
                       << ") recovered from " << store_->JobDir(id) << " after attempt "
                       << last_attempt << ", needs " << slices << " slot(s)";
    PersistLocked(ref);
    TryScheduleLocked(ref, actions);
  }
  Run(actions);
  return absl::OkStatus();
}

absl::StatusOr<v1::JobState> JobManager::CancelJob(const JobId& id) {
  Actions actions;
  v1::JobState state;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return absl::NotFoundError("no job with id " + id.value());
    Job& job = *it->second;
    switch (job.state) {
      case v1::JOB_STATE_CREATED:
      case v1::JOB_STATE_RESTARTING:
        job.state = v1::JOB_STATE_CANCELED;
        job.end_time = options_.now();
        break;
      case v1::JOB_STATE_RUNNING:
        job.state = v1::JOB_STATE_CANCELING;
        CancelRunningTasksLocked(job, actions);
        FinishIfDoneLocked(job);
        break;
      default:
        break;
    }
    PersistLocked(job);
    state = job.state;
  }
  Run(actions);
  return state;
}

v1::ListJobsResponse JobManager::ListJobs() {
  absl::MutexLock lock(&mu_);
  v1::ListJobsResponse response;
  for (const JobId& id : job_order_) *response.add_jobs() = SummaryLocked(*jobs_.at(id));
  return response;
}

v1::ListTaskManagersResponse JobManager::ListTaskManagers() {
  absl::MutexLock lock(&mu_);
  v1::ListTaskManagersResponse response;
  for (const auto& [id, tm] : task_managers_) {
    v1::TaskManagerSummary* s = response.add_task_managers();
    s->set_task_manager_id(id.value());
    s->set_address(tm.address);
    s->set_slots(tm.slots);
    s->set_free_slots(tm.slots - tm.used);
    s->set_last_heartbeat_ms(absl::ToUnixMillis(tm.last_heartbeat));
    s->set_metrics_address(tm.metrics_address);
    s->set_registered_ms(absl::ToUnixMillis(tm.registered));
  }
  return response;
}

absl::StatusOr<v1::GetJobStatusResponse> JobManager::GetJobStatus(const JobId& id) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError("no job with id " + id.value());
  const Job& job = *it->second;
  v1::GetJobStatusResponse response;
  *response.mutable_job() = SummaryLocked(job);
  for (const Task& t : job.tasks) {
    v1::TaskStatus* s = response.add_tasks();
    s->mutable_task()->set_job_id(job.id.value());
    s->mutable_task()->set_vertex_id(t.vertex_id);
    s->mutable_task()->set_subtask_index(t.subtask);
    s->mutable_task()->set_attempt(job.attempt);
    s->set_vertex_name(t.vertex_name);
    s->set_state(t.state);
    s->set_task_manager_id(t.task_manager.value());
    s->set_error(t.error);
    if (t.metrics_time != absl::InfinitePast()) {
      *s->mutable_metrics() = t.metrics;
      s->set_records_in_per_sec(t.records_in_per_sec);
      s->set_records_out_per_sec(t.records_out_per_sec);
      s->set_busy_ratio(t.busy_ratio);
      s->set_backpressure_ratio(t.backpressure_ratio);
      s->set_idle_ratio(t.idle_ratio);
    }
  }
  response.set_restarts(job.restarts);
  response.set_failure(job.failure);
  response.set_latest_checkpoint_id(job.latest_checkpoint_id);
  response.set_latest_checkpoint_path(job.latest_checkpoint_path);
  response.set_restored_from(job.restored_from);
  response.set_completed_checkpoints(job.completed_checkpoints);
  if (job.state == v1::JOB_STATE_CREATED) response.set_pending_reason(job.waiting);
  return response;
}

absl::StatusOr<JobTopology> JobManager::GetJobTopology(const JobId& id) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError("no job with id " + id.value());
  const v1::JobSpec& spec = it->second->request.job();
  return JobTopology{spec.graph(), it->second->chains, {spec.args().begin(), spec.args().end()}};
}

void JobManager::Tick() {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = options_.now();
    std::vector<TaskManagerId> lost;
    for (const auto& [id, tm] : task_managers_) {
      if (now - tm.last_heartbeat > options_.heartbeat_timeout) lost.push_back(id);
    }
    for (const TaskManagerId& id : lost) {
      const TaskManager& tm = task_managers_.at(id);
      RemoveTaskManagerLocked(
          id,
          absl::StrCat("task manager ", id.value(), " at ", tm.address,
                       " lost: no heartbeat for ", absl::FormatDuration(now - tm.last_heartbeat)),
          actions);
    }
    for (const JobId& jid : job_order_) {
      Job& job = *jobs_.at(jid);
      if (job.state == v1::JOB_STATE_RESTARTING && now >= job.restart_at) {
        CDCFLOW_CLOG(INFO) << "job " << jid.value() << " restarting (restart " << job.restarts << " of "
                  << options_.restart.max_restarts << ")";
        job.state = v1::JOB_STATE_CREATED;
        job.waiting_since = now;
      }
    }
    ScheduleWaitingLocked(actions);
    for (const JobId& jid : job_order_) {
      Job& job = *jobs_.at(jid);
      if (IsTerminal(job.state) && job.coordinator && !job.coordinator_stopped) {
        job.coordinator_stopped = true;
        checkpoint::CheckpointCoordinator* c = job.coordinator.get();
        actions.push_back([c] { c->Stop(); });
      }
    }
    for (const JobId& jid : job_order_) {
      Job& job = *jobs_.at(jid);
      if (job.state == v1::JOB_STATE_CREATED &&
          now - job.waiting_since > options_.slot_wait_timeout) {
        FailAttemptLocked(job,
                          absl::StrCat("no slots for the job after ",
                                       absl::FormatDuration(options_.slot_wait_timeout),
                                       ": it needs ", job.slices, ", ", FreeSlotsLocked(),
                                       " are free"),
                          actions);
      }
    }
  }
  Run(actions);
}

void JobManager::AcknowledgeCheckpoint(const v1::AcknowledgeCheckpointRequest& request) {
  checkpoint::CheckpointCoordinator* c = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(JobId(request.job_id()));
    if (it == jobs_.end() || it->second->attempt != request.attempt()) return;
    c = it->second->coordinator.get();
  }
  if (c == nullptr) return;
  v1::TaskCheckpointAck ack = request.ack();
  ack.set_attempt(request.attempt());
  c->Acknowledge(ack);
}

void JobManager::DeclineCheckpoint(const v1::DeclineCheckpointRequest& request) {
  checkpoint::CheckpointCoordinator* c = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(JobId(request.job_id()));
    if (it == jobs_.end() || it->second->attempt != request.attempt()) return;
    c = it->second->coordinator.get();
  }
  if (c == nullptr) return;
  c->Decline({request.task().vertex_id(), request.task().subtask_index()}, request.checkpoint_id(),
             absl::AbortedError(absl::StrCat("declined by task manager ",
                                             request.task_manager_id(), ": ", request.reason())));
}

void JobManager::TriggerOnTaskManagers(const JobId& id, int64_t checkpoint_id, bool savepoint) {
  struct Target {
    std::shared_ptr<TaskManagerClient> client;
    TaskManagerId tm;
    exchange::TaskId task;  // one of its tasks, to decline for
  };
  std::vector<Target> targets;
  checkpoint::CheckpointCoordinator* c = nullptr;
  v1::TriggerCheckpointRequest request;
  std::string not_running;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    Job& job = *it->second;
    c = job.coordinator.get();
    request.set_job_id(id.value());
    request.set_attempt(job.attempt);
    request.set_checkpoint_id(checkpoint_id);
    request.set_savepoint(savepoint);
    if (job.state != v1::JOB_STATE_RUNNING) {
      not_running = JobStateName(job.state);
    } else {
      for (const auto& [tm_id, count] : job.held) {
        auto tm = task_managers_.find(tm_id);
        for (const Task& t : job.tasks) {
          if (t.task_manager != tm_id) continue;
          if (tm == task_managers_.end()) {
            not_running = "task manager " + tm_id.value() + " is gone";
          } else {
            targets.push_back({tm->second.client, tm_id, {t.vertex_id, t.subtask}});
          }
          break;
        }
      }
    }
  }
  if (c == nullptr) return;
  if (!not_running.empty() || targets.empty()) {
    c->Decline({0, 0}, checkpoint_id,
               absl::FailedPreconditionError(absl::StrCat(
                   "job ", id.value(), " is not running: ",
                   not_running.empty() ? "no tasks" : not_running)));
    return;
  }
  for (const Target& t : targets) {
    absl::StatusOr<v1::TriggerCheckpointResponse> r = t.client->TriggerCheckpoint(request);
    if (!r.ok()) {
      c->Decline(t.task, checkpoint_id,
                 absl::Status(r.status().code(),
                              absl::StrCat("triggering on task manager ", t.tm.value(), ": ",
                                           r.status().message())));
      return;
    }
  }
}

void JobManager::NotifyTaskManagers(const JobId& id, int64_t checkpoint_id, bool complete) {
  std::vector<std::pair<TaskManagerId, std::shared_ptr<TaskManagerClient>>> clients;
  v1::NotifyCheckpointRequest request;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    Job& job = *it->second;
    if (complete) {
      ++job.completed_checkpoints;
      job.latest_checkpoint_id = checkpoint_id;
      if (job.storage) job.latest_checkpoint_path = job.storage->CheckpointDir(checkpoint_id);
    }
    request.set_job_id(id.value());
    request.set_attempt(job.attempt);
    request.set_checkpoint_id(checkpoint_id);
    for (const auto& [tm_id, count] : job.held) {
      auto tm = task_managers_.find(tm_id);
      if (tm != task_managers_.end()) clients.emplace_back(tm_id, tm->second.client);
    }
  }
  for (auto& [tm, client] : clients) {
    absl::Status s = complete ? client->NotifyCheckpointComplete(request)
                              : client->NotifyCheckpointAborted(request);
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
      CDCFLOW_CLOG(WARNING) << "job " << id.value() << ": telling task manager " << tm.value()
                            << " that checkpoint " << checkpoint_id << " "
                            << (complete ? "completed" : "was aborted")
                            << " failed: " << s.ToString();
    }
  }
}

absl::StatusOr<JobManager::SavepointResult> JobManager::TriggerSavepoint(
    const JobId& id, const std::string& directory, bool cancel_job, absl::Duration timeout) {
  checkpoint::CheckpointCoordinator* c = nullptr;
  std::string dir = directory;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return absl::NotFoundError("no job with id " + id.value());
    Job& job = *it->second;
    if (store_ == nullptr) {
      return absl::FailedPreconditionError(
          "savepoints need a job manager with a checkpoint directory (--checkpoint-dir)");
    }
    if (job.state != v1::JOB_STATE_RUNNING || job.coordinator == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("job ", id.value(), " is ",
                                                        JobStateName(job.state),
                                                        ", not RUNNING: no savepoint"));
    }
    c = job.coordinator.get();
    if (dir.empty()) {
      dir = absl::StrCat(store_->root(), "/savepoints/", id.value(), "/savepoint-",
                         absl::ToUnixMillis(options_.now()));
    }
  }
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<int64_t> cp = c->TriggerNow(dir);
  // Another checkpoint in flight: wait for it to end.
  while (!cp.ok() && cp.status().code() == absl::StatusCode::kFailedPrecondition &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    cp = c->TriggerNow(dir);
  }
  if (!cp.ok()) return cp.status();
  absl::StatusOr<checkpoint::CompletedCheckpoint> done = c->Await(*cp, deadline - absl::Now());
  if (!done.ok()) {
    return absl::Status(done.status().code(), absl::StrCat("savepoint ", *cp, " of job ",
                                                           id.value(), ": ",
                                                           done.status().message()));
  }
  SavepointResult result;
  result.checkpoint_id = *cp;
  result.path = done->dir;
  if (cancel_job) {
    absl::StatusOr<v1::JobState> state = CancelJob(id);
    if (!state.ok()) return state.status();
    result.state = *state;
  } else {
    absl::MutexLock lock(&mu_);
    result.state = jobs_.at(id)->state;
  }
  CDCFLOW_CLOG(INFO) << "job " << id.value() << ": savepoint " << *cp << " written to "
                     << result.path;
  return result;
}

absl::StatusOr<std::vector<checkpoint::CheckpointStats>> JobManager::CheckpointHistory(
    const JobId& id) {
  checkpoint::CheckpointCoordinator* c = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return absl::NotFoundError("no job with id " + id.value());
    c = it->second->coordinator.get();
  }
  if (c == nullptr) return std::vector<checkpoint::CheckpointStats>();
  return c->History();
}

int JobManager::RegisteredTaskManagers() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(task_managers_.size());
}

int JobManager::FreeSlots() {
  absl::MutexLock lock(&mu_);
  return FreeSlotsLocked();
}

int JobManager::FreeSlotsLocked() const {
  int free = 0;
  for (const auto& [id, tm] : task_managers_) free += tm.slots - tm.used;
  return free;
}

void JobManager::ScheduleWaitingLocked(Actions& actions) {
  for (const JobId& jid : job_order_) {
    Job& job = *jobs_.at(jid);
    if (job.state == v1::JOB_STATE_CREATED) TryScheduleLocked(job, actions);
  }
}

void JobManager::TryScheduleLocked(Job& job, Actions& actions) {
  std::vector<jobmanager::FreeSlots> free;
  for (const auto& [id, tm] : task_managers_) free.push_back({id.value(), tm.slots - tm.used});
  absl::StatusOr<std::vector<std::string>> owners = AssignSlices(job.slices, std::move(free));
  if (!owners.ok()) {
    job.waiting = std::string(owners.status().message());
    return;
  }
  job.waiting.clear();
  DeployLocked(job, *owners, actions);
}

absl::StatusOr<std::string> JobManager::PrepareCheckpointsLocked(Job& job) {
  std::optional<checkpoint::CompletedCheckpoint> restore;
  if (store_ != nullptr && job.storage == nullptr) {
    auto storage = checkpoint::CheckpointStorage::Create(store_->root(), job.id.value());
    if (!storage.ok()) return storage.status();
    job.storage = std::move(*storage);
  }
  if (job.storage != nullptr) {
    std::vector<std::string> errors;
    restore = job.storage->LoadLatest(&errors);
    for (const std::string& e : errors) {
      CDCFLOW_CLOG(WARNING) << "job " << job.id.value() << ": checkpoint skipped: " << e;
    }
  }
  if (!restore.has_value() && !job.request.from_savepoint().empty()) {
    auto savepoint = checkpoint::LoadCheckpoint(job.request.from_savepoint());
    if (!savepoint.ok()) {
      return absl::Status(savepoint.status().code(),
                          absl::StrCat("the savepoint to start from: ", savepoint.status().message()));
    }
    restore = std::move(*savepoint);
  }
  if (job.storage != nullptr && job.coordinator == nullptr) {
    std::vector<exchange::TaskId> tasks;
    for (const ChainInfo& chain : job.chains) {
      for (int i = 0; i < chain.parallelism; ++i) tasks.push_back({chain.vertex_id, i});
    }
    checkpoint::CoordinatorOptions options;
    const int64_t interval_ms = job.request.checkpoint_interval_ms();
    options.interval = interval_ms > 0    ? absl::Milliseconds(interval_ms)
                       : interval_ms == 0 ? options_.checkpoint_interval
                                          : absl::ZeroDuration();
    options.timeout = options_.checkpoint_timeout;
    options.retained = options_.retained_checkpoints;
    checkpoint::CoordinatorCallbacks callbacks;
    JobId id = job.id;
    callbacks.trigger = [this, id](int64_t cp, bool savepoint) {
      TriggerOnTaskManagers(id, cp, savepoint);
    };
    callbacks.notify_complete = [this, id](int64_t cp) { NotifyTaskManagers(id, cp, true); };
    callbacks.notify_aborted = [this, id](int64_t cp) { NotifyTaskManagers(id, cp, false); };
    auto coordinator = checkpoint::CheckpointCoordinator::Create(
        std::move(tasks), job.storage.get(), options, std::move(callbacks),
        restore.has_value() ? restore->id() + 1 : 1);
    if (!coordinator.ok()) return coordinator.status();
    job.coordinator = std::move(*coordinator);
  }
  if (restore.has_value()) {
    job.latest_checkpoint_id = std::max(job.latest_checkpoint_id, restore->id());
    if (job.latest_checkpoint_path.empty()) job.latest_checkpoint_path = restore->dir;
    return restore->dir;
  }
  return std::string();
}

void JobManager::DeployLocked(Job& job, const std::vector<std::string>& slice_owner,
                              Actions& actions) {
  absl::StatusOr<std::string> restore = PrepareCheckpointsLocked(job);
  if (!restore.ok()) {
    // Nothing is deployed: no slots are held yet.
    job.attempt++;
    FailAttemptLocked(job, std::string(restore.status().message()), actions);
    return;
  }
  job.restored_from = *restore;
  ++job.attempt;
  if (job.coordinator) {
    checkpoint::CheckpointCoordinator* c = job.coordinator.get();
    const int attempt = job.attempt;
    // Before the deployments: acks of the new attempt must find the coordinator reset.
    actions.push_back([c, attempt] {
      c->ResetForAttempt(attempt);
      c->Resume();
      c->Start();
    });
  }
  job.state = v1::JOB_STATE_RUNNING;
  job.tasks.clear();
  job.held.clear();
  for (const std::string& owner : slice_owner) {
    TaskManagerId id(owner);
    ++job.held[id];
    ++task_managers_.at(id).used;
  }
  std::vector<v1::TaskLocation> locations;
  for (const ChainInfo& chain : job.chains) {
    for (int i = 0; i < chain.parallelism; ++i) {
      Task task;
      task.vertex_id = chain.vertex_id;
      task.vertex_name = chain.name;
      task.subtask = i;
      task.state = v1::TASK_STATE_DEPLOYING;
      task.task_manager = TaskManagerId(slice_owner[i]);
      job.tasks.push_back(task);
      v1::TaskLocation loc;
      loc.set_vertex_id(chain.vertex_id);
      loc.set_subtask_index(i);
      loc.set_task_manager_id(slice_owner[i]);
      loc.set_address(task_managers_.at(task.task_manager).address);
      locations.push_back(std::move(loc));
    }
  }
  PersistLocked(job);
  if (!job.restored_from.empty()) {
    CDCFLOW_CLOG(INFO) << "job " << job.id.value() << " attempt " << job.attempt
                       << " restores " << job.restored_from;
  }
  CDCFLOW_CLOG(INFO) << "job " << job.id.value() << " attempt " << job.attempt << ": deploying "
            << job.tasks.size() << " task(s) to " << job.held.size() << " task manager(s)";
  for (const auto& [tm_id, count] : job.held) {
    TaskManager& tm = task_managers_.at(tm_id);
    auto request = std::make_shared<v1::DeployTaskRequest>();
    request->set_job_id(job.id.value());
    request->set_attempt(job.attempt);
    *request->mutable_job() = job.request.job();
    for (const Task& t : job.tasks) {
      if (t.task_manager != tm_id) continue;
      v1::TaskId* id = request->add_tasks();
      id->set_job_id(job.id.value());
      id->set_vertex_id(t.vertex_id);
      id->set_subtask_index(t.subtask);
      id->set_attempt(job.attempt);
    }
    for (const v1::TaskLocation& loc : locations) *request->add_locations() = loc;
    if (job.storage != nullptr) request->set_checkpoint_root(store_->root());
    request->set_restore_dir(job.restored_from);
    if (tm.plugins.insert(job.id.value()).second) request->set_plugin(job.request.plugin());
    std::shared_ptr<TaskManagerClient> client = tm.client;
    JobId job_id = job.id;
    int attempt = job.attempt;
    // Only the plugin bytes are needed for a resend; shares the job's copy.
    std::string plugin_if_missing = request->plugin().empty() ? job.request.plugin() : "";
    actions.push_back([this, client, request, job_id, attempt, tm_id,
                       plugin = std::move(plugin_if_missing)] {
      absl::Status status = client->DeployTask(*request);
      if (status.code() == absl::StatusCode::kFailedPrecondition && request->plugin().empty()) {
        request->set_plugin(plugin);
        status = client->DeployTask(*request);
      }
      if (!status.ok()) {
        OnDeployFailed(job_id, attempt, tm_id,
                       status.code() == absl::StatusCode::kUnavailable,
                       absl::StrCat("deploying to task manager ", tm_id.value(), " failed: ",
                                    status.ToString()));
      }
    });
  }
}

void JobManager::OnDeployFailed(const JobId& id, int attempt, const TaskManagerId& tm,
                                bool unreachable, const std::string& reason) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    Job& job = *it->second;
    if (job.attempt != attempt) return;
    if (unreachable && task_managers_.contains(tm) && job.held.contains(tm)) {
      // An unreachable task manager is as good as lost: drop it now rather than at its
      // heartbeat timeout, so the restart does not place tasks on it again.
      RemoveTaskManagerLocked(tm, reason, actions);
    } else if (job.state == v1::JOB_STATE_RUNNING) {
      FailAttemptLocked(job, reason, actions);
    } else if (job.state == v1::JOB_STATE_CANCELING) {
      for (Task& t : job.tasks) {
        if (!IsTerminal(t.state)) t.state = v1::TASK_STATE_CANCELED;
      }
      FinishIfDoneLocked(job);
    }
  }
  Run(actions);
}

void JobManager::FailAttemptLocked(Job& job, const std::string& reason, Actions& actions) {
  CDCFLOW_CLOG(WARNING) << "job " << job.id.value() << " attempt " << job.attempt << " failed: " << reason;
  job.failure = reason;
  CancelRunningTasksLocked(job, actions);
  for (Task& t : job.tasks) {
    if (!IsTerminal(t.state)) t.state = v1::TASK_STATE_CANCELED;
  }
  ReleaseSlotsLocked(job);
  if (job.restarts < options_.restart.max_restarts) {
    ++job.restarts;
    job.state = v1::JOB_STATE_RESTARTING;
    job.restart_at = options_.now() + options_.restart.DelayBefore(job.restarts);
  } else {
    job.state = v1::JOB_STATE_FAILED;
    job.end_time = options_.now();
    CDCFLOW_CLOG(WARNING) << "job " << job.id.value() << " failed after " << job.restarts
                 << " restart(s)";
  }
  PersistLocked(job);
}

void JobManager::CancelRunningTasksLocked(Job& job, Actions& actions) {
  for (const auto& [tm_id, count] : job.held) {
    auto it = task_managers_.find(tm_id);
    if (it == task_managers_.end()) continue;
    bool running = false;
    for (const Task& t : job.tasks) {
      if (t.task_manager == tm_id && !IsTerminal(t.state)) running = true;
    }
    if (!running) continue;
    std::shared_ptr<TaskManagerClient> client = it->second.client;
    v1::CancelTaskRequest request;
    request.set_job_id(job.id.value());
    request.set_attempt(job.attempt);
    JobId job_id = job.id;
    int attempt = job.attempt;
    TaskManagerId tm = tm_id;
    actions.push_back([this, client, request, job_id, attempt, tm] {
      absl::Status status = client->CancelTask(request);
      if (!status.ok()) {
        CDCFLOW_CLOG(WARNING) << "canceling job " << job_id.value() << " on task manager " << tm.value()
                     << ": " << status;
        OnCancelFailed(job_id, attempt, tm);
      }
    });
  }
}

void JobManager::OnCancelFailed(const JobId& id, int attempt, const TaskManagerId& tm) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second->attempt != attempt) return;
  Job& job = *it->second;
  if (job.state != v1::JOB_STATE_CANCELING) return;
  // The task manager cannot be reached: its tasks will not report; count them canceled.
  for (Task& t : job.tasks) {
    if (t.task_manager == tm && !IsTerminal(t.state)) t.state = v1::TASK_STATE_CANCELED;
  }
  FinishIfDoneLocked(job);
}

void JobManager::ReleaseSlotsLocked(Job& job) {
  for (const auto& [tm_id, count] : job.held) {
    auto it = task_managers_.find(tm_id);
    if (it != task_managers_.end()) it->second.used -= count;
  }
  job.held.clear();
}

void JobManager::RemoveTaskManagerLocked(const TaskManagerId& id, const std::string& reason,
                                         Actions& actions) {
  CDCFLOW_CLOG(WARNING) << reason;
  task_managers_.erase(id);
  for (const JobId& jid : job_order_) {
    Job& job = *jobs_.at(jid);
    if (!job.held.contains(id)) continue;
    if (job.state == v1::JOB_STATE_RUNNING) {
      FailAttemptLocked(job, reason, actions);
    } else {
      for (Task& t : job.tasks) {
        if (t.task_manager == id && !IsTerminal(t.state)) t.state = v1::TASK_STATE_CANCELED;
      }
      FinishIfDoneLocked(job);
    }
  }
}

void JobManager::FinishIfDoneLocked(Job& job) {
  bool all_finished = true;
  bool all_terminal = true;
  for (const Task& t : job.tasks) {
    all_finished = all_finished && t.state == v1::TASK_STATE_FINISHED;
    all_terminal = all_terminal && IsTerminal(t.state);
  }
  if (job.state == v1::JOB_STATE_RUNNING && all_finished) {
    job.state = v1::JOB_STATE_FINISHED;
  } else if (job.state == v1::JOB_STATE_CANCELING && all_terminal) {
    job.state = v1::JOB_STATE_CANCELED;
  } else {
    return;
  }
  CDCFLOW_CLOG(INFO) << "job " << job.id.value() << " " << JobStateName(job.state);
  job.end_time = options_.now();
  ReleaseSlotsLocked(job);
  PersistLocked(job);
}

void JobManager::PersistLocked(Job& job) {
  if (store_ == nullptr) return;
  absl::Status s = store_->SaveStatus(job.id, job.state, job.attempt);
  if (!s.ok()) {
    CDCFLOW_CLOG(WARNING) << "job " << job.id.value() << ": cannot record its state "
                          << JobStateName(job.state) << ": " << s.ToString();
  }
}

v1::JobSummary JobManager::SummaryLocked(const Job& job) const {
  v1::JobSummary s;
  s.set_job_id(job.id.value());
  s.set_name(job.request.job().graph().job_name());
  s.set_state(job.state);
  s.set_attempt(job.attempt);
  s.set_submit_time_ms(absl::ToUnixMillis(job.submit_time));
  if (IsTerminal(job.state)) s.set_end_time_ms(absl::ToUnixMillis(job.end_time));
  return s;
}

}  // namespace cdcflow::jobmanager
