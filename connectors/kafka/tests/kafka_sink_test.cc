#include "connectors/kafka/kafka_sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "connectors/kafka/row_json.h"
#include "connectors/kafka/tests/mock_kafka.h"

namespace cdcflow::kafka {
namespace {

using ::cdcflow::kafka::testing::MockKafka;
using ::cdcflow::kafka::testing::PollRecords;
using ::cdcflow::kafka::testing::TestRecord;

Schema OrderSchema() {
  return Schema{{Field{"id", ValueType::kInt64, false}, Field{"name", ValueType::kString},
                 Field{"price", ValueType::kDecimal}}};
}

Row OrderRow(RowKind kind, int64_t id, std::string name, const char* price) {
  return Row{kind, {Value::Int64(id), Value::Str(std::move(name)),
                    Value::Dec(*Decimal::Parse(price))}};
}

std::string Json(const Value& v) {
  std::string out;
  AppendJsonValue(v, &out);
  return out;
}

TEST(RowJsonTest, ValuesAreExactAndTyped) {
  EXPECT_EQ(Json(Value::Null()), "null");
  EXPECT_EQ(Json(Value::Bool(true)), "true");
  EXPECT_EQ(Json(Value::Int32(-7)), "-7");
  EXPECT_EQ(Json(Value::Int64(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(Json(Value::Float64(0.1)), "0.1");
  EXPECT_EQ(Json(Value::Float64(NAN)), "\"NaN\"");
  EXPECT_EQ(Json(Value::Float64(-INFINITY)), "\"-Infinity\"");
  EXPECT_EQ(Json(Value::Dec(*Decimal::Parse("-0.0100"))), "-0.0100");
  EXPECT_EQ(Json(Value::Dec(*Decimal::Parse("123456789012345678901234567890123456789012.5"))),
            "123456789012345678901234567890123456789012.5");
  EXPECT_EQ(Json(Value::Str("a\"b\\c\n\x01\xc3\xa9")), "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
  EXPECT_EQ(Json(Value::Bin(std::string("\x00\xff", 2))), "\"AP8=\"");
  EXPECT_EQ(Json(Value::DateOf(Date{19753})), "\"2024-01-31\"");
  EXPECT_EQ(Json(Value::DateOf(Date{-1})), "\"1969-12-31\"");
  EXPECT_EQ(Json(Value::TimeOf(Time{(13 * 3600 + 45 * 60) * 1000000000LL + 250000000})),
            "\"13:45:00.25\"");
  EXPECT_EQ(Json(Value::TimeTzOf(TimeTz{3600LL * 1000000000, -5 * 3600})), "\"01:00:00-05:00\"");
  EXPECT_EQ(Json(Value::TimestampOf(Timestamp{-1, 999999999})),
            "\"1969-12-31T23:59:59.999999999\"");
  EXPECT_EQ(Json(Value::TimestampTzOf(TimestampTz{1706708700, 123000, 0})),
            "\"2024-01-31T13:45:00.000123Z\"");
  // The instant 13:45Z written with +05:30 reads 19:15+05:30.
  EXPECT_EQ(Json(Value::TimestampTzOf(TimestampTz{1706708700, 0, 19800})),
            "\"2024-01-31T19:15:00+05:30\"");
  Uuid u;
  for (int i = 0; i < 16; ++i) u.bytes[i] = static_cast<uint8_t>(i * 17);
  EXPECT_EQ(Json(Value::UuidOf(u)), "\"00112233-4455-6677-8899-aabbccddeeff\"");
  EXPECT_EQ(Json(Value::JsonOf("{\"a\":1}")), "\"{\\\"a\\\":1}\"");
  EXPECT_EQ(Json(Value::UnavailableMarker()), "\"__debezium_unavailable_value\"");
}

TEST(RowJsonTest, DebeziumEnvelope) {
  auto f = RowJsonFormatter::Create(SinkFormat::kDebeziumJson, OrderSchema(), {"id"});
  ASSERT_TRUE(f.ok());
  FormattedRecord r;
  ASSERT_TRUE(f->Format(OrderRow(RowKind::kInsert, 1, "pen", "1.50"), &r).ok());
  EXPECT_EQ(r.key, "{\"id\":1}");
  EXPECT_EQ(r.value,
            "{\"before\":null,\"after\":{\"id\":1,\"name\":\"pen\",\"price\":1.50},\"op\":\"c\"}");
  ASSERT_TRUE(f->Format(OrderRow(RowKind::kUpdateBefore, 1, "pen", "1.50"), &r).ok());
  EXPECT_EQ(r.value,
            "{\"before\":{\"id\":1,\"name\":\"pen\",\"price\":1.50},\"after\":null,\"op\":\"u\"}");
  ASSERT_TRUE(f->Format(OrderRow(RowKind::kUpdateAfter, 1, "pen", "2.00"), &r).ok());
  EXPECT_EQ(r.value,
            "{\"before\":null,\"after\":{\"id\":1,\"name\":\"pen\",\"price\":2.00},\"op\":\"u\"}");
  ASSERT_TRUE(f->Format(OrderRow(RowKind::kDelete, 1, "pen", "2.00"), &r).ok());
  EXPECT_EQ(r.value,
            "{\"before\":{\"id\":1,\"name\":\"pen\",\"price\":2.00},\"after\":null,\"op\":\"d\"}");
  EXPECT_FALSE(r.skip || r.tombstone);
}

TEST(RowJsonTest, ChangelogJsonCarriesTheRowKind) {
  auto f = RowJsonFormatter::Create(SinkFormat::kChangelogJson, OrderSchema(), {});
  ASSERT_TRUE(f.ok());
  FormattedRecord r;
  ASSERT_TRUE(f->Format(OrderRow(RowKind::kUpdateBefore, 2, "cup", "3"), &r).ok());
  EXPECT_FALSE(r.has_key);
  EXPECT_EQ(r.value, "{\"op\":\"-U\",\"id\":2,\"name\":\"cup\",\"price\":3}");
}

TEST(RowJsonTest, UpsertSkipsUpdateBeforeAndTombstonesDeletes) {
  auto f = RowJsonFormatter::Create(SinkFormat::kUpsertJson, OrderSchema(), {"name", "id"});
  ASSERT_TRUE(f.ok());
  FormattedRecord r;
  ASSERT_TRUE(f->Format(OrderRow(RowKind::kUpdateAfter, 2, "cup", "3"), &r).ok());
  EXPECT_EQ(r.key, "{\"name\":\"cup\",\"id\":2}");
  EXPECT_EQ(r.value, "{\"id\":2,\"name\":\"cup\",\"price\":3}");
  ASSERT_TRUE(f->Format(OrderRow(RowKind::kUpdateBefore, 2, "cup", "3"), &r).ok());
  EXPECT_TRUE(r.skip);
  ASSERT_TRUE(f->Format(OrderRow(RowKind::kDelete, 2, "cup", "3"), &r).ok());
  EXPECT_FALSE(r.skip);
  EXPECT_TRUE(r.tombstone);
  EXPECT_EQ(r.key, "{\"name\":\"cup\",\"id\":2}");
}

TEST(RowJsonTest, RejectsUnknownKeyFieldAndMismatchedRows) {
  EXPECT_THAT(RowJsonFormatter::Create(SinkFormat::kUpsertJson, OrderSchema(), {"sku"})
                  .status()
                  .ToString(),
              ::testing::HasSubstr("'sku'"));
  auto f = RowJsonFormatter::Create(SinkFormat::kChangelogJson, OrderSchema(), {});
  ASSERT_TRUE(f.ok());
  FormattedRecord r;
  EXPECT_EQ(f->Format(Row{RowKind::kInsert, {Value::Int64(1)}}, &r).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KafkaSinkTest, UpsertModeWritesValuesAndTombstonesByKey) {
  MockKafka kafka;
  kafka.CreateTopic("out", 2);
  auto config = KafkaSinkConfig::Parse({{"bootstrap.servers", kafka.bootstrap()},
                                        {"topic", "out"},
                                        {"format", "upsert-json"},
                                        {"key.fields", "id"},
                                        {"properties.log_level", "3"}});
  ASSERT_TRUE(config.ok()) << config.status();
  auto sink = KafkaSink::Create(*config, OrderSchema());
  ASSERT_TRUE(sink.ok()) << sink.status();
  std::vector<Row> rows = {OrderRow(RowKind::kInsert, 1, "pen", "1.50"),
                           OrderRow(RowKind::kInsert, 2, "cup", "3.00"),
                           OrderRow(RowKind::kUpdateBefore, 1, "pen", "1.50"),
                           OrderRow(RowKind::kUpdateAfter, 1, "pen", "1.75"),
                           OrderRow(RowKind::kDelete, 2, "cup", "3.00")};
  ASSERT_TRUE((*sink)->WriteBatch(rows).ok());
  auto state = (*sink)->PrepareCommit(1);
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_TRUE((*sink)->Commit(1).ok());
  KafkaSinkStats stats = (*sink)->stats();
  EXPECT_EQ(stats.records, 4);
  EXPECT_EQ(stats.skipped, 1);
  EXPECT_EQ(stats.tombstones, 1);
  EXPECT_EQ(stats.delivered, 4);  // all acknowledged by PrepareCommit

  auto source = KafkaSourceConfig::Parse(kafka.SourceOptions("out"));
  ASSERT_TRUE(source.ok());
  auto consumer = KafkaConsumer::Create(*source, 0, 1);
  ASSERT_TRUE(consumer.ok());
  auto records = PollRecords(**consumer, 4);
  ASSERT_EQ(records.size(), 4u);
  // Per key, in order (one key always lands in one partition).
  std::map<std::string, std::vector<std::string>> by_key;
  for (const TestRecord& r : records) by_key[r.key].push_back(r.null_value ? "<tombstone>" : r.value);
  EXPECT_THAT(by_key["{\"id\":1}"],
              ::testing::ElementsAre("{\"id\":1,\"name\":\"pen\",\"price\":1.50}",
                                     "{\"id\":1,\"name\":\"pen\",\"price\":1.75}"));
  EXPECT_THAT(by_key["{\"id\":2}"],
              ::testing::ElementsAre("{\"id\":2,\"name\":\"cup\",\"price\":3.00}", "<tombstone>"));
}

TEST(KafkaSinkTest, DeliveryFailureFailsTheCheckpoint) {
  MockKafka kafka;
  kafka.CreateTopic("out", 1);
  auto config = KafkaSinkConfig::Parse({{"bootstrap.servers", kafka.bootstrap()},
                                        {"topic", "out"},
                                        {"format", "changelog-json"},
                                        {"properties.log_level", "2"}});
  ASSERT_TRUE(config.ok());
  auto sink = KafkaSink::Create(*config, OrderSchema());
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(OrderRow(RowKind::kInsert, 1, "pen", "1.50")).ok());
  ASSERT_TRUE((*sink)->PrepareCommit(1).ok());
  rd_kafka_mock_push_request_errors(kafka.cluster(), /*Produce*/ 0, 3,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  ASSERT_TRUE((*sink)->Write(OrderRow(RowKind::kInsert, 2, "cup", "3.00")).ok());
  auto state = (*sink)->PrepareCommit(2);
  ASSERT_FALSE(state.ok());
  EXPECT_THAT(state.status().ToString(), ::testing::HasSubstr("checkpoint 2"));
  EXPECT_THAT(state.status().ToString(), ::testing::HasSubstr("'out'"));
  EXPECT_EQ((*sink)->stats().failed, 1);
  EXPECT_FALSE((*sink)->Finish().ok());
}

class FakeContext : public RuntimeContext {
 public:
  std::string_view operator_name() const override { return "kafka-sink"; }
  int subtask_index() const override { return 0; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return 0; }
  JobArgs args_;
};

TEST(KafkaSinkFunctionTest, WritesBatchesThroughTheSdkInterface) {
  MockKafka kafka;
  kafka.CreateTopic("out", 1);
  auto config = KafkaSinkConfig::Parse({{"bootstrap.servers", kafka.bootstrap()},
                                        {"topic", "out"},
                                        {"format", "changelog-json"},
                                        {"properties.log_level", "3"}});
  ASSERT_TRUE(config.ok());
  SinkFactory factory = KafkaSinkFactory(*config, OrderSchema());
  std::unique_ptr<SinkFunction> sink = factory();
  FakeContext ctx;
  ASSERT_TRUE(sink->Open(ctx).ok());
  RowBatch batch;
  batch.Append(OrderRow(RowKind::kInsert, 7, "mug", "9.99"));
  batch.Append(OrderRow(RowKind::kDelete, 7, "mug", "9.99"));
  ASSERT_TRUE(sink->WriteBatch(batch).ok());
  ASSERT_TRUE(sink->PrepareCommit(1).ok());
  ASSERT_TRUE(sink->Commit(1).ok());
  ASSERT_TRUE(sink->Finish().ok());
  ASSERT_TRUE(sink->Close().ok());

  auto source = KafkaSourceConfig::Parse(kafka.SourceOptions("out"));
  ASSERT_TRUE(source.ok());
  auto consumer = KafkaConsumer::Create(*source, 0, 1);
  ASSERT_TRUE(consumer.ok());
  auto records = PollRecords(**consumer, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].value, "{\"op\":\"+I\",\"id\":7,\"name\":\"mug\",\"price\":9.99}");
  EXPECT_EQ(records[1].value, "{\"op\":\"-D\",\"id\":7,\"name\":\"mug\",\"price\":9.99}");
}

}  // namespace
}  // namespace cdcflow::kafka
