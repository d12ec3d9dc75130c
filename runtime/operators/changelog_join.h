#pragma once
// The changelog join and the upsert materializer behind cdcflow/changelog.h.
//
// State layout (one KeyedStateBackend per subtask, keyed by the join key or the
// materializer's key), Flink's three join-side layouts: a side whose unique key lies
// within the join key holds at most one row per key, in a RowState (a point read,
// batched per input batch by Prefetch); a side with another unique key a MapState from
// that key to the row; a side without one a MapState from the whole row to its
// multiplicity. The materializer keeps a ListState of the key's live rows in arrival
// order. Replay positions: of a join side whose rows are identified by its unique key,
// held with the rows (Side::position); otherwise (PositionFilter) a RowState when the
// row key lies within the partitioning key, else a MapState from the row key.
// Inside a task the state is the task's keyed backend for the vertex (RocksDB when the
// task has a state dir), checkpointed and rescaled with it (checkpoint::KeyedStateAccess);
// elsewhere (tests) a private in-memory backend. Task-thread only, like every Operator.

#include <cstdint>
#include <memory>
#include <span>
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
  // Changes dropped because their source position was not newer than the last one
  // applied for their row (replays; JoinSpec::left_position and friends).
  uint64_t stale_changes = 0;
  // Changes the materializer emitted as one upsert: the output of a retraction (a
  // delete, or the key's previous row) dropped because an addition for its key followed
  // at once (an update's -U/+U, a left join's -D/+I when a padded row gets its match).
  uint64_t folded_updates = 0;
};

// The keys of an input batch's rows and their KeyHash, index by index.
struct BatchKeys {
  std::vector<Key> keys;
  std::vector<uint64_t> hashes;
};

// Compares two source positions: <0, 0, >0. Int64 with Int64, Bytes/String with
// Bytes/String (bytewise); anything else is an error naming `what`.
absl::StatusOr<int> ComparePositions(const Value& a, const Value& b, std::string_view what);

// The replay filter of the materializer and of join sides whose rows are identified by
// another key than their unique key: per row, the last applied position (a one-field
// row) of the current (partitioning) key: in a RowState when the row key lies within
// the partitioning key (one row per key), else in a MapState from the row key.
class PositionFilter {
 public:
  PositionFilter() = default;
  // `position` < 0: disabled (Accept always true, the row untouched).
  PositionFilter(int position, std::vector<int> row_key, std::string what)
      : position_(position), row_key_(std::move(row_key)), what_(std::move(what)) {}
  bool enabled() const { return position_ >= 0; }
  // `partition_key`: the fields the input is keyed by.
  absl::Status Open(state::KeyedStateBackend& state, std::string_view state_name,
                    const std::vector<int>& partition_key);
  // With the backend at the row's partitioning key: removes the position column from
  // `row`; false when the change is stale (not newer than the last applied one), else
  // records its position and returns true.
  absl::StatusOr<bool> Accept(Row& row);

 private:
  int position_ = -1;
  std::vector<int> row_key_;
  std::string what_;
  RowState* last_of_key_ = nullptr;  // row key within the partitioning key
  MapState* last_ = nullptr;         // otherwise
  std::vector<Value> scratch_key_;
};

class ChangelogJoinOperator final : public Operator {
 public:
  explicit ChangelogJoinOperator(JoinSpec spec);
  absl::Status Open(RuntimeContext& ctx) override;
  absl::Status ProcessBatch(int input, RowBatch& batch, Collector& out) override;
  const ChangelogStats& stats() const { return stats_; }

 private:
  // One input's rows for the current join key: with a unique key within the join key,
  // a RowState (`row`); with another unique key, a MapState from it to the row;
  // without one, a MapState from the whole row to its multiplicity.
  // With replay protection on a side whose rows are identified by its unique key,
  // the side keeps each row's last position with the row (`position` >= 0): a held
  // row is the row's fields and its position last; a removed row leaves a tombstone
  // (kind kDelete, the position alone) so that a replay of an older change is still
  // refused. One state read and one write per change instead of two of each (a
  // PositionFilter's own state).
  struct Side {
    RowState* row = nullptr;
    MapState* rows = nullptr;
    std::vector<int> unique_key;  // empty: rows are counted
    int position = -1;            // >= 0: positions are held with the rows
    bool exact_retractions = false;  // with a unique key: removals are blind
    const char* what = "";        // "join left input" / "join right input"
  };
  // A row held by the other side, pointing into its state: valid until the next
  // state access.
  struct Held {
    std::span<const Value> fields;
    int64_t count;  // multiplicity (1 with a unique key)
  };

