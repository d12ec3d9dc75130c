#pragma once
// The changelog join and the upsert materializer behind cdcflow/changelog.h.
//
// State layout (one KeyedStateBackend per subtask, keyed by the join key or the
// materializer's key): the join keeps a MapState per side from the full row to its
// multiplicity, the materializer a ListState of the key's live rows in arrival order.
// Inside a task the state is the task's keyed backend for the vertex (RocksDB when the
// task has a state dir), checkpointed and rescaled with it (checkpoint::KeyedStateAccess);
// elsewhere (tests) a private in-memory backend. Task-thread only, like every Operator.

#include <cstdint>
#include <memory>
#include <vector>

#include "cdcflow/changelog.h"
#include "cdcflow/operator.h"
#include "runtime/state/keyed_state_backend.h"

namespace cdcflow::operators {

struct ChangelogStats {
  uint64_t rows_in = 0;
  uint64_t rows_out = 0;
  // Retractions of rows the state did not hold (replays, out-of-order upstreams).
  uint64_t absent_retractions = 0;
};

class ChangelogJoinOperator final : public Operator {
 public:
  explicit ChangelogJoinOperator(JoinSpec spec) : spec_(std::move(spec)) {}
  absl::Status Open(RuntimeContext& ctx) override;
  absl::Status ProcessBatch(int input, RowBatch& batch, Collector& out) override;
  const ChangelogStats& stats() const { return stats_; }

 private:
  // Adds (delta > 0) or removes one copy of `row` on `side`; returns the previous
  // multiplicity, or -1 when a removal found no copy.
  int64_t Apply(MapState* side, const Row& row, int delta);
  // Every row held on `side` for the current key, each repeated by its multiplicity.
  void Collect(MapState* side, std::vector<Row>* rows);
  Row Join(const Row& left, const Row* right) const;
  void Emit(Row row, RowKind kind, int64_t ts, Collector& out);

  JoinSpec spec_;
  std::unique_ptr<state::KeyedStateBackend> owned_state_;  // without a task backend
  state::KeyedStateBackend* state_ = nullptr;
  MapState* left_ = nullptr;
  MapState* right_ = nullptr;
  std::vector<Row> others_;  // scratch: the other side's rows for the current key
  ChangelogStats stats_;
};

class UpsertMaterializerOperator final : public Operator {
 public:
  explicit UpsertMaterializerOperator(std::vector<int> key_fields)
      : key_fields_(std::move(key_fields)) {}
  absl::Status Open(RuntimeContext& ctx) override;
  absl::Status ProcessBatch(int input, RowBatch& batch, Collector& out) override;
  const ChangelogStats& stats() const { return stats_; }

 private:
  std::vector<int> key_fields_;
  std::unique_ptr<state::KeyedStateBackend> owned_state_;  // without a task backend
  state::KeyedStateBackend* state_ = nullptr;
  ListState* rows_ = nullptr;
  ChangelogStats stats_;
};

// The key of `row` at `fields`; an error names the missing position.
absl::StatusOr<Key> KeyOf(const Row& row, const std::vector<int>& fields);

}  // namespace cdcflow::operators
