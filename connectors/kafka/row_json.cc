#include "connectors/kafka/row_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace cdcflow::kafka {
namespace {

struct CivilDay {
  int64_t year;
  int month;
  int day;
};

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
CivilDay FromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2), month, day};
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Appends v in decimal, zero-padded to at least `width` digits: snprintf's "%0Nlld",
// which formats a negative v, and without its format parsing otherwise (a timestamp
// column cost a quarter of the sink's time with it).
void AppendPadded(int64_t v, int width, std::string* out) {
  char buf[24];
  if (v < 0) {
    const int n = std::snprintf(buf, sizeof(buf), "%0*lld", width, static_cast<long long>(v));
    out->append(buf, static_cast<size_t>(n));
    return;
  }
  int i = sizeof(buf);
  do {
    buf[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0 || static_cast<int>(sizeof(buf)) - i < width);
  out->append(buf + i, sizeof(buf) - static_cast<size_t>(i));
}

void AppendDate(int64_t days, std::string* out) {
  CivilDay d = FromDays(days);
  AppendPadded(d.year, 4, out);
  out->push_back('-');
  AppendPadded(d.month, 2, out);
  out->push_back('-');
  AppendPadded(d.day, 2, out);
}

// HH:MM:SS plus a fraction without trailing zeros.
void AppendTimeOfDay(int64_t seconds_of_day, int64_t nanos, std::string* out) {
  AppendPadded(seconds_of_day / 3600, 2, out);
  out->push_back(':');
  AppendPadded(seconds_of_day / 60 % 60, 2, out);
  out->push_back(':');
  AppendPadded(seconds_of_day % 60, 2, out);
  if (nanos != 0) {
    out->push_back('.');
    AppendPadded(nanos, 9, out);
    while (out->back() == '0') out->pop_back();  // nanos != 0: a digit stays
  }
}

void AppendDateTime(int64_t seconds, int64_t nanos, std::string* out) {
  int64_t days = FloorDiv(seconds, 86400);
  AppendDate(days, out);
  out->push_back('T');
  AppendTimeOfDay(seconds - days * 86400, nanos, out);
}

void AppendOffset(int32_t offset_seconds, std::string* out) {
  if (offset_seconds == 0) {
    out->push_back('Z');
    return;
  }
  const int32_t a = offset_seconds < 0 ? -offset_seconds : offset_seconds;
  out->push_back(offset_seconds < 0 ? '-' : '+');
  AppendPadded(a / 3600, 2, out);
  out->push_back(':');
  AppendPadded(a / 60 % 60, 2, out);
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.data() + start, i - start);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out->append(buf, 6);
      }
    }
    start = i + 1;
  }
  out->append(text.data() + start, text.size() - start);
  out->push_back('"');
}

void AppendJsonValue(const Value& value, std::string* out) {
  char buf[64];
  switch (value.type()) {
    case ValueType::kNull:
      out->append("null");
      return;
    case ValueType::kBool:
      out->append(value.as_bool() ? "true" : "false");
      return;
    case ValueType::kInt32:
      out->append(buf, std::to_chars(buf, buf + sizeof(buf), value.as_int32()).ptr - buf);
      return;
    case ValueType::kInt64:
      out->append(buf, std::to_chars(buf, buf + sizeof(buf), value.as_int64()).ptr - buf);
      return;
    case ValueType::kFloat64: {
      double d = value.as_float64();
      if (std::isnan(d)) {
        out->append("\"NaN\"");
      } else if (std::isinf(d)) {
        out->append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
      } else {
        out->append(buf, std::to_chars(buf, buf + sizeof(buf), d).ptr - buf);
      }
      return;
    }
    case ValueType::kDecimal:
      out->append(value.as_decimal().ToString());
      return;
    case ValueType::kString:
      AppendJsonString(value.as_string(), out);
      return;
    case ValueType::kBytes: {
      std::string encoded;
      absl::Base64Escape(value.as_bytes(), &encoded);
      AppendJsonString(encoded, out);
      return;
    }
    case ValueType::kDate:
      out->push_back('"');
      AppendDate(value.as_date().days, out);
      out->push_back('"');
      return;
    case ValueType::kTime: {
      int64_t nanos = value.as_time().nanos;
      out->push_back('"');
      AppendTimeOfDay(nanos / 1000000000, nanos % 1000000000, out);
      out->push_back('"');
      return;
    }
    case ValueType::kTimeTz: {
      TimeTz t = value.as_time_tz();
      out->push_back('"');
      AppendTimeOfDay(t.nanos / 1000000000, t.nanos % 1000000000, out);
      AppendOffset(t.offset_seconds, out);
      out->push_back('"');
      return;
    }
    case ValueType::kTimestamp: {
      Timestamp t = value.as_timestamp();
      out->push_back('"');
      AppendDateTime(t.seconds, t.nanos, out);
      out->push_back('"');
      return;
    }
    case ValueType::kTimestampTz: {
      TimestampTz t = value.as_timestamp_tz();
      out->push_back('"');
      AppendDateTime(t.seconds + t.offset_seconds, t.nanos, out);
      AppendOffset(t.offset_seconds, out);
      out->push_back('"');
      return;
    }
    case ValueType::kUuid: {
      const auto& b = value.as_uuid().bytes;
      static constexpr char kHex[] = "0123456789abcdef";
      out->push_back('"');
      for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out->push_back('-');
        out->push_back(kHex[b[i] >> 4]);
        out->push_back(kHex[b[i] & 0xF]);
      }
      out->push_back('"');
      return;
    }
    case ValueType::kJson:
      AppendJsonString(value.as_json(), out);
      return;
    case ValueType::kUnavailable:
      out->append("\"__debezium_unavailable_value\"");
      return;
  }
  out->append("null");
}

