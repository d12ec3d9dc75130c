#pragma once
// Keyed state primitives for job authors, like Flink's ValueState / ListState /
// MapState. A handle is scoped to the key currently being processed: the runtime sets
// that key (the row's key in ProcessElement, the timer's key in OnTimer) and every
// call on any handle reads or writes that key's state.
//
// Handles are owned by the runtime, obtained in Open (by name; the same name gives the
// same handle) and valid until Close. Task-thread only, not thread-safe.
//
// Pointers returned by Get stay valid until the next call on any state handle of the
// same operator (the backend may evict or reload entries behind them).
//
// Errors: storage failures (disk full, corruption) do not surface per call. The
// backend records the first one; the runtime checks it after each batch and fails the
// task, which restarts from the last checkpoint. A failed backend keeps answering
// from memory, so user code never sees a half-valid handle.
//
// Single-value state of a Value is KeyedValueState (cdcflow/operator.h).

#include <cstddef>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "cdcflow/export.h"
#include "cdcflow/row.h"
#include "cdcflow/value.h"

namespace cdcflow {

// One Row per key (a deduplicated last row, an aggregate's accumulators ...).
class CDCFLOW_API RowState {
 public:
  virtual ~RowState();
  // The current key's row, or nullptr when it has none.
  virtual const Row* Get() = 0;
  virtual void Put(Row row) = 0;
  virtual void Clear() = 0;
};

// A list of rows per key, in insertion order.
class CDCFLOW_API ListState {
 public:
  virtual ~ListState();
  // The current key's rows (empty when none). Valid as documented above.
  virtual const std::vector<Row>& Get() = 0;
  virtual void Add(Row row) = 0;
  // Replaces the whole list (an empty list clears it).
  virtual void Update(std::vector<Row> rows) = 0;
  virtual void Clear() = 0;
};

// A map per key from a map key (one or more values) to a row.
class CDCFLOW_API MapState {
 public:
  virtual ~MapState();
  // The row under `map_key` for the current key, or nullptr.
  virtual const Row* Get(std::span<const Value> map_key) = 0;
  virtual void Put(std::span<const Value> map_key, Row value) = 0;
  virtual void Remove(std::span<const Value> map_key) = 0;
  // Calls `fn` for every entry of the current key, in no particular order. `fn` must
  // not call other state handles.
  virtual void ForEach(
      absl::FunctionRef<void(std::span<const Value> map_key, const Row& value)> fn) = 0;
  virtual size_t Size() = 0;
  virtual void Clear() = 0;
};

}  // namespace cdcflow
