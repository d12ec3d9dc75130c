#pragma once
// The Elasticsearch/OpenSearch sink: writes a changelog as upserts and deletes of
// documents through the `_bulk` API (NDJSON), one document per primary key.
//
//   +I, +U  `index` action with the full row as the document (_id = key fields)
//   -D      `delete` action for the row's _id
//   -U      nothing (the +U that follows replaces the document: upsert semantics)
//
// Versions. Every action carries `version_type=external` (or external_gte) and a
// version, so the cluster applies a write only when its version is larger than
// the stored one (a delete leaves a tombstone with its version for the index's
// gc_deletes period, 60 s by default). Where the version comes from:
//   - version.field / ElasticsearchSinkOptions::version_fn: a per-row version the
//     job supplies (a source position, an LSN). Then a replay after recovery or a
//     retried batch can never overwrite a newer document with an older one: the
//     cluster answers 409, which the sink counts (version_conflicts) and skips.
//   - by default, the sink's own counter: max(previous + 1, wall-clock micros),
//     seeded at Open (and never below the value restored from a checkpoint), so it
//     only grows per document across restarts as long as the clock does (one
//     subtask owns a key; a clock stepping back across a failover to another host
//     breaks the promise). A joined document has several sources whose positions
//     do not compare, which is why a per-key sequence is the default. It makes
//     retried requests harmless (same version -> 409) and a replay converges to
//     the latest row once the replay has passed (the replayed rows come in order).
//
// Delivery: rows are buffered and sent when max-actions or max-size is reached,
// when the oldest buffered row is older than the flush interval (checked at each
// WriteBatch: there is no timer thread), and at PrepareCommit/Finish, which
// return only when every buffered row is acknowledged: at-least-once, and with
// idempotent upserts by id + external versions replays are harmless. A request
// that fails with a connection error, HTTP 429 or 5xx is retried whole with
// exponential backoff; items that fail with 429/5xx are retried the same way;
// items refused for good (mapping errors, ...) go to the dead-letter callback or
// file under sink.failure-handler=dead-letter, else fail the sink with the
// reason. Nothing is dropped silently.
//
// Thread-compatible (one subtask thread).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/job.h"  // SinkFactory
#include "cdcflow/row.h"
#include "cdcflow/sink.h"
#include "connectors/elasticsearch/elasticsearch_client.h"
#include "connectors/elasticsearch/elasticsearch_config.h"

namespace cdcflow::elasticsearch {

// An item the cluster refused for good.
struct DeadLetter {
  std::string index;
  std::string id;
  std::string action;    // "index" or "delete"
  int64_t version = 0;
  long status = 0;       // NOLINT: the item's HTTP status (0: refused by the sink itself)
  std::string reason;    // the cluster's error object (JSON text) or the sink's message
  std::string document;  // JSON source for index actions, empty for deletes
};

struct ElasticsearchSinkOptions {
  // Per-row version; overrides version.field. Must grow per key.
  std::function<absl::StatusOr<int64_t>(const Row&)> version_fn;
  // Receives dead letters under failure-handler dead-letter (instead of the file).
  // A non-OK return fails the sink.
  std::function<absl::Status(const DeadLetter&)> dead_letter_fn;
  // Wall clock in microseconds (tests pin it). Default: system clock.
  std::function<int64_t()> now_micros;
  // Sleeps between retries (tests record them). Default: this_thread::sleep_for.
  std::function<void(int64_t ms)> sleep_ms;
  // Observes each _bulk request's round trip in seconds (retries included); optional.
  std::function<void(double seconds)> observe_request;
};

struct ElasticsearchSinkStats {
  int64_t indexed = 0;            // index actions acknowledged
  int64_t deleted = 0;            // delete actions acknowledged (not_found included)
  int64_t skipped = 0;            // -U rows
  int64_t version_conflicts = 0;  // 409: a newer version was already there
  int64_t dead_letters = 0;
  int64_t requests = 0;           // _bulk requests sent (retries included)
  int64_t retries = 0;            // request or item retries
};

class ElasticsearchSink {
 public:
  // Validates the key/version fields against `schema`, connects, and creates the
  // index with its mapping when missing (index.create).
  static absl::StatusOr<std::unique_ptr<ElasticsearchSink>> Create(
      const ElasticsearchSinkConfig& config, const Schema& schema,
      ElasticsearchSinkOptions options = {});
  ~ElasticsearchSink();

