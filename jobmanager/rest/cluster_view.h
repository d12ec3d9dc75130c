#pragma once
// What the REST server and dashboard need from the job manager: read-only snapshots
// (ClusterView) and the three user actions (ClusterControl). The job manager
// implements both; jobmanager/rest/testing/fake_cluster.h is an in-memory fake.
//
// Snapshots are plain values copied out under the implementation's own lock; the REST
// server calls these from several HTTP worker threads at once, so implementations must
// be thread-safe. Times are milliseconds since the Unix epoch (0 = not set); durations
// are milliseconds.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cdcflow::rest {

struct ClusterOverview {
  std::string version;
  int64_t start_time_ms = 0;
  int taskmanagers = 0;
  int slots_total = 0;
  int slots_available = 0;
  int jobs_running = 0;
  int jobs_finished = 0;
  int jobs_cancelled = 0;
  int jobs_failed = 0;
};

struct SlotInfo {
  int index = 0;
  std::string job_id;  // empty when free
  std::string vertex;  // vertex name of the subtask using the slot, if any
  int subtask = -1;
};

struct TaskManagerInfo {
  std::string id;
  std::string address;  // host:port of its gRPC endpoint
  std::string state;    // "RUNNING" | "LOST"
  int64_t registered_ms = 0;
  int64_t last_heartbeat_ms = 0;
  int slots_total = 0;
  int slots_free = 0;
  std::string metrics_url;  // its /metrics endpoint, when known
  std::vector<SlotInfo> slots;
};

// Job states, as Flink names them.
inline constexpr std::string_view kJobCreated = "CREATED";
inline constexpr std::string_view kJobRunning = "RUNNING";
inline constexpr std::string_view kJobRestarting = "RESTARTING";
inline constexpr std::string_view kJobCancelling = "CANCELLING";
inline constexpr std::string_view kJobCanceled = "CANCELED";
inline constexpr std::string_view kJobFinished = "FINISHED";
inline constexpr std::string_view kJobFailed = "FAILED";

struct JobSummary {
  std::string id;
  std::string name;
  std::string state;
  int64_t start_time_ms = 0;
  int64_t end_time_ms = 0;  // 0 while running
  int parallelism = 0;      // the job's default parallelism
  int vertex_count = 0;
  int restarts = 0;
};

// Metrics of one subtask, or summed over a vertex's subtasks. Rates are per second over
// the implementation's last reporting interval; ratios are in [0, 1].
struct TaskMetrics {
  uint64_t records_in = 0;
  uint64_t records_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double records_in_per_sec = 0;
  double records_out_per_sec = 0;
  double backpressure_ratio = 0;  // share of time blocked on a full output queue
  double busy_ratio = 0;          // share of time processing
  double idle_ratio = 0;
};

struct SubtaskInfo {
  int index = 0;
  std::string state;  // "DEPLOYING" | "RUNNING" | "FINISHED" | "CANCELED" | "FAILED"
  std::string taskmanager_id;
  int64_t watermark_ms = 0;  // 0 = no watermark yet
  TaskMetrics metrics;
};

struct VertexInfo {
  std::string id;
  std::string name;
  std::string kind;       // "source" | "operator" | "sink"
  std::string connector;  // e.g. "kafka", "elasticsearch"; empty for plain operators
  std::string target;     // what it reads or writes: topics, index name
  int parallelism = 0;
  std::string state;
  TaskMetrics metrics;  // summed over subtasks (ratios: the max over subtasks)
  std::vector<SubtaskInfo> subtasks;
};

struct EdgeInfo {
  std::string source;  // vertex id
  std::string target;  // vertex id
  std::string partitioning;  // "FORWARD" | "HASH" | "BROADCAST" | "REBALANCE"
};

struct PartitionLag {
  std::string vertex;  // source vertex id
  int subtask = 0;
  std::string topic;
  int partition = 0;
  int64_t current_offset = 0;
  int64_t end_offset = 0;
  int64_t lag = 0;
};

struct CheckpointInfo {
  int64_t id = 0;
  std::string status;  // "IN_PROGRESS" | "COMPLETED" | "FAILED"
  bool savepoint = false;
  int64_t trigger_time_ms = 0;
  int64_t duration_ms = 0;
  int64_t size_bytes = 0;
  int64_t alignment_ms = 0;  // longest barrier alignment among subtasks
  int acknowledged = 0;
  int total = 0;
  std::string path;           // where it was stored, once completed
  std::string failure_reason;
};

struct ExceptionInfo {
  int64_t timestamp_ms = 0;
  std::string vertex;  // may be empty for job-level failures
  int subtask = -1;
  std::string taskmanager_id;
  std::string message;
  std::string stack;  // optional detail
};

struct JobDetail {
  JobSummary summary;
  std::vector<VertexInfo> vertices;  // topological order
  std::vector<EdgeInfo> edges;
  std::vector<PartitionLag> lag;
  std::vector<CheckpointInfo> checkpoints;  // newest first, bounded history
  std::vector<ExceptionInfo> exceptions;    // newest first, bounded history
  std::vector<std::string> args;
};

class ClusterView {
 public:
  virtual ~ClusterView() = default;
  virtual ClusterOverview Overview() const = 0;
  virtual std::vector<TaskManagerInfo> TaskManagers() const = 0;
  virtual std::vector<JobSummary> Jobs() const = 0;
  // kNotFound for an unknown id.
  virtual absl::StatusOr<JobDetail> Job(std::string_view job_id) const = 0;
};

struct SubmitRequest {
  std::string plugin_filename;  // as uploaded, e.g. "enrich_orders.so"
  std::string plugin_bytes;
  std::vector<std::string> args;
  int parallelism = 0;          // 0 = the job's own default
  std::string savepoint_path;   // restore from, when set
};

class ClusterControl {
 public:
  virtual ~ClusterControl() = default;
  // Returns the new job's id. kInvalidArgument for a plugin that does not load.
  virtual absl::StatusOr<std::string> SubmitJob(const SubmitRequest& request) = 0;
  // kNotFound for an unknown job, kFailedPrecondition when it is no longer running.
  virtual absl::Status CancelJob(std::string_view job_id) = 0;
  // Starts a savepoint; returns the id of the checkpoint it becomes (visible in the
  // job's checkpoint history with savepoint = true).
  virtual absl::StatusOr<int64_t> TriggerSavepoint(std::string_view job_id,
                                                   std::string_view target_directory) = 0;
};

}  // namespace cdcflow::rest
