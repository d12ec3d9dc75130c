#include "connectors/elasticsearch/elasticsearch_config.h"

#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "connectors/kafka/row_json.h"

namespace cdcflow::elasticsearch {
namespace {

absl::StatusOr<int64_t> ParseInt(absl::string_view key, absl::string_view text, int64_t min) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < min) {
    return absl::InvalidArgumentError(absl::StrCat("elasticsearch sink: option '", key,
                                                   "' must be an integer >= ", min, ", got '",
                                                   text, "'"));
  }
  return v;
}

absl::StatusOr<int64_t> ParseBytes(absl::string_view key, absl::string_view text) {
  std::string lower = absl::AsciiStrToLower(text);
  absl::string_view t = lower;
  int64_t mult = 1;
  if (absl::ConsumeSuffix(&t, "kb")) {
    mult = 1 << 10;
  } else if (absl::ConsumeSuffix(&t, "mb")) {
    mult = 1 << 20;
  } else if (absl::ConsumeSuffix(&t, "gb")) {
    mult = int64_t{1} << 30;
  } else {
    absl::ConsumeSuffix(&t, "b");
  }
  auto v = ParseInt(key, t, 1);
  if (!v.ok()) return v.status();
  return *v * mult;
}

absl::StatusOr<bool> ParseBool(absl::string_view key, absl::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return absl::InvalidArgumentError(absl::StrCat("elasticsearch sink: option '", key,
                                                 "' must be true or false, got '", text, "'"));
}

}  // namespace

absl::StatusOr<ElasticsearchSinkConfig> ElasticsearchSinkConfig::Parse(
    const ElasticsearchOptions& options) {
  ElasticsearchSinkConfig c;
  for (const auto& [key, value] : options) {
    absl::Status st;
    auto set_int = [&](auto* field, int64_t min) {
      auto v = ParseInt(key, value, min);
      if (v.ok()) {
        *field = static_cast<std::remove_pointer_t<decltype(field)>>(*v);
      } else {
        st = v.status();
      }
    };
    auto set_bool = [&](bool* field) {
      auto v = ParseBool(key, value);
      if (v.ok()) {
        *field = *v;
      } else {
        st = v.status();
      }
    };
    if (key == "hosts") {
      c.url = std::string(absl::StripSuffix(value, "/"));
    } else if (key == "index") {
      c.index = value;
    } else if (key == "key.fields") {
      c.key_fields.clear();
      for (absl::string_view f : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
        c.key_fields.emplace_back(absl::StripAsciiWhitespace(f));
      }
    } else if (key == "document-id.key-delimiter") {
      c.key_delimiter = value;
    } else if (key == "version.field") {
      c.version_field = value;
    } else if (key == "version.type") {
      if (value == "external") {
        c.version_type = VersionType::kExternal;
      } else if (value == "external_gte") {
        c.version_type = VersionType::kExternalGte;
      } else {
        st = absl::InvalidArgumentError(absl::StrCat(
            "elasticsearch sink: version.type must be external or external_gte, got '", value,
            "'"));
      }
    } else if (key == "sink.bulk-flush.max-actions") {
      set_int(&c.max_actions, 1);
    } else if (key == "sink.bulk-flush.max-size") {
      auto v = ParseBytes(key, value);
      if (v.ok()) {
        c.max_bytes = *v;
      } else {
        st = v.status();
      }
    } else if (key == "sink.bulk-flush.interval") {
      set_int(&c.flush_interval_ms, 0);
    } else if (key == "sink.bulk-flush.backoff.max-retries") {
      set_int(&c.max_retries, 0);
    } else if (key == "sink.bulk-flush.backoff.delay") {
      set_int(&c.backoff_initial_ms, 0);
    } else if (key == "sink.bulk-flush.backoff.max-delay") {
      set_int(&c.backoff_max_ms, 0);
    } else if (key == "sink.failure-handler") {
      if (value == "fail") {
        c.failure_handler = FailureHandler::kFail;
      } else if (value == "dead-letter") {
        c.failure_handler = FailureHandler::kDeadLetter;
      } else {
        st = absl::InvalidArgumentError(absl::StrCat(
            "elasticsearch sink: sink.failure-handler must be fail or dead-letter, got '", value,
            "'"));
      }
    } else if (key == "sink.dead-letter.path") {
      c.dead_letter_path = value;
    } else if (key == "sink.refresh") {
      if (value != "false" && value != "true" && value != "wait_for") {
        st = absl::InvalidArgumentError(absl::StrCat(
            "elasticsearch sink: sink.refresh must be false, true or wait_for, got '", value,
            "'"));
      }
      c.refresh = value;
    } else if (key == "connection.timeout") {
      set_int(&c.connect_timeout_ms, 1);
    } else if (key == "connection.request-timeout") {
      set_int(&c.request_timeout_ms, 1);
    } else if (key == "username") {
      c.username = value;
    } else if (key == "password") {
      c.password = value;
    } else if (key == "tls.ca-file") {
      c.tls_ca_file = value;
    } else if (key == "tls.insecure") {
      set_bool(&c.tls_insecure);
    } else if (key == "index.create") {
      set_bool(&c.create_index);
    } else if (key == "index.mapping") {
      c.index_mapping = value;
    } else if (key == "index.settings") {
      c.index_settings = value;
    } else if (key == "format.decimal") {
      if (value == "string") {
        c.decimals_as_strings = true;
      } else if (value == "number") {
        c.decimals_as_strings = false;
      } else {
        st = absl::InvalidArgumentError(absl::StrCat(
            "elasticsearch sink: format.decimal must be string or number, got '", value, "'"));
      }
    } else {
      st = absl::InvalidArgumentError(
          absl::StrCat("elasticsearch sink: unknown option '", key, "'"));
    }
    if (!st.ok()) return st;
  }
  if (absl::Status st = c.Validate(); !st.ok()) return st;
  return c;
}

