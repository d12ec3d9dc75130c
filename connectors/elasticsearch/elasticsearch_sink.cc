#include "connectors/elasticsearch/elasticsearch_sink.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cdcflow/sink_metrics.h"
#include "connectors/kafka/row_json.h"
#include "nlohmann/json.hpp"

namespace cdcflow::elasticsearch {

using kafka::AppendJsonString;
using kafka::AppendJsonValue;

ElasticsearchSink::ElasticsearchSink(ElasticsearchSinkConfig config, Schema schema,
                                     ElasticsearchSinkOptions options,
                                     std::unique_ptr<HttpClient> client)
    : config_(std::move(config)),
      schema_(std::move(schema)),
      options_(std::move(options)),
      client_(std::move(client)) {}

ElasticsearchSink::~ElasticsearchSink() {
  if (dead_letter_file_ != nullptr) std::fclose(dead_letter_file_);
}

absl::StatusOr<std::unique_ptr<ElasticsearchSink>> ElasticsearchSink::Create(
    const ElasticsearchSinkConfig& config, const Schema& schema,
    ElasticsearchSinkOptions options) {
  if (absl::Status st = config.Validate(); !st.ok()) return st;
  std::vector<int> keys;
  for (const std::string& name : config.key_fields) {
    int i = schema.IndexOf(name);
    if (i < 0) {
      return absl::InvalidArgumentError(absl::StrCat("elasticsearch sink: key field '", name,
                                                     "' is not a column of the rows"));
    }
    keys.push_back(i);
  }
  int version_index = -1;
  if (!config.version_field.empty() && !options.version_fn) {
    version_index = schema.IndexOf(config.version_field);
    if (version_index < 0) {
      return absl::InvalidArgumentError(absl::StrCat("elasticsearch sink: version.field '",
                                                     config.version_field,
                                                     "' is not a column of the rows"));
    }
    ValueType t = schema.fields[version_index].type;
    if (t != ValueType::kInt64 && t != ValueType::kInt32 && t != ValueType::kNull) {
      return absl::InvalidArgumentError(absl::StrCat("elasticsearch sink: version.field '",
                                                     config.version_field, "' is ",
                                                     std::string(ValueTypeName(t)), ", not an integer"));
    }
  }
  if (config.failure_handler == FailureHandler::kDeadLetter && !options.dead_letter_fn &&
      config.dead_letter_path.empty()) {
    return absl::InvalidArgumentError(
        "elasticsearch sink: sink.failure-handler=dead-letter needs sink.dead-letter.path");
  }
  HttpClientOptions http;
  http.base_url = config.url;
  http.username = config.username;
  http.password = config.password;
  http.ca_file = config.tls_ca_file;
  http.insecure = config.tls_insecure;
  http.connect_timeout_ms = config.connect_timeout_ms;
  http.request_timeout_ms = config.request_timeout_ms;
  auto client = HttpClient::Create(std::move(http));
  if (!client.ok()) return client.status();
  std::unique_ptr<ElasticsearchSink> sink(
      new ElasticsearchSink(config, schema, std::move(options), std::move(*client)));
  sink->key_indexes_ = std::move(keys);
  sink->version_index_ = version_index;
  sink->bulk_path_ = absl::StrCat("/", config.index,
                                  "/_bulk?filter_path=errors,items.*.status,items.*.error");
  if (config.refresh != "false") absl::StrAppend(&sink->bulk_path_, "&refresh=", config.refresh);
  if (config.failure_handler == FailureHandler::kDeadLetter && !sink->options_.dead_letter_fn) {
    sink->dead_letter_file_ = std::fopen(config.dead_letter_path.c_str(), "a");
    if (sink->dead_letter_file_ == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "elasticsearch sink: cannot open dead-letter file '", config.dead_letter_path, "'"));
    }
  }
  sink->last_version_ = sink->NowMicros() - 1;  // the first version is the clock at Open
  if (config.create_index) {
    if (absl::Status st = sink->EnsureIndex(); !st.ok()) return st;
  }
  return sink;
}

