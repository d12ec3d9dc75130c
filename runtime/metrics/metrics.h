#pragma once
// Process-local metrics: counters, gauges and latency histograms with labels, rendered
// in the Prometheus text exposition format 0.0.4.
//
// Hot paths hold a handle (std::shared_ptr<Counter> etc., obtained once when a task
// starts) and update it with one relaxed atomic operation: no map lookup, no lock,
// no allocation per record. Batch-oriented callers should add a batch's count once
// (`records_in->Increment(batch.size())`) rather than once per record.
//
// Thread-safety: every method of MetricRegistry, Counter, Gauge and Histogram may be
// called from any thread. Handles stay valid after their series is removed from the
// registry (the handle then simply stops being exported).

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdcflow::metrics {

// Label name/value pairs. Order does not matter: series are keyed by the sorted set.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

// A monotonically increasing count (records, bytes, seconds of busy time ...).
class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  // Own cache line: two subtask threads updating neighbouring counters must not
  // bounce a shared line.
  alignas(64) std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (lag, watermark, queue length).
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<double> value_{0};
};

// A distribution of observations (latencies in seconds by convention) over fixed
// upper bounds. Observe() costs a short bucket search plus three relaxed atomics.
class Histogram {
 public:
  // `bounds` must be strictly increasing and finite; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Take() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (the +Inf bucket)
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Buckets for latencies in seconds: 100 µs .. 60 s.
const std::vector<double>& DefaultLatencyBuckets();

// One exported series at collection time.
struct Sample {
  Labels labels;  // sorted by name
  double value = 0;                   // gauge (and counter, rounded)
  uint64_t counter = 0;               // counter, exact
  Histogram::Snapshot histogram;      // histogram only
};

struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  double export_scale = 1.0;  // counters: exported value = counter * export_scale
  std::vector<Sample> samples;  // sorted by labels
};

// Owns metric families. Get* is idempotent: the same name and labels give the same
// handle. Asking for an existing name with another type, invalid metric or label
// names, or a histogram with other bounds is a programmer error and aborts.
class MetricRegistry {
 public:
  MetricRegistry() = default;
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  // `export_scale` multiplies the raw count when exported, so a hot path can count
  // integer nanoseconds into a `_seconds_total` counter (export_scale = 1e-9).
  std::shared_ptr<Counter> GetCounter(std::string_view name, std::string_view help,
                                      Labels labels = {}, double export_scale = 1.0);
  std::shared_ptr<Gauge> GetGauge(std::string_view name, std::string_view help,
                                  Labels labels = {});
  std::shared_ptr<Histogram> GetHistogram(std::string_view name, std::string_view help,
                                          Labels labels = {},
                                          const std::vector<double>& bounds =
                                              DefaultLatencyBuckets());

  // For names and labels that come from job code (which must not abort the process):
  // empty when Get* with them and `type` (counters: export_scale 1; histograms:
  // `bounds`, which must be strictly increasing and finite) would succeed, otherwise why not.
  std::string CheckRegistration(std::string_view name, MetricType type, const Labels& labels,
                                const std::vector<double>* bounds = nullptr) const;

  // Stops exporting every series whose labels contain all of `match` (e.g.
  // {{"job", id}} when a job ends). Returns how many series were removed.
  // With `name_prefix`, only families whose name starts with it are touched.
  size_t RemoveSeries(const Labels& match, std::string_view name_prefix = {});

  std::vector<FamilySnapshot> Collect() const;

  // Prometheus text exposition format 0.0.4 (Content-Type: kPrometheusContentType).
  std::string RenderPrometheus() const;

 private:
  struct Series {
    std::shared_ptr<Counter> counter;
    std::shared_ptr<Gauge> gauge;
    std::shared_ptr<Histogram> histogram;
  };
  struct Family {
    std::string help;
    MetricType type;
    double export_scale = 1.0;
    std::vector<double> bounds;
    std::map<Labels, Series> series;
  };
  Series& FindOrAdd(std::string_view name, std::string_view help, MetricType type,
                    Labels labels, const std::vector<double>* bounds,
                    double export_scale = 1.0);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Renders already collected families (used by RenderPrometheus and by tests).
std::string RenderPrometheus(const std::vector<FamilySnapshot>& families);

// Escapes a label value for the text format: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view value);

// The process-wide registry that the job manager and task manager export at /metrics.
MetricRegistry& DefaultRegistry();

}  // namespace cdcflow::metrics
