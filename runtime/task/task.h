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
//
// Checkpoints (CHECKPOINT_DESIGN.md §3): a source task takes TriggerCheckpoint(n)
// between two polls (the trigger wakes a poll waiting for input): it sends barrier n
// downstream, then snapshots the source position and the chain. A task with inputs
// aligns barrier n (a channel that delivered it is not read until every channel did; an
// ended channel counts as delivered), forwards it, then snapshots. Forwarding first (as
// Flink does) lets the stages downstream align and snapshot while this one does: the
// pause a checkpoint puts into the stream is the slowest stage's, not the sum of all
// (nothing is processed between the two, so the snapshot is still the state at the
// barrier; a snapshot that fails still fails the task, and the checkpoint never
// completes). The synchronous part (positions, operator state, sink PrepareCommit,
// keyed backend Flush + RocksDB checkpoint into a staging dir) runs on the task thread;
// uploading into the checkpoint storage and the ack to the CheckpointListener run on
// the UploadPool. NotifyCheckpointComplete(n) makes the task thread call
// SinkFunction::Commit(n) and SourceFunction::NotifyCheckpointComplete(n).
// TaskSetup::restore starts the task from a checkpoint (or savepoint) instead of empty.

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cdcflow/job.h"
#include "absl/synchronization/mutex.h"
#include "runtime/checkpoint/checkpoint_listener.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/keyed_state_access.h"
#include "runtime/checkpoint/task_restore.h"
#include "runtime/checkpoint/upload_pool.h"
#include "runtime/api/registry_metric_group.h"
#include "runtime/exchange/channel.h"
#include "runtime/exchange/edge_output.h"
#include "runtime/exchange/topology.h"
#include "runtime/graph/job_graph.h"
#include "runtime/graph/logical_graph.h"
#include "runtime/metrics/standard_metrics.h"
#include "runtime/state/keyed_state_backend.h"

namespace cdcflow::task {

#define CDCFLOW_TASK_RETURN_IF_ERROR(expr) \
  do {                                     \
    absl::Status _s = (expr);              \
    if (!_s.ok()) return _s;               \
  } while (0)
// Returns `expr`'s error annotated with the vertex (Task::Annotate).
#define CDCFLOW_RETURN_IF_ERROR_ANNOTATED(expr, vertex) \
  do {                                                  \
    absl::Status _s = (expr);                           \
    if (!_s.ok()) return Annotate(_s, vertex);          \
  } while (0)

struct TaskOptions {
  size_t batch_rows = 1024;  // rows per source poll and per exchange batch
  // Partially filled exchange batches are sent at the latest after this long (and
  // whenever the task's input runs dry).
  absl::Duration flush_interval = absl::Milliseconds(5);
  // How long a source that reports kIdle is left alone.
  absl::Duration idle_backoff = absl::Milliseconds(5);
  // Keyed state: in memory when empty, else RocksDB under
  // <state_dir>/<job_id>/vertex-<id>-subtask-<i> (emptied at start; a restore loads the
  // checkpoint's state into it).
  std::string state_dir;
  // Local staging of snapshots before upload (hard links into the RocksDB directory, so
  // on its file system): <state_dir>/<job_id>/staging when empty and state_dir is set,
  // else a directory under the system's temp dir.
  std::string staging_dir;
  // State memory. Sized so that a task manager running the seed job (three keyed
  // subtasks per slot) stays around 150 MB whatever the state size (bench/results:
  // 64 MiB + 256 MiB made each task manager ~300 MB on a 200k-event backlog, growing
  // with it); bigger budgets buy some throughput (fewer flushes and store reads).
  size_t state_cache_bytes = 16 << 20;  // write-back cache per keyed subtask
  // RocksDB block cache + memtables shared by every keyed subtask of the process
  // (state::SharedRocksDbStoreOptions; the first task of a process sizes it).
  size_t state_memory_bytes = 64 << 20;
  // Free space each keyed subtask keeps in state_dir beyond its memtables and
  // compactions (state::RocksDbStoreOptions::disk_reserve_bytes; -1: derived from the
  // memtable budget). Writes that would eat into it fail the task (RESOURCE_EXHAUSTED).
  int64_t state_disk_reserve_bytes = -1;
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

