#include "connectors/kafka/kafka_consumer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "connectors/kafka/tests/mock_kafka.h"

namespace cdcflow::kafka {
namespace {

using ::cdcflow::kafka::testing::MockKafka;
using ::cdcflow::kafka::testing::PollRecords;
using ::cdcflow::kafka::testing::TestRecord;

std::unique_ptr<KafkaConsumer> MakeConsumer(const KafkaOptions& options, int subtask = 0,
                                            int parallelism = 1,
                                            const KafkaPositions* restored = nullptr) {
  auto config = KafkaSourceConfig::Parse(options);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  auto consumer = KafkaConsumer::Create(*config, subtask, parallelism, restored);
  EXPECT_TRUE(consumer.ok()) << consumer.status();
  return consumer.ok() ? std::move(*consumer) : nullptr;
}

TEST(AssignSubtaskTest, DeterministicRoundRobinPerTopic) {
  for (int parallelism : {1, 2, 3, 7}) {
    for (const char* topic : {"orders", "customers", "dbserver1.inventory.products"}) {
      int first = AssignSubtask(topic, 0, parallelism);
      for (int p = 0; p < 20; ++p) {
        int s = AssignSubtask(topic, p, parallelism);
        EXPECT_GE(s, 0);
        EXPECT_LT(s, parallelism);
        EXPECT_EQ(s, (first + p) % parallelism) << topic << " " << p;
        EXPECT_EQ(s, AssignSubtask(topic, p, parallelism));
      }
    }
  }
  // The hash of the topic name is part of the checkpoint contract: pin it.
  EXPECT_EQ(AssignSubtask("orders", 0, 1000), AssignSubtask("orders", 1000, 1000));
  EXPECT_NE(AssignSubtask("orders", 0, 1000), AssignSubtask("orders", 1, 1000));
}

TEST(KafkaConsumerTest, SubtasksSplitPartitionsWithoutOverlap) {
  MockKafka kafka;
  kafka.CreateTopic("orders", 6);
  for (int p = 0; p < 6; ++p) ASSERT_TRUE(kafka.ProduceMany("orders", p, 5));
  std::set<std::pair<int32_t, int64_t>> seen;
  std::set<int32_t> assigned;
  for (int subtask = 0; subtask < 3; ++subtask) {
    auto consumer = MakeConsumer(kafka.SourceOptions("orders"), subtask, 3);
    ASSERT_NE(consumer, nullptr);
    for (const TopicPartition& tp : consumer->assignment()) {
      EXPECT_EQ(AssignSubtask("orders", tp.partition, 3), subtask);
      EXPECT_TRUE(assigned.insert(tp.partition).second) << "partition assigned twice";
    }
    EXPECT_EQ(consumer->assignment().size(), 2u);
    size_t expected = consumer->assignment().size() * 5;
    auto records = PollRecords(*consumer, expected);
    ASSERT_EQ(records.size(), expected);
    for (const TestRecord& r : records) {
      EXPECT_EQ(AssignSubtask("orders", r.partition, 3), subtask);
      EXPECT_TRUE(seen.insert({r.partition, r.offset}).second) << "duplicate record";
    }
  }
  EXPECT_EQ(seen.size(), 30u);
  EXPECT_EQ(assigned.size(), 6u);
}

TEST(KafkaConsumerTest, KeepsKeyValueHeadersTimestampAndTombstones) {
  MockKafka kafka;
  kafka.CreateTopic("t", 1);
  TestRecord r1{.topic = "t", .key = "{\"id\":1}", .value = std::string("a\0b", 3),
                .timestamp_ms = 1700000000123, .headers = {{"h1", "x"}, {"h2", ""}}};
  TestRecord r2{.topic = "t", .key = "{\"id\":1}", .null_value = true,
                .timestamp_ms = 1700000000124};
  ASSERT_TRUE(kafka.Produce(r1));
  ASSERT_TRUE(kafka.Produce(r2));
  auto consumer = MakeConsumer(kafka.SourceOptions("t"));
  ASSERT_NE(consumer, nullptr);
  auto records = PollRecords(*consumer, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].topic, "t");
  EXPECT_EQ(records[0].offset, 0);
  EXPECT_EQ(records[0].key, r1.key);
  EXPECT_EQ(records[0].value, r1.value);
  EXPECT_FALSE(records[0].null_value);
  EXPECT_EQ(records[0].timestamp_ms, 1700000000123);
  EXPECT_EQ(records[0].headers, r1.headers);
  EXPECT_TRUE(records[1].null_value);
  EXPECT_EQ(records[1].offset, 1);
}

TEST(KafkaConsumerTest, StartsFromLatest) {
  MockKafka kafka;
  kafka.CreateTopic("t", 1);
  ASSERT_TRUE(kafka.ProduceMany("t", 0, 10, "old"));
  KafkaOptions options = kafka.SourceOptions("t");
  options["scan.startup.mode"] = "latest-offset";
  auto consumer = MakeConsumer(options);
  ASSERT_NE(consumer, nullptr);
  // Concrete from the start: a checkpoint before any record says offset 10.
  EXPECT_EQ(consumer->Positions().Get({"t", 0}), 10);
  ASSERT_TRUE(kafka.ProduceMany("t", 0, 3, "new"));
  auto records = PollRecords(*consumer, 3);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].value, "new0");
  EXPECT_EQ(records[0].offset, 10);
}

