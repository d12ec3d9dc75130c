// Decode speed of realistic order events (schemas on and off) against the
// ceiling: a bare simdjson on-demand walk that touches every field of the same
// bytes (after the same copy into a padded buffer, which Kafka bytes need too).
// Counters: events/s ("items_per_second") and MB/s ("bytes_per_second").
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "connectors/debezium/decoder.h"
#include "connectors/debezium/tests/test_encoder.h"
#include "simdjson.h"

namespace cdcflow::debezium {
namespace {

namespace od = simdjson::ondemand;
using testing::Column;

const std::vector<Column> kOrderColumns = {
    {"order_id", "int64", "", 0, false},
    {"customer_id", "int32", "", 0, false},
    {"status", "string", "io.debezium.data.Enum", 0, false},
    {"total", "bytes", "org.apache.kafka.connect.data.Decimal", 2, false},
    {"currency", "string", "", 0, false},
    {"items", "int32", "", 0, true},
    {"shipped", "boolean", "", 0, true},
    {"created_at", "int64", "io.debezium.time.MicroTimestamp", 0, false},
    {"updated_at", "string", "io.debezium.time.ZonedTimestamp", 0, true},
    {"ship_date", "int32", "io.debezium.time.Date", 0, true},
    {"note", "string", "", 0, true},
};

struct Message {
  std::string key;
  std::string value;
};

std::vector<Message> OrderEvents(bool schemas_enable, size_t n) {
  std::mt19937_64 rng(42);
  std::vector<Message> out;
  static const char* kStatus[] = {"NEW", "PAID", "SHIPPED", "CANCELLED"};
  for (size_t i = 0; i < n; ++i) {
    int64_t id = 100000 + static_cast<int64_t>(i);
    std::vector<Value> before = {
        Value::Int64(id), Value::Int32(static_cast<int32_t>(rng() % 50000)),
        Value::Str(kStatus[rng() % 4]), Value::Dec(Decimal::FromInt128(rng() % 10000000, 2)),
        Value::Str("EUR"), Value::Int32(static_cast<int32_t>(rng() % 20)), Value::Bool(rng() % 2),
        Value::TimestampOf(Timestamp{1700000000 + static_cast<int64_t>(rng() % 10000000),
                                     static_cast<int32_t>(rng() % 1000000) * 1000}),
        Value::TimestampTzOf(TimestampTz{1700000000 + static_cast<int64_t>(rng() % 10000000),
                                         static_cast<int32_t>(rng() % 1000) * 1000000, 0}),
        Value::DateOf(Date{19700 + static_cast<int32_t>(rng() % 400)}),
        Value::Str("please deliver to the back door")};
    std::vector<Value> after = before;
    after[2] = Value::Str("SHIPPED");
    testing::EnvelopeSpec spec;
    spec.op = i % 4 == 0 ? 'c' : 'u';
    spec.before = spec.op == 'u' ? &before : nullptr;
    spec.after = &after;
    out.push_back({testing::EncodeKey({kOrderColumns[0]}, {before[0]}, schemas_enable),
                   testing::EncodeEnvelope(kOrderColumns, spec, schemas_enable)});
  }
  return out;
}

size_t TotalBytes(const std::vector<Message>& msgs) {
  size_t n = 0;
  for (const auto& m : msgs) n += m.key.size() + m.value.size();
  return n;
}

// schemas: 0 = off with the topic's schema supplied by the job (the exact path),
// 1 = on (schema in every message), 2 = off with no schema (decode by JSON type).
void BM_Decode(benchmark::State& state) {
  const bool schemas = state.range(0) == 1;
  auto msgs = OrderEvents(schemas, 1000);
  Decoder decoder;
  if (state.range(0) == 0) {
    auto on = OrderEvents(true, 1);
    if (!decoder.SetValueSchema("pg.public.orders", on[0].value).ok() ||
        !decoder.SetKeySchema("pg.public.orders", on[0].key).ok()) {
      state.SkipWithError("schema");
    }
  }
  Event event;
  size_t i = 0;
  for (auto _ : state) {
    const Message& m = msgs[i++ % msgs.size()];
    absl::Status s = decoder.Decode("pg.public.orders", m.key, m.value, &event);
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(event.rows.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * TotalBytes(msgs) / msgs.size());
  state.counters["avg_event_bytes"] = static_cast<double>(TotalBytes(msgs)) / msgs.size();
}

simdjson::error_code Touch(od::value v, uint64_t* sink) {
  od::json_type t;
  if (auto e = v.type().get(t); e) return e;
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o); e) return e;
      for (auto f : o) {
        std::string_view k;
        if (auto e = f.unescaped_key().get(k); e) return e;
        *sink += k.size();
        if (auto e = Touch(f.value(), sink); e) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a); e) return e;
      for (auto x : a) {
        if (auto e = Touch(x.value(), sink); e) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      double d;
      if (auto e = v.get_double().get(d); e) return e;
      *sink += static_cast<uint64_t>(d);
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s); e) return e;
      *sink += s.size();
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b;
      if (auto e = v.get_bool().get(b); e) return e;
      *sink += b;
      return simdjson::SUCCESS;
    }
    case od::json_type::null:
      *sink += v.is_null();
      return simdjson::SUCCESS;
  }
  return simdjson::SUCCESS;
}

void BM_BareSimdjson(benchmark::State& state) {
  const bool schemas = state.range(0) != 0;
  auto msgs = OrderEvents(schemas, 1000);
  od::parser parser;
  std::string buf;
  uint64_t sink = 0;
  size_t i = 0;
  for (auto _ : state) {
    const Message& m = msgs[i++ % msgs.size()];
    for (const std::string* part : {&m.key, &m.value}) {
      buf.assign(*part);
      buf.resize(part->size() + simdjson::SIMDJSON_PADDING);
      od::document doc;
      if (parser.iterate(buf.data(), part->size(), buf.size()).get(doc)) state.SkipWithError("parse");
      od::value root;
      if (doc.get_value().get(root) || Touch(root, &sink)) state.SkipWithError("walk");
    }
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * TotalBytes(msgs) / msgs.size());
}

BENCHMARK(BM_Decode)->ArgName("schemas")->Arg(0)->Arg(1)->Arg(2);
BENCHMARK(BM_BareSimdjson)->ArgName("schemas")->Arg(0)->Arg(1);

}  // namespace
}  // namespace cdcflow::debezium

BENCHMARK_MAIN();
