#pragma once
// Changelog rows: the unit of data that flows through a cdcflow job.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cdcflow/export.h"
#include "cdcflow/value.h"

namespace cdcflow {

// The kind of change a row carries, as in Flink's RowKind. The numeric values
// are part of the binary encoding.
enum class RowKind : uint8_t {
  kInsert = 0,        // +I
  kUpdateBefore = 1,  // -U: the row as it was before an update (a retraction)
  kUpdateAfter = 2,   // +U: the row after an update
  kDelete = 3,        // -D
};

// "+I", "-U", "+U" or "-D".
CDCFLOW_API std::string_view RowKindShortString(RowKind kind);
// True for +I and +U (rows that add), false for -U and -D (rows that retract).
inline bool IsAccumulate(RowKind kind) {
  return kind == RowKind::kInsert || kind == RowKind::kUpdateAfter;
}

// One changelog row: a kind and the column values in schema order. A Row owns
// its values; it is a plain value type.
struct CDCFLOW_API Row {
  RowKind kind = RowKind::kInsert;
  std::vector<Value> fields;

  // "+I[1, Widget, null, 1.250]": the stable text form.
  std::string ToString() const;
  friend bool operator==(const Row&, const Row&) = default;
};

// Names and types of a row's columns. Debezium sources attach one per topic;
// operators that reorder or compute columns produce their own.
struct Field {
  std::string name;
  ValueType type = ValueType::kNull;  // kNull means "any"/unknown
  bool optional = true;
  friend bool operator==(const Field&, const Field&) = default;
};

struct CDCFLOW_API Schema {
  std::vector<Field> fields;
  // Index of the field named `name`, or -1.
  int IndexOf(std::string_view name) const;
  friend bool operator==(const Schema&, const Schema&) = default;
};

}  // namespace cdcflow
