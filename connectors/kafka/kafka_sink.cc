#include "connectors/kafka/kafka_sink.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "cdcflow/sink_metrics.h"
#include "connectors/kafka/checksummed_codec.h"

namespace cdcflow::kafka {
namespace {

using Clock = std::chrono::steady_clock;

// Fencing, marker reads and aborts on Close wait at most this long per call.
constexpr int kAbortTimeoutMs = 5000;

// ---- state encoding (little endian, CRC-32 of everything before it) ----

constexpr std::string_view kMagic = "CKS";
constexpr uint8_t kVersion = 1;

using codec::Crc32;
using codec::Put;
using codec::PutString;

// Reads a KafkaSinkState.
class Reader : public codec::Reader {
 public:
  explicit Reader(std::string_view data) : codec::Reader(data, "kafka sink state") {}
};

#define CDCFLOW_RETURN_IF_ERROR(expr)         \
  do {                                        \
    if (absl::Status _s = (expr); !_s.ok()) { \
      return _s;                              \
    }                                         \
  } while (0)

}  // namespace

std::string KafkaSinkState::Serialize() const {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kVersion));
  PutString(&out, topic);
  PutString(&out, vertex);
  Put<int32_t>(&out, subtask);
  Put<int32_t>(&out, parallelism);
  Put<int32_t>(&out, pool_size);
  Put<int64_t>(&out, next_sequence);
  Put<uint32_t>(&out, static_cast<uint32_t>(pending.size()));
  for (const PreparedTransaction& t : pending) {
    Put<int64_t>(&out, t.checkpoint_id);
    Put<int64_t>(&out, t.sequence);
    Put<int32_t>(&out, t.slot);
    Put<int64_t>(&out, t.records);
    Put<uint32_t>(&out, static_cast<uint32_t>(t.offsets.size()));
    for (const auto& [partition, ranges] : t.offsets) {
      Put<int32_t>(&out, partition);
      Put<uint32_t>(&out, static_cast<uint32_t>(ranges.size()));
      for (const OffsetRange& r : ranges) {
        Put<int64_t>(&out, r.first);
        Put<int64_t>(&out, r.last);
      }
    }
  }
  Put<uint32_t>(&out, Crc32(out));
  return out;
}

