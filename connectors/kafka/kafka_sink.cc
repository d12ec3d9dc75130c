#include "connectors/kafka/kafka_sink.h"

#include "absl/strings/str_cat.h"

namespace cdcflow::kafka {

absl::StatusOr<std::unique_ptr<KafkaSink>> KafkaSink::Create(const KafkaSinkConfig& config,
                                                             const Schema& schema) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  auto formatter = RowJsonFormatter::Create(config.format, schema, config.key_fields);
  if (!formatter.ok()) return formatter.status();
  std::unique_ptr<KafkaSink> sink(new KafkaSink(config, std::move(*formatter)));
  auto producer = KafkaProducer::Create(config.ToProducerSettings());
  if (!producer.ok()) return producer.status();
  sink->producer_ = std::move(*producer);
  sink->topic_ = sink->producer_->Topic(config.topic);
  return sink;
}

absl::Status KafkaSink::Write(const Row& row) {
  if (absl::Status s = formatter_.Format(row, &record_); !s.ok()) return s;
  if (record_.skip) {
    ++skipped_;
    return absl::OkStatus();
  }
  absl::Status s = producer_->Produce(
      topic_, RD_KAFKA_PARTITION_UA, record_.has_key ? record_.key.data() : nullptr,
      record_.has_key ? record_.key.size() : 0,
      record_.tombstone ? nullptr : record_.value.data(),
      record_.tombstone ? 0 : record_.value.size());
  if (!s.ok()) return s;
  ++records_;
  if (record_.tombstone) ++tombstones_;
  return absl::OkStatus();
}

absl::Status KafkaSink::WriteBatch(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    if (absl::Status s = Write(row); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KafkaSink::PrepareCommit(int64_t checkpoint_id) {
  absl::Status s = producer_->Flush(config_.flush_timeout_ms);
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("kafka sink (topic '", config_.topic,
                                               "'), checkpoint ", checkpoint_id, ": ",
                                               s.message()));
  }
  return std::string();  // idempotent mode: nothing to commit after a restart
}

absl::Status KafkaSink::Commit(int64_t checkpoint_id) { return producer_->error(); }

absl::Status KafkaSink::Finish() {
  auto state = PrepareCommit(-1);
  if (!state.ok()) return state.status();
  return Commit(-1);
}

KafkaSinkStats KafkaSink::stats() const {
  KafkaSinkStats s;
  s.records = records_;
  s.tombstones = tombstones_;
  s.skipped = skipped_;
  s.delivered = producer_->delivered();
  s.failed = producer_->failed();
  return s;
}

absl::Status KafkaSinkFunction::Open(RuntimeContext& ctx) {
  auto sink = KafkaSink::Create(config_, schema_);
  if (!sink.ok()) return sink.status();
  sink_ = std::move(*sink);
  return absl::OkStatus();
}

absl::Status KafkaSinkFunction::WriteBatch(RowBatch& batch) {
  return sink_->WriteBatch(batch.rows());
}

absl::StatusOr<std::string> KafkaSinkFunction::PrepareCommit(int64_t checkpoint_id) {
  return sink_->PrepareCommit(checkpoint_id);
}

absl::Status KafkaSinkFunction::Commit(int64_t checkpoint_id) { return sink_->Commit(checkpoint_id); }

absl::Status KafkaSinkFunction::Finish() { return sink_->Finish(); }

absl::Status KafkaSinkFunction::Close() {
  sink_.reset();  // unflushed records of a failed/cancelled task are purged
  return absl::OkStatus();
}

SinkFactory KafkaSinkFactory(KafkaSinkConfig config, Schema schema) {
  return [config = std::move(config), schema = std::move(schema)]() -> std::unique_ptr<SinkFunction> {
    return std::make_unique<KafkaSinkFunction>(config, schema);
  };
}

}  // namespace cdcflow::kafka
