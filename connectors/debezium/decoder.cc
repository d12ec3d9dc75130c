#include "connectors/debezium/decoder.h"

#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "connectors/debezium/str_util.h"
#include "connectors/debezium/logical_types.h"
#include "simdjson.h"

namespace cdcflow::debezium {
namespace {

namespace od = simdjson::ondemand;

// PostgreSQL's numeric has at most 16383 digits after the point (and scales down
// to -1000); a larger scale can only be corrupt input, and printing it would
// allocate without bound.
constexpr int64_t kMaxDecimalScale = 16383;

std::string_view JsonTypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array: return "array";
    case od::json_type::object: return "object";
    case od::json_type::number: return "number";
    case od::json_type::string: return "string";
    case od::json_type::boolean: return "boolean";
    case od::json_type::null: return "null";
  }
  return "unknown";
}

// "after" + "price" -> "after.price"
std::string Path(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  if (name.empty()) return std::string(prefix);
  return internal::Cat(prefix, ".", name);
}

absl::Status Error(std::string_view prefix, std::string_view name, std::string_view what) {
  return absl::InvalidArgumentError(internal::Cat(Path(prefix, name), ": ", what));
}

absl::Status JsonError(std::string_view prefix, std::string_view name, simdjson::error_code err) {
  return Error(prefix, name, internal::Cat("invalid JSON (", simdjson::error_message(err), ")"));
}

absl::Status TypeError(std::string_view prefix, std::string_view name, std::string_view expected,
                       od::json_type got) {
  return Error(prefix, name, internal::Cat("expected ", expected, ", got ", JsonTypeName(got)));
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// True when the JSON text is an object whose first key is exactly `key`
// (an unescaped prefix test, enough to tell a JsonConverter schemas-on envelope).
bool FirstKeyIs(std::string_view s, std::string_view key) {
  size_t i = 0;
  auto skip = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  };
  skip();
  if (i >= s.size() || s[i] != '{') return false;
  ++i;
  skip();
  if (i >= s.size() || s[i] != '"') return false;
  ++i;
  return s.size() - i > key.size() && s.substr(i, key.size()) == key && s[i + key.size()] == '"';
}

// The JSON text of an array or object value (consumes it).
simdjson::error_code RawJson(od::value& v, od::json_type t, std::string_view* out) {
  if (t == od::json_type::array) {
    od::array a;
    if (auto e = v.get_array().get(a); e) return e;
    return a.raw_json().get(*out);
  }
  od::object o;
  if (auto e = v.get_object().get(o); e) return e;
  return o.raw_json().get(*out);
}

// The first '"' or '\\' at or after `p`, eight bytes at a time. Only called on
// the text of a string that stage 1 has seen closed, inside a buffer with
// simdjson's padding, so the 8-byte reads stay in bounds.
inline const char* FindQuoteOrBackslash(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  for (;;) {
    uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    const uint64_t q = w ^ (kOnes * '"');
    const uint64_t b = w ^ (kOnes * '\\');
    // High bit set in each byte that is zero (exact up to the first match, which
    // is all that the lowest set bit needs; little-endian).
    const uint64_t m = ((q - kOnes) & ~q & kHighs) | ((b - kOnes) & ~b & kHighs);
    if (m != 0) return p + (__builtin_ctzll(m) >> 3);
    p += sizeof(w);
  }
}

// The field's key without copying when it has no escape sequence (every key
// Debezium writes); otherwise unescaped into the parser's string buffer. Stage 1
// has already checked that every string is closed, so the scan stops in bounds.
inline __attribute__((always_inline)) simdjson::error_code FieldKey(od::field& f, std::string_view* out) {
  // Not f.key(): it assumes a key was found, and on some malformed input (a fuzzer's)
  // simdjson hands out a field without one.
  const char* start = f.first.raw();
  if (start == nullptr) return simdjson::TAPE_ERROR;
  const char* p = FindQuoteOrBackslash(start);
  if (*p == '"') {
    *out = std::string_view(start, static_cast<size_t>(p - start));
    return simdjson::SUCCESS;
  }
  return f.unescaped_key().get(*out);
}

// True when the field's raw key is exactly `name` (no escapes), comparing
// inline: column names are short, and this runs for every column of every row.
// It reads name.size() + 1 bytes from the key's start, which lies inside the
// document, so a name shorter than the padding never reads past the buffer; a
// longer one is compared after finding the key's end.
inline __attribute__((always_inline)) bool KeyIs(od::field& f, std::string_view name) {
  if (name.size() >= simdjson::SIMDJSON_PADDING) {
    std::string_view key;
    return FieldKey(f, &key) == simdjson::SUCCESS && key == name;
  }
  const char* k = f.first.raw();
  if (k == nullptr) return false;  // malformed input; FieldKey reports it
  const char* n = name.data();
  size_t len = name.size();
  while (len >= 8) {
    uint64_t a, b;
    std::memcpy(&a, k, 8);
    std::memcpy(&b, n, 8);
    if (a != b) return false;
    k += 8;
    n += 8;
    len -= 8;
  }
  for (; len > 0; --len) {
    if (*k++ != *n++) return false;
  }
  return *k == '"';
}

// A string value's text, consuming the value: a view of the input buffer when it
// has no escape sequence (nearly every value), else simdjson's unescaped copy.
// INCORRECT_TYPE (value not consumed) when it is not a string. The view is valid
// until the next parse.
inline __attribute__((always_inline)) simdjson::error_code GetString(od::value& v, std::string_view* out) {
  const std::string_view tok = v.raw_json_token();
  if (!tok.empty() && tok.front() == '"') {
    const char* start = tok.data() + 1;
    const char* p = FindQuoteOrBackslash(start);
    if (*p == '"') {
      od::raw_json_string raw;
      if (auto e = v.get_raw_json_string().get(raw); e) return e;
      *out = std::string_view(start, static_cast<size_t>(p - start));
      return simdjson::SUCCESS;
    }
  }
  return v.get_string().get(*out);
}

bool IsNullText(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  // Look at the end (often another cache line) only for what may be `null`.
  if (s.size() < 4 || s.front() != 'n') return false;
  return TrimRight(s) == "null";
}

