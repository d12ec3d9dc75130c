// The SDK's connector factories (cdcflow/connectors.h): the plain specs become the
// connectors' option maps, parsed and validated by the connectors' own Parse, so a spec
// and a `key=value` option mean exactly the same thing.

#include "cdcflow/connectors.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/elasticsearch/elasticsearch_sink.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"

namespace cdcflow {
namespace {

// Spec fields first; `options` entries override them.
void Merge(const ConnectorOptions& extra, std::map<std::string, std::string>* options) {
  for (const auto& [key, value] : extra) (*options)[key] = value;
}

void SetIfNotEmpty(std::map<std::string, std::string>* options, const char* key,
                   std::string value) {
  if (!value.empty()) (*options)[key] = std::move(value);
}

}  // namespace

ConnectorOptions OptionsFromArgs(const JobArgs& args, std::string_view prefix) {
  ConnectorOptions options;
  for (const auto& [key, value] : args.values()) {
    if (key.starts_with(prefix) && key.size() > prefix.size()) {
      options[key.substr(prefix.size())] = value;
    }
  }
  return options;
}

absl::StatusOr<SourceFactory> KafkaDebeziumSource(const KafkaSourceSpec& spec) {
  kafka::KafkaOptions options;
  SetIfNotEmpty(&options, "bootstrap.servers", spec.bootstrap_servers);
  SetIfNotEmpty(&options, "topics", absl::StrJoin(spec.topics, ","));
  SetIfNotEmpty(&options, "group.id", spec.group_id);
  SetIfNotEmpty(&options, "scan.startup.mode", spec.startup_mode);
  SetIfNotEmpty(&options, "dead-letter.policy", spec.dead_letter_policy);
  Merge(spec.options, &options);
  absl::StatusOr<kafka::KafkaSourceConfig> config = kafka::KafkaSourceConfig::Parse(options);
  if (!config.ok()) return config.status();
  kafka::ControlEventHandler handler;
  if (spec.on_control_event) {
    handler = [callback = spec.on_control_event](const kafka::KafkaControlEvent& e) {
      DebeziumControlEvent event;
      event.truncate = e.kind == debezium::EventKind::kTruncate;
      event.topic = e.topic;
      event.partition = e.partition;
      event.offset = e.offset;
      event.timestamp_ms = e.timestamp_ms;
      event.table = e.table;
      event.message_prefix = e.message_prefix;
      event.message_content = e.message_content;
      return callback(event);
    };
  }
  return kafka::KafkaDebeziumSourceFactory(*std::move(config), {}, std::move(handler));
}

absl::StatusOr<SinkFactory> KafkaSink(const KafkaSinkSpec& spec) {
  kafka::KafkaOptions options;
  SetIfNotEmpty(&options, "bootstrap.servers", spec.bootstrap_servers);
  SetIfNotEmpty(&options, "topic", spec.topic);
  SetIfNotEmpty(&options, "format", spec.format);
  SetIfNotEmpty(&options, "key.fields", absl::StrJoin(spec.key_fields, ","));
  Merge(spec.options, &options);
  absl::StatusOr<kafka::KafkaSinkConfig> config = kafka::KafkaSinkConfig::Parse(options);
  if (!config.ok()) return config.status();
  // The formatter checks the key fields against the schema: fail at build time, not
  // in every subtask's Open.
  absl::StatusOr<kafka::RowJsonFormatter> formatter =
      kafka::RowJsonFormatter::Create(config->format, spec.schema, config->key_fields);
  if (!formatter.ok()) return formatter.status();
  return kafka::KafkaSinkFactory(*std::move(config), spec.schema);
}

absl::StatusOr<SinkFactory> ElasticsearchSink(const ElasticsearchSinkSpec& spec) {
  elasticsearch::ElasticsearchOptions options;
  SetIfNotEmpty(&options, "hosts", spec.url);
  SetIfNotEmpty(&options, "index", spec.index);
  SetIfNotEmpty(&options, "key.fields", absl::StrJoin(spec.key_fields, ","));
  SetIfNotEmpty(&options, "sink.refresh", spec.refresh);
  Merge(spec.options, &options);
  absl::StatusOr<elasticsearch::ElasticsearchSinkConfig> config =
      elasticsearch::ElasticsearchSinkConfig::Parse(options);
  if (!config.ok()) return config.status();
  for (const std::string& key : config->key_fields) {
    if (spec.schema.IndexOf(key) < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "elasticsearch sink: key field '", key, "' is not a column of the schema"));
    }
  }
  return elasticsearch::ElasticsearchSinkFactory(*std::move(config), spec.schema);
}

}  // namespace cdcflow
