#include "runtime/api/registry_metric_group.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "cdcflow/operator.h"

namespace cdcflow {

MetricCounter::~MetricCounter() = default;
MetricGauge::~MetricGauge() = default;
MetricHistogram::~MetricHistogram() = default;
MetricGroup::~MetricGroup() = default;

MetricGroup& UnexportedMetricGroup() {
  static auto* registry = new metrics::MetricRegistry();
  static auto* group = new api::RegistryMetricGroup(registry, {});
  return *group;
}

MetricGroup& RuntimeContext::metrics() { return UnexportedMetricGroup(); }

namespace api {
namespace {

class CounterHandle final : public MetricCounter {
 public:
  explicit CounterHandle(std::shared_ptr<metrics::Counter> c) : c_(std::move(c)) {}
  void Increment(uint64_t n) override { c_->Increment(n); }
  uint64_t Value() const override { return c_->Value(); }

 private:
  std::shared_ptr<metrics::Counter> c_;
};

class GaugeHandle final : public MetricGauge {
 public:
  explicit GaugeHandle(std::shared_ptr<metrics::Gauge> g) : g_(std::move(g)) {}
  void Set(double value) override { g_->Set(value); }
  double Value() const override { return g_->Value(); }

 private:
  std::shared_ptr<metrics::Gauge> g_;
};

class HistogramHandle final : public MetricHistogram {
 public:
  explicit HistogramHandle(std::shared_ptr<metrics::Histogram> h) : h_(std::move(h)) {}
  void Observe(double value) override { h_->Observe(value); }
  uint64_t Count() const override { return h_->Take().count; }
  double Sum() const override { return h_->Take().sum; }

 private:
  std::shared_ptr<metrics::Histogram> h_;
};

}  // namespace

absl::StatusOr<metrics::Labels> RegistryMetricGroup::AllLabels(
    std::string_view name, metrics::MetricType type, const MetricLabels& labels,
    const std::vector<double>* bounds) const {
  metrics::Labels all = base_;
  for (const auto& [k, v] : labels) {
    for (const auto& [base_name, base_value] : base_) {
      if (k == base_name) {
        return absl::InvalidArgumentError(absl::StrCat(
            "metric ", std::string(name), ": label '", k, "' is set by the runtime"));
      }
    }
    all.emplace_back(k, v);
  }
  std::string why = registry_->CheckRegistration(name, type, all, bounds);
  if (!why.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("metric ", std::string(name), ": ", why));
  }
  std::sort(all.begin(), all.end());
  return all;
}

absl::StatusOr<MetricCounter*> RegistryMetricGroup::Counter(std::string_view name,
                                                            std::string_view help,
                                                            const MetricLabels& labels) {
  auto all = AllLabels(name, metrics::MetricType::kCounter, labels);
  if (!all.ok()) return all.status();
  std::lock_guard lock(mu_);
  auto& slot = counters_[{std::string(name), *all}];
  if (!slot) slot = std::make_unique<CounterHandle>(registry_->GetCounter(name, help, *all));
  return slot.get();
}

absl::StatusOr<MetricGauge*> RegistryMetricGroup::Gauge(std::string_view name,
                                                        std::string_view help,
                                                        const MetricLabels& labels) {
  auto all = AllLabels(name, metrics::MetricType::kGauge, labels);
  if (!all.ok()) return all.status();
  std::lock_guard lock(mu_);
  auto& slot = gauges_[{std::string(name), *all}];
  if (!slot) slot = std::make_unique<GaugeHandle>(registry_->GetGauge(name, help, *all));
  return slot.get();
}

absl::StatusOr<MetricHistogram*> RegistryMetricGroup::Histogram(
    std::string_view name, std::string_view help, const MetricLabels& labels,
    const std::vector<double>& bounds) {
  const std::vector<double>& b = bounds.empty() ? metrics::DefaultLatencyBuckets() : bounds;
  auto all = AllLabels(name, metrics::MetricType::kHistogram, labels, &b);
  if (!all.ok()) return all.status();
  std::lock_guard lock(mu_);
  auto& slot = histograms_[{std::string(name), *all}];
  if (!slot) {
    slot = std::make_unique<HistogramHandle>(registry_->GetHistogram(name, help, *all, b));
  }
  return slot.get();
}

}  // namespace api
}  // namespace cdcflow