absl::StatusOr<KafkaSinkState> KafkaSinkState::Deserialize(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + 1 + 4) {
    return absl::DataLossError(
        absl::StrCat("kafka sink state: ", bytes.size(), " bytes is too short"));
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError(
        "kafka sink state: bad magic (not an exactly-once Kafka sink's checkpoint state)");
  }
  if (uint8_t version = static_cast<uint8_t>(bytes[kMagic.size()]); version != kVersion) {
    return absl::DataLossError(
        absl::StrCat("kafka sink state: unknown format version ", static_cast<int>(version)));
  }
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  uint32_t stored_crc = 0;
  (void)Reader(bytes.substr(bytes.size() - 4)).Get("checksum", &stored_crc);
  if (stored_crc != Crc32(body)) {
    return absl::DataLossError("kafka sink state: checksum mismatch (corrupt checkpoint)");
  }
  Reader r(body.substr(kMagic.size() + 1));
  KafkaSinkState st;
  CDCFLOW_RETURN_IF_ERROR(r.String("topic", &st.topic));
  CDCFLOW_RETURN_IF_ERROR(r.String("vertex", &st.vertex));
  CDCFLOW_RETURN_IF_ERROR(r.Get("subtask", &st.subtask));
  CDCFLOW_RETURN_IF_ERROR(r.Get("parallelism", &st.parallelism));
  CDCFLOW_RETURN_IF_ERROR(r.Get("pool size", &st.pool_size));
  CDCFLOW_RETURN_IF_ERROR(r.Get("next sequence", &st.next_sequence));
  uint32_t count = 0;
  CDCFLOW_RETURN_IF_ERROR(r.Get("transaction count", &count));
  for (uint32_t i = 0; i < count; ++i) {
    PreparedTransaction t;
    CDCFLOW_RETURN_IF_ERROR(r.Get("checkpoint id", &t.checkpoint_id));
    CDCFLOW_RETURN_IF_ERROR(r.Get("sequence", &t.sequence));
    CDCFLOW_RETURN_IF_ERROR(r.Get("slot", &t.slot));
    CDCFLOW_RETURN_IF_ERROR(r.Get("records", &t.records));
    uint32_t partitions = 0;
    CDCFLOW_RETURN_IF_ERROR(r.Get("partition count", &partitions));
    for (uint32_t p = 0; p < partitions; ++p) {
      int32_t partition = 0;
      uint32_t ranges = 0;
      CDCFLOW_RETURN_IF_ERROR(r.Get("partition", &partition));
      CDCFLOW_RETURN_IF_ERROR(r.Get("range count", &ranges));
      std::vector<OffsetRange>& out = t.offsets[partition];
      for (uint32_t k = 0; k < ranges; ++k) {
        OffsetRange range;
        CDCFLOW_RETURN_IF_ERROR(r.Get("range first", &range.first));
        CDCFLOW_RETURN_IF_ERROR(r.Get("range last", &range.last));
        out.push_back(range);
      }
    }
    st.pending.push_back(std::move(t));
  }
  if (!r.done()) return absl::DataLossError("kafka sink state: trailing bytes");
  if (st.parallelism < 1 || st.subtask < 0 || st.subtask >= st.parallelism || st.pool_size < 1) {
    return absl::DataLossError(absl::StrCat("kafka sink state: bad subtask ", st.subtask, " of ",
                                            st.parallelism, " / pool size ", st.pool_size));
  }
  return st;
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<KafkaSink>> KafkaSink::Create(const KafkaSinkConfig& config,
                                                             const Schema& schema,
                                                             KafkaSinkScope scope) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (scope.parallelism < 1 || scope.subtask < 0 || scope.subtask >= scope.parallelism) {
    return absl::InvalidArgumentError(absl::StrCat("kafka sink: bad subtask ", scope.subtask,
                                                   " of parallelism ", scope.parallelism));
  }
  auto formatter = RowJsonFormatter::Create(config.format, schema, config.key_fields);
  if (!formatter.ok()) return formatter.status();
  std::unique_ptr<KafkaSink> sink(new KafkaSink(config, std::move(*formatter), std::move(scope)));
  if (config.exactly_once()) {
    sink->slots_.resize(config.transaction_pool_size);
    return sink;
  }
  auto producer = KafkaProducer::Create(config.ToProducerSettings());
  if (!producer.ok()) return producer.status();
  sink->producer_ = std::move(*producer);
  sink->producer_->set_latency_observer(sink->LatencyObserver());
  sink->topic_ = sink->producer_->Topic(config.topic);
  return sink;
}

KafkaSink::~KafkaSink() = default;

std::function<void(double)> KafkaSink::LatencyObserver() const {
  if (scope_.delivery_latency == nullptr) return nullptr;
  return [h = scope_.delivery_latency](double seconds) { h->Observe(seconds); };
}

std::string KafkaSink::TransactionalId(int subtask, int slot) const {
  return absl::StrCat(config_.transactional_id_prefix, "-", scope_.vertex, "-", subtask, "-", slot);
}

std::string KafkaSink::MarkerGroup(int subtask) const {
  return absl::StrCat(config_.transactional_id_prefix, "-", scope_.vertex, "-", subtask);
}

absl::Status KafkaSink::Annotate(absl::Status s, absl::string_view what) const {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("kafka sink (topic '", config_.topic, "', subtask ",
                                             scope_.subtask, "), ", what, ": ", s.message()));
}

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaSink::NewTransactionalProducer(int subtask,
                                                                                   int slot) {
  auto producer = KafkaProducer::Create(config_.ToProducerSettings(TransactionalId(subtask, slot)));
  if (!producer.ok()) return producer.status();
  // Fences every earlier producer of this id and aborts its open transaction.
  if (absl::Status s = (*producer)->InitTransactions(config_.flush_timeout_ms); !s.ok()) return s;
  return producer;
}

absl::Status KafkaSink::FenceIds(int subtask, int first_slot, int end_slot) {
  for (int slot = first_slot; slot < end_slot; ++slot) {
    auto producer = NewTransactionalProducer(subtask, slot);
    if (!producer.ok()) return Annotate(producer.status(), "fencing lingering transactions");
  }
  return absl::OkStatus();
}

