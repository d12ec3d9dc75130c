#include "taskmanager/task_manager.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "proto/cluster_log.h"
#include "proto/ids.h"

namespace cdcflow::taskmanager {

TaskManager::TaskManager(Options options, std::unique_ptr<JobManagerClient> job_manager,
                         AttemptFactory attempts)
    : options_(std::move(options)),
      job_manager_(std::move(job_manager)),
      factory_(std::move(attempts)) {
  if (options_.task_manager_id.empty()) options_.task_manager_id = RandomHexId();
  forwarder_ = std::make_unique<CheckpointForwarder>(job_manager_.get(), options_.task_manager_id);
}

TaskManager::~TaskManager() { Stop(); }

void TaskManager::Start() { heartbeat_ = std::thread([this] { HeartbeatLoop(); }); }

void TaskManager::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (heartbeat_.joinable()) heartbeat_.join();
  CancelAll("task manager stopping");
  std::map<Key, std::shared_ptr<Attempt>> attempts;
  {
    absl::MutexLock lock(&mu_);
    attempts.swap(attempts_);
  }
  attempts.clear();  // joins task threads, outside the lock
}

bool TaskManager::registered() {
  absl::MutexLock lock(&mu_);
  return registered_;
}

int TaskManager::attempts() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(attempts_.size());
}

void TaskManager::HeartbeatLoop() {
  absl::Time last_ok = absl::Now();
  while (!stop_.HasBeenNotified()) {
    ReapDone();
    bool is_registered;
    absl::Duration interval, timeout;
    {
      absl::MutexLock lock(&mu_);
      is_registered = registered_;
      interval = heartbeat_interval_;
      timeout = heartbeat_timeout_;
    }
    if (!is_registered) {
      v1::RegisterTaskManagerRequest request;
      request.set_task_manager_id(options_.task_manager_id);
      request.set_address(options_.advertised_address);
      request.set_slots(options_.slots);
      request.set_metrics_address(options_.metrics_address);
      absl::StatusOr<v1::RegisterTaskManagerResponse> r =
          job_manager_->RegisterTaskManager(request);
      if (!r.ok()) {
        CDCFLOW_CLOG(WARNING) << "task manager " << id() << ": registration failed: "
                              << r.status().ToString() << "; retrying";
        stop_.WaitForNotificationWithTimeout(options_.register_retry);
        continue;
      }
      {
        absl::MutexLock lock(&mu_);
        registered_ = true;
        heartbeat_interval_ = absl::Milliseconds(std::max<int64_t>(1, r->heartbeat_interval_ms()));
        heartbeat_timeout_ = absl::Milliseconds(std::max<int64_t>(1, r->heartbeat_timeout_ms()));
        interval = heartbeat_interval_;
      }
      last_ok = absl::Now();
      CDCFLOW_CLOG(INFO) << "task manager " << id() << " registered with " << options_.slots
                         << " slot(s), serving at " << options_.advertised_address;
    } else {
      v1::HeartbeatRequest request;
      request.set_task_manager_id(options_.task_manager_id);
      std::vector<std::shared_ptr<Attempt>> running;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [key, attempt] : attempts_) running.push_back(attempt);
      }
      std::vector<v1::TaskMetricsReport> reports;
      for (const auto& attempt : running) attempt->CollectMetrics(&reports);
      running.clear();
      for (auto& r : reports) *request.add_task_metrics() = std::move(r);
      absl::StatusOr<v1::HeartbeatResponse> r = job_manager_->Heartbeat(request);
      if (r.ok() && r->registered()) {
        last_ok = absl::Now();
      } else if (r.ok()) {
        CancelAll("the job manager does not know this task manager");
        continue;  // registers again right away
      } else if (absl::Now() - last_ok > timeout) {
        CancelAll(absl::StrCat("no answer from the job manager for ",
                               absl::FormatDuration(absl::Now() - last_ok), ": ",
                               r.status().ToString()));
      }
    }
    stop_.WaitForNotificationWithTimeout(interval);
  }
}

