#pragma once
// The job manager process: JobManager behind its gRPC service (JobManagerService) plus
// the timer thread that drives heartbeat timeouts and restarts.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "jobmanager/job_manager.h"
#include "proto/common.pb.h"

namespace grpc {
class Server;
}

namespace cdcflow::jobmanager {

// Turns a submitted job graph into the chains the scheduler places (the runtime's
// execution plan); INVALID_ARGUMENT for a graph that does not validate.
using Planner = std::function<absl::StatusOr<std::vector<ChainInfo>>(const v1::JobGraph&)>;

class JobManagerServer {
 public:
  struct Config {
    std::string bind_address = "127.0.0.1";
    int port = 6123;  // 0: any free port (see port())
    JobManager::Options options;
    Planner planner;
    absl::Duration tick_interval = absl::Milliseconds(100);
    // When set, SubmitJob and CancelJob need "authorization: Bearer <token>" metadata
    // (UNAUTHENTICATED otherwise); when empty a warning is logged at start.
    std::string auth_token;
    // Clients for task managers; gRPC when null.
    std::unique_ptr<TaskManagerClientFactory> clients;
  };

  // Starts serving; UNAVAILABLE when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<JobManagerServer>> Create(Config config);
  ~JobManagerServer();

  int port() const { return port_; }
  JobManager& job_manager() { return *job_manager_; }
  // Stops the service and the timer; idempotent.
  void Shutdown();
  // Blocks until Shutdown().
  void Wait();

 private:
  class Service;
  JobManagerServer() = default;

  std::unique_ptr<JobManager> job_manager_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Notification stop_;
  std::thread ticker_;
};

}  // namespace cdcflow::jobmanager