int64_t ElasticsearchSink::NowMicros() const {
  if (options_.now_micros) return options_.now_micros();
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ElasticsearchSink::Backoff(int attempt) {
  int64_t ms = config_.backoff_initial_ms;
  for (int i = 0; i < attempt && ms < config_.backoff_max_ms; ++i) ms *= 2;
  ms = std::min(ms, config_.backoff_max_ms);
  if (options_.sleep_ms) {
    options_.sleep_ms(ms);
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
}

absl::Status ElasticsearchSink::EnsureIndex() {
  std::string path = absl::StrCat("/", config_.index);
  for (int attempt = 0;; ++attempt) {
    absl::Status st;
    auto head = client_->Send("HEAD", path);
    if (head.ok() && head->status == 200) return absl::OkStatus();
    if (head.ok() && head->status == 404) {
      std::string body = "{";
      if (!config_.index_settings.empty()) {
        absl::StrAppend(&body, "\"settings\":", config_.index_settings, ",");
      }
      absl::StrAppend(&body, "\"mappings\":",
                      config_.index_mapping.empty()
                          ? DeriveMapping(schema_, config_.decimals_as_strings)
                          : config_.index_mapping,
                      "}");
      auto put = client_->Send("PUT", path, body);
      if (put.ok()) {
        // Another subtask may have created it first.
        if (put->status == 400 && absl::StrContains(put->body, "resource_already_exists")) {
          return absl::OkStatus();
        }
        st = HttpStatusToStatus(put->status, "PUT", path, put->body);
        if (st.ok()) return st;
      } else {
        st = put.status();
      }
    } else {
      st = head.ok() ? HttpStatusToStatus(head->status, "HEAD", path, head->body) : head.status();
    }
    if (!absl::IsUnavailable(st) || attempt >= config_.max_retries) {
      return absl::Status(st.code(),
                          absl::StrCat("elasticsearch sink: creating index '", config_.index,
                                       "': ", st.message()));
    }
    Backoff(attempt);
  }
}

absl::StatusOr<std::string> ElasticsearchSink::DocumentId(const Row& row) const {
  std::string id;
  for (size_t k = 0; k < key_indexes_.size(); ++k) {
    const Value& v = row.fields[key_indexes_[k]];
    if (k > 0) id.append(config_.key_delimiter);
    switch (v.type()) {
      case ValueType::kNull:
        return absl::InvalidArgumentError(absl::StrCat(
            "elasticsearch sink: key field '", config_.key_fields[k], "' is null in ",
            row.ToString()));
      case ValueType::kUnavailable:
        return absl::InvalidArgumentError(absl::StrCat(
            "elasticsearch sink: key field '", config_.key_fields[k], "' is unavailable in ",
            row.ToString()));
      case ValueType::kString:
        id.append(v.as_string());
        break;
      default:
        id.append(v.ToString());
    }
  }
  if (id.size() > 512) {
    return absl::InvalidArgumentError(absl::StrCat(
        "elasticsearch sink: document id longer than 512 bytes: ", id.substr(0, 64), "..."));
  }
  return id;
}

absl::StatusOr<int64_t> ElasticsearchSink::NextVersion(const Row& row) {
  int64_t v;
  if (options_.version_fn) {
    auto r = options_.version_fn(row);
    if (!r.ok()) return r.status();
    v = *r;
  } else if (version_index_ >= 0) {
    const Value& f = row.fields[version_index_];
    if (f.type() == ValueType::kInt64) {
      v = f.as_int64();
    } else if (f.type() == ValueType::kInt32) {
      v = f.as_int32();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("elasticsearch sink: version field '",
                                                     config_.version_field,
                                                     "' is not an integer in ", row.ToString()));
    }
  } else {
    last_version_ = std::max(last_version_ + 1, NowMicros());
    return last_version_;
  }
  if (v < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("elasticsearch sink: negative version ", v, " for ", row.ToString()));
  }
  return v;
}

void ElasticsearchSink::AppendDocument(const Row& row, std::string* out) const {
  out->push_back('{');
  for (size_t i = 0; i < row.fields.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(schema_.fields[i].name, out);
    out->push_back(':');
    const Value& v = row.fields[i];
    if (v.type() == ValueType::kDecimal && config_.decimals_as_strings) {
      AppendJsonString(v.as_decimal().ToString(), out);
    } else {
      AppendJsonValue(v, out);
    }
  }
  out->push_back('}');
}

