#include "connectors/kafka/kafka_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cdcflow::kafka {
namespace {

TEST(KafkaErrorToStatusTest, MapsCodesByMeaning) {
  EXPECT_TRUE(KafkaErrorToStatus(RD_KAFKA_RESP_ERR_NO_ERROR, "x").ok());
  EXPECT_EQ(KafkaErrorToStatus(RD_KAFKA_RESP_ERR__TRANSPORT, "x").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(KafkaErrorToStatus(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, "x").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(KafkaErrorToStatus(RD_KAFKA_RESP_ERR__INVALID_ARG, "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KafkaErrorToStatus(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "x").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(KafkaErrorToStatus(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, "x").code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(KafkaErrorToStatus(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "x").code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(KafkaErrorToStatus(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "x").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(KafkaErrorToStatus(RD_KAFKA_RESP_ERR__FENCED, "x").code(),
            absl::StatusCode::kAborted);
  absl::Status s = KafkaErrorToStatus(RD_KAFKA_RESP_ERR__TRANSPORT, "producing to 'out'");
  EXPECT_THAT(s.ToString(), ::testing::HasSubstr(": producing to 'out': "));
  EXPECT_THAT(s.ToString(), ::testing::HasSubstr("_TRANSPORT"));
}

TEST(KafkaErrorToStatusTest, ErrorObjects) {
  EXPECT_TRUE(KafkaErrorToStatus(static_cast<rd_kafka_error_t*>(nullptr), "x").ok());
  absl::Status s = KafkaErrorToStatus(
      rd_kafka_error_new(RD_KAFKA_RESP_ERR__INVALID_ARG, "bad %s", "thing"), "ctx");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.ToString(), ::testing::HasSubstr("bad thing"));
}

TEST(KafkaClientTest, BadSettingIsInvalidArgumentNamingTheKey) {
  auto client = KafkaClient::Create(RD_KAFKA_PRODUCER, {{"no.such.setting", "1"}});
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().ToString(), ::testing::HasSubstr("no.such.setting"));
  auto bad_value = KafkaClient::Create(RD_KAFKA_PRODUCER, {{"linger.ms", "soon"}});
  EXPECT_THAT(bad_value.status().ToString(), ::testing::HasSubstr("linger.ms"));
}

}  // namespace
}  // namespace cdcflow::kafka
