// Serves the REST API and the dashboard over FakeCluster, for working on the dashboard
// and for the OpenAPI and browser tests before (or without) a real job manager:
//   build/release/bin/fake_cluster_server --port 8086 [--token T] [--fake-connect]
// Prints "listening on http://ADDR:PORT" once ready; runs until SIGTERM/SIGINT.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <thread>

#include "CLI/CLI.hpp"
#include "jobmanager/rest/rest_server.h"
#include "jobmanager/rest/testing/fake_cluster.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"REST API + dashboard over an in-memory fake cluster"};
  cdcflow::rest::RestConfig config;
  config.bind_address = "127.0.0.1";
  int tick_ms = 500;
  bool fake_connect = false;
  app.add_option("--bind", config.bind_address, "Address to listen on")->capture_default_str();
  app.add_option("--port", config.port, "Port (0 = any free port)")->capture_default_str();
  app.add_option("--token", config.auth_token, "Bearer token for submit/cancel/savepoint");
  app.add_option("--connect-url", config.connect_url, "Kafka Connect REST URL")
      ->capture_default_str();
  app.add_flag("--fake-connect", fake_connect, "Serve a fake Kafka Connect on loopback");
  app.add_option("--tick-ms", tick_ms, "Simulation step")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<cdcflow::rest::FakeConnectServer> connect;
  if (fake_connect) {
    auto started = cdcflow::rest::FakeConnectServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.status().ToString().c_str());
      return 1;
    }
    connect = *std::move(started);
    config.connect_url = connect->url();
  }
  cdcflow::metrics::MetricRegistry registry;
  cdcflow::rest::FakeCluster cluster(&registry, NowMs());
  config.version = "0.1.0-fake";
  auto server = cdcflow::rest::RestServer::Start(config, &cluster, &cluster, &registry);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::printf("listening on http://%s:%d\n", config.bind_address.c_str(), (*server)->port());
  std::fflush(stdout);
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(tick_ms));
    cluster.Tick(NowMs());
  }
  return 0;
}
