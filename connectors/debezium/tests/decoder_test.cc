// Decoder behaviour on hand-written PostgreSQL-style events: every logical type,
// the op mapping, control events, the source block and error messages.
#include "connectors/debezium/decoder.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/debezium/logical_types.h"
#include "connectors/debezium/tests/test_encoder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cdcflow::debezium {
namespace {

using testing::Column;
using ::testing::HasSubstr;

constexpr char kTopic[] = "pg.public.orders";

const std::vector<Column>& AllTypes() {
  static const auto* cols = new std::vector<Column>{
      {"id", "int32", "", 0, false},
      {"small", "int16", "", 0, true},
      {"big", "int64", "", 0, true},
      {"real", "float", "", 0, true},
      {"dbl", "double", "", 0, true},
      {"flag", "boolean", "", 0, true},
      {"txt", "string", "", 0, true},
      {"raw", "bytes", "", 0, true},
      {"price", "bytes", "org.apache.kafka.connect.data.Decimal", 2, true},
      {"num", "struct", "io.debezium.data.VariableScaleDecimal", 0, true},
      {"d", "int32", "io.debezium.time.Date", 0, true},
      {"t_ms", "int32", "io.debezium.time.Time", 0, true},
      {"t_us", "int64", "io.debezium.time.MicroTime", 0, true},
      {"t_ns", "int64", "io.debezium.time.NanoTime", 0, true},
      {"ts_ms", "int64", "io.debezium.time.Timestamp", 0, true},
      {"ts_us", "int64", "io.debezium.time.MicroTimestamp", 0, true},
      {"ts_ns", "int64", "io.debezium.time.NanoTimestamp", 0, true},
      {"tstz", "string", "io.debezium.time.ZonedTimestamp", 0, true},
      {"ttz", "string", "io.debezium.time.ZonedTime", 0, true},
      {"u", "string", "io.debezium.data.Uuid", 0, true},
      {"j", "string", "io.debezium.data.Json", 0, true},
      {"e", "string", "io.debezium.data.Enum", 0, true},
      {"bits", "bytes", "io.debezium.data.Bits", 0, true},
      {"kdate", "int32", "org.apache.kafka.connect.data.Date", 0, true},
      {"ktime", "int32", "org.apache.kafka.connect.data.Time", 0, true},
      {"kts", "int64", "org.apache.kafka.connect.data.Timestamp", 0, true},
      {"dur", "int64", "io.debezium.time.MicroDuration", 0, true},
      {"ival", "string", "io.debezium.time.Interval", 0, true},
      {"arr", "array", "", 0, true},
      {"pt", "struct", "io.debezium.data.geometry.Point", 0, true},
      {"dstr", "string", "", 0, true},
      {"ddbl", "float64", "", 0, true},
  };
  return *cols;
}

constexpr char kAllTypesAfter[] =
    R"({"id":7,"small":-3,"big":9007199254740993,"real":1.5,"dbl":-2.25,"flag":true,)"
    R"("txt":"h\u00e9llo \"q\"","raw":"AP8=","price":"/zg=",)"
    R"("num":{"scale":45,"value":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"},)"
    R"("d":-1,"t_ms":3723004,"t_us":86400000000,"t_ns":1,"ts_ms":-1,"ts_us":1700000000123456,)"
    R"("ts_ns":-100,"tstz":"2026-11-20T10:15:30.5+02:00","ttz":"23:59:59.999999Z",)"
    R"("u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","j":"{\"a\": [1, 2]}","e":"shipped",)"
    R"("bits":"BQ==","kdate":19000,"ktime":1000,"kts":1700000000000,"dur":-3600000000,)"
    R"("ival":"P1Y2M3DT4H5M6.78S","arr":["a",null,"c"],"pt":{"x":1.5,"y":-2.0,"wkb":"AQE=","srid":null},)"
    R"("dstr":"12345.6789","ddbl":3.14})";

