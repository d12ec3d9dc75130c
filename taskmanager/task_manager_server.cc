#include "taskmanager/task_manager_server.h"

#include "absl/strings/str_cat.h"
#include "runtime/metrics/standard_metrics.h"
#include "grpcpp/grpcpp.h"
#include "proto/cluster_log.h"
#include "proto/ids.h"
#include "proto/task_manager.grpc.pb.h"
#include "taskmanager/runtime_attempt.h"

namespace cdcflow::taskmanager {

class TaskManagerServer::Service final : public v1::TaskManagerService::Service {
 public:
  explicit Service(TaskManager* tm) : tm_(tm) {}

  grpc::Status DeployTask(grpc::ServerContext*, const v1::DeployTaskRequest* request,
                          v1::DeployTaskResponse*) override {
    return ToGrpc(tm_->DeployTask(*request));
  }
  grpc::Status CancelTask(grpc::ServerContext*, const v1::CancelTaskRequest* request,
                          v1::CancelTaskResponse*) override {
    return ToGrpc(tm_->CancelTask(*request));
  }
  grpc::Status TriggerCheckpoint(grpc::ServerContext*, const v1::TriggerCheckpointRequest* request,
                                 v1::TriggerCheckpointResponse* response) override {
    auto r = tm_->TriggerCheckpoint(*request);
    if (!r.ok()) return ToGrpc(r.status());
    *response = std::move(*r);
    return grpc::Status::OK;
  }
  grpc::Status NotifyCheckpointComplete(grpc::ServerContext*,
                                        const v1::NotifyCheckpointRequest* request,
                                        v1::NotifyCheckpointResponse*) override {
    return ToGrpc(tm_->NotifyCheckpointComplete(*request));
  }
  grpc::Status NotifyCheckpointAborted(grpc::ServerContext*,
                                       const v1::NotifyCheckpointRequest* request,
                                       v1::NotifyCheckpointResponse*) override {
    return ToGrpc(tm_->NotifyCheckpointAborted(*request));
  }
  grpc::Status ExchangeBatches(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ExchangeCredit, v1::ExchangeMessage>* stream) override {
    v1::ExchangeMessage first;
    if (!stream->Read(&first)) return grpc::Status::OK;
    if (!first.has_channel()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "ExchangeBatches: the first message must name the channel");
    }
    const v1::ChannelId& channel = first.channel();
    absl::StatusOr<std::shared_ptr<Attempt>> attempt =
        tm_->AwaitAttempt(channel.job_id(), channel.attempt());
    if (!attempt.ok() || (*attempt)->network() == nullptr) {
      v1::ExchangeCredit error;
      error.set_error(attempt.ok() ? "the attempt has no network exchange"
                                   : std::string(attempt.status().message()));
      stream->Write(error);
      return attempt.ok() ? grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, error.error())
                          : ToGrpc(attempt.status());
    }
    return (*attempt)->network()->Serve(context, channel, stream);
  }

 private:
  TaskManager* tm_;
};

absl::StatusOr<std::unique_ptr<TaskManagerServer>> TaskManagerServer::Create(Config config) {
  if (config.slots < 1) {
    return absl::InvalidArgumentError(absl::StrCat("slots must be >= 1, got ", config.slots));
  }
  std::unique_ptr<TaskManagerServer> s(new TaskManagerServer());
  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(config.bind_address, ":", config.port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &s->port_);
  builder.SetMaxReceiveMessageSize(-1);

  TaskManager::Options options;
  options.task_manager_id = config.task_manager_id;
  options.slots = config.slots;
  options.plugin_directory = config.plugin_directory;
  options.on_job_released = [](const std::string& job) {
    metrics::DefaultRegistry().RemoveSeries({{std::string(metrics::kLabelJob), job}});
  };
  ChannelPool* pool = &s->pool_;
  NetworkExchangeOptions exchange = config.exchange;
  task::TaskOptions task_options;
  task_options.state_dir = config.state_dir;
  task_options.state_cache_bytes = config.state_cache_bytes;
  task_options.state_memory_bytes = config.state_memory_bytes;
  // The service must exist before the server starts; the TaskManager needs the port.
  // So: build the TaskManager first with a placeholder address, fixed below.
  auto tm = std::make_unique<TaskManager>(
      options, NewGrpcJobManagerClient(config.job_manager_address),
      [pool, exchange, task_options](AttemptContext context) {
        return NewRuntimeAttempt(std::move(context), pool, exchange, task_options);
      });
  s->service_ = std::make_unique<Service>(tm.get());
  builder.RegisterService(s->service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("task manager: cannot listen on ", address));
  }
  std::string host = config.advertised_host.empty() ? config.bind_address : config.advertised_host;
  // "host" gets the bound port; "host:port" (e.g. a container's published port) is used as is.
  const bool has_port = host.find(':') != std::string::npos && host.front() != '[';
  const std::string advertised = has_port ? host : absl::StrCat(host, ":", s->port_);
  tm->set_advertised_address(advertised);
  if (config.metrics_port >= 0) {
    const std::string bind =
        config.metrics_bind.empty() ? config.bind_address : config.metrics_bind;
    auto http = metrics::MetricsHttpServer::Start(metrics::DefaultRegistry(), bind,
                                                  config.metrics_port);
    if (http.ok()) {
      s->metrics_http_ = *std::move(http);
      const std::string metrics_host = has_port ? host.substr(0, host.rfind(':')) : host;
      tm->set_metrics_address(absl::StrCat(metrics_host, ":", s->metrics_http_->port()));
    } else {
      // Tasks matter more than their metrics (e.g. a second task manager on a host with
      // the default port): run without /metrics, loudly.
      CDCFLOW_CLOG(WARNING) << "task manager: no /metrics endpoint on " << bind << ":"
                            << config.metrics_port << ": " << http.status().message()
                            << " (set --metrics-port)";
    }
  }
  s->task_manager_ = std::move(tm);
  CDCFLOW_CLOG(INFO) << "task manager " << s->task_manager_->id() << " listening on "
                     << config.bind_address << ":" << s->port_ << " (reached at " << advertised
                     << ") with " << config.slots << " slot(s), job manager at "
                     << config.job_manager_address;
  s->task_manager_->Start();
  return s;
}

TaskManagerServer::~TaskManagerServer() { Shutdown(); }

void TaskManagerServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (task_manager_) task_manager_->Stop();
  if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
}

}  // namespace cdcflow::taskmanager