// Wakeup (a checkpoint trigger, from another thread) ends a Poll waiting for input.
TEST(KafkaConsumerTest, WakeupEndsAPollWaitingForInput) {
  MockKafka kafka;
  kafka.CreateTopic("t", 1);
  auto consumer = MakeConsumer(kafka.SourceOptions("t"));
  ASSERT_NE(consumer, nullptr);
  std::thread waker([&] {
    absl::SleepFor(absl::Milliseconds(200));
    consumer->Wakeup();
  });
  MessageBatch batch;
  // Ten minutes without the wakeup: the test times out.
  ASSERT_TRUE(consumer->Poll(&batch, 10, 600'000).ok());
  waker.join();
  EXPECT_EQ(batch.size(), 0u);
  // Records still come through afterwards.
  ASSERT_TRUE(kafka.ProduceMany("t", 0, 3, "v"));
  EXPECT_EQ(PollRecords(*consumer, 3).size(), 3u);
}

TEST(KafkaConsumerTest, StartsFromSpecificOffsetsAndEarliestForUnlisted) {
  MockKafka kafka;
  kafka.CreateTopic("t", 2);
  ASSERT_TRUE(kafka.ProduceMany("t", 0, 10));
  ASSERT_TRUE(kafka.ProduceMany("t", 1, 4));
  KafkaOptions options = kafka.SourceOptions("t");
  options["scan.startup.mode"] = "specific-offsets";
  options["scan.startup.specific-offsets"] = "t:0:7";
  auto consumer = MakeConsumer(options);
  ASSERT_NE(consumer, nullptr);
  auto records = PollRecords(*consumer, 7);
  ASSERT_EQ(records.size(), 7u);
  std::map<int32_t, std::vector<int64_t>> offsets;
  for (const auto& r : records) offsets[r.partition].push_back(r.offset);
  EXPECT_THAT(offsets[0], ::testing::ElementsAre(7, 8, 9));
  EXPECT_THAT(offsets[1], ::testing::ElementsAre(0, 1, 2, 3));
}

// (The mock cluster cannot look up offsets by timestamp: the lookup of a real
// timestamp is covered by kafka_integration_test against the real Kafka.)
TEST(KafkaConsumerTest, TimestampAfterEveryRecordStartsAtTheEnd) {
  MockKafka kafka;
  kafka.CreateTopic("t", 1);
  ASSERT_TRUE(kafka.ProduceMany("t", 0, 5, "early", 1700000000000));
  KafkaOptions options = kafka.SourceOptions("t");
  options["scan.startup.mode"] = "timestamp";
  options["scan.startup.timestamp-millis"] = "1700000030000";
  auto consumer = MakeConsumer(options);
  ASSERT_NE(consumer, nullptr);
  EXPECT_EQ(consumer->Positions().Get({"t", 0}), 5);
  ASSERT_TRUE(kafka.ProduceMany("t", 0, 2, "late", 1700000060000));
  auto records = PollRecords(*consumer, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].value, "late0");
  EXPECT_EQ(records[0].offset, 5);
}

// The read-ahead pauses fetching when full and resumes it when low: the records still
// come out exactly once and in order (a pause drops what librdkafka fetched beyond the
// read-ahead and fetches it again), and the consumer holds no more than the read-ahead
// plus librdkafka's (here tiny) queue.
TEST(KafkaConsumerTest, ReadAheadPausesAndResumesWithoutLossOrRepeat) {
  MockKafka kafka;
  kafka.CreateTopic("t", 1);
  const std::string big(500, 'x');
  // Ten records per produce call: small record batches, so that the fetch limits below
  // bound what one fetch brings (a fetch returns whole record batches).
  auto produce = [&](int first_chunk, int chunks) {
    for (int c = first_chunk; c < first_chunk + chunks; ++c) {
      ASSERT_TRUE(kafka.ProduceMany("t", 0, 10, absl::StrCat(big, c, "_")));
    }
  };
  produce(0, 200);
  KafkaOptions options = kafka.SourceOptions("t");
  options["scan.read-ahead.bytes"] = "16384";
  options["properties.queued.max.messages.kbytes"] = "64";
  options["properties.max.partition.fetch.bytes"] = "4096";
  auto consumer = MakeConsumer(options);
  ASSERT_NE(consumer, nullptr);
  int64_t next = 0;
  int64_t most = 0;
  int pauses = 0;
  bool was_paused = false;
  bool produced_more = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  MessageBatch batch;
  while (next < 4000 && absl::Now() < deadline) {
    if (!consumer->fetch_paused() && consumer->read_ahead_bytes() == 0 && next < 3900) {
      // Fetching: let librdkafka bring more than the read-ahead holds (40 x ~500 bytes),
      // so that the next Poll takes it and pauses.
      const absl::Time until = absl::Now() + absl::Seconds(5);
      while (consumer->buffered() < 40 && absl::Now() < until) {
        absl::SleepFor(absl::Milliseconds(1));
      }
    }
    ASSERT_TRUE(consumer->Poll(&batch, 7, 100).ok());
    for (size_t i = 0; i < batch.size(); ++i) {
      ASSERT_EQ(batch[i].offset(), next) << "lost or repeated";
      ASSERT_EQ(batch[i].value(), absl::StrCat(big, next / 10, "_", next % 10));
      ++next;
    }
    most = std::max(most, consumer->read_ahead_bytes());
    if (consumer->fetch_paused() && !was_paused) ++pauses;
    was_paused = consumer->fetch_paused();
    if (next >= 1000 && !produced_more) {  // more input arrives while reading
      produce(200, 200);
      produced_more = true;
    }
  }
  EXPECT_EQ(next, 4000);
  EXPECT_GT(pauses, 1);
  // The read-ahead, plus what librdkafka's queue held when it was taken, plus a fetch.
  EXPECT_LE(most, 16384 + 64 * 1024 + 8192);
  EXPECT_EQ(consumer->Positions().Get({"t", 0}), 4000);
  // Nothing more (no record fetched twice).
  ASSERT_TRUE(consumer->Poll(&batch, 100, 300).ok());
  EXPECT_EQ(batch.size(), 0u);
}

TEST(KafkaConsumerTest, BatchesRespectMaxSize) {
  MockKafka kafka;
  kafka.CreateTopic("t", 1);
  ASSERT_TRUE(kafka.ProduceMany("t", 0, 100));
  auto consumer = MakeConsumer(kafka.SourceOptions("t"));
  ASSERT_NE(consumer, nullptr);
  MessageBatch batch;
  // Once the fetcher has buffered all 100 records, polls hand them out in full batches.
  // (Before that a poll returns what has arrived: it never waits for a full batch.)
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (consumer->buffered() < 100 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_GE(consumer->buffered(), 100u);
  std::vector<size_t> sizes;
  size_t total = 0;
  int64_t expected_offset = 0;
  for (int i = 0; i < 200 && total < 100; ++i) {
    ASSERT_TRUE(consumer->Poll(&batch, 30, 100).ok());
    sizes.push_back(batch.size());
    for (size_t j = 0; j < batch.size(); ++j) EXPECT_EQ(batch[j].offset(), expected_offset++);
    total += batch.size();
  }
  EXPECT_EQ(total, 100u);
  EXPECT_THAT(sizes, ::testing::ElementsAre(30, 30, 30, 10));
  // Nothing left: an empty batch after waiting, not an error.
  ASSERT_TRUE(consumer->Poll(&batch, 30, 20).ok());
  EXPECT_TRUE(batch.empty());
}

TEST(KafkaConsumerTest, ExposesPositionsHighWatermarkAndLag) {
  MockKafka kafka;
  kafka.CreateTopic("t", 2);
  ASSERT_TRUE(kafka.ProduceMany("t", 0, 100));
  ASSERT_TRUE(kafka.ProduceMany("t", 1, 10));
  auto consumer = MakeConsumer(kafka.SourceOptions("t"));
  ASSERT_NE(consumer, nullptr);
  // Read one record at a time until all of partition 1 and at least 40 of
  // partition 0 arrived (the order across partitions is up to the fetcher).
  MessageBatch batch;
  size_t from_p0 = 0, from_p1 = 0;
  for (int i = 0; i < 1000 && (from_p1 < 10 || from_p0 < 40); ++i) {
    ASSERT_TRUE(consumer->Poll(&batch, 1, 50).ok());
    for (size_t j = 0; j < batch.size(); ++j) (batch[j].partition() == 0 ? from_p0 : from_p1)++;
  }
  ASSERT_GE(from_p0, 40u);
  ASSERT_EQ(from_p1, 10u);
  KafkaPositions positions = consumer->Positions();
  EXPECT_EQ(positions.Get({"t", 0}), static_cast<int64_t>(from_p0));
  EXPECT_EQ(positions.Get({"t", 1}), 10);
  auto stats = consumer->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].partition, (TopicPartition{"t", 0}));
  EXPECT_EQ(stats[0].high_watermark, 100);
  EXPECT_EQ(stats[0].lag, 100 - static_cast<int64_t>(from_p0));
  EXPECT_EQ(stats[1].high_watermark, 10);
  EXPECT_EQ(stats[1].lag, 0);
  auto end = consumer->ReachedEnd(5000);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, from_p0 == 100);
}

