#include "runtime/checkpoint/checkpoint_coordinator.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cdcflow::checkpoint {

const char* CheckpointStatusName(CheckpointStatus status) {
  switch (status) {
    case CheckpointStatus::kInProgress:
      return "IN_PROGRESS";
    case CheckpointStatus::kCompleted:
      return "COMPLETED";
    case CheckpointStatus::kFailed:
      return "FAILED";
  }
  return "UNKNOWN";
}

struct CheckpointCoordinator::Pending {
  int64_t id = 0;
  std::optional<std::string> savepoint_dir;
  absl::Time trigger_time;
  int64_t trigger_ms = 0;
  int32_t attempt = 0;
  absl::flat_hash_set<exchange::TaskId> waiting;
  std::vector<v1::TaskCheckpointAck> acks;
};

absl::StatusOr<std::unique_ptr<CheckpointCoordinator>> CheckpointCoordinator::Create(
    std::vector<exchange::TaskId> tasks, CheckpointStorage* storage, CoordinatorOptions options,
    CoordinatorCallbacks callbacks, int64_t min_next_id) {
  if (storage == nullptr) return absl::InvalidArgumentError("checkpoint coordinator needs a storage");
  if (!callbacks.trigger || !callbacks.notify_complete || !callbacks.notify_aborted) {
    return absl::InvalidArgumentError("checkpoint coordinator callbacks are incomplete");
  }
  if (options.max_concurrent < 1) options.max_concurrent = 1;
  if (options.retained < 1) options.retained = 1;
  int64_t next = std::max<int64_t>(1, min_next_id);
  for (int64_t id : storage->ListCheckpointIds()) next = std::max(next, id + 1);
  return std::unique_ptr<CheckpointCoordinator>(new CheckpointCoordinator(
      std::move(tasks), storage, options, std::move(callbacks), next));
}

CheckpointCoordinator::CheckpointCoordinator(std::vector<exchange::TaskId> tasks,
                                             CheckpointStorage* storage,
                                             CoordinatorOptions options,
                                             CoordinatorCallbacks callbacks, int64_t next_id)
    : tasks_(std::move(tasks)),
      storage_(storage),
      options_(options),
      callbacks_(std::move(callbacks)),
      next_id_(next_id) {}

CheckpointCoordinator::~CheckpointCoordinator() { Stop(); }

void CheckpointCoordinator::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  if (options_.interval > absl::ZeroDuration()) next_trigger_ = absl::Now() + options_.interval;
  thread_ = std::thread([this] { PeriodicLoop(); });
}

void CheckpointCoordinator::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  AbortAllPending(absl::CancelledError("the checkpoint coordinator stopped"));
}

void CheckpointCoordinator::Suspend() {
  std::lock_guard<std::mutex> lock(mu_);
  suspended_ = true;
}

void CheckpointCoordinator::Resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    suspended_ = false;
    if (options_.interval > absl::ZeroDuration()) next_trigger_ = absl::Now() + options_.interval;
  }
  cv_.notify_all();
}

void CheckpointCoordinator::ResetForAttempt(int32_t attempt) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    attempt_ = attempt;
    finished_.clear();
  }
  AbortAllPending(absl::AbortedError(absl::StrCat("the job restarted (attempt ", attempt, ")")));
}

int32_t CheckpointCoordinator::attempt() const {
  std::lock_guard<std::mutex> lock(mu_);
  return attempt_;
}

int64_t CheckpointCoordinator::StartCheckpointLocked(std::optional<std::string> savepoint_dir) {
  auto p = std::make_unique<Pending>();
  p->id = next_id_++;
  p->savepoint_dir = std::move(savepoint_dir);
  p->trigger_time = absl::Now();
  p->trigger_ms = absl::ToUnixMillis(p->trigger_time);
  p->attempt = attempt_;
  for (const exchange::TaskId& t : tasks_) {
    if (finished_.contains(t)) {
      v1::TaskCheckpointAck ack;
      ack.set_chain(t.chain);
      ack.set_subtask(t.subtask);
      ack.set_checkpoint_id(p->id);
      ack.set_finished(true);
      ack.set_attempt(attempt_);
      p->acks.push_back(std::move(ack));
    } else {
      p->waiting.insert(t);
    }
  }
  CheckpointStats stats;
  stats.id = p->id;
  stats.savepoint = p->savepoint_dir.has_value();
  stats.trigger_time_ms = p->trigger_ms;
  stats.expected = static_cast<int32_t>(tasks_.size());
  stats.acked = static_cast<int32_t>(p->acks.size());
  stats.path = p->savepoint_dir.value_or(storage_->CheckpointDir(p->id));
  history_.push_back(std::move(stats));
  if (history_.size() > static_cast<size_t>(std::max(1, options_.history_size))) {
    history_.erase(history_.begin());
  }
  const int64_t id = p->id;
  pending_.emplace(id, std::move(p));
  return id;
}

