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
#include "cli/task_manager_flags.h"
#include "taskmanager/task_manager_server.h"

namespace cdcflow::cli {
namespace {

int RunTaskManager(const TaskManagerFlags& f) {
  taskmanager::TaskManagerServer::Config config = ToTaskManagerConfig(f);
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
  AddTaskResourceFlags(cmd, f.get());
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
