#pragma once
// One deployed job attempt in a task manager: the tasks the job manager placed here,
// running on their own threads. The task manager creates attempts through an
// AttemptFactory (the runtime-backed one in runtime_attempt.h; tests use fakes).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/common.pb.h"
#include "proto/job_manager.pb.h"
#include "proto/task_manager.pb.h"

namespace cdcflow::checkpoint {
class CheckpointListener;
}

namespace cdcflow::taskmanager {

class NetworkExchange;

// Where tasks report state changes (RUNNING, FINISHED, FAILED, CANCELED). Thread-safe;
// called from task threads.
using TaskStateReporter =
    std::function<void(const v1::TaskId& task, v1::TaskState state, const std::string& error)>;

// Thread-safe.
class Attempt {
 public:
  // Cancels and waits for every task thread.
  virtual ~Attempt() = default;
  // Starts the tasks. Called once, after the attempt is registered with the task
  // manager (so channels from other task managers can find it).
  virtual absl::Status Start() = 0;
  // Asks every task to stop; each reports CANCELED (or its final state) when it has.
  virtual void Cancel() = 0;
  // True once every task has ended.
  virtual bool Done() = 0;
  // Cancels, then blocks until every task thread has ended and released what it holds
  // (keyed state, files), so a newer attempt of the job may use the same state
  // directories. Idempotent; thread-safe.
  virtual void Join() = 0;
  // The receiving side of this attempt's network channels (null if it has none).
  virtual NetworkExchange* network() = 0;
  // Appends the cumulative metrics of each of its tasks (sent with heartbeats).
  virtual void CollectMetrics(std::vector<v1::TaskMetricsReport>* out) {}

  // Checkpoints (CHECKPOINT_DESIGN.md 3). Triggers checkpoint `id` at this attempt's
  // source tasks and returns how many there are; FAILED_PRECONDITION when the attempt
  // does not checkpoint (no checkpoint storage).
  virtual absl::StatusOr<int> TriggerCheckpoint(int64_t id, bool savepoint) = 0;
  virtual void NotifyCheckpointComplete(int64_t id) = 0;
  virtual void NotifyCheckpointAborted(int64_t id) = 0;
};

struct AttemptContext {
  const v1::DeployTaskRequest* request = nullptr;  // valid during the factory call
  std::shared_ptr<const std::string> plugin;       // the job's .so bytes
  std::string task_manager_id;
  std::string plugin_directory;  // where plugin files may be written
  TaskStateReporter reporter;
  // Where the attempt's tasks report checkpoints (forwarded to the job manager); must
  // outlive the attempt. Null: the tasks decline every checkpoint.
  checkpoint::CheckpointListener* checkpoint_listener = nullptr;
};

using AttemptFactory =
    std::function<absl::StatusOr<std::unique_ptr<Attempt>>(AttemptContext context)>;

}  // namespace cdcflow::taskmanager