std::string Envelope(const std::string& op, const std::string& before, const std::string& after) {
  return absl::StrCat(R"({"before":)", before, R"(,"after":)", after,
                      R"(,"source":{"version":"2.5.0.Final","connector":"postgresql","name":"pg",)"
                      R"("ts_ms":1700000000000,"snapshot":"false","db":"shop",)"
                      R"("sequence":"[\"24023119\",\"24023128\"]","schema":"public","table":"orders",)"
                      R"("txId":777,"lsn":24023128,"xmin":null},"op":")",
                      op, R"(","ts_ms":1700000000123,"transaction":null})");
}

class DecoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(decoder_.SetValueSchema(kTopic, testing::StructSchemaJson(AllTypes(), "V")).ok());
  }
  absl::Status Decode(std::string_view key, std::string_view value) {
    return decoder_.Decode(kTopic, key, value, &event_);
  }
  Decoder decoder_;
  Event event_;
};

TEST_F(DecoderTest, DecodesEveryLogicalTypeExactly) {
  ASSERT_TRUE(Decode(R"({"id":7})", Envelope("c", "null", kAllTypesAfter)).ok());
  ASSERT_EQ(event_.rows.size(), 1u);
  const Row& r = event_.rows[0];
  EXPECT_EQ(r.kind, RowKind::kInsert);
  ASSERT_EQ(r.fields.size(), AllTypes().size());
  int i = 0;
  EXPECT_EQ(r.fields[i++], Value::Int32(7));
  EXPECT_EQ(r.fields[i++], Value::Int32(-3));
  EXPECT_EQ(r.fields[i++], Value::Int64(9007199254740993));  // not rounded through double
  EXPECT_EQ(r.fields[i++], Value::Float64(1.5));
  EXPECT_EQ(r.fields[i++], Value::Float64(-2.25));
  EXPECT_EQ(r.fields[i++], Value::Bool(true));
  EXPECT_EQ(r.fields[i++], Value::Str("h\xC3\xA9llo \"q\""));
  EXPECT_EQ(r.fields[i++], Value::Bin(std::string("\x00\xff", 2)));
  EXPECT_EQ(r.fields[i++], Value::Dec(Decimal::FromInt128(-200, 2)));  // 0xff38 = -200
  // 0x01 followed by 25 zero bytes and 0x01: 2^208 + 1, scale 45 (past 38 digits).
  std::string big("\x01", 1);
  big += std::string(25, '\0');
  big += '\x01';
  EXPECT_EQ(r.fields[i++], Value::Dec(Decimal::FromTwosComplement(big, 45)));
  EXPECT_EQ(r.fields[i++], Value::DateOf(Date{-1}));
  EXPECT_EQ(r.fields[i++], Value::TimeOf(Time{3723004LL * 1'000'000}));
  EXPECT_EQ(r.fields[i++], Value::TimeOf(Time{86'400'000'000'000LL}));
  EXPECT_EQ(r.fields[i++], Value::TimeOf(Time{1}));
  EXPECT_EQ(r.fields[i++], Value::TimestampOf(Timestamp{-1, 999'000'000}));
  EXPECT_EQ(r.fields[i++], Value::TimestampOf(Timestamp{1700000000, 123'456'000}));
  EXPECT_EQ(r.fields[i++], Value::TimestampOf(Timestamp{-1, 999'999'900}));
  EXPECT_EQ(r.fields[i++],
            Value::TimestampTzOf(TimestampTz{DaysFromCivil(2026, 11, 20) * 86400 + 8 * 3600 + 15 * 60 + 30,
                                             500'000'000, 7200}));
  EXPECT_EQ(r.fields[i++], Value::TimeTzOf(TimeTz{86'399'999'999'000LL, 0}));
  Uuid u;
  ASSERT_TRUE(ParseUuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", &u));
  EXPECT_EQ(r.fields[i++], Value::UuidOf(u));
  EXPECT_EQ(r.fields[i++], Value::JsonOf("{\"a\": [1, 2]}"));
  EXPECT_EQ(r.fields[i++], Value::Str("shipped"));
  EXPECT_EQ(r.fields[i++], Value::Bin("\x05"));
  EXPECT_EQ(r.fields[i++], Value::DateOf(Date{19000}));
  EXPECT_EQ(r.fields[i++], Value::TimeOf(Time{1'000'000'000}));
  EXPECT_EQ(r.fields[i++], Value::TimestampOf(Timestamp{1700000000, 0}));
  EXPECT_EQ(r.fields[i++], Value::Int64(-3600000000));
  EXPECT_EQ(r.fields[i++], Value::Str("P1Y2M3DT4H5M6.78S"));
  EXPECT_EQ(r.fields[i++], Value::JsonOf(R"(["a",null,"c"])"));
  EXPECT_EQ(r.fields[i++], Value::JsonOf(R"({"x":1.5,"y":-2.0,"wkb":"AQE=","srid":null})"));
  EXPECT_EQ(r.fields[i++], Value::Str("12345.6789"));  // decimal.handling.mode=string
  EXPECT_EQ(r.fields[i++], Value::Float64(3.14));      // decimal.handling.mode=double
  EXPECT_EQ(event_.key, std::vector<Value>{Value::Int32(7)});  // typed from the value schema
}

TEST_F(DecoderTest, NullsDecodeAsNull) {
  std::string after = "{";
  for (size_t i = 0; i < AllTypes().size(); ++i) {
    absl::StrAppend(&after, i ? "," : "", "\"", AllTypes()[i].name, "\":", i == 0 ? "1" : "null");
  }
  after += "}";
  ASSERT_TRUE(Decode("", Envelope("r", "null", after)).ok());
  ASSERT_EQ(event_.rows.size(), 1u);
  for (size_t i = 1; i < AllTypes().size(); ++i) EXPECT_TRUE(event_.rows[0].fields[i].is_null()) << i;
  EXPECT_TRUE(event_.key.empty());
}

TEST_F(DecoderTest, MissingFieldsAreNullAndOrderDoesNotMatter) {
  ASSERT_TRUE(Decode("", Envelope("c", "null", R"({"txt":"x","id":3})")).ok());
  const Row& r = event_.rows[0];
  EXPECT_EQ(r.fields[0], Value::Int32(3));
  EXPECT_EQ(r.fields[6], Value::Str("x"));
  EXPECT_TRUE(r.fields[1].is_null());
}

TEST_F(DecoderTest, OpMapping) {
  ASSERT_TRUE(Decode("", Envelope("u", R"({"id":1,"txt":"a"})", R"({"id":1,"txt":"b"})")).ok());
  ASSERT_EQ(event_.rows.size(), 2u);
  EXPECT_EQ(event_.rows[0].kind, RowKind::kUpdateBefore);
  EXPECT_EQ(event_.rows[0].fields[6], Value::Str("a"));
  EXPECT_EQ(event_.rows[1].kind, RowKind::kUpdateAfter);
  EXPECT_EQ(event_.rows[1].fields[6], Value::Str("b"));

  ASSERT_TRUE(Decode("", Envelope("u", "null", R"({"id":1,"txt":"c"})")).ok());
  ASSERT_EQ(event_.rows.size(), 1u);
  EXPECT_EQ(event_.rows[0].kind, RowKind::kUpdateAfter);

  ASSERT_TRUE(Decode("", Envelope("d", R"({"id":1,"txt":null})", "null")).ok());
  ASSERT_EQ(event_.rows.size(), 1u);
  EXPECT_EQ(event_.rows[0].kind, RowKind::kDelete);
  EXPECT_EQ(event_.rows[0].fields[0], Value::Int32(1));
  EXPECT_EQ(event_.op, 'd');

  ASSERT_TRUE(Decode("", Envelope("r", "null", R"({"id":2})")).ok());
  ASSERT_EQ(event_.rows.size(), 1u);
  EXPECT_EQ(event_.rows[0].kind, RowKind::kInsert);
  EXPECT_EQ(event_.kind, EventKind::kChange);
}

TEST_F(DecoderTest, TombstonesAndControlEvents) {
  for (std::string_view v : {"", "null", " null\n"}) {
    ASSERT_TRUE(Decode(R"({"id":1})", v).ok());
    EXPECT_EQ(event_.kind, EventKind::kTombstone);
    EXPECT_TRUE(event_.rows.empty());
    EXPECT_EQ(event_.key, std::vector<Value>{Value::Int32(1)});
  }
  ASSERT_TRUE(Decode("", Envelope("t", "null", "null")).ok());
  EXPECT_EQ(event_.kind, EventKind::kTruncate);
  EXPECT_TRUE(event_.rows.empty());
  EXPECT_EQ(event_.SourceTableName(), "pg.public.orders");

  ASSERT_TRUE(Decode(R"({"prefix":"audit"})",
                     R"({"op":"m","ts_ms":1,"source":{"connector":"postgresql","name":"pg","lsn":5},)"
                     R"("message":{"prefix":"audit","content":"aGVsbG8="}})")
                  .ok());
  EXPECT_EQ(event_.kind, EventKind::kMessage);
  EXPECT_EQ(event_.message_prefix, "audit");
  EXPECT_EQ(event_.message_content, "hello");
  EXPECT_EQ(event_.source.lsn, 5);
  // A schemas-on tombstone.
  ASSERT_TRUE(Decode("", R"({"schema":null,"payload":null})").ok());
  EXPECT_EQ(event_.kind, EventKind::kTombstone);
}

TEST_F(DecoderTest, PostgresSourceBlock) {
  ASSERT_TRUE(Decode("", Envelope("c", "null", R"({"id":1})")).ok());
  const SourceInfo& s = event_.source;
  EXPECT_EQ(s.version, "2.5.0.Final");
  EXPECT_EQ(s.connector, "postgresql");
  EXPECT_EQ(s.name, "pg");
  EXPECT_EQ(s.db, "shop");
  EXPECT_EQ(s.schema, "public");
  EXPECT_EQ(s.table, "orders");
  EXPECT_EQ(s.snapshot, "false");
  EXPECT_EQ(s.ts_ms, 1700000000000);
  EXPECT_EQ(s.tx_id, 777);
  EXPECT_EQ(s.lsn, 24023128);
  EXPECT_FALSE(s.xmin.has_value());
  EXPECT_EQ(s.sequence, R"(["24023119","24023128"])");
  EXPECT_EQ(event_.ts_ms, 1700000000123);
}

// Strings are read straight from the input unless they hold an escape (8 bytes
// at a time), and decoded rows are refilled in place: check texts of every
// length around the word size, escapes at each position, and a column that
// changes between text, null, placeholder and text across reused events.
TEST_F(DecoderTest, StringsWithAndWithoutEscapesAcrossReusedEvents) {
  for (size_t len = 0; len <= 19; ++len) {
    for (size_t esc = 0; esc <= len; ++esc) {
      std::string plain(len, 'a');
      for (size_t i = 0; i < len; ++i) plain[i] = static_cast<char>('a' + i % 26);
      std::string json_text = plain;
      std::string expected = plain;
      if (esc < len) {  // put an escaped quote at position esc
        json_text = plain.substr(0, esc) + "\\\"" + plain.substr(esc);
        expected = plain.substr(0, esc) + "\"" + plain.substr(esc);
      }
      ASSERT_TRUE(Decode(absl::StrCat(R"({"id":)", len, "}"),
                         Envelope("c", "null",
                                  absl::StrCat(R"({"id":1,"txt":")", json_text, R"(","e":")",
                                               plain, R"("})")))
                      .ok())
          << json_text;
      ASSERT_EQ(event_.rows.size(), 1u);
      EXPECT_EQ(event_.rows[0].fields[6], Value::Str(expected)) << json_text;
      EXPECT_EQ(event_.rows[0].fields[21], Value::Str(plain));
      EXPECT_EQ(event_.source.table, "orders");
      EXPECT_EQ(event_.source.sequence, R"(["24023119","24023128"])");
    }
  }
  const std::vector<std::pair<std::string, Value>> steps = {
      {R"("a fairly long text that needs the heap")", Value::Str("a fairly long text that needs the heap")},
      {"null", Value()},
      {R"("__debezium_unavailable_value")", Value::UnavailableMarker()},
      {R"("short")", Value::Str("short")},
      {R"("tab\there")", Value::Str("tab\there")},
  };
  for (int round = 0; round < 2; ++round) {
    for (const auto& [json, want] : steps) {
      ASSERT_TRUE(Decode("", Envelope("u", absl::StrCat(R"({"id":1,"txt":)", json, "}"),
                                      absl::StrCat(R"({"id":1,"j":)", json, R"(,"txt":"x"})")))
                      .ok())
          << json;
      ASSERT_EQ(event_.rows.size(), 2u);
      EXPECT_EQ(event_.rows[0].fields[6], want) << json;
      Value want_json = want.type() == ValueType::kString ? Value::JsonOf(want.as_string()) : want;
      EXPECT_EQ(event_.rows[1].fields[20], want_json) << json;
      EXPECT_EQ(event_.rows[1].fields[6], Value::Str("x"));
    }
  }
}

TEST_F(DecoderTest, UnavailableToastPlaceholderIsDistinctFromText) {
  ASSERT_TRUE(Decode("", Envelope("u", "null",
                                  R"({"id":1,"txt":"__debezium_unavailable_value",)"
                                  R"("j":"__debezium_unavailable_value",)"
                                  R"("raw":"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==",)"
                                  R"("arr":["__debezium_unavailable_value"],"e":"x"})"))
                  .ok());
  const Row& r = event_.rows[0];
  EXPECT_EQ(r.fields[6], Value::UnavailableMarker());
  EXPECT_NE(r.fields[6], Value::Str("__debezium_unavailable_value"));
  EXPECT_EQ(r.fields[7], Value::UnavailableMarker());
  EXPECT_EQ(r.fields[20], Value::UnavailableMarker());
  EXPECT_EQ(r.fields[28], Value::UnavailableMarker());
}

// A fuzzer's input (connectors/debezium/fuzz/corpus/regression-field-without-key): on
// this malformed JSON simdjson hands out an object field without a key; the decoder
// must answer with an error, not read through a null key.
TEST(DecoderMalformedTest, FieldWithoutAKeyIsAnErrorNotACrash) {
  std::ifstream in(std::string(CDCFLOW_DEBEZIUM_TESTDATA) +
                       "/../../fuzz/corpus/regression-field-without-key",
                   std::ios::binary);
  ASSERT_TRUE(in) << "missing corpus file";
  std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(input.size(), 1u);
  const std::string rest = input.substr(1);  // the fuzzer's mode byte: 0, no schema
  const size_t tab = rest.find('\t');
  ASSERT_NE(tab, std::string::npos);
  Decoder decoder;
  Event event;
  for (int pass = 0; pass < 2; ++pass) {
    absl::Status s = decoder.Decode("t", rest.substr(0, tab), rest.substr(tab + 1), &event);
    EXPECT_FALSE(s.ok());
  }
}

TEST_F(DecoderTest, ErrorsNameFieldPathAndReason) {
  struct Case {
    std::string after;
    std::string message;
  };
  std::vector<Case> cases = {
      {R"({"id":1,"price":12.5})", "after.price: expected base64 string for Decimal, got number"},
      {R"({"id":1,"price":"!!"})", "after.price: invalid base64 for Decimal"},
      {R"({"id":"1"})", "after.id: expected integer for int32, got string"},
      {R"({"id":4294967296})", "after.id: int32 out of range"},
      {R"({"id":1,"big":1.5})", "after.big: expected integer for int64, got 1.5"},
      {R"({"id":1,"flag":1})", "after.flag: expected boolean, got number"},
      {R"({"id":1,"ts_us":"x"})", "after.ts_us: expected integer for MicroTimestamp, got string"},
      {R"({"id":1,"tstz":"2026-11-20"})", "after.tstz: invalid ZonedTimestamp '2026-11-20'"},
      {R"({"id":1,"u":"nope"})", "after.u: invalid Uuid 'nope'"},
      {R"({"id":1,"num":{"scale":2}})", "after.num: VariableScaleDecimal without 'value'"},
      {R"({"id":1,"num":{"scale":"2","value":"AQ=="}})", "after.num.scale: expected integer"},
      {R"({"id":1,"t_ms":-5})", "after.t_ms: Time out of range: -5"},
      {R"({"id":1,"nosuch":5})", "after.nosuch: field not in the topic's schema"},
      {R"({"id":1,"id":2})", "after.id: duplicate field"},
      {R"([1,2])", "after: expected object, got array"},
      {R"({"id":1,"arr":"x"})", "after.arr: expected array or object"},
  };
  for (const Case& c : cases) {
    absl::Status s = Decode("", Envelope("c", "null", c.after));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.after;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.message)) << c.after;
  }
  EXPECT_THAT(std::string(Decode("", R"({"before":null,"after":null})").message()),
              HasSubstr("op: missing"));
  EXPECT_THAT(std::string(Decode("", Envelope("x", "null", "null")).message()),
              HasSubstr("op: unknown operation 'x'"));
  EXPECT_THAT(std::string(Decode("", Envelope("c", "null", "null")).message()),
              HasSubstr("after: missing for op 'c'"));
  EXPECT_THAT(std::string(Decode("", Envelope("d", "null", "null")).message()),
              HasSubstr("before: missing for op 'd'"));
  EXPECT_THAT(std::string(Decode("", "[1]").message()), HasSubstr("value: expected object, got array"));
  EXPECT_THAT(std::string(Decode("", "{\"op\":").message()), HasSubstr("invalid JSON"));
  EXPECT_THAT(std::string(Decode("", Envelope("c", "null", R"({"id":1})") + " 5").message()),
              HasSubstr("value: invalid JSON"));
  EXPECT_THAT(std::string(Decode("[1]", Envelope("c", "null", R"({"id":1})")).message()),
              HasSubstr("key: expected object, got array"));
  EXPECT_THAT(std::string(Decode("", R"({"schema":{"type":"struct","fields":[{"type":"int32","field":"id"}]},"payload":{"op":"c","after":{"id":1,"x":2}}})").message()),
              HasSubstr("after.x: field not in the topic's schema"));
}

TEST_F(DecoderTest, SchemasOnMessageSchemaIsCachedAndReplaced) {
  std::vector<Column> v1 = {{"id", "int32", "", 0, false}, {"amount", "bytes", "org.apache.kafka.connect.data.Decimal", 2, true}};
  std::vector<Column> v2 = {{"id", "int32", "", 0, false}, {"amount", "bytes", "org.apache.kafka.connect.data.Decimal", 3, true}};
  std::vector<Value> row = {Value::Int32(1), Value::Dec(Decimal::FromInt128(1234, 2))};
  testing::EnvelopeSpec spec;
  spec.after = &row;
  Decoder d;
  Event e;
  ASSERT_TRUE(d.Decode("t", "", testing::EncodeEnvelope(v1, spec, true), &e).ok());
  EXPECT_EQ(e.rows[0].fields[1].as_decimal().scale(), 2);
  const RowSchema* first = e.value_schema;
  ASSERT_TRUE(d.Decode("t", "", testing::EncodeEnvelope(v1, spec, true), &e).ok());
  EXPECT_EQ(e.value_schema, first);  // same text: not parsed again
  std::vector<Value> row3 = {Value::Int32(1), Value::Dec(Decimal::FromInt128(1234, 3))};
  spec.after = &row3;
  ASSERT_TRUE(d.Decode("t", "", testing::EncodeEnvelope(v2, spec, true), &e).ok());
  EXPECT_EQ(e.rows[0].fields[1], Value::Dec(Decimal::FromInt128(1234, 3)));
}

TEST(DecoderSchemaTest, RepeatedSchemaTextIsSkippedNotParsedAgain) {
  const std::vector<Column> v1 = {{"id", "int32", "", 0, false},
                                  {"amount", "bytes", "org.apache.kafka.connect.data.Decimal", 2, true}};
  const std::vector<Column> v2 = {{"id", "int32", "", 0, false},
                                  {"amount", "bytes", "org.apache.kafka.connect.data.Decimal", 3, true}};
  const std::vector<Column> k = {{"id", "int32", "", 0, false}};
  std::vector<Value> row = {Value::Int32(1), Value::Dec(Decimal::FromInt128(1234, 2))};
  const std::vector<Value> key = {Value::Int32(1)};
  testing::EnvelopeSpec spec;
  spec.after = &row;
  const std::string key_text = testing::EncodeKey(k, key, true);
  const std::string first = testing::EncodeEnvelope(v1, spec, true);
  Decoder d;
  Event e;
  ASSERT_TRUE(d.Decode("t", key_text, first, &e).ok());
  EXPECT_EQ(d.known_schema_skips(), 0u);  // nothing known yet
  ASSERT_EQ(e.rows.size(), 1u);
  const std::vector<Value> decoded = e.rows[0].fields;
  const RowSchema* schema = e.value_schema;
  ASSERT_TRUE(d.Decode("t", key_text, first, &e).ok());
  EXPECT_EQ(d.known_schema_skips(), 2u);  // the key's and the value's
  ASSERT_EQ(e.rows.size(), 1u);
  EXPECT_EQ(e.rows[0].fields, decoded);
  EXPECT_EQ(e.value_schema, schema);
  EXPECT_EQ(e.key, key);

  // Another schema text: parsed (and known from then on).
  std::vector<Value> row3 = {Value::Int32(1), Value::Dec(Decimal::FromInt128(1234, 3))};
  spec.after = &row3;
  const std::string second = testing::EncodeEnvelope(v2, spec, true);
  ASSERT_TRUE(d.Decode("t", "", second, &e).ok());
  EXPECT_EQ(d.known_schema_skips(), 2u);
  EXPECT_EQ(e.rows[0].fields[1], Value::Dec(Decimal::FromInt128(1234, 3)));

  // The same schema with other spacing: decoded whole, same result.
  std::string spaced = second;
  spaced.insert(1, " ");
  ASSERT_TRUE(d.Decode("t", "", spaced, &e).ok()) << spaced;
  EXPECT_EQ(d.known_schema_skips(), 2u);
  EXPECT_EQ(e.rows[0].fields[1], Value::Dec(Decimal::FromInt128(1234, 3)));

  // A known schema followed by a broken payload: the error still names the field.
  const size_t at = second.find("\"id\":1");
  ASSERT_NE(at, std::string::npos);
  std::string broken = second;
  broken.replace(at, 6, "\"id\":\"x\"");
  const absl::Status s = d.Decode("t", "", broken, &e);
  EXPECT_EQ(d.known_schema_skips(), 3u);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("id"));

  // A message cut short after a known schema is an error, not a crash.
  const std::string cut = second.substr(0, second.find("\"payload\":") + 11);
  EXPECT_FALSE(d.Decode("t", "", cut, &e).ok());
}

TEST(DecoderSchemaTest, KindsFromConnectTypes) {
  EXPECT_EQ(KindFor("int64", "io.debezium.time.MicroTimestamp").value(), FieldKind::kTimestampMicros);
  EXPECT_EQ(KindFor("int32", "io.debezium.time.Year").value(), FieldKind::kInt32);
  EXPECT_EQ(KindFor("string", "io.debezium.data.Xml").value(), FieldKind::kString);
  EXPECT_EQ(KindFor("string", "org.apache.kafka.connect.data.Decimal").value(), FieldKind::kDecimalString);
  EXPECT_FALSE(KindFor("int64", "io.debezium.time.Date").ok());
  EXPECT_FALSE(KindFor("int128", "").ok());
  EXPECT_THAT(std::string(ParseRowSchema(R"({"type":"struct","fields":[{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","field":"p"}]})").status().message()),
              HasSubstr("schema.p: Decimal without a 'scale' parameter"));
  EXPECT_FALSE(ParseRowSchema("{").ok());
}

