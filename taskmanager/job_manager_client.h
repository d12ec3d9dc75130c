#pragma once
// The task manager's gateway to the job manager: a gRPC implementation and an
// in-memory fake (testing/fake_job_manager_client.h), so registration, heartbeats and
// task-state reporting are unit tested without sockets. Thread-safe.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/job_manager.pb.h"

namespace cdcflow::taskmanager {

class JobManagerClient {
 public:
  virtual ~JobManagerClient() = default;
  virtual absl::StatusOr<v1::RegisterTaskManagerResponse> RegisterTaskManager(
      const v1::RegisterTaskManagerRequest& request) = 0;
  virtual absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) = 0;
  virtual absl::Status UpdateTaskState(const v1::UpdateTaskStateRequest& request) = 0;
  virtual absl::Status AcknowledgeCheckpoint(const v1::AcknowledgeCheckpointRequest& request) = 0;
  virtual absl::Status DeclineCheckpoint(const v1::DeclineCheckpointRequest& request) = 0;
};

// A gRPC client of `address` ("host:port"); each call has `rpc_timeout` as deadline.
std::unique_ptr<JobManagerClient> NewGrpcJobManagerClient(
    const std::string& address, absl::Duration rpc_timeout = absl::Seconds(10));

}  // namespace cdcflow::taskmanager
