#include "connectors/kafka/kafka_producer.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"

namespace cdcflow::kafka {

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(
    const KafkaSettings& settings) {
  std::unique_ptr<KafkaProducer> producer(new KafkaProducer());
  auto client = KafkaClient::Create(
      RD_KAFKA_PRODUCER, settings,
      [](rd_kafka_conf_t* conf, void* opaque) {
        rd_kafka_conf_set_opaque(conf, opaque);
        rd_kafka_conf_set_dr_msg_cb(conf, &KafkaProducer::OnDelivery);
        rd_kafka_conf_set_error_cb(conf, &KafkaProducer::OnError);
      },
      producer.get());
  if (!client.ok()) return client.status();
  producer->client_ = std::move(*client);
  for (const auto& [key, value] : settings) {
    if (key == "transactional.id") producer->transactional_id_ = value;
  }
  return producer;
}

KafkaProducer::~KafkaProducer() {
  if (client_ == nullptr) return;
  // Records still queued are abandoned (the caller did not flush: a failed or
  // cancelled task); they are purged rather than waited for.
  rd_kafka_purge(client_->get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(client_->get(), 1000);
  topics_.clear();
}

void KafkaProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<KafkaProducer*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++self->delivered_;
    if (self->latency_) {
      const int64_t micros = rd_kafka_message_latency(m);
      if (micros >= 0) self->latency_(static_cast<double>(micros) * 1e-6);
    }
    if (self->track_offsets_ && m->offset >= 0) {
      std::vector<OffsetRange>& ranges = self->delivered_offsets_[m->partition];
      if (!ranges.empty() && ranges.back().last + 1 == m->offset) {
        ranges.back().last = m->offset;
      } else {
        ranges.push_back(OffsetRange{m->offset, m->offset});
      }
    }
    return;
  }
  ++self->failed_;
  if (self->error_.ok()) {
    self->error_ = KafkaErrorToStatus(
        m->err, absl::StrCat("kafka producer: delivery to topic '", rd_kafka_topic_name(m->rkt),
                             "' partition ", m->partition, " failed"));
  }
}

void KafkaProducer::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaProducer*>(opaque);
  // Only fatal errors end the producer; others (broker down) are retried by
  // librdkafka and show up as delivery failures if they outlast the timeout.
  if (err != RD_KAFKA_RESP_ERR__FATAL || !self->error_.ok()) return;
  char errstr[512];
  rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, errstr, sizeof(errstr));
  self->error_ = absl::AbortedError(
      absl::StrCat("kafka producer: fatal error: ", errstr, " (", rd_kafka_err2name(fatal), ")"));
}

rd_kafka_topic_t* KafkaProducer::Topic(const std::string& name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second.get();
  TopicPtr topic(rd_kafka_topic_new(client_->get(), name.c_str(), nullptr));
  rd_kafka_topic_t* raw = topic.get();
  topics_.emplace(name, std::move(topic));
  return raw;
}

absl::Status KafkaProducer::Produce(rd_kafka_topic_t* topic, int32_t partition, const char* key,
                                    size_t key_len, const char* value, size_t value_len,
                                    HeadersPtr headers) {
  if (!error_.ok()) return error_;
  while (true) {
    rd_kafka_resp_err_t err;
    if (headers != nullptr) {
      err = rd_kafka_producev(client_->get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_KEY(key, key_len),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value), value_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) (void)headers.release();  // librdkafka owns them
    } else {
      err = rd_kafka_producev(client_->get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_KEY(key, key_len),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value), value_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return KafkaErrorToStatus(err, absl::StrCat("kafka producer: enqueueing to topic '",
                                                  rd_kafka_topic_name(topic), "'"));
    }
    rd_kafka_poll(client_->get(), 10);  // backpressure: wait for deliveries
    if (!error_.ok()) return error_;
  }
  rd_kafka_poll(client_->get(), 0);
  return error_;
}

absl::Status KafkaProducer::Flush(int timeout_ms) {
  rd_kafka_resp_err_t err = rd_kafka_flush(client_->get(), timeout_ms);
  if (!error_.ok()) return error_;
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return absl::DeadlineExceededError(
        absl::StrCat("kafka producer: ", rd_kafka_outq_len(client_->get()),
                     " records still unacknowledged after ", timeout_ms, " ms"));
  }
  if (absl::Status s = client_->FatalError(); !s.ok()) return s;
  return KafkaErrorToStatus(err, "kafka producer: flush");
}

}  // namespace cdcflow::kafka

