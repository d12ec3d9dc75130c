#include "connectors/kafka/dead_letter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connectors/kafka/tests/mock_kafka.h"

namespace cdcflow::kafka {
namespace {

using ::cdcflow::kafka::testing::MockKafka;
using ::cdcflow::kafka::testing::PollRecords;
using ::cdcflow::kafka::testing::TestRecord;
using ::testing::HasSubstr;
using ::testing::Pair;

class DeadLetterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_.CreateTopic("in", 2);
    kafka_.CreateTopic("dlq", 1);
    ASSERT_TRUE(kafka_.Produce(TestRecord{.topic = "in", .partition = 1, .key = "k1",
                                          .value = "not json", .timestamp_ms = 1700000000001,
                                          .headers = {{"trace", "abc"}}}));
    ASSERT_TRUE(kafka_.Produce(TestRecord{.topic = "in", .partition = 1, .key = "k2",
                                          .value = "{\"op\":\"x\"}",
                                          .timestamp_ms = 1700000000002}));
    auto config = KafkaSourceConfig::Parse(kafka_.SourceOptions("in"));
    ASSERT_TRUE(config.ok());
    config_ = *config;
    auto consumer = KafkaConsumer::Create(config_, 0, 1);
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    consumer_ = std::move(*consumer);
    for (int i = 0; i < 200 && messages_.size() < 2; ++i) {
      MessageBatch batch;
      ASSERT_TRUE(consumer_->Poll(&batch, 10, 50).ok());
      for (size_t j = 0; j < batch.size(); ++j) messages_.push_back(batch[j]);
      batches_.push_back(std::move(batch));
    }
    ASSERT_EQ(messages_.size(), 2u);
  }
  void TearDown() override { batches_.clear(); }
  const KafkaMessage& message(size_t i) const { return messages_[i]; }

  MockKafka kafka_;
  KafkaSourceConfig config_;
  std::unique_ptr<KafkaConsumer> consumer_;
  std::vector<MessageBatch> batches_;  // own the records that messages_ view
  std::vector<KafkaMessage> messages_;
};

TEST_F(DeadLetterTest, FailPolicyNamesTopicPartitionOffsetAndReason) {
  auto handler = DeadLetterHandler::Create(config_);
  ASSERT_TRUE(handler.ok());
  EXPECT_EQ((*handler)->policy(), DeadLetterPolicy::kFail);
  absl::Status s = (*handler)->Handle(message(1), absl::InvalidArgumentError("unknown op 'x'"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.ToString(), HasSubstr("topic 'in' partition 1 offset 1"));
  EXPECT_THAT(s.ToString(), HasSubstr("unknown op 'x'"));
  EXPECT_EQ((*handler)->dead_letters(), 0);
}

TEST_F(DeadLetterTest, DeadLetterPolicyCopiesTheRecordWithTheErrorAsHeaders) {
  config_.dead_letter_policy = DeadLetterPolicy::kDeadLetter;
  config_.dead_letter_topic = "dlq";
  auto handler = DeadLetterHandler::Create(config_);
  ASSERT_TRUE(handler.ok()) << handler.status();
  ASSERT_TRUE((*handler)->Handle(message(0), absl::InvalidArgumentError("expected JSON")).ok());
  ASSERT_TRUE((*handler)->Handle(message(1), absl::InvalidArgumentError("unknown op")).ok());
  ASSERT_TRUE((*handler)->Flush(10000).ok());
  EXPECT_EQ((*handler)->dead_letters(), 2);

  auto dlq_config = KafkaSourceConfig::Parse(kafka_.SourceOptions("dlq"));
  ASSERT_TRUE(dlq_config.ok());
  auto dlq = KafkaConsumer::Create(*dlq_config, 0, 1);
  ASSERT_TRUE(dlq.ok());
  auto records = PollRecords(**dlq, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].key, "k1");
  EXPECT_EQ(records[0].value, "not json");
  EXPECT_THAT(records[0].headers,
              ::testing::ElementsAre(Pair("trace", "abc"), Pair(kDlqErrorHeader, "expected JSON"),
                                     Pair(kDlqTopicHeader, "in"), Pair(kDlqPartitionHeader, "1"),
                                     Pair(kDlqOffsetHeader, "0"),
                                     Pair(kDlqTimestampHeader, "1700000000001")));
  EXPECT_EQ(records[1].key, "k2");
  EXPECT_EQ(records[1].value, "{\"op\":\"x\"}");
  EXPECT_THAT(records[1].headers, ::testing::Contains(Pair(kDlqOffsetHeader, "1")));
}

TEST_F(DeadLetterTest, ConfigNeedsATopicForDeadLetters) {
  config_.dead_letter_policy = DeadLetterPolicy::kDeadLetter;
  EXPECT_EQ(DeadLetterHandler::Create(config_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cdcflow::kafka