void ElasticsearchSink::AppendAction(const Item& item, std::string* out) const {
  out->append(item.is_delete ? "{\"delete\":{\"_id\":" : "{\"index\":{\"_id\":");
  AppendJsonString(item.id, out);
  absl::StrAppend(out, ",\"version\":", item.version, ",\"version_type\":\"",
                  std::string(config_.version_type_name()), "\"}}\n");
  if (!item.is_delete) {
    out->append(item.document);
    out->push_back('\n');
  }
}

absl::Status ElasticsearchSink::HandleDeadLetter(const Item& item, long status,  // NOLINT
                                                 std::string reason) {
  std::string what = absl::StrCat(item.is_delete ? "delete" : "index", " of id '", item.id,
                                  "' version ", item.version, " in index '", config_.index,
                                  "' refused");
  if (status != 0) absl::StrAppend(&what, " with HTTP ", status);
  if (config_.failure_handler == FailureHandler::kFail) {
    return absl::FailedPreconditionError(
        absl::StrCat("elasticsearch sink: ", what, ": ", reason));
  }
  DeadLetter letter{config_.index, item.id, item.is_delete ? "delete" : "index", item.version,
                    status, std::move(reason), item.document};
  ++stats_.dead_letters;
  if (options_.dead_letter_fn) return options_.dead_letter_fn(letter);
  std::string line = "{\"index\":";
  AppendJsonString(letter.index, &line);
  line.append(",\"id\":");
  AppendJsonString(letter.id, &line);
  absl::StrAppend(&line, ",\"action\":\"", letter.action, "\",\"version\":", letter.version,
                  ",\"status\":", letter.status, ",\"reason\":");
  AppendJsonString(letter.reason, &line);
  line.append(",\"document\":");
  if (letter.document.empty()) {
    line.append("null");
  } else {
    line.append(letter.document);  // already JSON
  }
  line.append("}\n");
  if (std::fwrite(line.data(), 1, line.size(), dead_letter_file_) != line.size() ||
      std::fflush(dead_letter_file_) != 0) {
    return absl::InternalError(absl::StrCat("elasticsearch sink: writing dead-letter file '",
                                            config_.dead_letter_path, "' failed"));
  }
  return absl::OkStatus();
}

absl::Status ElasticsearchSink::Write(const Row& row) {
  if (row.fields.size() != schema_.fields.size()) {
    return absl::InvalidArgumentError(absl::StrCat("elasticsearch sink: row has ",
                                                   row.fields.size(), " fields, the schema ",
                                                   schema_.fields.size(), ": ", row.ToString()));
  }
  if (row.kind == RowKind::kUpdateBefore) {
    ++stats_.skipped;
    return absl::OkStatus();
  }
  Item item;
  item.is_delete = row.kind == RowKind::kDelete;
  absl::Status bad;
  auto id = DocumentId(row);
  if (id.ok()) {
    item.id = std::move(*id);
    auto version = NextVersion(row);
    if (version.ok()) {
      item.version = *version;
    } else {
      bad = version.status();
    }
  } else {
    bad = id.status();
  }
  if (bad.ok() && !item.is_delete) {
    for (size_t i = 0; i < row.fields.size(); ++i) {
      if (row.fields[i].type() == ValueType::kUnavailable) {
        // Writing the placeholder would overwrite the real value in the document.
        bad = absl::InvalidArgumentError(absl::StrCat(
            "elasticsearch sink: column '", schema_.fields[i].name,
            "' is unavailable (Debezium's unchanged-TOAST placeholder) and the sink writes "
            "whole documents: ",
            row.ToString()));
        break;
      }
    }
    if (bad.ok()) AppendDocument(row, &item.document);
  }
  if (!bad.ok()) {
    if (config_.failure_handler == FailureHandler::kFail) return bad;
    if (item.document.empty() && !item.is_delete) AppendDocument(row, &item.document);
    return HandleDeadLetter(item, 0, std::string(bad.message()));
  }
  if (pending_.empty()) oldest_pending_ = std::chrono::steady_clock::now();
  pending_bytes_ += static_cast<int64_t>(item.id.size() + item.document.size() + 80);
  pending_.push_back(std::move(item));
  if (static_cast<int64_t>(pending_.size()) >= config_.max_actions ||
      pending_bytes_ >= config_.max_bytes) {
    return Flush();
  }
  return absl::OkStatus();
}

