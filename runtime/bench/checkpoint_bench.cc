// Checkpoint costs, on demand (not a test):
//
//   checkpoint_bench state [mb=100,1000] [dir=/tmp]
//     keyed RocksDB state of `mb` MiB (1 KiB values): duration of the synchronous part
//     (flush + RocksDB checkpoint into staging) and of the upload (copied, not linked:
//     a checkpoint volume on another disk), full size; then 5 % of the keys change and a
//     second checkpoint uploads only the new SST files.
//   checkpoint_bench throughput [records=3000000] [parallelism=2] [seconds_list=0,10,1]
//     a keyed job (generator -> keyBy -> running sum in RocksDB -> counting sink) in the
//     local mini-cluster, records/s without checkpoints and with each interval.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/graph/logical_graph.h"
#include "runtime/local/local_job.h"
#include "runtime/state/keyed_state_backend.h"

namespace cdcflow {
namespace {
namespace fs = std::filesystem;

std::vector<int64_t> Ints(const std::string& list) {
  std::vector<int64_t> out;
  for (absl::string_view p : absl::StrSplit(list, ',')) {
    int64_t v = 0;
    if (absl::SimpleAtoi(p, &v)) out.push_back(v);
  }
  return out;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

int StateBench(const std::vector<int64_t>& sizes_mb, const std::string& base) {
  for (int64_t mb : sizes_mb) {
    const std::string root = absl::StrCat(base, "/cdcflow_ckpt_bench_", getpid(), "_", mb);
    fs::remove_all(root);
    state::KeyedStateOptions options;
    options.cache_bytes = 64 << 20;
    auto backend = state::KeyedStateBackend::CreateRocksDb(options, root + "/db");
    if (!backend.ok()) {
      std::fprintf(stderr, "%s\n", backend.status().ToString().c_str());
      return 1;
    }
    auto storage = checkpoint::CheckpointStorage::Create(root + "/checkpoints", "job",
                                                         /*link_files=*/false);
    if (!storage.ok()) return 1;
    KeyedValueState* v = *(*backend)->GetValueState("v");
    const int64_t keys = mb * 1024;  // 1 KiB values
    // Random (incompressible) values, so the state is as large on disk as in memory.
    std::mt19937_64 rng(42);
    std::string payload(1024, 'x');
    auto refill = [&] {
      for (size_t i = 0; i + 8 <= payload.size(); i += 8) {
        const uint64_t r = rng();
        std::memcpy(payload.data() + i, &r, 8);
      }
    };
    const absl::Time fill_start = absl::Now();
    for (int64_t k = 0; k < keys; ++k) {
      refill();
      (*backend)->SetCurrentKey(Key{{Value::Int64(k)}});
      v->Put(Value::Bin(payload));
    }
    if (!(*backend)->Flush().ok()) return 1;
    std::printf("state %lld MiB: %lld keys written in %.1f s\n", static_cast<long long>(mb),
                static_cast<long long>(keys), absl::ToDoubleSeconds(absl::Now() - fill_start));
    for (int round = 1; round <= 2; ++round) {
      if (round == 2) {
        for (int64_t k = 0; k < keys; k += 20) {  // 5 % of the keys change
          refill();
          (*backend)->SetCurrentKey(Key{{Value::Int64(k)}});
          v->Put(Value::Bin(payload));
        }
      }
      const std::string staging = absl::StrCat(root, "/staging-", round);
      const absl::Time t0 = absl::Now();
      absl::Status s = (*backend)->Snapshot(staging);
      const absl::Time t1 = absl::Now();
      std::vector<v1::StateFile> files;
      uint64_t uploaded = 0;
      if (s.ok()) s = (*storage)->UploadKeyedState(round, 1, 0, "bench", staging, &files, &uploaded);
      const absl::Time t2 = absl::Now();
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
      uint64_t full = 0;
      for (const auto& f : files) full += f.size();
      std::printf(
          "  checkpoint %d: sync %.0f ms, upload %.0f ms, total %.0f ms; size %.1f MiB, "
          "uploaded %.1f MiB (%zu files)\n",
          round, absl::ToDoubleMilliseconds(t1 - t0), absl::ToDoubleMilliseconds(t2 - t1),
          absl::ToDoubleMilliseconds(t2 - t0), full / 1048576.0, uploaded / 1048576.0,
          files.size());
      fs::remove_all(staging);
    }
    std::printf("  checkpoint storage on disk: %.1f MiB\n",
                DirBytes(root + "/checkpoints") / 1048576.0);
    backend->reset();
    fs::remove_all(root);
  }
  return 0;
}

std::atomic<int64_t> g_sunk{0};

class CountSink final : public SinkFunction {
 public:
  absl::Status WriteBatch(RowBatch& batch) override {
    g_sunk.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
    return absl::OkStatus();
  }
};

class SumFn final : public KeyedProcessFunction {
 public:
  absl::Status Open(KeyedRuntimeContext& ctx) override {
    sum_ = *ctx.GetValueState("sum");
    return absl::OkStatus();
  }
  absl::Status ProcessElement(Row& row, KeyedContext&, Collector& out) override {
    const Value* s = sum_->Get();
    sum_->Put(Value::Int64((s ? s->as_int64() : 0) + row.fields[1].as_int64()));
    out.Emit(std::move(row));
    return absl::OkStatus();
  }

 private:
  KeyedValueState* sum_ = nullptr;
};

Row KeyedRow(int64_t i) {
  Row r;
  r.fields = {Value::Int64((i * 7919) % 200000), Value::Int64(i)};
  return r;
}

int ThroughputBench(int64_t records, int parallelism, const std::vector<int64_t>& intervals,
                    const std::string& base) {
  for (int64_t seconds : intervals) {
    const std::string root = absl::StrCat(base, "/cdcflow_ckpt_tput_", getpid(), "_", seconds);
    fs::remove_all(root);
    JobBuilder job(JobArgs(), parallelism);
    job.Source("gen", Generator(records, KeyedRow))
        .KeyBy({0})
        .Process("sum", [] { return std::make_unique<SumFn>(); })
        .SinkTo("count", [] { return std::make_unique<CountSink>(); });
    auto graph = graph::Finalize(job);
    if (!graph.ok()) return 1;
    JobArgs args;
    local::LocalJobOptions options;
    options.task.state_dir = root + "/state";
    if (seconds > 0) {
      options.checkpoint_dir = root + "/checkpoints";
      options.checkpoint_interval = absl::Seconds(seconds);
      options.copy_checkpoint_files = true;
      options.retained_checkpoints = 1000;  // keep them all for the breakdown below
    }
    g_sunk = 0;
    const absl::Time start = absl::Now();
    auto run = local::LocalJob::Start(&*graph, &args, options);
    if (!run.ok()) {
      std::fprintf(stderr, "%s\n", run.status().ToString().c_str());
      return 1;
    }
    absl::Status s = (*run)->Wait();
    const double secs = absl::ToDoubleSeconds(absl::Now() - start);
    int completed = 0;
    double max_ms = 0;
    std::string phases;
    std::string slowest;
    for (const auto& h : (*run)->CheckpointHistory()) {
      if (h.status != checkpoint::CheckpointStatus::kCompleted) continue;
      ++completed;
      if (h.duration_ms >= max_ms) slowest = h.path;
      max_ms = std::max<double>(max_ms, h.duration_ms);
    }
    for (const auto& h : (*run)->CheckpointHistory()) {
      if (h.path != slowest) continue;  // the slowest (if still retained): where its time went
      auto c = checkpoint::LoadCheckpoint(h.path);
      if (!c.ok()) continue;
      for (const auto& t : c->metadata.tasks()) {
        absl::StrAppend(&phases, " [task ", t.chain(), "/", t.subtask(), " align ",
                        t.alignment_ns() / 1000000, " ms, sync ", t.sync_ns() / 1000000,
                        " ms, async ", t.async_ns() / 1000000, " ms, ", t.full_bytes() / 1024,
                        " KiB]");
      }
      absl::StrAppend(&phases, " total ", h.duration_ms, " ms");
    }
    std::printf("keyed job, %s: %lld records in %.2f s = %.0f records/s (%d checkpoints, "
                "longest %.0f ms) %s\n",
                seconds > 0 ? absl::StrCat("checkpoint every ", seconds, " s").c_str()
                            : "no checkpoints",
                static_cast<long long>(g_sunk.load()), secs, g_sunk.load() / secs, completed,
                max_ms, s.ok() ? "" : s.ToString().c_str());
    if (!phases.empty()) std::printf("  slowest checkpoint:%s\n", phases.c_str());
    run->reset();
    fs::remove_all(root);
  }
  return 0;
}

}  // namespace
}  // namespace cdcflow

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "state";
  if (mode == "state") {
    return cdcflow::StateBench(cdcflow::Ints(argc > 2 ? argv[2] : "100,1000"),
                               argc > 3 ? argv[3] : "/tmp");
  }
  if (mode == "throughput") {
    return cdcflow::ThroughputBench(argc > 2 ? std::atoll(argv[2]) : 3000000,
                                    argc > 3 ? std::atoi(argv[3]) : 2,
                                    cdcflow::Ints(argc > 4 ? argv[4] : "0,10,1"),
                                    argc > 5 ? argv[5] : "/tmp");
  }
  std::fprintf(stderr, "usage: checkpoint_bench state|throughput ...\n");
  return 2;
}
