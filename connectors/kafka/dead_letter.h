#pragma once
// What a Kafka source does with a record it cannot turn into rows (a decoding
// error): policy `fail` returns an error that names topic, partition, offset and
// the reason (the job fails); policy `dead-letter` copies the original key,
// value and headers to the dead-letter topic, adds the error as headers, counts
// it, and lets the job go on. Nothing is dropped silently.
//
// Dead-letter headers added to the original ones:
//   cdcflow.dlq.error      the reason (the decoder's status message)
//   cdcflow.dlq.topic      source topic
//   cdcflow.dlq.partition  source partition (decimal text)
//   cdcflow.dlq.offset     source offset (decimal text)
//   cdcflow.dlq.timestamp  source record timestamp in ms (decimal text)
//
// Thread-compatible: called from the source subtask's thread.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "connectors/kafka/kafka_config.h"
#include "connectors/kafka/kafka_consumer.h"
#include "connectors/kafka/kafka_producer.h"

namespace cdcflow::kafka {

inline constexpr char kDlqErrorHeader[] = "cdcflow.dlq.error";
inline constexpr char kDlqTopicHeader[] = "cdcflow.dlq.topic";
inline constexpr char kDlqPartitionHeader[] = "cdcflow.dlq.partition";
inline constexpr char kDlqOffsetHeader[] = "cdcflow.dlq.offset";
inline constexpr char kDlqTimestampHeader[] = "cdcflow.dlq.timestamp";

class DeadLetterHandler {
 public:
  // Opens the dead-letter producer only for policy dead-letter.
  static absl::StatusOr<std::unique_ptr<DeadLetterHandler>> Create(
      const KafkaSourceConfig& config);

  // `reason` is the (non-OK) decoding error. Under `fail`: returns a status with
  // the reason's code and "topic 't' partition p offset o: <reason>". Under
  // `dead-letter`: enqueues the record to the DLQ and returns OK, or the
  // producer's error if a dead letter could not be written.
  absl::Status Handle(const KafkaMessage& message, const absl::Status& reason);

  // Makes every dead letter so far durable. The source calls it before a
  // checkpoint records offsets past those records.
  absl::Status Flush(int timeout_ms = 60000);

  DeadLetterPolicy policy() const { return policy_; }
  // Records routed to the dead-letter topic (a metric).
  int64_t dead_letters() const { return dead_letters_; }

 private:
  DeadLetterHandler(DeadLetterPolicy policy, std::string topic)
      : policy_(policy), topic_name_(std::move(topic)) {}

  DeadLetterPolicy policy_;
  std::string topic_name_;
  std::unique_ptr<KafkaProducer> producer_;
  rd_kafka_topic_t* topic_ = nullptr;
  int64_t dead_letters_ = 0;
};

}  // namespace cdcflow::kafka
