#include "connectors/debezium/tests/test_encoder.h"

#include <cstdio>

#include "connectors/debezium/str_util.h"
#include "absl/strings/str_format.h"
#include "connectors/debezium/connect_schema.h"
#include "connectors/debezium/logical_types.h"

namespace cdcflow::debezium::testing {
namespace {

// Howard Hinnant's civil_from_days.
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// HH:MM:SS[.fraction without trailing zeros], as java.time formats.
std::string FormatTimeOfDay(int64_t nanos) {
  int64_t secs = nanos / 1'000'000'000;
  int64_t frac = nanos % 1'000'000'000;
  std::string out = absl::StrFormat("%02d:%02d:%02d", secs / 3600, secs / 60 % 60, secs % 60);
  if (frac != 0) {
    std::string f = absl::StrFormat("%09d", frac);
    while (f.back() == '0') f.pop_back();
    internal::Append(&out, ".", f);
  }
  return out;
}

std::string FormatOffset(int32_t offset) {
  if (offset == 0) return "Z";
  int32_t a = offset < 0 ? -offset : offset;
  std::string out = absl::StrFormat("%c%02d:%02d", offset < 0 ? '-' : '+', a / 3600, a / 60 % 60);
  if (a % 60) internal::Append(&out, absl::StrFormat(":%02d", a % 60));
  return out;
}

std::string TwosComplementOf(const Decimal& d) { return d.ToTwosComplement(); }

}  // namespace

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string FormatZonedTimestamp(const TimestampTz& ts) {
  int64_t local = ts.seconds + ts.offset_seconds;
  int64_t days = FloorDiv(local, 86400);
  int64_t sod = local - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  std::string year = y >= 0 && y <= 9999 ? absl::StrFormat("%04d", y)
                     : y > 9999          ? absl::StrFormat("+%d", y)
                                         : absl::StrFormat("-%04d", -y);
  return internal::Cat(year, absl::StrFormat("-%02d-%02dT", m, d),
                      FormatTimeOfDay(sod * 1'000'000'000 + ts.nanos), FormatOffset(ts.offset_seconds));
}

std::string FormatZonedTime(const TimeTz& t) {
  return internal::Cat(FormatTimeOfDay(t.nanos), FormatOffset(t.offset_seconds));
}

std::string FormatUuid(const Uuid& u) {
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += absl::StrFormat("%02x", u.bytes[i]);
  }
  return out;
}

std::string StructSchemaJson(const std::vector<Column>& columns, std::string_view name,
                             std::string_view field) {
  std::string out = R"({"type":"struct","fields":[)";
  for (size_t i = 0; i < columns.size(); ++i) {
    const Column& c = columns[i];
    if (i) out += ',';
    internal::Append(&out, R"({"type":")", c.type, R"(","optional":)", c.optional ? "true" : "false");
    if (!c.logical.empty()) {
      internal::Append(&out, R"(,"name":")", c.logical, R"(","version":1)");
      if (c.logical == "org.apache.kafka.connect.data.Decimal") {
        internal::Append(&out, R"(,"parameters":{"scale":")", c.scale, R"(","connect.decimal.precision":"40"})");
      }
    }
    if (c.type == "struct") {
      // VariableScaleDecimal and geometry carry nested field lists.
      if (c.logical == "io.debezium.data.VariableScaleDecimal") {
        out += R"(,"fields":[{"type":"int32","optional":false,"field":"scale"},{"type":"bytes","optional":false,"field":"value"}])";
      } else {
        out += R"(,"fields":[{"type":"float64","optional":false,"field":"x"},{"type":"float64","optional":false,"field":"y"}])";
      }
    }
    if (c.type == "array") out += R"(,"items":{"type":"string","optional":true})";
    internal::Append(&out, R"(,"field":)", JsonQuote(c.name), "}");
  }
  internal::Append(&out, R"(],"optional":true,"name":")", name, "\"");
  if (!field.empty()) internal::Append(&out, R"(,"field":")", field, "\"");
  out += "}";
  return out;
}

