#pragma once
// The Kafka sink: writes changelog rows to one topic, in one of the formats of
// row_json.h, at-least-once (idempotent producer, the default) or exactly-once
// (transactions aligned to checkpoints, two-phase commit).
//
// Commit protocol (the split of cdcflow::SinkFunction):
//   Write*           enqueue records
//   PrepareCommit(n) flush: every record written before checkpoint n is acknowledged
//                    by the brokers, or the call fails; returns the state for checkpoint n
//   Commit(n)        checkpoint n is complete job-wide
//   RestoreState(s)  restart from the checkpoint whose PrepareCommit returned s
//
// At-least-once: PrepareCommit = flush, Commit and RestoreState do nothing; a restart
// re-sends what followed the checkpoint (duplicates, never losses).
//
// Exactly-once (sink.delivery-guarantee = exactly-once): each subtask owns a pool of
// transactional ids <prefix>-<vertex>-<subtask>-<k>, k < pool size, one librdkafka
// producer each. Rows go into the open transaction of one producer. PrepareCommit(n)
// flushes it, adds a commit marker to it (below) and keeps it open ("pre-committed");
// rows after barrier n go to the next free producer's transaction. Commit(n) commits
// every pre-committed transaction of checkpoints <= n, in order.
//
// librdkafka cannot resume a pre-committed transaction after a restart (no API to
// adopt a producer id/epoch; KIP-939 is not in librdkafka 2.0), so a crash between
// "checkpoint n complete" and "transaction n committed" aborts transaction n. The
// sink closes that window by replay instead of resumption:
//   - commit marker: every transaction also commits, through
//     send_offsets_to_transaction, offset <sequence> of (topic, partition 0) in the
//     private consumer group <prefix>-<vertex>-<subtask>; the marker becomes visible
//     atomically with the transaction's records, so "committed offset >= sequence"
//     is exactly "this transaction (or its replay) committed";
//   - the checkpoint state lists each pre-committed transaction with its sequence and
//     the offsets of its records (delivery reports give them; aborted records stay in
//     the log);
//   - RestoreState fences every transactional id of the subtask (init_transactions
//     aborts what was open), reads the marker, and for each listed transaction whose
//     marker is missing reads its records back (read_uncommitted, exact offsets) and
//     re-produces them in a new transaction that commits them with the same marker.
// Replaying twice (crash during restore) is harmless: the marker says it committed.
// Residual risks are in README.md ("Exactly-once").
//
// A failed delivery is never dropped: it surfaces from the next Write or from
// PrepareCommit/Commit/Finish, naming topic, partition and the broker's reason.
// Thread-compatible (one subtask thread).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/job.h"  // SinkFactory
#include "cdcflow/metrics.h"
#include "cdcflow/row.h"
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
  // Exactly-once only.
  int64_t transactions_committed = 0;
  int64_t transactions_replayed = 0;  // on restore: aborted pre-committed ones re-produced
  int64_t records_replayed = 0;
  int pending_transactions = 0;  // pre-committed, awaiting Commit
};

// Which subtask a sink instance is (names its transactional ids).
struct KafkaSinkScope {
  std::string vertex = "sink";
  int subtask = 0;
  int parallelism = 1;
  // Per-record produce-to-acknowledgement latency (optional; outlives the sink).
  MetricHistogram* delivery_latency = nullptr;
};

// One pre-committed transaction as recorded in a checkpoint.
struct PreparedTransaction {
  int64_t checkpoint_id = 0;
  int64_t sequence = 0;  // its commit marker
  int32_t slot = 0;      // transactional id <prefix>-<vertex>-<subtask>-<slot>
  int64_t records = 0;
  PartitionOffsets offsets;  // of its records in the sink's topic
};

// The exactly-once sink's checkpoint state (PrepareCommit's bytes): versioned,
// CRC-checked. An at-least-once sink's state is empty.
struct KafkaSinkState {
  std::string topic;
  std::string vertex;
  int32_t subtask = 0;
  int32_t parallelism = 1;
  int32_t pool_size = 0;
  int64_t next_sequence = 1;
  std::vector<PreparedTransaction> pending;  // in commit order

  std::string Serialize() const;
  static absl::StatusOr<KafkaSinkState> Deserialize(std::string_view bytes);
};

class KafkaSink {
 public:
  // `schema` names the rows' columns (and locates the key fields). Creating an
  // exactly-once sink touches no broker; the first call that needs a transaction
  // (or RestoreState) fences the subtask's transactional ids.
  static absl::StatusOr<std::unique_ptr<KafkaSink>> Create(const KafkaSinkConfig& config,
                                                           const Schema& schema,
                                                           KafkaSinkScope scope = {});
  ~KafkaSink();