TEST(KafkaConsumerTest, RestoresFromSerializedPositionsWithoutGapOrDuplicate) {
  MockKafka kafka;
  kafka.CreateTopic("t", 3);
  for (int p = 0; p < 3; ++p) ASSERT_TRUE(kafka.ProduceMany("t", p, 20));
  std::string snapshot;
  std::set<std::pair<int32_t, int64_t>> seen;
  {
    auto consumer = MakeConsumer(kafka.SourceOptions("t"));
    ASSERT_NE(consumer, nullptr);
    auto records = PollRecords(*consumer, 25, 10000, 5);
    ASSERT_GE(records.size(), 25u);
    for (const auto& r : records) seen.insert({r.partition, r.offset});
    snapshot = consumer->Positions().Serialize();
  }
  auto restored = KafkaPositions::Deserialize(snapshot);
  ASSERT_TRUE(restored.ok()) << restored.status();
  // Restore into a different parallelism: each subtask picks its own partitions.
  for (int subtask = 0; subtask < 2; ++subtask) {
    auto consumer = MakeConsumer(kafka.SourceOptions("t"), subtask, 2, &*restored);
    ASSERT_NE(consumer, nullptr);
    size_t remaining = 0;
    for (const auto& tp : consumer->assignment()) remaining += 20 - restored->Get(tp);
    auto records = PollRecords(*consumer, remaining);
    EXPECT_EQ(records.size(), remaining);
    for (const auto& r : records) {
      EXPECT_TRUE(seen.insert({r.partition, r.offset}).second)
          << "duplicate " << r.partition << "@" << r.offset;
    }
  }
  EXPECT_EQ(seen.size(), 60u);
}

