#pragma once
// Publishes KafkaSourceStats through the SDK's metric API (RuntimeContext::metrics()), so
// the runtime exports them at /metrics and task managers report them to the job manager
// (the REST lag view). Names and labels (documented in runtime/metrics/README.md; the
// runtime adds job, vertex, subtask):
//   cdcflow_kafka_source_lag_records{topic,partition}      gauge   end offset - position
//   cdcflow_kafka_source_offset{topic,partition}           gauge   next offset to read
//   cdcflow_kafka_source_end_offset{topic,partition}       gauge   the partition's high watermark
//   cdcflow_kafka_source_records_total                     counter Kafka records read
//   cdcflow_kafka_source_dead_letters_total                counter records sent to the DLQ
//   cdcflow_kafka_source_control_events_total              counter truncate/message events
// Thread-compatible (the source's thread).

#include <map>
#include <memory>

#include "absl/status/statusor.h"
#include "cdcflow/metrics.h"
#include "connectors/kafka/kafka_source.h"

namespace cdcflow::kafka {

inline constexpr char kSourceLagMetric[] = "cdcflow_kafka_source_lag_records";
inline constexpr char kSourceOffsetMetric[] = "cdcflow_kafka_source_offset";
inline constexpr char kSourceEndOffsetMetric[] = "cdcflow_kafka_source_end_offset";
inline constexpr char kSourceRecordsMetric[] = "cdcflow_kafka_source_records_total";
inline constexpr char kSourceDeadLettersMetric[] = "cdcflow_kafka_source_dead_letters_total";
inline constexpr char kSourceControlEventsMetric[] = "cdcflow_kafka_source_control_events_total";

class KafkaSourceMetrics {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaSourceMetrics>> Create(MetricGroup& group);
  // Gauges of partitions not yet seen are registered on the way.
  absl::Status Publish(const KafkaSourceStats& stats);

 private:
  struct PartitionGauges {
    MetricGauge* lag = nullptr;
    MetricGauge* offset = nullptr;
    MetricGauge* end_offset = nullptr;
  };
  explicit KafkaSourceMetrics(MetricGroup& group) : group_(group) {}

  MetricGroup& group_;
  MetricCounter* records_ = nullptr;
  MetricCounter* dead_letters_ = nullptr;
  MetricCounter* control_events_ = nullptr;
  std::map<TopicPartition, PartitionGauges> partitions_;
};

}  // namespace cdcflow::kafka
