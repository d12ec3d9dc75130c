#include "jobmanager/job_manager_server.h"

#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "jobmanager/job_store.h"
#include "proto/cluster_log.h"
#include "proto/ids.h"
#include "proto/job_manager.grpc.pb.h"

namespace cdcflow::jobmanager {

class JobManagerServer::Service final : public v1::JobManagerService::Service {
 public:
  Service(JobManager* jm, Planner planner, std::string auth_token)
      : jm_(jm), planner_(std::move(planner)), auth_token_(std::move(auth_token)) {}

  grpc::Status RegisterTaskManager(grpc::ServerContext*, const v1::RegisterTaskManagerRequest* req,
                                   v1::RegisterTaskManagerResponse* resp) override {
    auto r = jm_->RegisterTaskManager(*req);
    if (!r.ok()) return ToGrpc(r.status());
    *resp = std::move(*r);
    return grpc::Status::OK;
  }
  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* req,
                         v1::HeartbeatResponse* resp) override {
    *resp = jm_->Heartbeat(*req);
    return grpc::Status::OK;
  }
  grpc::Status UpdateTaskState(grpc::ServerContext*, const v1::UpdateTaskStateRequest* req,
                               v1::UpdateTaskStateResponse*) override {
    jm_->UpdateTaskState(*req);
    return grpc::Status::OK;
  }
  grpc::Status SubmitJob(grpc::ServerContext* ctx, const v1::SubmitJobRequest* req,
                         v1::SubmitJobResponse* resp) override {
    if (grpc::Status auth = Authorize(*ctx); !auth.ok()) return auth;
    if (!planner_) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no job planner");
    auto chains = planner_(req->job().graph());
    if (!chains.ok()) return ToGrpc(chains.status());
    auto id = jm_->SubmitJob(*req, std::move(*chains));
    if (!id.ok()) return ToGrpc(id.status());
    resp->set_job_id(id->value());
    return grpc::Status::OK;
  }
  grpc::Status CancelJob(grpc::ServerContext* ctx, const v1::CancelJobRequest* req,
                         v1::CancelJobResponse* resp) override {
    if (grpc::Status auth = Authorize(*ctx); !auth.ok()) return auth;
    auto state = jm_->CancelJob(JobId(req->job_id()));
    if (!state.ok()) return ToGrpc(state.status());
    resp->set_state(*state);
    return grpc::Status::OK;
  }
  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                        v1::ListJobsResponse* resp) override {
    *resp = jm_->ListJobs();
    return grpc::Status::OK;
  }
  grpc::Status ListTaskManagers(grpc::ServerContext*, const v1::ListTaskManagersRequest*,
                                v1::ListTaskManagersResponse* resp) override {
    *resp = jm_->ListTaskManagers();
    return grpc::Status::OK;
  }
  grpc::Status AcknowledgeCheckpoint(grpc::ServerContext*,
                                     const v1::AcknowledgeCheckpointRequest* req,
                                     v1::AcknowledgeCheckpointResponse*) override {
    jm_->AcknowledgeCheckpoint(*req);
    return grpc::Status::OK;
  }
  grpc::Status DeclineCheckpoint(grpc::ServerContext*, const v1::DeclineCheckpointRequest* req,
                                 v1::DeclineCheckpointResponse*) override {
    jm_->DeclineCheckpoint(*req);
    return grpc::Status::OK;
  }
  grpc::Status TriggerSavepoint(grpc::ServerContext* ctx, const v1::TriggerSavepointRequest* req,
                                v1::TriggerSavepointResponse* resp) override {
    if (grpc::Status auth = Authorize(*ctx); !auth.ok()) return auth;
    auto r = jm_->TriggerSavepoint(
        JobId(req->job_id()), req->directory(), req->cancel_job(),
        req->timeout_ms() > 0 ? absl::Milliseconds(req->timeout_ms()) : absl::Minutes(10));
    if (!r.ok()) return ToGrpc(r.status());
    resp->set_checkpoint_id(r->checkpoint_id);
    resp->set_path(r->path);
    resp->set_state(r->state);
    return grpc::Status::OK;
  }
  grpc::Status GetJobStatus(grpc::ServerContext*, const v1::GetJobStatusRequest* req,
                            v1::GetJobStatusResponse* resp) override {
    auto s = jm_->GetJobStatus(JobId(req->job_id()));
    if (!s.ok()) return ToGrpc(s.status());
    *resp = std::move(*s);
    return grpc::Status::OK;
  }

 private:
  // With a configured token, the calls that change jobs (submit, cancel, savepoint) need
  // "authorization: Bearer <token>" metadata.
  grpc::Status Authorize(const grpc::ServerContext& ctx) const {
    if (auth_token_.empty()) return grpc::Status::OK;
    auto it = ctx.client_metadata().find("authorization");
    if (it != ctx.client_metadata().end() &&
        std::string_view(it->second.data(), it->second.size()) == "Bearer " + auth_token_) {
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this call needs the job manager's token: 'authorization: Bearer <token>' "
                        "metadata (set CDCFLOW_AUTH_TOKEN for the cdcflow CLI)");
  }

  JobManager* jm_;
  Planner planner_;
  const std::string auth_token_;
};