void TaskManager::CancelAll(const std::string& reason) {
  std::vector<std::shared_ptr<Attempt>> to_cancel;
  {
    absl::MutexLock lock(&mu_);
    if (registered_ || !attempts_.empty()) {
      CDCFLOW_CLOG(WARNING) << "task manager " << id() << ": canceling every task: " << reason;
    }
    registered_ = false;
    for (auto& [key, attempt] : attempts_) {
      MarkCanceledLocked(key.first, key.second);
      to_cancel.push_back(attempt);
    }
  }
  for (auto& a : to_cancel) a->Cancel();
}

void TaskManager::MarkCanceledLocked(const std::string& job_id, int upto) {
  auto [it, inserted] = canceled_upto_.try_emplace(job_id, upto);
  if (!inserted) it->second = std::max(it->second, upto);
}

void TaskManager::ReapDone() {
  std::vector<std::shared_ptr<Attempt>> done;
  std::vector<std::string> released;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = attempts_.begin(); it != attempts_.end();) {
      if (it->second->Done()) {
        const std::string job = it->first.first;
        done.push_back(std::move(it->second));
        it = attempts_.erase(it);
        bool others = false;
        for (const auto& [key, a] : attempts_) others = others || key.first == job;
        if (!others) released.push_back(job);
      } else {
        ++it;
      }
    }
  }
  done.clear();  // joins outside the lock
  if (options_.on_job_released) {
    for (const std::string& job : released) options_.on_job_released(job);
  }
}

void TaskManager::Report(const v1::TaskId& task, v1::TaskState state, const std::string& error) {
  v1::UpdateTaskStateRequest request;
  *request.mutable_task() = task;
  request.set_state(state);
  request.set_error(error);
  request.set_task_manager_id(options_.task_manager_id);
  absl::Status s = job_manager_->UpdateTaskState(request);
  if (!s.ok()) {
    CDCFLOW_CLOG(WARNING) << "task manager " << id() << ": reporting task " << task.vertex_id()
                          << "/" << task.subtask_index() << " of job " << task.job_id()
                          << " as " << v1::TaskState_Name(state) << " failed: " << s.ToString();
  }
}

absl::Status TaskManager::DeployTask(const v1::DeployTaskRequest& request) {
  const Key key(request.job_id(), request.attempt());
  const std::string& sha = request.job().plugin_sha256();
  std::shared_ptr<const std::string> plugin;
  std::vector<std::shared_ptr<Attempt>> superseded;
  {
    absl::MutexLock lock(&mu_);
    auto c = canceled_upto_.find(key.first);
    if (c != canceled_upto_.end() && c->second >= key.second) {
      return absl::CancelledError(absl::StrCat("job ", key.first, " attempt ", key.second,
                                               " was canceled before it was deployed"));
    }
    if (attempts_.contains(key)) {
      return absl::AlreadyExistsError(
          absl::StrCat("job ", key.first, " attempt ", key.second, " is already deployed here"));
    }
    if (!request.plugin().empty()) {
      std::string actual = Sha256Hex(request.plugin());
      if (actual != sha) {
        return absl::InvalidArgumentError(absl::StrCat(
            "job ", key.first, ": the plugin's SHA-256 is ", actual, ", the job says ", sha));
      }
      auto& slot = plugins_[sha];
      if (!slot) slot = std::make_shared<const std::string>(request.plugin());
    }
    auto p = plugins_.find(sha);
    if (p == plugins_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("task manager ", id(), " does not hold plugin ", sha));
    }
    plugin = p->second;
    // A newer attempt of a job supersedes older ones still here.
    for (auto it = attempts_.begin(); it != attempts_.end();) {
      if (it->first.first == key.first && it->first.second < key.second) {
        superseded.push_back(std::move(it->second));
        it = attempts_.erase(it);
      } else {
        ++it;
      }
    }
    if (key.second > 0) MarkCanceledLocked(key.first, key.second - 1);
  }
  // The old attempt's tasks must have ended and closed their keyed state before the new
  // attempt's tasks open the same state directories (and restore a checkpoint into them).
  for (auto& a : superseded) a->Join();
  superseded.clear();

  AttemptContext context;
  context.request = &request;
  context.plugin = plugin;
  context.task_manager_id = options_.task_manager_id;
  context.plugin_directory = options_.plugin_directory;
  context.reporter = [this](const v1::TaskId& task, v1::TaskState state,
                            const std::string& error) { Report(task, state, error); };
  context.checkpoint_listener = forwarder_->ListenerFor(key.first, key.second);
  absl::StatusOr<std::unique_ptr<Attempt>> created = factory_(std::move(context));
  if (!created.ok()) {
    CDCFLOW_CLOG(WARNING) << "task manager " << id() << ": job " << key.first << " attempt "
                          << key.second << " cannot be deployed: " << created.status().ToString();
    return created.status();
  }
  std::shared_ptr<Attempt> attempt = std::move(*created);
  {
    absl::MutexLock lock(&mu_);
    auto c = canceled_upto_.find(key.first);
    if (c != canceled_upto_.end() && c->second >= key.second) {
      return absl::CancelledError(absl::StrCat("job ", key.first, " attempt ", key.second,
                                               " was canceled while it was being deployed"));
    }
    attempts_[key] = attempt;
  }
  CDCFLOW_CLOG(INFO) << "task manager " << id() << ": job " << key.first << " attempt "
                     << key.second << ": starting " << request.tasks_size() << " task(s)";
  absl::Status started = attempt->Start();
  if (!started.ok()) {
    attempt->Cancel();
    return started;
  }
  return absl::OkStatus();
}

