// Every recorded Debezium event in testdata/ decodes to the rows its .rows file
// states, compared as typed values.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "connectors/debezium/decoder.h"
#include "connectors/debezium/logical_types.h"
#include "gtest/gtest.h"

namespace cdcflow::debezium {
namespace {

std::string TestData(const std::string& name) {
  return std::string(CDCFLOW_DEBEZIUM_TESTDATA) + "/" + name;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::pair<std::string, std::string> SplitKeyValue(const std::string& line) {
  size_t tab = line.find('\t');
  EXPECT_NE(tab, std::string::npos) << line;
  return {line.substr(0, tab), line.substr(tab + 1)};
}

// The SQL Server products table: id INT, name, description, weight DECIMAL(10,3),
// price MONEY, in_stock BIT, created_at DATETIME2(7), updated_at DATETIMEOFFSET,
// sku UNIQUEIDENTIFIER (a plain string in Debezium's schema), launch_date DATE.
enum class Col { kInt32, kString, kDecimal, kBool, kTimestamp, kZoned, kDate };
const std::vector<Col> kProductColumns = {Col::kInt32,   Col::kString,    Col::kString,
                                          Col::kDecimal, Col::kDecimal,   Col::kBool,
                                          Col::kTimestamp, Col::kZoned,   Col::kString,
                                          Col::kDate};

Value ParseExpected(Col col, const std::string& text) {
  if (text == "null") return Value();
  switch (col) {
    case Col::kInt32: return Value::Int32(std::stoi(text));
    case Col::kString: return Value::Str(text);
    case Col::kDecimal: return Value::Dec(Decimal::Parse(text).value());
    case Col::kBool: return Value::Bool(text == "true");
    case Col::kTimestamp: {
      TimestampTz t = ParseZonedTimestamp(text + "Z").value();
      return Value::TimestampOf(Timestamp{t.seconds, t.nanos});
    }
    case Col::kZoned: return Value::TimestampTzOf(ParseZonedTimestamp(text).value());
    case Col::kDate: {
      int y, m, d;
      EXPECT_EQ(std::sscanf(text.c_str(), "%d-%d-%d", &y, &m, &d), 3) << text;
      return Value::DateOf(Date{static_cast<int32_t>(DaysFromCivil(y, m, d))});
    }
  }
  return Value();
}

// products.rows prints `KIND[v1, v2, ...]` without quoting, so a ", " inside the
// description is ambiguous; it is the only free-text column that has one, so the
// columns are taken from both ends and the rest is the description.
Row ParseExpectedRow(const std::string& line) {
  Row row;
  std::string kind = line.substr(0, 2);
  row.kind = kind == "+I" ? RowKind::kInsert
             : kind == "-U" ? RowKind::kUpdateBefore
             : kind == "+U" ? RowKind::kUpdateAfter
                            : RowKind::kDelete;
  EXPECT_EQ(line[2], '[');
  EXPECT_EQ(line.back(), ']');
  std::vector<std::string> parts = absl::StrSplit(line.substr(3, line.size() - 4), ", ");
  const size_t n = kProductColumns.size();
  EXPECT_GE(parts.size(), n);
  std::vector<std::string> cols(parts.begin(), parts.begin() + 2);
  std::vector<std::string> middle(parts.begin() + 2, parts.end() - (n - 3));
  cols.push_back(absl::StrJoin(middle, ", "));
  cols.insert(cols.end(), parts.end() - (n - 3), parts.end());
  for (size_t i = 0; i < n; ++i) row.fields.push_back(ParseExpected(kProductColumns[i], cols[i]));
  return row;
}

std::vector<Row> ExpectedRows() {
  std::vector<Row> rows;
  for (const auto& line : ReadLines(TestData("sqlserver_products.rows"))) {
    if (!line.empty()) rows.push_back(ParseExpectedRow(line));
  }
  return rows;
}

std::vector<Row> DecodeAll(Decoder& decoder, const std::string& file, std::vector<Event>* events) {
  std::vector<Row> rows;
  int line_no = 0;
  for (const auto& line : ReadLines(TestData(file))) {
    ++line_no;
    auto [key, value] = SplitKeyValue(line);
    Event event;
    absl::Status s = decoder.Decode("mssql.inventory.dbo.products", key, value, &event);
    EXPECT_TRUE(s.ok()) << file << ":" << line_no << ": " << s;
    for (const Row& r : event.rows) rows.push_back(r);
    if (events) events->push_back(std::move(event));
  }
  return rows;
}

void ExpectRowsEqual(const std::vector<Row>& got, const std::vector<Row>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].kind, want[i].kind) << "row " << i;
    ASSERT_EQ(got[i].fields.size(), want[i].fields.size()) << "row " << i;
    for (size_t c = 0; c < want[i].fields.size(); ++c) {
      EXPECT_EQ(got[i].fields[c], want[i].fields[c])
          << "row " << i << " column " << c << ": got " << got[i].fields[c].ToString()
          << " want " << want[i].fields[c].ToString();
    }
  }
}

