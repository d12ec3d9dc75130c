#pragma once
// Kafka Connect schemas as the Debezium decoder uses them.
//
// A Debezium topic's row schema is the `after` struct of the envelope schema that
// JsonConverter writes when `schemas.enable=true`. Each column has a Connect type
// (int32, bytes, struct, ...) and optionally a logical name
// (org.apache.kafka.connect.data.Decimal, io.debezium.time.MicroTimestamp, ...);
// together they decide how the column's JSON value is decoded (`FieldKind`) and
// which cdcflow ValueType it becomes.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "cdcflow/row.h"
#include "cdcflow/value.h"

namespace cdcflow::debezium {

// How one column's JSON value is decoded.
enum class FieldKind : uint8_t {
  kAny,                   // no schema: decoded by JSON type (see decoder.h)
  kBool,                  // boolean
  kInt32,                 // int8/int16/int32, io.debezium.time.Year
  kInt64,                 // int64, io.debezium.time.MicroDuration (microseconds)
  kFloat64,               // float32/float64 (decimal.handling.mode=double)
  kString,                // string, Enum, EnumSet, Xml, Interval, Ltree, ...
  kBytes,                 // bytes (base64), io.debezium.data.Bits
  kDecimal,               // org.apache.kafka.connect.data.Decimal: base64 + schema scale
  kDecimalString,         // a string column the job declared Decimal (decimal.handling.mode=string)
  kVariableScaleDecimal,  // io.debezium.data.VariableScaleDecimal: {"scale":n,"value":base64}
  kDate,                  // days since epoch (Debezium and Connect Date)
  kTimeMillis,            // io.debezium.time.Time, Connect Time
  kTimeMicros,            // io.debezium.time.MicroTime
  kTimeNanos,             // io.debezium.time.NanoTime
  kTimestampMillis,       // io.debezium.time.Timestamp, Connect Timestamp
  kTimestampMicros,       // io.debezium.time.MicroTimestamp
  kTimestampNanos,        // io.debezium.time.NanoTimestamp
  kZonedTimestamp,        // io.debezium.time.ZonedTimestamp (ISO-8601 text)
  kZonedTime,             // io.debezium.time.ZonedTime
  kUuid,                  // io.debezium.data.Uuid
  kJson,                  // io.debezium.data.Json: JSON text inside a string
  kRawJson,               // array, map, struct (geometry, Point, ...): kept as JSON text
};

std::string_view FieldKindName(FieldKind kind);
// The ValueType a non-null value of this kind decodes to (kNull for kAny).
ValueType FieldKindValueType(FieldKind kind);

struct ConnectField {
  std::string name;
  FieldKind kind = FieldKind::kAny;
  int32_t scale = 0;  // kDecimal only
  bool optional = true;
  std::string logical_name;  // as in the schema, for diagnostics and jobs
};

// The columns of one Debezium row struct (or of a message key), in order.
class RowSchema {
 public:
  RowSchema() = default;
  explicit RowSchema(std::vector<ConnectField> fields);

  const std::vector<ConnectField>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  // Index of the column `name`, or -1.
  int IndexOf(std::string_view name) const;
  void Append(ConnectField field);
  // The record-model view (names, value types, optionality) for jobs.
  const Schema& schema() const { return schema_; }

 private:
  std::vector<ConnectField> fields_;
  absl::flat_hash_map<std::string, int> index_;
  Schema schema_;
};

// The kind for a Connect `type` and logical `name` (empty when none); `scale` is
// the Decimal scale parameter. Unknown logical names fall back to the type.
absl::StatusOr<FieldKind> KindFor(std::string_view type, std::string_view logical_name);

// Parses a Connect struct schema's JSON text into the row schema. Accepted:
//  - a whole schemas-on message (`{"schema":..,"payload":..}`): its envelope's `after`;
//  - an envelope schema (a struct with a struct field named `after` or `before`);
//  - a row or key struct schema itself.
absl::StatusOr<RowSchema> ParseRowSchema(std::string_view json);
// The same, but for a key schema: a key message or a key struct schema.
absl::StatusOr<RowSchema> ParseKeySchema(std::string_view json);

}  // namespace cdcflow::debezium
