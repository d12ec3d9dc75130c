// In-process shuffle throughput: records/s from generator subtasks through a hash
// exchange (key groups, bounded gates) into counting sinks, in the local mini-cluster.
//
//   shuffle_bench [records=20000000] [parallelism=2] [batch=1024]
//
// Prints one line per scenario. Run on demand (not a test).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/time/clock.h"
#include "runtime/graph/logical_graph.h"
#include "runtime/local/local_job.h"

namespace cdcflow {
namespace {

std::atomic<int64_t> g_sunk{0};

class CountSink final : public SinkFunction {
 public:
  absl::Status WriteBatch(RowBatch& batch) override {
    g_sunk.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
    return absl::OkStatus();
  }
};

Row SmallRow(int64_t i) {
  Row r;
  r.fields.reserve(2);
  r.fields.push_back(Value::Int64(i & 1023));
  r.fields.push_back(Value::Int64(i));
  return r;
}

void RunScenario(const char* name, int64_t records, int parallelism, size_t batch,
                 Partitioning partitioning) {
  JobBuilder job(JobArgs(), parallelism);
  Stream s = job.Source("gen", Generator(records, SmallRow));
  switch (partitioning) {
    case Partitioning::kHash: s = s.KeyBy({0}); break;
    case Partitioning::kRebalance: s = s.Rebalance(); break;
    default: s = s.Forward(); break;
  }
  s.SinkTo("count", [] { return std::make_unique<CountSink>(); });
  auto graph = graph::Finalize(job);
  if (!graph.ok()) {
    std::fprintf(stderr, "%s\n", graph.status().ToString().c_str());
    std::exit(1);
  }
  JobArgs args;
  g_sunk = 0;
  const absl::Time start = absl::Now();
  auto run = local::LocalJob::Start(&*graph, &args, {.task = {.batch_rows = batch}});
  if (!run.ok() || !(*run)->Wait().ok()) {
    std::fprintf(stderr, "%s failed\n", name);
    std::exit(1);
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("%-28s parallelism=%d batch=%zu records=%lld  %.2f s  %.2f M records/s  (%s)\n",
              name, parallelism, batch, static_cast<long long>(records), seconds,
              records / seconds / 1e6, g_sunk.load() == records ? "all delivered" : "LOST ROWS");
}

}  // namespace
}  // namespace cdcflow

int main(int argc, char** argv) {
  const int64_t records = argc > 1 ? std::atoll(argv[1]) : 20'000'000;
  const int parallelism = argc > 2 ? std::atoi(argv[2]) : 2;
  const size_t batch = argc > 3 ? static_cast<size_t>(std::atoll(argv[3])) : 1024;
  using cdcflow::Partitioning;
  cdcflow::RunScenario("generator -> sink (chained)", records, parallelism, batch,
                       Partitioning::kForward);
  cdcflow::RunScenario("generator -hash-> sink", records, parallelism, batch, Partitioning::kHash);
  cdcflow::RunScenario("generator -rebalance-> sink", records, parallelism, batch,
                       Partitioning::kRebalance);
  return 0;
}
