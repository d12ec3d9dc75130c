// Consume speed from the real Kafka (deploy/local/services.sh start kafka):
// loads a backlog of Debezium order events with the cdcflow producer (once; a
// later run reuses the topic), then reads it back with one source subtask:
//   raw      KafkaConsumer batches, touching every key and value byte
//   decode   the same plus Debezium decoding into rows
// Usage: kafka_consume_bench [--bootstrap=127.0.0.1:9092] [--topic=cdcflow-bench-orders]
//        [--events=1000000] [--partitions=3] [--batch=4096] [--reload]
//        kafka_consume_bench --existing --topic=T1,T2,... [--events=N]
// --existing reads topics that already hold a backlog (e.g. the real Debezium topics
// bench/run.sh generates through PostgreSQL -> Debezium) instead of loading synthetic
// events: it reads their whole content (or the first --events) in both modes.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/debezium/decoder.h"
#include "connectors/kafka/kafka_consumer.h"
#include "connectors/kafka/kafka_producer.h"
#include "connectors/kafka/tests/bench_events.h"

namespace cdcflow::kafka {
namespace {

struct Flags {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "cdcflow-bench-orders";
  int64_t events = 1000000;
  int partitions = 3;
  int batch = 4096;
  bool reload = false;
  bool existing = false;
  bool events_given = false;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  if (const char* port = std::getenv("CDCFLOW_KAFKA_PORT")) f.bootstrap = absl::StrCat("127.0.0.1:", port);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      size_t n = std::strlen(name);
      return a.compare(0, n, name) == 0 ? a.c_str() + n : nullptr;
    };
    if (const char* v = value("--bootstrap=")) f.bootstrap = v;
    else if (const char* v = value("--topic=")) f.topic = v;
    else if (const char* v = value("--events=")) f.events = std::atoll(v), f.events_given = true;
    else if (const char* v = value("--partitions=")) f.partitions = std::atoi(v);
    else if (const char* v = value("--batch=")) f.batch = std::atoi(v);
    else if (a == "--reload") f.reload = true;
    else if (a == "--existing") f.existing = true;
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      std::exit(2);
    }
  }
  return f;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Messages held by the topics of `topics` (comma-separated); -1 when one is missing.
int64_t Backlog(KafkaClient& client, const std::string& topics) {
  int64_t total = 0;
  for (absl::string_view t : absl::StrSplit(topics, ',')) {
    const std::string topic(t);
    auto count = client.PartitionCount(topic, 10000);
    if (!count.ok()) return -1;
    for (int p = 0; p < *count; ++p) {
      int64_t lo = 0, hi = 0;
      if (rd_kafka_query_watermark_offsets(client.get(), topic.c_str(), p, &lo, &hi, 10000)) {
        return -1;
      }
      total += hi - lo;
    }
  }
  return total;
}
int64_t Backlog(KafkaClient& client, const Flags& f) { return Backlog(client, f.topic); }

// --existing: the backlog is what the topics hold; nothing is produced.
int UseExisting(Flags& f) {
  auto admin = KafkaClient::Create(RD_KAFKA_PRODUCER, {{"bootstrap.servers", f.bootstrap}});
  if (!admin.ok()) return std::fprintf(stderr, "%s\n", admin.status().ToString().c_str()), 1;
  const int64_t have = Backlog(**admin, f.topic);
  if (have <= 0) {
    return std::fprintf(stderr, "--existing: topics %s hold no backlog (or are missing) at %s\n",
                        f.topic.c_str(), f.bootstrap.c_str()), 1;
  }
  if (!f.events_given || f.events > have) f.events = have;
  std::printf("backlog: topics %s hold %lld events; reading %lld\n", f.topic.c_str(),
              static_cast<long long>(have), static_cast<long long>(f.events));
  return 0;
}

