#include "runtime/record/row_codec.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/record/int128_util.h"
#include "runtime/record/time_util.h"

namespace cdcflow::record {
namespace {

// ---- encoding: every writer gets a pointer into space reserved by an upper bound.

// Debian's absl has its own string_view type: convert for StrCat.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

inline char* PutBytes(char* p, const char* data, size_t n) {
  p = PutVarint(p, n);
  std::memcpy(p, data, n);
  return p + n;
}

// Bytes a value may take at most (tag included).
inline size_t MaxValueSize(const Value& v) {
  switch (v.type()) {
    case ValueType::kString:
      return 11 + v.as_string().size();
    case ValueType::kBytes:
      return 11 + v.as_bytes().size();
    case ValueType::kJson:
      return 11 + v.as_json().size();
    case ValueType::kDecimal:
      return 11 + v.as_decimal().twos_complement_size_bound();
    default:
      return 26;  // timestamp_tz: 1 + 10 + 5 + 10 (uuid: 17)
  }
}

inline size_t MaxRowSize(const Row& row) {
  size_t bound = 1 + 10;
  for (const Value& v : row.fields) bound += MaxValueSize(v);
  return bound;
}

char* WriteValue(const Value& v, char* p) {
  *p++ = static_cast<char>(v.type());
  switch (v.type()) {
    case ValueType::kNull:
    case ValueType::kUnavailable:
      return p;
    case ValueType::kBool:
      *p++ = v.as_bool() ? 1 : 0;
      return p;
    case ValueType::kInt32:
      return PutVarint(p, ZigZag(v.as_int32()));
    case ValueType::kInt64:
      return PutVarint(p, ZigZag(v.as_int64()));
    case ValueType::kFloat64: {
      const double d = v.as_float64();
      std::memcpy(p, &d, 8);
      return p + 8;
    }
    case ValueType::kDecimal: {
      const Decimal& dec = v.as_decimal();
      p = PutVarint(p, ZigZag(dec.scale()));
      if (dec.is_small()) {
        char* len = p++;
        const int n = Int128ToTwosComplement(dec.small_unscaled(), p);
        *len = static_cast<char>(n);
        return p + n;
      }
      const std::string bytes = dec.ToTwosComplement();
      return PutBytes(p, bytes.data(), bytes.size());
    }
    case ValueType::kString:
      return PutBytes(p, v.as_string().data(), v.as_string().size());
    case ValueType::kBytes:
      return PutBytes(p, v.as_bytes().data(), v.as_bytes().size());
    case ValueType::kJson:
      return PutBytes(p, v.as_json().data(), v.as_json().size());
    case ValueType::kDate:
      return PutVarint(p, ZigZag(v.as_date().days));
    case ValueType::kTime:
      return PutVarint(p, static_cast<uint64_t>(v.as_time().nanos));
    case ValueType::kTimeTz:
      p = PutVarint(p, static_cast<uint64_t>(v.as_time_tz().nanos));
      return PutVarint(p, ZigZag(v.as_time_tz().offset_seconds));
    case ValueType::kTimestamp:
      p = PutVarint(p, ZigZag(v.as_timestamp().seconds));
      return PutVarint(p, static_cast<uint32_t>(v.as_timestamp().nanos));
    case ValueType::kTimestampTz:
      p = PutVarint(p, ZigZag(v.as_timestamp_tz().seconds));
      p = PutVarint(p, static_cast<uint32_t>(v.as_timestamp_tz().nanos));
      return PutVarint(p, ZigZag(v.as_timestamp_tz().offset_seconds));
    case ValueType::kUuid:
      std::memcpy(p, v.as_uuid().bytes.data(), 16);
      return p + 16;
  }
  return p;
}

inline char* WriteRow(const Row& row, char* p) {
  *p++ = static_cast<char>(row.kind);
  p = PutVarint(p, row.fields.size());
  for (const Value& v : row.fields) p = WriteValue(v, p);
  return p;
}

// ---- decoding

// A bounds-checked cursor. On failure it records what went wrong and where; the
// caller turns that into a Status with the row/field context.
class Reader {
 public:
  Reader(std::string_view data, size_t offset)
      : begin_(data.data()), p_(data.data() + offset), end_(data.data() + data.size()) {}

