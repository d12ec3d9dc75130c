#pragma once
// The consuming half of the Kafka source: reads the partitions that cdcflow
// assigns to one source subtask (rd_kafka_assign; never group rebalancing), in
// batches, and tracks per-partition positions that checkpoints own.
//
// Read-ahead (see kSourceReadAheadBytes): each Poll moves what librdkafka has fetched
// into the consumer's own queue; fetching is paused while that holds
// KafkaSourceConfig::read_ahead_bytes and resumed at a quarter of it. A pause makes
// librdkafka drop what it fetched after the last record handed to the consumer's queue
// and fetch it again after the resume, so nothing is lost or repeated.
//
// Thread-compatible: one thread polls; Positions()/Stats() must be called from
// that thread (between polls), which is where a checkpoint barrier is handled.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "connectors/kafka/kafka_client.h"
#include "connectors/kafka/kafka_config.h"
#include "connectors/kafka/kafka_positions.h"

namespace cdcflow::kafka {

struct KafkaHeader {
  std::string_view name;
  std::string_view value;
  bool has_value = false;  // a header may carry a null value
};

// A non-owning view of one consumed record. Every string_view points into
// librdkafka's fetch buffer (no copy) and is valid while the MessageBatch that
// holds the record is neither cleared nor destroyed.
class KafkaMessage {
 public:
  explicit KafkaMessage(const rd_kafka_message_t* m) : m_(m) {}
  std::string_view topic() const { return rd_kafka_topic_name(m_->rkt); }
  int32_t partition() const { return m_->partition; }
  int64_t offset() const { return m_->offset; }
  bool has_key() const { return m_->key != nullptr; }
  std::string_view key() const {
    return m_->key ? std::string_view(static_cast<const char*>(m_->key), m_->key_len)
                   : std::string_view();
  }
  // A tombstone (null value) is distinct from an empty value.
  bool is_tombstone() const { return m_->payload == nullptr; }
  std::string_view value() const {
    return m_->payload ? std::string_view(static_cast<const char*>(m_->payload), m_->len)
                       : std::string_view();
  }
  // Milliseconds since the epoch (create or log-append time), -1 if none.
  int64_t timestamp_ms() const { return rd_kafka_message_timestamp(m_, nullptr); }
  // Headers in wire order (this allocates the vector; it is for the slow paths).
  std::vector<KafkaHeader> headers() const;
  const rd_kafka_message_t* raw() const { return m_; }

 private:
  const rd_kafka_message_t* m_;
};

// Owns the records of one poll. Must be cleared or destroyed before the
// KafkaConsumer that filled it.
class MessageBatch {
 public:
  MessageBatch() = default;
  MessageBatch(const MessageBatch&) = delete;
  MessageBatch& operator=(const MessageBatch&) = delete;
  MessageBatch(MessageBatch&& other) noexcept : messages_(std::move(other.messages_)) {}
  ~MessageBatch() { Clear(); }

  size_t size() const { return messages_.size(); }
  bool empty() const { return messages_.empty(); }
  KafkaMessage operator[](size_t i) const { return KafkaMessage(messages_[i]); }
  // Total key + value bytes (for throughput metrics).
  size_t ByteSize() const;
  void Clear();

 private:
  friend class KafkaConsumer;
  std::vector<rd_kafka_message_t*> messages_;
};

struct PartitionStats {
  TopicPartition partition;
  int64_t next_offset = -1;     // the next offset this subtask reads
  int64_t high_watermark = -1;  // last known end of the partition, -1 if not yet known
  int64_t lag = -1;             // high_watermark - next_offset, -1 if unknown
};

class KafkaConsumer {
 public:
  // Resolves the topics (names, or the pattern against cluster metadata),
  // assigns this subtask its partitions (AssignSubtask), resolves the start
  // positions to concrete offsets and starts fetching. `restored` (from a
  // checkpoint, the union over all subtasks) overrides the configured start for
  // the partitions it holds; partitions it lacks (new ones) start at the earliest
  // offset. A subtask may be assigned no partition at all (it then stays idle).
  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> Create(
      const KafkaSourceConfig& config, int subtask_index, int parallelism,
      const KafkaPositions* restored = nullptr);
  // Same, for partitions chosen by the caller (the runtime's split assignment).
  // Every partition must exist (kNotFound otherwise).
  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> CreateForPartitions(
      const KafkaSourceConfig& config, std::vector<TopicPartition> partitions,
      const KafkaPositions* restored = nullptr);
  ~KafkaConsumer();

