#include "runtime/record/row_codec.h"

#include <cmath>
#include <limits>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/record/time_util.h"

namespace cdcflow::record {
namespace {

using ::testing::HasSubstr;

Decimal Dec(std::string_view text) { return *Decimal::Parse(text); }

// One value of every type, edge values included.
std::vector<Value> EveryTypeValues() {
  Uuid uuid;
  for (int i = 0; i < 16; ++i) uuid.bytes[i] = static_cast<uint8_t>(i * 17);
  return {
      Value(),
      Value::Bool(true),
      Value::Bool(false),
      Value::Int32(std::numeric_limits<int32_t>::min()),
      Value::Int32(std::numeric_limits<int32_t>::max()),
      Value::Int64(std::numeric_limits<int64_t>::min()),
      Value::Int64(std::numeric_limits<int64_t>::max()),
      Value::Int64(0),
      Value::Float64(-0.0),
      Value::Float64(1e308),
      Value::Float64(std::numeric_limits<double>::denorm_min()),
      Value::Float64(HUGE_VAL),
      Value::Dec(Dec("0")),
      Value::Dec(Dec("-1.250")),
      Value::Dec(Dec("170141183460469231731687303715884105727")),
      Value::Dec(Dec("-170141183460469231731687303715884105728")),
      Value::Dec(Dec("-170141183460469231731687303715884105729")),
      Value::Dec(Decimal::FromInt128(-3, -4)),
      Value::Dec(Dec("-" + std::string(1000, '9') + ".5")),
      Value::Str(""),
      Value::Str("Widget"),
      Value::Str(std::string(300, 'x')),
      Value::Str(std::string("nul\0inside", 10)),
      Value::Bin(std::string("\x00\xff\x80", 3)),
      Value::DateOf(Date{std::numeric_limits<int32_t>::min()}),
      Value::DateOf(Date{-1}),
      Value::TimeOf(Time{0}),
      Value::TimeOf(Time{kNanosPerDay - 1}),
      Value::TimeTzOf(TimeTz{123, -kMaxOffsetSeconds}),
      Value::TimestampOf(Timestamp{std::numeric_limits<int64_t>::min(), 999'999'999}),
      Value::TimestampOf(Timestamp{-1, 0}),
      Value::TimestampTzOf(TimestampTz{1'790'000'000, 123'456'700, kMaxOffsetSeconds}),
      Value::UuidOf(uuid),
      Value::JsonOf(R"({"k": [1, 2.5, "x"]})"),
      Value::UnavailableMarker(),
  };
}

TEST(RowCodecTest, EveryValueRoundTrips) {
  for (const Value& v : EveryTypeValues()) {
    std::string bytes;
    AppendValue(v, &bytes);
    absl::StatusOr<Value> back = DecodeValue(bytes);
    ASSERT_TRUE(back.ok()) << v.ToString() << ": " << back.status();
    EXPECT_EQ(*back, v) << ValueTypeName(v.type()) << " " << v.ToString();
    EXPECT_EQ(back->type(), v.type());
    // Canonical: re-encoding gives the same bytes.
    std::string again;
    AppendValue(*back, &again);
    EXPECT_EQ(again, bytes);
  }
  std::string nan_bytes;
  AppendValue(Value::Float64(std::nan("")), &nan_bytes);
  EXPECT_TRUE(std::isnan(DecodeValue(nan_bytes)->as_float64()));
}

TEST(RowCodecTest, RowWithEveryTypeRoundTrips) {
  for (RowKind kind : {RowKind::kInsert, RowKind::kUpdateBefore, RowKind::kUpdateAfter, RowKind::kDelete}) {
    Row row{kind, EveryTypeValues()};
    std::string bytes = "prefix";
    AppendRow(row, &bytes);
    size_t offset = 6;
    Row back;
    ASSERT_TRUE(DecodeRow(bytes, &offset, &back).ok());
    EXPECT_EQ(offset, bytes.size());
    EXPECT_EQ(back, row);
  }
  EXPECT_EQ(*DecodeRow([] { std::string s; AppendRow(Row{}, &s); return s; }()), Row{});
}

TEST(RowCodecTest, SmallValuesAreCompact) {
  std::string bytes;
  AppendRow(Row{RowKind::kInsert, {Value::Int64(1), Value::Str("ab"), Value(), Value::Dec(Dec("1.25"))}},
            &bytes);
  // kind, count, (tag, 1), (tag, len, 'a', 'b'), (tag), (tag, scale, len, 0x7d)
  EXPECT_EQ(bytes.size(), 2u + 2 + 4 + 1 + 4);
}

Value RandomValue(std::mt19937_64& rng) {
  auto r = [&](uint64_t n) { return rng() % n; };
  auto any64 = [&] {
    // Mix small and full-range numbers so every varint length occurs.
    const int bits = static_cast<int>(r(64)) + 1;
    uint64_t v = rng();
    if (bits < 64) v &= (uint64_t{1} << bits) - 1;
    return static_cast<int64_t>(r(2) ? v : ~v);
  };
  auto text = [&] {
    std::string s(r(40), '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  };
  switch (static_cast<ValueType>(r(16))) {
    case ValueType::kNull: return Value();
    case ValueType::kBool: return Value::Bool(r(2));
    case ValueType::kInt32: return Value::Int32(static_cast<int32_t>(any64()));
    case ValueType::kInt64: return Value::Int64(any64());
    case ValueType::kFloat64: {
      double d;
      do {
        const uint64_t bits = rng();
        std::memcpy(&d, &bits, 8);
      } while (std::isnan(d));
      return Value::Float64(d);
    }
    case ValueType::kDecimal: {
      const int32_t scale = static_cast<int32_t>(r(50)) - 5;
      if (r(4) == 0) {
        std::string digits(1 + r(120), '0');
        for (char& c : digits) c = static_cast<char>('0' + r(10));
        absl::StatusOr<Decimal> d = Decimal::Parse((r(2) ? "-" : "") + digits);
        return Value::Dec(Decimal::FromTwosComplement(d->ToTwosComplement(), scale));
      }
      __int128 v = (static_cast<__int128>(any64()) << 64) | static_cast<uint64_t>(rng());
      if (r(2)) v >>= r(127);
      return Value::Dec(Decimal::FromInt128(v, scale));
    }
    case ValueType::kString: return Value::Str(text());
    case ValueType::kBytes: return Value::Bin(text());
    case ValueType::kDate: return Value::DateOf(Date{static_cast<int32_t>(any64())});
    case ValueType::kTime: return Value::TimeOf(Time{static_cast<int64_t>(r(kNanosPerDay))});
    case ValueType::kTimeTz:
      return Value::TimeTzOf(TimeTz{static_cast<int64_t>(r(kNanosPerDay)),
                                    static_cast<int32_t>(r(2 * kMaxOffsetSeconds + 1)) - kMaxOffsetSeconds});
    case ValueType::kTimestamp:
      return Value::TimestampOf(Timestamp{any64(), static_cast<int32_t>(r(kNanosPerSecond))});
    case ValueType::kTimestampTz:
      return Value::TimestampTzOf(TimestampTz{any64(), static_cast<int32_t>(r(kNanosPerSecond)),
                                              static_cast<int32_t>(r(2 * kMaxOffsetSeconds + 1)) - kMaxOffsetSeconds});
    case ValueType::kUuid: {
      Uuid u;
      for (auto& b : u.bytes) b = static_cast<uint8_t>(rng());
      return Value::UuidOf(u);
    }
    case ValueType::kJson: return Value::JsonOf(text());
    case ValueType::kUnavailable: return Value::UnavailableMarker();
  }
  return Value();
}

std::vector<Row> RandomRows(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::vector<Row> rows(n);
  for (Row& row : rows) {
    row.kind = static_cast<RowKind>(rng() % 4);
    row.fields.resize(rng() % 12);
    for (Value& v : row.fields) v = RandomValue(rng);
  }
  return rows;
}

TEST(RowCodecTest, RandomBatchesRoundTrip) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const std::vector<Row> rows = RandomRows(seed, 500);
    std::vector<int64_t> timestamps(rows.size());
    std::mt19937_64 rng(seed);
    for (int64_t& ts : timestamps) ts = rng() % 3 == 0 ? kNoRowTimestamp : static_cast<int64_t>(rng());

    for (bool with_ts : {false, true}) {
      std::string bytes;
      if (with_ts) {
        EncodeRowBatch(rows, timestamps, &bytes);
      } else {
        EncodeRowBatch(rows, &bytes);
      }
      ASSERT_EQ(*RowBatchCount(bytes), rows.size());
      std::vector<Row> back;
      std::vector<int64_t> back_ts;
      absl::Status s = DecodeRowBatch(bytes, &back, &back_ts);
      ASSERT_TRUE(s.ok()) << "seed " << seed << ": " << s;
      ASSERT_EQ(back.size(), rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        ASSERT_EQ(back[i], rows[i]) << "seed " << seed << " row " << i;
      }
      if (with_ts) {
        EXPECT_EQ(back_ts, timestamps);
      } else {
        EXPECT_EQ(back_ts, std::vector<int64_t>(rows.size(), kNoRowTimestamp));
      }

      // The incremental encoder produces the same bytes after a caller's prefix.
      std::string incremental = "hdr";
      RowBatchEncoder encoder(&incremental, with_ts);
      for (size_t i = 0; i < rows.size(); ++i) encoder.Add(rows[i], timestamps[i]);
      encoder.Finish();
      EXPECT_EQ(encoder.count(), rows.size());
      EXPECT_EQ(incremental.substr(3), bytes);
    }
  }
}

TEST(RowCodecTest, SdkRowBatchRoundTrips) {
  const std::vector<Row> rows = RandomRows(11, 200);
  RowBatch batch;
  for (size_t i = 0; i < rows.size(); ++i) batch.Append(rows[i], i % 2 ? kNoTimestamp : 1'700'000'000'000 + i);
  std::string bytes;
  EncodeRowBatch(batch, &bytes);
  RowBatch back;
  back.Append(Row{RowKind::kDelete}, 5);
  ASSERT_TRUE(DecodeRowBatch(bytes, &back).ok());
  ASSERT_EQ(back.size(), batch.size() + 1);
  EXPECT_EQ(back.timestamp(0), 5);
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_EQ(back.row(i + 1), batch.row(i)) << i;
    ASSERT_EQ(back.timestamp(i + 1), batch.timestamp(i)) << i;
  }
  RowBatch untimed;
  untimed.Append(rows[0]);
  bytes.clear();
  EncodeRowBatch(untimed, &bytes);
  RowBatch untimed_back;
  ASSERT_TRUE(DecodeRowBatch(bytes, &untimed_back).ok());
  EXPECT_EQ(untimed_back, untimed);
  RowBatch cut;
  EXPECT_EQ(DecodeRowBatch(std::string_view(bytes).substr(0, bytes.size() - 1), &cut).code(),
            absl::StatusCode::kDataLoss);
}

TEST(RowCodecTest, DecodeAppendsToExistingRows) {
  std::vector<Row> rows = RandomRows(7, 3);
  std::string bytes;
  EncodeRowBatch(rows, &bytes);
  std::vector<Row> out = {Row{RowKind::kDelete, {Value::Int64(1)}}};
  ASSERT_TRUE(DecodeRowBatch(bytes, &out).ok());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], (Row{RowKind::kDelete, {Value::Int64(1)}}));
  EXPECT_EQ(out[3], rows[2]);
  std::string empty;
  EncodeRowBatch(std::span<const Row>(), &empty);
  EXPECT_EQ(empty.size(), kRowBatchHeaderSize);
  std::vector<Row> none;
  EXPECT_TRUE(DecodeRowBatch(empty, &none).ok());
  EXPECT_TRUE(none.empty());
}

TEST(RowCodecTest, EveryTruncationIsAnErrorNamingTheOffset) {
  std::vector<Row> rows = RandomRows(99, 40);
  rows.push_back(Row{RowKind::kUpdateAfter, EveryTypeValues()});
  std::vector<int64_t> timestamps(rows.size(), 1'700'000'000'000);
  std::string bytes;
  EncodeRowBatch(rows, timestamps, &bytes);
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::vector<Row> out;
    absl::Status s = DecodeRowBatch(std::string_view(bytes).substr(0, len), &out);
    ASSERT_FALSE(s.ok()) << "a batch cut to " << len << " of " << bytes.size() << " bytes decoded";
    ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss);
    ASSERT_THAT(std::string(s.message()), HasSubstr(std::string("byte offset"))) << s;
    ASSERT_LE(out.size(), rows.size());
  }
  // Also a single row cut anywhere.
  std::string row_bytes;
  AppendRow(rows.back(), &row_bytes);
  for (size_t len = 0; len < row_bytes.size(); ++len) {
    absl::StatusOr<Row> r = DecodeRow(std::string_view(row_bytes).substr(0, len));
    ASSERT_FALSE(r.ok()) << len;
    ASSERT_THAT(std::string(r.status().message()), HasSubstr(std::string("byte offset")));
  }
}

