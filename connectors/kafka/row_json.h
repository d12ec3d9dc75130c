#pragma once
// Serializes changelog rows into Kafka records for the sink's output formats.
//
//   debezium-json   value {"before":{..}|null,"after":{..}|null,"op":"c"|"u"|"d"}:
//                   +I -> op c, after;  +U -> op u, after;  -U -> op u, before
//                   (with after null); -D -> op d, before. (Each row becomes one
//                   record: the sink does not pair -U with +U.)
//   changelog-json  value {"op":"+I",<fields>} (op first, then the columns)
//   upsert-json     value {<fields>} for +I/+U; -U writes nothing; -D writes a
//                   tombstone (null value). The key is the primary key.
// The key, when key fields are configured, is {"<pk>":<value>,...} in the
// configured order; without key fields records have a null key.
//
// Column values: null, true/false, integers, doubles (shortest exact form; NaN
// and infinities as strings), decimals as exact JSON numbers ("1.50" stays
// 1.50), text as JSON strings, bytes as base64 strings, dates "2024-01-31",
// times "13:45:00.25", naive timestamps "2024-01-31T13:45:00.25", instants in
// ISO-8601 with their offset ("...Z" for UTC), UUIDs in canonical lower case,
// JSON columns as strings holding the JSON text, and Debezium's unavailable
// TOAST placeholder as the string "__debezium_unavailable_value".
//
// Thread-compatible; Format reuses the caller's buffers (no per-row allocation
// once they have grown).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/row.h"
#include "connectors/kafka/kafka_config.h"

namespace cdcflow::kafka {

struct FormattedRecord {
  bool skip = false;       // the row produces no record (upsert mode, -U)
  bool has_key = false;
  bool tombstone = false;  // null value
  std::string key;
  std::string value;
};

class RowJsonFormatter {
 public:
  // Every key field must be a column of `schema` (kInvalidArgument naming it).
  static absl::StatusOr<RowJsonFormatter> Create(SinkFormat format, const Schema& schema,
                                                 const std::vector<std::string>& key_fields);

  // A row whose field count differs from the schema is kInvalidArgument.
  absl::Status Format(const Row& row, FormattedRecord* out) const;

 private:
  RowJsonFormatter(SinkFormat format, std::vector<std::string> names, std::vector<int> key)
      : format_(format), quoted_names_(std::move(names)), key_indexes_(std::move(key)) {}
  void AppendObject(const Row& row, std::string* out) const;

  SinkFormat format_;
  std::vector<std::string> quoted_names_;  // "\"name\":" ready to append
  std::vector<int> key_indexes_;
};

// Appends `value` as JSON (see above) to `out`.
void AppendJsonValue(const Value& value, std::string* out);
// Appends `text` as a JSON string literal with escapes.
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace cdcflow::kafka
