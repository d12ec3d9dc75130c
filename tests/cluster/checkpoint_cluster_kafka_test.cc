// Exactly-once recovery from a real Kafka topic to a real Kafka topic across processes:
// a job manager with --checkpoint-dir, two task managers with --state-dir, and the job
// keyed_sum with source=kafka (jobs/keyed_sum/keyed_sum.cc: Kafka source -> keyed running
// sum -> transactional Kafka sink) reading a fresh multi-partition topic that this test keeps
// producing into while it kills a task manager with SIGKILL five times (each time a
// replacement with the same id starts at once, as a restarted pod would).
//
// A read_committed consumer of the output must then see every input exactly once:
//   - every input id exactly once (a lost input or a duplicate fails),
//   - per key every count 1..n exactly once, sum(c) - sum(c-1) = v of the input at c,
//     and the sum at n is the key's total.
// It also prints, per kill, the time from the kill -9 to the first committed output of
// the recovered attempt (the issue's recovery figure; read_committed output appears
// when the first checkpoint of the new attempt completes).
//
// Needs the local_services fixture: the brokers come from $CDCFLOW_KAFKA_BROKERS.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "connectors/kafka/kafka_client.h"
#include "connectors/kafka/kafka_consumer.h"
#include "connectors/kafka/kafka_producer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_harness.h"

namespace cdcflow {
namespace {

using ::cdcflow::testing::ClusterHarness;

constexpr int kCheckpointIntervalMs = 500;
constexpr int kInputPartitions = 4;
constexpr int kOutputPartitions = 3;
constexpr int64_t kKeys = 307;
constexpr int64_t kPreload = 20000;      // inputs in the topic before the job starts
constexpr int64_t kRatePerSecond = 1500; // then produced while the job runs
constexpr int kKills = 5;

// Input i: key k<(7 i) mod kKeys>, value (i mod 1000) + 1, partition i mod kInputPartitions.
std::string KeyOf(int64_t i) { return absl::StrCat("k", (7 * i) % kKeys); }
int64_t ValueOf(int64_t i) { return i % 1000 + 1; }

std::string Brokers() {
  const char* b = std::getenv("CDCFLOW_KAFKA_BROKERS");
  return b != nullptr ? b : "";
}

// One committed output row: {"op":"+I","k":..,"id":..,"sum":..,"count":..,"inst":..}.
struct OutputRow {
  std::string k, inst;
  int64_t id = -1, sum = 0, count = 0;
};

// The value of `"name":` in a flat JSON object written by the changelog-json format
// (numbers bare, strings without escapes here).
bool JsonField(absl::string_view json, absl::string_view name, std::string* out) {
  const std::string needle = absl::StrCat("\"", name, "\":");
  size_t at = json.find(needle);
  if (at == absl::string_view::npos) return false;
  absl::string_view rest = json.substr(at + needle.size());
  if (absl::ConsumePrefix(&rest, "\"")) {
    size_t end = rest.find('"');
    if (end == absl::string_view::npos) return false;
    *out = std::string(rest.substr(0, end));
    return true;
  }
  size_t end = rest.find_first_of(",}");
  if (end == absl::string_view::npos) return false;
  *out = std::string(rest.substr(0, end));
  return true;
}

bool ParseOutput(absl::string_view json, OutputRow* row) {
  std::string op, id, sum, count;
  return JsonField(json, "op", &op) && op == "+I" && JsonField(json, "k", &row->k) &&
         JsonField(json, "inst", &row->inst) && JsonField(json, "id", &id) &&
         JsonField(json, "sum", &sum) && JsonField(json, "count", &count) &&
         absl::SimpleAtoi(id, &row->id) && absl::SimpleAtoi(sum, &row->sum) &&
         absl::SimpleAtoi(count, &row->count);
}

// Reads the output topic with isolation.level=read_committed on its own thread and
// keeps every record, with the time it arrived.
class CommittedReader {
 public:
  CommittedReader(const std::string& brokers, const std::string& topic)
      : brokers_(brokers), topic_(topic) {}
  ~CommittedReader() { Stop(); }

