// Against the real Kafka started by deploy/local/services.sh (CTest fixture
// local_services). Bootstrap: $CDCFLOW_KAFKA_BOOTSTRAP, else
// 127.0.0.1:$CDCFLOW_KAFKA_PORT (9092).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "connectors/kafka/kafka_consumer.h"
#include "connectors/kafka/kafka_producer.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"
#include "connectors/kafka/tests/mock_kafka.h"

namespace cdcflow::kafka {
namespace {

using ::cdcflow::kafka::testing::PollRecords;

std::string Bootstrap() {
  if (const char* b = std::getenv("CDCFLOW_KAFKA_BOOTSTRAP")) return b;
  const char* port = std::getenv("CDCFLOW_KAFKA_PORT");
  return std::string("127.0.0.1:") + (port ? port : "9092");
}

class KafkaIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto admin = KafkaClient::Create(RD_KAFKA_PRODUCER, {{"bootstrap.servers", Bootstrap()}});
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = std::move(*admin);
    topic_ = "cdcflow-it-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name();
    absl::Status created = admin_->CreateTopic(topic_, 3, 30000);
    ASSERT_TRUE(created.ok()) << created << " (is Kafka running at " << Bootstrap() << "?)";
    // A topic just created may have no partition leaders yet (a fresh broker takes a
    // moment): wait until a consumer resolves every partition's offsets.
    auto config = KafkaSourceConfig::Parse(Options());
    ASSERT_TRUE(config.ok()) << config.status();
    auto ready = KafkaConsumer::Create(*config, 0, 1);
    for (absl::Time deadline = absl::Now() + absl::Seconds(30);
         !ready.ok() && (absl::IsUnavailable(ready.status()) || absl::IsNotFound(ready.status())) &&
         absl::Now() < deadline;) {
      absl::SleepFor(absl::Milliseconds(200));
      ready = KafkaConsumer::Create(*config, 0, 1);
    }
    ASSERT_TRUE(ready.ok()) << "topic " << topic_ << " not readable: " << ready.status();
    auto producer = KafkaProducer::Create({{"bootstrap.servers", Bootstrap()},
                                           {"enable.idempotence", "true"},
                                           {"linger.ms", "5"}});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
  }
  void TearDown() override {
    producer_.reset();
    if (admin_ != nullptr) (void)admin_->DeleteTopic(topic_, 30000);
  }
  KafkaOptions Options() const {
    return {{"bootstrap.servers", Bootstrap()}, {"topics", topic_},
            {"scan.batch.max-wait-ms", "100"}};
  }
  void Produce(int32_t partition, const std::string& key, const std::string& value,
               int64_t timestamp_ms = 0) {
    rd_kafka_t* rk = producer_->client().get();
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
        RD_KAFKA_V_END);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  std::unique_ptr<KafkaClient> admin_;
  std::unique_ptr<KafkaProducer> producer_;
  std::string topic_;
};

