#include "runtime/metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cdcflow::metrics {
namespace {

[[noreturn]] void Fail(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "cdcflow::metrics: %.*s: '%.*s'\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(name.size()), name.data());
  std::abort();
}

bool ValidName(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void AtomicAdd(std::atomic<double>& a, double d) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, res.ptr);
  }
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `name{a="x",b="y"[,extra]} ` -- labels are already sorted.
void AppendSeries(std::string& out, std::string_view name, const Labels& labels,
                  std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  if (!labels.empty() || !extra_name.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k;
      out += "=\"";
      out += EscapeLabelValue(v);
      out += '"';
    }
    if (!extra_name.empty()) {
      if (!first) out += ',';
      out += extra_name;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

void Gauge::Add(double d) { AtomicAdd(value_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      Fail("histogram bounds must be finite and strictly increasing", "");
    }
  }
}

void Histogram::Observe(double value) {
  // First bucket whose upper bound is >= value ("le" semantics).
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative_counts.push_back(running);
  }
  // Concurrent observers may have bumped count_ but not yet a bucket (or the other way
  // round); export the bucket total so that +Inf == count always holds for the scraper.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                               0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                               1,      2.5,     5,      10,    30,     60};
  return kBuckets;
}

std::string MetricRegistry::CheckRegistration(std::string_view name, MetricType type,
                                              const Labels& labels,
                                              const std::vector<double>* bounds) const {
  if (!ValidName(name, /*allow_colon=*/true)) {
    return "invalid metric name '" + std::string(name) + "' (want [a-zA-Z_:][a-zA-Z0-9_:]*)";
  }
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const std::string& k = sorted[i].first;
    if (!ValidName(k, /*allow_colon=*/false) || k.starts_with("__") || k == "le") {
      return "invalid label name '" + k + "' (want [a-zA-Z_][a-zA-Z0-9_]*)";
    }
    if (i > 0 && sorted[i - 1].first == k) return "label '" + k + "' given twice";
  }
  if (bounds != nullptr) {
    for (size_t i = 0; i < bounds->size(); ++i) {
      if (!std::isfinite((*bounds)[i]) || (i > 0 && (*bounds)[i] <= (*bounds)[i - 1])) {
        return "histogram bounds must be finite and strictly increasing";
      }
    }
  }
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second.type != type) {
      return "metric '" + std::string(name) + "' is already registered with another type";
    }
    if (type == MetricType::kCounter && it->second.export_scale != 1.0) {
      return "metric '" + std::string(name) + "' is a runtime metric";
    }
    if (bounds != nullptr && it->second.bounds != *bounds) {
      return "histogram '" + std::string(name) + "' is already registered with other bounds";
    }
  }
  return "";
}

MetricRegistry::Series& MetricRegistry::FindOrAdd(std::string_view name, std::string_view help,
                                                  MetricType type, Labels labels,
                                                  const std::vector<double>* bounds,
                                                  double export_scale) {
  if (!ValidName(name, /*allow_colon=*/true)) Fail("invalid metric name", name);
  for (const auto& [k, v] : labels) {
    if (!ValidName(k, /*allow_colon=*/false) || k.starts_with("__") || k == "le") {
      Fail("invalid label name", k);
    }
  }
  std::sort(labels.begin(), labels.end());
  for (size_t i = 1; i < labels.size(); ++i) {
    if (labels[i].first == labels[i - 1].first) Fail("duplicate label name", labels[i].first);
  }
  auto it = families_.find(name);
  if (it == families_.end()) {
    Family f;
    f.help = std::string(help);
    f.type = type;
    if (bounds != nullptr) f.bounds = *bounds;
    f.export_scale = export_scale;
    it = families_.emplace(std::string(name), std::move(f)).first;
  } else if (it->second.type != type) {
    Fail("metric registered again with another type", name);
  } else if (it->second.export_scale != export_scale) {
    Fail("counter registered again with another export scale", name);
  } else if (bounds != nullptr && it->second.bounds != *bounds) {
    Fail("histogram registered again with other bounds", name);
  }
  return it->second.series[std::move(labels)];
}

std::shared_ptr<Counter> MetricRegistry::GetCounter(std::string_view name, std::string_view help,
                                                    Labels labels, double export_scale) {
  std::lock_guard lock(mu_);
  Series& s =
      FindOrAdd(name, help, MetricType::kCounter, std::move(labels), nullptr, export_scale);
  if (!s.counter) s.counter = std::make_shared<Counter>();
  return s.counter;
}

