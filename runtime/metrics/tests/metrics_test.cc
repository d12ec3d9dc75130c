#include "runtime/metrics/metrics.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/metrics/standard_metrics.h"

namespace cdcflow::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricRegistryTest, SameNameAndLabelsGiveSameHandle) {
  MetricRegistry r;
  auto a = r.GetCounter("x_total", "help", {{"job", "j"}, {"vertex", "v"}});
  auto b = r.GetCounter("x_total", "help", {{"vertex", "v"}, {"job", "j"}});
  auto c = r.GetCounter("x_total", "help", {{"job", "k"}, {"vertex", "v"}});
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
}

TEST(MetricRegistryTest, RendersGoldenOutput) {
  MetricRegistry r;
  r.GetCounter("cdcflow_records_total", "Records seen.", {{"job", "j1"}, {"subtask", "0"}})
      ->Increment(42);
  r.GetCounter("cdcflow_records_total", "Records seen.", {{"job", "j1"}, {"subtask", "1"}})
      ->Increment();
  r.GetGauge("cdcflow_lag", "Lag.")->Set(-2.5);
  auto h = r.GetHistogram("cdcflow_latency_seconds", "Latency.", {{"job", "j1"}}, {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.1);  // le is inclusive
  h->Observe(0.5);
  h->Observe(7);
  const std::string expected =
      "# HELP cdcflow_lag Lag.\n"
      "# TYPE cdcflow_lag gauge\n"
      "cdcflow_lag -2.5\n"
      "# HELP cdcflow_latency_seconds Latency.\n"
      "# TYPE cdcflow_latency_seconds histogram\n"
      "cdcflow_latency_seconds_bucket{job=\"j1\",le=\"0.1\"} 2\n"
      "cdcflow_latency_seconds_bucket{job=\"j1\",le=\"1\"} 3\n"
      "cdcflow_latency_seconds_bucket{job=\"j1\",le=\"+Inf\"} 4\n"
      "cdcflow_latency_seconds_sum{job=\"j1\"} 7.65\n"
      "cdcflow_latency_seconds_count{job=\"j1\"} 4\n"
      "# HELP cdcflow_records_total Records seen.\n"
      "# TYPE cdcflow_records_total counter\n"
      "cdcflow_records_total{job=\"j1\",subtask=\"0\"} 42\n"
      "cdcflow_records_total{job=\"j1\",subtask=\"1\"} 1\n";
  EXPECT_EQ(r.RenderPrometheus(), expected);
}

TEST(MetricRegistryTest, EscapesLabelValuesAndHelp) {
  MetricRegistry r;
  r.GetGauge("g", "line one\nback\\slash \"quoted\"", {{"topic", "a\"b\\c\nd"}})->Set(1);
  std::string out = r.RenderPrometheus();
  EXPECT_THAT(out, HasSubstr("# HELP g line one\\nback\\\\slash \"quoted\"\n"));
  EXPECT_THAT(out, HasSubstr("g{topic=\"a\\\"b\\\\c\\nd\"} 1\n"));
  EXPECT_EQ(EscapeLabelValue("plain-topic.v1"), "plain-topic.v1");
  EXPECT_EQ(EscapeLabelValue("\\\"\n"), "\\\\\\\"\\n");
}

TEST(MetricRegistryTest, SpecialGaugeValues) {
  MetricRegistry r;
  auto g = r.GetGauge("g", "h");
  g->Set(1.0 / 0.0);
  EXPECT_THAT(r.RenderPrometheus(), HasSubstr("g +Inf\n"));
  g->Set(-1.0 / 0.0);
  EXPECT_THAT(r.RenderPrometheus(), HasSubstr("g -Inf\n"));
  g->Set(0.0 / 0.0);
  EXPECT_THAT(r.RenderPrometheus(), HasSubstr("g NaN\n"));
  g->Set(1e20);
  EXPECT_THAT(r.RenderPrometheus(), HasSubstr("g 1e+20\n"));
}

TEST(MetricRegistryTest, ScaledCounterExportsSeconds) {
  MetricRegistry r;
  auto c = r.GetCounter("busy_seconds_total", "h", {}, 1e-9);
  c->Increment(1'500'000'000);
  EXPECT_THAT(r.RenderPrometheus(), HasSubstr("busy_seconds_total 1.5\n"));
}

TEST(MetricRegistryTest, RemoveSeriesByLabelSubset) {
  MetricRegistry r;
  auto keep = r.GetCounter("c_total", "h", {{"job", "a"}, {"vertex", "v"}});
  auto gone = r.GetCounter("c_total", "h", {{"job", "b"}, {"vertex", "v"}});
  r.GetGauge("g", "h", {{"job", "b"}});
  EXPECT_EQ(r.RemoveSeries({{"job", "b"}}), 2u);
  gone->Increment();  // handle stays usable
  std::string out = r.RenderPrometheus();
  EXPECT_THAT(out, HasSubstr("job=\"a\""));
  EXPECT_THAT(out, Not(HasSubstr("job=\"b\"")));
  EXPECT_THAT(out, Not(HasSubstr("# TYPE g ")));
}

TEST(MetricRegistryTest, ConcurrentIncrementsAreNotLost) {
  MetricRegistry r;
  auto c = r.GetCounter("c_total", "h");
  auto h = r.GetHistogram("h_seconds", "h", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        c->Increment();
        h->Observe(0.5);
      }
    });
  }
  // Scrape while writers run: must not crash or tear.
  for (int i = 0; i < 20; ++i) r.RenderPrometheus();
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->Value(), 400000u);
  auto snap = h->Take();
  EXPECT_EQ(snap.count, 400000u);
  EXPECT_DOUBLE_EQ(snap.sum, 200000.0);
}

