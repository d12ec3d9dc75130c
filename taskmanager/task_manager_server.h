#pragma once
// The task manager process: TaskManager behind its gRPC service (TaskManagerService:
// deploy, cancel, and the ExchangeBatches streams of the network exchange).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/metrics/metrics_http_server.h"
#include "runtime/task/task.h"
#include "taskmanager/job_manager_client.h"
#include "taskmanager/network_exchange.h"
#include "taskmanager/task_manager.h"

namespace grpc {
class Server;
}

namespace cdcflow::taskmanager {

class TaskManagerServer {
 public:
  struct Config {
    std::string job_manager_address = "localhost:6123";
    std::string bind_address = "127.0.0.1";
    int port = 6124;  // 0: any free port
    // The host ("host", given the bound port) or address ("host:port") other processes
    // reach this one at; bind_address:port when empty.
    std::string advertised_host;
    int slots = 1;
    std::string task_manager_id;  // random when empty
    std::string plugin_directory = "/tmp/cdcflow-plugins";
    std::string state_dir;  // keyed state in RocksDB under it; in memory when empty
    // State memory (task::TaskOptions): the write-back cache of each keyed subtask, and
    // RocksDB's block cache + memtables shared by the whole process.
    size_t state_cache_bytes = task::TaskOptions().state_cache_bytes;
    size_t state_memory_bytes = task::TaskOptions().state_memory_bytes;
    NetworkExchangeOptions exchange;
    // Prometheus /metrics (metrics::DefaultRegistry(): every task's series) on
    // metrics_bind:metrics_port; -1 = off, 0 = any free port. metrics_bind defaults to
    // bind_address. When the port cannot be bound the task manager runs without
    // /metrics and logs a warning.
    int metrics_port = -1;
    std::string metrics_bind;
  };

  // Listens, then starts registering with the job manager.
  static absl::StatusOr<std::unique_ptr<TaskManagerServer>> Create(Config config);
  ~TaskManagerServer();

  int port() const { return port_; }
  int metrics_port() const { return metrics_http_ ? metrics_http_->port() : -1; }
  TaskManager& task_manager() { return *task_manager_; }
  void Shutdown();

 private:
  class Service;
  TaskManagerServer() = default;

  std::unique_ptr<metrics::MetricsHttpServer> metrics_http_;
  ChannelPool pool_;
  std::unique_ptr<TaskManager> task_manager_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace cdcflow::taskmanager