TEST_F(KafkaIntegrationTest, ProduceConsumeRoundTripAcrossSubtasks) {
  rd_kafka_topic_t* topic = producer_->Topic(topic_);
  for (int i = 0; i < 3000; ++i) {
    std::string key = "key-" + std::to_string(i);
    std::string value = "{\"n\":" + std::to_string(i) + "}";
    ASSERT_TRUE(producer_->Produce(topic, RD_KAFKA_PARTITION_UA, key.data(), key.size(),
                                   value.data(), value.size())
                    .ok());
  }
  ASSERT_TRUE(producer_->Flush(30000).ok());
  EXPECT_EQ(producer_->delivered(), 3000);

  std::set<std::string> values;
  std::map<int32_t, int64_t> last_offset;
  for (int subtask = 0; subtask < 2; ++subtask) {
    auto config = KafkaSourceConfig::Parse(Options());
    ASSERT_TRUE(config.ok());
    auto consumer = KafkaConsumer::Create(*config, subtask, 2);
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    size_t expected = 0;
    for (const TopicPartition& tp : (*consumer)->assignment()) {
      int64_t lo = 0, hi = 0;
      ASSERT_EQ(rd_kafka_query_watermark_offsets((*consumer)->client().get(), tp.topic.c_str(),
                                                 tp.partition, &lo, &hi, 10000),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      expected += static_cast<size_t>(hi - lo);
    }
    auto records = PollRecords(**consumer, expected, 30000);
    ASSERT_EQ(records.size(), expected);
    for (const auto& r : records) {
      EXPECT_EQ(r.key, "key-" + r.value.substr(5, r.value.size() - 6));
      EXPECT_TRUE(values.insert(r.value).second) << "duplicate " << r.value;
      EXPECT_GT(r.offset, last_offset.count(r.partition) ? last_offset[r.partition] : -1);
      last_offset[r.partition] = r.offset;
    }
    auto end = (*consumer)->ReachedEnd(10000);
    ASSERT_TRUE(end.ok());
    EXPECT_TRUE(*end);
    for (const PartitionStats& s : (*consumer)->Stats()) EXPECT_EQ(s.lag, 0);
  }
  EXPECT_EQ(values.size(), 3000u);
}

TEST_F(KafkaIntegrationTest, StartsFromTimestamp) {
  const int64_t t0 = 1700000000000;
  for (int32_t p = 0; p < 3; ++p) {
    for (int i = 0; i < 4; ++i) Produce(p, "k", "old" + std::to_string(i), t0 + i);
    for (int i = 0; i < 3; ++i) Produce(p, "k", "new" + std::to_string(i), t0 + 60000 + i);
  }
  ASSERT_TRUE(producer_->Flush(30000).ok());
  KafkaOptions options = Options();
  options["scan.startup.mode"] = "timestamp";
  options["scan.startup.timestamp-millis"] = std::to_string(t0 + 30000);
  auto config = KafkaSourceConfig::Parse(options);
  ASSERT_TRUE(config.ok());
  auto consumer = KafkaConsumer::Create(*config, 0, 1);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  for (int32_t p = 0; p < 3; ++p) EXPECT_EQ((*consumer)->Positions().Get({topic_, p}), 4);
  auto records = PollRecords(**consumer, 9, 30000);
  ASSERT_EQ(records.size(), 9u);
  for (const auto& r : records) {
    EXPECT_THAT(r.value, ::testing::StartsWith("new"));
    EXPECT_GE(r.timestamp_ms, t0 + 60000);
  }
}

TEST_F(KafkaIntegrationTest, RestartFromCheckpointedPositionsContinuesExactly) {
  for (int i = 0; i < 30; ++i) Produce(i % 3, "k", std::to_string(i));
  ASSERT_TRUE(producer_->Flush(30000).ok());
  auto config = KafkaSourceConfig::Parse(Options());
  ASSERT_TRUE(config.ok());
  std::string checkpoint;
  std::set<std::string> seen;
  {
    auto consumer = KafkaConsumer::Create(*config, 0, 1);
    ASSERT_TRUE(consumer.ok());
    for (const auto& r : PollRecords(**consumer, 12, 30000, 4)) seen.insert(r.value);
    checkpoint = (*consumer)->Positions().Serialize();
  }
  auto positions = KafkaPositions::Deserialize(checkpoint);
  ASSERT_TRUE(positions.ok());
  auto consumer = KafkaConsumer::Create(*config, 0, 1, &*positions);
  ASSERT_TRUE(consumer.ok());
  auto rest = PollRecords(**consumer, 30 - seen.size(), 30000);
  for (const auto& r : rest) EXPECT_TRUE(seen.insert(r.value).second) << "duplicate " << r.value;
  EXPECT_EQ(seen.size(), 30u);
}

TEST_F(KafkaIntegrationTest, UpsertSinkRoundTrip) {
  Schema schema{{Field{"id", ValueType::kInt64}, Field{"price", ValueType::kDecimal}}};
  auto config = KafkaSinkConfig::Parse({{"bootstrap.servers", Bootstrap()},
                                        {"topic", topic_},
                                        {"format", "upsert-json"},
                                        {"key.fields", "id"}});
  ASSERT_TRUE(config.ok());
  auto sink = KafkaSink::Create(*config, schema);
  ASSERT_TRUE(sink.ok()) << sink.status();
  auto row = [](RowKind kind, int64_t id, const char* price) {
    return Row{kind, {Value::Int64(id), Value::Dec(*Decimal::Parse(price))}};
  };
  std::vector<Row> rows;
  for (int64_t id = 0; id < 100; ++id) {
    rows.push_back(row(RowKind::kInsert, id, "1.00"));
    rows.push_back(row(RowKind::kUpdateBefore, id, "1.00"));
    rows.push_back(row(RowKind::kUpdateAfter, id, "123456789012345678901234567890.12"));
    if (id % 2 == 0) rows.push_back(row(RowKind::kDelete, id, "123456789012345678901234567890.12"));
  }
  ASSERT_TRUE((*sink)->WriteBatch(rows).ok());
  ASSERT_TRUE((*sink)->PrepareCommit(1).ok());
  EXPECT_EQ((*sink)->stats().delivered, 250);

  auto source = KafkaSourceConfig::Parse(Options());
  ASSERT_TRUE(source.ok());
  auto consumer = KafkaConsumer::Create(*source, 0, 1);
  ASSERT_TRUE(consumer.ok());
  auto records = PollRecords(**consumer, 250, 30000);
  ASSERT_EQ(records.size(), 250u);
  std::map<std::string, std::string> table;  // what a compacted topic ends up holding
  for (const auto& r : records) {
    if (r.null_value) {
      table.erase(r.key);
    } else {
      table[r.key] = r.value;
    }
  }
  ASSERT_EQ(table.size(), 50u);
  EXPECT_EQ(table["{\"id\":1}"], "{\"id\":1,\"price\":123456789012345678901234567890.12}");
  EXPECT_EQ(table.count("{\"id\":2}"), 0u);
}

class OneSubtask : public RuntimeContext {
 public:
  std::string_view operator_name() const override { return "source"; }
  int subtask_index() const override { return 0; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return 0; }
  JobArgs args_;
};

// Partitions added to a named topic while the source runs are discovered and read
// from their first record.
TEST_F(KafkaIntegrationTest, SourceReadsPartitionsAddedWhileRunning) {
  KafkaOptions options = Options();
  options["scan.partition-discovery.interval-ms"] = "200";
  auto config = KafkaSourceConfig::Parse(options);
  ASSERT_TRUE(config.ok()) << config.status();
  OneSubtask ctx;
  KafkaDebeziumSource source(*config);
  ASSERT_TRUE(source.Open(ctx).ok());
  auto splits = source.EnumerateSplits(ctx);
  ASSERT_TRUE(splits.ok()) << splits.status();
  ASSERT_EQ(splits->size(), 3u);
  ASSERT_TRUE(source.AssignSplits(*splits).ok());
  RowBatch first;
  auto polled = source.PollBatch(first, 64);
  ASSERT_TRUE(polled.ok()) << polled.status();

  // 3 -> 5 partitions (admin CreatePartitions), then one event into each new one.
  char errstr[512];
  rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(topic_.c_str(), 5, errstr, sizeof(errstr));
  ASSERT_NE(np, nullptr) << errstr;
  QueuePtr queue(rd_kafka_queue_new(admin_->get()));
  rd_kafka_CreatePartitions(admin_->get(), &np, 1, nullptr, queue.get());
  rd_kafka_NewPartitions_destroy(np);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue.get(), 30000);
  ASSERT_NE(event, nullptr);
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(event), &n);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(rd_kafka_topic_result_error(results[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_topic_result_error_string(results[0]);
  rd_kafka_event_destroy(event);
  for (int32_t p = 3; p < 5; ++p) {
    Produce(p, "{\"id\":" + std::to_string(p) + "}",
            "{\"before\":null,\"after\":{\"id\":" + std::to_string(p) +
                "},\"source\":{\"connector\":\"postgresql\",\"name\":\"it\"},\"op\":\"c\"}");
  }
  ASSERT_TRUE(producer_->Flush(30000).ok());

  std::set<int64_t> ids;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ids.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    RowBatch out;
    auto r = source.PollBatch(out, 64);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const Row& row : out.rows()) ids.insert(row.fields[0].as_int64());
  }
  EXPECT_EQ(ids, (std::set<int64_t>{3, 4}));
  auto positions = KafkaPositions::Deserialize(*source.SnapshotPosition(1));
  ASSERT_TRUE(positions.ok());
  EXPECT_EQ(positions->Get({topic_, 3}), 1);
  EXPECT_EQ(positions->Get({topic_, 4}), 1);
  EXPECT_TRUE(source.Close().ok());
}

}  // namespace
}  // namespace cdcflow::kafka