  absl::Status Start() {
    auto config = kafka::KafkaSourceConfig::Parse(
        {{"bootstrap.servers", brokers_},
         {"topics", topic_},
         {"scan.batch.max-wait-ms", "50"},
         {"scan.partition-discovery.interval-ms", "0"},
         {"properties.isolation.level", "read_committed"}});
    if (!config.ok()) return config.status();
    // A topic just created may have no leaders yet (NOT_LEADER_FOR_PARTITION): retry.
    auto consumer = kafka::KafkaConsumer::Create(*config, 0, 1);
    for (absl::Time deadline = absl::Now() + absl::Seconds(30);
         !consumer.ok() && absl::IsUnavailable(consumer.status()) && absl::Now() < deadline;) {
      absl::SleepFor(absl::Milliseconds(200));
      consumer = kafka::KafkaConsumer::Create(*config, 0, 1);
    }
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(*consumer);
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  struct Seen {
    OutputRow row;
    absl::Time at;
  };
  std::vector<Seen> Rows() {
    absl::MutexLock lock(&mu_);
    return rows_;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return rows_.size();
  }
  size_t distinct_ids() {
    absl::MutexLock lock(&mu_);
    return ids_.size();
  }
  absl::Time last_arrival() {
    absl::MutexLock lock(&mu_);
    return last_;
  }
  std::set<std::string> Instances() {
    absl::MutexLock lock(&mu_);
    return instances_;
  }
  // The arrival time of the first row of an instance not in `known` (InfiniteFuture: none).
  absl::Time FirstRowOfNewInstance(const std::set<std::string>& known) {
    absl::MutexLock lock(&mu_);
    absl::Time first = absl::InfiniteFuture();
    for (const auto& [inst, at] : first_of_instance_) {
      if (!known.contains(inst)) first = std::min(first, at);
    }
    return first;
  }
  std::vector<std::string> errors() {
    absl::MutexLock lock(&mu_);
    return errors_;
  }

 private:
  void Run() {
    kafka::MessageBatch batch;
    while (!stop_) {
      absl::Status s = consumer_->Poll(&batch, 5000, 50);
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&mu_);
      if (!s.ok()) {
        errors_.push_back(s.ToString());
        absl::SleepFor(absl::Milliseconds(100));
        continue;
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        OutputRow row;
        const std::string value(batch[i].value());
        if (!ParseOutput(value, &row)) {
          errors_.push_back(absl::StrCat("unexpected output record at ", batch[i].partition(),
                                         "/", batch[i].offset(), ": ", value));
          continue;
        }
        ids_.insert(row.id);
        instances_.insert(row.inst);
        first_of_instance_.emplace(row.inst, now);
        rows_.push_back({std::move(row), now});
        last_ = now;
      }
    }
    consumer_.reset();
  }

  const std::string brokers_, topic_;
  std::unique_ptr<kafka::KafkaConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<Seen> rows_;
  std::set<int64_t> ids_;
  std::set<std::string> instances_;
  std::map<std::string, absl::Time> first_of_instance_;
  std::vector<std::string> errors_;
  absl::Time last_ = absl::InfinitePast();
};

class CheckpointClusterKafkaTest : public ClusterHarness {
 protected:
  CheckpointClusterKafkaTest() : ClusterHarness("cdcflow_checkpoint_cluster_kafka_test_") {}

  void SetUp() override {
    brokers_ = Brokers();
    ASSERT_FALSE(brokers_.empty())
        << "CDCFLOW_KAFKA_BROKERS is not set: run through ctest (the local_services fixture)";
    ClusterHarness::SetUp();
    if (HasFatalFailure()) return;
    const std::string run = absl::StrCat(::getpid(), "-", absl::ToUnixMillis(absl::Now()));
    input_ = "cdcflow-kill-in-" + run;
    output_ = "cdcflow-kill-out-" + run;
    auto admin = kafka::KafkaClient::Create(RD_KAFKA_PRODUCER, {{"bootstrap.servers", brokers_}});
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = std::move(*admin);
    absl::Status created = admin_->CreateTopic(input_, kInputPartitions, 30000);
    ASSERT_TRUE(created.ok()) << created << " (is Kafka running at " << brokers_ << "?)";
    created = admin_->CreateTopic(output_, kOutputPartitions, 30000);
    ASSERT_TRUE(created.ok()) << created;
  }

