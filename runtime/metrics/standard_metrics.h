#pragma once
// The metric names every cdcflow process uses, and handle bundles for the common
// scopes, so that names and labels stay consistent across the job manager, the task
// managers and the connectors. README.md beside this file documents each one.

#include <memory>
#include <string>
#include <string_view>

#include "cdcflow/sink_metrics.h"
#include "runtime/metrics/metrics.h"

namespace cdcflow::metrics {

// Label names.
inline constexpr std::string_view kLabelJob = "job";
inline constexpr std::string_view kLabelVertex = "vertex";
inline constexpr std::string_view kLabelSubtask = "subtask";
inline constexpr std::string_view kLabelTopic = "topic";
inline constexpr std::string_view kLabelPartition = "partition";
inline constexpr std::string_view kLabelTaskManager = "taskmanager";
inline constexpr std::string_view kLabelStatus = "status";
using ::cdcflow::kLabelSink;  // cdcflow/sink_metrics.h

// Per subtask (labels job, vertex, subtask).
inline constexpr std::string_view kRecordsIn = "cdcflow_task_records_in_total";
inline constexpr std::string_view kRecordsOut = "cdcflow_task_records_out_total";
inline constexpr std::string_view kBytesIn = "cdcflow_task_bytes_in_total";
inline constexpr std::string_view kBytesOut = "cdcflow_task_bytes_out_total";
inline constexpr std::string_view kBusySeconds = "cdcflow_task_busy_seconds_total";
inline constexpr std::string_view kBackpressuredSeconds = "cdcflow_task_backpressured_seconds_total";
inline constexpr std::string_view kIdleSeconds = "cdcflow_task_idle_seconds_total";
inline constexpr std::string_view kWatermark = "cdcflow_task_watermark_milliseconds";
inline constexpr std::string_view kInputQueueLength = "cdcflow_task_input_queue_batches";
inline constexpr std::string_view kBatchLatency = "cdcflow_task_batch_process_seconds";

// Keyed state of a subtask's vertex (labels job, vertex, subtask; vertices with keyed
// state only): the write-back cache in front of RocksDB (KeyedStateBackend's stats).
// State reads also have label read = point (one entry, or a small map's head) | batched
// (Prefetch's MultiGet) | scan (a whole map of more than 8 entries) | skipped (a map
// known to hold nothing: no store read).
inline constexpr std::string_view kStateCacheHits = "cdcflow_task_state_cache_hits_total";
inline constexpr std::string_view kStateReads = "cdcflow_task_state_reads_total";
inline constexpr std::string_view kStateWriteBacks = "cdcflow_task_state_write_backs_total";
inline constexpr std::string_view kStateEvictions = "cdcflow_task_state_cache_evictions_total";
inline constexpr std::string_view kStateCacheBytes = "cdcflow_task_state_cache_bytes";
inline constexpr std::string_view kLabelRead = "read";

// Kafka source (labels job, vertex, subtask, topic, partition).
inline constexpr std::string_view kKafkaLag = "cdcflow_kafka_source_lag_records";
inline constexpr std::string_view kKafkaOffset = "cdcflow_kafka_source_offset";
inline constexpr std::string_view kKafkaEndOffset = "cdcflow_kafka_source_end_offset";
// Kafka source (labels job, vertex, subtask).
inline constexpr std::string_view kKafkaRecords = "cdcflow_kafka_source_records_total";
inline constexpr std::string_view kKafkaDeadLetters = "cdcflow_kafka_source_dead_letters_total";
inline constexpr std::string_view kKafkaControlEvents = "cdcflow_kafka_source_control_events_total";
// Sinks (labels job, vertex, subtask, sink = kafka|elasticsearch|...): the connectors
// name them through the SDK (cdcflow/sink_metrics.h).
using ::cdcflow::kSinkErrors;
using ::cdcflow::kSinkRequestLatency;

// Job manager (label job; checkpoints also status = completed|failed).
inline constexpr std::string_view kCheckpoints = "cdcflow_checkpoints_total";
inline constexpr std::string_view kCheckpointDuration = "cdcflow_checkpoint_duration_seconds";
inline constexpr std::string_view kCheckpointSize = "cdcflow_checkpoint_size_bytes";
inline constexpr std::string_view kJobRestarts = "cdcflow_job_restarts_total";
inline constexpr std::string_view kJobUptime = "cdcflow_job_uptime_seconds";
inline constexpr std::string_view kTaskManagers = "cdcflow_jobmanager_taskmanagers";
inline constexpr std::string_view kSlotsTotal = "cdcflow_jobmanager_slots_total";
inline constexpr std::string_view kSlotsAvailable = "cdcflow_jobmanager_slots_available";
inline constexpr std::string_view kJobsRunning = "cdcflow_jobmanager_jobs_running";
// The REST view of each running job, refreshed at every scrape of the job manager
// (labels job, vertex = the chain's name; lag also topic, partition). Gauges: the job
// manager only sees the task managers' cumulative reports.
inline constexpr std::string_view kJobGaugePrefix = "cdcflow_job_vertex_";
inline constexpr std::string_view kJobVertexRecordsIn = "cdcflow_job_vertex_records_in";
inline constexpr std::string_view kJobVertexRecordsOut = "cdcflow_job_vertex_records_out";
inline constexpr std::string_view kJobVertexRecordsOutRate =
    "cdcflow_job_vertex_records_out_per_second";
inline constexpr std::string_view kJobVertexBusy = "cdcflow_job_vertex_busy_ratio";
inline constexpr std::string_view kJobVertexBackpressure = "cdcflow_job_vertex_backpressure_ratio";
inline constexpr std::string_view kJobVertexKafkaLag = "cdcflow_job_vertex_kafka_lag_records";
// Every HTTP request the REST server answers (labels route, code).
inline constexpr std::string_view kHttpRequests = "cdcflow_http_requests_total";
inline constexpr std::string_view kHttpLatency = "cdcflow_http_request_seconds";

// The handles a running subtask updates. Obtain once when the subtask starts; the
// hot path then only touches atomics. Remove with
// `registry.RemoveSeries({{"job", job}})` when the job ends.
struct SubtaskMetrics {
  static SubtaskMetrics Create(MetricRegistry& registry, std::string_view job,
                               std::string_view vertex, int subtask);

