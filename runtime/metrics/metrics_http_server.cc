#include "runtime/metrics/metrics_http_server.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace cdcflow::metrics {

void SetListenerSocketOptions(httplib::Server& server) {
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<void*>(&yes), sizeof(yes));
  });
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    MetricRegistry& registry, const std::string& bind_address, int port) {
  std::unique_ptr<MetricsHttpServer> self(new MetricsHttpServer());
  self->server_ = std::make_unique<httplib::Server>();
  SetListenerSocketOptions(*self->server_);
  MetricRegistry* reg = &registry;
  self->server_->Get("/metrics", [reg](const httplib::Request&, httplib::Response& res) {
    res.set_content(reg->RenderPrometheus(), std::string(kPrometheusContentType).c_str());
  });
  self->server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  int bound = port == 0 ? self->server_->bind_to_any_port(bind_address)
                        : (self->server_->bind_to_port(bind_address, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat("metrics server: cannot bind ", bind_address, ":", port));
  }
  self->port_ = bound;
  httplib::Server* server = self->server_.get();
  auto returned = std::make_shared<std::atomic<bool>>(false);
  self->thread_ = std::thread([server, returned] {
    server->listen_after_bind();
    returned->store(true);
  });
  // Bound sockets already queue connections; wait for the accept loop so that a
  // destructor running right away finds a server that stop() can end.
  while (!server->is_running() && !returned->load()) std::this_thread::yield();
  return self;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cdcflow::metrics
