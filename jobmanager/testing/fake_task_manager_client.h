#pragma once
// An in-memory TaskManagerClientFactory for unit tests: records every call per
// task-manager address and answers with a programmable status. Thread-safe.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "jobmanager/task_manager_client.h"

namespace cdcflow::jobmanager::testing {

class FakeTaskManagers : public TaskManagerClientFactory {
 public:
  struct Calls {
    std::vector<v1::DeployTaskRequest> deploys;
    std::vector<v1::CancelTaskRequest> cancels;
    std::vector<v1::TriggerCheckpointRequest> triggers;
    std::vector<v1::NotifyCheckpointRequest> completes;
    std::vector<v1::NotifyCheckpointRequest> aborts;
    absl::Status deploy_status;  // returned by DeployTask
    bool holds_plugin_check = false;  // answer FAILED_PRECONDITION to deploys without plugin
  };

  std::unique_ptr<TaskManagerClient> Connect(const std::string& address) override {
    return std::make_unique<Client>(this, address);
  }

  std::vector<v1::DeployTaskRequest> Deploys(const std::string& address) {
    absl::MutexLock lock(&mu_);
    return calls_[address].deploys;
  }
  std::vector<v1::CancelTaskRequest> Cancels(const std::string& address) {
    absl::MutexLock lock(&mu_);
    return calls_[address].cancels;
  }
  Calls Get(const std::string& address) {
    absl::MutexLock lock(&mu_);
    return calls_[address];
  }
  void SetDeployStatus(const std::string& address, absl::Status status) {
    absl::MutexLock lock(&mu_);
    calls_[address].deploy_status = std::move(status);
  }
  void RequirePluginOnFirstDeploy(const std::string& address) {
    absl::MutexLock lock(&mu_);
    calls_[address].holds_plugin_check = true;
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    for (auto& [address, c] : calls_) {
      c.deploys.clear();
      c.cancels.clear();
      c.triggers.clear();
      c.completes.clear();
      c.aborts.clear();
    }
  }

 private:
  class Client : public TaskManagerClient {
   public:
    Client(FakeTaskManagers* owner, std::string address)
        : owner_(owner), address_(std::move(address)) {}
    absl::Status DeployTask(const v1::DeployTaskRequest& request) override {
      absl::MutexLock lock(&owner_->mu_);
      Calls& c = owner_->calls_[address_];
      c.deploys.push_back(request);
      if (c.holds_plugin_check && request.plugin().empty()) {
        c.holds_plugin_check = false;
        return absl::FailedPreconditionError("plugin not held");
      }
      return c.deploy_status;
    }
    absl::Status CancelTask(const v1::CancelTaskRequest& request) override {
      absl::MutexLock lock(&owner_->mu_);
      owner_->calls_[address_].cancels.push_back(request);
      return absl::OkStatus();
    }
    absl::StatusOr<v1::TriggerCheckpointResponse> TriggerCheckpoint(
        const v1::TriggerCheckpointRequest& request) override {
      absl::MutexLock lock(&owner_->mu_);
      owner_->calls_[address_].triggers.push_back(request);
      return v1::TriggerCheckpointResponse();
    }
    absl::Status NotifyCheckpointComplete(const v1::NotifyCheckpointRequest& request) override {
      absl::MutexLock lock(&owner_->mu_);
      owner_->calls_[address_].completes.push_back(request);
      return absl::OkStatus();
    }
    absl::Status NotifyCheckpointAborted(const v1::NotifyCheckpointRequest& request) override {
      absl::MutexLock lock(&owner_->mu_);
      owner_->calls_[address_].aborts.push_back(request);
      return absl::OkStatus();
    }

   private:
    FakeTaskManagers* owner_;
    std::string address_;
  };

  absl::Mutex mu_;
  std::map<std::string, Calls> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cdcflow::jobmanager::testing
