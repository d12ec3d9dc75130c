#pragma once
// A task: one subtask of an operator chain (graph::ExecutionPlan), run fused on one
// thread over batches. The same class runs in the local mini-cluster and in a task
// manager; only the ChannelFactory differs.
//
// Lifecycle: Create (instantiates the chain's operators from the plugin's factories),
// Run on a thread of the caller's choosing until the inputs end, the task fails, or
// Cancel. Run returns OK when every input ended and every operator finished, kCancelled
// after Cancel, otherwise the first error, prefixed with the vertex name and subtask
// ("task 'sum' subtask 1/4: ..."). Operators are closed in every case.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cdcflow/job.h"
#include "runtime/exchange/channel.h"
#include "runtime/exchange/edge_output.h"
#include "runtime/exchange/topology.h"
#include "runtime/graph/job_graph.h"
#include "runtime/graph/logical_graph.h"
#include "runtime/metrics/standard_metrics.h"
#include "runtime/state/keyed_state_backend.h"

namespace cdcflow::task {

struct TaskOptions {
  size_t batch_rows = 1024;  // rows per source poll and per exchange batch
  // Partially filled exchange batches are sent at the latest after this long (and
  // whenever the task's input runs dry).
  absl::Duration flush_interval = absl::Milliseconds(5);
  // How long a source that reports kIdle is left alone.
  absl::Duration idle_backoff = absl::Milliseconds(5);
  // Keyed state: in memory when empty, else RocksDB under
  // <state_dir>/<job_id>/vertex-<id>-subtask-<i> (emptied at start: no restore yet).
  std::string state_dir;
  size_t state_cache_bytes = 64 << 20;  // write-back cache per keyed subtask
};

// What a task needs; every pointer must outlive the task.
struct TaskSetup {
  const graph::LogicalGraph* graph = nullptr;  // operators' factories (from the plugin)
  const graph::JobGraphSpec* spec = nullptr;   // == graph->Spec()
  const graph::ExecutionPlan* plan = nullptr;  // == BuildExecutionPlan(*spec)
  exchange::TaskId id;
  const JobArgs* args = nullptr;
  exchange::ChannelFactory* channels = nullptr;
  metrics::MetricRegistry* metrics = nullptr;  // optional
  std::string job_id = "local";                // metric label
  TaskOptions options;
};

// The RuntimeContext the task gives each of its operators, sources and sinks.
class TaskRuntimeContext final : public RuntimeContext {
 public:
  TaskRuntimeContext(const graph::VertexSpec& vertex, int subtask, const JobArgs* args)
      : vertex_(vertex), subtask_(subtask), args_(args) {}
  std::string_view operator_name() const override { return vertex_.name; }
  int subtask_index() const override { return subtask_; }
  int parallelism() const override { return vertex_.parallelism; }
  int max_parallelism() const override { return vertex_.max_parallelism; }
  const JobArgs& args() const override { return *args_; }
  int64_t ProcessingTimeMs() const override;

 private:
  const graph::VertexSpec& vertex_;
  int subtask_;
  const JobArgs* args_;
};

class Task {
 public:
  static absl::StatusOr<std::unique_ptr<Task>> Create(const TaskSetup& setup);
  ~Task();

  absl::Status Run();
  // Thread-safe; Run returns kCancelled soon after. Blocked channel I/O is unblocked
  // by cancelling the ChannelFactory (the runner does both).
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }

  const std::string& name() const { return name_; }  // the chain's name
  const exchange::TaskId& id() const { return setup_.id; }
  // Per vertex of the chain (head first): vertex id and its subtask's metrics.
  const std::vector<std::pair<int32_t, metrics::SubtaskMetrics>>& vertex_metrics() const {
    return vertex_metrics_;
  }

 private:
  using Context = TaskRuntimeContext;
  struct ChainOp {
    int32_t vertex = 0;
    std::unique_ptr<Operator> op;
    std::unique_ptr<Context> ctx;
    RowBatch out;
    metrics::SubtaskMetrics* metrics = nullptr;
  };

  explicit Task(const TaskSetup& setup) : setup_(setup) {}
  absl::Status Instantiate();
  absl::StatusOr<std::unique_ptr<state::KeyedStateBackend>> CreateStateBackend(
      const graph::VertexSpec& vertex) const;
  absl::Status OpenAll();
  absl::Status CloseAll();
  absl::Status RunSource();
  absl::Status RunInputs();
  absl::Status ProcessFrom(size_t index, int input, RowBatch& batch);
  absl::Status EmitOutputs(RowBatch& batch);
  absl::Status AdvanceWatermark(int64_t watermark);
  absl::Status FireProcessingTimers();
  int64_t NextProcessingTime() const;
  absl::Status EndOfInput();
  absl::Status FlushOutputs();
  absl::Status MaybeFlush();
  absl::Status Annotate(absl::Status status, int32_t vertex) const;
  // Adds the time since the last call to the chain's busy / backpressured / idle
  // counters (idle_ns_ and the outputs' blocked time are the non-busy parts).
  void AccountTime();

  TaskSetup setup_;
  std::string name_;
  std::atomic<bool> cancelled_{false};
  std::vector<std::pair<int32_t, metrics::SubtaskMetrics>> vertex_metrics_;
  std::unique_ptr<SourceFunction> source_;
  std::unique_ptr<Context> source_ctx_;
  std::vector<ChainOp> ops_;
  std::vector<std::unique_ptr<exchange::EdgeOutput>> outputs_;
  std::vector<exchange::InputChannel> input_channels_;
  int64_t watermark_ = kMinWatermark;
  absl::Time last_flush_;
  int64_t idle_ns_ = 0;            // waiting for input or backing off, since AccountTime
  int64_t last_account_ns_ = 0;
  int64_t accounted_blocked_ns_ = 0;
};

}  // namespace cdcflow::task
