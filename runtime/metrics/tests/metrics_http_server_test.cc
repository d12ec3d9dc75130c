#include "runtime/metrics/metrics_http_server.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace cdcflow::metrics {
namespace {

TEST(MetricsHttpServerTest, ServesRegistryOnLoopback) {
  MetricRegistry registry;
  registry.GetCounter("served_total", "h", {{"job", "j"}})->Increment(5);
  auto server = MetricsHttpServer::Start(registry, "127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), std::string(kPrometheusContentType));
  EXPECT_THAT(res->body, ::testing::HasSubstr("served_total{job=\"j\"} 5\n"));

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(client.Get("/nope")->status, 404);
}

TEST(MetricsHttpServerTest, BusyPortIsUnavailable) {
  MetricRegistry registry;
  auto first = MetricsHttpServer::Start(registry, "127.0.0.1", 0);
  ASSERT_TRUE(first.ok());
  auto second = MetricsHttpServer::Start(registry, "127.0.0.1", (*first)->port());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST(MetricsHttpServerTest, ImmediateShutdownDoesNotHang) {
  MetricRegistry registry;
  for (int i = 0; i < 5; ++i) {
    auto server = MetricsHttpServer::Start(registry, "127.0.0.1", 0);
    ASSERT_TRUE(server.ok());
  }
}

}  // namespace
}  // namespace cdcflow::metrics
