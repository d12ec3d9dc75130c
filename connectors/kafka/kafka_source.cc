#include "connectors/kafka/kafka_source.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/kafka/kafka_source_metrics.h"

namespace cdcflow::kafka {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string SplitId(const TopicPartition& tp) { return absl::StrCat(tp.topic, ":", tp.partition); }

absl::StatusOr<TopicPartition> ParseSplitId(std::string_view id) {
  size_t colon = id.rfind(':');
  int32_t partition = -1;
  if (colon == std::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(id.data() + colon + 1, id.size() - colon - 1),
                        &partition) ||
      partition < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka source: split id '", std::string(id), "' is not topic:partition"));
  }
  return TopicPartition{std::string(id.substr(0, colon)), partition};
}

KafkaDebeziumSource::KafkaDebeziumSource(KafkaSourceConfig config,
                                         debezium::DecoderOptions decoder_options)
    : config_(std::move(config)),
      decoder_([&] {
        if (config_.append_source_position) decoder_options.append_source_position = true;
        return std::move(decoder_options);
      }()) {}

KafkaDebeziumSource::~KafkaDebeziumSource() {
  batch_.Clear();
  absl::MutexLock lock(&consumer_mu_);
  consumer_.reset();
}

void KafkaDebeziumSource::Wakeup() {
  absl::MutexLock lock(&consumer_mu_);
  if (consumer_ != nullptr) {
    consumer_->Wakeup();
  } else {
    wakeup_pending_ = true;
  }
}

