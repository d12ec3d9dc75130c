// Property: random typed rows, encoded as Debezium JSON by the independent test
// encoder (schemas on, and schemas off with the schema supplied or learned),
// decode back to exactly the same rows. Seeded, so a failure reproduces.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/debezium/decoder.h"
#include "connectors/debezium/logical_types.h"
#include "connectors/debezium/tests/test_encoder.h"
#include "gtest/gtest.h"

namespace cdcflow::debezium {
namespace {

using testing::Column;

const std::vector<Column>& ColumnPool() {
  static const auto* pool = new std::vector<Column>{
      {"", "int8", "", 0}, {"", "int16", "", 0}, {"", "int32", "", 0}, {"", "int64", "", 0},
      {"", "float", "", 0}, {"", "double", "", 0}, {"", "boolean", "", 0},
      {"", "string", "", 0}, {"", "bytes", "", 0},
      {"", "bytes", "org.apache.kafka.connect.data.Decimal", 0},
      {"", "bytes", "org.apache.kafka.connect.data.Decimal", 4},
      {"", "bytes", "org.apache.kafka.connect.data.Decimal", 60},
      {"", "string", "org.apache.kafka.connect.data.Decimal", 0},
      {"", "struct", "io.debezium.data.VariableScaleDecimal", 0},
      {"", "int32", "io.debezium.time.Date", 0}, {"", "int32", "io.debezium.time.Time", 0},
      {"", "int64", "io.debezium.time.MicroTime", 0}, {"", "int64", "io.debezium.time.NanoTime", 0},
      {"", "int64", "io.debezium.time.Timestamp", 0},
      {"", "int64", "io.debezium.time.MicroTimestamp", 0},
      {"", "int64", "io.debezium.time.NanoTimestamp", 0},
      {"", "string", "io.debezium.time.ZonedTimestamp", 0},
      {"", "string", "io.debezium.time.ZonedTime", 0}, {"", "string", "io.debezium.data.Uuid", 0},
      {"", "string", "io.debezium.data.Json", 0}, {"", "string", "io.debezium.data.Enum", 0},
      {"", "array", "", 0}, {"", "int32", "org.apache.kafka.connect.data.Date", 0},
      {"", "int64", "org.apache.kafka.connect.data.Timestamp", 0},
  };
  return *pool;
}

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int64_t Int(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  bool Chance(int percent) { return Int(0, 99) < percent; }

  std::string Text() {
    static const char* kPieces[] = {"a", "Z", " ", "\"", "\\", "\t", "\n", "é", "小", "–", "0",
                                    ",", "{", "\x01", "😀", "__debezium"};
    std::string s;
    int n = static_cast<int>(Int(0, 24));
    for (int i = 0; i < n; ++i) s += kPieces[Int(0, std::size(kPieces) - 1)];
    return s;
  }
  std::string RawBytes(int lo, int hi) {
    std::string s(Int(lo, hi), '\0');
    for (auto& c : s) c = static_cast<char>(Int(0, 255));
    return s;
  }
  Decimal Dec(int scale, int max_bytes) {
    std::string bytes = RawBytes(1, max_bytes);
    return Decimal::FromTwosComplement(bytes, scale);
  }
  // Timestamps truncated to what `units_per_second` can carry.
  Timestamp Ts(int64_t units_per_second) {
    int64_t units = Int(-4'000'000'000'000'000'000LL / (1'000'000'000 / units_per_second) / 1000,
                        4'000'000'000'000'000'000LL / (1'000'000'000 / units_per_second) / 1000);
    if (units_per_second == 1'000'000'000) units = Int(INT64_MIN / 2, INT64_MAX / 2);
    return TimestampFromUnits(units, units_per_second);
  }

  Value For(const Column& c) {
    if (c.optional && Chance(10)) return Value();
    FieldKind kind = KindFor(c.type, c.logical).value();
    switch (kind) {
      case FieldKind::kAny: return Value();
      case FieldKind::kBool: return Value::Bool(Chance(50));
      case FieldKind::kInt32:
        if (c.type == "int8") return Value::Int32(static_cast<int32_t>(Int(-128, 127)));
        if (c.type == "int16") return Value::Int32(static_cast<int32_t>(Int(-32768, 32767)));
        return Value::Int32(static_cast<int32_t>(Int(INT32_MIN, INT32_MAX)));
      case FieldKind::kInt64: return Value::Int64(Chance(20) ? (Chance(50) ? INT64_MIN : INT64_MAX) : Int(INT64_MIN, INT64_MAX));
      case FieldKind::kFloat64: {
        double d;
        do {
          uint64_t bits = static_cast<uint64_t>(Int(INT64_MIN, INT64_MAX));
          std::memcpy(&d, &bits, sizeof d);
          if (c.type == "float") d = static_cast<float>(d);
        } while (!std::isfinite(d));
        return Value::Float64(Chance(30) ? static_cast<double>(Int(-1000, 1000)) / 8 : d);
      }
      case FieldKind::kString: return Chance(5) ? Value::UnavailableMarker() : Value::Str(Text());
      case FieldKind::kBytes: return Chance(5) ? Value::UnavailableMarker() : Value::Bin(RawBytes(0, 20));
      case FieldKind::kDecimal: return Value::Dec(Dec(c.scale, c.scale == 60 ? 40 : 16));
      case FieldKind::kDecimalString: return Value::Dec(Dec(static_cast<int>(Int(0, 10)), 15));
      case FieldKind::kVariableScaleDecimal: return Value::Dec(Dec(static_cast<int>(Int(0, 50)), 30));
      case FieldKind::kDate: return Value::DateOf(Date{static_cast<int32_t>(Int(-1'000'000, 3'000'000))});
      case FieldKind::kTimeMillis: return Value::TimeOf(Time{Int(0, 86'400'000) * 1'000'000});
      case FieldKind::kTimeMicros: return Value::TimeOf(Time{Int(0, 86'400'000'000) * 1'000});
      case FieldKind::kTimeNanos: return Value::TimeOf(Time{Int(0, 86'400'000'000'000)});
      case FieldKind::kTimestampMillis: return Value::TimestampOf(Ts(1'000));
      case FieldKind::kTimestampMicros: return Value::TimestampOf(Ts(1'000'000));
      case FieldKind::kTimestampNanos: return Value::TimestampOf(Ts(1'000'000'000));
      case FieldKind::kZonedTimestamp: {
        int32_t offset = Chance(50) ? 0 : static_cast<int32_t>(Int(-18 * 60, 18 * 60) * 60);
        // Years 0..9999 plus some five-digit ones.
        int64_t seconds = Int(DaysFromCivil(0, 1, 1) * 86400 + 86400, DaysFromCivil(12000, 1, 1) * 86400);
        return Value::TimestampTzOf(TimestampTz{seconds, static_cast<int32_t>(Int(0, 999'999'999)), offset});
      }
      case FieldKind::kZonedTime:
        return Value::TimeTzOf(TimeTz{Int(0, 86'400'000'000'000 - 1),
                                      static_cast<int32_t>(Int(-14 * 60, 14 * 60) * 60)});
      case FieldKind::kUuid: {
        Uuid u;
        for (auto& b : u.bytes) b = static_cast<uint8_t>(Int(0, 255));
        return Value::UuidOf(u);
      }
      case FieldKind::kJson: return Value::JsonOf(absl::StrCat(R"({"k":)", testing::JsonQuote(Text()), "}"));
      case FieldKind::kRawJson:
        return Chance(10) ? Value::UnavailableMarker()
                          : Value::JsonOf(absl::StrCat("[", testing::JsonQuote(Text()), ",null]"));
    }
    return Value();
  }

 private:
  std::mt19937_64 rng_;
};

std::string Diff(const std::vector<Row>& got, const std::vector<Row>& want) {
  std::string out;
  if (got.size() != want.size()) return absl::StrCat("row count ", got.size(), " vs ", want.size());
  for (size_t r = 0; r < got.size(); ++r) {
    if (got[r].kind != want[r].kind) absl::StrAppend(&out, "row ", r, " kind differs\n");
    for (size_t i = 0; i < std::max(got[r].fields.size(), want[r].fields.size()); ++i) {
      if (i >= got[r].fields.size() || i >= want[r].fields.size()) {
        absl::StrAppend(&out, "row ", r, " width differs\n");
        break;
      }
      if (!(got[r].fields[i] == want[r].fields[i])) {
        absl::StrAppend(&out, "row ", r, " col ", i, ": got ", got[r].fields[i].ToString(), " want ",
                        want[r].fields[i].ToString(), "\n");
      }
    }
  }
  return out;
}

TEST(DebeziumPropertyTest, RandomRowsRoundTripInBothSchemaModes) {
  constexpr int kCases = 3000;
  Gen gen(20261125);
  Decoder on_decoder, off_supplied, off_learned;
  int rows_checked = 0;
  for (int c = 0; c < kCases; ++c) {
    const std::string topic = absl::StrCat("t", c % 7);
    std::vector<Column> cols;
    cols.push_back({"id", gen.Chance(50) ? "int64" : "string", "", 0, false});
    int n = static_cast<int>(gen.Int(0, 12));
    for (int i = 0; i < n; ++i) {
      Column col = ColumnPool()[gen.Int(0, ColumnPool().size() - 1)];
      col.name = absl::StrCat("c", i, "_", gen.Chance(10) ? "é\"x" : "v");
      col.optional = gen.Chance(70);
      cols.push_back(col);
    }
    std::vector<Column> key_cols = {cols[0]};
    std::vector<Value> before, after;
    for (const Column& col : cols) before.push_back(gen.For(col));
    for (const Column& col : cols) after.push_back(gen.For(col));
    if (before[0].type() == ValueType::kUnavailable) before[0] = Value::Str("k");
    after[0] = before[0];
    if (after[0].is_null()) after[0] = before[0] = Value::Int64(1);
    std::vector<Value> key = {before[0]};

    const char ops[] = {'c', 'r', 'u', 'u', 'd'};
    testing::EnvelopeSpec spec;
    spec.op = ops[gen.Int(0, 4)];
    bool no_before = spec.op == 'u' && gen.Chance(30);
    spec.before = (spec.op == 'u' && !no_before) || spec.op == 'd' ? &before : nullptr;
    spec.after = spec.op == 'd' ? nullptr : &after;
    std::vector<Row> want;
    if (spec.before) want.push_back(Row{spec.op == 'd' ? RowKind::kDelete : RowKind::kUpdateBefore, before});
    if (spec.after) want.push_back(Row{spec.op == 'u' ? RowKind::kUpdateAfter : RowKind::kInsert, after});

    const std::string value_on = testing::EncodeEnvelope(cols, spec, true);
    const std::string key_on = testing::EncodeKey(key_cols, key, true);
    const std::string value_off = testing::EncodeEnvelope(cols, spec, false);
    const std::string key_off = testing::EncodeKey(key_cols, key, false);
    SCOPED_TRACE(absl::StrCat("case ", c, "\nvalue: ", value_on));

    Event e;
    absl::Status s = on_decoder.Decode(topic, key_on, value_on, &e);
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(e.rows, want) << Diff(e.rows, want);
    ASSERT_EQ(e.key, key);
    ASSERT_EQ(e.op, spec.op);

    ASSERT_TRUE(off_supplied.SetValueSchema(topic, value_on).ok());
    ASSERT_TRUE(off_supplied.SetKeySchema(topic, key_on).ok());
    s = off_supplied.Decode(topic, key_off, value_off, &e);
    ASSERT_TRUE(s.ok()) << s << "\n" << value_off;
    ASSERT_EQ(e.rows, want) << Diff(e.rows, want);
    ASSERT_EQ(e.key, key);

    // Learned: one schemas-on message teaches the topic, then schemas-off follows.
    ASSERT_TRUE(off_learned.Decode(topic, key_on, value_on, &e).ok());
    s = off_learned.Decode(topic, key_off, value_off, &e);
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(e.rows, want) << Diff(e.rows, want);
    ASSERT_EQ(e.key, key);
    rows_checked += static_cast<int>(want.size());
  }
  EXPECT_GT(rows_checked, kCases);
}

}  // namespace
}  // namespace cdcflow::debezium
