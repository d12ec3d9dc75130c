// Real Debezium PostgreSQL events (recorded by record_pg_fixtures.sh from
// pg/all_types_dml.sql) decode to exactly the values that SQL wrote.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/debezium/decoder.h"
#include "connectors/debezium/logical_types.h"
#include "gtest/gtest.h"

namespace cdcflow::debezium {
namespace {

constexpr char kTopic[] = "pgtypes.public.all_types";

std::string TestData(const std::string& name) {
  return std::string(CDCFLOW_DEBEZIUM_TESTDATA) + "/" + name;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::pair<std::string, std::string>> Messages(const std::string& file) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(ReadAll(TestData(file)));
  for (std::string line; std::getline(in, line);) {
    size_t tab = line.find('\t');
    EXPECT_NE(tab, std::string::npos);
    out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return out;
}

Value Dec(const char* text) { return Value::Dec(Decimal::Parse(text).value()); }

Value Ts(int y, unsigned mo, unsigned d, int h, int mi, int s, int32_t nanos) {
  return Value::TimestampOf(Timestamp{DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s, nanos});
}

// Row 1 as inserted (pg/all_types_dml.sql).
std::vector<Value> Row1() {
  Uuid uuid;
  EXPECT_TRUE(ParseUuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", &uuid));
  TimestampTz tstz{DaysFromCivil(2026, 11, 20) * 86400 + 8 * 3600 + 15 * 60 + 30, 123'456'000, 0};
  return {
      Value::Int32(1),
      Value::Int32(-32768),
      Value::Int32(2147483647),
      Value::Int64(INT64_MIN),
      Value::Float64(1.5),
      Value::Float64(3.141592653589793),
      Dec("-123456789.125"),
      Dec("12345678901234567890123456789012345678901234567890.0123456789"),
      // numeric without a scale: VariableScaleDecimal. Debezium sends the value
      // with its trailing zero stripped (scale 49 for the 50 decimals written).
      Dec("3.1415926535897932384626433832795028841971693993751"),
      Dec("12345.67"),  // money, scale 2
      Value::Str("h\xC3\xA9llo, \"world\"\ttab"),
      Value::Str("varchar"),
      Value::Str("ab   "),  // char(5) is blank-padded
      Value::Bin(std::string("\x00\xff\x10", 3)),
      Value::Bool(true),
      Value::DateOf(Date{-165}),
      Value::TimeOf(Time{86'399'999'999'000LL}),
      // timetz '10:15:30.5+02': the connector normalises to UTC.
      Value::TimeTzOf(TimeTz{(8 * 3600 + 15 * 60 + 30) * 1'000'000'000LL + 500'000'000, 0}),
      Ts(2026, 11, 20, 9, 15, 30, 123'456'000),
      Value::TimestampTzOf(tstz),
      // interval '1 year 2 months 3 days 04:05:06.789' as MicroDuration (a month
      // counts 30.4375 days in Debezium's conversion).
      Value::Int64(37'091'106'789'000),
      Value::UuidOf(uuid),
      Value::JsonOf(R"({"a": [1, 2.50]})"),   // json keeps the text as written
      Value::JsonOf(R"({"a": "x", "b": 1})"),  // jsonb normalises
      Value::Str("happy"),
      Value::Bin("\x0a"),  // bit(4) B'1010'
      Value::Bin("\x06"),  // varbit B'110'
      Value::JsonOf("[1,2,3]"),
      Value::JsonOf(R"(["a","b c"])"),
      Value::Str("192.0.2.1/24"),
      Value::JsonOf(R"({"x":1.5,"y":-2.0,"wkb":"AQEAAAAAAAAAAAD4PwAAAAAAAADA","srid":null})"),
      Value::Str(ReadAll(TestData("postgres_all_types.toast.txt"))),  // md5(1)..md5(300)
  };
}

std::vector<Value> Row2() {
  std::vector<Value> row(Row1().size());
  row[0] = Value::Int32(2);
  return row;
}

void ExpectRow(const Row& got, RowKind kind, const std::vector<Value>& want, const std::string& where) {
  EXPECT_EQ(got.kind, kind) << where;
  ASSERT_EQ(got.fields.size(), want.size()) << where;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got.fields[i], want[i]) << where << " column " << i << ": got "
                                      << got.fields[i].ToString() << " want " << want[i].ToString();
  }
}

void CheckEvents(Decoder& decoder, const std::string& file, const std::string& prefix) {
  auto msgs = Messages(file);
  ASSERT_EQ(msgs.size(), 7u);
  std::vector<Event> events(msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    absl::Status s = decoder.Decode(kTopic, msgs[i].first, msgs[i].second, &events[i]);
    ASSERT_TRUE(s.ok()) << file << ":" << i + 1 << ": " << s;
  }
  // INSERT id 1 (all types), INSERT id 2 (nulls).
  ASSERT_EQ(events[0].rows.size(), 1u);
  ExpectRow(events[0].rows[0], RowKind::kInsert, Row1(), file + ":1");
  ASSERT_EQ(events[1].rows.size(), 1u);
  ExpectRow(events[1].rows[0], RowKind::kInsert, Row2(), file + ":2");
  // UPDATE id 1 c_int: REPLICA IDENTITY DEFAULT sends no before (only +U), and the
  // untouched TOASTed column arrives as the unavailable placeholder.
  std::vector<Value> updated = Row1();
  updated[2] = Value::Int32(43);
  updated.back() = Value::UnavailableMarker();
  ASSERT_EQ(events[2].rows.size(), 1u);
  ExpectRow(events[2].rows[0], RowKind::kUpdateAfter, updated, file + ":3");
  std::vector<Value> updated2 = Row2();
  updated2[8] = Dec("-0.5");
  ASSERT_EQ(events[3].rows.size(), 1u);
  ExpectRow(events[3].rows[0], RowKind::kUpdateAfter, updated2, file + ":4");
  // DELETE id 2: the before image carries the key only.
  ASSERT_EQ(events[4].rows.size(), 1u);
  ExpectRow(events[4].rows[0], RowKind::kDelete, Row2(), file + ":5");
  EXPECT_EQ(events[5].kind, EventKind::kTombstone);
  EXPECT_TRUE(events[5].rows.empty());
  EXPECT_EQ(events[5].key, std::vector<Value>{Value::Int32(2)});
  EXPECT_EQ(events[6].kind, EventKind::kTruncate);
  EXPECT_EQ(events[6].op, 't');
  EXPECT_EQ(events[6].SourceTableName(), prefix + ".public.all_types");
  EXPECT_TRUE(events[6].key.empty());

  for (int i : {0, 1, 2, 3, 4}) {
    EXPECT_EQ(events[i].key.size(), 1u);
    EXPECT_EQ(events[i].key[0], events[i].rows[0].fields[0]);
  }
  const SourceInfo& s = events[2].source;
  EXPECT_EQ(s.connector, "postgresql");
  EXPECT_EQ(s.name, prefix);
  EXPECT_EQ(s.db, "cdcflow_types");
  EXPECT_EQ(s.schema, "public");
  EXPECT_EQ(s.table, "all_types");
  EXPECT_EQ(s.snapshot, "false");
  ASSERT_TRUE(s.lsn.has_value());
  ASSERT_TRUE(s.tx_id.has_value());
  EXPECT_GT(*s.lsn, 0);
  EXPECT_EQ(*events[3].source.tx_id, *s.tx_id + 1);
  EXPECT_EQ(s.sequence.front(), '[');
  ASSERT_TRUE(s.ts_ms.has_value());
  EXPECT_TRUE(events[2].ts_ms.has_value());
}

TEST(PostgresFixtureTest, SchemasOnDecodesToTheValuesWritten) {
  Decoder decoder;
  CheckEvents(decoder, "postgres_all_types.schemas-on.tsv", "pgtypes");
}

TEST(PostgresFixtureTest, SchemasOffWithSuppliedSchemaDecodesToTheValuesWritten) {
  auto on = Messages("postgres_all_types.schemas-on.tsv");
  Decoder decoder;
  ASSERT_TRUE(decoder.SetValueSchema(kTopic, on[0].second).ok());
  ASSERT_TRUE(decoder.SetKeySchema(kTopic, on[0].first).ok());
  CheckEvents(decoder, "postgres_all_types.schemas-off.tsv", "pgtypesoff");
}

TEST(PostgresFixtureTest, SchemasOffLearnsFromASchemasOnMessage) {
  auto on = Messages("postgres_all_types.schemas-on.tsv");
  Decoder decoder;
  Event e;
  ASSERT_TRUE(decoder.Decode(kTopic, on[0].first, on[0].second, &e).ok());
  CheckEvents(decoder, "postgres_all_types.schemas-off.tsv", "pgtypesoff");
}

}  // namespace
}  // namespace cdcflow::debezium