absl::Status ElasticsearchSink::WriteBatch(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    if (absl::Status st = Write(row); !st.ok()) return st;
  }
  if (!pending_.empty() &&
      std::chrono::steady_clock::now() - oldest_pending_ >=
          std::chrono::milliseconds(config_.flush_interval_ms)) {
    return Flush();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ElasticsearchSink::Item>> ElasticsearchSink::SendBulk(
    std::vector<Item>& items) {
  items_exhausted_ = false;
  body_.clear();
  for (const Item& item : items) AppendAction(item, &body_);
  ++stats_.requests;
  const absl::Time sent = absl::Now();
  auto response = client_->SendOk("POST", bulk_path_, body_, "application/x-ndjson");
  if (options_.observe_request) options_.observe_request(absl::ToDoubleSeconds(absl::Now() - sent));
  if (!response.ok()) return response.status();
  nlohmann::json json = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InternalError(absl::StrCat("elasticsearch sink: _bulk answered no JSON object: ",
                                            response->body.substr(0, 500)));
  }
  std::vector<Item> retry;
  auto errors = json.find("errors");
  bool any_error = errors == json.end() || !errors->is_boolean() || errors->get<bool>();
  if (!any_error) {
    for (const Item& item : items) ++(item.is_delete ? stats_.deleted : stats_.indexed);
    return retry;
  }
  auto results = json.find("items");
  if (results == json.end() || !results->is_array() || results->size() != items.size()) {
    return absl::InternalError(absl::StrCat("elasticsearch sink: _bulk answered ",
                                            results == json.end() ? 0 : results->size(),
                                            " item results for ", items.size(), " actions: ",
                                            response->body.substr(0, 500)));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const nlohmann::json& r = (*results)[i];
    if (!r.is_object() || r.empty()) {
      return absl::InternalError("elasticsearch sink: _bulk item result is not an object");
    }
    const nlohmann::json& inner = r.begin().value();
    long status = inner.value("status", 0L);  // NOLINT
    Item& item = items[i];
    if ((status >= 200 && status < 300) || (item.is_delete && status == 404)) {
      ++(item.is_delete ? stats_.deleted : stats_.indexed);
    } else if (status == 409) {
      ++stats_.version_conflicts;
    } else {
      std::string reason = inner.contains("error") ? inner["error"].dump() : "(no reason given)";
      if (IsRetryableHttpStatus(status)) {
        if (item.attempts >= config_.max_retries) {
          items_exhausted_ = true;
          return absl::UnavailableError(absl::StrCat(
              "elasticsearch sink: ", item.is_delete ? "delete" : "index", " of id '", item.id,
              "' still failing after ", item.attempts, " retries: HTTP ", status, " ", reason));
        }
        ++item.attempts;
        retry.push_back(item);  // a copy: `items` stays whole if a later item fails the sink
      } else {
        if (absl::Status st = HandleDeadLetter(item, status, std::move(reason)); !st.ok()) {
          return st;
        }
      }
    }
  }
  return retry;
}

