#pragma once
// What one task loads when a job starts from a checkpoint or savepoint, selected from
// the checkpoint's metadata for the current job graph (whose parallelism may differ:
// rescaling). The same selection runs in the local job and in a task manager.
//
// Rules per chain vertex of task (chain, subtask i), new parallelism p, old p':
// - source positions: p == p': old subtask i's; otherwise every old subtask's position
//   (RestorePosition is called once per position; a source keeps what concerns its
//   splits: Kafka positions are per partition);
// - sink state and non-keyed operator state: old subtask j goes to new subtask j % p
//   (so each old state, e.g. a pending transaction, is restored exactly once;
//   RestoreState is called once per state);
// - keyed state: every old snapshot whose key-group range overlaps ours
//   (KeyedStateBackend::Restore keeps our range only).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/checkpoint.pb.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/exchange/channel.h"
#include "runtime/graph/job_graph.h"

namespace cdcflow::checkpoint {

struct VertexRestore {
  std::vector<v1::OperatorSnapshot> snapshots;  // old subtasks' snapshots, by old index
  // Old snapshots whose source position / sink state / operator state this subtask loads
  // (indexes into `snapshots`), and those with overlapping keyed state.
  std::vector<int> positions;
  std::vector<int> states;
  std::vector<int> keyed;
};

struct TaskRestore {
  int64_t checkpoint_id = 0;
  std::string base_dir;  // StateFile paths are relative to it
  // The task had finished in the checkpoint (same parallelism): it only sends end of
  // stream downstream (Flink's FINISHED_ON_RESTORE).
  bool finished = false;
  std::map<int32_t, VertexRestore> vertices;  // by vertex id
};

// Checks that `checkpoint` belongs to this job graph: every vertex it has state for
// exists with the same name, and keyed vertices keep their max parallelism.
absl::Status CheckCompatible(const CompletedCheckpoint& checkpoint, const graph::JobGraphSpec& spec);

// The restore of task `task` (see the rules above).
absl::StatusOr<TaskRestore> BuildTaskRestore(const CompletedCheckpoint& checkpoint,
                                             const graph::JobGraphSpec& spec,
                                             const graph::ExecutionPlan& plan,
                                             const exchange::TaskId& task);

}  // namespace cdcflow::checkpoint
