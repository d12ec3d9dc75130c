// Sink throughput into the real Kafka (deploy/local/services.sh start kafka): rows/s of
// one KafkaSink subtask writing order rows (changelog-json, ~110-byte values) for
// --seconds per mode, with a checkpoint (PrepareCommit + Commit) every --intervals:
//   at-least-once  idempotent producer; a checkpoint = flush
//   exactly-once   transactions; a checkpoint = flush + marker + pre-commit, then commit
// Prints rows/s, MB/s and the checkpoint's PrepareCommit / Commit latencies per mode.
// Usage: kafka_sink_bench [--bootstrap=127.0.0.1:9092] [--seconds=20] [--partitions=3]
//        [--intervals=1000,10000] [--batch=1024]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/kafka/kafka_sink.h"

namespace cdcflow::kafka {
namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string bootstrap = "127.0.0.1:9092";
  double seconds = 20;
  int partitions = 3;
  int batch = 1024;
  std::vector<int> intervals_ms = {1000, 10000};
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
    if (const char* v = value("--bootstrap=")) {
      f.bootstrap = v;
    } else if (const char* v = value("--seconds=")) {
      f.seconds = std::atof(v);
    } else if (const char* v = value("--partitions=")) {
      f.partitions = std::atoi(v);
    } else if (const char* v = value("--batch=")) {
      f.batch = std::atoi(v);
    } else if (const char* v = value("--intervals=")) {
      f.intervals_ms.clear();
      for (absl::string_view part : absl::StrSplit(v, ',')) {
        int ms = 0;
        if (absl::SimpleAtoi(part, &ms) && ms > 0) f.intervals_ms.push_back(ms);
      }
    } else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      std::exit(2);
    }
  }
  return f;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

Schema OrderSchema() {
  return Schema{{Field{"id", ValueType::kInt64, false}, Field{"customer", ValueType::kString},
                 Field{"product", ValueType::kString}, Field{"quantity", ValueType::kInt32},
                 Field{"price", ValueType::kDecimal}}};
}

struct Result {
  double rows_per_s = 0;
  double mb_per_s = 0;
  int checkpoints = 0;
  double prepare_avg_ms = 0, prepare_max_ms = 0, commit_avg_ms = 0, commit_max_ms = 0;
};

