// `cdcflow taskmanager`: runs a task manager process until SIGINT/SIGTERM.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "cli/cluster_commands.h"
#include "cli/cluster_flags.h"
#include "cli/signals.h"
#include "taskmanager/task_manager_server.h"

namespace cdcflow::cli {
namespace {

struct TaskManagerFlags {
  std::string jobmanager;
  int slots = 1;
  int port = 6124;
  std::string bind = "127.0.0.1";
  std::string host;
  std::string id;
  std::string port_file;
  std::string plugin_dir = "/tmp/cdcflow-plugins";
  std::string state_dir;
  int credits = 4;
  int64_t state_cache_mb = task::TaskOptions().state_cache_bytes >> 20;
  int64_t state_memory_mb = task::TaskOptions().state_memory_bytes >> 20;
  int metrics_port = 9249;  // -1: off
  std::string metrics_bind;  // default: --bind
  std::string metrics_port_file;
};

int RunTaskManager(const TaskManagerFlags& f) {
  taskmanager::TaskManagerServer::Config config;
  config.job_manager_address = f.jobmanager;
  config.slots = f.slots;
  config.port = f.port;
  config.bind_address = f.bind;
  config.advertised_host = f.host;
  config.task_manager_id = f.id;
  config.plugin_directory = f.plugin_dir;
  config.state_dir = f.state_dir;
  config.state_cache_bytes = static_cast<size_t>(f.state_cache_mb) << 20;
  config.state_memory_bytes = static_cast<size_t>(f.state_memory_mb) << 20;
  config.exchange.credits_per_channel = f.credits;
  config.metrics_port = f.metrics_port;
  config.metrics_bind = f.metrics_bind;
  absl::Notification stop;
  HandleTerminationSignals([&stop](int) { stop.Notify(); });
  auto server = taskmanager::TaskManagerServer::Create(std::move(config));
  if (!server.ok()) {
    std::cerr << "cdcflow taskmanager: " << server.status().message() << "\n";
    return server.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::cout << "taskmanager " << (*server)->task_manager().id() << " listening on " << f.bind
            << ":" << (*server)->port() << std::endl;
  if ((*server)->metrics_port() >= 0) {
    std::cout << "taskmanager metrics on http://"
              << (f.metrics_bind.empty() ? f.bind : f.metrics_bind) << ":"
              << (*server)->metrics_port() << "/metrics" << std::endl;
  }
  if (!f.metrics_port_file.empty() && (*server)->metrics_port() >= 0) {
    std::ofstream(f.metrics_port_file + ".tmp") << (*server)->metrics_port() << "\n";
    std::rename((f.metrics_port_file + ".tmp").c_str(), f.metrics_port_file.c_str());
  }
  if (!f.port_file.empty()) {
    std::ofstream(f.port_file + ".tmp") << (*server)->port() << "\n";
    std::rename((f.port_file + ".tmp").c_str(), f.port_file.c_str());
  }
  stop.WaitForNotification();
  std::cout << "taskmanager shutting down" << std::endl;
  (*server)->Shutdown();
  return 0;
}

}  // namespace

void RegisterTaskmanagerCommand(CLI::App& app, CommandContext& context) {
  auto* cmd = app.add_subcommand("taskmanager", "Run a task manager (offers slots, runs tasks)");
  auto f = std::make_shared<TaskManagerFlags>();
  AddJobManagerOption(cmd, &f->jobmanager);
  AddFlag(cmd, "slots", &f->slots, "Task slots offered to the job manager");
  AddFlag(cmd, "port", &f->port, "gRPC port for deployments and data exchange (0: any free)");
  AddFlag(cmd, "bind", &f->bind, "Address to listen on");
  AddFlag(cmd, "advertised-address", &f->host,
          "HOST or HOST:PORT other processes reach this one at (default: --bind and the port)");
  AddFlag(cmd, "id", &f->id, "Task manager id (default: random)");
  AddFlag(cmd, "port-file", &f->port_file, "Write the bound port to this file once listening");
  AddFlag(cmd, "plugin-dir", &f->plugin_dir, "Directory for received job plugins");
  AddFlag(cmd, "state-dir", &f->state_dir,
          "Keep keyed state in RocksDB under this directory (default: in memory)");
  AddFlag(cmd, "state-cache-mb", &f->state_cache_mb,
          "Write-back cache of decoded keyed state, per keyed subtask (MiB; 0: write through)")
      ->check(CLI::NonNegativeNumber);
  AddFlag(cmd, "state-memory-mb", &f->state_memory_mb,
          "RocksDB block cache + memtables shared by every keyed subtask of this process (MiB)")
      ->check(CLI::PositiveNumber);
  AddFlag(cmd, "exchange-credits", &f->credits,
          "Batches in flight per remote channel (credit-based flow control)");
  AddFlag(cmd, "metrics-port", &f->metrics_port,
          "Port of the Prometheus /metrics endpoint (0: any free, -1: off)");
  AddFlag(cmd, "metrics-bind", &f->metrics_bind,
          "Address of the /metrics endpoint (default: --bind)");
  AddFlag(cmd, "metrics-port-file", &f->metrics_port_file,
          "Write the bound metrics port to this file once listening");
  auto config = std::make_shared<std::string>();
  AddConfigOption(cmd, config.get());
  cmd->callback([&context, f, cmd, config] {
    if (!ApplyConfigFile(cmd, *config)) {
      context.exit_code = 2;
      return;
    }
    context.exit_code = RunTaskManager(*f);
  });
}

}  // namespace cdcflow::cli