TEST(MetricRegistryTest, CollectGivesStructuredSnapshot) {
  MetricRegistry r;
  r.GetCounter("b_total", "h", {{"z", "1"}, {"a", "2"}})->Increment(3);
  auto fams = r.Collect();
  ASSERT_EQ(fams.size(), 1u);
  EXPECT_EQ(fams[0].type, MetricType::kCounter);
  ASSERT_EQ(fams[0].samples.size(), 1u);
  EXPECT_EQ(fams[0].samples[0].counter, 3u);
  ASSERT_EQ(fams[0].samples[0].labels.size(), 2u);
  EXPECT_EQ(fams[0].samples[0].labels[0].first, "a");  // sorted by name
}

TEST(MetricRegistryDeathTest, MisuseAborts) {
  MetricRegistry r;
  r.GetCounter("c_total", "h");
  EXPECT_DEATH(r.GetGauge("c_total", "h"), "another type");
  EXPECT_DEATH(r.GetCounter("bad-name", "h"), "invalid metric name");
  EXPECT_DEATH(r.GetCounter("ok", "h", {{"le", "x"}}), "invalid label name");
  EXPECT_DEATH(r.GetHistogram("hh", "h", {}, {2, 1}), "strictly increasing");
}

TEST(StandardMetricsTest, SubtaskMetricsUseDocumentedNamesAndLabels) {
  MetricRegistry r;
  auto m = SubtaskMetrics::Create(r, "job-1", "join", 3);
  m.records_in->Increment(10);
  m.busy_ns->Increment(250'000'000);
  KafkaLagGauge(r, "job-1", "orders", 0, "pg.public.orders", 2)->Set(17);
  std::string out = r.RenderPrometheus();
  EXPECT_THAT(out, HasSubstr(
                       "cdcflow_task_records_in_total{job=\"job-1\",subtask=\"3\",vertex=\"join\"} "
                       "10\n"));
  EXPECT_THAT(out, HasSubstr("cdcflow_task_busy_seconds_total{job=\"job-1\",subtask=\"3\","
                             "vertex=\"join\"} 0.25\n"));
  EXPECT_THAT(out, HasSubstr("cdcflow_kafka_source_lag_records{job=\"job-1\",partition=\"2\","
                             "subtask=\"0\",topic=\"pg.public.orders\",vertex=\"orders\"} 17\n"));
  EXPECT_EQ(r.RemoveSeries({{"job", "job-1"}}), 11u);
}

}  // namespace
}  // namespace cdcflow::metrics
