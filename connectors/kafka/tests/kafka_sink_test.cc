#include "connectors/kafka/kafka_sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

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
  EXPECT_EQ(Json(Value::DateOf(Date{2932897})), "\"10000-01-01\"");  // more than 4 digits
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
  auto latency = UnexportedMetricGroup().Histogram("kafka_sink_test_latency_seconds", "x");
  ASSERT_TRUE(latency.ok());
  auto sink = KafkaSink::Create(*config, OrderSchema(), KafkaSinkScope{"sink", 0, 1, *latency});
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
  EXPECT_EQ((*latency)->Count(), 4u);  // one latency per acknowledged record
  EXPECT_GT((*latency)->Sum(), 0.0);

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

// ---- exactly-once (transactions on librdkafka's mock cluster) ----

KafkaSinkConfig ExactlyOnceConfig(const MockKafka& kafka, const std::string& topic,
                                  const std::string& pool = "3") {
  auto config = KafkaSinkConfig::Parse({{"bootstrap.servers", kafka.bootstrap()},
                                        {"topic", topic},
                                        {"format", "changelog-json"},
                                        {"sink.delivery-guarantee", "exactly-once"},
                                        {"sink.transactional-id-prefix", "job1"},
                                        {"sink.transaction.pool-size", pool},
                                        {"sink.flush-timeout-ms", "10000"},
                                        {"properties.log_level", "2"}});
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

std::vector<Row> Orders(int first, int count) {
  std::vector<Row> rows;
  for (int i = first; i < first + count; ++i) {
    rows.push_back(OrderRow(RowKind::kInsert, i, "item" + std::to_string(i), "1.00"));
  }
  return rows;
}

std::vector<TestRecord> ReadAll(MockKafka& kafka, const std::string& topic, size_t count) {
  auto source = KafkaSourceConfig::Parse(kafka.SourceOptions(topic));
  EXPECT_TRUE(source.ok());
  auto consumer = KafkaConsumer::Create(*source, 0, 1);
  EXPECT_TRUE(consumer.ok());
  return PollRecords(**consumer, count, 5000);
}

TEST(KafkaSinkStateTest, RoundTripsAndRejectsCorruption) {
  KafkaSinkState st;
  st.topic = "out";
  st.vertex = "sink";
  st.subtask = 1;
  st.parallelism = 3;
  st.pool_size = 4;
  st.next_sequence = 12;
  PreparedTransaction t;
  t.checkpoint_id = 7;
  t.sequence = 11;
  t.slot = 2;
  t.records = 5;
  t.offsets[0] = {OffsetRange{3, 4}, OffsetRange{9, 9}};
  t.offsets[2] = {OffsetRange{0, 1}};
  st.pending.push_back(t);
  std::string bytes = st.Serialize();
  auto back = KafkaSinkState::Deserialize(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->topic, "out");
  EXPECT_EQ(back->subtask, 1);
  EXPECT_EQ(back->parallelism, 3);
  EXPECT_EQ(back->pool_size, 4);
  EXPECT_EQ(back->next_sequence, 12);
  ASSERT_EQ(back->pending.size(), 1u);
  EXPECT_EQ(back->pending[0].checkpoint_id, 7);
  EXPECT_EQ(back->pending[0].sequence, 11);
  EXPECT_EQ(back->pending[0].slot, 2);
  EXPECT_EQ(back->pending[0].offsets, t.offsets);
  for (size_t i = 0; i < bytes.size(); i += 7) {
    std::string bad = bytes;
    bad[i] ^= 0x10;
    EXPECT_EQ(KafkaSinkState::Deserialize(bad).status().code(), absl::StatusCode::kDataLoss) << i;
  }
  EXPECT_EQ(KafkaSinkState::Deserialize(bytes.substr(0, bytes.size() - 9)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(KafkaSinkExactlyOnceTest, PrepareRecordsOffsetsAndCommitPublishes) {
  MockKafka kafka;
  kafka.CreateTopic("eo", 2);
  auto sink = KafkaSink::Create(ExactlyOnceConfig(kafka, "eo"), OrderSchema(),
                                KafkaSinkScope{"out", 1, 2});
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_EQ((*sink)->TransactionalId(1, 2), "job1-out-1-2");
  EXPECT_EQ((*sink)->MarkerGroup(1), "job1-out-1");
  EXPECT_EQ((*sink)->producer(), nullptr);
  ASSERT_TRUE((*sink)->WriteBatch(Orders(0, 10)).ok());
  auto bytes = (*sink)->PrepareCommit(1);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto state = KafkaSinkState::Deserialize(*bytes);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->subtask, 1);
  EXPECT_EQ(state->parallelism, 2);
  EXPECT_EQ(state->pool_size, 3);
  ASSERT_EQ(state->pending.size(), 1u);
  const PreparedTransaction& t = state->pending[0];
  EXPECT_EQ(t.checkpoint_id, 1);
  EXPECT_EQ(t.records, 10);
  int64_t offsets = 0;
  for (const auto& [partition, ranges] : t.offsets) {
    for (const OffsetRange& r : ranges) offsets += r.last - r.first + 1;
  }
  EXPECT_EQ(offsets, 10);  // every record's offset, from the delivery reports
  EXPECT_EQ((*sink)->stats().pending_transactions, 1);

  // Rows after the barrier go to another transactional id.
  ASSERT_TRUE((*sink)->WriteBatch(Orders(10, 5)).ok());
  auto bytes2 = (*sink)->PrepareCommit(2);
  ASSERT_TRUE(bytes2.ok()) << bytes2.status();
  auto state2 = KafkaSinkState::Deserialize(*bytes2);
  ASSERT_TRUE(state2.ok());
  ASSERT_EQ(state2->pending.size(), 2u);
  EXPECT_NE(state2->pending[0].slot, state2->pending[1].slot);
  EXPECT_LT(state2->pending[0].sequence, state2->pending[1].sequence);

  ASSERT_TRUE((*sink)->Commit(2).ok());  // covers checkpoint 1 too
  EXPECT_EQ((*sink)->stats().transactions_committed, 2);
  EXPECT_EQ((*sink)->stats().pending_transactions, 0);
  EXPECT_EQ(ReadAll(kafka, "eo", 15).size(), 15u);
}

TEST(KafkaSinkExactlyOnceTest, DeclinesACheckpointWhenNoTransactionalIdIsFree) {
  MockKafka kafka;
  kafka.CreateTopic("eo", 1);
  auto sink = KafkaSink::Create(ExactlyOnceConfig(kafka, "eo", "2"), OrderSchema());
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->WriteBatch(Orders(0, 3)).ok());
  ASSERT_TRUE((*sink)->PrepareCommit(1).ok());
  ASSERT_TRUE((*sink)->WriteBatch(Orders(3, 3)).ok());
  auto declined = (*sink)->PrepareCommit(2);  // 1 is still pending: no id for the rows after 2
  EXPECT_EQ(declined.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(declined.status().ToString(), ::testing::HasSubstr("sink.transaction.pool-size"));
  ASSERT_TRUE((*sink)->WriteBatch(Orders(6, 3)).ok());  // still the open transaction
  ASSERT_TRUE((*sink)->Commit(1).ok());
  auto bytes = (*sink)->PrepareCommit(3);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto state = KafkaSinkState::Deserialize(*bytes);
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->pending.size(), 1u);
  EXPECT_EQ(state->pending[0].records, 6);  // rows of the declined checkpoint included
  ASSERT_TRUE((*sink)->Finish().ok());
  EXPECT_EQ(ReadAll(kafka, "eo", 9).size(), 9u);
}

// The mock cluster neither hides aborted records nor keeps transactional offset
// commits (the commit markers), so this checks the replay itself; "exactly once
// across repeated restores" is kafka_exactly_once_integration_test on a real Kafka.
TEST(KafkaSinkExactlyOnceTest, RestoreReplaysTheRecordsOfAPreCommittedTransaction) {
  MockKafka kafka;
  kafka.CreateTopic("eo", 2);
  std::string state2;
  {
    auto sink = KafkaSink::Create(ExactlyOnceConfig(kafka, "eo"), OrderSchema());
    ASSERT_TRUE(sink.ok()) << sink.status();
    ASSERT_TRUE((*sink)->WriteBatch(Orders(0, 4)).ok());
    ASSERT_TRUE((*sink)->PrepareCommit(1).ok());
    ASSERT_TRUE((*sink)->Commit(1).ok());
    ASSERT_TRUE((*sink)->WriteBatch(Orders(4, 6)).ok());
    auto s2 = (*sink)->PrepareCommit(2);
    ASSERT_TRUE(s2.ok()) << s2.status();
    state2 = *s2;
    // Crash: checkpoint 2 completed, its Commit never ran.
  }
  auto sink = KafkaSink::Create(ExactlyOnceConfig(kafka, "eo"), OrderSchema());
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->RestoreState(state2).ok());
  EXPECT_EQ((*sink)->stats().transactions_replayed, 1);
  EXPECT_EQ((*sink)->stats().records_replayed, 6);
  // 4 + 6 originals + 6 replayed.
  std::vector<TestRecord> records = ReadAll(kafka, "eo", 16);
  EXPECT_EQ(records.size(), 16u);
  std::map<std::string, int> copies;
  for (const TestRecord& r : records) ++copies[r.value];
  for (int i = 0; i < 10; ++i) {
    std::string value = "{\"op\":\"+I\",\"id\":" + std::to_string(i) + ",\"name\":\"item" +
                        std::to_string(i) + "\",\"price\":1.00}";
    EXPECT_EQ(copies[value], i >= 4 && i < 10 ? 2 : 1) << value;
  }
}

TEST(KafkaSinkExactlyOnceTest, RestoreRejectsAnotherTopicsStateAndGarbage) {
  MockKafka kafka;
  kafka.CreateTopic("eo", 1);
  kafka.CreateTopic("other", 1);
  std::string state;
  {
    auto sink = KafkaSink::Create(ExactlyOnceConfig(kafka, "other"), OrderSchema());
    ASSERT_TRUE(sink.ok());
    auto s = (*sink)->PrepareCommit(1);
    ASSERT_TRUE(s.ok()) << s.status();
    state = *s;
  }
  auto sink = KafkaSink::Create(ExactlyOnceConfig(kafka, "eo"), OrderSchema());
  ASSERT_TRUE(sink.ok());
  EXPECT_THAT((*sink)->RestoreState(state).ToString(), ::testing::HasSubstr("'other'"));
  EXPECT_EQ((*sink)->RestoreState("garbage!").code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cdcflow::kafka