std::shared_ptr<Gauge> MetricRegistry::GetGauge(std::string_view name, std::string_view help,
                                                Labels labels) {
  std::lock_guard lock(mu_);
  Series& s = FindOrAdd(name, help, MetricType::kGauge, std::move(labels), nullptr);
  if (!s.gauge) s.gauge = std::make_shared<Gauge>();
  return s.gauge;
}

std::shared_ptr<Histogram> MetricRegistry::GetHistogram(std::string_view name,
                                                        std::string_view help, Labels labels,
                                                        const std::vector<double>& bounds) {
  std::lock_guard lock(mu_);
  Series& s = FindOrAdd(name, help, MetricType::kHistogram, std::move(labels), &bounds);
  if (!s.histogram) s.histogram = std::make_shared<Histogram>(bounds);
  return s.histogram;
}

size_t MetricRegistry::RemoveSeries(const Labels& match, std::string_view name_prefix) {
  std::lock_guard lock(mu_);
  size_t removed = 0;
  for (auto fit = families_.begin(); fit != families_.end();) {
    if (fit->first.compare(0, name_prefix.size(), name_prefix) != 0) {
      ++fit;
      continue;
    }
    auto& series = fit->second.series;
    for (auto sit = series.begin(); sit != series.end();) {
      bool all = std::all_of(match.begin(), match.end(), [&](const auto& m) {
        return std::find(sit->first.begin(), sit->first.end(), m) != sit->first.end();
      });
      if (all) {
        sit = series.erase(sit);
        ++removed;
      } else {
        ++sit;
      }
    }
    fit = series.empty() ? families_.erase(fit) : std::next(fit);
  }
  return removed;
}

std::vector<FamilySnapshot> MetricRegistry::Collect() const {
  std::lock_guard lock(mu_);
  std::vector<FamilySnapshot> out;
  out.reserve(families_.size());
  for (const auto& [name, family] : families_) {
    FamilySnapshot f;
    f.name = name;
    f.help = family.help;
    f.type = family.type;
    f.export_scale = family.export_scale;
    for (const auto& [labels, series] : family.series) {
      Sample s;
      s.labels = labels;
      switch (family.type) {
        case MetricType::kCounter:
          s.counter = series.counter->Value();
          s.value = static_cast<double>(s.counter) * family.export_scale;
          break;
        case MetricType::kGauge:
          s.value = series.gauge->Value();
          break;
        case MetricType::kHistogram:
          s.histogram = series.histogram->Take();
          break;
      }
      f.samples.push_back(std::move(s));
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::string MetricRegistry::RenderPrometheus() const {
  return metrics::RenderPrometheus(Collect());
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderPrometheus(const std::vector<FamilySnapshot>& families) {
  std::string out;
  for (const auto& f : families) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    out += EscapeHelp(f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += TypeName(f.type);
    out += '\n';
    for (const auto& s : f.samples) {
      if (f.type != MetricType::kHistogram) {
        AppendSeries(out, f.name, s.labels);
        if (f.type == MetricType::kCounter && f.export_scale == 1.0) {
          AppendUint(out, s.counter);
        } else {
          AppendDouble(out, s.value);
        }
        out += '\n';
        continue;
      }
      const auto& h = s.histogram;
      std::string bucket = f.name + "_bucket";
      for (size_t i = 0; i < h.cumulative_counts.size(); ++i) {
        std::string le;
        if (i < h.bounds.size()) {
          AppendDouble(le, h.bounds[i]);
        } else {
          le = "+Inf";
        }
        AppendSeries(out, bucket, s.labels, "le", le);
        AppendUint(out, h.cumulative_counts[i]);
        out += '\n';
      }
      AppendSeries(out, f.name + "_sum", s.labels);
      AppendDouble(out, h.sum);
      out += '\n';
      AppendSeries(out, f.name + "_count", s.labels);
      AppendUint(out, h.count);
      out += '\n';
    }
  }
  return out;
}

MetricRegistry& DefaultRegistry() {
  static MetricRegistry* registry = new MetricRegistry();
  return *registry;
}

}  // namespace cdcflow::metrics