  // Checkpoints; all optional. Without a listener and a storage the task declines
  // every checkpoint (to the listener, if any). Without an uploader the upload runs on
  // the task thread. `restore` (null: start empty) must stay valid until Run returns.
  checkpoint::CheckpointListener* checkpoint_listener = nullptr;
  const checkpoint::CheckpointStorage* checkpoint_storage = nullptr;
  checkpoint::UploadPool* uploader = nullptr;
  const checkpoint::TaskRestore* restore = nullptr;
  int32_t attempt = 0;  // the job attempt, copied into acks
};

// The RuntimeContext the task gives each of its operators, sources and sinks. For
// operator vertices it also offers the task's keyed backend to built-in operators
// (checkpoint::KeyedStateAccess).
class TaskRuntimeContext final : public RuntimeContext, public checkpoint::KeyedStateAccess {
 public:
  // Metrics registered through metrics() go to `registry` (nowhere when null), labelled
  // job = job_id, vertex = the vertex's name, subtask.
  TaskRuntimeContext(const graph::VertexSpec& vertex, int subtask, const JobArgs* args,
                     metrics::MetricRegistry* registry = nullptr, std::string_view job_id = "");
  std::string_view operator_name() const override { return vertex_.name; }
  int subtask_index() const override { return subtask_; }
  int parallelism() const override { return vertex_.parallelism; }
  int max_parallelism() const override { return vertex_.max_parallelism; }
  const JobArgs& args() const override { return *args_; }
  int64_t ProcessingTimeMs() const override;
  absl::StatusOr<state::KeyedStateBackend*> KeyedBackend() override;
  // Set by the task: creates (and restores) the vertex's backend on first use.
  std::function<absl::StatusOr<state::KeyedStateBackend*>()> keyed_backend_factory;
  MetricGroup& metrics() override;

 private:
  const graph::VertexSpec& vertex_;
  int subtask_;
  const JobArgs* args_;
  std::unique_ptr<api::RegistryMetricGroup> metrics_;
};

class Task {
 public:
  static absl::StatusOr<std::unique_ptr<Task>> Create(const TaskSetup& setup);
  ~Task();

  absl::Status Run();
  // Thread-safe; Run returns kCancelled soon after. Blocked channel I/O is unblocked
  // by cancelling the ChannelFactory (the runner does both).
  void Cancel() {
    cancelled_.store(true, std::memory_order_relaxed);
    WakeSource();
  }

  // Thread-safe. Source tasks take the trigger between two polls; other tasks ignore it
  // (barriers reach them through their inputs). A task that is not running (finished,
  // failed) never acks: the coordinator learns that from TaskFinished or a restart.
  void TriggerCheckpoint(int64_t checkpoint_id, bool savepoint);
  // Thread-safe. Checkpoint `checkpoint_id` is complete job-wide: at its next loop
  // iteration the task thread calls SinkFunction::Commit and
  // SourceFunction::NotifyCheckpointComplete (covering earlier ids too).
  void NotifyCheckpointComplete(int64_t checkpoint_id);
  // Thread-safe. Checkpoint `checkpoint_id` was aborted: its staging is dropped, an
  // alignment in progress for it is cancelled.
  void NotifyCheckpointAborted(int64_t checkpoint_id);
  bool is_source() const { return is_source_; }  // fixed at Create

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
    // Keyed state of an operator vertex (built-in operators, through KeyedStateAccess);
    // declared before `op` so the operator goes first.
    std::unique_ptr<state::KeyedStateBackend> owned_keyed;
    state::KeyedStateBackend* keyed = nullptr;  // owned_keyed or the keyed operator's
    std::string keyed_uuid;                     // names this backend's shared SSTs
    bool is_sink = false;
    SinkFunction* sink = nullptr;
    std::unique_ptr<Operator> op;
    std::unique_ptr<Context> ctx;
    RowBatch out;
    metrics::SubtaskMetrics* metrics = nullptr;
    // The keyed state's metrics, from its first report on, and the stats last reported.
    std::optional<metrics::StateMetrics> state_metrics;
    state::KeyedStateStats state_reported;
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
  // Adds what `op`'s keyed backend counted since the last report to its state metrics.
  void ReportState(ChainOp& op);