TEST(KafkaConsumerTest, ResolvesTopicPattern) {
  MockKafka kafka;
  kafka.CreateTopic("db.inventory.orders", 1);
  kafka.CreateTopic("db.inventory.customers", 2);
  kafka.CreateTopic("other", 1);
  ASSERT_TRUE(kafka.ProduceMany("db.inventory.orders", 0, 1));
  ASSERT_TRUE(kafka.ProduceMany("db.inventory.customers", 1, 1));
  ASSERT_TRUE(kafka.ProduceMany("other", 0, 1));
  KafkaOptions options = kafka.SourceOptions("");
  options.erase("topics");
  options["topic-pattern"] = "db\\.inventory\\..*";
  auto consumer = MakeConsumer(options);
  ASSERT_NE(consumer, nullptr);
  EXPECT_THAT(consumer->assignment(),
              ::testing::ElementsAre(TopicPartition{"db.inventory.customers", 0},
                                     TopicPartition{"db.inventory.customers", 1},
                                     TopicPartition{"db.inventory.orders", 0}));
  auto records = PollRecords(*consumer, 2);
  EXPECT_EQ(records.size(), 2u);
  for (const auto& r : records) EXPECT_NE(r.topic, "other");
}

TEST(KafkaConsumerTest, UnknownTopicIsNotFound) {
  MockKafka kafka;
  auto config = KafkaSourceConfig::Parse(kafka.SourceOptions("missing"));
  ASSERT_TRUE(config.ok());
  config->metadata_timeout_ms = 2000;
  auto consumer = KafkaConsumer::Create(*config, 0, 1);
  ASSERT_FALSE(consumer.ok());
  EXPECT_THAT(consumer.status().ToString(), ::testing::HasSubstr("missing"));
}