absl::Status KafkaDebeziumSource::Open(RuntimeContext& ctx) {
  if (absl::Status s = config_.Validate(); !s.ok()) return s;
  auto dlq = DeadLetterHandler::Create(config_);
  if (!dlq.ok()) return dlq.status();
  dlq_ = std::move(*dlq);
  subtask_index_ = ctx.subtask_index();
  parallelism_ = std::max(1, ctx.parallelism());
  auto metrics = KafkaSourceMetrics::Create(ctx.metrics());
  if (!metrics.ok()) return metrics.status();
  metrics_ = std::move(*metrics);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SourceSplit>> KafkaDebeziumSource::EnumerateSplits(RuntimeContext&) {
  auto client = KafkaClient::Create(RD_KAFKA_CONSUMER, config_.ToConsumerSettings());
  if (!client.ok()) return client.status();
  auto topics = ResolveTopics(**client, config_);
  if (!topics.ok()) return topics.status();
  std::vector<SourceSplit> splits;
  known_partitions_.clear();
  topic_base_.clear();
  for (const auto& [topic, count] : *topics) {
    topic_base_[topic] = static_cast<int64_t>(splits.size());
    for (int32_t p = 0; p < count; ++p) {
      std::string id = SplitId(TopicPartition{topic, p});
      splits.push_back(SourceSplit{id, id});
      known_partitions_.insert(TopicPartition{topic, p});
    }
  }
  enumerated_ = true;
  return splits;
}

absl::Status KafkaDebeziumSource::AssignSplits(std::vector<SourceSplit> splits) {
  assigned_.clear();
  for (const SourceSplit& split : splits) {
    auto tp = ParseSplitId(split.id);
    if (!tp.ok()) return tp.status();
    assigned_.push_back(*tp);
  }
  assigned_set_ = true;
  return absl::OkStatus();
}

absl::Status KafkaDebeziumSource::RestorePosition(std::string_view position) {
  if (position.empty()) return absl::OkStatus();  // a checkpoint before the first poll
  auto positions = KafkaPositions::Deserialize(position);
  if (!positions.ok()) return positions.status();
  if (!restored_) restored_.emplace();
  restored_->Merge(*positions);
  return absl::OkStatus();
}

absl::Status KafkaDebeziumSource::StartConsumer() {
  absl::StatusOr<std::unique_ptr<KafkaConsumer>> consumer =
      assigned_set_
          ? KafkaConsumer::CreateForPartitions(config_, assigned_,
                                               restored_ ? &*restored_ : nullptr)
          : KafkaConsumer::Create(config_, 0, 1, restored_ ? &*restored_ : nullptr);
  if (!consumer.ok()) return consumer.status();
  absl::MutexLock lock(&consumer_mu_);
  consumer_ = std::move(*consumer);
  if (wakeup_pending_) consumer_->Wakeup();
  wakeup_pending_ = false;
  return absl::OkStatus();
}

absl::StatusOr<PollResult> KafkaDebeziumSource::PollBatch(RowBatch& out, size_t max_rows) {
  if (consumer_ == nullptr) {
    if (absl::Status s = StartConsumer(); !s.ok()) return s;
    next_discovery_ms_ = NowMs() + config_.partition_discovery_interval_ms;
  }
  if (config_.partition_discovery_interval_ms > 0 && enumerated_ && assigned_set_ &&
      NowMs() >= next_discovery_ms_) {
    if (absl::Status s = DiscoverPartitions(); !s.ok()) return s;
    next_discovery_ms_ = NowMs() + config_.partition_discovery_interval_ms;
  }
  PollResult result;
  // An update becomes two rows: read at most half as many records as rows fit.
  int max_records = static_cast<int>(
      std::clamp<size_t>(max_rows / 2, 1, static_cast<size_t>(config_.max_batch_records)));
  int wait_ms = std::min(config_.max_batch_wait_ms, 100);  // the runtime's limit
  if (absl::Status s = consumer_->Poll(&batch_, max_records, wait_ms); !s.ok()) return s;
  records_ += static_cast<int64_t>(batch_.size());
  if (stats_listener_ || metrics_) {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    if (now >= next_stats_ms_) {
      next_stats_ms_ = now + stats_interval_ms_;
      KafkaSourceStats stats{consumer_->Stats(), dead_letters(), control_events_, records_};
      if (metrics_) {
        if (absl::Status s = metrics_->Publish(stats); !s.ok()) return s;
      }
      if (stats_listener_) stats_listener_(stats);
    }
  }
  if (batch_.empty()) {
    result.status = PollStatus::kIdle;
    return result;
  }
  out.reserve(out.size() + batch_.size());
  for (size_t i = 0; i < batch_.size(); ++i) {
    KafkaMessage m = batch_[i];
    absl::Status s = decoder_.Decode(m.topic(), m.key(), m.value(), &event_);
    if (!s.ok()) {
      if (absl::Status handled = dlq_->Handle(m, s); !handled.ok()) return handled;
      continue;
    }
    if (event_.kind == debezium::EventKind::kTruncate ||
        event_.kind == debezium::EventKind::kMessage) {
      ++control_events_;
      if (absl::Status s = HandleControlEvent(m); !s.ok()) return s;
      continue;
    }
    int64_t ts = m.timestamp_ms() >= 0 ? m.timestamp_ms() : kNoTimestamp;
    for (Row& row : event_.rows) out.Append(std::move(row), ts);
  }
  batch_.Clear();
  return result;
}

absl::Status KafkaDebeziumSource::HandleControlEvent(const KafkaMessage& m) {
  const bool truncate = event_.kind == debezium::EventKind::kTruncate;
  if (!control_handler_) {
    if (truncate || control_events_ <= 10 || control_events_ % 1000 == 0) {
      std::string what = truncate ? absl::StrCat("TRUNCATE of ", event_.SourceTableName())
                                  : absl::StrCat("MESSAGE prefix '", event_.message_prefix, "'");
      std::fprintf(stderr,
                   "cdcflow kafka source: Debezium %s at topic '%.*s' partition %d offset %lld "
                   "(a control event, not a row; %lld so far; give the source a "
                   "ControlEventHandler to act on them)\n",
                   what.c_str(), static_cast<int>(m.topic().size()), m.topic().data(),
                   m.partition(), static_cast<long long>(m.offset()),
                   static_cast<long long>(control_events_));
    }
    return absl::OkStatus();
  }
  KafkaControlEvent e;
  e.kind = event_.kind;
  e.topic = std::string(m.topic());
  e.partition = m.partition();
  e.offset = m.offset();
  e.timestamp_ms = m.timestamp_ms();
  e.table = event_.SourceTableName();
  e.message_prefix = event_.message_prefix;
  e.message_content = event_.message_content;
  e.source = event_.source;
  absl::Status s = control_handler_(e);
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("kafka source: control event (",
                                             truncate ? "truncate" : "message", ") at topic '",
                                             e.topic, "' partition ", e.partition, " offset ",
                                             e.offset, ": ", s.message()));
}

