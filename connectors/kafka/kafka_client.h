#pragma once
// RAII ownership of librdkafka's C handles and the one place where librdkafka's
// error space becomes absl::Status.
//
// Every handle type is move-only. Destruction order matters for librdkafka:
// messages, queues and topic handles must be released before the rd_kafka_t
// they came from; the classes that own a KafkaClient (consumer, producer) make
// sure of that by declaring the client first (destroyed last).

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cdcflow::kafka {

// librdkafka settings in the order they are applied ("bootstrap.servers" -> "...").
using KafkaSettings = std::vector<std::pair<std::string, std::string>>;

// Converts a librdkafka error code to a Status whose message starts with
// `context`. Codes: transient broker/network errors -> kUnavailable; timeouts ->
// kDeadlineExceeded; bad configuration or arguments -> kInvalidArgument; unknown
// topic/partition -> kNotFound; authorization -> kPermissionDenied; offsets
// lost to retention -> kDataLoss; fatal/idempotence/fencing -> kAborted or
// kFailedPrecondition; anything else -> kInternal. NO_ERROR -> OK.
absl::Status KafkaErrorToStatus(rd_kafka_resp_err_t err, absl::string_view context);
// Same for an rd_kafka_error_t (takes ownership and destroys it; null -> OK).
// A retriable error maps to kUnavailable whatever its code.
absl::Status KafkaErrorToStatus(rd_kafka_error_t* error, absl::string_view context);

struct KafkaHandleDeleter {
  void operator()(rd_kafka_t* rk) const;
};
struct KafkaTopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
struct KafkaQueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct KafkaPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct KafkaMessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct KafkaMetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
struct KafkaHeadersDeleter {
  void operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
};

using TopicPtr = std::unique_ptr<rd_kafka_topic_t, KafkaTopicDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, KafkaQueueDeleter>;
using PartitionListPtr =
    std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaPartitionListDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, KafkaMessageDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, KafkaMetadataDeleter>;
using HeadersPtr = std::unique_ptr<rd_kafka_headers_t, KafkaHeadersDeleter>;

inline PartitionListPtr NewPartitionList(int size) {
  return PartitionListPtr(rd_kafka_topic_partition_list_new(size));
}

// Owns one rd_kafka_t (a consumer or a producer). A consumer is closed
// (rd_kafka_consumer_close) before it is destroyed. Thread-safe as librdkafka is.
class KafkaClient {
 public:
  // Applies `settings` in order; an unknown key or bad value is kInvalidArgument
  // naming the key. `configure` may set callbacks on the conf before the handle
  // is created (it must not take ownership of the conf).
  static absl::StatusOr<std::unique_ptr<KafkaClient>> Create(
      rd_kafka_type_t type, const KafkaSettings& settings,
      void (*configure)(rd_kafka_conf_t* conf, void* opaque) = nullptr, void* opaque = nullptr);

  KafkaClient(const KafkaClient&) = delete;
  KafkaClient& operator=(const KafkaClient&) = delete;
  ~KafkaClient();

  rd_kafka_t* get() const { return rk_.get(); }
  rd_kafka_type_t type() const { return type_; }

  // Cluster metadata for all topics (topic == nullptr) or one topic.
  absl::StatusOr<MetadataPtr> Metadata(const rd_kafka_topic_t* topic, int timeout_ms) const;
  // Names and partition counts of every topic the cluster reports, errors
  // surfaced per topic only when `topic` is given.
  absl::StatusOr<std::vector<std::pair<std::string, int>>> ListTopics(int timeout_ms) const;
  // Partition count of `topic`; kNotFound when the cluster does not know it
  // (never creates it, whatever the broker's auto.create.topics.enable).
  absl::StatusOr<int> PartitionCount(const std::string& topic, int timeout_ms) const;
  // Admin: creates `topic` (replication factor 1 unless given); an existing topic
  // is kAlreadyExists. Deletes a topic. For tools, tests and benchmarks.
  absl::Status CreateTopic(const std::string& topic, int partitions, int timeout_ms,
                           int replication_factor = 1);
  absl::Status DeleteTopic(const std::string& topic, int timeout_ms);
  // A fatal error raised by librdkafka (idempotent producer), or OK.
  absl::Status FatalError() const;

 private:
  KafkaClient(rd_kafka_t* rk, rd_kafka_type_t type) : rk_(rk), type_(type) {}
  std::unique_ptr<rd_kafka_t, KafkaHandleDeleter> rk_;
  rd_kafka_type_t type_;
};

}  // namespace cdcflow::kafka
