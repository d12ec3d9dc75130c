#include "cli/task_manager_flags.h"

#include "cli/cluster_flags.h"

namespace cdcflow::cli {

void AddTaskResourceFlags(CLI::App* cmd, TaskManagerFlags* f) {
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
}

taskmanager::TaskManagerServer::Config ToTaskManagerConfig(const TaskManagerFlags& f) {
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
  return config;
}

}  // namespace cdcflow::cli