int Load(const Flags& f) {
  auto admin = KafkaClient::Create(RD_KAFKA_PRODUCER, {{"bootstrap.servers", f.bootstrap}});
  if (!admin.ok()) return std::fprintf(stderr, "%s\n", admin.status().ToString().c_str()), 1;
  if (auto md = (*admin)->ListTopics(10000); !md.ok()) {
    std::fprintf(stderr, "no Kafka at %s (start it: deploy/local/services.sh start kafka): %s\n",
                 f.bootstrap.c_str(), md.status().ToString().c_str());
    return 1;
  }
  int64_t have = Backlog(**admin, f);
  if (have >= f.events && !f.reload) {
    std::printf("backlog: topic %s already holds %lld events\n", f.topic.c_str(),
                static_cast<long long>(have));
    return 0;
  }
  if (have >= 0) (void)(*admin)->DeleteTopic(f.topic, 30000);
  for (int attempt = 0; attempt < 20; ++attempt) {  // deletion is asynchronous
    absl::Status s = (*admin)->CreateTopic(f.topic, f.partitions, 30000);
    if (s.ok()) break;
    if (!absl::IsAlreadyExists(s)) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
    if (attempt == 19) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  auto producer = KafkaProducer::Create({{"bootstrap.servers", f.bootstrap},
                                         {"enable.idempotence", "true"},
                                         {"linger.ms", "20"},
                                         {"batch.size", "1000000"},
                                         {"compression.type", "lz4"}});
  if (!producer.ok()) return std::fprintf(stderr, "%s\n", producer.status().ToString().c_str()), 1;
  rd_kafka_topic_t* topic = (*producer)->Topic(f.topic);
  auto t0 = std::chrono::steady_clock::now();
  std::string key, value;
  int64_t bytes = 0;
  for (int64_t i = 0; i < f.events; ++i) {
    testing::OrderEvent(i, &key, &value);
    bytes += static_cast<int64_t>(key.size() + value.size());
    absl::Status s = (*producer)->Produce(topic, RD_KAFKA_PARTITION_UA, key.data(), key.size(),
                                          value.data(), value.size());
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  absl::Status s = (*producer)->Flush(300000);
  if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  double secs = Seconds(t0);
  std::printf("load: %lld events (%.1f MB, ~%lld B/event) produced and acknowledged in %.2f s: "
              "%.0f events/s, %.1f MB/s\n",
              static_cast<long long>(f.events), bytes / 1e6,
              static_cast<long long>(bytes / f.events), secs, f.events / secs,
              bytes / 1e6 / secs);
  return 0;
}

template <typename PerBatch>
int Consume(const Flags& f, const char* name, PerBatch per_batch) {
  auto config = KafkaSourceConfig::Parse({{"bootstrap.servers", f.bootstrap},
                                          {"topics", f.topic},
                                          {"scan.batch.max-records", std::to_string(f.batch)},
                                          {"scan.batch.max-wait-ms", "100"}});
  if (!config.ok()) return std::fprintf(stderr, "%s\n", config.status().ToString().c_str()), 1;
  auto consumer = KafkaConsumer::Create(*config, 0, 1);
  if (!consumer.ok()) return std::fprintf(stderr, "%s\n", consumer.status().ToString().c_str()), 1;
  MessageBatch batch;
  int64_t events = 0, bytes = 0, batches = 0;
  auto t0 = std::chrono::steady_clock::now();
  while (events < f.events) {
    absl::Status s = (*consumer)->Poll(&batch);
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
    if (batch.empty() && Seconds(t0) > 600) {
      return std::fprintf(stderr, "%s: stalled after %lld events\n", name,
                          static_cast<long long>(events)), 1;
    }
    bytes += static_cast<int64_t>(batch.ByteSize());
    events += static_cast<int64_t>(batch.size());
    batches += batch.empty() ? 0 : 1;
    if (absl::Status d = per_batch(batch); !d.ok()) {
      return std::fprintf(stderr, "%s\n", d.ToString().c_str()), 1;
    }
  }
  double secs = Seconds(t0);
  std::printf("%-7s %lld events, %.1f MB in %.2f s: %.0f events/s, %.1f MB/s (avg batch %.0f)\n",
              name, static_cast<long long>(events), bytes / 1e6, secs, events / secs,
              bytes / 1e6 / secs, static_cast<double>(events) / static_cast<double>(batches));
  return 0;
}

}  // namespace
}  // namespace cdcflow::kafka

int main(int argc, char** argv) {
  using namespace cdcflow::kafka;
  Flags f = ParseFlags(argc, argv);
  if (int rc = f.existing ? UseExisting(f) : Load(f); rc != 0) return rc;
  uint64_t checksum = 0;
  int rc = Consume(f, "raw", [&](const MessageBatch& batch) {
    for (size_t i = 0; i < batch.size(); ++i) {
      KafkaMessage m = batch[i];
      std::string_view v = m.value();
      checksum += v.size() + static_cast<unsigned char>(v.empty() ? 0 : v[v.size() / 2]) +
                  m.key().size();
    }
    return absl::OkStatus();
  });
  if (rc != 0) return rc;
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(checksum));

  // Consume + decode into rows, as the KafkaDebeziumSource does.
  cdcflow::debezium::Decoder decoder;
  cdcflow::debezium::Event event;
  int64_t rows = 0;
  rc = Consume(f, "decode", [&](const MessageBatch& batch) -> absl::Status {
    for (size_t i = 0; i < batch.size(); ++i) {
      KafkaMessage m = batch[i];
      absl::Status s = decoder.Decode(m.topic(), m.key(), m.value(), &event);
      if (!s.ok()) return s;
      rows += static_cast<int64_t>(event.rows.size());
    }
    return absl::OkStatus();
  });
  if (rc != 0) return rc;
  std::printf("(%lld rows)\n", static_cast<long long>(rows));
  return 0;
}
