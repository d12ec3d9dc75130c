#include "runtime/metrics/standard_metrics.h"

#include <string>
#include <utility>

namespace cdcflow::metrics {
namespace {

// The labels of every per-subtask series: job, vertex, subtask.
Labels SubtaskLabels(std::string_view job, std::string_view vertex, int subtask) {
  return {{std::string(kLabelJob), std::string(job)},
          {std::string(kLabelVertex), std::string(vertex)},
          {std::string(kLabelSubtask), std::to_string(subtask)}};
}

}  // namespace

SubtaskMetrics SubtaskMetrics::Create(MetricRegistry& registry, std::string_view job,
                                      std::string_view vertex, int subtask) {
  const Labels labels = SubtaskLabels(job, vertex, subtask);
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

StateMetrics StateMetrics::Create(MetricRegistry& registry, std::string_view job,
                                  std::string_view vertex, int subtask) {
  const Labels labels = SubtaskLabels(job, vertex, subtask);
  auto reads = [&](std::string_view read) {
    Labels l = labels;
    l.emplace_back(std::string(kLabelRead), std::string(read));
    return registry.GetCounter(kStateReads,
                               "Keyed-state reads the write-back cache sent to the store (or, "
                               "skipped, answered without it), by kind.",
                               std::move(l));
  };
  StateMetrics m;
  m.cache_hits = registry.GetCounter(
      kStateCacheHits, "Keyed-state accesses answered by the write-back cache.", labels);
  m.point_reads = reads("point");
  m.batched_reads = reads("batched");
  m.scans = reads("scan");
  m.skipped_reads = reads("skipped");
  m.write_backs = registry.GetCounter(
      kStateWriteBacks, "Write batches of dirty keyed state written to the store.", labels);
  m.evictions = registry.GetCounter(
      kStateEvictions, "Times the keyed-state cache exceeded its budget and was cut down.",
      labels);
  m.cache_bytes = registry.GetGauge(
      kStateCacheBytes, "Estimated bytes of decoded keyed state in the write-back cache.", labels);
  return m;
}

std::shared_ptr<Gauge> KafkaLagGauge(MetricRegistry& registry, std::string_view job,
                                     std::string_view vertex, int subtask,
                                     std::string_view topic, int partition) {
  Labels labels = SubtaskLabels(job, vertex, subtask);
  labels.emplace_back(std::string(kLabelTopic), std::string(topic));
  labels.emplace_back(std::string(kLabelPartition), std::to_string(partition));
  return registry.GetGauge(kKafkaLag,
                           "Records between the source's position and the partition's high "
                           "watermark.",
                           std::move(labels));
}

}  // namespace cdcflow::metrics
