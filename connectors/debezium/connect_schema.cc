#include "connectors/debezium/connect_schema.h"

#include <charconv>
#include <utility>

#include "absl/status/status.h"
#include "connectors/debezium/str_util.h"
#include "simdjson.h"

namespace cdcflow::debezium {
namespace {

namespace dom = simdjson::dom;

absl::Status SchemaError(std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(internal::Cat("schema", where.empty() ? "" : ".", where, ": ", what));
}

absl::StatusOr<ConnectField> ParseField(dom::object field, size_t i) {
  ConnectField out;
  std::string_view name;
  if (field["field"].get_string().get(name) != simdjson::SUCCESS) {
    return SchemaError(internal::Cat("fields[", i, "]"), "missing string 'field'");
  }
  out.name = std::string(name);
  std::string_view type;
  if (field["type"].get_string().get(type) != simdjson::SUCCESS) {
    return SchemaError(out.name, "missing string 'type'");
  }
  std::string_view logical;
  if (field["name"].get_string().get(logical) == simdjson::SUCCESS) {
    out.logical_name = std::string(logical);
  }
  bool optional = true;
  if (field["optional"].get_bool().get(optional) == simdjson::SUCCESS) out.optional = optional;
  auto kind = KindFor(type, logical);
  if (!kind.ok()) return SchemaError(out.name, internal::Sv(kind.status().message()));
  out.kind = *kind;
  if (out.kind == FieldKind::kDecimal) {
    std::string_view scale_text;
    dom::object params;
    if (field["parameters"].get_object().get(params) != simdjson::SUCCESS ||
        params["scale"].get_string().get(scale_text) != simdjson::SUCCESS) {
      return SchemaError(out.name, "Decimal without a 'scale' parameter");
    }
    int32_t scale = 0;
    auto [p, ec] = std::from_chars(scale_text.data(), scale_text.data() + scale_text.size(), scale);
    if (ec != std::errc() || p != scale_text.data() + scale_text.size() || scale < -16383 ||
        scale > 16383) {
      return SchemaError(out.name, internal::Cat("bad Decimal scale '", scale_text, "'"));
    }
    out.scale = scale;
  }
  return out;
}

absl::StatusOr<RowSchema> ParseStruct(dom::element element) {
  dom::object obj;
  if (element.get_object().get(obj) != simdjson::SUCCESS) {
    return SchemaError("", "expected a struct schema object");
  }
  std::string_view type;
  if (obj["type"].get_string().get(type) != simdjson::SUCCESS || type != "struct") {
    return SchemaError("", "expected \"type\":\"struct\"");
  }
  dom::array fields;
  if (obj["fields"].get_array().get(fields) != simdjson::SUCCESS) {
    return SchemaError("", "struct without a 'fields' array");
  }
  std::vector<ConnectField> out;
  size_t i = 0;
  for (dom::element f : fields) {
    dom::object fo;
    if (f.get_object().get(fo) != simdjson::SUCCESS) {
      return SchemaError(internal::Cat("fields[", i, "]"), "expected an object");
    }
    auto field = ParseField(fo, i);
    if (!field.ok()) return field.status();
    out.push_back(*std::move(field));
    ++i;
  }
  return RowSchema(std::move(out));
}

// Unwraps a `{"schema":..,"payload":..}` message to its schema.
absl::StatusOr<dom::element> Root(dom::parser& parser, std::string_view json) {
  dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return absl::InvalidArgumentError(
        internal::Cat("schema: not valid JSON: ", simdjson::error_message(err)));
  }
  dom::object obj;
  dom::element schema;
  if (root.get_object().get(obj) == simdjson::SUCCESS && obj["payload"].error() == simdjson::SUCCESS &&
      obj["schema"].get(schema) == simdjson::SUCCESS) {
    return schema;
  }
  return root;
}

}  // namespace

std::string_view FieldKindName(FieldKind kind) {
  switch (kind) {
    case FieldKind::kAny: return "any";
    case FieldKind::kBool: return "boolean";
    case FieldKind::kInt32: return "int32";
    case FieldKind::kInt64: return "int64";
    case FieldKind::kFloat64: return "float64";
    case FieldKind::kString: return "string";
    case FieldKind::kBytes: return "bytes";
    case FieldKind::kDecimal: return "Decimal";
    case FieldKind::kDecimalString: return "Decimal (string)";
    case FieldKind::kVariableScaleDecimal: return "VariableScaleDecimal";
    case FieldKind::kDate: return "Date";
    case FieldKind::kTimeMillis: return "Time";
    case FieldKind::kTimeMicros: return "MicroTime";
    case FieldKind::kTimeNanos: return "NanoTime";
    case FieldKind::kTimestampMillis: return "Timestamp";
    case FieldKind::kTimestampMicros: return "MicroTimestamp";
    case FieldKind::kTimestampNanos: return "NanoTimestamp";
    case FieldKind::kZonedTimestamp: return "ZonedTimestamp";
    case FieldKind::kZonedTime: return "ZonedTime";
    case FieldKind::kUuid: return "Uuid";
    case FieldKind::kJson: return "Json";
    case FieldKind::kRawJson: return "struct/array";
  }
  return "?";
}

