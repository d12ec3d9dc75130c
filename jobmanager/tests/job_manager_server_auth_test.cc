// The job manager's gRPC token: submit and cancel need "authorization: Bearer <token>"
// metadata when one is configured; reads and task-manager calls do not.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "jobmanager/job_manager_server.h"
#include "jobmanager/testing/fake_task_manager_client.h"
#include "proto/job_manager.grpc.pb.h"

namespace cdcflow::jobmanager {
namespace {

using ::testing::HasSubstr;

class JobManagerServerAuthTest : public ::testing::Test {
 protected:
  void Start(std::string token) {
    JobManagerServer::Config config;
    config.port = 0;
    config.auth_token = std::move(token);
    config.clients = std::make_unique<testing::FakeTaskManagers>();
    config.planner = [](const v1::JobGraph&) -> absl::StatusOr<std::vector<ChainInfo>> {
      return std::vector<ChainInfo>{{0, "source", 1, {0}}};
    };
    auto server = JobManagerServer::Create(std::move(config));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::JobManagerService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  grpc::Status Submit(const std::string& authorization, v1::SubmitJobResponse* response) {
    grpc::ClientContext ctx;
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
    v1::SubmitJobRequest request;
    request.mutable_job()->mutable_graph()->set_job_name("auth");
    request.set_plugin("plugin");
    return stub_->SubmitJob(&ctx, request, response);
  }

  grpc::Status Cancel(const std::string& authorization, const std::string& job) {
    grpc::ClientContext ctx;
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
    v1::CancelJobRequest request;
    request.set_job_id(job);
    v1::CancelJobResponse response;
    return stub_->CancelJob(&ctx, request, &response);
  }

  std::unique_ptr<JobManagerServer> server_;
  std::unique_ptr<v1::JobManagerService::Stub> stub_;
};

TEST_F(JobManagerServerAuthTest, SubmitAndCancelNeedTheToken) {
  Start("s3cret");
  v1::SubmitJobResponse submitted;
  grpc::Status s = Submit("", &submitted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("CDCFLOW_AUTH_TOKEN"));
  EXPECT_EQ(Submit("Bearer wrong", &submitted).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Submit("s3cret", &submitted).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(Submit("Bearer s3cret", &submitted).ok());
  EXPECT_FALSE(submitted.job_id().empty());
  EXPECT_EQ(Cancel("", submitted.job_id()).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Cancel("Bearer s3cret", submitted.job_id()).ok());
  // Reads stay open.
  grpc::ClientContext ctx;
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(stub_->ListJobs(&ctx, {}, &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 1);
}

TEST_F(JobManagerServerAuthTest, NoTokenConfiguredAcceptsEveryone) {
  Start("");
  v1::SubmitJobResponse submitted;
  ASSERT_TRUE(Submit("", &submitted).ok());
  EXPECT_TRUE(Cancel("", submitted.job_id()).ok());
}

}  // namespace
}  // namespace cdcflow::jobmanager
