// `cdcflow jobmanager`: runs the job manager process until SIGINT/SIGTERM.
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/cluster_commands.h"
#include "cli/cluster_flags.h"
#include "cli/signals.h"
#include "cli/task_manager_flags.h"
#include "cli/version.h"
#include "jobmanager/job_manager_server.h"
#include "jobmanager/rest/job_manager_view.h"
#include "runtime/plugin/plugin_loader.h"
#include "runtime/cluster/graph_proto.h"
#include "taskmanager/task_manager_server.h"

namespace cdcflow::cli {
namespace {

struct JobManagerFlags {
  int port = 6123;
  std::string bind = "127.0.0.1";
  std::string port_file;
  int heartbeat_interval_ms = 1000;
  int heartbeat_timeout_ms = 5000;
  int restart_attempts = 3;
  int restart_delay_ms = 1000;
  double restart_backoff = 1.0;
  int restart_max_delay_ms = 300'000;
  std::string checkpoint_dir;
  int64_t checkpoint_interval_ms = 0;
  int64_t checkpoint_timeout_ms = 600'000;
  int retained_checkpoints = 3;
  int slot_wait_timeout_s = 300;
  std::string rest_bind = "127.0.0.1";
  int rest_port = 8086;  // -1: no REST API / dashboard
  std::string rest_token;
  std::string auth_token;
  std::string connect_url = "http://localhost:8081";
  // > 0: a task manager with this many slots runs in this process (Flink's MiniCluster:
  // one process for small deployments and local runs), configured by `local_tm`.
  int local_slots = 0;
  TaskManagerFlags local_tm;
};

// POST /api/v1/jobs: builds the uploaded plugin's graph here, as `cdcflow run` does.
absl::StatusOr<std::string> SubmitUpload(jobmanager::JobManager* jm,
                                         const rest::SubmitRequest& upload,
                                         const std::string& plugin_dir) {
  auto args = JobArgs::Parse(upload.args);
  if (!args.ok()) return absl::InvalidArgumentError(args.status().message());
  const int parallelism = upload.parallelism > 0 ? upload.parallelism : 1;
  v1::SubmitJobRequest request;
  {
    auto plugin = plugin::JobPlugin::OpenBytes(upload.plugin_bytes, plugin_dir);
    if (!plugin.ok()) return absl::InvalidArgumentError(plugin.status().message());
    auto graph = (*plugin)->Build(*args, parallelism);
    if (!graph.ok()) return absl::InvalidArgumentError(graph.status().message());
    *request.mutable_job()->mutable_graph() = cluster::ToProto(graph->Spec());
  }
  request.mutable_job()->set_default_parallelism(parallelism);
  for (const std::string& a : args->ToStrings()) request.mutable_job()->add_args(a);
  request.mutable_job()->set_plugin_name(upload.plugin_filename);
  request.set_plugin(upload.plugin_bytes);
  auto chains = cluster::PlanChains(request.job().graph());
  if (!chains.ok()) return chains.status();
  std::vector<jobmanager::ChainInfo> infos;
  for (const auto& c : *chains) infos.push_back({c.id, c.name, c.parallelism, c.vertices});
  auto id = jm->SubmitJob(std::move(request), std::move(infos));
  if (!id.ok()) return id.status();
  return id->value();
}

int RunJobManager(const JobManagerFlags& f) {
  jobmanager::JobManagerServer::Config config;
  config.bind_address = f.bind;
  config.port = f.port;
  config.options.heartbeat_interval = absl::Milliseconds(f.heartbeat_interval_ms);
  config.options.heartbeat_timeout = absl::Milliseconds(f.heartbeat_timeout_ms);
  config.options.restart.max_restarts = f.restart_attempts;
  config.options.restart.delay = absl::Milliseconds(f.restart_delay_ms);
  config.options.restart.backoff_multiplier = f.restart_backoff;
  config.options.restart.max_delay = absl::Milliseconds(f.restart_max_delay_ms);
  config.options.checkpoint_dir = f.checkpoint_dir;
  config.options.checkpoint_interval = absl::Milliseconds(f.checkpoint_interval_ms);
  config.options.checkpoint_timeout = absl::Milliseconds(f.checkpoint_timeout_ms);
  config.options.retained_checkpoints = f.retained_checkpoints;
  if (f.restart_backoff < 1.0) {
    std::cerr << "cdcflow jobmanager: --restart-backoff-multiplier must be >= 1, got "
              << f.restart_backoff << "\n";
    return 2;
  }
  if (f.retained_checkpoints < 1) {
    std::cerr << "cdcflow jobmanager: --retained-checkpoints must be >= 1, got "
              << f.retained_checkpoints << "\n";
    return 2;
  }
  if (f.checkpoint_interval_ms > 0 && f.checkpoint_dir.empty()) {
    std::cerr << "cdcflow jobmanager: --checkpoint-interval-ms needs --checkpoint-dir\n";
    return 2;
  }
  config.options.slot_wait_timeout = absl::Seconds(f.slot_wait_timeout_s);
  config.auth_token = f.auth_token;
  config.planner = [](const v1::JobGraph& graph)
      -> absl::StatusOr<std::vector<jobmanager::ChainInfo>> {
    auto chains = cluster::PlanChains(graph);
    if (!chains.ok()) return chains.status();
    std::vector<jobmanager::ChainInfo> out;
    for (const auto& c : *chains) out.push_back({c.id, c.name, c.parallelism, c.vertices});
    return out;
  };
  if (f.heartbeat_timeout_ms <= f.heartbeat_interval_ms) {
    std::cerr << "cdcflow jobmanager: --heartbeat-timeout-ms (" << f.heartbeat_timeout_ms
              << ") must exceed --heartbeat-interval-ms (" << f.heartbeat_interval_ms << ")\n";
    return 2;
  }
  jobmanager::JobManagerServer* server_ptr = nullptr;
  absl::Notification stop;
  HandleTerminationSignals([&stop](int) { stop.Notify(); });
  auto server = jobmanager::JobManagerServer::Create(std::move(config));
  if (!server.ok()) {
    std::cerr << "cdcflow jobmanager: " << server.status().message() << "\n";
    return 1;
  }
  server_ptr = server->get();
  std::cout << "jobmanager listening on " << f.bind << ":" << server_ptr->port() << std::endl;
  std::unique_ptr<rest::JobManagerHttp> http;
  if (f.rest_port >= 0) {
    rest::RestConfig rest_config;
    rest_config.bind_address = f.rest_bind;
    rest_config.port = f.rest_port;
    rest_config.auth_token = f.rest_token.empty() ? f.auth_token : f.rest_token;
    rest_config.connect_url = f.connect_url;
    rest_config.version = CDCFLOW_VERSION;
    jobmanager::JobManager* jm = &server_ptr->job_manager();
    auto started = rest::StartJobManagerHttp(
        jm, rest_config, [jm](const rest::SubmitRequest& upload) {
          return SubmitUpload(jm, upload, "/tmp/cdcflow-jobmanager-plugins");
        });
    if (!started.ok()) {
      std::cerr << "cdcflow jobmanager: REST API: " << started.status().message() << "\n";
      return 1;
    }
    http = std::move(*started);
    std::cout << "jobmanager REST API and dashboard on http://" << f.rest_bind << ":"
              << http->server->port() << std::endl;
  }
  std::unique_ptr<taskmanager::TaskManagerServer> local_tm;
  if (f.local_slots > 0) {
    TaskManagerFlags tm = f.local_tm;
    tm.jobmanager = absl::StrCat(f.bind == "0.0.0.0" ? "127.0.0.1" : f.bind, ":", server_ptr->port());
    tm.slots = f.local_slots;
    tm.bind = f.bind;
    tm.port = 0;
    tm.metrics_port = -1;
    if (tm.id.empty()) tm.id = "local";
    auto started = taskmanager::TaskManagerServer::Create(ToTaskManagerConfig(tm));
    if (!started.ok()) {
      std::cerr << "cdcflow jobmanager: local task manager: " << started.status().message() << "\n";
      server_ptr->Shutdown();
      return started.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
    }
    local_tm = *std::move(started);
    std::cout << "taskmanager " << local_tm->task_manager().id() << " (" << f.local_slots
              << " slots) in this process, listening on " << f.bind << ":" << local_tm->port()
              << std::endl;
  }
  if (!f.port_file.empty()) {
    std::ofstream(f.port_file + ".tmp") << server_ptr->port() << "\n";
    std::rename((f.port_file + ".tmp").c_str(), f.port_file.c_str());
  }
  stop.WaitForNotification();
  std::cout << "jobmanager shutting down" << std::endl;
  if (local_tm != nullptr) local_tm->Shutdown();
  http.reset();
  server_ptr->Shutdown();
  return 0;
}

}  // namespace

void RegisterJobmanagerCommand(CLI::App& app, CommandContext& context) {
  auto* cmd = app.add_subcommand("jobmanager", "Run a job manager (accepts jobs, schedules them)");
  auto f = std::make_shared<JobManagerFlags>();
  AddFlag(cmd, "port", &f->port, "gRPC port (0: any free port)");
  AddFlag(cmd, "bind", &f->bind, "Address to listen on");
  AddFlag(cmd, "port-file", &f->port_file, "Write the bound port to this file once listening");
  AddFlag(cmd, "heartbeat-interval-ms", &f->heartbeat_interval_ms,
          "How often task managers send heartbeats");
  AddFlag(cmd, "heartbeat-timeout-ms", &f->heartbeat_timeout_ms,
          "A task manager silent this long is lost and its jobs restart");
  AddFlag(cmd, "restart-attempts", &f->restart_attempts,
          "Fixed-delay restart strategy: restarts before a job fails");
  AddFlag(cmd, "restart-delay-ms", &f->restart_delay_ms, "Delay before the first restart");
  AddFlag(cmd, "restart-backoff-multiplier", &f->restart_backoff,
          "Each restart waits this many times longer than the previous (1: fixed delay)");
  AddFlag(cmd, "restart-max-delay-ms", &f->restart_max_delay_ms,
          "Upper bound of the restart delay with backoff");
  AddFlag(cmd, "checkpoint-dir", &f->checkpoint_dir,
          "Keep submitted jobs and their checkpoints here (a local or shared directory); a "
          "restarted job manager recovers the running jobs from it");
  AddFlag(cmd, "checkpoint-interval-ms", &f->checkpoint_interval_ms,
          "Checkpoint interval of jobs submitted without --checkpoint-interval (0: none)");
  AddFlag(cmd, "checkpoint-timeout-ms", &f->checkpoint_timeout_ms,
          "A checkpoint not completed this long after its trigger is aborted");
  AddFlag(cmd, "retained-checkpoints", &f->retained_checkpoints,
          "Completed checkpoints kept per job");
  AddFlag(cmd, "slot-wait-timeout-s", &f->slot_wait_timeout_s,
          "A job waiting longer for free slots fails its attempt");
  auto config = std::make_shared<std::string>();
  AddFlag(cmd, "rest-bind", &f->rest_bind, "Address of the REST API and dashboard");
  AddFlag(cmd, "rest-port", &f->rest_port, "Port of the REST API and dashboard (-1: off)");
  AddFlag(cmd, "rest-token", &f->rest_token,
          "Bearer token required for REST submit/cancel/savepoint (default: --auth-token)");
  AddFlag(cmd, "auth-token", &f->auth_token,
          "Token required for submit/cancel/savepoint over gRPC (clients send "
          "CDCFLOW_AUTH_TOKEN) and REST (empty: none, with a warning)");
  AddFlag(cmd, "connect-url", &f->connect_url, "Kafka Connect REST URL shown by the dashboard");
  AddFlag(cmd, "local-slots", &f->local_slots,
          "Also run a task manager with this many slots in this process (0: none); the "
          "task flags below configure it")
      ->check(CLI::NonNegativeNumber);
  AddTaskResourceFlags(cmd, &f->local_tm);
  AddConfigOption(cmd, config.get());
  cmd->callback([&context, f, cmd, config] {
    if (!ApplyConfigFile(cmd, *config)) {
      context.exit_code = 2;
      return;
    }
    context.exit_code = RunJobManager(*f);
  });
}

}  // namespace cdcflow::cli