// Per-topic schema state. RowSchemas live behind unique_ptrs so that the
// pointers handed out in Event stay valid until the schema is replaced.
struct TopicState {
  // schemas-on: the last schema text seen and its parse. Also the topic's learned
  // schema for schemas-off messages.
  std::string value_schema_text;
  std::unique_ptr<RowSchema> value_on;
  std::string key_schema_text;
  std::unique_ptr<RowSchema> key_on;
  // supplied by the job
  std::unique_ptr<RowSchema> value_supplied;
  std::unique_ptr<RowSchema> key_supplied;
  // inferred from JSON when nothing else is known (grow as fields appear)
  std::unique_ptr<RowSchema> value_inferred;
  std::unique_ptr<RowSchema> key_inferred;

  const RowSchema* ValueSchemaOff() const {
    if (value_supplied) return value_supplied.get();
    return value_on.get();
  }
  const RowSchema* KeySchemaOff() const {
    if (key_supplied) return key_supplied.get();
    return key_on.get();
  }
};

}  // namespace

void SourceInfo::Clear() {
  version.clear();
  connector.clear();
  name.clear();
  db.clear();
  schema.clear();
  table.clear();
  snapshot.clear();
  ts_ms.reset();
  ts_us.reset();
  ts_ns.reset();
  lsn.reset();
  tx_id.reset();
  xmin.reset();
  sequence.clear();
  change_lsn.clear();
  commit_lsn.clear();
  event_serial_no.reset();
}

std::string Event::SourceTableName() const {
  if (source.schema.empty()) return internal::Cat(source.name, ".", source.table);
  return internal::Cat(source.name, ".", source.schema, ".", source.table);
}

namespace {

void AppendU64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

// A SQL Server LSN "0000002b:00000c30:0003" as its 10 bytes; empty: zeros.
absl::Status AppendSqlServerLsn(std::string_view text, std::string_view name, std::string* out) {
  if (text.empty()) {
    out->append(10, '\0');
    return absl::OkStatus();
  }
  std::string hex;
  for (char c : text) {
    if (c != ':') hex.push_back(c);
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() != 20) {
    return absl::InvalidArgumentError(
        internal::Cat("source.", name, ": expected an LSN like 0000002b:00000c30:0003, got '", text, "'"));
  }
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          internal::Cat("source.", name, ": not a hexadecimal LSN: '", text, "'"));
    }
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> EncodeSourcePosition(const SourceInfo& source) {
  std::string out;
  const bool snapshot_read = !source.snapshot.empty() && source.snapshot != "false" &&
                             source.snapshot != "incremental";
  out.push_back(snapshot_read ? 0 : 1);
  if (!source.commit_lsn.empty()) {
    out.push_back('s');
    if (auto s = AppendSqlServerLsn(source.commit_lsn, "commit_lsn", &out); !s.ok()) return s;
    if (auto s = AppendSqlServerLsn(source.change_lsn, "change_lsn", &out); !s.ok()) return s;
    AppendU64(static_cast<uint64_t>(source.event_serial_no.value_or(0)), &out);
    return out;
  }
  if (source.lsn.has_value()) {
    out.push_back('p');
    AppendU64(static_cast<uint64_t>(*source.lsn), &out);
    return out;
  }
  return absl::InvalidArgumentError(
      "source: no position for append_source_position (neither lsn nor commit_lsn)");
}

struct Decoder::Impl {
  explicit Impl(DecoderOptions o) : options(std::move(o)) {}

  DecoderOptions options;
  od::parser parser;
  std::string buf;  // the message bytes plus simdjson's padding
  absl::flat_hash_map<std::string, std::unique_ptr<TopicState>> topics;
  std::string last_topic;
  TopicState* last_state = nullptr;
  std::string scratch;
  std::vector<uint8_t> seen;
  Row before;
  Row after;
  Row key_row;
  bool tombstone = false;
  // Field vectors of rows handed out by the previous Decode, reused so that a
  // steady stream does not allocate row storage per event.
  std::vector<std::vector<Value>> spare;

  void Recycle(Event* out) {
    for (Row& r : out->rows) {
      if (r.fields.capacity() != 0) spare.push_back(std::move(r.fields));
    }
    out->rows.clear();
  }
  void Prepare(Row* row) {
    if (row->fields.capacity() == 0 && !spare.empty()) {
      row->fields = std::move(spare.back());
      spare.pop_back();
    }
  }
  bool has_before = false;
  bool has_after = false;
  char op = 0;
  uint64_t known_schema_skips = 0;

  TopicState* State(std::string_view topic) {
    if (last_state != nullptr && topic == last_topic) return last_state;
    auto& slot = topics[absl::string_view(topic.data(), topic.size())];
    if (!slot) slot = std::make_unique<TopicState>();
    last_topic.assign(topic);
    last_state = slot.get();
    return last_state;
  }

  simdjson::simdjson_result<od::document> Iterate(std::string_view bytes) {
    return IterateAfter("", bytes);
  }
  // Iterates over `head` followed by `bytes` (copied into the padded buffer).
  simdjson::simdjson_result<od::document> IterateAfter(std::string_view head,
                                                       std::string_view bytes) {
    const size_t n = head.size() + bytes.size();
    buf.resize(n + simdjson::SIMDJSON_PADDING);
    std::memcpy(buf.data(), head.data(), head.size());
    std::memcpy(buf.data() + head.size(), bytes.data(), bytes.size());
    std::memset(buf.data() + n, 0, simdjson::SIMDJSON_PADDING);
    return parser.iterate(buf.data(), n, buf.size());
  }
  // A schemas-on message of the JSON converter's compact form whose schema is, byte for
  // byte, the one the topic's last message had (Debezium writes the same schema text
  // with every message: ~3/4 of each message) is iterated without it: only
  // `{"payload":...}` is indexed and walked, and *known is that schema's parse. Any
  // other message is iterated whole (*known null).
  simdjson::simdjson_result<od::document> IterateSkippingKnownSchema(std::string_view message,
                                                                     bool is_key,
                                                                     const TopicState& st,
                                                                     RowSchema** known) {
    constexpr std::string_view kHead = "{\"schema\":";
    constexpr std::string_view kNext = ",\"payload\":";
    const std::string& schema_text = is_key ? st.key_schema_text : st.value_schema_text;
    const std::unique_ptr<RowSchema>& schema = is_key ? st.key_on : st.value_on;
    *known = nullptr;
    if (schema != nullptr && message.size() > kHead.size() + schema_text.size() + kNext.size() &&
        message.substr(0, kHead.size()) == kHead &&
        message.substr(kHead.size(), schema_text.size()) == schema_text &&
        message.substr(kHead.size() + schema_text.size(), kNext.size()) == kNext) {
      *known = schema.get();
      ++known_schema_skips;
      // `{` + `"payload":...}`: the comma after the schema is dropped.
      return IterateAfter("{", message.substr(kHead.size() + schema_text.size() + 1));
    }
    return Iterate(message);
  }

