// The exactly-once Kafka sink against the real Kafka of the local_services fixture:
// crashes around the commit, restores from the last completed checkpoint, and a
// read_committed consumer that must see every row exactly once and no aborted row.
// Bootstrap: $CDCFLOW_KAFKA_BOOTSTRAP, else 127.0.0.1:$CDCFLOW_KAFKA_PORT (9092).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/kafka/kafka_consumer.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/tests/mock_kafka.h"

namespace cdcflow::kafka {
namespace {

using ::cdcflow::kafka::testing::PollRecords;
using ::cdcflow::kafka::testing::TestRecord;

std::string Bootstrap() {
  if (const char* b = std::getenv("CDCFLOW_KAFKA_BOOTSTRAP")) return b;
  const char* port = std::getenv("CDCFLOW_KAFKA_PORT");
  return std::string("127.0.0.1:") + (port ? port : "9092");
}

Schema ItemSchema() {
  return Schema{{Field{"id", ValueType::kInt64, false}, Field{"name", ValueType::kString}}};
}

std::vector<Row> Items(int first, int end, RowKind kind = RowKind::kInsert) {
  std::vector<Row> rows;
  for (int i = first; i < end; ++i) {
    rows.push_back(Row{kind, {Value::Int64(i), Value::Str(absl::StrCat("item", i))}});
  }
  return rows;
}

class KafkaExactlyOnceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto admin = KafkaClient::Create(RD_KAFKA_PRODUCER, {{"bootstrap.servers", Bootstrap()}});
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = std::move(*admin);
    topic_ = absl::StrCat("cdcflow-eo-", ::getpid(), "-",
                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    absl::Status created = admin_->CreateTopic(topic_, 3, 30000);
    ASSERT_TRUE(created.ok()) << created << " (is Kafka running at " << Bootstrap() << "?)";
  }
  void TearDown() override {
    if (admin_ != nullptr) (void)admin_->DeleteTopic(topic_, 30000);
  }

  KafkaSinkConfig Config(const std::string& format = "changelog-json") const {
    KafkaOptions options = {{"bootstrap.servers", Bootstrap()},
                            {"topic", topic_},
                            {"format", format},
                            {"sink.delivery-guarantee", "exactly-once"},
                            {"sink.transactional-id-prefix", topic_},
                            {"sink.flush-timeout-ms", "30000"}};
    if (format == "upsert-json") options["key.fields"] = "id";
    auto config = KafkaSinkConfig::Parse(options);
    EXPECT_TRUE(config.ok()) << config.status();
    return *config;
  }

  std::unique_ptr<KafkaSink> NewSink(const std::string& format = "changelog-json") {
    auto sink = KafkaSink::Create(Config(format), ItemSchema(), KafkaSinkScope{"out", 0, 1});
    EXPECT_TRUE(sink.ok()) << sink.status();
    return sink.ok() ? std::move(*sink) : nullptr;
  }

  // Everything in the topic as `isolation` sees it; waits `quiet_ms` after the last
  // record so that extra records (duplicates) would be seen too.
  std::vector<TestRecord> ReadAll(const std::string& isolation, size_t at_least) {
    auto source = KafkaSourceConfig::Parse({{"bootstrap.servers", Bootstrap()},
                                            {"topics", topic_},
                                            {"scan.batch.max-wait-ms", "100"},
                                            {"properties.isolation.level", isolation}});
    EXPECT_TRUE(source.ok()) << source.status();
    auto consumer = KafkaConsumer::Create(*source, 0, 1);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    std::vector<TestRecord> records = PollRecords(**consumer, at_least, 30000);
    std::vector<TestRecord> more = PollRecords(**consumer, 1000000, 2000);
    records.insert(records.end(), more.begin(), more.end());
    return records;
  }

