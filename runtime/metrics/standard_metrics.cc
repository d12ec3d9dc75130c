#include "runtime/metrics/standard_metrics.h"

#include <string>

namespace cdcflow::metrics {

SubtaskMetrics SubtaskMetrics::Create(MetricRegistry& registry, std::string_view job,
                                      std::string_view vertex, int subtask) {
  Labels labels = {{std::string(kLabelJob), std::string(job)},
                   {std::string(kLabelVertex), std::string(vertex)},
                   {std::string(kLabelSubtask), std::to_string(subtask)}};
  SubtaskMetrics m;
  m.records_in = registry.GetCounter(kRecordsIn, "Records received by the subtask.", labels);
  m.records_out = registry.GetCounter(kRecordsOut, "Records emitted by the subtask.", labels);
  m.bytes_in = registry.GetCounter(kBytesIn, "Serialized bytes received by the subtask.", labels);
  m.bytes_out = registry.GetCounter(kBytesOut, "Serialized bytes emitted by the subtask.", labels);
  m.busy_ns = registry.GetCounter(kBusySeconds, "Time the subtask spent processing records.",
                                  labels, 1e-9);
  m.backpressured_ns = registry.GetCounter(
      kBackpressuredSeconds, "Time the subtask spent blocked on a full output queue.", labels,
      1e-9);
  m.idle_ns = registry.GetCounter(kIdleSeconds, "Time the subtask spent waiting for input.",
                                  labels, 1e-9);
  m.watermark_ms = registry.GetGauge(
      kWatermark, "Current event-time watermark of the subtask (ms since epoch).", labels);
  m.input_queue_batches =
      registry.GetGauge(kInputQueueLength, "Batches waiting in the subtask's input queues.", labels);
  m.batch_latency = registry.GetHistogram(
      kBatchLatency, "Time to process one input batch through the operator chain.", labels);
  return m;
}

std::shared_ptr<Gauge> KafkaLagGauge(MetricRegistry& registry, std::string_view job,
                                     std::string_view vertex, int subtask,
                                     std::string_view topic, int partition) {
  return registry.GetGauge(kKafkaLag,
                           "Records between the source's position and the partition's high "
                           "watermark.",
                           {{std::string(kLabelJob), std::string(job)},
                            {std::string(kLabelVertex), std::string(vertex)},
                            {std::string(kLabelSubtask), std::to_string(subtask)},
                            {std::string(kLabelTopic), std::string(topic)},
                            {std::string(kLabelPartition), std::to_string(partition)}});
}

}  // namespace cdcflow::metrics