  size_t offset() const { return static_cast<size_t>(p_ - begin_); }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  bool at_end() const { return p_ == end_; }
  const std::string& error() const { return error_; }
  size_t error_offset() const { return error_offset_; }

  bool Fail(size_t at, std::string what) {
    error_ = std::move(what);
    error_offset_ = at;
    return false;
  }

  bool Byte(uint8_t* b, const char* what) {
    if (p_ == end_) return Fail(offset(), absl::StrCat("truncated: ", what, " missing"));
    *b = static_cast<uint8_t>(*p_++);
    return true;
  }

  bool Varint(uint64_t* out, const char* what) {
    if (p_ != end_ && (static_cast<uint8_t>(*p_) & 0x80) == 0) {  // one byte: most varints
      *out = static_cast<uint8_t>(*p_++);
      return true;
    }
    const size_t start = offset();
    uint64_t result = 0;
    for (int shift = 0;; shift += 7) {
      if (p_ == end_) return Fail(start, absl::StrCat("truncated varint (", what, ")"));
      const auto b = static_cast<uint8_t>(*p_++);
      if (shift == 63 && b > 1) return Fail(start, absl::StrCat("varint overflows 64 bits (", what, ")"));
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    *out = result;
    return true;
  }

  bool SignedVarint(int64_t* out, const char* what) {
    uint64_t u;
    if (!Varint(&u, what)) return false;
    *out = UnZigZag(u);
    return true;
  }

  bool Int32Varint(int32_t* out, const char* what) {
    const size_t start = offset();
    int64_t v;
    if (!SignedVarint(&v, what)) return false;
    if (v < INT32_MIN || v > INT32_MAX) {
      return Fail(start, absl::StrCat(what, " ", v, " out of int32 range"));
    }
    *out = static_cast<int32_t>(v);
    return true;
  }

  bool Raw(size_t n, const char** data, const char* what) {
    if (left() < n) {
      return Fail(offset(), absl::StrCat("truncated: ", what, " needs ", n, " bytes, ", left(),
                                         " left"));
    }
    *data = p_;
    p_ += n;
    return true;
  }

  bool LengthPrefixed(std::string_view* out, const char* what) {
    const size_t start = offset();
    uint64_t n;
    if (!Varint(&n, what)) return false;
    if (n > left()) {
      return Fail(start, absl::StrCat("truncated: ", what, " length ", n, " exceeds the ", left(),
                                      " bytes left"));
    }
    *out = std::string_view(p_, n);
    p_ += n;
    return true;
  }

 private:
  const char* begin_;
  const char* p_;
  const char* end_;
  std::string error_;
  size_t error_offset_ = 0;
};

bool ReadNanosOfDay(Reader& r, int64_t* nanos) {
  const size_t start = r.offset();
  uint64_t u;
  if (!r.Varint(&u, "nanos of day")) return false;
  if (u >= static_cast<uint64_t>(kNanosPerDay)) {
    return r.Fail(start, absl::StrCat("nanos of day ", u, " out of range"));
  }
  *nanos = static_cast<int64_t>(u);
  return true;
}

bool ReadNanos(Reader& r, int32_t* nanos) {
  const size_t start = r.offset();
  uint64_t u;
  if (!r.Varint(&u, "nanos")) return false;
  if (u >= static_cast<uint64_t>(kNanosPerSecond)) {
    return r.Fail(start, absl::StrCat("nanos ", u, " out of range"));
  }
  *nanos = static_cast<int32_t>(u);
  return true;
}

bool ReadOffset(Reader& r, int32_t* offset) {
  const size_t start = r.offset();
  if (!r.Int32Varint(offset, "offset seconds")) return false;
  if (*offset < -kMaxOffsetSeconds || *offset > kMaxOffsetSeconds) {
    return r.Fail(start, absl::StrCat("offset ", *offset, " s out of range"));
  }
  return true;
}

// Reads one value and hands it to `emit(std::in_place_index<type>, args...)` (so that
// a row's values are constructed once, in place, straight into the row); `*type` is set as soon as the tag is
// known (for error context).
template <typename Emit>
bool ReadValue(Reader& r, Emit&& emit, int* type) {
  const size_t tag_offset = r.offset();
  uint8_t tag;
  if (!r.Byte(&tag, "value type tag")) return false;
  *type = tag;
  switch (static_cast<ValueType>(tag)) {
    case ValueType::kNull:
      emit(std::in_place_index<0>);
      return true;
    case ValueType::kUnavailable:
      emit(std::in_place_index<15>);
      return true;
    case ValueType::kBool: {
      const size_t at = r.offset();
      uint8_t b;
      if (!r.Byte(&b, "bool byte")) return false;
      if (b > 1) return r.Fail(at, absl::StrCat("bool byte ", b, " is not 0 or 1"));
      emit(std::in_place_index<1>, b == 1);
      return true;
    }
    case ValueType::kInt32: {
      int32_t v;
      if (!r.Int32Varint(&v, "int32")) return false;
      emit(std::in_place_index<2>, v);
      return true;
    }
    case ValueType::kInt64: {
      int64_t v;
      if (!r.SignedVarint(&v, "int64")) return false;
      emit(std::in_place_index<3>, v);
      return true;
    }
    case ValueType::kFloat64: {
      const char* data;
      if (!r.Raw(8, &data, "float64")) return false;
      double d;
      std::memcpy(&d, data, 8);
      emit(std::in_place_index<4>, d);
      return true;
    }
    case ValueType::kDecimal: {
      int32_t scale;
      if (!r.Int32Varint(&scale, "decimal scale")) return false;
      std::string_view bytes;
      if (!r.LengthPrefixed(&bytes, "decimal unscaled bytes")) return false;
      if (bytes.size() <= 16) {
        emit(std::in_place_index<5>, Decimal::FromInt128(Int128FromTwosComplement(bytes.data(), bytes.size()), scale));
      } else {
        emit(std::in_place_index<5>, Decimal::FromTwosComplement(bytes, scale));
      }
      return true;
    }
    case ValueType::kString: {
      std::string_view s;
      if (!r.LengthPrefixed(&s, "string")) return false;
      emit(std::in_place_index<6>, String{std::string(s)});
      return true;
    }
    case ValueType::kBytes: {
      std::string_view s;
      if (!r.LengthPrefixed(&s, "bytes")) return false;
      emit(std::in_place_index<7>, Bytes{std::string(s)});
      return true;
    }
    case ValueType::kJson: {
      std::string_view s;
      if (!r.LengthPrefixed(&s, "json")) return false;
      emit(std::in_place_index<14>, Json{std::string(s)});
      return true;
    }
    case ValueType::kDate: {
      int32_t days;
      if (!r.Int32Varint(&days, "days")) return false;
      emit(std::in_place_index<8>, Date{days});
      return true;
    }
    case ValueType::kTime: {
      int64_t nanos;
      if (!ReadNanosOfDay(r, &nanos)) return false;
      emit(std::in_place_index<9>, Time{nanos});
      return true;
    }
    case ValueType::kTimeTz: {
      TimeTz t;
      if (!ReadNanosOfDay(r, &t.nanos) || !ReadOffset(r, &t.offset_seconds)) return false;
      emit(std::in_place_index<10>, t);
      return true;
    }
    case ValueType::kTimestamp: {
      Timestamp t;
      if (!r.SignedVarint(&t.seconds, "seconds") || !ReadNanos(r, &t.nanos)) return false;
      emit(std::in_place_index<11>, t);
      return true;
    }
    case ValueType::kTimestampTz: {
      TimestampTz t;
      if (!r.SignedVarint(&t.seconds, "seconds") || !ReadNanos(r, &t.nanos) ||
          !ReadOffset(r, &t.offset_seconds)) {
        return false;
      }
      emit(std::in_place_index<12>, t);
      return true;
    }
    case ValueType::kUuid: {
      const char* data;
      if (!r.Raw(16, &data, "uuid")) return false;
      Uuid u;
      std::memcpy(u.bytes.data(), data, 16);
      emit(std::in_place_index<13>, u);
      return true;
    }
  }
  *type = -1;
  return r.Fail(tag_offset, absl::StrCat("unknown value type tag ", tag));
}

struct EmplaceInto {
  std::vector<Value>* values;
  template <size_t I, typename... Args>
  void operator()(std::in_place_index_t<I> index, Args&&... args) const {
    values->emplace_back(index, std::forward<Args>(args)...);
  }
};
struct AssignTo {
  Value* value;
  template <size_t I, typename... Args>
  void operator()(std::in_place_index_t<I> index, Args&&... args) const {
    *value = Value(index, std::forward<Args>(args)...);
  }
};

// Where a failure happened inside a row.
struct RowErrorContext {
  int64_t field = -1;  // -1: in the row header
  int type = -1;
};

bool ReadRow(Reader& r, Row* row, RowErrorContext* ctx) {
  ctx->field = -1;
  ctx->type = -1;
  const size_t kind_offset = r.offset();
  uint8_t kind;
  if (!r.Byte(&kind, "row kind")) return false;
  if (kind > static_cast<uint8_t>(RowKind::kDelete)) {
    return r.Fail(kind_offset, absl::StrCat("unknown row kind ", kind));
  }
  const size_t count_offset = r.offset();
  uint64_t n;
  if (!r.Varint(&n, "field count")) return false;
  if (n > r.left()) {
    return r.Fail(count_offset,
                  absl::StrCat("field count ", n, " exceeds the ", r.left(), " bytes left"));
  }
  row->kind = static_cast<RowKind>(kind);
  row->fields.clear();
  row->fields.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    ctx->field = static_cast<int64_t>(i);
    if (!ReadValue(r, EmplaceInto{&row->fields}, &ctx->type)) {
      return false;
    }
  }
  return true;
}

std::string FieldContext(const RowErrorContext& ctx) {
  if (ctx.field < 0) return "header";
  std::string s = absl::StrCat("field ", ctx.field);
  if (ctx.type >= 0) absl::StrAppend(&s, " (", Sv(ValueTypeName(static_cast<ValueType>(ctx.type))), ")");
  return s;
}

absl::Status RowError(const Reader& r, std::string_view where, const RowErrorContext& ctx) {
  return absl::DataLossError(absl::StrCat("corrupt ", Sv(where), ", ", FieldContext(ctx), ": ",
                                          r.error(), " at byte offset ", r.error_offset()));
}

inline void PutFixed32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }

}  // namespace