  void TearDown() override {
    producing_ = false;
    if (producer_thread_.joinable()) producer_thread_.join();
    if (reader_ != nullptr) reader_->Stop();
    StopProcesses();
    if (admin_ != nullptr) {
      (void)admin_->DeleteTopic(input_, 30000);
      (void)admin_->DeleteTopic(output_, 30000);
    }
    ClusterHarness::TearDown();
  }

  // Produces inputs from `produced_` on: all of [produced_, until) at once, then (when
  // `until` < 0) about kRatePerSecond a second until `producing_` turns false.
  absl::Status Produce(int64_t until) {
    if (producer_ == nullptr) {
      auto producer = kafka::KafkaProducer::Create(
          {{"bootstrap.servers", brokers_}, {"enable.idempotence", "true"}, {"linger.ms", "5"}});
      if (!producer.ok()) return producer.status();
      producer_ = std::move(*producer);
    }
    rd_kafka_topic_t* topic = producer_->Topic(input_);
    const absl::Time start = absl::Now();
    const int64_t first = produced_;
    while (until >= 0 ? produced_ < until : producing_.load()) {
      if (until < 0) {
        const int64_t allowed =
            first + static_cast<int64_t>(absl::ToDoubleSeconds(absl::Now() - start) *
                                         kRatePerSecond);
        if (produced_ >= allowed) {
          absl::Status flushed = producer_->Flush(30000);
          if (!flushed.ok()) return flushed;
          absl::SleepFor(absl::Milliseconds(20));
          continue;
        }
      }
      const int64_t i = produced_;
      // A Debezium event of table (id primary key, k, v), schemas off.
      const std::string key = absl::StrCat(R"({"id":)", i, "}");
      const std::string value =
          absl::StrCat(R"({"before":null,"after":{"id":)", i, R"(,"k":")", KeyOf(i),
                       R"(","v":)", ValueOf(i), R"(},"op":"c"})");
      absl::Status s = producer_->Produce(topic, static_cast<int32_t>(i % kInputPartitions),
                                          key.data(), key.size(), value.data(), value.size());
      if (!s.ok()) return s;
      ++produced_;
    }
    return producer_->Flush(30000);
  }

  // Checks the committed output against the inputs 0 .. produced_-1.
  void ExpectEveryInputExactlyOnce(const std::vector<CommittedReader::Seen>& rows) {
    std::map<int64_t, int> copies;  // id -> times seen
    std::map<std::string, std::map<int64_t, std::pair<int64_t, int64_t>>> by_key;
    int duplicates = 0, bad_ids = 0;
    for (const auto& seen : rows) {
      const OutputRow& r = seen.row;
      if (r.id < 0 || r.id >= produced_ || r.k != KeyOf(r.id)) {
        if (bad_ids++ < 5) ADD_FAILURE() << "an output row of no input: id " << r.id << " k " << r.k;
        continue;
      }
      if (++copies[r.id] == 2 && duplicates++ < 5) {
        ADD_FAILURE() << "input " << r.id << " (key " << r.k << ") committed twice";
      }
      if (!by_key[r.k].emplace(r.count, std::make_pair(r.sum, r.id)).second && duplicates++ < 5) {
        ADD_FAILURE() << "key " << r.k << ": count " << r.count << " committed twice";
      }
    }
    EXPECT_EQ(bad_ids, 0);
    EXPECT_EQ(duplicates, 0) << "duplicated output";
    int64_t lost = 0;
    for (int64_t i = 0; i < produced_; ++i) {
      if (!copies.contains(i) && lost++ < 5) ADD_FAILURE() << "input " << i << " lost";
    }
    EXPECT_EQ(lost, 0) << "inputs missing from the committed output";
    EXPECT_EQ(static_cast<int64_t>(rows.size()), produced_) << "committed output rows";

    std::map<std::string, std::pair<int64_t, int64_t>> expected;  // key -> (n, total)
    for (int64_t i = 0; i < produced_; ++i) {
      auto& e = expected[KeyOf(i)];
      ++e.first;
      e.second += ValueOf(i);
    }
    EXPECT_EQ(by_key.size(), expected.size()) << "keys in the output";
    int bad = 0;
    for (const auto& [key, e] : expected) {
      const auto& counts = by_key[key];
      std::string problem;
      int64_t previous = 0, c = 0;
      for (const auto& [count, sum_id] : counts) {
        ++c;
        if (count != c) {
          problem = absl::StrCat("count ", c, " missing");
          break;
        }
        if (sum_id.first - previous != ValueOf(sum_id.second)) {
          problem = absl::StrCat("sum at count ", c, " is ", sum_id.first, ", previous ", previous,
                                 " + v(", sum_id.second, ") = ", previous + ValueOf(sum_id.second));
          break;
        }
        previous = sum_id.first;
      }
      if (problem.empty() && c != e.first) problem = absl::StrCat(c, " counts, expected ", e.first);
      if (problem.empty() && previous != e.second) {
        problem = absl::StrCat("total ", previous, ", expected ", e.second);
      }
      if (!problem.empty() && bad++ < 5) ADD_FAILURE() << "key " << key << ": " << problem;
    }
    EXPECT_EQ(bad, 0) << "keys whose committed counts/sums are not exactly-once";
  }

  std::string brokers_, input_, output_;
  std::unique_ptr<kafka::KafkaClient> admin_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::atomic<bool> producing_{true};
  std::thread producer_thread_;
  absl::Status produce_status_;  // the producer thread's result
  int64_t produced_ = 0;  // written by the producer thread; read after it joined
  std::unique_ptr<CommittedReader> reader_;
};

