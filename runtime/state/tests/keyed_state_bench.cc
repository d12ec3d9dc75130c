// Get + put cost of keyed value state, RocksDB with and without the write-back cache
// and in memory. Run on demand: build/release/bin/keyed_state_bench
#include <atomic>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "runtime/state/keyed_state_backend.h"

namespace cdcflow::state {
namespace {

std::string TempDir() {
  static std::atomic<int> counter{0};
  std::string dir = absl::StrCat("/tmp/keyed_state_bench_", getpid(), "_", counter++);
  std::filesystem::remove_all(dir);
  return dir;
}

// One get + one put per record (a running count per key) over `num_keys` keys,
// in batches of 1024 with a Prefetch per batch. Keys are uniform (range(1) == 0) or
// skewed (range(1) == 1: 90 % of the records hit 1 % of the keys, as hot rows do).
void GetPut(benchmark::State& state, size_t cache_bytes, bool in_memory, int64_t ttl_ms = 0) {
  const int64_t num_keys = state.range(0);
  const bool skewed = state.range(1) != 0;
  const int64_t hot_keys = std::max<int64_t>(1, num_keys / 100);
  KeyedStateOptions options;
  options.cache_bytes = cache_bytes;
  const std::string dir = TempDir();
  auto backend = in_memory ? *KeyedStateBackend::CreateInMemory(options)
                           : *KeyedStateBackend::CreateRocksDb(options, dir);
  KeyedValueState* count = *backend->GetValueState("count", StateTtlConfig{ttl_ms});
  std::mt19937_64 rng(1);
  std::vector<Key> keys(1024);
  std::vector<uint64_t> hashes(1024);
  int64_t records = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < keys.size(); ++i) {
      const bool hot = skewed && rng() % 10 != 0;
      keys[i] = Key{{Value::Int64(static_cast<int64_t>(rng() % (hot ? hot_keys : num_keys)))}};
      hashes[i] = KeyHash(keys[i]);
    }
    if (!backend->Prefetch(keys, hashes).ok()) state.SkipWithError("prefetch failed");
    for (size_t i = 0; i < keys.size(); ++i) {
      backend->SetCurrentKey(keys[i], hashes[i]);
      const Value* v = count->Get();
      count->Put(Value::Int64(v == nullptr ? 1 : v->as_int64() + 1));
    }
    records += static_cast<int64_t>(keys.size());
  }
  if (!backend->Flush().ok()) state.SkipWithError("flush failed");
  state.SetItemsProcessed(records);
  state.counters["ns/record"] = benchmark::Counter(static_cast<double>(records),
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["evictions"] = static_cast<double>(backend->stats().evictions);
  backend.reset();
  std::filesystem::remove_all(dir);
}

void BM_RocksDbNoCache(benchmark::State& state) { GetPut(state, 0, false); }
void BM_RocksDbCache64MiB(benchmark::State& state) { GetPut(state, 64 << 20, false); }
void BM_RocksDbCache1MiB(benchmark::State& state) { GetPut(state, 1 << 20, false); }
void BM_InMemory(benchmark::State& state) { GetPut(state, 0, true); }
// The same with a TTL (an hour: nothing expires, every entry carries its expiry).
void BM_RocksDbNoCacheTtl(benchmark::State& state) { GetPut(state, 0, false, 3600 * 1000); }
void BM_RocksDbCache64MiBTtl(benchmark::State& state) { GetPut(state, 64 << 20, false, 3600 * 1000); }
void BM_InMemoryTtl(benchmark::State& state) { GetPut(state, 0, true, 3600 * 1000); }

// The free-space guard's cost per write batch (range(1) puts of 100 bytes over 4
// states): range(0) == 0 no guard, 1 the default (free space re-read every MiB or
// 100 ms), 2 re-read on every batch (statvfs + memtable, compaction and per-family
// level sizes).
void BM_RocksDbWriteBatchGuard(benchmark::State& state) {
  const std::string dir = TempDir();
  RocksDbStoreOptions options;
  options.disk_guard = state.range(0) != 0;
  if (state.range(0) == 2) options.disk_check_bytes = 0;
  auto store = *RocksDbKvStore::Open(dir, options);
  std::vector<int> spaces;
  for (int i = 0; i < 4; ++i) spaces.push_back(*store->OpenSpace(absl::StrCat("s", i)));
  const std::string value(100, 'v');
  int64_t n = 0;
  for (auto _ : state) {
    auto batch = store->NewWriteBatch();
    for (int64_t i = 0; i < state.range(1); ++i, ++n) batch->Put(spaces[n % 4], absl::StrCat("key", n % 100'000), value);
    if (!store->Write(*batch).ok()) state.SkipWithError("write failed");
  }
  state.counters["checks"] = static_cast<double>(store->disk_checks());
  store.reset();
  std::filesystem::remove_all(dir);
}

BENCHMARK(BM_RocksDbWriteBatchGuard)->ArgsProduct({{0, 1, 2}, {1, 64}});
BENCHMARK(BM_RocksDbNoCache)->Args({10'000, 0})->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RocksDbCache64MiB)->Args({10'000, 0})->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RocksDbCache1MiB)->Args({10'000, 0})->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InMemory)->Args({10'000, 0})->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RocksDbNoCacheTtl)->Args({10'000, 0})->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RocksDbCache64MiBTtl)->Args({10'000, 0})->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InMemoryTtl)->Args({10'000, 0})->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cdcflow::state

BENCHMARK_MAIN();
