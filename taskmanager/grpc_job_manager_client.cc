#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "proto/ids.h"
#include "proto/job_manager.grpc.pb.h"
#include "taskmanager/job_manager_client.h"

namespace cdcflow::taskmanager {
namespace {

class GrpcJobManagerClient final : public JobManagerClient {
 public:
  GrpcJobManagerClient(const std::string& address, absl::Duration timeout)
      : stub_(v1::JobManagerService::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))),
        timeout_(timeout) {}

  absl::StatusOr<v1::RegisterTaskManagerResponse> RegisterTaskManager(
      const v1::RegisterTaskManagerRequest& request) override {
    return Call(&v1::JobManagerService::Stub::RegisterTaskManager, request);
  }
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) override {
    return Call(&v1::JobManagerService::Stub::Heartbeat, request);
  }
  absl::Status UpdateTaskState(const v1::UpdateTaskStateRequest& request) override {
    return Call(&v1::JobManagerService::Stub::UpdateTaskState, request).status();
  }
  absl::Status AcknowledgeCheckpoint(const v1::AcknowledgeCheckpointRequest& request) override {
    return Call(&v1::JobManagerService::Stub::AcknowledgeCheckpoint, request).status();
  }
  absl::Status DeclineCheckpoint(const v1::DeclineCheckpointRequest& request) override {
    return Call(&v1::JobManagerService::Stub::DeclineCheckpoint, request).status();
  }

 private:
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(grpc::Status (v1::JobManagerService::Stub::*method)(
                                grpc::ClientContext*, const Req&, Resp*),
                            const Req& request) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    Resp response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return FromGrpc(status);
    return response;
  }

  std::unique_ptr<v1::JobManagerService::Stub> stub_;
  absl::Duration timeout_;
};

}  // namespace

std::unique_ptr<JobManagerClient> NewGrpcJobManagerClient(const std::string& address,
                                                          absl::Duration rpc_timeout) {
  return std::make_unique<GrpcJobManagerClient>(address, rpc_timeout);
}

}  // namespace cdcflow::taskmanager
