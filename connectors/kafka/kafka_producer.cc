#include "connectors/kafka/kafka_producer.h"

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