TEST(SqlServerFixtureTest, ExpectedRowsParse) {
  std::vector<Row> rows = ExpectedRows();
  ASSERT_EQ(rows.size(), 9u);
  EXPECT_EQ(rows[1].fields[2], Value::Str("Pocket gadget, \"deluxe\""));
  EXPECT_EQ(rows[2].fields[2], Value::Str("Unicode name, tab\there"));
}

TEST(SqlServerFixtureTest, SchemasOnDecodesToExpectedRows) {
  Decoder decoder;
  std::vector<Event> events;
  ExpectRowsEqual(DecodeAll(decoder, "sqlserver_products.schemas-on.tsv", &events), ExpectedRows());
  ASSERT_EQ(events.size(), 8u);
  // Keys are typed by the key schema.
  for (const Event& e : events) {
    ASSERT_EQ(e.key.size(), 1u);
    EXPECT_EQ(e.key[0].type(), ValueType::kInt32);
  }
  EXPECT_EQ(events[7].kind, EventKind::kTombstone);
  EXPECT_TRUE(events[7].rows.empty());
  EXPECT_EQ(events[7].key[0], Value::Int32(4));
  const SourceInfo& s0 = events[0].source;
  EXPECT_EQ(s0.connector, "sqlserver");
  EXPECT_EQ(s0.db, "inventory");
  EXPECT_EQ(s0.schema, "dbo");
  EXPECT_EQ(s0.table, "products");
  EXPECT_EQ(s0.snapshot, "true");
  EXPECT_EQ(s0.ts_ms, 1795166400000);
  EXPECT_TRUE(s0.change_lsn.empty());
  EXPECT_EQ(s0.commit_lsn, "0000002b:00000ab8:0003");
  EXPECT_EQ(events[0].op, 'r');
  EXPECT_EQ(events[0].SourceTableName(), "mssql.dbo.products");
  EXPECT_EQ(events[3].op, 'c');
  EXPECT_EQ(events[3].source.change_lsn, "0000002b:00000c10:0002");
  EXPECT_EQ(events[3].source.event_serial_no, 1);
  EXPECT_EQ(events[4].op, 'u');
  EXPECT_EQ(events[6].op, 'd');
  ASSERT_NE(events[0].value_schema, nullptr);
  EXPECT_EQ(events[0].value_schema->fields()[3].name, "weight");
  EXPECT_EQ(events[0].value_schema->schema().fields[3].type, ValueType::kDecimal);
}

TEST(SqlServerFixtureTest, SchemasOffWithSuppliedSchemaDecodesToExpectedRows) {
  std::string first = ReadLines(TestData("sqlserver_products.schemas-on.tsv"))[0];
  auto [key, value] = SplitKeyValue(first);
  Decoder decoder;
  ASSERT_TRUE(decoder.SetValueSchema("mssql.inventory.dbo.products", value).ok());
  ASSERT_TRUE(decoder.SetKeySchema("mssql.inventory.dbo.products", key).ok());
  std::vector<Event> events;
  ExpectRowsEqual(DecodeAll(decoder, "sqlserver_products.schemas-off.tsv", &events), ExpectedRows());
  EXPECT_EQ(events[0].key[0], Value::Int32(1));
  EXPECT_EQ(events[3].source.commit_lsn, "0000002b:00000c10:0005");
}

TEST(SqlServerFixtureTest, SchemasOffLearnsSchemaFromEarlierSchemasOnMessage) {
  std::string first = ReadLines(TestData("sqlserver_products.schemas-on.tsv"))[0];
  auto [key, value] = SplitKeyValue(first);
  Decoder decoder;
  Event event;
  ASSERT_TRUE(decoder.Decode("mssql.inventory.dbo.products", key, value, &event).ok());
  ExpectRowsEqual(DecodeAll(decoder, "sqlserver_products.schemas-off.tsv", nullptr), ExpectedRows());
}

TEST(SqlServerFixtureTest, SchemasOffWithoutSchemaDecodesByJsonType) {
  Decoder decoder;
  std::vector<Event> events;
  std::vector<Row> rows = DecodeAll(decoder, "sqlserver_products.schemas-off.tsv", &events);
  ASSERT_EQ(rows.size(), 9u);
  // Documented ambiguity: without a schema a base64 Decimal stays the string the
  // connector wrote and epoch-based times stay integers.
  EXPECT_EQ(rows[0].fields[0], Value::Int64(1));
  EXPECT_EQ(rows[0].fields[3], Value::Str("BOI="));
  EXPECT_EQ(rows[0].fields[6], Value::Int64(1795166130123456700));
  EXPECT_EQ(rows[0].fields[5], Value::Bool(true));
  EXPECT_EQ(rows[3].fields[2], Value());
  EXPECT_EQ(events[0].key[0], Value::Int64(1));
  const RowSchema* schema = decoder.ValueSchemaFor("mssql.inventory.dbo.products");
  ASSERT_NE(schema, nullptr);
  ASSERT_EQ(schema->size(), 10u);
  EXPECT_EQ(schema->fields()[9].name, "launch_date");
}

}  // namespace
}  // namespace cdcflow::debezium
