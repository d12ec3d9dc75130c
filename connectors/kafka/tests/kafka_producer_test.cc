#include "connectors/kafka/kafka_producer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connectors/kafka/tests/mock_kafka.h"

namespace cdcflow::kafka {
namespace {

using ::cdcflow::kafka::testing::MockKafka;
using ::cdcflow::kafka::testing::PollRecords;

constexpr int16_t kProduceApiKey = 0;

std::unique_ptr<KafkaProducer> MakeProducer(const MockKafka& kafka, KafkaSettings extra = {}) {
  KafkaSettings settings = {{"bootstrap.servers", kafka.bootstrap()},
                            {"enable.idempotence", "true"},
                            {"linger.ms", "5"},
                            {"log_level", "2"}};
  settings.insert(settings.end(), extra.begin(), extra.end());
  auto producer = KafkaProducer::Create(settings);
  EXPECT_TRUE(producer.ok()) << producer.status();
  return producer.ok() ? std::move(*producer) : nullptr;
}

TEST(KafkaProducerTest, DeliversEveryRecordAndCountsAcks) {
  MockKafka kafka;
  kafka.CreateTopic("out", 3);
  auto producer = MakeProducer(kafka);
  ASSERT_NE(producer, nullptr);
  rd_kafka_topic_t* topic = producer->Topic("out");
  for (int i = 0; i < 500; ++i) {
    std::string key = "k" + std::to_string(i), value = "v" + std::to_string(i);
    ASSERT_TRUE(producer->Produce(topic, RD_KAFKA_PARTITION_UA, key.data(), key.size(),
                                  value.data(), value.size())
                    .ok());
  }
  ASSERT_TRUE(producer->Flush(10000).ok());
  EXPECT_EQ(producer->delivered(), 500);
  EXPECT_EQ(producer->failed(), 0);
  EXPECT_EQ(producer->in_flight(), 0);

  auto config = KafkaSourceConfig::Parse(kafka.SourceOptions("out"));
  ASSERT_TRUE(config.ok());
  auto consumer = KafkaConsumer::Create(*config, 0, 1);
  ASSERT_TRUE(consumer.ok());
  EXPECT_EQ(PollRecords(**consumer, 500).size(), 500u);
}

TEST(KafkaProducerTest, FailedDeliveryIsSurfacedAndSticky) {
  MockKafka kafka;
  kafka.CreateTopic("out", 1);
  auto producer = MakeProducer(kafka);
  ASSERT_NE(producer, nullptr);
  rd_kafka_topic_t* topic = producer->Topic("out");
  // Warm up (the idempotent producer acquires its id first), then make the
  // broker refuse the next produce requests with a permanent error.
  ASSERT_TRUE(producer->Produce(topic, 0, "a", 1, "1", 1).ok());
  ASSERT_TRUE(producer->Flush(10000).ok());
  rd_kafka_mock_push_request_errors(kafka.cluster(), kProduceApiKey, 5,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  ASSERT_TRUE(producer->Produce(topic, 0, "b", 1, "2", 1).ok());
  absl::Status flushed = producer->Flush(10000);
  ASSERT_FALSE(flushed.ok());
  EXPECT_THAT(flushed.ToString(), ::testing::HasSubstr("topic 'out' partition 0"));
  EXPECT_GE(producer->failed(), 1);
  // Sticky: later writes fail too instead of going on past a lost record.
  EXPECT_FALSE(producer->Produce(topic, 0, "c", 1, "3", 1).ok());
  EXPECT_FALSE(producer->Flush(1000).ok());
}

TEST(KafkaProducerTest, UndeliverableRecordTimesOutAsAnError) {
  MockKafka kafka;
  kafka.CreateTopic("out", 1);
  auto producer = MakeProducer(kafka, {{"message.timeout.ms", "500"}});
  ASSERT_NE(producer, nullptr);
  rd_kafka_topic_t* topic = producer->Topic("out");
  ASSERT_TRUE(producer->Produce(topic, 0, "a", 1, "1", 1).ok());
  ASSERT_TRUE(producer->Flush(10000).ok());
  rd_kafka_mock_broker_set_down(kafka.cluster(), 1);
  ASSERT_TRUE(producer->Produce(topic, 0, "b", 1, "2", 1).ok());
  absl::Status flushed = producer->Flush(10000);
  ASSERT_FALSE(flushed.ok());
  EXPECT_THAT(flushed.ToString(), ::testing::HasSubstr("'out'"));
  EXPECT_EQ(producer->failed(), 1);
}

}  // namespace
}  // namespace cdcflow::kafka
