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
// Row timestamps are the Kafka record timestamps (ms). Debezium truncate and
// message events produce no rows; they are counted (control_events()).
// Thread-compatible: the runtime calls it from the subtask's thread only.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  absl::StatusOr<std::string> SnapshotPosition(int64_t checkpoint_id) override;
  // Commits the checkpoint's offsets to the consumer group (monitoring only).
  absl::Status NotifyCheckpointComplete(int64_t checkpoint_id) override;
  absl::Status Close() override;

  // For metrics: per-partition offsets and lag, dead letters, control events.
  std::vector<PartitionStats> Stats() const;
  // `listener` gets the stats from PollBatch at most every `interval_ms` (the
  // host publishes them; the SDK has no metric API for sources yet).
  void SetStatsListener(std::function<void(const KafkaSourceStats&)> listener,
                        int interval_ms = 1000) {
    stats_listener_ = std::move(listener);
    stats_interval_ms_ = interval_ms;
  }
  int64_t dead_letters() const { return dlq_ ? dlq_->dead_letters() : 0; }
  int64_t control_events() const { return control_events_; }
  // The schema-off decoding needs the Connect schema of a topic's rows: see
  // debezium::Decoder::SetValueSchema.
  debezium::Decoder& decoder() { return decoder_; }

 private:
  absl::Status StartConsumer();

  KafkaSourceConfig config_;
  debezium::Decoder decoder_;
  std::unique_ptr<DeadLetterHandler> dlq_;
  std::vector<TopicPartition> assigned_;
  bool assigned_set_ = false;
  std::optional<KafkaPositions> restored_;
  std::unique_ptr<KafkaConsumer> consumer_;  // created at the first poll (after restore)
  MessageBatch batch_;                       // declared after consumer_: cleared first
  debezium::Event event_;
  std::map<int64_t, KafkaPositions> pending_commits_;  // by checkpoint id
  int64_t control_events_ = 0;
  int64_t records_ = 0;
  std::function<void(const KafkaSourceStats&)> stats_listener_;
  int stats_interval_ms_ = 1000;
  int64_t next_stats_ms_ = 0;
};

// A factory for JobBuilder::Source: a fresh source per subtask.
SourceFactory KafkaDebeziumSourceFactory(KafkaSourceConfig config,
                                         debezium::DecoderOptions decoder_options = {});

// Split ids are "topic:partition"; the split data is the same text.
std::string SplitId(const TopicPartition& tp);
absl::StatusOr<TopicPartition> ParseSplitId(std::string_view id);

}  // namespace cdcflow::kafka