  std::shared_ptr<Counter> records_in;
  std::shared_ptr<Counter> records_out;
  std::shared_ptr<Counter> bytes_in;
  std::shared_ptr<Counter> bytes_out;
  // Time accounting in nanoseconds, exported as seconds (see README.md): increment
  // these with elapsed nanoseconds; busy + backpressured + idle ~= wall time.
  std::shared_ptr<Counter> busy_ns;
  std::shared_ptr<Counter> backpressured_ns;
  std::shared_ptr<Counter> idle_ns;
  std::shared_ptr<Gauge> watermark_ms;
  std::shared_ptr<Gauge> input_queue_batches;
  std::shared_ptr<Histogram> batch_latency;
};

// The keyed-state handles of one subtask's vertex. The counters take increments: the
// task adds what its backend counted since the last report.
struct StateMetrics {
  static StateMetrics Create(MetricRegistry& registry, std::string_view job,
                             std::string_view vertex, int subtask);

  std::shared_ptr<Counter> cache_hits;
  std::shared_ptr<Counter> point_reads;
  std::shared_ptr<Counter> batched_reads;
  std::shared_ptr<Counter> scans;
  std::shared_ptr<Counter> skipped_reads;
  std::shared_ptr<Counter> write_backs;
  std::shared_ptr<Counter> evictions;
  std::shared_ptr<Gauge> cache_bytes;
};

// The lag gauge of one Kafka partition read by one source subtask.
std::shared_ptr<Gauge> KafkaLagGauge(MetricRegistry& registry, std::string_view job,
                                     std::string_view vertex, int subtask,
                                     std::string_view topic, int partition);

}  // namespace cdcflow::metrics
