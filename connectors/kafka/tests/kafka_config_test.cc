#include "connectors/kafka/kafka_config.h"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cdcflow::kafka {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;

TEST(KafkaSourceConfigTest, ParsesEveryOption) {
  auto c = KafkaSourceConfig::Parse({{"bootstrap.servers", "127.0.0.1:9092"},
                                     {"topics", "a, b"},
                                     {"group.id", "g"},
                                     {"scan.startup.mode", "specific-offsets"},
                                     {"scan.startup.specific-offsets", "a:0:5,b:2:7"},
                                     {"scan.batch.max-records", "64"},
                                     {"scan.batch.max-wait-ms", "0"},
                                     {"dead-letter.policy", "dead-letter"},
                                     {"dead-letter.topic", "dlq"},
                                     {"debezium.source-position", "true"},
                                     {"properties.fetch.max.bytes", "1000000"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->append_source_position);
  EXPECT_THAT(c->topics, ::testing::ElementsAre("a", "b"));
  EXPECT_EQ(c->start_mode, StartMode::kSpecificOffsets);
  EXPECT_EQ(c->start_offsets.at(TopicPartition{"a", 0}), 5);
  EXPECT_EQ(c->start_offsets.at(TopicPartition{"b", 2}), 7);
  EXPECT_EQ(c->max_batch_records, 64);
  EXPECT_EQ(c->max_batch_wait_ms, 0);
  EXPECT_EQ(c->dead_letter_policy, DeadLetterPolicy::kDeadLetter);
  KafkaSettings s = c->ToConsumerSettings();
  EXPECT_THAT(s, ::testing::Contains(Pair("enable.auto.commit", "false")));
  EXPECT_THAT(s, ::testing::Contains(Pair("auto.offset.reset", "error")));
  EXPECT_THAT(s, ::testing::Contains(Pair("group.id", "g")));
  EXPECT_EQ(s.back(), (std::pair<std::string, std::string>("fetch.max.bytes", "1000000")));
}

// The consumer's prefetch is bounded by default (librdkafka's 64 MiB per consumer was
// most of a task manager's memory in bench/), and a property still overrides it:
// librdkafka applies settings in order, so the user's comes after the default.
TEST(KafkaSourceConfigTest, BoundsPrefetchMemoryUnlessOverridden) {
  auto plain = KafkaSourceConfig::Parse({{"bootstrap.servers", "h:1"}, {"topics", "t"}});
  ASSERT_TRUE(plain.ok()) << plain.status();
  KafkaSettings s = plain->ToConsumerSettings();
  EXPECT_THAT(s, ::testing::Contains(Pair("queued.max.messages.kbytes", "4096")));
  EXPECT_THAT(s, ::testing::Contains(Pair("fetch.max.bytes", "16777216")));

  auto tuned = KafkaSourceConfig::Parse({{"bootstrap.servers", "h:1"},
                                         {"topics", "t"},
                                         {"properties.queued.max.messages.kbytes", "1024"}});
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  s = tuned->ToConsumerSettings();
  auto last = std::find_if(s.rbegin(), s.rend(),
                           [](const auto& kv) { return kv.first == "queued.max.messages.kbytes"; });
  ASSERT_NE(last, s.rend());
  EXPECT_EQ(last->second, "1024");
}

// librdkafka's queue limit follows the read-ahead (a take of a full queue must reach the
// read-ahead and pause, so that the resume wakes the fetcher), and is librdkafka's own
// 64 MiB without one.
TEST(KafkaSourceConfigTest, LibrdkafkaQueueFollowsTheReadAhead) {
  auto big = KafkaSourceConfig::Parse(
      {{"bootstrap.servers", "h:1"}, {"topics", "t"}, {"scan.read-ahead.bytes", "33554432"}});
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_THAT(big->ToConsumerSettings(),
              ::testing::Contains(Pair("queued.max.messages.kbytes", "32768")));
  auto none = KafkaSourceConfig::Parse(
      {{"bootstrap.servers", "h:1"}, {"topics", "t"}, {"scan.read-ahead.bytes", "0"}});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(none->ToConsumerSettings(),
              ::testing::Contains(Pair("queued.max.messages.kbytes", "65536")));
  auto bad = KafkaSourceConfig::Parse(
      {{"bootstrap.servers", "h:1"}, {"topics", "t"}, {"scan.read-ahead.bytes", "-1"}});
  EXPECT_FALSE(bad.ok());
}

TEST(KafkaSourceConfigTest, RejectsBadOptionsNamingThem) {
  struct Case {
    KafkaOptions options;
    std::string message;
  };
  const KafkaOptions base = {{"bootstrap.servers", "h:1"}, {"topics", "t"}};
  auto with = [&](KafkaOptions extra) {
    KafkaOptions o = base;
    for (auto& [k, v] : extra) o[k] = v;
    return o;
  };
  std::vector<Case> cases = {
      {{{"topics", "t"}}, "bootstrap.servers"},
      {{{"bootstrap.servers", "h:1"}}, "exactly one"},
      {with({{"topic-pattern", "x.*"}}), "exactly one"},
      {with({{"tpoics", "t"}}), "unknown kafka source option 'tpoics'"},
      {with({{"scan.startup.mode", "begin"}}), "scan.startup.mode"},
      {with({{"scan.startup.mode", "timestamp"}}), "timestamp-millis"},
      {with({{"scan.startup.mode", "specific-offsets"}}), "specific-offsets"},
      {with({{"scan.startup.specific-offsets", "t:x:1"}}), "t:x:1"},
      {with({{"scan.batch.max-records", "0"}}), "scan.batch.max-records"},
      {with({{"scan.batch.max-records", "many"}}), "many"},
      {with({{"dead-letter.policy", "drop"}}), "dead-letter.policy"},
      {with({{"debezium.source-position", "yes"}}), "debezium.source-position"},
      {with({{"dead-letter.policy", "dead-letter"}}), "dead-letter.topic"},
  };
  KafkaOptions bad_regex = {{"bootstrap.servers", "h:1"}, {"topic-pattern", "(unclosed"}};
  cases.push_back({bad_regex, "topic-pattern"});
  for (const Case& c : cases) {
    auto parsed = KafkaSourceConfig::Parse(c.options);
    ASSERT_FALSE(parsed.ok()) << c.message;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().ToString(), HasSubstr(c.message));
  }
}

TEST(KafkaSinkConfigTest, ParsesAndTranslatesToIdempotentProducer) {
  auto c = KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"},
                                   {"topic", "out"},
                                   {"format", "upsert-json"},
                                   {"key.fields", "id,region"},
                                   {"sink.linger-ms", "20"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->format, SinkFormat::kUpsertJson);
  EXPECT_THAT(c->key_fields, ::testing::ElementsAre("id", "region"));
  KafkaSettings s = c->ToProducerSettings();
  EXPECT_THAT(s, ::testing::Contains(Pair("enable.idempotence", "true")));
  EXPECT_THAT(s, ::testing::Contains(Pair("acks", "all")));
  EXPECT_THAT(s, ::testing::Contains(Pair("linger.ms", "20")));
}

TEST(KafkaSinkConfigTest, RejectsBadOptions) {
  EXPECT_THAT(KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"}}).status().ToString(),
              HasSubstr("'topic'"));
  EXPECT_THAT(KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"},
                                      {"topic", "o"},
                                      {"format", "upsert-json"}})
                  .status()
                  .ToString(),
              HasSubstr("key.fields"));
  EXPECT_THAT(KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"},
                                      {"topic", "o"},
                                      {"format", "avro"}})
                  .status()
                  .ToString(),
              HasSubstr("format"));
  EXPECT_THAT(KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"},
                                      {"topic", "o"},
                                      {"properties.enable.idempotence", "false"}})
                  .status()
                  .ToString(),
              HasSubstr("idempotence"));
}