TEST(DecoderSchemaTest, DecimalStringColumnsWhenTheJobSaysSo) {
  Decoder d;
  ASSERT_TRUE(d.SetValueSchema("t", R"({"type":"struct","fields":[{"type":"string","name":"org.apache.kafka.connect.data.Decimal","field":"p"}]})").ok());
  Event e;
  ASSERT_TRUE(d.Decode("t", "", R"({"op":"c","after":{"p":"-12.340"}})", &e).ok());
  EXPECT_EQ(e.rows[0].fields[0], Value::Dec(Decimal::FromInt128(-12340, 3)));
  EXPECT_THAT(std::string(d.Decode("t", "", R"({"op":"c","after":{"p":"1e5"}})", &e).message()),
              HasSubstr("after.p:"));
}


TEST(SourcePositionTest, AppendedPositionsGrowPerRowAndSnapshotReadsComeFirst) {
  DecoderOptions options;
  options.append_source_position = true;
  Decoder decoder(options);
  Event event;
  auto envelope = [](absl::string_view snapshot, int64_t lsn, absl::string_view op,
                     absl::string_view before, absl::string_view after) {
    return absl::StrCat(R"({"before":)", before, R"(,"after":)", after,
                        R"(,"source":{"connector":"postgresql","name":"pg","snapshot":")", snapshot,
                        R"(","db":"shop","schema":"public","table":"orders","txId":1,"lsn":)", lsn,
                        R"(},"op":")", op, R"("})");
  };
  auto position = [&](size_t row) {
    const Value& v = event.rows[row].fields.back();
    EXPECT_EQ(v.type(), ValueType::kBytes);
    return v.as_bytes();
  };
  ASSERT_TRUE(decoder.Decode("t", "", envelope("true", 500, "r", "null", R"({"id":1})"), &event).ok());
  ASSERT_EQ(event.rows.size(), 1u);
  EXPECT_EQ(event.rows[0].fields.size(), 2u);  // id + position
  const std::string snapshot_read = position(0);
  // In flight at the snapshot: an older lsn, still newer than the snapshot read.
  ASSERT_TRUE(decoder.Decode("t", "", envelope("false", 400, "u", R"({"id":1})", R"({"id":1})"),
                             &event).ok());
  ASSERT_EQ(event.rows.size(), 2u);
  EXPECT_LT(snapshot_read, position(0));
  EXPECT_LT(position(0), position(1));  // -U before +U of one event
  const std::string update_after = position(1);
  ASSERT_TRUE(decoder.Decode("t", "", envelope("false", 401, "d", R"({"id":1})", "null"), &event).ok());
  EXPECT_LT(update_after, position(0));

  SourceInfo sql;
  sql.connector = "sqlserver";
  sql.snapshot = "false";
  sql.commit_lsn = "0000002b:00000c10:0005";
  sql.change_lsn = "0000002b:00000c10:0002";
  sql.event_serial_no = 1;
  auto a = EncodeSourcePosition(sql);
  ASSERT_TRUE(a.ok()) << a.status();
  sql.event_serial_no = 2;
  auto b = EncodeSourcePosition(sql);
  sql.commit_lsn = "0000002b:00000d00:0001";
  sql.change_lsn.clear();
  sql.event_serial_no.reset();
  auto c = EncodeSourcePosition(sql);
  ASSERT_TRUE(b.ok() && c.ok());
  EXPECT_LT(*a, *b);
  EXPECT_LT(*b, *c);
  sql.commit_lsn = "zz";
  EXPECT_NE(EncodeSourcePosition(sql).status().message().find("commit_lsn"), std::string::npos);
  EXPECT_FALSE(EncodeSourcePosition(SourceInfo()).ok());
  // Without a position in the source block the event is refused.
  auto s = decoder.Decode("t", "", R"({"before":null,"after":{"id":1},"source":{},"op":"c"})", &event);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cdcflow::debezium