absl::Status ElasticsearchSink::Flush() {
  std::vector<Item> items = std::move(pending_);
  pending_.clear();
  pending_bytes_ = 0;
  int request_attempt = 0;
  int item_round = 0;
  while (!items.empty()) {
    auto result = SendBulk(items);
    if (!result.ok()) {
      if (absl::IsUnavailable(result.status()) && request_attempt < config_.max_retries &&
          !items_exhausted_) {
        Backoff(request_attempt++);
        ++stats_.retries;
        continue;
      }
      pending_ = std::move(items);  // kept: a later Flush may try again
      return absl::Status(result.status().code(),
                          absl::StrCat(result.status().message(),
                                       request_attempt > 0
                                           ? absl::StrCat(" (after ", request_attempt, " retries)")
                                           : ""));
    }
    items = std::move(*result);
    if (!items.empty()) {
      stats_.retries += static_cast<int64_t>(items.size());
      Backoff(item_round++);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ElasticsearchSink::PrepareCommit(int64_t /*checkpoint_id*/) {
  if (absl::Status st = Flush(); !st.ok()) return st;
  if (dead_letter_file_ != nullptr && std::fflush(dead_letter_file_) != 0) {
    return absl::InternalError("elasticsearch sink: flushing the dead-letter file failed");
  }
  return absl::StrCat(last_version_);
}

absl::Status ElasticsearchSink::RestoreState(std::string_view state) {
  if (state.empty()) return absl::OkStatus();
  int64_t v = 0;
  auto [p, ec] = std::from_chars(state.data(), state.data() + state.size(), v);
  if (ec != std::errc() || p != state.data() + state.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("elasticsearch sink: bad checkpoint state '", std::string(state), "'"));
  }
  last_version_ = std::max(last_version_, v);
  return absl::OkStatus();
}

absl::Status ElasticsearchSinkFunction::Open(RuntimeContext& ctx) {
  MetricGroup& group = ctx.metrics();
  struct Spec {
    MetricCounter** handle;
    const char* name;
    const char* help;
  };
  const Spec specs[] = {
      {&counters_.requests, "cdcflow_es_sink_bulk_requests_total", "_bulk requests sent."},
      {&counters_.indexed, "cdcflow_es_sink_indexed_total", "Index actions acknowledged."},
      {&counters_.deleted, "cdcflow_es_sink_deleted_total", "Delete actions acknowledged."},
      {&counters_.conflicts, "cdcflow_es_sink_version_conflicts_total",
       "Actions answered 409 (a newer version was already indexed) and skipped."},
      {&counters_.dead_letters, "cdcflow_es_sink_dead_letters_total",
       "Actions refused for good and sent to the dead-letter handler."},
      {&counters_.retries, "cdcflow_es_sink_retries_total", "Request and item retries."},
  };
  for (const Spec& spec : specs) {
    auto c = group.Counter(spec.name, spec.help);
    if (!c.ok()) return c.status();
    *spec.handle = *c;
  }
  auto errors = group.Counter(kSinkErrors, kSinkErrorsHelp, SinkLabels("elasticsearch"));
  if (!errors.ok()) return errors.status();
  counters_.errors = *errors;
  auto latency = group.Histogram(kSinkRequestLatency, kSinkRequestLatencyHelp,
                                 SinkLabels("elasticsearch"));
  if (!latency.ok()) return latency.status();
  ElasticsearchSinkOptions options = options_;
  options.observe_request = [h = *latency](double seconds) { h->Observe(seconds); };
  auto sink = ElasticsearchSink::Create(config_, schema_, std::move(options));
  if (!sink.ok()) {
    counters_.errors->Increment();
    return sink.status();
  }
  sink_ = std::move(*sink);
  return absl::OkStatus();
}

absl::Status ElasticsearchSinkFunction::Publish(absl::Status status) {
  if (!status.ok() && counters_.errors != nullptr) counters_.errors->Increment();
  if (sink_ == nullptr || counters_.requests == nullptr) return status;
  const ElasticsearchSinkStats& st = sink_->stats();
  auto advance = [](MetricCounter* c, int64_t total) {
    const auto target = static_cast<uint64_t>(std::max<int64_t>(0, total));
    if (target > c->Value()) c->Increment(target - c->Value());
  };
  advance(counters_.requests, st.requests);
  advance(counters_.indexed, st.indexed);
  advance(counters_.deleted, st.deleted);
  advance(counters_.conflicts, st.version_conflicts);
  advance(counters_.dead_letters, st.dead_letters);
  advance(counters_.retries, st.retries);
  return status;
}

absl::Status ElasticsearchSinkFunction::WriteBatch(RowBatch& batch) {
  return Publish(sink_->WriteBatch(batch.rows()));
}

absl::StatusOr<std::string> ElasticsearchSinkFunction::PrepareCommit(int64_t checkpoint_id) {
  absl::StatusOr<std::string> state = sink_->PrepareCommit(checkpoint_id);
  Publish(state.status()).IgnoreError();
  return state;
}

absl::Status ElasticsearchSinkFunction::RestoreState(std::string_view state) {
  return sink_->RestoreState(state);
}

absl::Status ElasticsearchSinkFunction::Finish() { return Publish(sink_->Finish()); }

absl::Status ElasticsearchSinkFunction::Close() {
  sink_.reset();
  return absl::OkStatus();
}

SinkFactory ElasticsearchSinkFactory(ElasticsearchSinkConfig config, Schema schema,
                                     ElasticsearchSinkOptions options) {
  return [config = std::move(config), schema = std::move(schema),
          options = std::move(options)]() -> std::unique_ptr<SinkFunction> {
    return std::make_unique<ElasticsearchSinkFunction>(config, schema, options);
  };
}

}  // namespace cdcflow::elasticsearch