void AppendValue(const Value& value, std::string* out) {
  const size_t old = out->size();
  out->resize(old + MaxValueSize(value));
  char* end = WriteValue(value, out->data() + old);
  out->resize(static_cast<size_t>(end - out->data()));
}

void AppendRow(const Row& row, std::string* out) {
  const size_t old = out->size();
  out->resize(old + MaxRowSize(row));
  char* end = WriteRow(row, out->data() + old);
  out->resize(static_cast<size_t>(end - out->data()));
}

void AppendValues(std::span<const Value> values, std::string* out) {
  size_t bound = 10;
  for (const Value& v : values) bound += MaxValueSize(v);
  const size_t old = out->size();
  out->resize(old + bound);
  char* p = PutVarint(out->data() + old, values.size());
  for (const Value& v : values) p = WriteValue(v, p);
  out->resize(static_cast<size_t>(p - out->data()));
}

absl::Status DecodeValues(std::string_view data, size_t* offset, std::vector<Value>* values) {
  Reader r(data, *offset);
  uint64_t n;
  int64_t index = -1;
  int type = -1;
  bool ok = r.Varint(&n, "value count");
  if (ok && n > r.left()) {
    ok = r.Fail(*offset, absl::StrCat("value count ", n, " exceeds the ", r.left(), " bytes left"));
  }
  for (uint64_t i = 0; ok && i < n; ++i) {
    index = static_cast<int64_t>(i);
    ok = ReadValue(r, EmplaceInto{values}, &type);
  }
  if (!ok) {
    std::string where = index < 0 ? "count" : absl::StrCat("value ", index);
    if (index >= 0 && type >= 0) {
      absl::StrAppend(&where, " (", Sv(ValueTypeName(static_cast<ValueType>(type))), ")");
    }
    return absl::DataLossError(absl::StrCat("corrupt value list, ", where, ": ", r.error(),
                                            " at byte offset ", r.error_offset()));
  }
  *offset = r.offset();
  return absl::OkStatus();
}

