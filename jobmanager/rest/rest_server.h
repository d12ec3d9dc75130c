#pragma once
// The job manager's HTTP endpoint (default 0.0.0.0:8086): the JSON REST API described
// by openapi.yaml beside this file, the embedded dashboard, /metrics and /healthz.
//
// The server reads cluster state through ClusterView and acts through ClusterControl
// (cluster_view.h); both must outlive the server. Requests are served on httplib's
// worker threads until the RestServer is destroyed.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "jobmanager/rest/cluster_view.h"
#include "runtime/metrics/metrics.h"

namespace httplib {
class Server;
}

namespace cdcflow::rest {

struct RestConfig {
  // Address to listen on. Loopback by default (secure without a token); "0.0.0.0"
  // exposes the API and dashboard to the network.
  std::string bind_address = "127.0.0.1";
  int port = 8086;  // 0 picks a free port (tests)
  // When set, POST /api/v1/jobs, /cancel and /savepoints need
  // "Authorization: Bearer <token>" (401 otherwise). Reads stay open. When empty the
  // server logs a warning at start: anyone who reaches the port can submit code.
  std::string auth_token;
  // Kafka Connect REST API proxied by GET /api/v1/pipeline.
  std::string connect_url = "http://localhost:8081";
  int connect_timeout_ms = 2000;
  // Largest accepted request body (plugin uploads).
  size_t max_upload_bytes = 256u << 20;
  std::string version = "dev";
};

class RestServer {
 public:
  // Binds and starts serving. kUnavailable when the address cannot be bound.
  // `registry` is rendered at /metrics; the server also records its request counts in it.
  static absl::StatusOr<std::unique_ptr<RestServer>> Start(const RestConfig& config,
                                                           ClusterView* view,
                                                           ClusterControl* control,
                                                           metrics::MetricRegistry* registry);
  ~RestServer();
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  int port() const { return port_; }

 private:
  class Impl;
  RestServer() = default;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace cdcflow::rest
