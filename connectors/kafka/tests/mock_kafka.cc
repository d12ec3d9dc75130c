#include "connectors/kafka/tests/mock_kafka.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace cdcflow::kafka::testing {

MockKafka::MockKafka(int brokers) {
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "test.mock.num.brokers", std::to_string(brokers).c_str(), errstr,
                    sizeof(errstr));
  owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (owner_ == nullptr) std::abort();
  cluster_ = rd_kafka_handle_mock_cluster(owner_);
  if (cluster_ == nullptr) std::abort();
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);

  conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "linger.ms", "0", errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (producer_ == nullptr) std::abort();
}

// The mock cluster belongs to owner_ (test.mock.num.brokers): destroying the
// handle stops it at once, where rd_kafka_mock_cluster_destroy waits ~1 s.
MockKafka::~MockKafka() {
  rd_kafka_flush(producer_, 5000);
  rd_kafka_destroy(producer_);
  rd_kafka_destroy(owner_);
}

void MockKafka::CreateTopic(const std::string& topic, int partitions) {
  rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
}

bool MockKafka::Produce(const TestRecord& r) {
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(r.headers.size());
  for (const auto& [name, value] : r.headers) {
    rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_, RD_KAFKA_V_TOPIC(r.topic.c_str()), RD_KAFKA_V_PARTITION(r.partition),
      RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
      RD_KAFKA_V_VALUE(r.null_value ? nullptr : const_cast<char*>(r.value.data()),
                       r.null_value ? 0 : r.value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(r.timestamp_ms),
      RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(hdrs);
    std::fprintf(stderr, "produce failed: %s\n", rd_kafka_err2str(err));
    return false;
  }
  return rd_kafka_flush(producer_, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

bool MockKafka::ProduceMany(const std::string& topic, int32_t partition, int count,
                            const std::string& prefix, int64_t timestamp_ms) {
  for (int i = 0; i < count; ++i) {
    std::string key = "k" + std::to_string(i);
    std::string value = prefix + std::to_string(i);
    rd_kafka_resp_err_t err;
    do {
      err = rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(value.data(), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(producer_, 10);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  }
  return rd_kafka_flush(producer_, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

KafkaOptions MockKafka::SourceOptions(const std::string& topics) const {
  return KafkaOptions{{"bootstrap.servers", bootstrap_},
                      {"topics", topics},
                      {"scan.batch.max-wait-ms", "50"},
                      {"properties.log_level", "3"}};
}

TestRecord CopyRecord(const KafkaMessage& m) {
  TestRecord r;
  r.topic = std::string(m.topic());
  r.partition = m.partition();
  r.offset = m.offset();
  r.key = std::string(m.key());
  r.value = std::string(m.value());
  r.null_value = m.is_tombstone();
  r.timestamp_ms = m.timestamp_ms();
  for (const KafkaHeader& h : m.headers()) r.headers.emplace_back(h.name, h.value);
  return r;
}

std::vector<TestRecord> PollRecords(KafkaConsumer& consumer, size_t count, int timeout_ms,
                                    int max_batch) {
  std::vector<TestRecord> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  MessageBatch batch;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    absl::Status s = consumer.Poll(&batch, max_batch, 50);
    if (!s.ok()) {
      std::fprintf(stderr, "poll failed: %s\n", s.ToString().c_str());
      break;
    }
    for (size_t i = 0; i < batch.size(); ++i) out.push_back(CopyRecord(batch[i]));
  }
  return out;
}

}  // namespace cdcflow::kafka::testing