namespace {

// Takes back every job a previous job manager stored under `dir` that had not ended.
absl::Status RecoverJobs(const std::string& dir, const Planner& planner, JobManager& jm) {
  JobStore store(dir);
  absl::StatusOr<std::vector<JobStore::StoredJob>> jobs = store.LoadJobs();
  if (!jobs.ok()) return jobs.status();
  for (JobStore::StoredJob& job : *jobs) {
    switch (job.state) {
      case v1::JOB_STATE_CREATED:
      case v1::JOB_STATE_RUNNING:
      case v1::JOB_STATE_RESTARTING:
        break;
      case v1::JOB_STATE_CANCELING:
        // Its task managers cancel their tasks when they lose the job manager.
        store.SaveStatus(job.id, v1::JOB_STATE_CANCELED, job.attempt).IgnoreError();
        continue;
      default:
        continue;
    }
    if (!planner) return absl::FailedPreconditionError("no job planner to recover jobs");
    auto chains = planner(job.request.job().graph());
    if (!chains.ok()) {
      CDCFLOW_CLOG(WARNING) << "job " << job.id.value() << " in " << store.JobDir(job.id)
                            << " cannot be recovered: " << chains.status().ToString();
      continue;
    }
    absl::Status s =
        jm.RecoverJob(job.id, std::move(job.request), std::move(*chains), job.attempt);
    if (!s.ok()) {
      CDCFLOW_CLOG(WARNING) << "job " << job.id.value() << " cannot be recovered: " << s.ToString();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<JobManagerServer>> JobManagerServer::Create(Config config) {
  std::unique_ptr<JobManagerServer> s(new JobManagerServer());
  auto clients = config.clients ? std::move(config.clients) : NewGrpcTaskManagerClientFactory();
  s->job_manager_ = std::make_unique<JobManager>(config.options, std::move(clients));
  if (!config.options.checkpoint_dir.empty()) {
    absl::Status recovered = RecoverJobs(config.options.checkpoint_dir, config.planner,
                                         *s->job_manager_);
    if (!recovered.ok()) return recovered;
  }
  s->service_ = std::make_unique<Service>(s->job_manager_.get(), std::move(config.planner),
                                         config.auth_token);
  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(config.bind_address, ":", config.port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &s->port_);
  builder.SetMaxReceiveMessageSize(-1);
  builder.RegisterService(s->service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("job manager: cannot listen on ", address));
  }
  CDCFLOW_CLOG(INFO) << "job manager listening on " << config.bind_address << ":" << s->port_;
  if (config.auth_token.empty()) {
    CDCFLOW_CLOG(WARNING) << "job manager gRPC API on " << config.bind_address << ":" << s->port_
                          << " has no auth token: anyone who reaches it can submit and cancel "
                             "jobs (set one with --auth-token or CDCFLOW_AUTH_TOKEN)";
  }
  JobManagerServer* self = s.get();
  absl::Duration tick = config.tick_interval;
  s->ticker_ = std::thread([self, tick] {
    while (!self->stop_.WaitForNotificationWithTimeout(tick)) self->job_manager_->Tick();
  });
  return s;
}

JobManagerServer::~JobManagerServer() { Shutdown(); }

void JobManagerServer::Shutdown() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (ticker_.joinable()) ticker_.join();
  if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
}

void JobManagerServer::Wait() { stop_.WaitForNotification(); }

}  // namespace cdcflow::jobmanager