namespace cdcflow::kafka {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(left.count(), 1));
}

}  // namespace

PartitionOffsets KafkaProducer::TakeDeliveredOffsets() {
  PartitionOffsets out;
  out.swap(delivered_offsets_);
  // Reports arrive in offset order per partition; normalise anyway (sort + merge).
  for (auto& [partition, ranges] : out) {
    std::sort(ranges.begin(), ranges.end(),
              [](const OffsetRange& a, const OffsetRange& b) { return a.first < b.first; });
    std::vector<OffsetRange> merged;
    for (const OffsetRange& r : ranges) {
      if (!merged.empty() && merged.back().last + 1 >= r.first) {
        merged.back().last = std::max(merged.back().last, r.last);
      } else {
        merged.push_back(r);
      }
    }
    ranges = std::move(merged);
  }
  return out;
}

absl::Status KafkaProducer::InitTransactions(int timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    rd_kafka_error_t* e = rd_kafka_init_transactions(client_->get(), RemainingMs(deadline));
    if (e == nullptr) return absl::OkStatus();
    bool retry = rd_kafka_error_is_retriable(e) && Clock::now() < deadline;
    absl::Status s = KafkaErrorToStatus(
        e, absl::StrCat("kafka producer '", transactional_id_, "': init_transactions"));
    if (!retry) return s;
  }
}

absl::Status KafkaProducer::BeginTransaction() {
  if (!error_.ok()) return error_;
  return KafkaErrorToStatus(rd_kafka_begin_transaction(client_->get()),
                            absl::StrCat("kafka producer '", transactional_id_,
                                         "': begin_transaction"));
}

absl::Status KafkaProducer::SendOffsetsToTransaction(const std::string& group_id,
                                                     const std::string& topic, int32_t partition,
                                                     int64_t offset, int timeout_ms) {
  if (!error_.ok()) return error_;
  PartitionListPtr offsets = NewPartitionList(1);
  rd_kafka_topic_partition_list_add(offsets.get(), topic.c_str(), partition)->offset = offset;
  std::unique_ptr<rd_kafka_consumer_group_metadata_t,
                  decltype(&rd_kafka_consumer_group_metadata_destroy)>
      group(rd_kafka_consumer_group_metadata_new(group_id.c_str()),
            &rd_kafka_consumer_group_metadata_destroy);
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(client_->get(), offsets.get(),
                                                               group.get(), RemainingMs(deadline));
    if (e == nullptr) return absl::OkStatus();
    bool retry = rd_kafka_error_is_retriable(e) && Clock::now() < deadline;
    absl::Status s = KafkaErrorToStatus(
        e, absl::StrCat("kafka producer '", transactional_id_, "': send_offsets_to_transaction"));
    if (!retry) return s;
  }
}

absl::Status KafkaProducer::CommitTransaction(int timeout_ms) {
  if (!error_.ok()) return error_;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    // Flushes what is still queued first; delivery failures surface as an
    // abortable error here and in error_.
    rd_kafka_error_t* e = rd_kafka_commit_transaction(client_->get(), RemainingMs(deadline));
    if (e == nullptr) return error_;
    bool retry = rd_kafka_error_is_retriable(e) && Clock::now() < deadline;
    absl::Status s = KafkaErrorToStatus(
        e, absl::StrCat("kafka producer '", transactional_id_, "': commit_transaction"));
    if (!retry) return error_.ok() ? s : error_;
  }
}

absl::Status KafkaProducer::AbortTransaction(int timeout_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    rd_kafka_error_t* e = rd_kafka_abort_transaction(client_->get(), RemainingMs(deadline));
    if (e == nullptr) {
      // Purged/failed records of the aborted transaction are expected.
      error_ = absl::OkStatus();
      delivered_offsets_.clear();
      return absl::OkStatus();
    }
    bool retry = rd_kafka_error_is_retriable(e) && Clock::now() < deadline;
    absl::Status s = KafkaErrorToStatus(
        e, absl::StrCat("kafka producer '", transactional_id_, "': abort_transaction"));
    if (!retry) return s;
  }
}

}  // namespace cdcflow::kafka
