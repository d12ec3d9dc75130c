#pragma once
// The runtime's MetricGroup (SDK cdcflow/metrics.h): handles over a metrics::MetricRegistry,
// every series labelled with the group's base labels (job, vertex, subtask) plus the
// caller's. Names and labels from job code are checked first, so a bad one is an error
// for the job, never an abort of the process.
//
// Thread-safe. Handles live as long as the group; the registry must outlive it.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdcflow/metrics.h"
#include "runtime/metrics/metrics.h"

namespace cdcflow::api {

class RegistryMetricGroup final : public MetricGroup {
 public:
  RegistryMetricGroup(metrics::MetricRegistry* registry, metrics::Labels base_labels)
      : registry_(registry), base_(std::move(base_labels)) {}

  absl::StatusOr<MetricCounter*> Counter(std::string_view name, std::string_view help,
                                         const MetricLabels& labels = {}) override;
  absl::StatusOr<MetricGauge*> Gauge(std::string_view name, std::string_view help,
                                     const MetricLabels& labels = {}) override;
  absl::StatusOr<MetricHistogram*> Histogram(std::string_view name, std::string_view help,
                                             const MetricLabels& labels = {},
                                             const std::vector<double>& bounds = {}) override;

 private:
  absl::StatusOr<metrics::Labels> AllLabels(std::string_view name, metrics::MetricType type,
                                            const MetricLabels& labels,
                                            const std::vector<double>* bounds = nullptr) const;

  metrics::MetricRegistry* registry_;
  const metrics::Labels base_;
  std::mutex mu_;
  std::map<std::pair<std::string, metrics::Labels>, std::unique_ptr<MetricCounter>> counters_;
  std::map<std::pair<std::string, metrics::Labels>, std::unique_ptr<MetricGauge>> gauges_;
  std::map<std::pair<std::string, metrics::Labels>, std::unique_ptr<MetricHistogram>> histograms_;
};

}  // namespace cdcflow::api
