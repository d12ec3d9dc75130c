#pragma once
// Batches of rows: the unit that moves through operators, exchanges and sinks.
//
// Hot paths in cdcflow are batch-oriented: an operator receives a whole RowBatch and
// emits into a Collector that appends to an output batch. Neither type is virtual
// and neither allocates per row beyond the Row's own fields.

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "cdcflow/row.h"

namespace cdcflow {

// Event-time timestamps and watermarks are milliseconds since the UTC epoch.
inline constexpr int64_t kNoTimestamp = std::numeric_limits<int64_t>::min();
// The watermark that ends event time: sent when a bounded input is exhausted, so every
// event-time timer fires.
inline constexpr int64_t kMaxWatermark = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kMinWatermark = std::numeric_limits<int64_t>::min();

// A sequence of rows with an event-time timestamp per row (kNoTimestamp when the
// source assigned none). A batch owns its rows; it is a movable value type and is
// not thread-safe. Operators may consume (move from) the rows of their input batch.
class RowBatch {
 public:
  RowBatch() = default;
  explicit RowBatch(size_t reserve) {
    rows_.reserve(reserve);
    timestamps_.reserve(reserve);
  }
  RowBatch(RowBatch&&) noexcept = default;
  RowBatch& operator=(RowBatch&&) noexcept = default;
  // Copying a batch copies every row: explicit on purpose (broadcast needs it).
  RowBatch Clone() const {
    RowBatch copy;
    copy.rows_ = rows_;
    copy.timestamps_ = timestamps_;
    return copy;
  }

  size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  void reserve(size_t n) {
    rows_.reserve(n);
    timestamps_.reserve(n);
  }
  // Drops the rows, keeps the capacity.
  void clear() {
    rows_.clear();
    timestamps_.clear();
  }

  void Append(Row row, int64_t timestamp = kNoTimestamp) {
    rows_.push_back(std::move(row));
    timestamps_.push_back(timestamp);
  }

  const Row& row(size_t i) const { return rows_[i]; }
  Row& mutable_row(size_t i) { return rows_[i]; }
  int64_t timestamp(size_t i) const { return timestamps_[i]; }
  void set_timestamp(size_t i, int64_t ts) { timestamps_[i] = ts; }

  const std::vector<Row>& rows() const { return rows_; }
  std::vector<Row>& mutable_rows() { return rows_; }
  const std::vector<int64_t>& timestamps() const { return timestamps_; }

  friend bool operator==(const RowBatch&, const RowBatch&) = default;

 private:
  std::vector<Row> rows_;
  std::vector<int64_t> timestamps_;  // always rows_.size() long
};

// Where an operator puts its output: appends to a RowBatch owned by the runtime.
// Not virtual, not thread-safe; valid only during the call it was passed to.
class Collector {
 public:
  explicit Collector(RowBatch* out) : out_(out) {}
  void Emit(Row row, int64_t timestamp = kNoTimestamp) { out_->Append(std::move(row), timestamp); }
  // The batch being filled, for operators that want to reserve or append in bulk.
  RowBatch& batch() { return *out_; }

 private:
  RowBatch* out_;
};

}  // namespace cdcflow
