#include <charconv>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "cdcflow/value.h"
#include "runtime/record/hash.h"
#include "runtime/record/int128_util.h"
#include "runtime/record/time_util.h"

namespace cdcflow {

std::string_view ValueTypeName(ValueType type) {
  static constexpr std::string_view kNames[] = {
      "null", "bool", "int32",   "int64",     "float64",      "decimal", "string", "bytes",
      "date", "time", "time_tz", "timestamp", "timestamp_tz", "uuid",    "json",   "unavailable"};
  const auto i = static_cast<size_t>(type);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

namespace {

void AppendDouble(double d, std::string* out) {
  if (std::isnan(d)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(d)) {
    out->append(d < 0 ? "-Infinity" : "Infinity");
    return;
  }
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  const std::string_view text(buf, end - buf);
  out->append(text);
  // Keep floats visibly apart from integers ("1.0", not "1"), as Java prints them.
  if (text.find_first_of(".e") == std::string_view::npos) out->append(".0");
}

void AppendUuid(const Uuid& uuid, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out->push_back('-');
    out->push_back(kHex[uuid.bytes[i] >> 4]);
    out->push_back(kHex[uuid.bytes[i] & 0xf]);
  }
}

void AppendLocalDateTime(int64_t seconds, int32_t nanos, bool trimmed, std::string* out) {
  const int64_t days = record::FloorDiv(seconds, record::kSecondsPerDay);
  const int64_t nanos_of_day =
      record::FloorMod(seconds, record::kSecondsPerDay) * record::kNanosPerSecond + nanos;
  record::AppendIsoDate(days, out);
  out->push_back('T');
  if (trimmed) {
    record::AppendTimeTrimmed(nanos_of_day, out);
  } else {
    record::AppendTimeNanos9(nanos_of_day, out);
  }
}

void Put32(uint32_t v, char* p) { std::memcpy(p, &v, 4); }
void Put64(uint64_t v, char* p) { std::memcpy(p, &v, 8); }

}  // namespace

std::string Value::ToString() const {
  std::string out;
  switch (type()) {
    case ValueType::kNull:
      return "null";
    case ValueType::kBool:
      return as_bool() ? "true" : "false";
    case ValueType::kInt32:
      return absl::StrCat(as_int32());
    case ValueType::kInt64:
      return absl::StrCat(as_int64());
    case ValueType::kFloat64:
      AppendDouble(as_float64(), &out);
      return out;
    case ValueType::kDecimal:
      return as_decimal().ToString();
    case ValueType::kString:
      return as_string();
    case ValueType::kBytes: {
      static constexpr char kHex[] = "0123456789abcdef";
      out.reserve(2 + as_bytes().size() * 2);
      out.append("\\x");
      for (unsigned char c : as_bytes()) {
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
      }
      return out;
    }
    case ValueType::kDate:
      record::AppendIsoDate(as_date().days, &out);
      return out;
    case ValueType::kTime:
      record::AppendTimeNanos9(as_time().nanos, &out);
      return out;
    case ValueType::kTimeTz:
      record::AppendTimeTrimmed(as_time_tz().nanos, &out);
      record::AppendOffset(as_time_tz().offset_seconds, &out);
      return out;
    case ValueType::kTimestamp:
      AppendLocalDateTime(as_timestamp().seconds, as_timestamp().nanos, false, &out);
      return out;
    case ValueType::kTimestampTz: {
      const TimestampTz t = as_timestamp_tz();
      AppendLocalDateTime(t.seconds + t.offset_seconds, t.nanos, true, &out);
      record::AppendOffset(t.offset_seconds, &out);
      return out;
    }
    case ValueType::kUuid:
      AppendUuid(as_uuid(), &out);
      return out;
    case ValueType::kJson:
      return as_json();
    case ValueType::kUnavailable:
      return "__debezium_unavailable_value";
  }
  return "<invalid value>";
}

// StableHash = XXH64(payload, seed = family tag). The payloads (little-endian):
//   null, unavailable: empty         bool: 1 byte 0/1
//   int32 and int64: tag 3, int64    float64: IEEE bits (-0.0 -> 0.0, one NaN)
//   decimal: int32 scale + minimal two's-complement unscaled
//   string, bytes, json: the bytes   date: int32 days   time: int64 nanos
//   time_tz: int64 nanos + int32 offset   timestamp: int64 seconds + int32 nanos
//   timestamp_tz: int64 seconds + int32 nanos + int32 offset   uuid: 16 bytes
uint64_t Value::StableHash() const {
  char buf[20];
  const auto tag = static_cast<uint64_t>(type());
  switch (type()) {
    case ValueType::kNull:
    case ValueType::kUnavailable:
      return record::XxHash64(nullptr, 0, tag);
    case ValueType::kBool:
      buf[0] = as_bool() ? 1 : 0;
      return record::XxHash64(buf, 1, tag);
    case ValueType::kInt32:
      Put64(static_cast<uint64_t>(static_cast<int64_t>(as_int32())), buf);
      return record::XxHash64(buf, 8, static_cast<uint64_t>(ValueType::kInt64));
    case ValueType::kInt64:
      Put64(static_cast<uint64_t>(as_int64()), buf);
      return record::XxHash64(buf, 8, tag);
    case ValueType::kFloat64: {
      double d = as_float64();
      if (d == 0) d = 0.0;  // folds -0.0
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      if (std::isnan(d)) bits = 0x7ff8000000000000ULL;
      Put64(bits, buf);
      return record::XxHash64(buf, 8, tag);
    }
    case ValueType::kDecimal: {
      const Decimal& dec = as_decimal();
      if (dec.is_small()) {
        char payload[20];
        Put32(static_cast<uint32_t>(dec.scale()), payload);
        const int n = record::Int128ToTwosComplement(dec.small_unscaled(), payload + 4);
        return record::XxHash64(payload, 4 + n, tag);
      }
      std::string payload(4, '\0');
      Put32(static_cast<uint32_t>(dec.scale()), payload.data());
      payload.append(dec.ToTwosComplement());
      return record::XxHash64(payload, tag);
    }
    case ValueType::kString:
      return record::XxHash64(as_string(), tag);
    case ValueType::kBytes:
      return record::XxHash64(as_bytes(), tag);
    case ValueType::kJson:
      return record::XxHash64(as_json(), tag);
    case ValueType::kDate:
      Put32(static_cast<uint32_t>(as_date().days), buf);
      return record::XxHash64(buf, 4, tag);
    case ValueType::kTime:
      Put64(static_cast<uint64_t>(as_time().nanos), buf);
      return record::XxHash64(buf, 8, tag);
    case ValueType::kTimeTz:
      Put64(static_cast<uint64_t>(as_time_tz().nanos), buf);
      Put32(static_cast<uint32_t>(as_time_tz().offset_seconds), buf + 8);
      return record::XxHash64(buf, 12, tag);
    case ValueType::kTimestamp:
      Put64(static_cast<uint64_t>(as_timestamp().seconds), buf);
      Put32(static_cast<uint32_t>(as_timestamp().nanos), buf + 8);
      return record::XxHash64(buf, 12, tag);
    case ValueType::kTimestampTz:
      Put64(static_cast<uint64_t>(as_timestamp_tz().seconds), buf);
      Put32(static_cast<uint32_t>(as_timestamp_tz().nanos), buf + 8);
      Put32(static_cast<uint32_t>(as_timestamp_tz().offset_seconds), buf + 12);
      return record::XxHash64(buf, 16, tag);
    case ValueType::kUuid:
      return record::XxHash64(as_uuid().bytes.data(), 16, tag);
  }
  return 0;
}

}  // namespace cdcflow