absl::Status DecodeValue(std::string_view data, size_t* offset, Value* value) {
  Reader r(data, *offset);
  int type = -1;
  if (!ReadValue(r, AssignTo{value}, &type)) {
    std::string what = type >= 0 ? absl::StrCat(" (", Sv(ValueTypeName(static_cast<ValueType>(type))), ")") : "";
    return absl::DataLossError(absl::StrCat("corrupt value", what, ": ", r.error(),
                                            " at byte offset ", r.error_offset()));
  }
  *offset = r.offset();
  return absl::OkStatus();
}

absl::Status DecodeRow(std::string_view data, size_t* offset, Row* row) {
  Reader r(data, *offset);
  RowErrorContext ctx;
  if (!ReadRow(r, row, &ctx)) return RowError(r, "row", ctx);
  *offset = r.offset();
  return absl::OkStatus();
}

absl::StatusOr<Value> DecodeValue(std::string_view data) {
  Value value;
  size_t offset = 0;
  if (absl::Status s = DecodeValue(data, &offset, &value); !s.ok()) return s;
  if (offset != data.size()) {
    return absl::DataLossError(absl::StrCat("corrupt value: ", data.size() - offset,
                                            " trailing bytes at byte offset ", offset));
  }
  return value;
}

absl::StatusOr<Row> DecodeRow(std::string_view data) {
  Row row;
  size_t offset = 0;
  if (absl::Status s = DecodeRow(data, &offset, &row); !s.ok()) return s;
  if (offset != data.size()) {
    return absl::DataLossError(absl::StrCat("corrupt row: ", data.size() - offset,
                                            " trailing bytes at byte offset ", offset));
  }
  return row;
}