TEST(KafkaSinkConfigTest, DeliveryGuarantee) {
  auto def = KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"}, {"topic", "o"}});
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->delivery, DeliveryGuarantee::kAtLeastOnce);  // existing callers unchanged
  EXPECT_THAT(def->ToProducerSettings(),
              ::testing::Not(::testing::Contains(::testing::Key("transactional.id"))));
  auto eo = KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"},
                                    {"topic", "o"},
                                    {"sink.delivery-guarantee", "exactly-once"},
                                    {"sink.transactional-id-prefix", "orders-job"},
                                    {"sink.transaction.pool-size", "3"},
                                    {"sink.transaction.timeout-ms", "60000"}});
  ASSERT_TRUE(eo.ok()) << eo.status();
  EXPECT_TRUE(eo->exactly_once());
  EXPECT_EQ(eo->transaction_pool_size, 3);
  KafkaSettings s = eo->ToProducerSettings("orders-job-out-0-1");
  EXPECT_THAT(s, ::testing::Contains(Pair("transactional.id", "orders-job-out-0-1")));
  EXPECT_THAT(s, ::testing::Contains(Pair("transaction.timeout.ms", "60000")));
  EXPECT_THAT(s, ::testing::Contains(Pair("enable.idempotence", "true")));
  // The delivery timeout (default 120 s) is capped at the transaction timeout: librdkafka
  // refuses a transactional producer otherwise (every restore of the sink failed).
  EXPECT_THAT(s, ::testing::Contains(Pair("delivery.timeout.ms", "60000")));
  auto producer = KafkaClient::Create(RD_KAFKA_PRODUCER, s);
  EXPECT_TRUE(producer.ok()) << producer.status();
  EXPECT_THAT(eo->ToRecoveryConsumerSettings("g", true),
              ::testing::Contains(Pair("isolation.level", "read_committed")));

  EXPECT_THAT(KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"},
                                      {"topic", "o"},
                                      {"sink.delivery-guarantee", "exactly-once"}})
                  .status()
                  .ToString(),
              HasSubstr("sink.transactional-id-prefix"));
  EXPECT_THAT(KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"},
                                      {"topic", "o"},
                                      {"sink.delivery-guarantee", "exactly_once"}})
                  .status()
                  .ToString(),
              HasSubstr("at-least-once, exactly-once"));
  EXPECT_THAT(KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"},
                                      {"topic", "o"},
                                      {"sink.delivery-guarantee", "exactly-once"},
                                      {"sink.transactional-id-prefix", "p"},
                                      {"sink.transaction.pool-size", "1"}})
                  .status()
                  .ToString(),
              HasSubstr("sink.transaction.pool-size"));
  EXPECT_THAT(KafkaSinkConfig::Parse({{"bootstrap.servers", "h:1"},
                                      {"topic", "o"},
                                      {"properties.transactional.id", "x"}})
                  .status()
                  .ToString(),
              HasSubstr("managed by the sink"));
}

}  // namespace
}  // namespace cdcflow::kafka