absl::Status TaskManager::CancelTask(const v1::CancelTaskRequest& request) {
  std::vector<std::shared_ptr<Attempt>> to_cancel;
  {
    absl::MutexLock lock(&mu_);
    int upto = request.attempt() < 0 ? std::numeric_limits<int>::max() : request.attempt();
    MarkCanceledLocked(request.job_id(), upto);
    for (auto& [k, a] : attempts_) {
      if (k.first == request.job_id() && k.second <= upto) to_cancel.push_back(a);
    }
  }
  for (auto& a : to_cancel) a->Cancel();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Attempt>> TaskManager::Find(const std::string& job_id,
                                                           int attempt) {
  absl::MutexLock lock(&mu_);
  auto it = attempts_.find(Key(job_id, attempt));
  if (it == attempts_.end()) {
    return absl::NotFoundError(absl::StrCat("job ", job_id, " attempt ", attempt,
                                            " does not run on task manager ", id()));
  }
  return it->second;
}

absl::StatusOr<v1::TriggerCheckpointResponse> TaskManager::TriggerCheckpoint(
    const v1::TriggerCheckpointRequest& request) {
  auto attempt = Find(request.job_id(), request.attempt());
  if (!attempt.ok()) return attempt.status();
  absl::StatusOr<int> sources =
      (*attempt)->TriggerCheckpoint(request.checkpoint_id(), request.savepoint());
  if (!sources.ok()) return sources.status();
  v1::TriggerCheckpointResponse response;
  response.set_source_tasks(*sources);
  return response;
}

absl::Status TaskManager::NotifyCheckpointComplete(const v1::NotifyCheckpointRequest& request) {
  auto attempt = Find(request.job_id(), request.attempt());
  if (!attempt.ok()) return attempt.status();
  (*attempt)->NotifyCheckpointComplete(request.checkpoint_id());
  return absl::OkStatus();
}

absl::Status TaskManager::NotifyCheckpointAborted(const v1::NotifyCheckpointRequest& request) {
  auto attempt = Find(request.job_id(), request.attempt());
  if (!attempt.ok()) return attempt.status();
  (*attempt)->NotifyCheckpointAborted(request.checkpoint_id());
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Attempt>> TaskManager::AwaitAttempt(const std::string& job_id,
                                                                   int attempt) {
  const Key key(job_id, attempt);
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto c = canceled_upto_.find(job_id);
    return attempts_.contains(key) || (c != canceled_upto_.end() && c->second >= attempt);
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), options_.attempt_wait);
  auto it = attempts_.find(key);
  if (it != attempts_.end()) return it->second;
  auto c = canceled_upto_.find(job_id);
  if (c != canceled_upto_.end() && c->second >= attempt) {
    return absl::CancelledError(absl::StrCat("job ", job_id, " attempt ", attempt,
                                             " was canceled on task manager ", id()));
  }
  return absl::NotFoundError(absl::StrCat("job ", job_id, " attempt ", attempt,
                                          " is not deployed on task manager ", id()));
}

}  // namespace cdcflow::taskmanager
