#pragma once
// The Kafka + Debezium source as an SDK SplitSource: each Kafka partition is a
// split; the runtime spreads the splits over the source subtasks; a subtask
// reads its partitions in batches (KafkaConsumer), decodes every record with the
// Debezium decoder straight from librdkafka's buffer into the output RowBatch,
// and checkpoints the next offset of every partition.
//
// A record that fails to decode goes to the DeadLetterHandler: policy `fail`
// fails the task naming topic, partition, offset and the decoder's reason;
// policy `dead-letter` writes it to the DLQ topic and goes on (dead letters are
// flushed before a checkpoint's positions are taken, so a checkpoint never
// covers a dead letter that is not durable).
//
// Row timestamps are the Kafka record timestamps (ms).
//
// Control events. Debezium truncate (op t) and logical decoding message (op m)
// events are not rows. Each one is counted (control_events(), the stats'
// control_events) and handed to the job's ControlEventHandler as a
// KafkaControlEvent (table or message, topic, partition, offset); a handler that
// returns an error fails the task with that error and the event's position (e.g.
// a job whose sink cannot represent a truncate refuses to go on). Without a
// handler the source logs each one to stderr with topic, partition and offset
// (messages: the first 10, then every 1000th) and goes on.
//
// Partition discovery. Every `scan.partition-discovery.interval-ms` (default
// 30 s, 0 = off) the source re-reads the cluster metadata and picks up new
// partitions of its topics and new topics matching its pattern, read from the
// earliest offset. Every subtask decides alone and all decide alike: partition p
// of a topic whose first split had index b in EnumerateSplits goes to subtask
// (b + p) % parallelism (for the enumerated splits that is exactly the runtime's
// i % parallelism rule); a topic that appeared later goes by AssignSubtask (a
// stable hash of its name). Only for sources whose splits the runtime assigned.
//
// Thread-compatible: the runtime calls it from the subtask's thread only, except Wakeup
// (any thread).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "cdcflow/job.h"  // SourceFactory
#include "cdcflow/source.h"
#include "connectors/debezium/decoder.h"
#include "connectors/kafka/dead_letter.h"
#include "connectors/kafka/kafka_config.h"
#include "connectors/kafka/kafka_consumer.h"

namespace cdcflow::kafka {

// What the source reports for metrics (cdcflow_kafka_source_lag_records,
// cdcflow_kafka_source_offset, dead letters).
struct KafkaSourceStats {
  std::vector<PartitionStats> partitions;
  int64_t dead_letters = 0;
  int64_t control_events = 0;
  int64_t records = 0;  // Kafka records read (including tombstones and dead letters)
};

// A Debezium control event as the source read it (see above).
struct KafkaControlEvent {
  debezium::EventKind kind = debezium::EventKind::kTruncate;  // kTruncate or kMessage
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;  // the Kafka record's
  std::string table;          // "<server>.<schema>.<table>" from the source block
  std::string message_prefix;   // kMessage only
  std::string message_content;  // kMessage only (bytes)
  debezium::SourceInfo source;
};
// Called on the subtask's thread; shared by all subtasks of the source (so it must
// be thread-safe if it has state). An error fails the task.
using ControlEventHandler = std::function<absl::Status(const KafkaControlEvent&)>;

class KafkaSourceMetrics;

class KafkaDebeziumSource final : public SplitSource {
 public:
  explicit KafkaDebeziumSource(KafkaSourceConfig config,
                               debezium::DecoderOptions decoder_options = {});
  ~KafkaDebeziumSource() override;

  absl::Status Open(RuntimeContext& ctx) override;
  // One split per partition of every resolved topic, sorted by topic and partition.
  absl::StatusOr<std::vector<SourceSplit>> EnumerateSplits(RuntimeContext& ctx) override;
  absl::Status AssignSplits(std::vector<SourceSplit> splits) override;
  absl::Status RestorePosition(std::string_view position) override;
  absl::StatusOr<PollResult> PollBatch(RowBatch& out, size_t max_rows) override;
  void Wakeup() override;
  absl::StatusOr<std::string> SnapshotPosition(int64_t checkpoint_id) override;
  // Commits the checkpoint's offsets to the consumer group (monitoring only).
  absl::Status NotifyCheckpointComplete(int64_t checkpoint_id) override;
  absl::Status Close() override;

  // For metrics: per-partition offsets and lag, dead letters, control events.
  std::vector<PartitionStats> Stats() const;
  // `listener` gets the stats from PollBatch at most every `interval_ms`, when they
  // are also published as metrics (kafka_source_metrics.h).
  void SetStatsListener(std::function<void(const KafkaSourceStats&)> listener,
                        int interval_ms = 1000) {
    stats_listener_ = std::move(listener);
    stats_interval_ms_ = interval_ms;
  }
  void SetControlEventHandler(ControlEventHandler handler) {
    control_handler_ = std::move(handler);
  }
  int64_t dead_letters() const { return dlq_ ? dlq_->dead_letters() : 0; }
  int64_t control_events() const { return control_events_; }
  // The schema-off decoding needs the Connect schema of a topic's rows: see
  // debezium::Decoder::SetValueSchema.
  debezium::Decoder& decoder() { return decoder_; }

 private:
  absl::Status StartConsumer();
  absl::Status HandleControlEvent(const KafkaMessage& m);
  // Partition discovery (see above): adds this subtask's new partitions.
  absl::Status DiscoverPartitions();

  KafkaSourceConfig config_;
  debezium::Decoder decoder_;
  std::unique_ptr<DeadLetterHandler> dlq_;
  std::vector<TopicPartition> assigned_;
  bool assigned_set_ = false;
  std::optional<KafkaPositions> restored_;
  // Created at the first poll (after restore). Set and reset under consumer_mu_, which
  // Wakeup (another thread) holds while it uses it.
  std::unique_ptr<KafkaConsumer> consumer_;
  absl::Mutex consumer_mu_;
  bool wakeup_pending_ = false;  // under consumer_mu_: a Wakeup before the consumer existed
  MessageBatch batch_;                       // declared after consumer_: cleared first
  debezium::Event event_;
  std::map<int64_t, KafkaPositions> pending_commits_;  // by checkpoint id
  int64_t control_events_ = 0;
  ControlEventHandler control_handler_;
  // Partition discovery: the partitions known so far, the split index of each
  // enumerated topic's partition 0, and this subtask's place.
  std::set<TopicPartition> known_partitions_;
  std::map<std::string, int64_t> topic_base_;
  bool enumerated_ = false;
  int subtask_index_ = 0;
  int parallelism_ = 1;
  int64_t next_discovery_ms_ = 0;
  int64_t records_ = 0;
  std::unique_ptr<KafkaSourceMetrics> metrics_;  // from Open
  std::function<void(const KafkaSourceStats&)> stats_listener_;
  int stats_interval_ms_ = 1000;
  int64_t next_stats_ms_ = 0;
};

// A factory for JobBuilder::Source: a fresh source per subtask.
SourceFactory KafkaDebeziumSourceFactory(KafkaSourceConfig config,
                                         debezium::DecoderOptions decoder_options = {},
                                         ControlEventHandler control_handler = nullptr);

// Split ids are "topic:partition"; the split data is the same text.
std::string SplitId(const TopicPartition& tp);
absl::StatusOr<TopicPartition> ParseSplitId(std::string_view id);

}  // namespace cdcflow::kafka