TEST(KafkaConsumerTest, ReadsPartitionsChosenByTheCaller) {
  MockKafka kafka;
  kafka.CreateTopic("t", 3);
  for (int p = 0; p < 3; ++p) ASSERT_TRUE(kafka.ProduceMany("t", p, 4));
  auto config = KafkaSourceConfig::Parse(kafka.SourceOptions("t"));
  ASSERT_TRUE(config.ok());
  auto consumer = KafkaConsumer::CreateForPartitions(*config, {{"t", 2}, {"t", 0}});
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  EXPECT_THAT((*consumer)->assignment(),
              ::testing::ElementsAre(TopicPartition{"t", 0}, TopicPartition{"t", 2}));
  auto records = PollRecords(**consumer, 8);
  ASSERT_EQ(records.size(), 8u);
  for (const auto& r : records) EXPECT_NE(r.partition, 1);
  EXPECT_EQ(KafkaConsumer::CreateForPartitions(*config, {{"t", 3}}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(KafkaConsumerTest, RejectsBadSubtaskIndex) {
  MockKafka kafka;
  kafka.CreateTopic("t", 1);
  auto config = KafkaSourceConfig::Parse(kafka.SourceOptions("t"));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(KafkaConsumer::Create(*config, 2, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cdcflow::kafka
