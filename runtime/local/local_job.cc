#include "runtime/local/local_job.h"

#include <algorithm>
#include <iostream>

#include "absl/strings/str_cat.h"

namespace cdcflow::local {

absl::Duration RestartStrategy::DelayBefore(int restart) const {
  double factor = 1.0;
  for (int i = 1; i < restart && factor < 1e9; ++i) factor *= std::max(1.0, multiplier);
  absl::Duration d = delay * factor;
  return std::min(d, std::max(delay, max_delay));
}

absl::StatusOr<std::unique_ptr<LocalJob>> LocalJob::Start(const graph::LogicalGraph* graph,
                                                          const JobArgs* args,
                                                          LocalJobOptions options) {
  std::unique_ptr<LocalJob> job(new LocalJob());
  job->graph_ = graph;
  job->args_ = args;
  job->options_ = options;
  job->spec_ = graph->Spec();
  absl::Status valid = job->spec_.Validate();
  if (!valid.ok()) return valid;
  job->plan_ = graph::BuildExecutionPlan(job->spec_);
  job->registry_ = options.metrics;

  if (job->registry_ == nullptr) {
    job->own_metrics_ = std::make_unique<metrics::MetricRegistry>();
    job->registry_ = job->own_metrics_.get();
  }
  if (!options.from_savepoint.empty()) {
    absl::StatusOr<checkpoint::CompletedCheckpoint> sp =
        checkpoint::LoadCheckpoint(options.from_savepoint);
    if (!sp.ok()) {
      return absl::Status(sp.status().code(), absl::StrCat("cannot start from savepoint ",
                                                           options.from_savepoint, ": ",
                                                           sp.status().message()));
    }
    if (absl::Status s = checkpoint::CheckCompatible(*sp, job->spec_); !s.ok()) return s;
    job->initial_ = *std::move(sp);
  }
  if (!options.checkpoint_dir.empty()) {
    auto storage = checkpoint::CheckpointStorage::Create(options.checkpoint_dir, options.job_id,
                                                         !options.copy_checkpoint_files);
    if (!storage.ok()) return storage.status();
    job->storage_ = *std::move(storage);
    const std::vector<int64_t> existing = job->storage_->ListCheckpointIds();
    job->first_run_id_ = std::max<int64_t>(existing.empty() ? 1 : existing.back() + 1,
                                           job->initial_ ? job->initial_->id() + 1 : 1);
    std::vector<exchange::TaskId> tasks;
    for (const graph::ChainSpec& chain : job->plan_.chains) {
      for (int32_t s = 0; s < chain.parallelism; ++s) tasks.push_back({chain.id, s});
    }
    checkpoint::CoordinatorOptions co;
    co.interval = options.checkpoint_interval;
    co.timeout = options.checkpoint_timeout;
    co.min_pause = options.checkpoint_min_pause;
    co.retained = options.retained_checkpoints;
    LocalJob* self = job.get();
    checkpoint::CoordinatorCallbacks cb;
    cb.trigger = [self](int64_t id, bool savepoint) {
      std::lock_guard<std::mutex> lock(self->mu_);
      for (auto& t : self->tasks_) {
        if (t->is_source()) t->TriggerCheckpoint(id, savepoint);
      }
    };
    cb.notify_complete = [self](int64_t id) {
      std::lock_guard<std::mutex> lock(self->mu_);
      for (auto& t : self->tasks_) t->NotifyCheckpointComplete(id);
    };
    cb.notify_aborted = [self](int64_t id) {
      std::lock_guard<std::mutex> lock(self->mu_);
      for (auto& t : self->tasks_) t->NotifyCheckpointAborted(id);
    };
    auto coordinator = checkpoint::CheckpointCoordinator::Create(
        std::move(tasks), job->storage_.get(), co, std::move(cb),
        job->first_run_id_);
    if (!coordinator.ok()) return coordinator.status();
    job->coordinator_ = *std::move(coordinator);
    job->uploader_ = std::make_unique<checkpoint::UploadPool>(options.upload_threads);
  }
  if (absl::Status s = job->StartAttempt(job->initial_); !s.ok()) return s;
  if (job->coordinator_ != nullptr) job->coordinator_->Start();
  job->supervisor_ = std::thread([self = job.get()] { self->Supervise(); });
  return job;
}

absl::Status LocalJob::StartAttempt(const std::optional<checkpoint::CompletedCheckpoint>& restore) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.clear();
  restores_.clear();
  channels_ = std::make_unique<exchange::LocalChannelFactory>(spec_, plan_, options_.exchange);
  for (const graph::ChainSpec& chain : plan_.chains) {
    for (int32_t s = 0; s < chain.parallelism; ++s) {
      task::TaskSetup setup;
      setup.graph = graph_;
      setup.spec = &spec_;
      setup.plan = &plan_;
      setup.id = {chain.id, s};
      setup.args = args_;
      setup.channels = channels_.get();
      setup.metrics = registry_;
      setup.job_id = options_.job_id;
      setup.options = options_.task;
      setup.attempt = attempt_;
      setup.checkpoint_listener = coordinator_.get();
      setup.checkpoint_storage = storage_.get();
      setup.uploader = uploader_.get();
      if (restore.has_value()) {
        auto r = checkpoint::BuildTaskRestore(*restore, spec_, plan_, setup.id);
        if (!r.ok()) return r.status();
        restores_.push_back(std::make_unique<checkpoint::TaskRestore>(*std::move(r)));
        setup.restore = restores_.back().get();
      }
      auto t = task::Task::Create(setup);
      if (!t.ok()) {
        tasks_.clear();
        return t.status();
      }
      tasks_.push_back(std::move(*t));
    }
  }
  first_error_ = absl::OkStatus();
  running_ = static_cast<int>(tasks_.size());
  threads_.clear();
  for (size_t i = 0; i < tasks_.size(); ++i) {
    task::Task* raw = tasks_[i].get();
    threads_.emplace_back([this, raw, i] { OnTaskDone(i, raw->Run()); });
  }
  return absl::OkStatus();
}