TEST_F(CheckpointClusterKafkaTest,
       TaskManagerKilledFiveTimesWhileReadingKafkaWritesEachInputExactlyOnce) {
  const absl::Time test_start = absl::Now();
  absl::Status preloaded = Produce(kPreload);
  ASSERT_TRUE(preloaded.ok()) << preloaded;
  reader_ = std::make_unique<CommittedReader>(brokers_, output_);
  absl::Status reading = reader_->Start();
  ASSERT_TRUE(reading.ok()) << reading;

  StartJobManager(kCheckpointIntervalMs);
  StartTaskManager("tm1", 2);
  StartTaskManager("tm2", 2);
  AwaitTaskManagers(2);

  const std::string job =
      SubmitDetached("jobs/keyed_sum.so", 2, {},
                     {"source=kafka", "brokers=" + brokers_, "input=" + input_, "output=" + output_,
                      "source.scan.partition-discovery.interval-ms=0",
                      "sink.transaction.timeout-ms=60000"});
  ASSERT_FALSE(job.empty());

  producer_thread_ = std::thread([this] { produce_status_ = Produce(-1); });

  // Kills land at a random point of the checkpoint cycle (during a snapshot, between a
  // checkpoint's completion and the sinks' commits, ...).
  const uint32_t seed = static_cast<uint32_t>(absl::ToUnixMicros(absl::Now()));
  std::mt19937 random(seed);
  std::cerr << "kill delays seeded with " << seed << "\n";
  int64_t last_checkpoint = 0;
  std::vector<absl::Duration> to_output;
  for (int kill = 0; kill < kKills; ++kill) {
    SCOPED_TRACE(absl::StrCat("kill ", kill + 1, ", seed ", seed));
    // The attempt runs, completed two checkpoints of its own and committed output.
    const size_t committed = reader_->size();
    v1::GetJobStatusResponse s;
    ASSERT_TRUE(WaitFor(
        [&] {
          s = Status(job);
          return AllRunning(s) && s.latest_checkpoint_id() > last_checkpoint + 1 &&
                 reader_->size() > committed;
        },
        absl::Seconds(60)))
        << "state " << s.job().state() << ", checkpoint " << s.latest_checkpoint_id()
        << ", committed rows " << reader_->size() << ", " << s.failure();
    absl::SleepFor(absl::Milliseconds(random() % kCheckpointIntervalMs));
    s = Status(job);
    ASSERT_TRUE(AllRunning(s)) << s.failure();
    last_checkpoint = s.latest_checkpoint_id();
    // A task manager running tasks of the job, alternating between the two.
    std::string victim;
    for (const auto& t : s.tasks()) {
      if (victim.empty() || (kill % 2 == 1 && t.task_manager_id() != victim)) {
        victim = t.task_manager_id();
      }
    }
    const std::set<std::string> before = reader_->Instances();
    task_managers_[victim].Signal(SIGKILL);
    const absl::Time killed = absl::Now();
    auto exit = task_managers_[victim].Wait(absl::Seconds(10));
    ASSERT_TRUE(exit.ok()) << exit.status();
    StartTaskManager(victim, 2);
    // The first committed row of a sum instance that did not exist before the kill.
    absl::Time first = absl::InfiniteFuture();
    ASSERT_TRUE(WaitFor(
        [&] {
          first = reader_->FirstRowOfNewInstance(before);
          return first != absl::InfiniteFuture();
        },
        absl::Seconds(60), absl::Milliseconds(10)))
        << "no committed output of a recovered attempt within 60 s of the kill";
    to_output.push_back(first - killed);
    s = Status(job);
    EXPECT_THAT(s.restored_from(), ::testing::HasSubstr("/chk-")) << "restarted without state";
    std::cerr << "kill " << kill + 1 << " (" << victim << ") -> first committed output after "
              << "recovery: " << to_output.back() << " (" << reader_->size()
              << " committed rows)\n";
  }
  producing_ = false;
  producer_thread_.join();
  ASSERT_TRUE(produce_status_.ok()) << produce_status_;

  // Everything arrives, then two more checkpoints complete (a duplicate committed by
  // them would be seen), then the job is canceled and the reader drains.
  ASSERT_TRUE(WaitFor([&] { return reader_->distinct_ids() >= static_cast<size_t>(produced_); },
                      absl::Seconds(60), absl::Milliseconds(100)))
      << reader_->distinct_ids() << " of " << produced_ << " inputs in the committed output";
  v1::GetJobStatusResponse s = Status(job);
  const int64_t checkpoint = s.latest_checkpoint_id();
  EXPECT_TRUE(WaitFor([&] { return Status(job).latest_checkpoint_id() >= checkpoint + 2; },
                      absl::Seconds(30)));
  s = Status(job);
  EXPECT_EQ(s.job().state(), v1::JOB_STATE_RUNNING) << s.failure();
  EXPECT_GE(s.restarts(), kKills);
  std::string output;
  EXPECT_EQ(Cli({"cancel", "--jobmanager", jm_address_, job}, &output), 0) << output;
  WaitFor([&] { return absl::Now() - reader_->last_arrival() > absl::Seconds(3); },
          absl::Seconds(30), absl::Milliseconds(100));
  reader_->Stop();
  EXPECT_THAT(reader_->errors(), ::testing::IsEmpty());

  const std::vector<CommittedReader::Seen> rows = reader_->Rows();
  std::cerr << produced_ << " inputs, " << rows.size() << " committed output rows, "
            << s.restarts() << " restarts, " << s.latest_checkpoint_id() << " checkpoints, "
            << reader_->Instances().size() << " sum instances, test took "
            << absl::Now() - test_start << "\n";
  for (size_t i = 0; i < to_output.size(); ++i) {
    std::cerr << "kill -9 of a task manager -> first committed output after recovery: "
              << to_output[i] << "\n";
  }
  ExpectEveryInputExactlyOnce(rows);
}

}  // namespace
}  // namespace cdcflow
