// The ceiling of the Flink benchmark (issue #10): what no engine can beat on this machine.
// Reads every message of the given topics from the earliest offset up to the high watermarks
// seen at start, with plain librdkafka consumers (assign, no group), and parses each Debezium
// JSON value with simdjson: it finds payload.op, reads every column of payload.before/after as a
// raw token, and source.ts_ms. Nothing is joined, kept or written. A message whose schema text
// is the previous one of its partition, byte for byte, is parsed without it (as cdcflow's
// decoder does since 2026-11-26: the schema is ~3/4 of a Debezium message).
//
// Usage: bench_ceiling --bootstrap=127.0.0.1:9092 --topics=a,b,c [--threads=2] [--mode=ondemand|dom]
// Partitions are dealt to the threads round-robin (one consumer per thread). Prints one JSON
// line: {"events":N,"tombstones":N,"bytes":N,"seconds":S,"events_per_s":R,"checksum":C}.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "simdjson.h"

namespace {

struct Flags {
  std::string bootstrap = "127.0.0.1:9092";
  std::vector<std::string> topics;
  int threads = 2;
  bool dom = false;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_ceiling: %s\n", what.c_str());
  std::exit(1);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> const char* {
      return a.substr(0, name.size()) == name ? argv[i] + name.size() : nullptr;
    };
    if (const char* v = value("--bootstrap=")) {
      f.bootstrap = v;
    } else if (const char* v = value("--topics=")) {
      std::string s = v;
      for (size_t pos = 0; pos <= s.size();) {
        size_t comma = s.find(',', pos);
        if (comma == std::string::npos) comma = s.size();
        if (comma > pos) f.topics.push_back(s.substr(pos, comma - pos));
        pos = comma + 1;
      }
    } else if (const char* v = value("--threads=")) {
      f.threads = std::atoi(v);
    } else if (const char* v = value("--mode=")) {
      if (std::string_view(v) == "dom") f.dom = true;
      else if (std::string_view(v) != "ondemand") Die("--mode must be ondemand or dom");
    } else {
      Die("unknown flag " + std::string(a));
    }
  }
  if (f.topics.empty()) Die("--topics=a,b,... is required");
  if (f.threads < 1) Die("--threads must be >= 1");
  return f;
}

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};
using Consumer = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

Consumer NewConsumer(const Flags& f) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const char* v) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) Die(err);
  };
  set("bootstrap.servers", f.bootstrap.c_str());
  set("group.id", "cdcflow-bench-ceiling");  // required by the consumer API; never joined
  set("enable.auto.commit", "false");
  set("enable.partition.eof", "true");
  set("fetch.max.bytes", "67108864");
  set("max.partition.fetch.bytes", "16777216");
  set("queued.max.messages.kbytes", "262144");
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) Die(err);
  rd_kafka_poll_set_consumer(rk);
  return Consumer(rk);
}

struct Part {
  std::string topic;
  int32_t partition;
  int64_t low, high;
};

struct Totals {
  int64_t events = 0, tombstones = 0, bytes = 0;
  uint64_t checksum = 0;
};

// Reads the columns of one row object as raw tokens (no value conversion).
uint64_t ReadRow(simdjson::ondemand::value row) {
  uint64_t sum = 0;
  simdjson::ondemand::object obj;
  if (row.get_object().get(obj) != simdjson::SUCCESS) return 0;  // null row
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) Die("bad column name");
    std::string_view raw = field.value().raw_json_token();
    sum += key.size() + raw.size();
  }
  return sum;
}