  bool IsPlaceholder(std::string_view s) const {
    return s.size() == options.unavailable_value_placeholder.size() &&
           s == options.unavailable_value_placeholder;
  }

  absl::Status DecodeInt64(od::value& v, std::string_view prefix, std::string_view name,
                           std::string_view what, int64_t* out) {
    auto r = v.get_int64();
    if (r.error() == simdjson::SUCCESS) {
      *out = r.value_unsafe();
      return absl::OkStatus();
    }
    od::json_type t;
    if (v.type().get(t) != simdjson::SUCCESS) return JsonError(prefix, name, r.error());
    if (t == od::json_type::number) {
      return Error(prefix, name, internal::Cat("expected integer for ", what, ", got ",
                                              TrimRight(v.raw_json_token())));
    }
    return TypeError(prefix, name, internal::Cat("integer for ", what), t);
  }

  absl::Status DecodeString(od::value& v, std::string_view prefix, std::string_view name,
                            std::string_view what, std::string_view* out) {
    const simdjson::error_code err = GetString(v, out);
    if (err == simdjson::SUCCESS) return absl::OkStatus();
    od::json_type t;
    if (err != simdjson::INCORRECT_TYPE || v.type().get(t) != simdjson::SUCCESS ||
        t == od::json_type::string) {
      return JsonError(prefix, name, err);
    }
    return TypeError(prefix, name, what, t);
  }

  absl::Status DecodeAny(od::value& v, od::json_type t, std::string_view prefix,
                         std::string_view name, Value* out) {
    switch (t) {
      case od::json_type::null:
        *out = Value();
        return absl::OkStatus();
      case od::json_type::boolean: {
        bool b;
        if (auto e = v.get_bool().get(b); e) return JsonError(prefix, name, e);
        *out = Value::Bool(b);
        return absl::OkStatus();
      }
      case od::json_type::string: {
        std::string_view s;
        if (auto e = GetString(v, &s); e) return JsonError(prefix, name, e);
        if (IsPlaceholder(s)) {
          *out = Value::UnavailableMarker();
        } else {
          out->SetString(s);
        }
        return absl::OkStatus();
      }
      case od::json_type::number: {
        od::number_type nt;
        if (auto e = v.get_number_type().get(nt); e) return JsonError(prefix, name, e);
        if (nt == od::number_type::signed_integer) {
          int64_t i;
          if (auto e = v.get_int64().get(i); e) return JsonError(prefix, name, e);
          *out = Value::Int64(i);
        } else if (nt == od::number_type::unsigned_integer) {
          // Past int64: keep it exact as a Decimal rather than rounding to double.
          std::string_view token = TrimRight(v.raw_json_token());
          auto d = Decimal::Parse(token);
          if (!d.ok()) return Error(prefix, name, internal::Sv(d.status().message()));
          *out = Value::Dec(*std::move(d));
        } else {
          double d;
          if (auto e = v.get_double().get(d); e) return JsonError(prefix, name, e);
          *out = Value::Float64(d);
        }
        return absl::OkStatus();
      }
      case od::json_type::array:
      case od::json_type::object: {
        std::string_view raw;
        if (auto e = RawJson(v, t, &raw); e) return JsonError(prefix, name, e);
        out->SetJson(TrimRight(raw));
        return absl::OkStatus();
      }
    }
    return Error(prefix, name, "unknown JSON type");
  }

  absl::Status DecodeBase64(od::value& v, od::json_type t, std::string_view prefix,
                            std::string_view name, std::string_view what, std::string* out) {
    if (t != od::json_type::string) {
      return TypeError(prefix, name, internal::Cat("base64 string for ", what), t);
    }
    std::string_view s;
    if (auto e = GetString(v, &s); e) return JsonError(prefix, name, e);
    if (!Base64Decode(s, out)) {
      return Error(prefix, name, internal::Cat("invalid base64 for ", what, ": '", s.substr(0, 64), "'"));
    }
    return absl::OkStatus();
  }

  absl::Status DecodeVariableScaleDecimal(od::value& v, od::json_type t, std::string_view prefix,
                                          std::string_view name, Value* out) {
    if (t != od::json_type::object) {
      return TypeError(prefix, name, "object {scale, value} for VariableScaleDecimal", t);
    }
    od::object obj;
    if (auto e = v.get_object().get(obj); e) return JsonError(prefix, name, e);
    bool has_scale = false, has_value = false;
    int64_t scale = 0;
    std::string path = Path(prefix, name);
    for (auto field : obj) {
      std::string_view key;
      if (auto e = field.unescaped_key().get(key); e) return JsonError(prefix, name, e);
      od::value fv = field.value();
      if (key == "scale") {
        if (auto s = DecodeInt64(fv, path, "scale", "VariableScaleDecimal scale", &scale); !s.ok()) {
          return s;
        }
        if (scale < -kMaxDecimalScale || scale > kMaxDecimalScale) {
          return Error(path, "scale", internal::Cat("out of range: ", scale));
        }
        has_scale = true;
      } else if (key == "value") {
        od::json_type vt;
        if (auto e = fv.type().get(vt); e) return JsonError(path, "value", e);
        if (auto s = DecodeBase64(fv, vt, path, "value", "VariableScaleDecimal", &scratch); !s.ok()) {
          return s;
        }
        has_value = true;
      } else {
        return Error(path, key, "unexpected field in VariableScaleDecimal");
      }
    }
    if (!has_scale || !has_value) {
      return Error(prefix, name, internal::Cat("VariableScaleDecimal without '",
                                              has_scale ? "value" : "scale", "'"));
    }
    if (scratch.empty()) return Error(path, "value", "empty unscaled bytes");
    *out = Value::Dec(Decimal::FromTwosComplement(scratch, static_cast<int32_t>(scale)));
    return absl::OkStatus();
  }

  absl::Status DecodeTime(od::value& v, std::string_view prefix, std::string_view name,
                          const ConnectField& f, int64_t nanos_per_unit, Value* out) {
    int64_t units;
    if (auto s = DecodeInt64(v, prefix, name, FieldKindName(f.kind), &units); !s.ok()) return s;
    constexpr int64_t kDayNanos = 86'400'000'000'000;
    // 24:00:00 is a valid PostgreSQL time, so the end of the day is allowed.
    if (units < 0 || units > kDayNanos / nanos_per_unit) {
      return Error(prefix, name, internal::Cat(FieldKindName(f.kind), " out of range: ", units));
    }
    *out = Value::TimeOf(Time{units * nanos_per_unit});
    return absl::OkStatus();
  }

