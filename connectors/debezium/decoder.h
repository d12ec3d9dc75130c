#pragma once
// Decodes Debezium change events (Kafka Connect JsonConverter output) straight
// from Kafka message bytes into cdcflow changelog rows.
//
// One event (key + value) becomes:
//   op c / r  -> +I after
//   op u      -> -U before, +U after (only +U after when `before` is absent or null)
//   op d      -> -D before
//   tombstone (empty or `null` value) -> no rows
//   op t / m  -> no rows; a control event (EventKind::kTruncate / kMessage)
//
// Types. Each column decodes by its Connect type and logical name to an exact
// cdcflow Value (see FieldKind in connect_schema.h). Where the type comes from:
//  1. schemas.enable=true: the message's own schema. The decoder caches the parsed
//     schema per topic keyed by the schema's exact text, so a topic pays for schema
//     parsing only when the schema changes. That schema is then also remembered as
//     the topic's *learned* schema.
//  2. schemas.enable=false: the topic's schema supplied by the job
//     (SetValueSchema/SetKeySchema, Connect schema JSON), else the schema learned
//     from the last schemas-on message of the same topic. Columns are matched by
//     name; a JSON field the schema does not name is an error (never guessed).
//  3. schemas.enable=false and no schema known: every value decodes by its JSON
//     type alone: integer -> Int64, other number -> Float64, string -> String,
//     true/false -> Bool, object/array -> Json text. This is ambiguous for
//     base64 Decimals, byte strings, Uuids and epoch-based dates and times, which
//     then arrive as String / Int64: supply the schema to decode them exactly. The
//     column list is inferred from the first event and grows when a later event
//     brings a new field.
// The Debezium placeholder of an unchanged TOASTed column
// (`__debezium_unavailable_value`, configurable) decodes to
// Value::UnavailableMarker() in string-, JSON- and bytes-typed columns and as the
// sole element of an array column. (Debezium itself writes a real text value equal
// to the placeholder identically; no decoder can tell those apart.)
//
// Errors are absl::InvalidArgumentError naming the field path and the reason, e.g.
// `after.price: expected base64 string for Decimal, got number`.
//
// A Decoder holds per-topic schema caches and scratch buffers; it is not
// thread-safe. Use one per source subtask.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/row.h"
#include "cdcflow/value.h"
#include "connectors/debezium/connect_schema.h"

namespace cdcflow::debezium {

enum class SchemasMode : uint8_t {
  kAuto,  // a top-level object with exactly `schema` and `payload` is schemas-on
  kOn,
  kOff,
};

struct DecoderOptions {
  SchemasMode key_schemas = SchemasMode::kAuto;
  SchemasMode value_schemas = SchemasMode::kAuto;
  std::string unavailable_value_placeholder = "__debezium_unavailable_value";
  // Appends one Bytes column to every change row: the event's source position
  // (EncodeSourcePosition) followed by one byte, the row's index within its event (an
  // update's -U is 0, its +U 1), so that every row change of a table has a distinct
  // position that grows per row. For the replay filter of the changelog join and the
  // upsert materializer (JoinSpec::left_position ...). The column is not in
  // Event::value_schema; declare it in the job's row schema as bytes. An event whose
  // source block has no position is an error.
  bool append_source_position = false;
};

enum class EventKind : uint8_t {
  kChange,     // c, r, u, d: `rows` holds the changelog rows
  kTombstone,  // null or empty value: no rows
  kTruncate,   // op t: the table was truncated
  kMessage,    // op m: a logical decoding message (PostgreSQL pg_logical_emit_message)
};

// The `source` block of the PostgreSQL and SQL Server connectors. Fields a
// connector does not send stay empty / nullopt.
struct SourceInfo {
  std::string version;
  std::string connector;  // "postgresql", "sqlserver", ...
  std::string name;       // topic prefix
  std::string db;
  std::string schema;
  std::string table;
  std::string snapshot;  // "true", "false", "last", "first", "incremental", ...
  std::optional<int64_t> ts_ms;
  std::optional<int64_t> ts_us;
  std::optional<int64_t> ts_ns;
  // PostgreSQL
  std::optional<int64_t> lsn;
  std::optional<int64_t> tx_id;
  std::optional<int64_t> xmin;
  std::string sequence;  // JSON text of the ["last committed lsn","lsn"] pair, as sent
  // SQL Server
  std::string change_lsn;
  std::string commit_lsn;
  std::optional<int64_t> event_serial_no;

  void Clear();
};

// A position of the event in its source that compares bytewise and grows for the
// changes of one row (not across rows: PostgreSQL WAL order differs from commit order
// for concurrent transactions, but the changes of one row are serialized by its row
// lock). Layout: [phase: 0 snapshot read, 1 streamed change] then
//   PostgreSQL: 'p', lsn as u64 big-endian;
//   SQL Server: 's', commit_lsn, change_lsn (10 bytes each, zeros when null),
//               event_serial_no (u64 big-endian, 0 when null).
// Snapshot reads (snapshot true/first/last/...) sort before every streamed change: a
// change committed after the snapshot began can carry an older lsn than the
// snapshot's (it was in flight), and it is still newer. (Consequence: rows of a
// re-snapshot taken after streaming began count as replays.) kInvalidArgument when
// the block carries no lsn nor commit_lsn.
absl::StatusOr<std::string> EncodeSourcePosition(const SourceInfo& source);

// One decoded Kafka message. Reuse one Event across Decode calls: its buffers
// keep their capacity, so steady-state decoding allocates little.
struct Event {
  EventKind kind = EventKind::kChange;
  char op = 0;  // 'c', 'r', 'u', 'd', 't', 'm'; 0 for a tombstone
  std::vector<Row> rows;   // changelog rows, in order (kChange only)
  std::vector<Value> key;  // the message key's fields, in key order (empty if no key)
  SourceInfo source;
  std::optional<int64_t> ts_ms;  // the envelope's ts_ms
  std::string transaction_id;    // transaction.id when transaction metadata is on
  // kMessage only: the logical decoding message.
  std::string message_prefix;
  std::string message_content;  // bytes
  // Column names and types of `rows` and `key`. Owned by the Decoder; valid until
  // the next Decode or Set*Schema call for the same topic.
  const RowSchema* value_schema = nullptr;
  const RowSchema* key_schema = nullptr;

  // "<source.name>.<source.schema>.<source.table>" (schema omitted when empty).
  std::string SourceTableName() const;
};

class Decoder {
 public:
  explicit Decoder(DecoderOptions options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one Kafka message of `topic`. `key` may be empty (no key). `value`
  // empty or `null` is a tombstone. On error `out` is left in an unspecified but
  // valid state.
  absl::Status Decode(std::string_view topic, std::string_view key, std::string_view value,
                      Event* out);

  // Supplies the row (value) / key schema of `topic` for schemas-off messages, as
  // Connect schema JSON (see ParseRowSchema / ParseKeySchema).
  absl::Status SetValueSchema(std::string_view topic, std::string_view connect_schema_json);
  absl::Status SetKeySchema(std::string_view topic, std::string_view connect_schema_json);

  // The schema the decoder currently uses for schemas-off rows of `topic`
  // (supplied, learned or inferred), or nullptr.
  const RowSchema* ValueSchemaFor(std::string_view topic) const;

  // Schemas-on keys and values whose schema was, byte for byte, the topic's last one:
  // decoded without indexing or walking it again (only their payload).
  uint64_t known_schema_skips() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdcflow::debezium
