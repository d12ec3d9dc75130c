#pragma once
// A producer wrapper shared by the Kafka sink and the dead-letter queue: it
// enqueues records, tracks every delivery report and never drops a failure.
//
// Delivery errors are sticky: once a record failed, Produce and Flush return
// that error (naming topic, partition and the reason) until the producer is
// destroyed, because the records after it can no longer be trusted to be in
// order. Thread-compatible: one thread calls Produce/Flush (delivery reports are
// served on that thread, inside Produce and Flush).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "connectors/kafka/kafka_client.h"

namespace cdcflow::kafka {

// Offsets of acknowledged records, per partition of one topic: sorted, disjoint,
// inclusive ranges (the records of one transaction, to read them back).
struct OffsetRange {
  int64_t first = 0;
  int64_t last = 0;  // inclusive
  friend bool operator==(const OffsetRange&, const OffsetRange&) = default;
};
using PartitionOffsets = std::map<int32_t, std::vector<OffsetRange>>;

class KafkaProducer {
 public:
  // `settings` should enable idempotence; the sink's and DLQ's configs do.
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(const KafkaSettings& settings);
  ~KafkaProducer();

  // A topic handle owned by the producer (created on first use).
  rd_kafka_topic_t* Topic(const std::string& name);

  // Enqueues one record (copying key and value). A null `key`/`value` data
  // pointer means a null key / a tombstone. `headers` (may be null) is consumed.
  // While librdkafka's queue is full this serves delivery reports and retries,
  // which is how a slow broker slows the job down.
  absl::Status Produce(rd_kafka_topic_t* topic, int32_t partition, const char* key,
                       size_t key_len, const char* value, size_t value_len,
                       HeadersPtr headers = nullptr);
  // Waits until every enqueued record is acknowledged or failed. Returns the
  // first delivery error, or kDeadlineExceeded if records are still in flight.
  absl::Status Flush(int timeout_ms);
  // Serves delivery reports that arrived, without waiting.
  void Poll() { rd_kafka_poll(client_->get(), 0); }

  // Transactions (the settings carry transactional.id). Errors name the id; a
  // retriable error is retried until `timeout_ms`. After a failed commit the
  // producer is unusable for this transaction (abort, or destroy + fence).
  absl::Status InitTransactions(int timeout_ms);
  absl::Status BeginTransaction();
  // Commits `offset` for (topic, partition) in consumer group `group_id` as part of
  // the open transaction (visible only if the transaction commits).
  absl::Status SendOffsetsToTransaction(const std::string& group_id, const std::string& topic,
                                        int32_t partition, int64_t offset, int timeout_ms);
  absl::Status CommitTransaction(int timeout_ms);
  absl::Status AbortTransaction(int timeout_ms);
  const std::string& transactional_id() const { return transactional_id_; }

  // Records the offset of every acknowledged record (for a producer writing one
  // topic); TakeDeliveredOffsets returns and clears them.
  void set_track_offsets(bool on) { track_offsets_ = on; }
  // Called with each acknowledged record's produce-to-acknowledgement latency in
  // seconds (librdkafka's rd_kafka_message_latency), on the thread serving delivery
  // reports; empty: none.
  void set_latency_observer(std::function<void(double seconds)> f) { latency_ = std::move(f); }
  PartitionOffsets TakeDeliveredOffsets();

  absl::Status error() const { return error_; }
  int64_t delivered() const { return delivered_; }
  int64_t failed() const { return failed_; }
  int in_flight() const { return rd_kafka_outq_len(client_->get()); }
  KafkaClient& client() { return *client_; }

 private:
  KafkaProducer() = default;
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);

  std::unique_ptr<KafkaClient> client_;  // destroyed last
  std::map<std::string, TopicPtr, std::less<>> topics_;
  std::string transactional_id_;
  std::function<void(double seconds)> latency_;
  bool track_offsets_ = false;
  PartitionOffsets delivered_offsets_;
  absl::Status error_;
  int64_t delivered_ = 0;
  int64_t failed_ = 0;
};

}  // namespace cdcflow::kafka
