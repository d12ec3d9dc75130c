#include <cmath>
#include <limits>

#include "cdcflow/row.h"
#include "cdcflow/value.h"
#include "gtest/gtest.h"
#include "runtime/record/hash.h"
#include "runtime/record/time_util.h"

namespace cdcflow {
namespace {

Decimal Dec(std::string_view text) { return *Decimal::Parse(text); }

Uuid TestUuid() {
  Uuid u;
  const uint8_t bytes[16] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
                             0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x0a};
  std::copy(std::begin(bytes), std::end(bytes), u.bytes.begin());
  return u;
}

int64_t Seconds(int64_t y, int m, int d, int hh, int mm, int ss) {
  return record::DaysFromCivil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

TEST(ValueTest, TextForms) {
  EXPECT_EQ(Value().ToString(), "null");
  EXPECT_EQ(Value::Bool(true).ToString(), "true");
  EXPECT_EQ(Value::Bool(false).ToString(), "false");
  EXPECT_EQ(Value::Int32(-42).ToString(), "-42");
  EXPECT_EQ(Value::Int64(std::numeric_limits<int64_t>::min()).ToString(), "-9223372036854775808");
  EXPECT_EQ(Value::Float64(1.5).ToString(), "1.5");
  EXPECT_EQ(Value::Float64(1.0).ToString(), "1.0");
  EXPECT_EQ(Value::Float64(0.1).ToString(), "0.1");
  EXPECT_EQ(Value::Float64(-2.5e-300).ToString(), "-2.5e-300");
  EXPECT_EQ(Value::Float64(std::nan("")).ToString(), "NaN");
  EXPECT_EQ(Value::Float64(-HUGE_VAL).ToString(), "-Infinity");
  EXPECT_EQ(Value::Dec(Dec("-0.0100")).ToString(), "-0.0100");
  EXPECT_EQ(Value::Str("Widget").ToString(), "Widget");
  EXPECT_EQ(Value::Bin(std::string("\x0a\x0b\xff", 3)).ToString(), "\\x0a0bff");
  EXPECT_EQ(Value::Bin("").ToString(), "\\x");
  EXPECT_EQ(Value::DateOf(Date{0}).ToString(), "1970-01-01");
  EXPECT_EQ(Value::DateOf(Date{-1}).ToString(), "1969-12-31");
  EXPECT_EQ(Value::DateOf(Date{20777}).ToString(), "2026-11-20");
  EXPECT_EQ(Value::TimeOf(Time{0}).ToString(), "00:00:00.000000000");
  EXPECT_EQ(Value::TimeOf(Time{(8 * 3600 + 15 * 60 + 30) * record::kNanosPerSecond + 1'000})
                .ToString(),
            "08:15:30.000001000");
  EXPECT_EQ(Value::TimeTzOf(TimeTz{(8 * 3600 + 15 * 60 + 30) * record::kNanosPerSecond + 123'000'000, 0})
                .ToString(),
            "08:15:30.123Z");
  EXPECT_EQ(Value::TimeTzOf(TimeTz{10 * 3600 * record::kNanosPerSecond, 7200}).ToString(),
            "10:00:00+02:00");
  EXPECT_EQ(Value::TimestampOf(Timestamp{0, 0}).ToString(), "1970-01-01T00:00:00.000000000");
  EXPECT_EQ(Value::TimestampOf(Timestamp{-1, 500'000'000}).ToString(),
            "1969-12-31T23:59:59.500000000");
  EXPECT_EQ(Value::TimestampOf(Timestamp{Seconds(1900, 2, 28, 13, 5, 7), 123}).ToString(),
            "1900-02-28T13:05:07.000000123");
  const int64_t instant = Seconds(2026, 11, 20, 8, 15, 30);
  EXPECT_EQ(Value::TimestampTzOf(TimestampTz{instant, 123'456'700, 0}).ToString(),
            "2026-11-20T08:15:30.1234567Z");
  EXPECT_EQ(Value::TimestampTzOf(TimestampTz{0, 0, 0}).ToString(), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Value::TimestampTzOf(TimestampTz{instant, 0, 7200}).ToString(),
            "2026-11-20T10:15:30+02:00");
  EXPECT_EQ(Value::TimestampTzOf(TimestampTz{0, 500'000'000, -(5 * 3600 + 30 * 60)}).ToString(),
            "1969-12-31T18:30:00.5-05:30");
  EXPECT_EQ(Value::TimestampTzOf(TimestampTz{-1, 0, 0}).ToString(), "1969-12-31T23:59:59Z");
  EXPECT_EQ(Value::UuidOf(TestUuid()).ToString(), "123E4567-E89B-12D3-A456-42661417400A");
  EXPECT_EQ(Value::JsonOf(R"({"a": [1, 2]})").ToString(), R"({"a": [1, 2]})");
  EXPECT_EQ(Value::UnavailableMarker().ToString(), "__debezium_unavailable_value");
}

TEST(ValueTest, SetTextReusesTheBufferAndSwitchesType) {
  Value v = Value::Int64(5);
  v.SetString("a text long enough to live on the heap");
  EXPECT_EQ(v, Value::Str("a text long enough to live on the heap"));
  const char* buffer = v.as_string().data();
  v.SetString("shorter");
  EXPECT_EQ(v, Value::Str("shorter"));
  EXPECT_EQ(v.as_string().data(), buffer);  // same allocation, refilled
  v.SetBytes(std::string("\0\x01", 2));
  EXPECT_EQ(v.type(), ValueType::kBytes);
  EXPECT_EQ(v, Value::Bin(std::string("\0\x01", 2)));
  v.SetJson("{\"a\":1}");
  EXPECT_EQ(v, Value::JsonOf("{\"a\":1}"));
  v.SetString("");
  EXPECT_EQ(v, Value::Str(""));
  EXPECT_NE(v, Value::JsonOf(""));
}

TEST(ValueTest, RowAndSchema) {
  Row row{RowKind::kInsert, {Value::Int64(1), Value::Str("Widget"), Value(), Value::Dec(Dec("1.250"))}};
  EXPECT_EQ(row.ToString(), "+I[1, Widget, null, 1.250]");
  row.kind = RowKind::kUpdateBefore;
  EXPECT_EQ(row.ToString(), "-U[1, Widget, null, 1.250]");
  EXPECT_EQ(Row{RowKind::kDelete}.ToString(), "-D[]");
  EXPECT_EQ(RowKindShortString(RowKind::kUpdateAfter), "+U");

  Schema schema{{{"id", ValueType::kInt64, false}, {"name", ValueType::kString, true}}};
  EXPECT_EQ(schema.IndexOf("name"), 1);
  EXPECT_EQ(schema.IndexOf("id"), 0);
  EXPECT_EQ(schema.IndexOf("missing"), -1);
  EXPECT_EQ(ValueTypeName(ValueType::kTimestampTz), "timestamp_tz");
  EXPECT_EQ(ValueTypeName(ValueType::kUnavailable), "unavailable");
  EXPECT_EQ(ValueTypeName(static_cast<ValueType>(99)), "unknown");
}

// Published XXH64 test vectors: our copy must be the real algorithm.
TEST(StableHashTest, XxHash64MatchesReferenceVectors) {
  EXPECT_EQ(record::XxHash64(std::string_view("")), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(record::XxHash64(std::string_view("a")), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(record::XxHash64(std::string_view("abc")), 0x44BC2CF5AD770999ULL);
  EXPECT_EQ(record::XxHash64(std::string_view("Nobody inspects the spammish repetition")), 0xFBCEA83C8A378BF1ULL);
}

// Key groups derive from these: a change here moves state between subtasks.
TEST(StableHashTest, GoldenValuesNeverChange) {
  struct Case {
    Value value;
    uint64_t hash;
  };
  const Case cases[] = {
      {Value(), 0xef46db3751d8e999ULL},
      {Value::Bool(true), 0x6ec2195ffcaa3025ULL},
      {Value::Int64(42), 0xd82efb7151b67173ULL},
      {Value::Int64(-1), 0x84cd946d24755f42ULL},
      {Value::Float64(1.5), 0x22fe84b9f850a80fULL},
      {Value::Dec(Dec("1.250")), 0x18b4644517e94350ULL},
      {Value::Dec(Dec("-123456789012345678901234567890123456789012.5")), 0x6df6ea3a0a60f511ULL},
      {Value::Str("Widget"), 0x5ed804b27827e3dfULL},
      {Value::Str(""), 0xdf6f0ad8b269c799ULL},
      {Value::Bin("Widget"), 0x1adb46c61374ae43ULL},
      {Value::DateOf(Date{20777}), 0xc61c338aa2f1de74ULL},
      {Value::TimeOf(Time{1'000'000}), 0x8d626950203f7039ULL},
      {Value::TimeTzOf(TimeTz{1'000'000, 3600}), 0xe15def8f927601b8ULL},
      {Value::TimestampOf(Timestamp{1'700'000'000, 5}), 0xb0e4ee7686d34004ULL},
      {Value::TimestampTzOf(TimestampTz{1'700'000'000, 5, 0}), 0x45d8ee7117a0419fULL},
      {Value::UuidOf(TestUuid()), 0x951ef52700eedcecULL},
      {Value::JsonOf("{}"), 0xf8bdc158c061911aULL},
      {Value::UnavailableMarker(), 0x11637f7f314a5a37ULL},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.value.StableHash(), c.hash)
        << ValueTypeName(c.value.type()) << " " << c.value.ToString() << ": 0x" << std::hex
        << c.value.StableHash() << "ULL";
  }
}

TEST(StableHashTest, EqualValuesHashEqually) {
  EXPECT_EQ(Value::Int32(7).StableHash(), Value::Int64(7).StableHash());
  EXPECT_EQ(Value::Int32(-7).StableHash(), Value::Int64(-7).StableHash());
  EXPECT_EQ(Value::Float64(0.0).StableHash(), Value::Float64(-0.0).StableHash());
  const Decimal big = Dec("98765432109876543210987654321098765432109876.54321");
  EXPECT_EQ(Value::Dec(big).StableHash(),
            Value::Dec(Decimal::FromTwosComplement(std::string(3, '\0') + big.ToTwosComplement(), 5))
                .StableHash());
  EXPECT_EQ(Value::Dec(Decimal::FromInt128(5, 0)).StableHash(),
            Value::Dec(Decimal::FromTwosComplement(std::string(20, '\0') + "\x05", 0)).StableHash());
  // Different types and scales with the same bytes stay apart.
  EXPECT_NE(Value::Str("x").StableHash(), Value::Bin("x").StableHash());
  EXPECT_NE(Value::Str("x").StableHash(), Value::JsonOf("x").StableHash());
  EXPECT_NE(Value::Dec(Dec("1.0")).StableHash(), Value::Dec(Dec("1.00")).StableHash());
  EXPECT_NE(Value().StableHash(), Value::UnavailableMarker().StableHash());
}

}  // namespace
}  // namespace cdcflow