absl::StatusOr<RowJsonFormatter> RowJsonFormatter::Create(
    SinkFormat format, const Schema& schema, const std::vector<std::string>& key_fields) {
  std::vector<std::string> names;
  for (const Field& f : schema.fields) {
    std::string quoted;
    AppendJsonString(f.name, &quoted);
    quoted.push_back(':');
    names.push_back(std::move(quoted));
  }
  std::vector<int> key;
  for (const std::string& k : key_fields) {
    int index = -1;
    for (size_t i = 0; i < schema.fields.size(); ++i) {
      if (schema.fields[i].name == k) index = static_cast<int>(i);
    }
    if (index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka sink: key field '", k, "' is not a column of the sink's schema"));
    }
    key.push_back(index);
  }
  if (format == SinkFormat::kUpsertJson && key.empty()) {
    return absl::InvalidArgumentError("kafka sink: upsert-json needs key fields");
  }
  return RowJsonFormatter(format, std::move(names), std::move(key));
}

void RowJsonFormatter::AppendObject(const Row& row, std::string* out) const {
  out->push_back('{');
  for (size_t i = 0; i < row.fields.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(quoted_names_[i]);
    AppendJsonValue(row.fields[i], out);
  }
  out->push_back('}');
}

absl::Status RowJsonFormatter::Format(const Row& row, FormattedRecord* out) const {
  if (row.fields.size() != quoted_names_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("kafka sink: row has ", row.fields.size(),
                                                   " fields, the sink's schema ",
                                                   quoted_names_.size()));
  }
  out->skip = false;
  out->tombstone = false;
  out->key.clear();
  out->value.clear();
  out->has_key = !key_indexes_.empty();
  if (out->has_key) {
    out->key.push_back('{');
    for (size_t i = 0; i < key_indexes_.size(); ++i) {
      if (i > 0) out->key.push_back(',');
      out->key.append(quoted_names_[key_indexes_[i]]);
      AppendJsonValue(row.fields[key_indexes_[i]], &out->key);
    }
    out->key.push_back('}');
  }
  switch (format_) {
    case SinkFormat::kDebeziumJson: {
      bool accumulate = IsAccumulate(row.kind);
      out->value.append("{\"before\":");
      if (accumulate) {
        out->value.append("null");
      } else {
        AppendObject(row, &out->value);
      }
      out->value.append(",\"after\":");
      if (accumulate) {
        AppendObject(row, &out->value);
      } else {
        out->value.append("null");
      }
      out->value.append(",\"op\":");
      out->value.append(row.kind == RowKind::kInsert   ? "\"c\"}"
                        : row.kind == RowKind::kDelete ? "\"d\"}"
                                                       : "\"u\"}");
      return absl::OkStatus();
    }
    case SinkFormat::kChangelogJson:
      out->value.append("{\"op\":\"");
      out->value.append(RowKindShortString(row.kind));
      out->value.push_back('"');
      for (size_t i = 0; i < row.fields.size(); ++i) {
        out->value.push_back(',');
        out->value.append(quoted_names_[i]);
        AppendJsonValue(row.fields[i], &out->value);
      }
      out->value.push_back('}');
      return absl::OkStatus();
    case SinkFormat::kUpsertJson:
      if (row.kind == RowKind::kUpdateBefore) {
        out->skip = true;
      } else if (row.kind == RowKind::kDelete) {
        out->tombstone = true;
      } else {
        AppendObject(row, &out->value);
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace cdcflow::kafka
