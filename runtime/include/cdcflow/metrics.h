#pragma once
// Metrics for job code: counters, gauges and histograms that operators, sources and sinks register
// through RuntimeContext::metrics(). The runtime exports them with every other metric
// of the process (Prometheus text format at the task manager's /metrics), labelled with
// the job, vertex and subtask they belong to plus the labels given here.
//
//   absl::Status Open(RuntimeContext& ctx) override {
//     auto failed = ctx.metrics().Counter("myjob_lookups_failed_total", "Failed lookups.");
//     if (!failed.ok()) return failed.status();
//     failed_ = *failed;
//     ...
//   }
//   ... failed_->Increment(n);   // once per batch, not per row, on hot paths
//
// Names follow Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in `_total`, units in
// the name (`_seconds`, `_bytes`, `_records`). Label names [a-zA-Z_][a-zA-Z0-9_]*; `job`,
// `vertex` and `subtask` are the runtime's own.
//
// Handles are owned by the group, valid until the operator's Close returns; the same
// name and labels give the same handle. Increment/Set are thread-safe and cost one
// relaxed atomic operation plus a virtual call.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "cdcflow/export.h"

namespace cdcflow {

// Label name/value pairs added to the runtime's job/vertex/subtask labels.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count.
class CDCFLOW_API MetricCounter {
 public:
  virtual ~MetricCounter();
  virtual void Increment(uint64_t n = 1) = 0;
  virtual uint64_t Value() const = 0;
};

// A value that goes up and down (lag, queue length, an offset).
class CDCFLOW_API MetricGauge {
 public:
  virtual ~MetricGauge();
  virtual void Set(double value) = 0;
  virtual double Value() const = 0;
};

// A distribution over fixed buckets, exported as a Prometheus histogram (`_bucket`,
// `_sum`, `_count`). By convention latencies in seconds (name ending in `_seconds`).
class CDCFLOW_API MetricHistogram {
 public:
  virtual ~MetricHistogram();
  virtual void Observe(double value) = 0;
  virtual uint64_t Count() const = 0;
  virtual double Sum() const = 0;
};

class CDCFLOW_API MetricGroup {
 public:
  virtual ~MetricGroup();
  // kInvalidArgument for a malformed metric or label name, a reserved label, or a name
  // already registered in this process with another type.
  virtual absl::StatusOr<MetricCounter*> Counter(std::string_view name, std::string_view help,
                                                 const MetricLabels& labels = {}) = 0;
  virtual absl::StatusOr<MetricGauge*> Gauge(std::string_view name, std::string_view help,
                                             const MetricLabels& labels = {}) = 0;
  // `bounds`: strictly increasing, finite bucket upper bounds (+Inf is implicit); empty
  // means the runtime's latency buckets, 100 us .. 60 s. kInvalidArgument otherwise, or
  // when the name was registered before with other bounds.
  virtual absl::StatusOr<MetricHistogram*> Histogram(std::string_view name,
                                                     std::string_view help,
                                                     const MetricLabels& labels = {},
                                                     const std::vector<double>& bounds = {}) = 0;
};

// A group whose handles count locally and export nothing (the default of contexts
// without a metric registry, e.g. in unit tests). Thread-safe; lives forever.
CDCFLOW_API MetricGroup& UnexportedMetricGroup();

}  // namespace cdcflow
