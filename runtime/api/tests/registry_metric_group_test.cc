#include "runtime/api/registry_metric_group.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cdcflow::api {
namespace {

using ::testing::HasSubstr;

class RegistryMetricGroupTest : public ::testing::Test {
 protected:
  metrics::MetricRegistry registry_;
  RegistryMetricGroup group_{&registry_, {{"job", "j1"}, {"vertex", "src"}, {"subtask", "2"}}};
};

TEST_F(RegistryMetricGroupTest, CounterCarriesRuntimeAndOwnLabels) {
  auto c = group_.Counter("my_lookups_total", "Lookups.", {{"table", "orders"}});
  ASSERT_TRUE(c.ok()) << c.status();
  (*c)->Increment(3);
  (*c)->Increment();
  EXPECT_EQ((*c)->Value(), 4u);
  EXPECT_THAT(registry_.RenderPrometheus(),
              HasSubstr("my_lookups_total{job=\"j1\",subtask=\"2\",table=\"orders\","
                        "vertex=\"src\"} 4"));
}

TEST_F(RegistryMetricGroupTest, SameNameAndLabelsGiveTheSameHandle) {
  auto a = group_.Gauge("my_lag_records", "Lag.", {{"partition", "0"}});
  auto b = group_.Gauge("my_lag_records", "Lag.", {{"partition", "0"}});
  auto c = group_.Gauge("my_lag_records", "Lag.", {{"partition", "1"}});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  (*a)->Set(42);
  EXPECT_EQ((*b)->Value(), 42);
  EXPECT_THAT(registry_.RenderPrometheus(),
              HasSubstr("partition=\"0\",subtask=\"2\",vertex=\"src\"} 42"));
}

TEST_F(RegistryMetricGroupTest, BadNamesAreErrorsNotAborts) {
  auto bad_name = group_.Counter("9starts_with_digit", "x");
  EXPECT_EQ(bad_name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_name.status().message(), HasSubstr("invalid metric name"));
  auto bad_label = group_.Counter("ok_total", "x", {{"bad-label", "v"}});
  EXPECT_THAT(bad_label.status().message(), HasSubstr("invalid label name"));
  auto reserved = group_.Counter("ok_total", "x", {{"subtask", "7"}});
  EXPECT_THAT(reserved.status().message(), HasSubstr("set by the runtime"));
  auto twice = group_.Counter("ok_total", "x", {{"a", "1"}, {"a", "2"}});
  EXPECT_THAT(twice.status().message(), HasSubstr("given twice"));
  ASSERT_TRUE(group_.Gauge("shared_name", "x").ok());
  auto other_type = group_.Counter("shared_name", "x");
  EXPECT_THAT(other_type.status().message(), HasSubstr("another type"));
  // The runtime's nanosecond counters are not for job code.
  registry_.GetCounter("cdcflow_task_busy_seconds_total", "x", {}, 1e-9);
  EXPECT_FALSE(group_.Counter("cdcflow_task_busy_seconds_total", "x").ok());
}

TEST_F(RegistryMetricGroupTest, HistogramExportsBucketsSumAndCount) {
  auto h = group_.Histogram("my_call_seconds", "Call latency.", {{"sink", "es"}});
  ASSERT_TRUE(h.ok()) << h.status();
  (*h)->Observe(0.002);
  (*h)->Observe(0.2);
  EXPECT_EQ((*h)->Count(), 2u);
  EXPECT_DOUBLE_EQ((*h)->Sum(), 0.202);
  const std::string text = registry_.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("# TYPE my_call_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("my_call_seconds_count{job=\"j1\",sink=\"es\",subtask=\"2\","
                              "vertex=\"src\"} 2"));
  EXPECT_THAT(text, HasSubstr("le=\"+Inf\""));
  auto same = group_.Histogram("my_call_seconds", "Call latency.", {{"sink", "es"}});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, *h);
}

TEST_F(RegistryMetricGroupTest, BadHistogramBoundsAreErrorsNotAborts) {
  auto decreasing = group_.Histogram("h1_seconds", "x", {}, {1, 0.5});
  EXPECT_EQ(decreasing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(decreasing.status().message(), HasSubstr("strictly increasing"));
  ASSERT_TRUE(group_.Histogram("h2_seconds", "x", {}, {1, 2}).ok());
  auto other_bounds = group_.Histogram("h2_seconds", "x", {{"a", "b"}}, {1, 3});
  EXPECT_THAT(other_bounds.status().message(), HasSubstr("other bounds"));
}

TEST(UnexportedMetricGroupTest, CountsWithoutExporting) {
  auto c = UnexportedMetricGroup().Counter("unexported_total", "x");
  ASSERT_TRUE(c.ok());
  (*c)->Increment(5);
  EXPECT_EQ((*c)->Value(), 5u);
  EXPECT_FALSE(UnexportedMetricGroup().Counter("bad name", "x").ok());
}

}  // namespace
}  // namespace cdcflow::api