void Consume(const Flags& f, const std::vector<Part>& parts, Totals* out) {
  if (parts.empty()) return;
  Consumer c = NewConsumer(f);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts.size());
  size_t open = 0;
  for (const Part& p : parts) {
    if (p.high <= p.low) continue;
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset = p.low;
    ++open;
  }
  if (rd_kafka_resp_err_t e = rd_kafka_assign(c.get(), list)) Die(rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(list);

  simdjson::ondemand::parser parser;
  simdjson::dom::parser dom_parser;
  simdjson::padded_string buffer;
  std::vector<std::string> schema_of(parts.size());  // per partition: the last schema text
  constexpr std::string_view kHead = "{\"schema\":";
  constexpr std::string_view kNext = ",\"payload\":";
  Totals t;
  std::vector<bool> done(parts.size(), false);
  auto index_of = [&](const char* topic, int32_t partition) -> size_t {
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].partition == partition && parts[i].topic == topic) return i;
    }
    Die(std::string("message from an unassigned partition of ") + topic);
  };
  auto finish = [&](size_t i) {
    if (!done[i]) {
      done[i] = true;
      --open;
    }
  };
  while (open > 0) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c.get(), 1000);
    if (m == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(m,
                                                                             rd_kafka_message_destroy);
    const char* topic = rd_kafka_topic_name(m->rkt);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      size_t i = index_of(topic, m->partition);
      if (m->offset >= parts[i].high) finish(i);
      continue;
    }
    if (m->err) Die(std::string(topic) + ": " + rd_kafka_message_errstr(m));
    size_t i = index_of(topic, m->partition);
    if (m->offset >= parts[i].high) continue;  // written after we started
    if (m->offset == parts[i].high - 1) finish(i);
    t.bytes += static_cast<int64_t>(m->len + m->key_len);
    ++t.events;
    if (m->payload == nullptr) {
      ++t.tombstones;
      continue;
    }
    // librdkafka's buffer has no simdjson padding: copy into a reused padded buffer.
    std::string_view v(static_cast<const char*>(m->payload), m->len);
    if (buffer.size() < v.size()) buffer = simdjson::padded_string(v.size() * 2);
    // A message repeating its partition's last schema text byte for byte (as Debezium
    // does) is parsed without it, as cdcflow's decoder does: `{` + `"payload":...}`.
    size_t parsed = v.size();
    std::string& known = schema_of[i];
    if (!f.dom && !known.empty() && v.size() > kHead.size() + known.size() + kNext.size() &&
        v.substr(0, kHead.size()) == kHead && v.substr(kHead.size(), known.size()) == known &&
        v.substr(kHead.size() + known.size(), kNext.size()) == kNext) {
      const std::string_view rest = v.substr(kHead.size() + known.size() + 1);
      buffer.data()[0] = '{';
      std::memcpy(buffer.data() + 1, rest.data(), rest.size());
      parsed = rest.size() + 1;
    } else {
      std::memcpy(buffer.data(), v.data(), v.size());
    }
    if (f.dom) {
      simdjson::dom::element doc;
      if (dom_parser.parse(buffer.data(), v.size(), false).get(doc) != simdjson::SUCCESS) {
        Die(std::string("bad JSON in ") + topic + " at offset " + std::to_string(m->offset));
      }
      std::string_view op;
      if (doc["payload"]["op"].get(op) == simdjson::SUCCESS) t.checksum += op[0];
      continue;
    }
    simdjson::ondemand::document doc;
    if (parser.iterate(buffer.data(), parsed, buffer.size()).get(doc) != simdjson::SUCCESS) {
      Die(std::string("bad JSON in ") + topic + " at offset " + std::to_string(m->offset));
    }
    if (parsed == v.size() && v.substr(0, kHead.size()) == kHead) {
      simdjson::ondemand::object schema;
      std::string_view text;
      if (doc.find_field("schema").get_object().get(schema) == simdjson::SUCCESS &&
          schema.raw_json().get(text) == simdjson::SUCCESS) {
        known.assign(text);
      }
    }
    simdjson::ondemand::object payload;
    simdjson::ondemand::value pv;
    if (doc.find_field("payload").get(pv) != simdjson::SUCCESS) {
      // schemas.enable=false: the envelope is the document itself.
      if (parser.iterate(buffer.data(), parsed, buffer.size()).get(doc) != simdjson::SUCCESS) {
        Die("bad JSON");
      }
      if (doc.get_object().get(payload) != simdjson::SUCCESS) Die("envelope is not an object");
    } else if (pv.get_object().get(payload) != simdjson::SUCCESS) {
      Die(std::string("payload is not an object in ") + topic);
    }
    // Fields in document order: before, after, source, transaction, op, ts_ms ...
    for (auto field : payload) {
      std::string_view key;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) Die("bad payload key");
      if (key == "before" || key == "after") {
        t.checksum += ReadRow(field.value());
      } else if (key == "op") {
        std::string_view op;
        if (field.value().get_string().get(op) == simdjson::SUCCESS && !op.empty()) {
          t.checksum += static_cast<unsigned char>(op[0]);
        }
      } else if (key == "source") {
        simdjson::ondemand::object src;
        if (field.value().get_object().get(src) == simdjson::SUCCESS) {
          int64_t ts = 0;
          if (src.find_field_unordered("ts_ms").get_int64().get(ts) == simdjson::SUCCESS) {
            t.checksum += static_cast<uint64_t>(ts);
          }
        }
      }
    }
  }
  *out = t;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = ParseFlags(argc, argv);
  std::vector<Part> all;
  {
    Consumer meta = NewConsumer(f);
    for (const std::string& topic : f.topics) {
      const rd_kafka_metadata_t* md = nullptr;
      rd_kafka_topic_t* rkt = rd_kafka_topic_new(meta.get(), topic.c_str(), nullptr);
      rd_kafka_resp_err_t e = rd_kafka_metadata(meta.get(), 0, rkt, &md, 10000);
      rd_kafka_topic_destroy(rkt);
      if (e) Die(topic + ": " + rd_kafka_err2str(e));
      if (md->topic_cnt != 1 || md->topics[0].err) Die("no topic " + topic);
      for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
        Part p{topic, md->topics[0].partitions[i].id, 0, 0};
        e = rd_kafka_query_watermark_offsets(meta.get(), topic.c_str(), p.partition, &p.low,
                                             &p.high, 10000);
        if (e) Die(topic + ": " + rd_kafka_err2str(e));
        all.push_back(p);
      }
      rd_kafka_metadata_destroy(md);
    }
  }
  std::vector<std::vector<Part>> dealt(f.threads);
  for (size_t i = 0; i < all.size(); ++i) dealt[i % f.threads].push_back(all[i]);
  std::vector<Totals> totals(f.threads);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < f.threads; ++i) {
    threads.emplace_back(Consume, std::cref(f), std::cref(dealt[i]), &totals[i]);
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Totals sum;
  for (const Totals& t : totals) {
    sum.events += t.events;
    sum.tombstones += t.tombstones;
    sum.bytes += t.bytes;
    sum.checksum += t.checksum;
  }
  std::printf(
      "{\"events\":%lld,\"tombstones\":%lld,\"bytes\":%lld,\"seconds\":%.3f,"
      "\"events_per_s\":%.0f,\"checksum\":%llu,\"threads\":%d,\"mode\":\"%s\"}\n",
      static_cast<long long>(sum.events), static_cast<long long>(sum.tombstones),
      static_cast<long long>(sum.bytes), secs, secs > 0 ? sum.events / secs : 0.0,
      static_cast<unsigned long long>(sum.checksum), f.threads, f.dom ? "dom" : "ondemand");
  return 0;
}
