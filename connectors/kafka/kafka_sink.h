#pragma once
// The Kafka sink: writes changelog rows to one topic through an idempotent
// producer, in one of the formats of row_json.h.
//
// Commit protocol (the same split as cdcflow::SinkFunction):
//   Write*          enqueue records (batched by librdkafka: linger/batch settings)
//   PrepareCommit(n) flush: every record written before checkpoint n is
//                   acknowledged by the brokers, or the call fails; returns the
//                   state to keep in checkpoint n
//   Commit(n)       checkpoint n is complete job-wide
// Today the producer is idempotent (at-least-once across restarts, no
// duplicates from retries) and Commit has nothing to do. Exactly-once keeps this
// split: Open begins a transaction (transactional.id = prefix + subtask),
// PrepareCommit flushes and returns the transactional id + epoch, Commit calls
// commit_transaction and begins the next, RestoreState re-commits or aborts.
//
// A failed delivery is never dropped: it surfaces from the next Write or from
// PrepareCommit/Finish, naming topic, partition and the broker's reason.
// Thread-compatible (one subtask thread).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/row.h"
#include "cdcflow/job.h"  // SinkFactory
#include "cdcflow/sink.h"
#include "connectors/kafka/kafka_config.h"
#include "connectors/kafka/kafka_producer.h"
#include "connectors/kafka/row_json.h"

namespace cdcflow::kafka {

struct KafkaSinkStats {
  int64_t records = 0;     // records enqueued (values and tombstones)
  int64_t tombstones = 0;  // upsert deletes
  int64_t skipped = 0;     // rows that produce no record (upsert -U)
  int64_t delivered = 0;   // acknowledged by the brokers
  int64_t failed = 0;      // delivery failures (each one also fails the sink)
};

class KafkaSink {
 public:
  // `schema` names the rows' columns (and locates the key fields).
  static absl::StatusOr<std::unique_ptr<KafkaSink>> Create(const KafkaSinkConfig& config,
                                                           const Schema& schema);

  absl::Status Write(const Row& row);
  absl::Status WriteBatch(const std::vector<Row>& rows);
  absl::StatusOr<std::string> PrepareCommit(int64_t checkpoint_id);
  absl::Status Commit(int64_t checkpoint_id);
  // End of input: like PrepareCommit + Commit.
  absl::Status Finish();

  KafkaSinkStats stats() const;
  KafkaProducer& producer() { return *producer_; }

 private:
  KafkaSink(KafkaSinkConfig config, RowJsonFormatter formatter)
      : config_(std::move(config)), formatter_(std::move(formatter)) {}

  KafkaSinkConfig config_;
  RowJsonFormatter formatter_;
  std::unique_ptr<KafkaProducer> producer_;
  rd_kafka_topic_t* topic_ = nullptr;
  FormattedRecord record_;  // reused buffers
  int64_t records_ = 0;
  int64_t tombstones_ = 0;
  int64_t skipped_ = 0;
};

// KafkaSink as an SDK SinkFunction (one per sink subtask): opens the producer
// in Open, maps WriteBatch/PrepareCommit/Commit/Finish one to one.
class KafkaSinkFunction final : public SinkFunction {
 public:
  KafkaSinkFunction(KafkaSinkConfig config, Schema schema)
      : config_(std::move(config)), schema_(std::move(schema)) {}
  absl::Status Open(RuntimeContext& ctx) override;
  absl::Status WriteBatch(RowBatch& batch) override;
  absl::StatusOr<std::string> PrepareCommit(int64_t checkpoint_id) override;
  absl::Status Commit(int64_t checkpoint_id) override;
  absl::Status Finish() override;
  absl::Status Close() override;
  KafkaSink* sink() { return sink_.get(); }

 private:
  KafkaSinkConfig config_;
  Schema schema_;
  std::unique_ptr<KafkaSink> sink_;
};

// A factory for Stream::SinkTo: a fresh sink per subtask.
SinkFactory KafkaSinkFactory(KafkaSinkConfig config, Schema schema);

}  // namespace cdcflow::kafka