  // The common kinds read the value straight away and look at its JSON type only
  // when that fails (a null, or an error that DecodeTypedSlow words); a failed
  // typed read does not consume the value.
  absl::Status DecodeTyped(od::value& v, const ConnectField& f, std::string_view prefix,
                           Value* out) {
    switch (f.kind) {
      case FieldKind::kInt64: {
        int64_t i;
        if (v.get_int64().get(i) != simdjson::SUCCESS) break;
        *out = Value::Int64(i);
        return absl::OkStatus();
      }
      case FieldKind::kInt32: {
        int64_t i;
        if (v.get_int64().get(i) != simdjson::SUCCESS) break;
        if (i < std::numeric_limits<int32_t>::min() || i > std::numeric_limits<int32_t>::max()) {
          return Error(prefix, f.name, internal::Cat("int32 out of range: ", i));
        }
        *out = Value::Int32(static_cast<int32_t>(i));
        return absl::OkStatus();
      }
      case FieldKind::kBool: {
        bool b;
        if (v.get_bool().get(b) != simdjson::SUCCESS) break;
        *out = Value::Bool(b);
        return absl::OkStatus();
      }
      case FieldKind::kDate: {
        int64_t days;
        if (v.get_int64().get(days) != simdjson::SUCCESS) break;
        if (days < std::numeric_limits<int32_t>::min() || days > std::numeric_limits<int32_t>::max()) {
          return Error(prefix, f.name, internal::Cat("Date out of range: ", days));
        }
        *out = Value::DateOf(Date{static_cast<int32_t>(days)});
        return absl::OkStatus();
      }
      case FieldKind::kTimestampMillis:
      case FieldKind::kTimestampMicros:
      case FieldKind::kTimestampNanos: {
        int64_t units;
        if (v.get_int64().get(units) != simdjson::SUCCESS) break;
        int64_t per_second = f.kind == FieldKind::kTimestampMillis   ? 1'000
                             : f.kind == FieldKind::kTimestampMicros ? 1'000'000
                                                                      : 1'000'000'000;
        *out = Value::TimestampOf(TimestampFromUnits(units, per_second));
        return absl::OkStatus();
      }
      case FieldKind::kString: {
        std::string_view s;
        const simdjson::error_code e = GetString(v, &s);
        if (e == simdjson::INCORRECT_TYPE) break;
        if (e != simdjson::SUCCESS) return JsonError(prefix, f.name, e);
        if (IsPlaceholder(s)) {
          *out = Value::UnavailableMarker();
        } else {
          out->SetString(s);
        }
        return absl::OkStatus();
      }
      default:
        break;
    }
    return DecodeTypedSlow(v, f, prefix, out);
  }