  absl::Status Write(const Row& row);
  absl::Status WriteBatch(const std::vector<Row>& rows);
  // Sends everything buffered and waits for every item's outcome.
  absl::Status Flush();
  // Flush; returns the version counter (restored as a floor by RestoreState).
  absl::StatusOr<std::string> PrepareCommit(int64_t checkpoint_id);
  absl::Status RestoreState(std::string_view state);
  absl::Status Finish() { return Flush(); }

  const ElasticsearchSinkStats& stats() const { return stats_; }
  size_t buffered_rows() const { return pending_.size(); }
  // The document id of `row` (key field values joined with the delimiter).
  absl::StatusOr<std::string> DocumentId(const Row& row) const;

 private:
  struct Item {
    bool is_delete = false;
    std::string id;
    int64_t version = 0;
    std::string document;  // empty for deletes
    int attempts = 0;
  };
  ElasticsearchSink(ElasticsearchSinkConfig config, Schema schema,
                    ElasticsearchSinkOptions options, std::unique_ptr<HttpClient> client);
  absl::Status EnsureIndex();
  absl::StatusOr<int64_t> NextVersion(const Row& row);
  void AppendDocument(const Row& row, std::string* out) const;
  void AppendAction(const Item& item, std::string* out) const;
  // One _bulk round for `items`: returns the items to retry (429/5xx), handles the rest.
  absl::StatusOr<std::vector<Item>> SendBulk(std::vector<Item>& items);
  absl::Status HandleDeadLetter(const Item& item, long status, std::string reason);  // NOLINT
  void Backoff(int attempt);
  int64_t NowMicros() const;

  ElasticsearchSinkConfig config_;
  Schema schema_;
  ElasticsearchSinkOptions options_;
  std::unique_ptr<HttpClient> client_;
  std::vector<int> key_indexes_;
  int version_index_ = -1;
  std::string bulk_path_;
  std::vector<Item> pending_;
  int64_t pending_bytes_ = 0;
  std::chrono::steady_clock::time_point oldest_pending_;
  int64_t last_version_ = 0;
  ElasticsearchSinkStats stats_;
  std::FILE* dead_letter_file_ = nullptr;
  std::string body_;  // reused request buffer
  bool items_exhausted_ = false;  // the last SendBulk failed on an item out of retries
};

// ElasticsearchSink as an SDK SinkFunction (one per sink subtask). Route rows by
// their primary key to the sink's subtasks so one subtask owns each document.
// Metrics (RuntimeContext::metrics(), documented in runtime/metrics/README.md):
// cdcflow_es_sink_bulk_requests_total, _indexed_total, _deleted_total,
// _version_conflicts_total (409s), _dead_letters_total, _retries_total, and
// cdcflow_sink_errors_total{sink="elasticsearch"} (calls that failed the sink).
class ElasticsearchSinkFunction final : public SinkFunction {
 public:
  ElasticsearchSinkFunction(ElasticsearchSinkConfig config, Schema schema,
                            ElasticsearchSinkOptions options = {})
      : config_(std::move(config)), schema_(std::move(schema)), options_(std::move(options)) {}
  absl::Status Open(RuntimeContext& ctx) override;
  absl::Status WriteBatch(RowBatch& batch) override;
  absl::StatusOr<std::string> PrepareCommit(int64_t checkpoint_id) override;
  absl::Status RestoreState(std::string_view state) override;
  absl::Status Finish() override;
  absl::Status Close() override;
  ElasticsearchSink* sink() { return sink_.get(); }

 private:
  ElasticsearchSinkConfig config_;
  Schema schema_;
  ElasticsearchSinkOptions options_;
  // Brings the counters up to sink_->stats(); counts `status` when it is an error.
  absl::Status Publish(absl::Status status);

  std::unique_ptr<ElasticsearchSink> sink_;
  std::string restored_;
  struct Counters {
    MetricCounter* requests = nullptr;
    MetricCounter* indexed = nullptr;
    MetricCounter* deleted = nullptr;
    MetricCounter* conflicts = nullptr;
    MetricCounter* dead_letters = nullptr;
    MetricCounter* retries = nullptr;
    MetricCounter* errors = nullptr;
  } counters_;
};

// A factory for Stream::SinkTo: a fresh sink per subtask.
SinkFactory ElasticsearchSinkFactory(ElasticsearchSinkConfig config, Schema schema,
                                     ElasticsearchSinkOptions options = {});

}  // namespace cdcflow::elasticsearch