absl::Status KafkaSink::EnsureFenced() {
  if (fenced_) return absl::OkStatus();
  for (int slot = 0; slot < static_cast<int>(slots_.size()); ++slot) {
    auto producer = NewTransactionalProducer(scope_.subtask, slot);
    if (!producer.ok()) return Annotate(producer.status(), "fencing lingering transactions");
    slots_[slot].producer = std::move(*producer);
    slots_[slot].producer->set_track_offsets(true);
    slots_[slot].producer->set_latency_observer(LatencyObserver());
    slots_[slot].topic = slots_[slot].producer->Topic(config_.topic);
  }
  // A fresh start may follow an earlier run with the same prefix: new markers must
  // be above what that run committed, or a restore would take ours for committed.
  auto marker = FetchMarker(MarkerGroup(scope_.subtask));
  if (!marker.ok()) return marker.status();
  next_sequence_ = std::max(next_sequence_, *marker + 1);
  fenced_ = true;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> KafkaSink::FetchMarker(const std::string& group) {
  auto client = KafkaClient::Create(RD_KAFKA_CONSUMER,
                                    config_.ToRecoveryConsumerSettings(group, true));
  if (!client.ok()) return Annotate(client.status(), "reading the commit marker");
  PartitionListPtr list = NewPartitionList(1);
  rd_kafka_topic_partition_list_add(list.get(), config_.topic.c_str(), 0);
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(config_.flush_timeout_ms);
  while (true) {
    rd_kafka_resp_err_t err = rd_kafka_committed((*client)->get(), list.get(), kAbortTimeoutMs);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list->elems[0].err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    // UNSTABLE_OFFSET_COMMIT: a transaction with a marker is still completing.
    bool retriable = err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
                     err == RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT ||
                     err == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
                     err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE ||
                     err == RD_KAFKA_RESP_ERR_NOT_COORDINATOR;
    if (!retriable || Clock::now() >= deadline) {
      return Annotate(KafkaErrorToStatus(err, absl::StrCat("group '", group, "'")),
                      "reading the commit marker");
    }
  }
  int64_t offset = list->elems[0].offset;
  return offset < 0 ? -1 : offset;
}

absl::StatusOr<KafkaProducer*> KafkaSink::WriteProducer() {
  if (!config_.exactly_once()) return producer_.get();
  if (current_slot_ >= 0) return slots_[current_slot_].producer.get();
  if (absl::Status s = EnsureFenced(); !s.ok()) return s;
  for (int slot = 0; slot < static_cast<int>(slots_.size()); ++slot) {
    if (slots_[slot].busy) continue;
    if (absl::Status s = slots_[slot].producer->BeginTransaction(); !s.ok()) {
      return Annotate(s, "beginning a transaction");
    }
    slots_[slot].busy = true;
    current_slot_ = slot;
    current_records_ = 0;
    return slots_[slot].producer.get();
  }
  // PrepareCommit keeps a slot free, so this is a bug, not a load condition.
  return absl::InternalError(absl::StrCat("kafka sink (topic '", config_.topic,
                                          "'): no free transactional id"));
}

absl::Status KafkaSink::Write(const Row& row) {
  if (absl::Status s = formatter_.Format(row, &record_); !s.ok()) return s;
  if (record_.skip) {
    ++skipped_;
    return absl::OkStatus();
  }
  auto producer = WriteProducer();
  if (!producer.ok()) return producer.status();
  rd_kafka_topic_t* topic =
      config_.exactly_once() ? slots_[current_slot_].topic : topic_;
  absl::Status s = (*producer)->Produce(
      topic, RD_KAFKA_PARTITION_UA, record_.has_key ? record_.key.data() : nullptr,
      record_.has_key ? record_.key.size() : 0,
      record_.tombstone ? nullptr : record_.value.data(),
      record_.tombstone ? 0 : record_.value.size());
  if (!s.ok()) return s;
  ++records_;
  ++current_records_;
  if (record_.tombstone) ++tombstones_;
  return absl::OkStatus();
}

absl::Status KafkaSink::WriteBatch(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    if (absl::Status s = Write(row); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status KafkaSink::PrepareCurrent(int64_t checkpoint_id) {
  KafkaProducer& producer = *slots_[current_slot_].producer;
  if (absl::Status s = producer.Flush(config_.flush_timeout_ms); !s.ok()) return s;
  int64_t sequence = next_sequence_;
  if (absl::Status s = producer.SendOffsetsToTransaction(MarkerGroup(scope_.subtask), config_.topic,
                                                         0, sequence, config_.flush_timeout_ms);
      !s.ok()) {
    return s;
  }
  PreparedTransaction txn;
  txn.checkpoint_id = checkpoint_id;
  txn.sequence = sequence;
  txn.slot = current_slot_;
  txn.records = current_records_;
  txn.offsets = producer.TakeDeliveredOffsets();
  pending_.push_back(std::move(txn));
  ++next_sequence_;
  current_slot_ = -1;
  current_records_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::string> KafkaSink::PrepareCommit(int64_t checkpoint_id) {
  std::string what = absl::StrCat("checkpoint ", checkpoint_id);
  if (!config_.exactly_once()) {
    absl::Status s = producer_->Flush(config_.flush_timeout_ms);
    if (!s.ok()) return Annotate(s, what);
    return std::string();  // idempotent mode: nothing to commit after a restart
  }
  if (absl::Status s = EnsureFenced(); !s.ok()) return s;
  if (current_slot_ >= 0) {
    // Keep one id free for the rows after this barrier.
    if (pending_.size() + 2 > slots_.size()) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "kafka sink (topic '", config_.topic, "'), ", what, ": ", pending_.size(),
          " pre-committed transactions still await Commit and the pool has ", slots_.size(),
          " transactional ids ('sink.transaction.pool-size'); checkpoint declined, its rows stay "
          "in the open transaction"));
    }
    if (absl::Status s = PrepareCurrent(checkpoint_id); !s.ok()) return Annotate(s, what);
  }
  KafkaSinkState state;
  state.topic = config_.topic;
  state.vertex = scope_.vertex;
  state.subtask = scope_.subtask;
  state.parallelism = scope_.parallelism;
  state.pool_size = static_cast<int32_t>(slots_.size());
  state.next_sequence = next_sequence_;
  state.pending = pending_;
  return state.Serialize();
}

absl::Status KafkaSink::CommitSlot(int slot, int64_t sequence) {
  absl::Status s = slots_[slot].producer->CommitTransaction(config_.flush_timeout_ms);
  if (!s.ok()) {
    // The transaction may be committed, aborted (transaction.timeout.ms) or unknown:
    // fail; the restore decides by the marker and replays if needed.
    return Annotate(s, absl::StrCat("committing transaction ", sequence, " of '",
                                    slots_[slot].producer->transactional_id(), "'"));
  }
  slots_[slot].busy = false;
  ++committed_transactions_;
  return absl::OkStatus();
}

absl::Status KafkaSink::Commit(int64_t checkpoint_id) {
  if (!config_.exactly_once()) return producer_->error();
  while (!pending_.empty() && pending_.front().checkpoint_id <= checkpoint_id) {
    if (absl::Status s = CommitSlot(pending_.front().slot, pending_.front().sequence); !s.ok()) {
      return s;
    }
    pending_.erase(pending_.begin());
  }
  return absl::OkStatus();
}

absl::Status KafkaSink::Replay(const PreparedTransaction& txn, const std::string& group) {
  std::string what = absl::StrCat("replaying aborted transaction ", txn.sequence, " (checkpoint ",
                                  txn.checkpoint_id, ", ", txn.records, " records)");
  // Any slot: nothing is open during a restore.
  Slot& slot = slots_[0];
  KafkaProducer& producer = *slot.producer;
  if (absl::Status s = producer.BeginTransaction(); !s.ok()) return Annotate(s, what);
  slot.busy = true;

  auto client = KafkaClient::Create(RD_KAFKA_CONSUMER,
                                    config_.ToRecoveryConsumerSettings(group, false));
  if (!client.ok()) return Annotate(client.status(), what);
  rd_kafka_t* rk = (*client)->get();
  rd_kafka_poll_set_consumer(rk);
  PartitionListPtr assign = NewPartitionList(static_cast<int>(txn.offsets.size()));
  struct Progress {
    size_t range = 0;  // index of the range being read
    int64_t expected = 0;
    int64_t got = 0;
    bool done = false;
  };
  std::map<int32_t, Progress> progress;
  for (const auto& [partition, ranges] : txn.offsets) {
    if (ranges.empty()) continue;
    rd_kafka_topic_partition_list_add(assign.get(), config_.topic.c_str(), partition)->offset =
        ranges.front().first;
    Progress& p = progress[partition];
    for (const OffsetRange& r : ranges) p.expected += r.last - r.first + 1;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, assign.get()); err) {
    return Annotate(KafkaErrorToStatus(err, "assign"), what);
  }
  size_t open = progress.size();
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(config_.flush_timeout_ms);
  while (open > 0) {
    if (Clock::now() >= deadline) {
      return Annotate(absl::DeadlineExceededError(absl::StrCat(
                          "records still unread after ", config_.flush_timeout_ms, " ms")),
                      what);
    }
    MessagePtr m(rd_kafka_consumer_poll(rk, 100));
    if (m == nullptr) continue;
    auto it = progress.find(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (it == progress.end() || it->second.done) continue;
      Progress& p = it->second;
      const std::vector<OffsetRange>& ranges = txn.offsets.at(m->partition);
      bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
      if (!eof) {
        while (p.range < ranges.size() && m->offset > ranges[p.range].last) ++p.range;
        if (p.range < ranges.size() && m->offset >= ranges[p.range].first) {
          HeadersPtr headers;
          rd_kafka_headers_t* h = nullptr;
          if (rd_kafka_message_headers(m.get(), &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h) {
            headers.reset(rd_kafka_headers_copy(h));
          }
          absl::Status s = producer.Produce(
              slot.topic, m->partition, static_cast<const char*>(m->key), m->key_len,
              static_cast<const char*>(m->payload), m->len, std::move(headers));
          if (!s.ok()) return Annotate(s, what);
          ++p.got;
        }
      }
      if (eof || p.range >= ranges.size() || m->offset >= ranges.back().last) {
        p.done = true;
        --open;
        if (p.got != p.expected) {
          // Retention, compaction or DeleteRecords removed records of a transaction
          // the restored checkpoint needs: never continue silently.
          return Annotate(absl::DataLossError(absl::StrCat(
                              "partition ", m->partition, ": found ", p.got, " of ", p.expected,
                              " records at offsets ", ranges.front().first, "..",
                              ranges.back().last, " (removed from the log by retention or "
                              "compaction before the restore?)")),
                          what);
        }
      }
      continue;
    }
    return Annotate(KafkaErrorToStatus(m->err, absl::StrCat("reading partition ", m->partition)),
                    what);
  }
  if (absl::Status s = producer.Flush(config_.flush_timeout_ms); !s.ok()) return Annotate(s, what);
  (void)producer.TakeDeliveredOffsets();
  if (absl::Status s = producer.SendOffsetsToTransaction(group, config_.topic, 0, txn.sequence,
                                                         config_.flush_timeout_ms);
      !s.ok()) {
    return Annotate(s, what);
  }
  if (absl::Status s = CommitSlot(0, txn.sequence); !s.ok()) return s;
  ++replayed_transactions_;
  int64_t n = 0;
  for (const auto& [partition, p] : progress) n += p.got;
  replayed_records_ += n;
  return absl::OkStatus();
}

absl::Status KafkaSink::RestoreState(std::string_view bytes) {
  if (!config_.exactly_once()) return absl::OkStatus();  // at-least-once keeps no state
  if (current_slot_ >= 0 || !pending_.empty()) {
    return absl::FailedPreconditionError("kafka sink: RestoreState after writes");
  }
  if (bytes.empty()) {
    // The state of an at-least-once run: nothing was pre-committed.
    return EnsureFenced();
  }
  auto state = KafkaSinkState::Deserialize(bytes);
  if (!state.ok()) return Annotate(state.status(), "restoring");
  if (state->topic != config_.topic) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kafka sink (topic '", config_.topic, "'): the restored state is of topic '",
        state->topic, "'; transactions cannot be carried over to another topic"));
  }
  // Fence our ids (and, if the old pool was larger, those beyond ours).
  if (absl::Status s = EnsureFenced(); !s.ok()) return s;
  const int old_p = state->parallelism;
  for (int j = 0; j < old_p; ++j) {
    if (j % scope_.parallelism != scope_.subtask) continue;
    if (std::find(fenced_old_subtasks_.begin(), fenced_old_subtasks_.end(), j) !=
        fenced_old_subtasks_.end()) {
      continue;
    }
    int first = j == scope_.subtask ? static_cast<int>(slots_.size()) : 0;
    if (absl::Status s = FenceIds(j, first, state->pool_size); !s.ok()) return s;
    fenced_old_subtasks_.push_back(j);
  }
  if (state->subtask % scope_.parallelism != scope_.subtask) {
    return absl::OkStatus();  // its owner replays its transactions
  }
  const std::string group = MarkerGroup(state->subtask);
  auto committed = FetchMarker(group);
  if (!committed.ok()) return committed.status();
  for (const PreparedTransaction& txn : state->pending) {
    if (txn.sequence <= *committed) continue;  // it (or a replay of it) committed
    if (absl::Status s = Replay(txn, group); !s.ok()) return s;
  }
  if (state->subtask == scope_.subtask) {
    next_sequence_ = std::max({next_sequence_, state->next_sequence, *committed + 1});
  }
  return absl::OkStatus();
}

