#pragma once
// Configuration of the Kafka source and sink: parsed from string options (the
// keys follow Flink's Kafka connector where one exists), validated, and
// translated to librdkafka settings. Parsing never touches the network.
//
// Source options:
//   bootstrap.servers            host:port list (required)
//   topics                       comma-separated topic names     } exactly one
//   topic-pattern                ECMAScript regex, whole-name match } of these
//   group.id                     consumer group used only for monitoring commits
//                                (partitions are assigned by cdcflow, never by
//                                group rebalancing); default "cdcflow"
//   scan.startup.mode            earliest-offset (default) | latest-offset |
//                                timestamp | specific-offsets
//   scan.startup.timestamp-millis  for mode timestamp
//   scan.startup.specific-offsets  "topic:partition:offset,..." for mode
//                                specific-offsets (partitions not listed start at
//                                the earliest offset)
//   scan.batch.max-records       records per poll (default 2048)
//   scan.batch.max-wait-ms       how long a poll waits for the first record (default 100)
//   scan.partition-discovery.interval-ms  how often a running source looks for new
//                                partitions of its topics / new topics matching its
//                                pattern (default 30000; 0 turns discovery off)
//   dead-letter.policy           fail (default) | dead-letter
//   dead-letter.topic            required for dead-letter
//   debezium.source-position     true: every row gets a trailing Bytes column with its
//                                Debezium source position (DecoderOptions::
//                                append_source_position), for the replay filter of the
//                                changelog join / upsert materializer (default false)
//   properties.<key>             passed to librdkafka as <key> (last word)
// Sink options:
//   bootstrap.servers, topic (required)
//   format                       debezium-json (default) | changelog-json | upsert-json
//   key.fields                   comma-separated primary-key columns (required for
//                                upsert-json; otherwise optional, null keys without)
//   sink.linger-ms (default 5), sink.batch-num-messages (default 10000),
//   sink.delivery-timeout-ms (default 120000), sink.flush-timeout-ms (default 60000)
//   sink.delivery-guarantee      at-least-once (default: idempotent producer) |
//                                exactly-once (transactions committed on checkpoints,
//                                see kafka_sink.h)
//   sink.transactional-id-prefix required for exactly-once; unique per job and sink:
//                                transactional ids are <prefix>-<vertex>-<subtask>-<k>
//   sink.transaction.pool-size   transactional ids per subtask (default 4, >= 2): the
//                                open transaction plus the pre-committed ones awaiting Commit
//   sink.transaction.timeout-ms  transaction.timeout.ms (default 900000, the broker's
//                                default maximum); must exceed checkpoint interval + commit delay;
//                                also caps the delivery timeout of the transactional producers
//   properties.<key>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "connectors/kafka/kafka_client.h"

namespace cdcflow::kafka {

using KafkaOptions = std::map<std::string, std::string>;

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
};

enum class StartMode { kEarliest, kLatest, kTimestamp, kSpecificOffsets };
enum class DeadLetterPolicy { kFail, kDeadLetter };

