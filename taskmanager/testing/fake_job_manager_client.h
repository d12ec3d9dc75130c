#pragma once
// An in-memory JobManagerClient for unit tests: records calls and answers as told.
// Thread-safe.

#include <vector>

#include "absl/synchronization/mutex.h"
#include "taskmanager/job_manager_client.h"

namespace cdcflow::taskmanager::testing {

class FakeJobManagerClient : public JobManagerClient {
 public:
  absl::StatusOr<v1::RegisterTaskManagerResponse> RegisterTaskManager(
      const v1::RegisterTaskManagerRequest& request) override {
    absl::MutexLock lock(&mu_);
    registrations_.push_back(request);
    if (!available_) return absl::UnavailableError("job manager down");
    registered_ = true;
    v1::RegisterTaskManagerResponse response;
    response.set_heartbeat_interval_ms(10);
    response.set_heartbeat_timeout_ms(1000);
    return response;
  }
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) override {
    absl::MutexLock lock(&mu_);
    ++heartbeats_;
    last_heartbeat_ = request;
    if (!available_) return absl::UnavailableError("job manager down");
    v1::HeartbeatResponse response;
    response.set_registered(registered_);
    return response;
  }
  absl::Status UpdateTaskState(const v1::UpdateTaskStateRequest& request) override {
    absl::MutexLock lock(&mu_);
    updates_.push_back(request);
    return absl::OkStatus();
  }

  absl::Status AcknowledgeCheckpoint(const v1::AcknowledgeCheckpointRequest& request) override {
    absl::MutexLock lock(&mu_);
    acks_.push_back(request);
    return absl::OkStatus();
  }
  absl::Status DeclineCheckpoint(const v1::DeclineCheckpointRequest& request) override {
    absl::MutexLock lock(&mu_);
    declines_.push_back(request);
    return absl::OkStatus();
  }
  std::vector<v1::AcknowledgeCheckpointRequest> acks() {
    absl::MutexLock lock(&mu_);
    return acks_;
  }
  std::vector<v1::DeclineCheckpointRequest> declines() {
    absl::MutexLock lock(&mu_);
    return declines_;
  }

  // The job manager forgets this task manager (as after a restart).
  void Forget() {
    absl::MutexLock lock(&mu_);
    registered_ = false;
  }
  void SetAvailable(bool available) {
    absl::MutexLock lock(&mu_);
    available_ = available;
  }
  std::vector<v1::RegisterTaskManagerRequest> registrations() {
    absl::MutexLock lock(&mu_);
    return registrations_;
  }
  std::vector<v1::UpdateTaskStateRequest> updates() {
    absl::MutexLock lock(&mu_);
    return updates_;
  }
  int heartbeats() {
    absl::MutexLock lock(&mu_);
    return heartbeats_;
  }
  v1::HeartbeatRequest last_heartbeat() {
    absl::MutexLock lock(&mu_);
    return last_heartbeat_;
  }
  // Waits until `pred(updates)` holds or `timeout` passes; returns whether it held.
  template <typename Pred>
  bool AwaitUpdates(Pred pred, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto cond = [&] { return pred(updates_); };
    return mu_.AwaitWithTimeout(absl::Condition(&cond), timeout);
  }

 private:
  absl::Mutex mu_;
  bool available_ ABSL_GUARDED_BY(mu_) = true;
  bool registered_ ABSL_GUARDED_BY(mu_) = false;
  int heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
  v1::HeartbeatRequest last_heartbeat_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::RegisterTaskManagerRequest> registrations_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::UpdateTaskStateRequest> updates_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::AcknowledgeCheckpointRequest> acks_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::DeclineCheckpointRequest> declines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cdcflow::taskmanager::testing