  // Checkpoints (task.cc / task_checkpoint.cc).
  struct Control {
    std::vector<std::pair<int64_t, bool>> triggers;  // (id, savepoint)
    int64_t completed = 0;                           // highest id notified complete
    std::vector<int64_t> aborted;
  };
  absl::StatusOr<state::KeyedStateBackend*> MakeKeyedBackend(ChainOp& op);
  absl::Status RestoreChain();
  // Runs queued triggers / completions / aborts (task thread).
  absl::Status HandleControl();
  // Snapshots the chain for checkpoint `id` and hands the upload to the uploader;
  // returns an error only for failures that must fail the task.
  absl::Status SnapshotChain(int64_t id, int64_t alignment_ns);
  // Thread-safe: SourceFunction::Wakeup, so that a poll waiting for input returns.
  void WakeSource();
  // Destroys the source (task thread) outside source_mu_, after a WakeSource in progress.
  void DestroySource();
  absl::Status EmitBarrier(int64_t id);
  void Decline(int64_t id, absl::Status reason);
  std::string StagingDir() const;
  static std::string NewBackendUuid();
  absl::Status RestoreKeyed(int32_t vertex, state::KeyedStateBackend& backend);
  absl::Status OpenOutputs();
  absl::Status RunFinishedOnRestore();
  // Barrier alignment (task thread).
  absl::Status Dispatch(exchange::ChannelMessage& message);
  absl::Status OnBarrier(int32_t channel, int64_t id);
  absl::Status MaybeFinishAlignment();
  void CancelAlignment();
  void BlockChannel(int32_t channel);

  TaskSetup setup_;
  std::string name_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> has_control_{false};
  bool is_source_ = false;
  absl::Mutex control_mu_;
  Control control_ ABSL_GUARDED_BY(control_mu_);
  int64_t committed_ = 0;  // highest id Commit was called for (task thread)
  // Ids of aborted checkpoints, shared with upload jobs that may outlive the task.
  struct AbortedIds {
    std::mutex mu;
    std::vector<int64_t> ids;
    bool Contains(int64_t id) {
      std::lock_guard<std::mutex> lock(mu);
      return std::find(ids.begin(), ids.end(), id) != ids.end();
    }
  };
  std::shared_ptr<AbortedIds> aborted_ = std::make_shared<AbortedIds>();
  // Input side (RunInputs).
  std::unique_ptr<exchange::BatchReader> reader_;
  bool reader_blocks_ = false;  // the reader blocks channels itself (else held_)
  std::vector<int64_t> channel_watermark_;
  int32_t open_channels_ = 0;
  int64_t aligning_ = 0;       // checkpoint whose barrier is being aligned, 0: none
  int64_t align_start_ns_ = 0;
  int64_t last_barrier_ = 0;   // newest checkpoint snapshotted or given up
  std::vector<bool> barrier_seen_;
  std::vector<bool> channel_ended_;
  std::vector<bool> blocked_;
  std::vector<std::deque<exchange::ChannelMessage>> held_;  // per blocked channel
  std::deque<exchange::ChannelMessage> replay_;             // released, processed first
  std::vector<std::pair<int32_t, metrics::SubtaskMetrics>> vertex_metrics_;
  // Created by Instantiate, destroyed on the task thread; source_mu_ guards both against
  // WakeSource (other threads).
  std::unique_ptr<SourceFunction> source_;
  std::mutex source_mu_;
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