absl::Status KafkaDebeziumSource::DiscoverPartitions() {
  KafkaSourceConfig quick = config_;
  // Metadata on the poll path: keep it short and retry at the next interval.
  quick.metadata_timeout_ms = std::min(config_.metadata_timeout_ms, 1000);
  auto topics = ResolveTopics(consumer_->client(), quick);
  if (!topics.ok()) {
    std::fprintf(stderr, "cdcflow kafka source: partition discovery failed (retrying): %s\n",
                 std::string(topics.status().message()).c_str());
    return absl::OkStatus();
  }
  std::vector<TopicPartition> mine;
  for (const auto& [topic, count] : *topics) {
    auto base = topic_base_.find(topic);
    for (int32_t p = 0; p < count; ++p) {
      TopicPartition tp{topic, p};
      if (!known_partitions_.insert(tp).second) continue;
      int owner = base != topic_base_.end()
                      ? static_cast<int>((base->second + p) % parallelism_)
                      : AssignSubtask(topic, p, parallelism_);
      if (owner == subtask_index_) mine.push_back(std::move(tp));
    }
  }
  if (mine.empty()) return absl::OkStatus();
  if (absl::Status s = consumer_->AddPartitions(mine, quick.metadata_timeout_ms); !s.ok()) {
    // Forget them so that the next round tries again.
    for (const TopicPartition& tp : mine) known_partitions_.erase(tp);
    std::fprintf(stderr, "cdcflow kafka source: adding discovered partitions failed (retrying): %s\n",
                 std::string(s.message()).c_str());
    return absl::OkStatus();
  }
  for (const TopicPartition& tp : mine) {
    std::fprintf(stderr, "cdcflow kafka source: subtask %d reads new partition %s from the earliest offset\n",
                 subtask_index_, SplitId(tp).c_str());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KafkaDebeziumSource::SnapshotPosition(int64_t checkpoint_id) {
  if (dlq_ != nullptr) {
    if (absl::Status s = dlq_->Flush(); !s.ok()) return s;
  }
  if (consumer_ == nullptr) return restored_ ? restored_->Serialize() : std::string();
  KafkaPositions positions = consumer_->Positions();
  std::string bytes = positions.Serialize();
  pending_commits_[checkpoint_id] = std::move(positions);
  while (pending_commits_.size() > 8) pending_commits_.erase(pending_commits_.begin());
  return bytes;
}

absl::Status KafkaDebeziumSource::NotifyCheckpointComplete(int64_t checkpoint_id) {
  auto it = pending_commits_.find(checkpoint_id);
  if (it == pending_commits_.end()) return absl::OkStatus();
  if (consumer_ != nullptr) consumer_->CommitForMonitoring(it->second);
  pending_commits_.erase(pending_commits_.begin(), std::next(it));
  return absl::OkStatus();
}

absl::Status KafkaDebeziumSource::Close() {
  batch_.Clear();
  {
    absl::MutexLock lock(&consumer_mu_);
    consumer_.reset();
  }
  absl::Status s = dlq_ != nullptr ? dlq_->Flush(10000) : absl::OkStatus();
  dlq_.reset();
  return s;
}

std::vector<PartitionStats> KafkaDebeziumSource::Stats() const {
  return consumer_ ? consumer_->Stats() : std::vector<PartitionStats>();
}

SourceFactory KafkaDebeziumSourceFactory(KafkaSourceConfig config,
                                         debezium::DecoderOptions decoder_options,
                                         ControlEventHandler control_handler) {
  return [config = std::move(config), decoder_options = std::move(decoder_options),
          control_handler = std::move(control_handler)]() -> std::unique_ptr<SourceFunction> {
    auto source = std::make_unique<KafkaDebeziumSource>(config, decoder_options);
    if (control_handler) source->SetControlEventHandler(control_handler);
    return source;
  };
}

}  // namespace cdcflow::kafka
