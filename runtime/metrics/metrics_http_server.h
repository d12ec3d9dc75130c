#pragma once
// Serves a MetricRegistry over HTTP: GET /metrics (Prometheus text format 0.0.4) and
// GET /healthz. For processes without the REST server (the task manager):
//
//   CDCFLOW_ASSIGN_OR_RETURN(auto server,
//       metrics::MetricsHttpServer::Start(metrics::DefaultRegistry(), "0.0.0.0", 9249));
//
// The server answers on its own thread until the object is destroyed.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "runtime/metrics/metrics.h"

namespace httplib {
class Server;
}

namespace cdcflow::metrics {

// Default port of a task manager's metrics endpoint.
inline constexpr int kDefaultTaskManagerMetricsPort = 9249;

// Socket options for every cdcflow HTTP listener: SO_REUSEADDR (fast restarts) but not
// httplib's default SO_REUSEPORT, which would let a second process silently share a
// port that is already in use.
void SetListenerSocketOptions(httplib::Server& server);

class MetricsHttpServer {
 public:
  // Binds `bind_address:port` (port 0 picks a free port) and starts serving.
  // kUnavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(MetricRegistry& registry,
                                                                 const std::string& bind_address,
                                                                 int port);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsHttpServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace cdcflow::metrics