TEST(RowCodecTest, CorruptBytesNeverCrash) {
  std::vector<Row> rows = RandomRows(5, 30);
  rows.push_back(Row{RowKind::kInsert, EveryTypeValues()});
  std::string bytes;
  EncodeRowBatch(rows, &bytes);
  int failures = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      std::string corrupt = bytes;
      corrupt[i] = static_cast<char>(corrupt[i] ^ flip);
      std::vector<Row> out;
      absl::Status s = DecodeRowBatch(corrupt, &out);
      if (!s.ok()) {
        ++failures;
        ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss);
        ASSERT_THAT(std::string(s.message()), HasSubstr(std::string("byte offset")));
      }
    }
  }
  EXPECT_GT(failures, 0);
}

// Overwrites one byte of an encoded batch and expects an error naming the place.
void ExpectCorrupt(std::string bytes, size_t at, char value, std::string_view expected) {
  bytes[at] = value;
  std::vector<Row> out;
  absl::Status s = DecodeRowBatch(bytes, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr(std::string(expected))) << s;
}

TEST(RowCodecTest, CorruptInputNamesRowFieldAndOffset) {
  const std::vector<Row> rows = {
      Row{RowKind::kInsert, {Value::Int64(1), Value::Str("a")}},
      Row{RowKind::kDelete, {Value::Int64(2), Value::Bool(true), Value::TimeOf(Time{5})}},
  };
  std::string bytes;
  EncodeRowBatch(rows, &bytes);
  // Layout: header(6) | row0: kind@6 count@7 int64 tag@8 value@9 string tag@10 len@11 'a'@12
  //                   | row1: kind@13 count@14 int64@15,16 bool tag@17 byte@18 time tag@19 nanos@20
  ExpectCorrupt(bytes, 0, 9, "unknown version 9 at byte offset 0");
  ExpectCorrupt(bytes, 1, 4, "unknown flags 4 at byte offset 1");
  ExpectCorrupt(bytes, 2, 100, "row count 100 exceeds");
  ExpectCorrupt(bytes, 2, 1, "8 trailing bytes after 1 rows at byte offset 13");
  ExpectCorrupt(bytes, 13, 7, "row batch: row 1, header: unknown row kind 7 at byte offset 13");
  ExpectCorrupt(bytes, 14, 90, "row 1, header: field count 90 exceeds");
  ExpectCorrupt(bytes, 17, 77, "row 1, field 1: unknown value type tag 77 at byte offset 17");
  ExpectCorrupt(bytes, 18, 2, "row 1, field 1 (bool): bool byte 2 is not 0 or 1 at byte offset 18");
  ExpectCorrupt(bytes, 11, 20, "row 0, field 1 (string): truncated: string length 20 exceeds the 9 bytes left at byte offset 11");
  ExpectCorrupt(bytes, 19, static_cast<char>(ValueType::kTimestamp),
                "row 1, field 2 (timestamp)");

  std::string overflow;
  overflow.push_back(static_cast<char>(ValueType::kInt64));
  overflow.append(9, '\xff');
  overflow.push_back('\x02');
  EXPECT_THAT(std::string(DecodeValue(overflow).status().message()), HasSubstr(std::string("varint overflows 64 bits")));
  std::string bad_nanos;
  bad_nanos.push_back(static_cast<char>(ValueType::kTime));
  bad_nanos.append("\xff\xff\xff\xff\xff\xff\xff\xff\x01");
  EXPECT_THAT(std::string(DecodeValue(bad_nanos).status().message()), HasSubstr(std::string("nanos of day")));
  std::string trailing;
  AppendValue(Value::Int32(1), &trailing);
  trailing.push_back('\0');
  EXPECT_THAT(std::string(DecodeValue(trailing).status().message()), HasSubstr(std::string("1 trailing bytes")));
  std::string big_int32;
  big_int32.push_back(static_cast<char>(ValueType::kInt32));
  big_int32.append("\xff\xff\xff\xff\x7f");
  EXPECT_THAT(std::string(DecodeValue(big_int32).status().message()), HasSubstr(std::string("out of int32 range")));
}

}  // namespace
}  // namespace cdcflow::record
