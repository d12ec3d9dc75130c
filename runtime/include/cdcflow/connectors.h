#pragma once
// Connectors for job plugins: the Kafka + Debezium source, the Kafka sink (Debezium
// envelope, changelog JSON or upsert JSON) and the Elasticsearch/OpenSearch sink.
//
//   absl::StatusOr<cdcflow::SourceFactory> orders = cdcflow::KafkaDebeziumSource(
//       {.bootstrap_servers = "127.0.0.1:9092", .topics = {"pg.public.orders"}});
//   if (!orders.ok()) return orders.status();
//   auto stream = job.Source("orders", *orders);
//   ...
//   absl::StatusOr<cdcflow::SinkFactory> es = cdcflow::ElasticsearchSink(
//       {.url = "http://127.0.0.1:9200", .index = "enriched_orders",
//        .key_fields = {"order_id"}, .schema = schema});
//
// The implementations live in the host process (the `cdcflow` binary, which links the
// connectors), so a plugin carries no Kafka or HTTP client of its own. The factory
// functions validate the configuration at once (kInvalidArgument naming the bad option)
// and never touch the network: connections open in each subtask's Open.
//
// Every spec has an `options` map for the less common settings: the option keys of the
// connector (documented in connectors/kafka/kafka_config.h and
// connectors/elasticsearch/elasticsearch_config.h, e.g. "scan.startup.mode",
// "properties.<librdkafka key>", "sink.bulk-flush.max-actions", "username"). An entry there
// overrides the struct field of the same meaning; an unknown key is an error.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cdcflow/export.h"
#include "cdcflow/job.h"
#include "cdcflow/job_args.h"
#include "cdcflow/row.h"

namespace cdcflow {

using ConnectorOptions = std::map<std::string, std::string>;

// The job arguments whose key starts with `prefix`, with the prefix removed:
// OptionsFromArgs(args, "kafka.") turns `kafka.properties.linger.ms=10` into
// {"properties.linger.ms": "10"}.
CDCFLOW_API ConnectorOptions OptionsFromArgs(const JobArgs& args, std::string_view prefix);

// Debezium change events from Kafka (JsonConverter, schemas on or off). Each partition
// is a split, spread over the source's subtasks by cdcflow; offsets are checkpointed.
// Rows: the table's columns in the order of the Debezium schema (the table's column
// order), kinds +I/-U/+U/-D; row timestamps are the Kafka record timestamps (ms).
// A Debezium truncate (op t) or logical decoding message (op m) event: not a row, so
// it reaches the job through KafkaSourceSpec::on_control_event instead.
struct DebeziumControlEvent {
  bool truncate = true;  // false: a logical decoding message
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;    // the Kafka record's
  std::string table;            // "<server>.<schema>.<table>" from the source block
  std::string message_prefix;   // messages only
  std::string message_content;  // messages only (bytes)
};

struct KafkaSourceSpec {
  std::string bootstrap_servers;    // host:port[,host:port...]
  std::vector<std::string> topics;  // or `options["topic-pattern"]`
  std::string group_id = "cdcflow"; // used for monitoring offset commits only
  // earliest-offset | latest-offset | timestamp | specific-offsets (see the options).
  std::string startup_mode = "earliest-offset";
  // fail (the job fails naming topic, partition, offset and reason) | dead-letter
  // (then options["dead-letter.topic"] is required).
  std::string dead_letter_policy = "fail";
  ConnectorOptions options;
  // Called on a source subtask's thread (shared by all subtasks) for every truncate
  // and message event; an error fails the job naming the event's position. Unset:
  // the source logs each one (topic, partition, offset) and counts it.
  std::function<absl::Status(const DebeziumControlEvent&)> on_control_event;
};
CDCFLOW_API absl::StatusOr<SourceFactory> KafkaDebeziumSource(const KafkaSourceSpec& spec);

// Changelog rows to one Kafka topic through an idempotent producer.
//   format "debezium-json"  {"before","after","op"} envelope per row
//          "changelog-json" {"op":"+I", <columns>}
//          "upsert-json"    {<columns>} for +I/+U, nothing for -U, a tombstone for -D;
//                           the key is {"<key field>": value, ...}. Put an
//                           UpsertMaterializer keyed on the same fields before it and
//                           give the topic cleanup.policy=compact.
struct KafkaSinkSpec {
  std::string bootstrap_servers;
  std::string topic;
  std::string format = "debezium-json";
  std::vector<std::string> key_fields;  // required for upsert-json
  Schema schema;                        // names of the rows' columns (JSON field names)
  ConnectorOptions options;
};
CDCFLOW_API absl::StatusOr<SinkFactory> KafkaSink(const KafkaSinkSpec& spec);

// Changelog rows as documents of one Elasticsearch 8 / OpenSearch 2 index (`_bulk`):
// +I/+U index the row as the document whose _id is the key fields' values (joined by
// "_"), -D deletes it, -U is skipped. Every write carries an external version that only
// grows per document. The index is created with a mapping derived from `schema` when
// missing. Route rows to the sink by the key (KeyBy the key fields) so that one subtask
// owns each document.
struct ElasticsearchSinkSpec {
  std::string url;  // http(s)://host:port
  std::string index;
  std::vector<std::string> key_fields;
  Schema schema;  // names and types of the rows' columns (document fields, mapping)
  // false (default) | wait_for | true: when written documents become searchable.
  std::string refresh = "false";
  ConnectorOptions options;
};
CDCFLOW_API absl::StatusOr<SinkFactory> ElasticsearchSink(const ElasticsearchSinkSpec& spec);

}  // namespace cdcflow
