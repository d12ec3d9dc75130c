#pragma once
// A librdkafka mock cluster for unit tests (in-process brokers on loopback)
// plus helpers to create topics and produce test records.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/kafka/kafka_consumer.h"

namespace cdcflow::kafka::testing {

struct TestRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  std::string key;
  std::string value;
  bool null_value = false;
  int64_t timestamp_ms = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

class MockKafka {
 public:
  explicit MockKafka(int brokers = 1);
  ~MockKafka();
  const std::string& bootstrap() const { return bootstrap_; }
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }
  void CreateTopic(const std::string& topic, int partitions);
  // Produces and waits for delivery; returns false (and prints why) on failure.
  bool Produce(const TestRecord& record);
  bool ProduceMany(const std::string& topic, int32_t partition, int count,
                   const std::string& prefix = "v", int64_t timestamp_ms = 0);
  // Source options pointing at this cluster.
  KafkaOptions SourceOptions(const std::string& topics) const;

 private:
  rd_kafka_t* owner_ = nullptr;  // hosts the mock cluster
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  std::string bootstrap_;
};

// Polls until `count` records arrived or `timeout_ms` passed; copies them out.
std::vector<TestRecord> PollRecords(KafkaConsumer& consumer, size_t count, int timeout_ms = 10000,
                                    int max_batch = 1000);
TestRecord CopyRecord(const KafkaMessage& m);

}  // namespace cdcflow::kafka::testing