  absl::Status Write(const Row& row);
  absl::Status WriteBatch(const std::vector<Row>& rows);
  // Exactly-once: fails (kResourceExhausted, the transaction stays open and the next
  // PrepareCommit includes its rows) when pool-size - 1 transactions await Commit.
  absl::StatusOr<std::string> PrepareCommit(int64_t checkpoint_id);
  absl::Status Commit(int64_t checkpoint_id);
  // May be called more than once (rescale: once per old subtask's state). Acts on
  // the pending transactions of old subtask j iff j % parallelism == our subtask, and
  // fences the transactional ids of every such j. Call before any Write.
  absl::Status RestoreState(std::string_view state);
  // End of input: everything written becomes visible (commits every transaction).
  absl::Status Finish();
  // Cancel/failure: aborts the open and the pre-committed transactions (a restore
  // replays the pre-committed ones its checkpoint lists). Best effort, bounded wait.
  void Abort();

  KafkaSinkStats stats() const;
  // The at-least-once producer (null in exactly-once mode).
  KafkaProducer* producer() { return producer_.get(); }
  // <prefix>-<vertex>-<subtask>-<slot>, and the marker group of a subtask.
  std::function<void(double)> LatencyObserver() const;
  std::string TransactionalId(int subtask, int slot) const;
  std::string MarkerGroup(int subtask) const;

 private:
  KafkaSink(KafkaSinkConfig config, RowJsonFormatter formatter, KafkaSinkScope scope)
      : config_(std::move(config)), formatter_(std::move(formatter)), scope_(std::move(scope)) {}

  absl::StatusOr<KafkaProducer*> WriteProducer();
  absl::Status EnsureFenced();
  absl::Status FenceIds(int subtask, int first_slot, int end_slot);
  absl::StatusOr<std::unique_ptr<KafkaProducer>> NewTransactionalProducer(int subtask, int slot);
  // Committed marker of `group` (-1 when none).
  absl::StatusOr<int64_t> FetchMarker(const std::string& group);
  absl::Status Replay(const PreparedTransaction& txn, const std::string& group);
  absl::Status CommitSlot(int slot, int64_t sequence_for_log);
  absl::Status PrepareCurrent(int64_t checkpoint_id);
  absl::Status Annotate(absl::Status s, absl::string_view what) const;

  KafkaSinkConfig config_;
  RowJsonFormatter formatter_;
  KafkaSinkScope scope_;
  std::unique_ptr<KafkaProducer> producer_;  // at-least-once
  rd_kafka_topic_t* topic_ = nullptr;        // at-least-once
  FormattedRecord record_;                   // reused buffers
  int64_t records_ = 0;
  int64_t tombstones_ = 0;
  int64_t skipped_ = 0;

  // Exactly-once.
  struct Slot {
    std::unique_ptr<KafkaProducer> producer;
    rd_kafka_topic_t* topic = nullptr;
    bool busy = false;
  };
  std::vector<Slot> slots_;
  bool fenced_ = false;
  std::vector<int> fenced_old_subtasks_;
  int current_slot_ = -1;
  int64_t current_records_ = 0;
  int64_t next_sequence_ = 1;
  std::vector<PreparedTransaction> pending_;
  int64_t committed_transactions_ = 0;
  int64_t replayed_transactions_ = 0;
  int64_t replayed_records_ = 0;
};

// KafkaSink as an SDK SinkFunction (one per sink subtask): creates the sink in Open
// (scope = operator name, subtask index, parallelism), maps the hooks one to one;
// Close aborts open transactions of an unfinished exactly-once sink.
class KafkaSinkFunction final : public SinkFunction {
 public:
  KafkaSinkFunction(KafkaSinkConfig config, Schema schema)
      : config_(std::move(config)), schema_(std::move(schema)) {}
  absl::Status Open(RuntimeContext& ctx) override;
  absl::Status WriteBatch(RowBatch& batch) override;
  absl::StatusOr<std::string> PrepareCommit(int64_t checkpoint_id) override;
  absl::Status Commit(int64_t checkpoint_id) override;
  absl::Status RestoreState(std::string_view state) override;
  absl::Status Finish() override;
  absl::Status Close() override;
  KafkaSink* sink() { return sink_.get(); }

 private:
  KafkaSinkConfig config_;
  Schema schema_;
  std::unique_ptr<KafkaSink> sink_;
  bool finished_ = false;
};

// A factory for Stream::SinkTo: a fresh sink per subtask.
SinkFactory KafkaSinkFactory(KafkaSinkConfig config, Schema schema);

}  // namespace cdcflow::kafka