absl::StatusOr<ElasticsearchSinkConfig> ElasticsearchSinkConfig::FromJobArgs(
    const JobArgs& args, std::string_view prefix) {
  ElasticsearchOptions options;
  for (const auto& [key, value] : args.values()) {
    if (absl::StartsWith(key, absl::string_view(prefix.data(), prefix.size()))) {
      options[key.substr(prefix.size())] = value;
    }
  }
  return Parse(options);
}

absl::Status ElasticsearchSinkConfig::Validate() const {
  if (url.empty()) return absl::InvalidArgumentError("elasticsearch sink: 'hosts' is required");
  if (!absl::StartsWith(url, "http://") && !absl::StartsWith(url, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "elasticsearch sink: 'hosts' must start with http:// or https://, got '", url, "'"));
  }
  if (index.empty()) return absl::InvalidArgumentError("elasticsearch sink: 'index' is required");
  if (index != absl::AsciiStrToLower(index) || absl::StrContains(index, '/') ||
      absl::StrContains(index, ' ') || absl::StrContains(index, ',') ||
      absl::StrContains(index, '#') || absl::StrContains(index, '?') ||
      absl::StartsWith(index, "_") || absl::StartsWith(index, "-")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "elasticsearch sink: index name '", index,
        "' is not valid (lower case, no / , # ? or space, not starting with _ or -)"));
  }
  if (key_fields.empty()) {
    return absl::InvalidArgumentError(
        "elasticsearch sink: 'key.fields' is required (the document id is the primary key)");
  }
  if (key_delimiter.empty()) {
    return absl::InvalidArgumentError(
        "elasticsearch sink: 'document-id.key-delimiter' must not be empty");
  }
  if (failure_handler == FailureHandler::kDeadLetter && dead_letter_path.empty()) {
    // A callback may be supplied in code instead; the sink checks that at Create.
  }
  if (!username.empty() && password.empty()) {
    return absl::InvalidArgumentError("elasticsearch sink: 'username' given without 'password'");
  }
  if (backoff_max_ms < backoff_initial_ms) {
    return absl::InvalidArgumentError(
        "elasticsearch sink: sink.bulk-flush.backoff.max-delay is below backoff.delay");
  }
  return absl::OkStatus();
}

std::string DeriveMapping(const Schema& schema, bool decimals_as_strings) {
  std::string out = "{\"dynamic\":true,\"properties\":{";
  bool first = true;
  for (const Field& f : schema.fields) {
    const char* type = nullptr;
    switch (f.type) {
      case ValueType::kBool:
        type = R"({"type":"boolean"})";
        break;
      case ValueType::kInt32:
      case ValueType::kInt64:
        type = R"({"type":"long"})";
        break;
      case ValueType::kFloat64:
        type = R"({"type":"double"})";
        break;
      case ValueType::kDecimal:
        type = decimals_as_strings ? R"({"type":"keyword"})" : R"({"type":"double"})";
        break;
      case ValueType::kString:
      case ValueType::kUuid:
      case ValueType::kTime:
      case ValueType::kTimeTz:
      case ValueType::kJson:
        type = R"({"type":"keyword","ignore_above":8191})";
        break;
      case ValueType::kBytes:
        type = R"({"type":"binary"})";
        break;
      case ValueType::kDate:
        type = R"({"type":"date","format":"strict_date"})";
        break;
      case ValueType::kTimestamp:
      case ValueType::kTimestampTz:
        type = R"({"type":"date","format":"strict_date_optional_time"})";
        break;
      case ValueType::kNull:
      case ValueType::kUnavailable:
        break;
    }
    if (type == nullptr) continue;
    if (!first) out.push_back(',');
    first = false;
    kafka::AppendJsonString(f.name, &out);
    out.push_back(':');
    out.append(type);
  }
  out.append("}}");
  return out;
}

}  // namespace cdcflow::elasticsearch