std::string EncodeValue(const Column& column, const Value& v) {
  if (v.is_null()) return "null";
  FieldKind kind = KindFor(column.type, column.logical).value();
  if (v.type() == ValueType::kUnavailable) {
    const std::string placeholder = "__debezium_unavailable_value";
    if (kind == FieldKind::kBytes) return JsonQuote(Base64Encode(placeholder));
    if (kind == FieldKind::kRawJson) return "[" + JsonQuote(placeholder) + "]";
    return JsonQuote(placeholder);
  }
  switch (kind) {
    case FieldKind::kAny: return "null";
    case FieldKind::kBool: return v.as_bool() ? "true" : "false";
    case FieldKind::kInt32: return internal::Cat(v.as_int32());
    case FieldKind::kInt64: return internal::Cat(v.as_int64());
    case FieldKind::kFloat64: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v.as_float64());
      std::string s = buf;
      // Jackson writes doubles with a fraction or exponent; keep it a JSON number.
      if (s.find_first_of(".eE") == std::string::npos) s += ".0";
      return s;
    }
    case FieldKind::kString: return JsonQuote(v.as_string());
    case FieldKind::kBytes: return JsonQuote(Base64Encode(v.as_bytes()));
    case FieldKind::kDecimal: return JsonQuote(Base64Encode(TwosComplementOf(v.as_decimal())));
    case FieldKind::kDecimalString: return JsonQuote(v.as_decimal().ToString());
    case FieldKind::kVariableScaleDecimal:
      return internal::Cat(R"({"scale":)", v.as_decimal().scale(), R"(,"value":)",
                          JsonQuote(Base64Encode(TwosComplementOf(v.as_decimal()))), "}");
    case FieldKind::kDate: return internal::Cat(v.as_date().days);
    case FieldKind::kTimeMillis: return internal::Cat(v.as_time().nanos / 1'000'000);
    case FieldKind::kTimeMicros: return internal::Cat(v.as_time().nanos / 1'000);
    case FieldKind::kTimeNanos: return internal::Cat(v.as_time().nanos);
    case FieldKind::kTimestampMillis:
      return internal::Cat(v.as_timestamp().seconds * 1000 + v.as_timestamp().nanos / 1'000'000);
    case FieldKind::kTimestampMicros:
      return internal::Cat(v.as_timestamp().seconds * 1'000'000 + v.as_timestamp().nanos / 1'000);
    case FieldKind::kTimestampNanos:
      return internal::Cat(v.as_timestamp().seconds * 1'000'000'000 + v.as_timestamp().nanos);
    case FieldKind::kZonedTimestamp: return JsonQuote(FormatZonedTimestamp(v.as_timestamp_tz()));
    case FieldKind::kZonedTime: return JsonQuote(FormatZonedTime(v.as_time_tz()));
    case FieldKind::kUuid: return JsonQuote(FormatUuid(v.as_uuid()));
    case FieldKind::kJson: return JsonQuote(v.as_json());
    case FieldKind::kRawJson: return v.as_json();
  }
  return "null";
}

std::string EncodeRow(const std::vector<Column>& columns, const std::vector<Value>& values) {
  std::string out = "{";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) out += ',';
    internal::Append(&out, JsonQuote(columns[i].name), ":", EncodeValue(columns[i], values[i]));
  }
  out += "}";
  return out;
}

std::string EncodeEnvelope(const std::vector<Column>& columns, const EnvelopeSpec& spec,
                           bool schemas_enable) {
  std::string payload = internal::Cat(
      R"({"before":)", spec.before ? EncodeRow(columns, *spec.before) : "null",
      R"(,"after":)", spec.after ? EncodeRow(columns, *spec.after) : "null",
      R"(,"source":)", spec.source_json, R"(,"op":")", std::string(1, spec.op),
      R"(","ts_ms":1700000000123,"transaction":null})");
  if (!schemas_enable) return payload;
  std::string schema = internal::Cat(
      R"({"type":"struct","fields":[)", StructSchemaJson(columns, "pg.public.orders.Value", "before"),
      ",", StructSchemaJson(columns, "pg.public.orders.Value", "after"),
      R"(,{"type":"struct","fields":[{"type":"string","optional":false,"field":"connector"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source"})",
      R"(,{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"})",
      R"(],"optional":false,"name":"pg.public.orders.Envelope","version":1})");
  return internal::Cat(R"({"schema":)", schema, R"(,"payload":)", payload, "}");
}

std::string EncodeKey(const std::vector<Column>& key_columns, const std::vector<Value>& key,
                      bool schemas_enable) {
  std::string payload = EncodeRow(key_columns, key);
  if (!schemas_enable) return payload;
  return internal::Cat(R"({"schema":)", StructSchemaJson(key_columns, "pg.public.orders.Key"),
                      R"(,"payload":)", payload, "}");
}

}  // namespace cdcflow::debezium::testing