void LocalJob::CancelTasksLocked() {
  for (auto& t : tasks_) t->Cancel();
  if (channels_ != nullptr) channels_->Cancel();
}

void LocalJob::OnTaskDone(size_t index, absl::Status status) {
  exchange::TaskId id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = tasks_[index]->id();
  }
  // Outside mu_: the coordinator may complete a checkpoint and call back into us.
  if (status.ok() && coordinator_ != nullptr) coordinator_->TaskFinished(id);
  std::lock_guard<std::mutex> lock(mu_);
  // A task cancelled because another failed is not the cause: keep the first real error.
  if (!status.ok() && status.code() != absl::StatusCode::kCancelled && first_error_.ok()) {
    first_error_ = status;
    CancelTasksLocked();
  }
  --running_;
  cv_.notify_all();
}

std::optional<checkpoint::CompletedCheckpoint> LocalJob::RestartPoint() {
  if (coordinator_ == nullptr) return initial_;
  std::optional<checkpoint::CompletedCheckpoint> latest = coordinator_->LatestCompleted();
  if (!latest.has_value()) return initial_;
  absl::StatusOr<checkpoint::CompletedCheckpoint> loaded = checkpoint::LoadCheckpoint(latest->dir);
  if (loaded.ok()) return *std::move(loaded);
  std::cerr << "cdcflow: checkpoint " << latest->id() << " is not usable ("
            << loaded.status().message() << "); trying older ones" << std::endl;
  // Older checkpoints of this run only (the directory may hold earlier runs' ones).
  std::optional<checkpoint::CompletedCheckpoint> older = storage_->LoadLatest(nullptr, first_run_id_);
  if (older.has_value() && older->id() < latest->id()) return older;
  return initial_;
}

