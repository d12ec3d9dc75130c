// INTERIM: the few record-model functions the engine needs (text form, stable hash),
// until the record engineer's implementation (runtime/record/) lands on main. Then
// this file and the `record_interim` target go away. Decimal text beyond the
// __int128 fast path and some types print a simplified form here.
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cdcflow/row.h"
#include "cdcflow/value.h"

namespace cdcflow {

std::string_view ValueTypeName(ValueType type) {
  static constexpr std::string_view kNames[] = {
      "null", "bool",      "int32",        "int64", "float64", "decimal", "string",     "bytes",
      "date", "time",      "time_tz",      "timestamp", "timestamp_tz", "uuid", "json", "unavailable"};
  auto i = static_cast<size_t>(type);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

std::string_view RowKindShortString(RowKind kind) {
  switch (kind) {
    case RowKind::kInsert: return "+I";
    case RowKind::kUpdateBefore: return "-U";
    case RowKind::kUpdateAfter: return "+U";
    case RowKind::kDelete: return "-D";
  }
  return "??";
}

int Schema::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

namespace {

std::string Int128ToString(__int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  unsigned __int128 u = neg ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string s;
  while (u != 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (neg) s.push_back('-');
  return std::string(s.rbegin(), s.rend());
}

inline uint64_t Mix(uint64_t h) {  // murmur3 fmix64
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

inline uint64_t HashBytes(std::string_view s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return Mix(h);
}

}  // namespace

std::string Decimal::ToString() const {
  if (!is_small()) return "<big decimal>";
  std::string digits = Int128ToString(small_ < 0 ? -small_ : small_);
  std::string out = small_ < 0 ? "-" : "";
  if (scale_ <= 0) return out + digits + std::string(static_cast<size_t>(-scale_), '0');
  if (digits.size() <= static_cast<size_t>(scale_)) {
    digits.insert(0, static_cast<size_t>(scale_) - digits.size() + 1, '0');
  }
  return out + digits.substr(0, digits.size() - scale_) + "." + digits.substr(digits.size() - scale_);
}

std::string Value::ToString() const {
  switch (type()) {
    case ValueType::kNull: return "null";
    case ValueType::kBool: return as_bool() ? "true" : "false";
    case ValueType::kInt32: return absl::StrCat(as_int32());
    case ValueType::kInt64: return absl::StrCat(as_int64());
    case ValueType::kFloat64: return absl::StrCat(as_float64());
    case ValueType::kDecimal: return as_decimal().ToString();
    case ValueType::kString: return as_string();
    case ValueType::kBytes: {
      std::string out = "\\x";
      for (unsigned char c : as_bytes()) absl::StrAppendFormat(&out, "%02x", c);
      return out;
    }
    case ValueType::kJson: return as_json();
    case ValueType::kUnavailable: return "__debezium_unavailable_value";
    default: return "<" + std::string(ValueTypeName(type())) + ">";
  }
}

uint64_t Value::StableHash() const {
  const uint64_t tag = static_cast<uint64_t>(type());
  switch (type()) {
    case ValueType::kNull: return Mix(0x9e3779b97f4a7c15ULL);
    case ValueType::kBool: return Mix((tag << 56) | (as_bool() ? 1 : 0));
    case ValueType::kInt32: return Mix(static_cast<uint64_t>(static_cast<int64_t>(as_int32())) ^ (tag << 56));
    case ValueType::kInt64: return Mix(static_cast<uint64_t>(as_int64()) ^ (tag << 56));
    case ValueType::kFloat64: {
      uint64_t bits;
      double d = as_float64();
      std::memcpy(&bits, &d, sizeof(bits));
      return Mix(bits ^ (tag << 56));
    }
    case ValueType::kString: return HashBytes(as_string(), tag);
    case ValueType::kBytes: return HashBytes(as_bytes(), tag);
    case ValueType::kJson: return HashBytes(as_json(), tag);
    default: return HashBytes(ToString(), tag);
  }
}

std::string Row::ToString() const {
  std::string out(RowKindShortString(kind));
  out.push_back('[');
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(fields[i].ToString());
  }
  out.push_back(']');
  return out;
}

}  // namespace cdcflow
