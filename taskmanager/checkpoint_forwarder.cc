#include "taskmanager/checkpoint_forwarder.h"

#include "proto/cluster_log.h"

namespace cdcflow::taskmanager {

class CheckpointForwarder::Listener final : public checkpoint::CheckpointListener {
 public:
  Listener(CheckpointForwarder* owner, std::string job_id, int attempt)
      : owner_(owner), job_id_(std::move(job_id)), attempt_(attempt) {}

  void Acknowledge(const v1::TaskCheckpointAck& ack) override {
    v1::AcknowledgeCheckpointRequest request;
    request.set_job_id(job_id_);
    request.set_attempt(attempt_);
    *request.mutable_ack() = ack;
    request.set_task_manager_id(owner_->task_manager_id_);
    JobManagerClient* jm = owner_->job_manager_;
    owner_->Enqueue([jm, request = std::move(request)] {
      absl::Status s = jm->AcknowledgeCheckpoint(request);
      if (!s.ok()) {
        CDCFLOW_CLOG(WARNING) << "job " << request.job_id() << ": ack of checkpoint "
                              << request.ack().checkpoint_id() << " by task "
                              << request.ack().chain() << "/" << request.ack().subtask()
                              << " not delivered: " << s.ToString();
      }
    });
  }

  void Decline(const exchange::TaskId& task, int64_t checkpoint_id, absl::Status reason) override {
    v1::DeclineCheckpointRequest request;
    request.set_job_id(job_id_);
    request.set_attempt(attempt_);
    request.mutable_task()->set_job_id(job_id_);
    request.mutable_task()->set_vertex_id(task.chain);
    request.mutable_task()->set_subtask_index(task.subtask);
    request.mutable_task()->set_attempt(attempt_);
    request.set_checkpoint_id(checkpoint_id);
    request.set_reason(reason.ToString());
    request.set_task_manager_id(owner_->task_manager_id_);
    JobManagerClient* jm = owner_->job_manager_;
    owner_->Enqueue([jm, request = std::move(request)] {
      absl::Status s = jm->DeclineCheckpoint(request);
      if (!s.ok()) {
        CDCFLOW_CLOG(WARNING) << "job " << request.job_id() << ": decline of checkpoint "
                              << request.checkpoint_id() << " not delivered: " << s.ToString();
      }
    });
  }

  void TaskFinished(const exchange::TaskId&) override {}

 private:
  CheckpointForwarder* owner_;
  std::string job_id_;
  int attempt_;
};

CheckpointForwarder::CheckpointForwarder(JobManagerClient* job_manager,
                                         std::string task_manager_id)
    : job_manager_(job_manager), task_manager_id_(std::move(task_manager_id)) {
  thread_ = std::thread([this] { Loop(); });
}

CheckpointForwarder::~CheckpointForwarder() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

checkpoint::CheckpointListener* CheckpointForwarder::ListenerFor(const std::string& job_id,
                                                                 int attempt) {
  absl::MutexLock lock(&mu_);
  auto& slot = listeners_[{job_id, attempt}];
  if (!slot) slot = std::make_unique<Listener>(this, job_id, attempt);
  return slot.get();
}

void CheckpointForwarder::Enqueue(std::function<void()> send) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(send));
}

void CheckpointForwarder::Flush() {
  absl::MutexLock lock(&mu_);
  auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.empty() && !sending_;
  };
  mu_.Await(absl::Condition(&drained));
}

void CheckpointForwarder::Loop() {
  while (true) {
    std::function<void()> send;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, everything sent
      send = std::move(queue_.front());
      queue_.pop_front();
      sending_ = true;
    }
    send();
    absl::MutexLock lock(&mu_);
    sending_ = false;
  }
}

}  // namespace cdcflow::taskmanager