  absl::Status DecodeTypedSlow(od::value& v, const ConnectField& f, std::string_view prefix,
                               Value* out) {
    const std::string_view name = f.name;
    od::json_type t;
    if (auto e = v.type().get(t); e) return JsonError(prefix, name, e);
    if (t == od::json_type::null) {
      *out = Value();
      return absl::OkStatus();
    }
    switch (f.kind) {
      case FieldKind::kAny:
        return DecodeAny(v, t, prefix, name, out);
      case FieldKind::kBool: {
        if (t != od::json_type::boolean) return TypeError(prefix, name, "boolean", t);
        bool b;
        if (auto e = v.get_bool().get(b); e) return JsonError(prefix, name, e);
        *out = Value::Bool(b);
        return absl::OkStatus();
      }
      case FieldKind::kInt32: {
        int64_t i;
        if (auto s = DecodeInt64(v, prefix, name, "int32", &i); !s.ok()) return s;
        if (i < std::numeric_limits<int32_t>::min() || i > std::numeric_limits<int32_t>::max()) {
          return Error(prefix, name, internal::Cat("int32 out of range: ", i));
        }
        *out = Value::Int32(static_cast<int32_t>(i));
        return absl::OkStatus();
      }
      case FieldKind::kInt64: {
        int64_t i;
        if (auto s = DecodeInt64(v, prefix, name, "int64", &i); !s.ok()) return s;
        *out = Value::Int64(i);
        return absl::OkStatus();
      }
      case FieldKind::kFloat64: {
        if (t != od::json_type::number) return TypeError(prefix, name, "number", t);
        double d;
        if (auto e = v.get_double().get(d); e) return JsonError(prefix, name, e);
        *out = Value::Float64(d);
        return absl::OkStatus();
      }
      case FieldKind::kString: {
        if (t != od::json_type::string) return TypeError(prefix, name, "string", t);
        std::string_view s;
        if (auto e = GetString(v, &s); e) return JsonError(prefix, name, e);
        if (IsPlaceholder(s)) {
          *out = Value::UnavailableMarker();
        } else {
          out->SetString(s);
        }
        return absl::OkStatus();
      }
      case FieldKind::kBytes: {
        std::string bytes;
        if (auto s = DecodeBase64(v, t, prefix, name, "bytes", &bytes); !s.ok()) return s;
        *out = IsPlaceholder(bytes) ? Value::UnavailableMarker() : Value::Bin(std::move(bytes));
        return absl::OkStatus();
      }
      case FieldKind::kDecimal: {
        if (auto s = DecodeBase64(v, t, prefix, name, "Decimal", &scratch); !s.ok()) return s;
        if (scratch.empty()) return Error(prefix, name, "empty Decimal bytes");
        *out = Value::Dec(Decimal::FromTwosComplement(scratch, f.scale));
        return absl::OkStatus();
      }
      case FieldKind::kDecimalString: {
        if (t != od::json_type::string) return TypeError(prefix, name, "decimal string", t);
        std::string_view s;
        if (auto e = GetString(v, &s); e) return JsonError(prefix, name, e);
        auto d = Decimal::Parse(s);
        if (!d.ok()) return Error(prefix, name, internal::Sv(d.status().message()));
        *out = Value::Dec(*std::move(d));
        return absl::OkStatus();
      }
      case FieldKind::kVariableScaleDecimal:
        return DecodeVariableScaleDecimal(v, t, prefix, name, out);
      case FieldKind::kDate: {
        int64_t days;
        if (auto s = DecodeInt64(v, prefix, name, "Date", &days); !s.ok()) return s;
        if (days < std::numeric_limits<int32_t>::min() || days > std::numeric_limits<int32_t>::max()) {
          return Error(prefix, name, internal::Cat("Date out of range: ", days));
        }
        *out = Value::DateOf(Date{static_cast<int32_t>(days)});
        return absl::OkStatus();
      }
      case FieldKind::kTimeMillis:
        return DecodeTime(v, prefix, name, f, 1'000'000, out);
      case FieldKind::kTimeMicros:
        return DecodeTime(v, prefix, name, f, 1'000, out);
      case FieldKind::kTimeNanos:
        return DecodeTime(v, prefix, name, f, 1, out);
      case FieldKind::kTimestampMillis:
      case FieldKind::kTimestampMicros:
      case FieldKind::kTimestampNanos: {
        int64_t units;
        if (auto s = DecodeInt64(v, prefix, name, FieldKindName(f.kind), &units); !s.ok()) return s;
        int64_t per_second = f.kind == FieldKind::kTimestampMillis   ? 1'000
                             : f.kind == FieldKind::kTimestampMicros ? 1'000'000
                                                                      : 1'000'000'000;
        *out = Value::TimestampOf(TimestampFromUnits(units, per_second));
        return absl::OkStatus();
      }
      case FieldKind::kZonedTimestamp:
      case FieldKind::kZonedTime: {
        if (t != od::json_type::string) {
          return TypeError(prefix, name, internal::Cat("string for ", FieldKindName(f.kind)), t);
        }
        std::string_view s;
        if (auto e = GetString(v, &s); e) return JsonError(prefix, name, e);
        if (f.kind == FieldKind::kZonedTimestamp) {
          auto ts = ParseZonedTimestamp(s);
          if (!ts.ok()) return Error(prefix, name, internal::Sv(ts.status().message()));
          *out = Value::TimestampTzOf(*ts);
        } else {
          auto tt = ParseZonedTime(s);
          if (!tt.ok()) return Error(prefix, name, internal::Sv(tt.status().message()));
          *out = Value::TimeTzOf(*tt);
        }
        return absl::OkStatus();
      }
      case FieldKind::kUuid: {
        if (t != od::json_type::string) return TypeError(prefix, name, "string for Uuid", t);
        std::string_view s;
        if (auto e = GetString(v, &s); e) return JsonError(prefix, name, e);
        Uuid u;
        if (!ParseUuid(s, &u)) {
          return Error(prefix, name, internal::Cat("invalid Uuid '", s.substr(0, 64), "'"));
        }
        *out = Value::UuidOf(u);
        return absl::OkStatus();
      }
      case FieldKind::kJson: {
        if (t != od::json_type::string) return TypeError(prefix, name, "string for Json", t);
        std::string_view s;
        if (auto e = GetString(v, &s); e) return JsonError(prefix, name, e);
        if (IsPlaceholder(s)) {
          *out = Value::UnavailableMarker();
        } else {
          out->SetJson(s);
        }
        return absl::OkStatus();
      }
      case FieldKind::kRawJson: {
        std::string_view raw;
        if (t == od::json_type::array) {
          od::array arr;
          if (auto e = v.get_array().get(arr); e) return JsonError(prefix, name, e);
          if (auto e = arr.raw_json().get(raw); e) return JsonError(prefix, name, e);
        } else if (t == od::json_type::object) {
          od::object obj;
          if (auto e = v.get_object().get(obj); e) return JsonError(prefix, name, e);
          if (auto e = obj.raw_json().get(raw); e) return JsonError(prefix, name, e);
        } else {
          return TypeError(prefix, name, internal::Cat("array or object for ", f.logical_name.empty() ? "struct/array" : f.logical_name), t);
        }
        raw = TrimRight(raw);
        // An unchanged TOASTed array column arrives as ["<placeholder>"].
        if (raw.size() == options.unavailable_value_placeholder.size() + 4 && raw[0] == '[' &&
            raw[1] == '"' && IsPlaceholder(raw.substr(2, raw.size() - 4)) &&
            raw.substr(raw.size() - 2) == "\"]") {
          *out = Value::UnavailableMarker();
        } else {
          out->SetJson(raw);
        }
        return absl::OkStatus();
      }
    }
    return Error(prefix, name, "unhandled field kind");
  }

  // Decodes a row object into `row` in `schema`'s column order. A growable schema
  // (inferred) appends unknown fields; any other schema refuses them.
  absl::Status DecodeRow(od::value& v, RowSchema* schema, bool growable, std::string_view prefix,
                         Row* row, const RowSchema* hints = nullptr) {
    od::object obj;
    od::json_type t;
    if (auto e = v.type().get(t); e) return JsonError("", prefix, e);
    if (t != od::json_type::object) return TypeError("", prefix, "object", t);
    if (auto e = v.get_object().get(obj); e) return JsonError("", prefix, e);
    size_t n = schema->size();
    row->fields.resize(n);
    seen.assign(n, 0);
    size_t expected = 0;
    for (auto field : obj) {
      if (field.error()) return JsonError("", prefix, field.error());
      od::field& f = field.value_unsafe();
      int idx = -1;
      if (expected < n && KeyIs(f, schema->fields()[expected].name)) {
        idx = static_cast<int>(expected);
      } else {
        std::string_view key;
        if (auto e = FieldKey(f, &key); e) return JsonError("", prefix, e);
        idx = schema->IndexOf(key);
        if (idx < 0) {
          if (!growable) return Error(prefix, key, "field not in the topic's schema");
          int hint = hints == nullptr ? -1 : hints->IndexOf(key);
          schema->Append(hint >= 0 ? hints->fields()[hint]
                                   : ConnectField{std::string(key), FieldKind::kAny, 0, true, ""});
          row->fields.emplace_back();
          seen.push_back(0);
          idx = static_cast<int>(n++);
        }
      }
      if (seen[idx]) return Error(prefix, schema->fields()[idx].name, "duplicate field");
      seen[idx] = 1;
      if (auto s = DecodeTyped(f.value(), schema->fields()[idx], prefix, &row->fields[idx]); !s.ok()) {
        return s;
      }
      expected = idx + 1;
    }
    for (size_t i = 0; i < n; ++i) {
      if (!seen[i]) row->fields[i] = Value();
    }
    return absl::OkStatus();
  }

  absl::Status DecodeOptionalInt(od::value& v, std::string_view prefix, std::string_view name,
                                 std::optional<int64_t>* out) {
    od::json_type t;
    if (auto e = v.type().get(t); e) return JsonError(prefix, name, e);
    if (t == od::json_type::null) {
      out->reset();
      return absl::OkStatus();
    }
    int64_t i;
    if (auto s = DecodeInt64(v, prefix, name, name, &i); !s.ok()) return s;
    *out = i;
    return absl::OkStatus();
  }

  absl::Status DecodeOptionalString(od::value& v, std::string_view prefix, std::string_view name,
                                    std::string* out) {
    od::json_type t;
    if (auto e = v.type().get(t); e) return JsonError(prefix, name, e);
    if (t == od::json_type::null) {
      out->clear();
      return absl::OkStatus();
    }
    if (t == od::json_type::boolean) {  // older connectors send snapshot as a boolean
      bool b;
      if (auto e = v.get_bool().get(b); e) return JsonError(prefix, name, e);
      out->assign(b ? "true" : "false");
      return absl::OkStatus();
    }
    std::string_view s;
    if (auto st = DecodeString(v, prefix, name, "string", &s); !st.ok()) return st;
    out->assign(s);
    return absl::OkStatus();
  }

  absl::Status DecodeSource(od::value& v, SourceInfo* src) {
    src->Clear();
    od::json_type t;
    if (auto e = v.type().get(t); e) return JsonError("", "source", e);
    if (t == od::json_type::null) return absl::OkStatus();
    if (t != od::json_type::object) return TypeError("", "source", "object", t);
    od::object obj;
    if (auto e = v.get_object().get(obj); e) return JsonError("", "source", e);
    // The PostgreSQL connector's field order; a field in this order is matched
    // with one inline key comparison, anything else by name.
    struct Slot {
      std::string_view key;
      std::string SourceInfo::*text;
      std::optional<int64_t> SourceInfo::*number;
    };
    static constexpr Slot kOrder[] = {
        {"version", &SourceInfo::version, nullptr},
        {"connector", &SourceInfo::connector, nullptr},
        {"name", &SourceInfo::name, nullptr},
        {"ts_ms", nullptr, &SourceInfo::ts_ms},
        {"snapshot", &SourceInfo::snapshot, nullptr},
        {"db", &SourceInfo::db, nullptr},
        {"sequence", &SourceInfo::sequence, nullptr},
        {"ts_us", nullptr, &SourceInfo::ts_us},
        {"ts_ns", nullptr, &SourceInfo::ts_ns},
        {"schema", &SourceInfo::schema, nullptr},
        {"table", &SourceInfo::table, nullptr},
        {"txId", nullptr, &SourceInfo::tx_id},
        {"lsn", nullptr, &SourceInfo::lsn},
        {"xmin", nullptr, &SourceInfo::xmin},
    };
    constexpr size_t kSlots = sizeof(kOrder) / sizeof(kOrder[0]);
    size_t next = 0;
    for (auto field : obj) {
      if (field.error()) return JsonError("", "source", field.error());
      od::field& f = field.value_unsafe();
      std::string* text = nullptr;
      std::optional<int64_t>* number = nullptr;
      std::string_view key;
      // Debezium 2.5 has ts_us/ts_ns, older versions not: try the slot after too.
      size_t hit = kSlots;
      for (size_t i = next; i < kSlots && i < next + 3; ++i) {
        if (KeyIs(f, kOrder[i].key)) {
          hit = i;
          break;
        }
      }
      if (hit < kSlots) {
        key = kOrder[hit].key;
        if (kOrder[hit].text != nullptr) text = &(src->*kOrder[hit].text);
        else number = &(src->*kOrder[hit].number);
        next = hit + 1;
      } else {
        if (auto e = FieldKey(f, &key); e) return JsonError("", "source", e);
        // Dispatch on length first. Fields not named here are skipped by the iterator.
        switch (key.size()) {
          case 2:
            if (key == "db") text = &src->db;
            break;
          case 3:
            if (key == "lsn") number = &src->lsn;
            break;
          case 4:
            if (key == "name") text = &src->name;
            else if (key == "txId") number = &src->tx_id;
            else if (key == "xmin") number = &src->xmin;
            break;
          case 5:
            if (key == "table") text = &src->table;
            else if (key == "ts_ms") number = &src->ts_ms;
            else if (key == "ts_us") number = &src->ts_us;
            else if (key == "ts_ns") number = &src->ts_ns;
            break;
          case 6:
            if (key == "schema") text = &src->schema;
            break;
          case 7:
            if (key == "version") text = &src->version;
            break;
          case 8:
            if (key == "snapshot") text = &src->snapshot;
            else if (key == "sequence") text = &src->sequence;
            break;
          case 9:
            if (key == "connector") text = &src->connector;
            break;
          case 10:
            if (key == "change_lsn") text = &src->change_lsn;
            else if (key == "commit_lsn") text = &src->commit_lsn;
            break;
          case 15:
            if (key == "event_serial_no") number = &src->event_serial_no;
            break;
          default:
            break;
        }
      }
      od::value& fv = f.value();
      if (text != nullptr) {
        std::string_view sv;
        if (GetString(fv, &sv) == simdjson::SUCCESS) {
          text->assign(sv);
          continue;
        }
        if (auto s = DecodeOptionalString(fv, "source", key, text); !s.ok()) return s;
      } else if (number != nullptr) {
        int64_t i;
        if (fv.get_int64().get(i) == simdjson::SUCCESS) {
          *number = i;
          continue;
        }
        if (auto s = DecodeOptionalInt(fv, "source", key, number); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status DecodeMessage(od::value& v, Event* out) {
    od::json_type t;
    if (auto e = v.type().get(t); e) return JsonError("", "message", e);
    if (t == od::json_type::null) return absl::OkStatus();
    if (t != od::json_type::object) return TypeError("", "message", "object", t);
    od::object obj;
    if (auto e = v.get_object().get(obj); e) return JsonError("", "message", e);
    for (auto field : obj) {
      std::string_view key;
      if (auto e = field.unescaped_key().get(key); e) return JsonError("", "message", e);
      od::value fv = field.value();
      if (key == "prefix") {
        if (auto s = DecodeOptionalString(fv, "message", key, &out->message_prefix); !s.ok()) return s;
      } else if (key == "content") {
        od::json_type ct;
        if (auto e = fv.type().get(ct); e) return JsonError("message", key, e);
        if (ct == od::json_type::null) continue;
        if (auto s = DecodeBase64(fv, ct, "message", key, "bytes", &out->message_content); !s.ok()) {
          return s;
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status DecodeTransaction(od::value& v, Event* out) {
    od::json_type t;
    if (auto e = v.type().get(t); e) return JsonError("", "transaction", e);
    if (t == od::json_type::null) return absl::OkStatus();
    if (t != od::json_type::object) return TypeError("", "transaction", "object", t);
    od::object obj;
    if (auto e = v.get_object().get(obj); e) return JsonError("", "transaction", e);
    for (auto field : obj) {
      std::string_view key;
      if (auto e = field.unescaped_key().get(key); e) return JsonError("", "transaction", e);
      if (key == "id") {
        if (auto s = DecodeOptionalString(field.value_unsafe().value(), "transaction", key, &out->transaction_id);
            !s.ok()) {
          return s;
        }
      }
    }
    return absl::OkStatus();
  }

  // One field of the envelope (`payload` when schemas are on).
  absl::Status DecodeEnvelopeField(std::string_view key, od::value& v, RowSchema* schema,
                                   bool growable, Event* out) {
    if (key == "after" || key == "before") {
      bool is_after = key == "after";
      od::json_type t;
      if (auto e = v.type().get(t); e) return JsonError("", key, e);
      if (t == od::json_type::null) return absl::OkStatus();
      if (schema == nullptr) return Error("", key, "no schema for the row");
      (is_after ? has_after : has_before) = true;
      Row* row = is_after ? &after : &before;
      Prepare(row);
      return DecodeRow(v, schema, growable, key, row);
    }
    if (key == "op") {
      std::string_view s;
      if (auto st = DecodeString(v, "", "op", "string", &s); !st.ok()) return st;
      if (s.size() != 1 || std::strchr("crudtm", s[0]) == nullptr) {
        return Error("", "op", internal::Cat("unknown operation '", s.substr(0, 16), "'"));
      }
      op = s[0];
      return absl::OkStatus();
    }
    if (key == "source") return DecodeSource(v, &out->source);
    if (key == "ts_ms") return DecodeOptionalInt(v, "", "ts_ms", &out->ts_ms);
    if (key == "transaction") return DecodeTransaction(v, out);
    if (key == "message") return DecodeMessage(v, out);
    return absl::OkStatus();  // ts_us, ts_ns and fields of later Debezium versions
  }

  absl::StatusOr<RowSchema*> SchemaFromText(std::string_view text, bool is_key, TopicState* st) {
    std::string& cached_text = is_key ? st->key_schema_text : st->value_schema_text;
    std::unique_ptr<RowSchema>& cached = is_key ? st->key_on : st->value_on;
    if (cached && cached_text == text) return cached.get();
    auto parsed = is_key ? ParseKeySchema(text) : ParseRowSchema(text);
    if (!parsed.ok()) return parsed.status();
    cached = std::make_unique<RowSchema>(*std::move(parsed));
    cached_text.assign(text);
    if (!is_key) st->key_inferred.reset();  // key column types may now be known
    return cached.get();
  }

  absl::Status DecodeKey(std::string_view key, TopicState* st, Event* out) {
    out->key.clear();
    out->key_schema = nullptr;
    if (key.empty() || IsNullText(key)) return absl::OkStatus();
    const bool on = options.key_schemas == SchemasMode::kOn ||
                    (options.key_schemas == SchemasMode::kAuto && FirstKeyIs(key, "schema"));
    od::document doc;
    RowSchema* schema = nullptr;  // a known schema the iteration skipped
    if (auto e = (on ? IterateSkippingKnownSchema(key, /*is_key=*/true, *st, &schema)
                     : Iterate(key))
                     .get(doc);
        e) {
      return JsonError("", "key", e);
    }
    od::json_type t;
    if (auto e = doc.type().get(t); e) return JsonError("", "key", e);
    if (t != od::json_type::object) return TypeError("", "key", "object", t);
    if (!on) {
      od::value root;
      if (auto e = doc.get_value().get(root); e) return JsonError("", "key", e);
      RowSchema* off = const_cast<RowSchema*>(st->KeySchemaOff());
      bool growable = false;
      if (off == nullptr) {
        if (!st->key_inferred) st->key_inferred = std::make_unique<RowSchema>();
        off = st->key_inferred.get();
        growable = true;
      }
      // New inferred key columns take the type of the value column of that name.
      if (auto s = DecodeRow(root, off, growable, "key", &key_row, st->ValueSchemaOff()); !s.ok()) {
        return s;
      }
      std::swap(out->key, key_row.fields);
      out->key_schema = off;
      return absl::OkStatus();
    }
    od::object obj;
    if (auto e = doc.get_object().get(obj); e) return JsonError("", "key", e);
    for (auto field : obj) {
      std::string_view name;
      if (auto e = field.unescaped_key().get(name); e) return JsonError("", "key", e);
      od::value fv = field.value();
      if (auto e = fv.type().get(t); e) return JsonError("key", name, e);
      if (name == "schema") {
        if (t == od::json_type::null) continue;
        if (t != od::json_type::object) return TypeError("key", "schema", "object", t);
        std::string_view text;
        if (auto e = RawJson(fv, od::json_type::object, &text); e) return JsonError("key", "schema", e);
        auto s = SchemaFromText(text, /*is_key=*/true, st);
        if (!s.ok()) return Error("key", "", internal::Sv(s.status().message()));
        schema = *s;
      } else if (name == "payload") {
        if (t == od::json_type::null) return absl::OkStatus();
        if (schema == nullptr) return Error("key", "payload", "payload without a preceding schema");
        if (auto s = DecodeRow(fv, schema, false, "key", &key_row, nullptr); !s.ok()) return s;
        std::swap(out->key, key_row.fields);
        out->key_schema = schema;
        return absl::OkStatus();
      } else {
        return Error("key", name, "unexpected field beside schema and payload");
      }
    }
    return Error("key", "payload", "missing");
  }

  absl::Status DecodeValue(std::string_view value, TopicState* st, Event* out) {
    has_before = has_after = false;
    op = 0;
    tombstone = false;
    out->source.Clear();
    out->ts_ms.reset();
    out->transaction_id.clear();
    out->message_prefix.clear();
    out->message_content.clear();
    out->value_schema = nullptr;
    if (value.empty() || IsNullText(value)) {
      tombstone = true;
      return absl::OkStatus();
    }
    const bool on = options.value_schemas == SchemasMode::kOn ||
                    (options.value_schemas == SchemasMode::kAuto &&
                     (FirstKeyIs(value, "schema") || FirstKeyIs(value, "payload")));
    od::document doc;
    RowSchema* schema = nullptr;  // schemas on: a known schema the iteration skipped
    if (auto e = (on ? IterateSkippingKnownSchema(value, /*is_key=*/false, *st, &schema)
                     : Iterate(value))
                     .get(doc);
        e) {
      return JsonError("", "value", e);
    }
    od::json_type t;
    if (auto e = doc.type().get(t); e) return JsonError("", "value", e);
    if (t != od::json_type::object) return TypeError("", "value", "object", t);
    od::object obj;
    if (auto e = doc.get_object().get(obj); e) return JsonError("", "value", e);
    bool growable = false;
    if (!on) {
      schema = const_cast<RowSchema*>(st->ValueSchemaOff());
      if (schema == nullptr) {
        if (!st->value_inferred) st->value_inferred = std::make_unique<RowSchema>();
        schema = st->value_inferred.get();
        growable = true;
      }
    }
    bool has_payload = false;
    for (auto field : obj) {
      if (field.error()) return JsonError("", "value", field.error());
      std::string_view key;
      if (auto e = FieldKey(field.value_unsafe(), &key); e) return JsonError("", "value", e);
      if (!on) {
        if (auto s = DecodeEnvelopeField(key, field.value_unsafe().value(), schema, growable, out); !s.ok()) {
          return s;
        }
        continue;
      }
      od::value fv = field.value();
      if (auto e = fv.type().get(t); e) return JsonError("", key, e);
      if (key == "schema") {
        if (t == od::json_type::null) continue;
        if (t != od::json_type::object) return TypeError("", "schema", "object", t);
        std::string_view text;
        if (auto e = RawJson(fv, od::json_type::object, &text); e) return JsonError("", "schema", e);
        auto s = SchemaFromText(text, /*is_key=*/false, st);
        if (!s.ok()) return s.status();
        schema = *s;
      } else if (key == "payload") {
        has_payload = true;
        if (t == od::json_type::null) {
          tombstone = true;
          continue;
        }
        if (t != od::json_type::object) return TypeError("", "payload", "object", t);
        od::object payload;
        if (auto e = fv.get_object().get(payload); e) return JsonError("", "payload", e);
        for (auto pf : payload) {
          if (pf.error()) return JsonError("", "payload", pf.error());
          std::string_view pkey;
          if (auto e = FieldKey(pf.value_unsafe(), &pkey); e) return JsonError("", "payload", e);
          if (auto s = DecodeEnvelopeField(pkey, pf.value_unsafe().value(), schema, false, out); !s.ok()) return s;
        }
      } else {
        return Error("", key, "unexpected field beside schema and payload");
      }
    }
    if (on && !has_payload) return Error("", "payload", "missing");
    out->value_schema = schema;
    return absl::OkStatus();
  }
};

Decoder::Decoder(DecoderOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Decoder::~Decoder() = default;

uint64_t Decoder::known_schema_skips() const { return impl_->known_schema_skips; }

absl::Status Decoder::Decode(std::string_view topic, std::string_view key, std::string_view value,
                             Event* out) {
  Impl& d = *impl_;
  TopicState* st = d.State(topic);
  d.Recycle(out);
  // Value first: a schemas-on value teaches the key's column types too.
  if (auto s = d.DecodeValue(value, st, out); !s.ok()) return s;
  if (auto s = d.DecodeKey(key, st, out); !s.ok()) return s;
  if (d.tombstone) {
    out->kind = EventKind::kTombstone;
    out->op = 0;
    return absl::OkStatus();
  }
  if (d.op == 0) return Error("", "op", "missing (not a Debezium change event envelope)");
  out->op = d.op;
  // An inferred schema may have grown after the first row was decoded.
  if (out->value_schema != nullptr) {
    size_t n = out->value_schema->size();
    if (d.has_before) d.before.fields.resize(n);
    if (d.has_after) d.after.fields.resize(n);
  }
  auto emit = [&](Row& row, RowKind kind) {
    out->rows.emplace_back();
    out->rows.back().kind = kind;
    std::swap(out->rows.back().fields, row.fields);
  };
  switch (d.op) {
    case 'c':
    case 'r':
      out->kind = EventKind::kChange;
      if (!d.has_after) return Error("", "after", internal::Cat("missing for op '", std::string(1, d.op), "'"));
      emit(d.after, RowKind::kInsert);
      break;
    case 'u':
      out->kind = EventKind::kChange;
      if (!d.has_after) return Error("", "after", "missing for op 'u'");
      if (d.has_before) emit(d.before, RowKind::kUpdateBefore);
      emit(d.after, RowKind::kUpdateAfter);
      break;
    case 'd':
      out->kind = EventKind::kChange;
      if (!d.has_before) return Error("", "before", "missing for op 'd'");
      emit(d.before, RowKind::kDelete);
      break;
    case 't':
      out->kind = EventKind::kTruncate;
      break;
    case 'm':
      out->kind = EventKind::kMessage;
      break;
  }
  if (d.options.append_source_position && !out->rows.empty()) {
    absl::StatusOr<std::string> position = EncodeSourcePosition(out->source);
    if (!position.ok()) return position.status();
    for (size_t i = 0; i < out->rows.size(); ++i) {
      std::string p = *position;
      p.push_back(static_cast<char>(i));
      out->rows[i].fields.push_back(Value::Bin(std::move(p)));
    }
  }
  return absl::OkStatus();
}

absl::Status Decoder::SetValueSchema(std::string_view topic, std::string_view json) {
  auto schema = ParseRowSchema(json);
  if (!schema.ok()) return schema.status();
  TopicState* st = impl_->State(topic);
  st->value_supplied = std::make_unique<RowSchema>(*std::move(schema));
  st->key_inferred.reset();
  return absl::OkStatus();
}

absl::Status Decoder::SetKeySchema(std::string_view topic, std::string_view json) {
  auto schema = ParseKeySchema(json);
  if (!schema.ok()) return schema.status();
  TopicState* st = impl_->State(topic);
  st->key_supplied = std::make_unique<RowSchema>(*std::move(schema));
  return absl::OkStatus();
}

const RowSchema* Decoder::ValueSchemaFor(std::string_view topic) const {
  auto it = impl_->topics.find(absl::string_view(topic.data(), topic.size()));
  if (it == impl_->topics.end()) return nullptr;
  const TopicState& st = *it->second;
  if (const RowSchema* s = st.ValueSchemaOff()) return s;
  return st.value_inferred.get();
}

}  // namespace cdcflow::debezium