RowBatchEncoder::RowBatchEncoder(std::string* out, bool with_timestamps)
    : out_(out), header_offset_(out->size()), with_timestamps_(with_timestamps) {
  char header[kRowBatchHeaderSize] = {static_cast<char>(kRowBatchVersion),
                                      static_cast<char>(with_timestamps ? 1 : 0)};
  out->append(header, kRowBatchHeaderSize);
}

void RowBatchEncoder::Add(const Row& row, int64_t timestamp) {
  const size_t old = out_->size();
  out_->resize(old + MaxRowSize(row) + (with_timestamps_ ? 10 : 0));
  char* p = out_->data() + old;
  if (with_timestamps_) p = PutVarint(p, ZigZag(timestamp));
  p = WriteRow(row, p);
  out_->resize(static_cast<size_t>(p - out_->data()));
  ++count_;
}

void RowBatchEncoder::Finish() { PutFixed32(out_->data() + header_offset_ + 2, count_); }

void EncodeRowBatch(std::span<const Row> rows, std::string* out) {
  EncodeRowBatch(rows, {}, out);
}

void EncodeRowBatch(std::span<const Row> rows, std::span<const int64_t> timestamps,
                    std::string* out) {
  bool with_timestamps = false;
  for (int64_t ts : timestamps) {
    if (ts != kNoRowTimestamp) {
      with_timestamps = true;
      break;
    }
  }
  // One resize for the whole batch.
  size_t bound = kRowBatchHeaderSize;
  for (const Row& row : rows) bound += MaxRowSize(row) + (with_timestamps ? 10 : 0);
  const size_t old = out->size();
  out->resize(old + bound);
  char* p = out->data() + old;
  *p++ = static_cast<char>(kRowBatchVersion);
  *p++ = static_cast<char>(with_timestamps ? 1 : 0);
  PutFixed32(p, static_cast<uint32_t>(rows.size()));
  p += 4;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (with_timestamps) p = PutVarint(p, ZigZag(timestamps[i]));
    p = WriteRow(rows[i], p);
  }
  out->resize(static_cast<size_t>(p - out->data()));
}

