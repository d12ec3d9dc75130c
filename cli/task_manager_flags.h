#pragma once
// The flags of a task manager, shared by `cdcflow taskmanager` and the task manager a
// job manager runs in its own process (`cdcflow jobmanager --local-slots N`).

#include <cstdint>
#include <string>

#include "CLI/CLI.hpp"
#include "runtime/task/task.h"
#include "taskmanager/task_manager_server.h"

namespace cdcflow::cli {

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

// Adds the flags of where and how tasks keep their plugins, state and exchange:
// --plugin-dir, --state-dir, --state-cache-mb, --state-memory-mb, --exchange-credits.
void AddTaskResourceFlags(CLI::App* cmd, TaskManagerFlags* f);

taskmanager::TaskManagerServer::Config ToTaskManagerConfig(const TaskManagerFlags& f);

}  // namespace cdcflow::cli