  // Replaces `batch`'s contents with up to `config.max_batch_records` records:
  // returns at once with what is buffered, otherwise waits up to
  // `max_batch_wait_ms` for the first record. An empty batch is not an error.
  // Errors: kDataLoss when a partition's offset is gone (naming topic, partition
  // and offset), kNotFound for a vanished topic, and librdkafka fatal errors.
  // Transient broker errors are retried by librdkafka and not returned.
  absl::Status Poll(MessageBatch* batch) { return Poll(batch, max_batch_, max_wait_ms_); }
  absl::Status Poll(MessageBatch* batch, int max_records, int max_wait_ms);
  // Thread-safe: makes a Poll blocked waiting for the first record return now (or the
  // next Poll, if none is blocked).
  void Wakeup();

  // Adds partitions to the running assignment (partition discovery), each read
  // from its earliest offset; partitions already assigned are ignored. Looks the
  // offsets up with one request (bounded by `timeout_ms`).
  absl::Status AddPartitions(std::vector<TopicPartition> partitions, int timeout_ms);

  // Next offsets of the assigned partitions after the records handed out so far.
  KafkaPositions Positions() const;
  // Records (and events) fetched and waiting for Poll (read-ahead and librdkafka's queue).
  size_t buffered() const;
  // Key + value bytes in the read-ahead, and whether fetching is paused for it.
  int64_t read_ahead_bytes() const { return ahead_bytes_; }
  bool fetch_paused() const { return paused_ != nullptr; }
  // Offsets, last known high watermark and lag per assigned partition (cheap:
  // uses the watermarks from fetch responses, no request).
  std::vector<PartitionStats> Stats() const;
  // True when every assigned partition's position has reached its high
  // watermark, asking the brokers (a request per partition): for bounded reads.
  absl::StatusOr<bool> ReachedEnd(int timeout_ms);

  // Commits `positions` to the consumer group asynchronously, for monitoring
  // tools only (kafka-consumer-groups shows the lag); correctness never depends
  // on it, so a failed commit is ignored.
  void CommitForMonitoring(const KafkaPositions& positions);

  const std::vector<TopicPartition>& assignment() const { return assignment_; }
  KafkaClient& client() { return *client_; }

 private:
  struct PartitionState {
    TopicPartition tp;
    rd_kafka_topic_t* rkt = nullptr;  // librdkafka's handle, for fast matching
    int64_t next_offset = 0;
  };
  KafkaConsumer(std::unique_ptr<KafkaClient> client, int max_batch, int max_wait_ms,
                int64_t read_ahead_bytes)
      : client_(std::move(client)),
        max_batch_(max_batch),
        max_wait_ms_(max_wait_ms),
        read_ahead_limit_(read_ahead_bytes) {}
  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> Start(
      const KafkaSourceConfig& config, std::unique_ptr<KafkaConsumer> consumer,
      const KafkaPositions* restored);
  PartitionState* StateFor(const rd_kafka_message_t* m);
  absl::Status MessageError(const rd_kafka_message_t* m);
  // The first record (or event) librdkafka delivers within `max_wait_ms`; null after
  // that, or at once when a Wakeup came since the last wait.
  rd_kafka_message_t* WaitForRecord(int max_wait_ms);
  // Moves everything librdkafka has fetched into ahead_ (without waiting); false on a
  // librdkafka error.
  bool TakeFetched();
  // Pauses fetching when the read-ahead is full, resumes it when it has run low.
  void AdjustFetching();

  std::unique_ptr<KafkaClient> client_;  // destroyed last
  // One held reference per assigned topic: librdkafka hands out the same
  // handle for a name, so messages' rkt pointers compare equal to these.
  std::vector<TopicPtr> topics_;
  QueuePtr queue_;
  std::vector<TopicPartition> assignment_;
  std::vector<PartitionState> states_;
  PartitionState* last_state_ = nullptr;
  int max_batch_;
  int max_wait_ms_;
  int64_t read_ahead_limit_;  // 0: no read-ahead (librdkafka's queue only)
  std::atomic<bool> woken_{false};  // Wakeup: the next Poll does not wait
  std::deque<rd_kafka_message_t*> ahead_;  // owned; handed out by Poll in order
  int64_t ahead_bytes_ = 0;
  PartitionListPtr paused_;  // the partitions paused for the read-ahead, null: none
};

// Resolves `config`'s topics: the named ones (each must exist), or every topic
// matching the pattern (none matching is kNotFound). Returns sorted
// (topic, partition count) pairs.
absl::StatusOr<std::vector<std::pair<std::string, int>>> ResolveTopics(
    const KafkaClient& client, const KafkaSourceConfig& config);

}  // namespace cdcflow::kafka