absl::Status KafkaSink::Finish() {
  if (!config_.exactly_once()) {
    auto state = PrepareCommit(-1);
    if (!state.ok()) return state.status();
    return Commit(-1);
  }
  if (absl::Status s = Commit(std::numeric_limits<int64_t>::max()); !s.ok()) return s;
  if (current_slot_ < 0) return absl::OkStatus();
  if (absl::Status s = PrepareCurrent(std::numeric_limits<int64_t>::max()); !s.ok()) {
    return Annotate(s, "finish");
  }
  return Commit(std::numeric_limits<int64_t>::max());
}

void KafkaSink::Abort() {
  if (!config_.exactly_once()) return;
  for (Slot& slot : slots_) {
    if (slot.busy && slot.producer != nullptr) (void)slot.producer->AbortTransaction(kAbortTimeoutMs);
    slot.busy = false;
  }
  pending_.clear();
  current_slot_ = -1;
}

KafkaSinkStats KafkaSink::stats() const {
  KafkaSinkStats s;
  s.records = records_;
  s.tombstones = tombstones_;
  s.skipped = skipped_;
  if (producer_ != nullptr) {
    s.delivered = producer_->delivered();
    s.failed = producer_->failed();
  }
  for (const Slot& slot : slots_) {
    if (slot.producer == nullptr) continue;
    s.delivered += slot.producer->delivered();
    s.failed += slot.producer->failed();
  }
  s.transactions_committed = committed_transactions_;
  s.transactions_replayed = replayed_transactions_;
  s.records_replayed = replayed_records_;
  s.pending_transactions = static_cast<int>(pending_.size());
  return s;
}