  // Adds (accumulate: `row` is moved into the state) or removes one copy of `row` on
  // `side` (held under `unique_key`, the values of the side's unique key fields, when
  // it has one); false when a removal found nothing to remove.
  bool Apply(Side& side, Row& row, std::span<const Value> unique_key, bool accumulate);
  // For a side holding positions with its rows (Side::position): takes the position
  // out of `row` into *position and tells whether the side holds a live row (not a
  // tombstone) under `unique_key`; false when the change is stale (its position is not
  // newer than the one held).
  absl::StatusOr<bool> TakeFreshPosition(Side& side, Row& row, std::span<const Value> unique_key,
                                         Value* position, bool* held_live);
  // Apply for such a side: the row with its position, or a tombstone with it; a removal
  // finds something when TakeFreshPosition saw a live row (`held_live`).
  bool ApplyPositioned(Side& side, Row& row, Value position, std::span<const Value> unique_key,
                       bool accumulate, bool held_live);
  // Emits the joins of `row` (of the left input or not) with `others_`, the other
  // side's rows; `mine_before`/`mine_after`: the rows held on the row's side before
  // and after it applied (a left join's right side only). `spent`: nothing uses `row`
  // afterwards (a retraction), so a left row's fields move into its last joined row
  // instead of being copied.
  void EmitJoined(bool is_left, Row& row, RowKind kind, size_t mine_before,
                  size_t mine_after, int64_t ts, Collector& out, bool spent);
  // Every row held on `side` for the current key.
  void Collect(Side& side, std::vector<Held>* rows);
  // The number of rows held on `side` for the current key.
  size_t Count(Side& side);
  Row Join(std::span<const Value> left, std::span<const Value> right) const;
  // Join with the left row's fields moved out of `left` (left empty afterwards).
  Row JoinMovingLeft(Row& left, std::span<const Value> right) const;
  void Emit(Row row, RowKind kind, int64_t ts, Collector& out);

  JoinSpec spec_;
  std::unique_ptr<state::KeyedStateBackend> owned_state_;  // without a task backend
  state::KeyedStateBackend* state_ = nullptr;
  Side left_;
  Side right_;
  PositionFilter left_filter_;
  PositionFilter right_filter_;
  BatchKeys keys_;                // the current batch's join keys
  std::vector<Held> others_;      // scratch: the other side's rows for the current key
  std::vector<Held> counted_;     // scratch of Count
  std::vector<Value> unique_key_;  // scratch: the current row's unique key values
  Value position_;                 // scratch: the current row's position
  ChangelogStats stats_;
};

class UpsertMaterializerOperator final : public Operator {
 public:
  explicit UpsertMaterializerOperator(UpsertMaterializerSpec spec);
  absl::Status Open(RuntimeContext& ctx) override;
  absl::Status ProcessBatch(int input, RowBatch& batch, Collector& out) override;
  const ChangelogStats& stats() const { return stats_; }

 private:
  void Emit(Row row, RowKind kind, int64_t ts, Collector& out);

  // The current key's live rows as held in `rows_`: encoded (record::AppendRow), in
  // arrival order, each behind its u32 little-endian length; empty when none. Read
  // from the legacy list state when a restored snapshot has one.
  std::string_view HeldRows();

  UpsertMaterializerSpec spec_;
  std::unique_ptr<state::KeyedStateBackend> owned_state_;  // without a task backend
  state::KeyedStateBackend* state_ = nullptr;
  // The key's live rows, encoded (a Bytes value): a copy costs one allocation, a flush
  // writes it as it is, the cache holds about three times the keys of decoded rows, and
  // rows compare by their bytes (equal values encode to equal bytes; the one pair of
  // equal Values that encode apart, Float64 -0.0 and 0.0, does not arise: a retraction
  // carries the row its upstream emitted before, byte for byte).
  KeyedValueState* rows_ = nullptr;
  // Snapshots of versions before the encoded rows held a ListState "rows": read (and
  // moved into rows_) key by key when the restored state has it.
  ListState* legacy_rows_ = nullptr;
  std::string held_;      // scratch: a key's rows converted from legacy_rows_
  std::string encoded_;   // scratch: the current row, encoded
  std::string remaining_;  // scratch: the key's rows after a change
  PositionFilter filter_;
  BatchKeys keys_;  // the current batch's keys
  KeyedValueState* version_ = nullptr;
  int64_t version_floor_ = 0;
  ChangelogStats stats_;
};


}  // namespace cdcflow::operators
