#include "connectors/kafka/kafka_source_metrics.h"

#include <string>

namespace cdcflow::kafka {
namespace {

// Counters follow a cumulative value: add what it grew by since the last publish.
void Advance(MetricCounter* counter, int64_t total) {
  const auto target = static_cast<uint64_t>(std::max<int64_t>(0, total));
  const uint64_t current = counter->Value();
  if (target > current) counter->Increment(target - current);
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaSourceMetrics>> KafkaSourceMetrics::Create(
    MetricGroup& group) {
  std::unique_ptr<KafkaSourceMetrics> m(new KafkaSourceMetrics(group));
  auto records = group.Counter(kSourceRecordsMetric, "Kafka records read by the source.");
  if (!records.ok()) return records.status();
  auto dead = group.Counter(kSourceDeadLettersMetric,
                            "Records that failed to decode and went to the dead-letter topic.");
  if (!dead.ok()) return dead.status();
  auto control = group.Counter(kSourceControlEventsMetric,
                               "Debezium truncate and message events (no rows).");
  if (!control.ok()) return control.status();
  m->records_ = *records;
  m->dead_letters_ = *dead;
  m->control_events_ = *control;
  return m;
}

absl::Status KafkaSourceMetrics::Publish(const KafkaSourceStats& stats) {
  Advance(records_, stats.records);
  Advance(dead_letters_, stats.dead_letters);
  Advance(control_events_, stats.control_events);
  for (const PartitionStats& p : stats.partitions) {
    auto [it, inserted] = partitions_.try_emplace(p.partition);
    PartitionGauges& g = it->second;
    if (inserted) {
      const MetricLabels labels = {{"topic", p.partition.topic},
                                   {"partition", std::to_string(p.partition.partition)}};
      auto lag = group_.Gauge(kSourceLagMetric,
                              "Records between the source's position and the partition's end.",
                              labels);
      if (!lag.ok()) return lag.status();
      auto offset = group_.Gauge(kSourceOffsetMetric, "Next offset the source reads.", labels);
      if (!offset.ok()) return offset.status();
      auto end = group_.Gauge(kSourceEndOffsetMetric,
                              "The partition's high watermark as last seen.", labels);
      if (!end.ok()) return end.status();
      g = {*lag, *offset, *end};
    }
    if (p.next_offset >= 0) g.offset->Set(static_cast<double>(p.next_offset));
    if (p.high_watermark >= 0) g.end_offset->Set(static_cast<double>(p.high_watermark));
    if (p.lag >= 0) g.lag->Set(static_cast<double>(p.lag));
  }
  return absl::OkStatus();
}

}  // namespace cdcflow::kafka
