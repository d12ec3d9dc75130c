// Cost of the hot-path metric updates. Run on demand: build/release/bin/metrics_benchmark
#include "benchmark/benchmark.h"
#include "runtime/metrics/metrics.h"

namespace cdcflow::metrics {
namespace {

void BM_CounterIncrement(benchmark::State& state) {
  MetricRegistry r;
  auto c = r.GetCounter("c_total", "h", {{"job", "j"}});
  Counter& counter = *c;
  for (auto _ : state) counter.Increment();
  benchmark::DoNotOptimize(counter.Value());
}
BENCHMARK(BM_CounterIncrement)->Threads(1)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
  MetricRegistry r;
  auto h = r.GetHistogram("h_seconds", "h");
  double v = 0.0001;
  for (auto _ : state) {
    h->Observe(v);
    v = v > 10 ? 0.0001 : v * 1.7;
  }
}
BENCHMARK(BM_HistogramObserve);

void BM_Render1000Series(benchmark::State& state) {
  MetricRegistry r;
  for (int i = 0; i < 1000; ++i) {
    r.GetCounter("c_total", "h", {{"job", "j"}, {"subtask", std::to_string(i)}})->Increment(i);
  }
  for (auto _ : state) benchmark::DoNotOptimize(r.RenderPrometheus());
}
BENCHMARK(BM_Render1000Series);

}  // namespace
}  // namespace cdcflow::metrics
