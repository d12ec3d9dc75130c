// Encode/decode cost per record of the row codec. Run on demand:
//   build/release/bin/row_codec_bench
// Counters: ns/record (per-record time) and records/s (items_per_second).
#include <random>

#include "benchmark/benchmark.h"
#include "runtime/record/row_codec.h"

namespace cdcflow::record {
namespace {

constexpr size_t kBatch = 1024;

// 4 columns: int64 id, a 16-character string, a decimal(10,2) and a timestamp.
std::vector<Row> SmallRows() {
  std::mt19937_64 rng(1);
  std::vector<Row> rows(kBatch);
  for (size_t i = 0; i < kBatch; ++i) {
    std::string name(16, 'a');
    for (char& c : name) c = static_cast<char>('a' + rng() % 26);
    rows[i] = Row{RowKind::kInsert,
                  {Value::Int64(static_cast<int64_t>(rng() % 10'000'000)), Value::Str(name),
                   Value::Dec(Decimal::FromInt128(static_cast<int64_t>(rng() % 100'000'000), 2)),
                   Value::TimestampOf(Timestamp{1'700'000'000 + static_cast<int64_t>(rng() % 1'000'000),
                                                static_cast<int32_t>(rng() % 1'000'000) * 1000})}};
  }
  return rows;
}

// An order as the seed pipeline's Debezium topics carry it: 12 columns.
std::vector<Row> OrderRows() {
  std::mt19937_64 rng(2);
  std::vector<Row> rows(kBatch);
  for (size_t i = 0; i < kBatch; ++i) {
    Uuid uuid;
    for (auto& b : uuid.bytes) b = static_cast<uint8_t>(rng());
    rows[i] = Row{i % 3 == 0 ? RowKind::kUpdateAfter : RowKind::kInsert,
                  {Value::Int64(static_cast<int64_t>(1'000'000 + i)),
                   Value::Int64(static_cast<int64_t>(rng() % 100'000)),
                   Value::Str("PENDING"),
                   Value::Dec(Decimal::FromInt128(static_cast<int64_t>(rng() % 10'000'000), 2)),
                   Value::Dec(Decimal::FromInt128(static_cast<int64_t>(rng() % 1'000'000), 4)),
                   Value::Str("EUR"),
                   Value::Str("Calle de Alcala 42, 28014 Madrid"),
                   Value::DateOf(Date{20000 + static_cast<int32_t>(rng() % 1000)}),
                   Value::TimestampTzOf(TimestampTz{1'700'000'000 + static_cast<int64_t>(rng() % 1'000'000),
                                                    static_cast<int32_t>(rng() % 1'000'000) * 1000, 0}),
                   Value::Bool(rng() % 2),
                   Value::UuidOf(uuid),
                   Value()}};
  }
  return rows;
}

void SetCounters(benchmark::State& state, size_t bytes_per_batch) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.counters["ns/record"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBatch),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["bytes/record"] = static_cast<double>(bytes_per_batch) / kBatch;
}

void Encode(benchmark::State& state, const std::vector<Row>& rows) {
  std::string buffer;
  for (auto _ : state) {
    buffer.clear();
    EncodeRowBatch(rows, &buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
  SetCounters(state, buffer.size());
}

void Decode(benchmark::State& state, const std::vector<Row>& rows) {
  std::string buffer;
  EncodeRowBatch(rows, &buffer);
  std::vector<Row> out;
  for (auto _ : state) {
    out.clear();
    if (!DecodeRowBatch(buffer, &out).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(out.data());
  }
  SetCounters(state, buffer.size());
}

void BM_EncodeSmallRow(benchmark::State& state) { Encode(state, SmallRows()); }
void BM_DecodeSmallRow(benchmark::State& state) { Decode(state, SmallRows()); }
void BM_EncodeOrderRow(benchmark::State& state) { Encode(state, OrderRows()); }
void BM_DecodeOrderRow(benchmark::State& state) { Decode(state, OrderRows()); }

void BM_StableHashInt64(benchmark::State& state) {
  int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(Value::Int64(++i).StableHash());
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_EncodeSmallRow);
BENCHMARK(BM_DecodeSmallRow);
BENCHMARK(BM_EncodeOrderRow);
BENCHMARK(BM_DecodeOrderRow);
BENCHMARK(BM_StableHashInt64);

}  // namespace
}  // namespace cdcflow::record

BENCHMARK_MAIN();