// Memory of a source's consumer. librdkafka stops fetching a partition whose queue has
// reached queued.max.messages.kbytes and looks again only when its broker thread wakes
// for something else, or after a second (2.0, Debian's; 2.1 made it
// fetch.queue.backoff.ms, 1 s by default): a small queue starves every consumer that is
// slower than the broker (every catch-up; 1M-event bench: 16 MiB 19.5 k events/s, 32 MiB
// 27 k, 64 MiB 41 k). So KafkaConsumer keeps a read-ahead of its own: each Poll takes
// what librdkafka has fetched, fetching is paused once the read-ahead holds
// `read_ahead_bytes` (scan.read-ahead.bytes) and resumed when a quarter of it is left,
// with a request to the leader that wakes librdkafka's fetcher at once (the resume
// alone does not). librdkafka's queue limit is the
// read-ahead too, a backstop for a task that does not poll for a while (a take of a full
// queue pauses, so its resume wakes the fetcher), or kSourcePrefetchKbytes without a
// read-ahead; one fetch response is at most kSourceFetchMaxBytes (fetch.max.bytes; each
// partition's part is bounded by max.partition.fetch.bytes, 1 MiB). Both can be overridden
// with properties.queued.max.messages.kbytes / properties.fetch.max.bytes.
// 4 MiB (8 MiB before 2026-11-26): on the 1M-event bench the process's peak RSS is 10-16
// MB lower, catch-up throughput and CPU unchanged. 2 MiB measured 16-24 MB lower at the
// same speed once, then 5-9 MB lower at 5-19 % more CPU in two later pairs: not taken.
inline constexpr int64_t kSourceReadAheadBytes = 4 << 20;
inline constexpr int kSourcePrefetchKbytes = 64 * 1024;
inline constexpr int kSourceFetchMaxBytes = 16 << 20;

struct KafkaSourceConfig {
  std::string bootstrap_servers;
  std::vector<std::string> topics;
  std::string topic_pattern;
  std::string group_id = "cdcflow";
  StartMode start_mode = StartMode::kEarliest;
  int64_t start_timestamp_ms = 0;
  std::map<TopicPartition, int64_t> start_offsets;
  int max_batch_records = 2048;
  int max_batch_wait_ms = 100;
  int64_t read_ahead_bytes = kSourceReadAheadBytes;  // see kSourceReadAheadBytes; 0: none
  int metadata_timeout_ms = 10000;
  int64_t partition_discovery_interval_ms = 30000;  // 0: off
  DeadLetterPolicy dead_letter_policy = DeadLetterPolicy::kFail;
  std::string dead_letter_topic;
  bool append_source_position = false;
  KafkaSettings properties;  // raw librdkafka settings, applied last

  // Unknown option keys are an error (a typo must not silently change behaviour).
  static absl::StatusOr<KafkaSourceConfig> Parse(const KafkaOptions& options);
  absl::Status Validate() const;
  // Consumer settings: no auto commit, no offset store, errors on lost offsets.
  KafkaSettings ToConsumerSettings() const;
  // Settings of the producer that writes dead letters (idempotent).
  KafkaSettings ToDeadLetterProducerSettings() const;
};

enum class SinkFormat { kDebeziumJson, kChangelogJson, kUpsertJson };
enum class DeliveryGuarantee { kAtLeastOnce, kExactlyOnce };

struct KafkaSinkConfig {
  std::string bootstrap_servers;
  std::string topic;
  SinkFormat format = SinkFormat::kDebeziumJson;
  std::vector<std::string> key_fields;
  int linger_ms = 5;
  int batch_num_messages = 10000;
  int delivery_timeout_ms = 120000;
  int flush_timeout_ms = 60000;
  DeliveryGuarantee delivery = DeliveryGuarantee::kAtLeastOnce;
  std::string transactional_id_prefix;
  int transaction_pool_size = 4;
  int transaction_timeout_ms = 900000;
  KafkaSettings properties;

  static absl::StatusOr<KafkaSinkConfig> Parse(const KafkaOptions& options);
  absl::Status Validate() const;
  bool exactly_once() const { return delivery == DeliveryGuarantee::kExactlyOnce; }
  // Idempotent producer (enable.idempotence=true, acks=all) with the batching settings;
  // a non-empty `transactional_id` makes it transactional (exactly-once mode).
  KafkaSettings ToProducerSettings(const std::string& transactional_id = "") const;
  // Settings of the consumers the exactly-once sink uses on restore: read_committed
  // to fetch its commit markers (OffsetFetch with require_stable), read_uncommitted to
  // read back the records of an aborted pre-committed transaction.
  KafkaSettings ToRecoveryConsumerSettings(const std::string& group_id,
                                           bool read_committed) const;
};

}  // namespace cdcflow::kafka
