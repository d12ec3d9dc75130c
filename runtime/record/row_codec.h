#pragma once
// cdcflow's one binary encoding of rows, used for data exchange, keyed state and
// checkpoints. Internal (not SDK): the format may only evolve compatibly, by new
// ValueType tags or a new batch version.
//
// Value:  u8 ValueType tag, then the payload
//   null, unavailable  -
//   bool               u8 0|1
//   int32, int64       zigzag varint
//   float64            8 bytes IEEE-754, little-endian
//   decimal            zigzag varint scale, varint n, n bytes big-endian two's-complement
//   string/bytes/json  varint n, n bytes
//   date               zigzag varint days
//   time               varint nanos of day
//   time_tz            varint nanos of day, zigzag varint offset seconds
//   timestamp          zigzag varint seconds, varint nanos
//   timestamp_tz       zigzag varint seconds, varint nanos, zigzag varint offset seconds
//   uuid               16 bytes
// Row:    u8 RowKind, varint field count, the values
// Batch:  u8 version (1), u8 flags (bit 0: every row is preceded by a zigzag varint
//         event timestamp), fixed32 little-endian row count, the rows
//
// Equal values encode to equal bytes (decimals are canonical), so an encoded key can
// serve as a state key. Decoders validate everything (tags, ranges, lengths) and
// report truncated or corrupt input as kDataLoss naming the row, field and byte
// offset; they never read out of bounds. Thread-safe: all functions are pure.

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/batch.h"
#include "cdcflow/row.h"
#include "cdcflow/value.h"

namespace cdcflow::record {

inline constexpr uint8_t kRowBatchVersion = 1;
inline constexpr size_t kRowBatchHeaderSize = 6;
// The timestamp of a row that has none.
inline constexpr int64_t kNoRowTimestamp = kNoTimestamp;

// Appends one value / one row (no batch header) to *out.
void AppendValue(const Value& value, std::string* out);
void AppendRow(const Row& row, std::string* out);

// A sequence of values: varint n, then n values (keys in state, map keys).
void AppendValues(std::span<const Value> values, std::string* out);
// Appends the decoded values to *values.
absl::Status DecodeValues(std::string_view data, size_t* offset, std::vector<Value>* values);

// Decodes one value / row at data[*offset] and advances *offset past it.
absl::Status DecodeValue(std::string_view data, size_t* offset, Value* value);
absl::Status DecodeRow(std::string_view data, size_t* offset, Row* row);
// Decodes `data` that holds exactly one value / row (trailing bytes are an error).
absl::StatusOr<Value> DecodeValue(std::string_view data);
absl::StatusOr<Row> DecodeRow(std::string_view data);

// Builds one batch by appending to a caller-owned buffer (which may already hold
// data, e.g. a message header). No allocation per row beyond the buffer's geometric
// growth; reuse the buffer across batches to avoid even that. Not thread-safe.
class RowBatchEncoder {
 public:
  // Writes the header at the end of *out. `out` must outlive the encoder and must
  // not be modified by anyone else until Finish().
  explicit RowBatchEncoder(std::string* out, bool with_timestamps = false);
  RowBatchEncoder(const RowBatchEncoder&) = delete;
  RowBatchEncoder& operator=(const RowBatchEncoder&) = delete;

  void Add(const Row& row, int64_t timestamp = kNoRowTimestamp);
  uint32_t count() const { return count_; }
  // Writes the row count into the header. Call once, after the last Add.
  void Finish();

 private:
  std::string* out_;
  size_t header_offset_;
  uint32_t count_ = 0;
  bool with_timestamps_;
};

// One-call forms. `timestamps`, when not empty, has one entry per row; the flag
// is set only when some timestamp is not kNoRowTimestamp.
void EncodeRowBatch(std::span<const Row> rows, std::string* out);
void EncodeRowBatch(std::span<const Row> rows, std::span<const int64_t> timestamps,
                    std::string* out);

// Decodes a whole batch (trailing bytes are an error), appending to *rows and, when
// `timestamps` is not null, one timestamp per row (kNoRowTimestamp when the batch has
// none). On error *rows holds the rows decoded before the bad one (and *timestamps
// as many entries).
absl::Status DecodeRowBatch(std::string_view data, std::vector<Row>* rows,
                            std::vector<int64_t>* timestamps = nullptr);
// The same for the SDK's RowBatch (rows with their event timestamps), e.g. for
// exchanges between processes. Decoding appends to *batch.
void EncodeRowBatch(const RowBatch& batch, std::string* out);
absl::Status DecodeRowBatch(std::string_view data, RowBatch* batch);

// The row count from a batch header, without decoding the rows.
absl::StatusOr<uint32_t> RowBatchCount(std::string_view data);

}  // namespace cdcflow::record
