#pragma once
// The job manager's gateway to one task manager. The job manager only talks to task
// managers through this interface, so scheduling and failover are unit tested with
// an in-memory fake (fake_task_manager_client.h) instead of sockets.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/task_manager.pb.h"

namespace cdcflow::jobmanager {

// Thread-safe: calls may come from several threads at once.
class TaskManagerClient {
 public:
  virtual ~TaskManagerClient() = default;
  // FAILED_PRECONDITION when the request carries no plugin bytes and the task
  // manager does not hold the plugin with the request's hash.
  virtual absl::Status DeployTask(const v1::DeployTaskRequest& request) = 0;
  virtual absl::Status CancelTask(const v1::CancelTaskRequest& request) = 0;
  // Checkpoints: NOT_FOUND when the attempt does not run there.
  virtual absl::StatusOr<v1::TriggerCheckpointResponse> TriggerCheckpoint(
      const v1::TriggerCheckpointRequest& request) = 0;
  virtual absl::Status NotifyCheckpointComplete(const v1::NotifyCheckpointRequest& request) = 0;
  virtual absl::Status NotifyCheckpointAborted(const v1::NotifyCheckpointRequest& request) = 0;
};

// Makes clients for task managers as they register. Thread-safe.
class TaskManagerClientFactory {
 public:
  virtual ~TaskManagerClientFactory() = default;
  virtual std::unique_ptr<TaskManagerClient> Connect(const std::string& address) = 0;
};

// gRPC clients with `rpc_timeout` as the deadline of each call.
std::unique_ptr<TaskManagerClientFactory> NewGrpcTaskManagerClientFactory(
    absl::Duration rpc_timeout = absl::Seconds(30));

}  // namespace cdcflow::jobmanager