ValueType FieldKindValueType(FieldKind kind) {
  switch (kind) {
    case FieldKind::kAny: return ValueType::kNull;
    case FieldKind::kBool: return ValueType::kBool;
    case FieldKind::kInt32: return ValueType::kInt32;
    case FieldKind::kInt64: return ValueType::kInt64;
    case FieldKind::kFloat64: return ValueType::kFloat64;
    case FieldKind::kString: return ValueType::kString;
    case FieldKind::kBytes: return ValueType::kBytes;
    case FieldKind::kDecimal:
    case FieldKind::kDecimalString:
    case FieldKind::kVariableScaleDecimal: return ValueType::kDecimal;
    case FieldKind::kDate: return ValueType::kDate;
    case FieldKind::kTimeMillis:
    case FieldKind::kTimeMicros:
    case FieldKind::kTimeNanos: return ValueType::kTime;
    case FieldKind::kTimestampMillis:
    case FieldKind::kTimestampMicros:
    case FieldKind::kTimestampNanos: return ValueType::kTimestamp;
    case FieldKind::kZonedTimestamp: return ValueType::kTimestampTz;
    case FieldKind::kZonedTime: return ValueType::kTimeTz;
    case FieldKind::kUuid: return ValueType::kUuid;
    case FieldKind::kJson:
    case FieldKind::kRawJson: return ValueType::kJson;
  }
  return ValueType::kNull;
}

RowSchema::RowSchema(std::vector<ConnectField> fields) {
  for (auto& f : fields) Append(std::move(f));
}

int RowSchema::IndexOf(std::string_view name) const {
  auto it = index_.find(absl::string_view(name.data(), name.size()));
  return it == index_.end() ? -1 : it->second;
}

void RowSchema::Append(ConnectField field) {
  index_.emplace(field.name, static_cast<int>(fields_.size()));
  schema_.fields.push_back(Field{field.name, FieldKindValueType(field.kind), field.optional});
  fields_.push_back(std::move(field));
}

absl::StatusOr<FieldKind> KindFor(std::string_view type, std::string_view name) {
  FieldKind by_type;
  if (type == "int8" || type == "int16" || type == "int32") {
    by_type = FieldKind::kInt32;
  } else if (type == "int64") {
    by_type = FieldKind::kInt64;
  } else if (type == "float" || type == "double" || type == "float32" || type == "float64") {
    // JsonConverter writes "float" and "double"; "float32"/"float64" are the Java enum names.
    by_type = FieldKind::kFloat64;
  } else if (type == "boolean") {
    by_type = FieldKind::kBool;
  } else if (type == "string") {
    by_type = FieldKind::kString;
  } else if (type == "bytes") {
    by_type = FieldKind::kBytes;
  } else if (type == "array" || type == "map" || type == "struct") {
    by_type = FieldKind::kRawJson;
  } else {
    return absl::InvalidArgumentError(internal::Cat("unknown Connect type '", type, "'"));
  }
  if (name.empty()) return by_type;
  struct Logical {
    std::string_view name;
    std::string_view type;  // the Connect type the logical type rides on
    FieldKind kind;
  };
  static constexpr Logical kLogical[] = {
      {"org.apache.kafka.connect.data.Decimal", "bytes", FieldKind::kDecimal},
      {"org.apache.kafka.connect.data.Decimal", "string", FieldKind::kDecimalString},
      {"io.debezium.data.VariableScaleDecimal", "struct", FieldKind::kVariableScaleDecimal},
      {"io.debezium.time.Date", "int32", FieldKind::kDate},
      {"org.apache.kafka.connect.data.Date", "int32", FieldKind::kDate},
      {"io.debezium.time.Time", "int32", FieldKind::kTimeMillis},
      {"org.apache.kafka.connect.data.Time", "int32", FieldKind::kTimeMillis},
      {"io.debezium.time.MicroTime", "int64", FieldKind::kTimeMicros},
      {"io.debezium.time.NanoTime", "int64", FieldKind::kTimeNanos},
      {"io.debezium.time.Timestamp", "int64", FieldKind::kTimestampMillis},
      {"org.apache.kafka.connect.data.Timestamp", "int64", FieldKind::kTimestampMillis},
      {"io.debezium.time.MicroTimestamp", "int64", FieldKind::kTimestampMicros},
      {"io.debezium.time.NanoTimestamp", "int64", FieldKind::kTimestampNanos},
      {"io.debezium.time.ZonedTimestamp", "string", FieldKind::kZonedTimestamp},
      {"io.debezium.time.ZonedTime", "string", FieldKind::kZonedTime},
      {"io.debezium.data.Uuid", "string", FieldKind::kUuid},
      {"io.debezium.data.Json", "string", FieldKind::kJson},
  };
  for (const auto& l : kLogical) {
    if (l.name == name) {
      if (l.type == type) return l.kind;
      if (l.kind != FieldKind::kDecimal) {
        return absl::InvalidArgumentError(
            internal::Cat("logical type ", name, " on Connect type '", type, "'"));
      }
    }
  }
  // Enum, EnumSet, Bits, Xml, Interval, MicroDuration, Year, geometry, ...: their
  // Connect type already says how to decode them exactly.
  return by_type;
}

absl::StatusOr<RowSchema> ParseRowSchema(std::string_view json) {
  dom::parser parser;
  auto root = Root(parser, json);
  if (!root.ok()) return root.status();
  dom::array fields;
  if (root->get_object()["fields"].get_array().get(fields) == simdjson::SUCCESS) {
    dom::element before;
    bool has_before = false;
    for (dom::element f : fields) {
      std::string_view name, type;
      if (f["field"].get_string().get(name) != simdjson::SUCCESS ||
          f["type"].get_string().get(type) != simdjson::SUCCESS || type != "struct") {
        continue;
      }
      if (name == "after") return ParseStruct(f);
      if (name == "before") {
        before = f;
        has_before = true;
      }
    }
    if (has_before) return ParseStruct(before);
  }
  return ParseStruct(*root);
}

absl::StatusOr<RowSchema> ParseKeySchema(std::string_view json) {
  dom::parser parser;
  auto root = Root(parser, json);
  if (!root.ok()) return root.status();
  return ParseStruct(*root);
}

}  // namespace cdcflow::debezium