void LocalJob::Supervise() {
  absl::Status final_status;
  while (true) {
    std::vector<std::thread> threads;
    absl::Status attempt_status;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return running_ == 0; });
      threads = std::move(threads_);
      threads_.clear();
      attempt_status = first_error_;
    }
    for (std::thread& t : threads) t.join();
    if (cancel_requested_.load()) {
      final_status = attempt_status.ok() ? absl::CancelledError("job cancelled") : attempt_status;
      break;
    }
    if (attempt_status.ok()) break;  // every task finished
    if (restarts_.load() >= options_.restart.max_restarts) {
      final_status = attempt_status;
      break;
    }
    const int restart = restarts_.fetch_add(1) + 1;
    std::cerr << "cdcflow: job " << options_.job_id << " failed (" << attempt_status.message()
              << "); restart " << restart << " of " << options_.restart.max_restarts << std::endl;
    if (coordinator_ != nullptr) coordinator_->Suspend();
    if (uploader_ != nullptr) uploader_->Drain();  // the old attempt's uploads end first
    {
      std::unique_lock<std::mutex> lock(mu_);
      restart_causes_.push_back(attempt_status.ToString());
      ++attempt_;
      cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.restart.DelayBefore(restart)),
                   [this] { return cancel_requested_.load(); });
    }
    if (coordinator_ != nullptr) coordinator_->ResetForAttempt(attempt_);
    if (cancel_requested_.load()) {
      final_status = absl::CancelledError("job cancelled");
      break;
    }
    absl::Status started = StartAttempt(RestartPoint());
    if (!started.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      first_error_ = started;
      running_ = 0;
      continue;
    }
    if (coordinator_ != nullptr) coordinator_->Resume();
  }
  if (coordinator_ != nullptr) coordinator_->Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    final_status_ = final_status;
  }
  done_.store(true);
  cv_.notify_all();
}

void LocalJob::Cancel() {
  cancel_requested_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  CancelTasksLocked();
  cv_.notify_all();
}

absl::Status LocalJob::Wait() {
  {
    std::lock_guard<std::mutex> lock(join_mu_);
    if (!joined_) {
      joined_ = true;
      if (supervisor_.joinable()) supervisor_.join();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  return final_status_;
}

LocalJob::~LocalJob() {
  if (!done_.load()) Cancel();
  {
    std::lock_guard<std::mutex> lock(join_mu_);
    if (supervisor_.joinable()) supervisor_.join();
    joined_ = true;
  }
  if (coordinator_ != nullptr) coordinator_->Stop();
  uploader_.reset();  // runs the remaining uploads; their acks need the coordinator
  coordinator_.reset();
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.clear();
}

absl::StatusOr<checkpoint::CompletedCheckpoint> LocalJob::TriggerCheckpoint() {
  if (coordinator_ == nullptr) {
    return absl::FailedPreconditionError("the job has no checkpoint directory");
  }
  absl::StatusOr<int64_t> id = coordinator_->TriggerNow();
  if (!id.ok()) return id.status();
  return coordinator_->Await(*id, options_.checkpoint_timeout + absl::Seconds(5));
}

absl::StatusOr<checkpoint::CompletedCheckpoint> LocalJob::TriggerSavepoint(const std::string& dir) {
  if (coordinator_ == nullptr) {
    return absl::FailedPreconditionError("the job has no checkpoint directory");
  }
  absl::StatusOr<int64_t> id = coordinator_->TriggerNow(dir);
  if (!id.ok()) return id.status();
  return coordinator_->Await(*id, options_.checkpoint_timeout + absl::Seconds(5));
}

std::vector<checkpoint::CheckpointStats> LocalJob::CheckpointHistory() const {
  if (coordinator_ == nullptr) return {};
  return coordinator_->History();
}

std::vector<std::string> LocalJob::RestartCauses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return restart_causes_;
}

std::vector<VertexProgress> LocalJob::Progress() const {
  std::vector<VertexProgress> out(spec_.vertices.size());
  for (const graph::VertexSpec& v : spec_.vertices) {
    out[v.id].vertex = v.id;
    out[v.id].name = v.name;
    out[v.id].parallelism = v.parallelism;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& t : tasks_) {
    for (const auto& [vid, m] : t->vertex_metrics()) {
      out[vid].records_in += m.records_in->Value();
      out[vid].records_out += m.records_out->Value();
      out[vid].busy_s += m.busy_ns->Value() * 1e-9;
      out[vid].backpressured_s += m.backpressured_ns->Value() * 1e-9;
      out[vid].idle_s += m.idle_ns->Value() * 1e-9;
    }
  }
  return out;
}

}  // namespace cdcflow::local