int Run(const Flags& f, bool exactly_once, int interval_ms, Result* out) {
  auto admin = KafkaClient::Create(RD_KAFKA_PRODUCER, {{"bootstrap.servers", f.bootstrap}});
  if (!admin.ok()) {
    std::fprintf(stderr, "%s\n", admin.status().ToString().c_str());
    return 1;
  }
  std::string topic = absl::StrCat("cdcflow-sink-bench-", ::getpid(), "-",
                                   exactly_once ? "eo-" : "alo-", interval_ms);
  if (absl::Status s = (*admin)->CreateTopic(topic, f.partitions, 30000); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  KafkaOptions options = {{"bootstrap.servers", f.bootstrap},
                          {"topic", topic},
                          {"format", "changelog-json"},
                          {"key.fields", "id"},
                          {"properties.compression.type", "lz4"}};
  if (exactly_once) {
    options["sink.delivery-guarantee"] = "exactly-once";
    options["sink.transactional-id-prefix"] = topic;
  }
  auto config = KafkaSinkConfig::Parse(options);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 1;
  }
  auto sink = KafkaSink::Create(*config, OrderSchema());
  if (!sink.ok()) {
    std::fprintf(stderr, "%s\n", sink.status().ToString().c_str());
    return 1;
  }
  std::vector<Row> rows(f.batch);
  int64_t id = 0;
  int64_t checkpoint = 0;
  std::vector<double> prepare_ms, commit_ms;
  // Fencing / first transaction outside the measurement.
  if (auto s = (*sink)->PrepareCommit(checkpoint); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
    return 1;
  }
  const Clock::time_point start = Clock::now();
  Clock::time_point next_checkpoint = start + std::chrono::milliseconds(interval_ms);
  while (true) {
    for (Row& r : rows) {
      r = Row{RowKind::kInsert,
              {Value::Int64(id), Value::Str(absl::StrCat("customer-", id % 9973)),
               Value::Str(absl::StrCat("product-", id % 503)), Value::Int32(1 + id % 7),
               Value::Dec(*Decimal::Parse(absl::StrCat(id % 1000, ".", 10 + id % 90)))}};
      ++id;
    }
    if (absl::Status s = (*sink)->WriteBatch(rows); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    bool last = Seconds(start) >= f.seconds;
    if (last || Clock::now() >= next_checkpoint) {
      ++checkpoint;
      Clock::time_point t0 = Clock::now();
      auto state = (*sink)->PrepareCommit(checkpoint);
      if (!state.ok()) {
        std::fprintf(stderr, "%s\n", state.status().ToString().c_str());
        return 1;
      }
      Clock::time_point t1 = Clock::now();
      if (absl::Status s = (*sink)->Commit(checkpoint); !s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
      prepare_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      commit_ms.push_back(Seconds(t1) * 1000);
      next_checkpoint = Clock::now() + std::chrono::milliseconds(interval_ms);
    }
    if (last) break;
  }
  double elapsed = Seconds(start);
  KafkaSinkStats stats = (*sink)->stats();
  if (stats.delivered != id) {
    std::fprintf(stderr, "delivered %lld of %lld rows\n", static_cast<long long>(stats.delivered),
                 static_cast<long long>(id));
    return 1;
  }
  out->rows_per_s = id / elapsed;
  // Value bytes of one row, as formatted (for MB/s).
  RowJsonFormatter formatter = *RowJsonFormatter::Create(SinkFormat::kChangelogJson, OrderSchema(), {"id"});
  FormattedRecord rec;
  (void)formatter.Format(rows[0], &rec);
  out->mb_per_s = out->rows_per_s * (rec.value.size() + rec.key.size()) / 1e6;
  out->checkpoints = static_cast<int>(prepare_ms.size());
  auto avg = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? 0 : sum / v.size();
  };
  out->prepare_avg_ms = avg(prepare_ms);
  out->prepare_max_ms = prepare_ms.empty() ? 0 : *std::max_element(prepare_ms.begin(), prepare_ms.end());
  out->commit_avg_ms = avg(commit_ms);
  out->commit_max_ms = commit_ms.empty() ? 0 : *std::max_element(commit_ms.begin(), commit_ms.end());
  sink->reset();
  (void)(*admin)->DeleteTopic(topic, 30000);
  return 0;
}

}  // namespace
}  // namespace cdcflow::kafka

int main(int argc, char** argv) {
  using namespace cdcflow::kafka;
  Flags f = ParseFlags(argc, argv);
  std::printf("kafka sink bench: %s, %.0f s per mode, %d partitions, batches of %d rows\n",
              f.bootstrap.c_str(), f.seconds, f.partitions, f.batch);
  std::printf("%-14s %9s %10s %7s %6s %18s %18s\n", "mode", "interval", "rows/s", "MB/s", "ckpts",
              "prepare avg/max ms", "commit avg/max ms");
  for (int interval : f.intervals_ms) {
    for (bool eo : {false, true}) {
      Result r;
      if (Run(f, eo, interval, &r) != 0) return 1;
      std::printf("%-14s %7d ms %10.0f %7.1f %6d %8.1f / %7.1f %8.1f / %7.1f\n",
                  eo ? "exactly-once" : "at-least-once", interval, r.rows_per_s, r.mb_per_s,
                  r.checkpoints, r.prepare_avg_ms, r.prepare_max_ms, r.commit_avg_ms,
                  r.commit_max_ms);
      std::fflush(stdout);
    }
  }
  return 0;
}