namespace {

absl::StatusOr<std::pair<uint8_t, uint32_t>> ReadHeader(std::string_view data) {
  if (data.size() < kRowBatchHeaderSize) {
    return absl::DataLossError(absl::StrCat("corrupt row batch, header: truncated: ",
                                            data.size(), " bytes, the header needs ",
                                            kRowBatchHeaderSize, " at byte offset 0"));
  }
  const auto version = static_cast<uint8_t>(data[0]);
  if (version != kRowBatchVersion) {
    return absl::DataLossError(absl::StrCat("corrupt row batch, header: unknown version ",
                                            version, " at byte offset 0"));
  }
  const auto flags = static_cast<uint8_t>(data[1]);
  if ((flags & ~1u) != 0) {
    return absl::DataLossError(
        absl::StrCat("corrupt row batch, header: unknown flags ", flags, " at byte offset 1"));
  }
  uint32_t count;
  std::memcpy(&count, data.data() + 2, 4);
  // Every row takes at least two bytes: a cheap bound that stops absurd reserves.
  if (count > (data.size() - kRowBatchHeaderSize) / 2) {
    return absl::DataLossError(absl::StrCat("corrupt row batch, header: row count ", count,
                                            " exceeds what ", data.size() - kRowBatchHeaderSize,
                                            " bytes can hold at byte offset 2"));
  }
  return std::make_pair(flags, count);
}

}  // namespace

void EncodeRowBatch(const RowBatch& batch, std::string* out) {
  EncodeRowBatch(batch.rows(), batch.timestamps(), out);
}

absl::Status DecodeRowBatch(std::string_view data, RowBatch* batch) {
  absl::StatusOr<std::pair<uint8_t, uint32_t>> header = ReadHeader(data);
  if (!header.ok()) return header.status();
  const bool with_timestamps = (header->first & 1) != 0;
  const uint32_t count = header->second;
  batch->reserve(batch->size() + count);
  Reader r(data, kRowBatchHeaderSize);
  RowErrorContext ctx;
  for (uint32_t i = 0; i < count; ++i) {
    int64_t ts = kNoRowTimestamp;
    if (with_timestamps && !r.SignedVarint(&ts, "row timestamp")) {
      ctx.field = -1;
      return RowError(r, absl::StrCat("row batch: row ", i), ctx);
    }
    Row row;
    if (!ReadRow(r, &row, &ctx)) return RowError(r, absl::StrCat("row batch: row ", i), ctx);
    batch->Append(std::move(row), ts);
  }
  if (!r.at_end()) {
    return absl::DataLossError(absl::StrCat("corrupt row batch: ", r.left(),
                                            " trailing bytes after ", count, " rows",
                                            " at byte offset ", r.offset()));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> RowBatchCount(std::string_view data) {
  absl::StatusOr<std::pair<uint8_t, uint32_t>> header = ReadHeader(data);
  if (!header.ok()) return header.status();
  return header->second;
}

absl::Status DecodeRowBatch(std::string_view data, std::vector<Row>* rows,
                            std::vector<int64_t>* timestamps) {
  absl::StatusOr<std::pair<uint8_t, uint32_t>> header = ReadHeader(data);
  if (!header.ok()) return header.status();
  const bool with_timestamps = (header->first & 1) != 0;
  const uint32_t count = header->second;
  const size_t base = rows->size();
  rows->resize(base + count);
  if (timestamps != nullptr) timestamps->reserve(timestamps->size() + count);
  Reader r(data, kRowBatchHeaderSize);
  RowErrorContext ctx;
  for (uint32_t i = 0; i < count; ++i) {
    int64_t ts = kNoRowTimestamp;
    if (with_timestamps && !r.SignedVarint(&ts, "row timestamp")) {
      ctx.field = -1;
      rows->resize(base + i);
      return RowError(r, absl::StrCat("row batch: row ", i), ctx);
    }
    if (!ReadRow(r, &(*rows)[base + i], &ctx)) {
      rows->resize(base + i);
      return RowError(r, absl::StrCat("row batch: row ", i), ctx);
    }
    if (timestamps != nullptr) timestamps->push_back(ts);
  }
  if (!r.at_end()) {
    return absl::DataLossError(absl::StrCat("corrupt row batch: ", r.left(),
                                            " trailing bytes after ", count, " rows",
                                            " at byte offset ", r.offset()));
  }
  return absl::OkStatus();
}

}  // namespace cdcflow::record