  std::unique_ptr<KafkaClient> admin_;
  std::string topic_;
};

std::map<std::string, int> CountValues(const std::vector<TestRecord>& records) {
  std::map<std::string, int> copies;
  for (const TestRecord& r : records) ++copies[r.null_value ? "<tombstone>" + r.key : r.value];
  return copies;
}

std::string ItemJson(int i) {
  return absl::StrCat("{\"op\":\"+I\",\"id\":", i, ",\"name\":\"item", i, "\"}");
}

TEST_F(KafkaExactlyOnceTest, CrashesAroundCommitLoseAndDuplicateNothing) {
  std::string state2;
  {
    std::unique_ptr<KafkaSink> sink = NewSink();
    ASSERT_NE(sink, nullptr);
    ASSERT_TRUE(sink->WriteBatch(Items(0, 100)).ok());
    auto state1 = sink->PrepareCommit(1);
    ASSERT_TRUE(state1.ok()) << state1.status();
    ASSERT_TRUE(sink->Commit(1).ok());
    ASSERT_TRUE(sink->WriteBatch(Items(100, 200)).ok());
    auto s2 = sink->PrepareCommit(2);
    ASSERT_TRUE(s2.ok()) << s2.status();
    state2 = *s2;
    // Rows after barrier 2, acknowledged by the brokers inside the next transaction.
    ASSERT_TRUE(sink->WriteBatch(Items(200, 250)).ok());
    ASSERT_TRUE(sink->PrepareCommit(3).ok());  // checkpoint 3 never completes
    // Crash: checkpoint 2 is complete but Commit(2) never ran; nothing aborts.
  }
  {
    // Restart 1 from checkpoint 2: transaction 2 was aborted by the fencing and is
    // replayed; the source re-sends from checkpoint 2 (rows 200..299), then a crash
    // before checkpoint 4 completes.
    std::unique_ptr<KafkaSink> sink = NewSink();
    ASSERT_NE(sink, nullptr);
    absl::Status restored = sink->RestoreState(state2);
    ASSERT_TRUE(restored.ok()) << restored;
    EXPECT_EQ(sink->stats().transactions_replayed, 1);
    EXPECT_EQ(sink->stats().records_replayed, 100);
    ASSERT_TRUE(sink->WriteBatch(Items(200, 300)).ok());
    ASSERT_TRUE(sink->PrepareCommit(4).ok());
  }
  {
    // Restart 2, again from checkpoint 2: its transaction's replay committed (the
    // marker says so), so nothing is replayed twice.
    std::unique_ptr<KafkaSink> sink = NewSink();
    ASSERT_NE(sink, nullptr);
    absl::Status restored = sink->RestoreState(state2);
    ASSERT_TRUE(restored.ok()) << restored;
    EXPECT_EQ(sink->stats().transactions_replayed, 0);
    ASSERT_TRUE(sink->WriteBatch(Items(200, 300)).ok());
    auto s5 = sink->PrepareCommit(5);
    ASSERT_TRUE(s5.ok()) << s5.status();
    ASSERT_TRUE(sink->Commit(5).ok());
    ASSERT_TRUE(sink->Finish().ok());
  }
  std::vector<TestRecord> committed = ReadAll("read_committed", 300);
  std::map<std::string, int> copies = CountValues(committed);
  EXPECT_EQ(committed.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(copies[ItemJson(i)], 1) << ItemJson(i);
  // The aborted attempts are in the log (so the check above could fail).
  std::vector<TestRecord> everything = ReadAll("read_uncommitted", 300 + 100 + 50 + 100);
  EXPECT_EQ(everything.size(), 300u + 100 + 50 + 100);
}

TEST_F(KafkaExactlyOnceTest, RestoreOfACommittedCheckpointReplaysNothing) {
  std::string state1;
  {
    std::unique_ptr<KafkaSink> sink = NewSink();
    ASSERT_NE(sink, nullptr);
    ASSERT_TRUE(sink->WriteBatch(Items(0, 40)).ok());
    auto s1 = sink->PrepareCommit(1);
    ASSERT_TRUE(s1.ok()) << s1.status();
    state1 = *s1;
    ASSERT_TRUE(sink->Commit(1).ok());
    ASSERT_TRUE(sink->WriteBatch(Items(40, 60)).ok());
    ASSERT_TRUE(sink->PrepareCommit(2).ok());  // checkpoint 2 fails
  }
  std::unique_ptr<KafkaSink> sink = NewSink();
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->RestoreState(state1).ok());
  EXPECT_EQ(sink->stats().transactions_replayed, 0);
  ASSERT_TRUE(sink->WriteBatch(Items(40, 60)).ok());
  ASSERT_TRUE(sink->Finish().ok());
  std::vector<TestRecord> committed = ReadAll("read_committed", 60);
  std::map<std::string, int> copies = CountValues(committed);
  EXPECT_EQ(committed.size(), 60u);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(copies[ItemJson(i)], 1) << ItemJson(i);
}

TEST_F(KafkaExactlyOnceTest, UpsertModeIsTransactionalAndCloseAbortsUnfinishedWork) {
  SinkFactory factory = KafkaSinkFactory(Config("upsert-json"), ItemSchema());
  class Ctx : public RuntimeContext {
   public:
    std::string_view operator_name() const override { return "upsert"; }
    int subtask_index() const override { return 0; }
    int parallelism() const override { return 1; }
    int max_parallelism() const override { return 128; }
    const JobArgs& args() const override { return args_; }
    int64_t ProcessingTimeMs() const override { return 0; }
    JobArgs args_;
  } ctx;
  std::string state;
  {
    std::unique_ptr<SinkFunction> sink = factory();
    ASSERT_TRUE(sink->Open(ctx).ok());
    RowBatch batch;
    for (Row& r : Items(0, 10)) batch.Append(std::move(r));
    for (Row& r : Items(0, 5, RowKind::kUpdateBefore)) batch.Append(std::move(r));
    for (Row& r : Items(0, 5, RowKind::kDelete)) batch.Append(std::move(r));
    ASSERT_TRUE(sink->WriteBatch(batch).ok());
    auto s1 = sink->PrepareCommit(1);
    ASSERT_TRUE(s1.ok()) << s1.status();
    state = *s1;
    ASSERT_TRUE(sink->Commit(1).ok());
    RowBatch later;
    for (Row& r : Items(100, 110)) later.Append(std::move(r));
    ASSERT_TRUE(sink->WriteBatch(later).ok());
    ASSERT_TRUE(sink->PrepareCommit(2).ok());
    ASSERT_TRUE(sink->Close().ok());  // cancelled: 100..109 are aborted, never visible
  }
  {
    std::unique_ptr<SinkFunction> sink = factory();
    ASSERT_TRUE(sink->Open(ctx).ok());
    ASSERT_TRUE(sink->RestoreState(state).ok());
    RowBatch batch;
    for (Row& r : Items(10, 12)) batch.Append(std::move(r));
    ASSERT_TRUE(sink->WriteBatch(batch).ok());
    ASSERT_TRUE(sink->Finish().ok());
    ASSERT_TRUE(sink->Close().ok());
  }
  std::vector<TestRecord> committed = ReadAll("read_committed", 17);
  EXPECT_EQ(committed.size(), 17u);  // 10 + 5 tombstones + 2; -U skipped
  std::map<std::string, std::string> table;
  for (const TestRecord& r : committed) {
    if (r.null_value) {
      table.erase(r.key);
    } else {
      table[r.key] = r.value;
    }
  }
  EXPECT_EQ(table.size(), 7u);
  EXPECT_EQ(table.count("{\"id\":4}"), 0u);
  EXPECT_EQ(table["{\"id\":5}"], "{\"id\":5,\"name\":\"item5\"}");
  EXPECT_EQ(table["{\"id\":11}"], "{\"id\":11,\"name\":\"item11\"}");
  for (const TestRecord& r : committed) {
    for (int i = 100; i < 110; ++i) EXPECT_NE(r.key, absl::StrCat("{\"id\":", i, "}"));
  }
}

}  // namespace
}  // namespace cdcflow::kafka