// ---------------------------------------------------------------------------

absl::Status KafkaSinkFunction::Open(RuntimeContext& ctx) {
  auto latency = ctx.metrics().Histogram(kSinkRequestLatency, kSinkRequestLatencyHelp,
                                         SinkLabels("kafka"));
  if (!latency.ok()) return latency.status();
  KafkaSinkScope scope{std::string(ctx.operator_name()), ctx.subtask_index(), ctx.parallelism(),
                       *latency};
  auto sink = KafkaSink::Create(config_, schema_, std::move(scope));
  if (!sink.ok()) return sink.status();
  sink_ = std::move(*sink);
  return absl::OkStatus();
}

absl::Status KafkaSinkFunction::WriteBatch(RowBatch& batch) {
  return sink_->WriteBatch(batch.rows());
}

absl::StatusOr<std::string> KafkaSinkFunction::PrepareCommit(int64_t checkpoint_id) {
  return sink_->PrepareCommit(checkpoint_id);
}

absl::Status KafkaSinkFunction::Commit(int64_t checkpoint_id) { return sink_->Commit(checkpoint_id); }

absl::Status KafkaSinkFunction::RestoreState(std::string_view state) {
  return sink_->RestoreState(state);
}

absl::Status KafkaSinkFunction::Finish() {
  absl::Status s = sink_->Finish();
  finished_ = s.ok();
  return s;
}

absl::Status KafkaSinkFunction::Close() {
  if (sink_ != nullptr && !finished_) sink_->Abort();
  sink_.reset();  // unflushed records of a failed/cancelled task are purged
  return absl::OkStatus();
}

SinkFactory KafkaSinkFactory(KafkaSinkConfig config, Schema schema) {
  return [config = std::move(config), schema = std::move(schema)]() -> std::unique_ptr<SinkFunction> {
    return std::make_unique<KafkaSinkFunction>(config, schema);
  };
}

}  // namespace cdcflow::kafka
