#pragma once
// Configuration of the Elasticsearch/OpenSearch sink: parsed from string options
// (key names follow Flink's Elasticsearch connector where one exists), validated.
// Parsing never touches the network. Works with OpenSearch 2 and Elasticsearch 8
// (no mapping types; documents live under `_doc`).
//
// Options (job arguments carry them with a prefix, e.g. `es.hosts=...`, see FromJobArgs):
//   hosts                          base URL, http://host:port or https://host:port (required;
//                                  one URL: put a load balancer in front of a cluster)
//   index                          target index (required)
//   key.fields                     comma-separated primary-key columns (required); the
//                                  document id is their values joined with the delimiter
//   document-id.key-delimiter      default "_" (strings are used as is, so keys that
//                                  contain the delimiter can collide: pick another one)
//   version.field                  optional int64/int32 column holding the row's version
//                                  (e.g. a source position, or the per-key version an
//                                  UpsertMaterializer appends with append_version: the
//                                  choice for joined documents); without it the sink
//                                  keeps its own counter (see elasticsearch_sink.h)
//   version.type                   external (default: a write needs a larger version) |
//                                  external_gte (equal versions overwrite)
//   sink.bulk-flush.max-actions    rows per _bulk request (default 1000)
//   sink.bulk-flush.max-size       bytes per _bulk request (default 5mb; suffix kb/mb ok)
//   sink.bulk-flush.interval       ms a buffered row may wait for more rows (default 1000;
//                                  checked on each write and at every checkpoint)
//   sink.bulk-flush.backoff.max-retries  retries of a request or item (default 8)
//   sink.bulk-flush.backoff.delay  first backoff in ms, doubled per retry (default 100)
//   sink.bulk-flush.backoff.max-delay  cap of the backoff in ms (default 10000)
//   sink.failure-handler           fail (default) | dead-letter: what happens to an item
//                                  the cluster refuses for good (mapping error, ...)
//   sink.dead-letter.path          NDJSON file the dead letters are appended to (or a
//                                  callback given in ElasticsearchSinkOptions)
//   sink.refresh                   false (default) | wait_for | true (tests and demos)
//   connection.timeout             connect timeout ms (default 10000)
//   connection.request-timeout     whole request timeout ms (default 60000)
//   username, password             HTTP basic auth
//   tls.ca-file                    PEM bundle used to verify the server (https)
//   tls.insecure                   true: do not verify the certificate or host name
//   index.create                   true (default): create the index when missing
//   index.mapping                  JSON of the index's "mappings" object; default: derived
//                                  from the row schema (DeriveMapping)
//   index.settings                 JSON of the index's "settings" object (optional)
//   format.decimal                 string (default) | number: decimals as JSON strings
//                                  ("12.30", exact in every client; mapped keyword) or
//                                  as JSON numbers (clients parse them as doubles)

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/job_args.h"
#include "cdcflow/row.h"

namespace cdcflow::elasticsearch {

using ElasticsearchOptions = std::map<std::string, std::string>;

enum class FailureHandler { kFail, kDeadLetter };
enum class VersionType { kExternal, kExternalGte };

struct ElasticsearchSinkConfig {
  std::string url;  // without a trailing '/'
  std::string index;
  std::vector<std::string> key_fields;
  std::string key_delimiter = "_";
  std::string version_field;
  VersionType version_type = VersionType::kExternal;
  int64_t max_actions = 1000;
  int64_t max_bytes = 5 << 20;
  int64_t flush_interval_ms = 1000;
  int max_retries = 8;
  int64_t backoff_initial_ms = 100;
  int64_t backoff_max_ms = 10000;
  FailureHandler failure_handler = FailureHandler::kFail;
  std::string dead_letter_path;
  std::string refresh = "false";
  int64_t connect_timeout_ms = 10000;
  int64_t request_timeout_ms = 60000;
  std::string username;
  std::string password;
  std::string tls_ca_file;
  bool tls_insecure = false;
  bool create_index = true;
  std::string index_mapping;   // JSON object text, empty = derive from the schema
  std::string index_settings;  // JSON object text, optional
  bool decimals_as_strings = true;

  // Unknown keys are an error (a typo must not silently change behaviour).
  static absl::StatusOr<ElasticsearchSinkConfig> Parse(const ElasticsearchOptions& options);
  // The job arguments that start with `prefix`, prefix removed, then Parse.
  static absl::StatusOr<ElasticsearchSinkConfig> FromJobArgs(const JobArgs& args,
                                                             std::string_view prefix = "es.");
  absl::Status Validate() const;
  std::string_view version_type_name() const {
    return version_type == VersionType::kExternal ? "external" : "external_gte";
  }
};

// The "mappings" object for `schema`: explicit types, so that the first document
// cannot make the cluster guess (a decimal "12.30" guessed as float, a timestamp as
// text). strings, UUIDs, times, JSON -> keyword (ignore_above 8191 so a long value
// is kept in _source without failing the document); decimals -> keyword when
// written as strings (exact; scaled_float would round to a fixed scale and compare
// through a double) else double; int32/int64 -> long; float64 -> double; bool ->
// boolean; date -> date (strict_date); timestamps (naive or with offset) -> date
// (strict_date_optional_time: fractions beyond milliseconds stay exact in _source,
// the indexed value is truncated to ms); bytes -> binary. Columns of unknown type
// are left to dynamic mapping.
std::string DeriveMapping(const Schema& schema, bool decimals_as_strings);

}  // namespace cdcflow::elasticsearch