CheckpointStats* CheckpointCoordinator::StatsLocked(int64_t id) {
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    if (it->id == id) return &*it;
  }
  return nullptr;
}

void CheckpointCoordinator::RecordResultLocked(int64_t id,
                                               absl::StatusOr<CompletedCheckpoint> result) {
  results_.insert_or_assign(id, std::move(result));
  while (results_.size() > static_cast<size_t>(2 * std::max(1, options_.history_size))) {
    results_.erase(results_.begin());
  }
}

absl::StatusOr<int64_t> CheckpointCoordinator::TriggerNow(std::optional<std::string> savepoint_dir) {
  int64_t id = 0;
  bool complete_now = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // On demand (savepoints): wait for room rather than fail behind a periodic checkpoint.
    const bool room = cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.timeout), [this] {
      return stopping_ || static_cast<int>(pending_.size()) < options_.max_concurrent;
    });
    if (stopping_) return absl::CancelledError("the checkpoint coordinator stopped");
    if (!room) {
      return absl::FailedPreconditionError(absl::StrCat(
          options_.max_concurrent, " checkpoint(s) already in progress; try again later"));
    }
    const bool savepoint = savepoint_dir.has_value();
    id = StartCheckpointLocked(std::move(savepoint_dir));
    complete_now = pending_.at(id)->waiting.empty();
    lock.unlock();
    if (!complete_now) callbacks_.trigger(id, savepoint);
  }
  cv_.notify_all();  // the watchdog learns the new deadline
  if (complete_now) Complete(id);
  return id;
}

absl::StatusOr<CompletedCheckpoint> CheckpointCoordinator::Await(int64_t id,
                                                                 absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto done = [&] { return results_.contains(id) || stopping_; };
  if (timeout == absl::InfiniteDuration()) {
    cv_.wait(lock, done);
  } else if (!cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), done)) {
    return absl::DeadlineExceededError(absl::StrCat("checkpoint ", id, " did not complete within ",
                                                    absl::FormatDuration(timeout)));
  }
  auto it = results_.find(id);
  if (it == results_.end()) {
    return absl::CancelledError(absl::StrCat("checkpoint ", id, ": the coordinator stopped"));
  }
  return it->second;
}

void CheckpointCoordinator::Acknowledge(const v1::TaskCheckpointAck& ack) {
  bool complete = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ack.attempt() != attempt_) return;  // a stale ack of an earlier attempt
    auto it = pending_.find(ack.checkpoint_id());
    if (it == pending_.end()) return;  // aborted meanwhile
    Pending& p = *it->second;
    if (p.waiting.erase(exchange::TaskId{ack.chain(), ack.subtask()}) == 0) return;  // duplicate
    p.acks.push_back(ack);
    if (CheckpointStats* s = StatsLocked(p.id)) {
      ++s->acked;
      s->uploaded_bytes += ack.bytes();
      s->full_bytes += ack.full_bytes();
      s->alignment_ns_max = std::max(s->alignment_ns_max, ack.alignment_ns());
    }
    complete = p.waiting.empty();
  }
  if (complete) Complete(ack.checkpoint_id());
}

void CheckpointCoordinator::Decline(const exchange::TaskId& task, int64_t checkpoint_id,
                                    absl::Status reason) {
  Abort(checkpoint_id, absl::Status(reason.code(),
                                    absl::StrCat("declined by task ", task.chain, "/", task.subtask,
                                                 ": ", reason.message())));
}

void CheckpointCoordinator::TaskFinished(const exchange::TaskId& task) {
  std::vector<int64_t> complete;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished_.insert(task);
    for (auto& [id, p] : pending_) {
      if (p->waiting.erase(task) == 0) continue;
      v1::TaskCheckpointAck ack;
      ack.set_chain(task.chain);
      ack.set_subtask(task.subtask);
      ack.set_checkpoint_id(id);
      ack.set_finished(true);
      ack.set_attempt(attempt_);
      p->acks.push_back(std::move(ack));
      if (CheckpointStats* s = StatsLocked(id)) ++s->acked;
      if (p->waiting.empty()) complete.push_back(id);
    }
  }
  for (int64_t id : complete) Complete(id);
}

