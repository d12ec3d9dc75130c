#include "runtime/checkpoint/task_restore.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "runtime/exchange/key_groups.h"

namespace cdcflow::checkpoint {

absl::Status CheckCompatible(const CompletedCheckpoint& checkpoint,
                             const graph::JobGraphSpec& spec) {
  for (const v1::TaskCheckpointAck& t : checkpoint.metadata.tasks()) {
    for (const v1::OperatorSnapshot& op : t.operators()) {
      if (op.vertex_id() < 0 || op.vertex_id() >= static_cast<int32_t>(spec.vertices.size())) {
        return absl::FailedPreconditionError(
            absl::StrCat("checkpoint ", checkpoint.dir, " has state of vertex ", op.vertex_id(),
                         " ('", op.vertex_name(), "'), which this job does not have"));
      }
      const graph::VertexSpec& v = spec.vertices[op.vertex_id()];
      if (v.name != op.vertex_name()) {
        return absl::FailedPreconditionError(
            absl::StrCat("checkpoint ", checkpoint.dir, " has state of vertex ", op.vertex_id(),
                         " named '", op.vertex_name(), "', this job's vertex ", op.vertex_id(),
                         " is '", v.name, "'"));
      }
      if (op.has_keyed_state() && op.max_parallelism() != v.max_parallelism) {
        return absl::FailedPreconditionError(absl::StrCat(
            "checkpoint ", checkpoint.dir, ": vertex '", v.name, "' was checkpointed with max parallelism ",
            op.max_parallelism(), ", the job now has ", v.max_parallelism,
            ": keyed state cannot be redistributed"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TaskRestore> BuildTaskRestore(const CompletedCheckpoint& checkpoint,
                                             const graph::JobGraphSpec& spec,
                                             const graph::ExecutionPlan& plan,
                                             const exchange::TaskId& task) {
  if (task.chain < 0 || task.chain >= static_cast<int32_t>(plan.chains.size())) {
    return absl::InvalidArgumentError(absl::StrCat("no chain ", task.chain, " in the plan"));
  }
  const graph::ChainSpec& chain = plan.chains[task.chain];
  TaskRestore r;
  r.checkpoint_id = checkpoint.id();
  r.base_dir = checkpoint.base_dir;

  // Finished on restore: the chain had the same parallelism and this subtask finished.
  int32_t chain_acks = 0;
  bool finished = false;
  for (const v1::TaskCheckpointAck& t : checkpoint.metadata.tasks()) {
    if (t.chain() != task.chain) continue;
    ++chain_acks;
    if (t.subtask() == task.subtask && t.finished()) finished = true;
  }
  r.finished = finished && chain_acks == chain.parallelism;

  absl::flat_hash_map<int32_t, std::vector<const v1::OperatorSnapshot*>> by_vertex;
  for (const v1::TaskCheckpointAck& t : checkpoint.metadata.tasks()) {
    for (const v1::OperatorSnapshot& op : t.operators()) by_vertex[op.vertex_id()].push_back(&op);
  }
  for (int32_t vid : chain.vertices) {
    auto it = by_vertex.find(vid);
    if (it == by_vertex.end()) continue;
    const graph::VertexSpec& v = spec.vertices[vid];
    std::vector<const v1::OperatorSnapshot*> olds = it->second;
    std::sort(olds.begin(), olds.end(), [](const auto* a, const auto* b) {
      return a->subtask_index() < b->subtask_index();
    });
    const int32_t old_p = olds.front()->parallelism();
    const exchange::KeyGroupRange mine =
        exchange::KeyGroupRangeForSubtask(task.subtask, v.parallelism, v.max_parallelism);
    VertexRestore vr;
    for (const v1::OperatorSnapshot* op : olds) {
      const int index = static_cast<int>(vr.snapshots.size());
      bool used = false;
      if (op->has_source_position() &&
          (old_p != v.parallelism || op->subtask_index() == task.subtask)) {
        vr.positions.push_back(index);
        used = true;
      }
      if ((op->has_sink_state() || op->has_operator_state()) &&
          op->subtask_index() % v.parallelism == task.subtask) {
        vr.states.push_back(index);
        used = true;
      }
      if (op->has_keyed_state() && op->key_group_first() <= mine.end &&
          op->key_group_last() >= mine.start) {
        vr.keyed.push_back(index);
        used = true;
      }
      if (used) vr.snapshots.push_back(*op);
    }
    if (!vr.snapshots.empty()) r.vertices.emplace(vid, std::move(vr));
  }
  return r;
}

}  // namespace cdcflow::checkpoint
