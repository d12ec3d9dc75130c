#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "jobmanager/task_manager_client.h"
#include "proto/ids.h"
#include "proto/task_manager.grpc.pb.h"

namespace cdcflow::jobmanager {
namespace {

class GrpcTaskManagerClient final : public TaskManagerClient {
 public:
  GrpcTaskManagerClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : stub_(v1::TaskManagerService::NewStub(channel)), timeout_(timeout) {}

  absl::Status DeployTask(const v1::DeployTaskRequest& request) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    v1::DeployTaskResponse response;
    return FromGrpc(stub_->DeployTask(&context, request, &response));
  }

  absl::Status CancelTask(const v1::CancelTaskRequest& request) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    v1::CancelTaskResponse response;
    return FromGrpc(stub_->CancelTask(&context, request, &response));
  }

  absl::StatusOr<v1::TriggerCheckpointResponse> TriggerCheckpoint(
      const v1::TriggerCheckpointRequest& request) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    v1::TriggerCheckpointResponse response;
    absl::Status s = FromGrpc(stub_->TriggerCheckpoint(&context, request, &response));
    if (!s.ok()) return s;
    return response;
  }

  absl::Status NotifyCheckpointComplete(const v1::NotifyCheckpointRequest& request) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    v1::NotifyCheckpointResponse response;
    return FromGrpc(stub_->NotifyCheckpointComplete(&context, request, &response));
  }

  absl::Status NotifyCheckpointAborted(const v1::NotifyCheckpointRequest& request) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    v1::NotifyCheckpointResponse response;
    return FromGrpc(stub_->NotifyCheckpointAborted(&context, request, &response));
  }

 private:
  std::unique_ptr<v1::TaskManagerService::Stub> stub_;
  absl::Duration timeout_;
};

class GrpcTaskManagerClientFactory final : public TaskManagerClientFactory {
 public:
  explicit GrpcTaskManagerClientFactory(absl::Duration timeout) : timeout_(timeout) {}
  std::unique_ptr<TaskManagerClient> Connect(const std::string& address) override {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    return std::make_unique<GrpcTaskManagerClient>(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args), timeout_);
  }

 private:
  absl::Duration timeout_;
};

}  // namespace

std::unique_ptr<TaskManagerClientFactory> NewGrpcTaskManagerClientFactory(
    absl::Duration rpc_timeout) {
  return std::make_unique<GrpcTaskManagerClientFactory>(rpc_timeout);
}

}  // namespace cdcflow::jobmanager