void CheckpointCoordinator::Complete(int64_t id) {
  std::unique_ptr<Pending> p;
  std::vector<int64_t> subsumed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    p = std::move(it->second);
    pending_.erase(it);
    for (const auto& [other, _] : pending_) {
      if (other < id) subsumed.push_back(other);
    }
  }
  for (int64_t other : subsumed) {
    Abort(other, absl::AbortedError(absl::StrCat("subsumed by checkpoint ", id)));
  }
  v1::CheckpointMetadata m;
  m.set_job_id(storage_->job_id());
  m.set_checkpoint_id(id);
  m.set_trigger_time_ms(p->trigger_ms);
  m.set_complete_time_ms(absl::ToUnixMillis(absl::Now()));
  m.set_savepoint(false);
  m.set_attempt(p->attempt);
  std::sort(p->acks.begin(), p->acks.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.chain(), a.subtask()) < std::make_pair(b.chain(), b.subtask());
  });
  for (v1::TaskCheckpointAck& ack : p->acks) *m.add_tasks() = std::move(ack);

  absl::Status status = storage_->CommitCheckpoint(m);
  CompletedCheckpoint completed;
  completed.metadata = m;
  completed.dir = storage_->CheckpointDir(id);
  completed.base_dir = storage_->job_dir();
  absl::StatusOr<CompletedCheckpoint> result = completed;
  if (!status.ok()) {
    std::error_code ignored;
    (void)storage_->DiscardCheckpoint(id);
    callbacks_.notify_aborted(id);  // before the result is published: Await() sees its effects
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (CheckpointStats* s = StatsLocked(id)) {
        s->status = CheckpointStatus::kFailed;
        s->duration_ms = absl::ToInt64Milliseconds(absl::Now() - p->trigger_time);
        s->failure = std::string(status.message());
      }
      RecordResultLocked(id, status);
      last_end_ = absl::Now();
    }
    cv_.notify_all();
    return;
  }
  if (p->savepoint_dir.has_value()) {
    result = CheckpointStorage::ExportSavepoint(completed, *p->savepoint_dir);
  }
  absl::Status pruned = storage_->Prune(options_.retained);
  callbacks_.notify_complete(id);  // before the result is published: Await() sees its effects
  {
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = completed;
    if (CheckpointStats* s = StatsLocked(id)) {
      s->status = CheckpointStatus::kCompleted;
      s->duration_ms = absl::ToInt64Milliseconds(absl::Now() - p->trigger_time);
      if (!result.ok()) s->failure = absl::StrCat("savepoint export failed: ", result.status().message());
      else if (!pruned.ok()) s->failure = absl::StrCat("pruning failed: ", pruned.message());
    }
    RecordResultLocked(id, std::move(result));
    last_end_ = absl::Now();
  }
  cv_.notify_all();
}

void CheckpointCoordinator::Abort(int64_t id, absl::Status reason) {
  absl::Time trigger_time;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    trigger_time = it->second->trigger_time;
    pending_.erase(it);
  }
  (void)storage_->DiscardCheckpoint(id);
  callbacks_.notify_aborted(id);  // before the result is published: Await() sees its effects
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (CheckpointStats* s = StatsLocked(id)) {
      s->status = CheckpointStatus::kFailed;
      s->duration_ms = absl::ToInt64Milliseconds(absl::Now() - trigger_time);
      s->failure = std::string(reason.message());
    }
    RecordResultLocked(id, reason);
    last_end_ = absl::Now();
  }
  cv_.notify_all();
}

void CheckpointCoordinator::AbortAllPending(absl::Status reason) {
  std::vector<int64_t> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, _] : pending_) ids.push_back(id);
  }
  for (int64_t id : ids) Abort(id, reason);
}

void CheckpointCoordinator::PeriodicLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    std::vector<int64_t> expired;
    absl::Time wake = absl::InfiniteFuture();
    for (const auto& [id, p] : pending_) {
      const absl::Time deadline = p->trigger_time + options_.timeout;
      if (deadline <= now) {
        expired.push_back(id);
      } else {
        wake = std::min(wake, deadline);
      }
    }
    if (!expired.empty()) {
      lock.unlock();
      for (int64_t id : expired) {
        Abort(id, absl::DeadlineExceededError(absl::StrCat(
                      "checkpoint ", id, " timed out after ", absl::FormatDuration(options_.timeout))));
      }
      lock.lock();
      continue;
    }
    if (options_.interval > absl::ZeroDuration() && !suspended_) {
      const absl::Time due = std::max(next_trigger_, last_end_ + options_.min_pause);
      if (due <= now && static_cast<int>(pending_.size()) < options_.max_concurrent) {
        const int64_t id = StartCheckpointLocked(std::nullopt);
        next_trigger_ = now + options_.interval;
        const bool complete_now = pending_.at(id)->waiting.empty();
        lock.unlock();
        if (complete_now) {
          Complete(id);
        } else {
          callbacks_.trigger(id, false);
        }
        lock.lock();
        continue;
      }
      if (static_cast<int>(pending_.size()) < options_.max_concurrent) wake = std::min(wake, due);
    }
    if (wake == absl::InfiniteFuture()) {
      cv_.wait(lock);
    } else {
      cv_.wait_for(lock, absl::ToChronoNanoseconds(std::max(absl::ZeroDuration(), wake - absl::Now())));
    }
  }
}

std::optional<CompletedCheckpoint> CheckpointCoordinator::LatestCompleted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

std::vector<CheckpointStats> CheckpointCoordinator::History() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<CheckpointStats> out(history_.rbegin(), history_.rend());
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (CheckpointStats& s : out) {
    if (s.status == CheckpointStatus::kInProgress) s.duration_ms = now_ms - s.trigger_time_ms;
  }
  return out;
}

}  // namespace cdcflow::checkpoint
