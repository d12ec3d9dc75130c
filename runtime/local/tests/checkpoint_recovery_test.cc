// Checkpoints end to end in the local mini-cluster: exactly-once recovery after a task
// failure, rescaling through savepoints (2 -> 4 -> 1), and checkpoint timeouts that
// abort without failing the job.

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/local/local_job.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::local {
namespace {

using ::cdcflow::testing::NewScratchPath;

// Emits values first, first + p, first + 2p, ... below `end` for subtask i of p
// (first = begin + i), `per_poll` rows per poll with a short pause, as rows
// (key = value % keys, value). Its position is the next value. With `idle_at_end` it
// idles once done instead of ending (so a savepoint can be taken).
struct SourceConfig {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t keys = 1;
  int per_poll = 50;
  absl::Duration pause = absl::Milliseconds(1);
  bool idle_at_end = false;
  bool restore_position = true;  // false: a new range per run (rescaling test)
  std::atomic<int>* restored = nullptr;  // counts RestorePosition calls
  // Records the positions restored (guarded by `positions_mu`).
  std::mutex* positions_mu = nullptr;
  std::vector<std::string>* positions = nullptr;
};

class RangeSource : public SourceFunction {
 public:
  explicit RangeSource(SourceConfig c) : c_(c) {}
  absl::Status Open(RuntimeContext& ctx) override {
    p_ = ctx.parallelism();
    next_ = c_.begin + ctx.subtask_index();
    return absl::OkStatus();
  }
  absl::StatusOr<PollResult> PollBatch(RowBatch& out, size_t max_rows) override {
    for (int i = 0; i < c_.per_poll && next_ < c_.end; ++i, next_ += p_) {
      Row r;
      r.fields = {Value::Int64(next_ % c_.keys), Value::Int64(next_)};
      out.Append(std::move(r));
    }
    if (next_ >= c_.end) {
      return PollResult{c_.idle_at_end ? PollStatus::kIdle : PollStatus::kEndOfInput};
    }
    absl::SleepFor(c_.pause);
    return PollResult{PollStatus::kMore};
  }
  absl::StatusOr<std::string> SnapshotPosition(int64_t) override { return absl::StrCat(next_); }
  absl::Status RestorePosition(std::string_view position) override {
    if (c_.restored != nullptr) ++*c_.restored;
    if (c_.positions != nullptr) {
      std::lock_guard<std::mutex> lock(*c_.positions_mu);
      c_.positions->push_back(std::string(position));
    }
    if (!c_.restore_position) return absl::OkStatus();
    int64_t v = 0;
    if (!absl::SimpleAtoi(std::string(position), &v)) return absl::DataLossError("bad position");
    next_ = v;
    return absl::OkStatus();
  }

 private:
  SourceConfig c_;
  int p_ = 1;
  int64_t next_ = 0;
};

// Running sum per key: emits (key, value, sum after it) for every row. Fails once,
// job-wide, when it sees `fail_at`, or at the first row after *fail_now turned true.
class RunningSum : public KeyedProcessFunction {
 public:
  RunningSum(int64_t fail_at, std::atomic<bool>* failed, std::atomic<bool>* fail_now = nullptr)
      : fail_at_(fail_at), failed_(failed), fail_now_(fail_now) {}
  absl::Status Open(KeyedRuntimeContext& ctx) override {
    auto s = ctx.GetValueState("sum");
    if (!s.ok()) return s.status();
    sum_ = *s;
    return absl::OkStatus();
  }
  absl::Status ProcessElement(Row& row, KeyedContext&, Collector& out) override {
    const int64_t v = row.fields[1].as_int64();
    if ((v == fail_at_ || (fail_now_ != nullptr && fail_now_->load())) && failed_ != nullptr &&
        !failed_->exchange(true)) {
      return absl::InternalError(absl::StrCat("deliberate failure at ", v));
    }
    const Value* s = sum_->Get();
    const int64_t sum = (s ? s->as_int64() : 0) + v;
    sum_->Put(Value::Int64(sum));
    Row r;
    r.fields = {row.fields[0], Value::Int64(v), Value::Int64(sum)};
    out.Emit(std::move(r));
    return absl::OkStatus();
  }

 private:
  KeyedValueState* sum_ = nullptr;
  int64_t fail_at_;
  std::atomic<bool>* failed_;
  std::atomic<bool>* fail_now_;
};

// A stand-in for a transactional system (a Kafka cluster): transactions staged per
// (sink subtask, checkpoint), made visible by commit; what is neither committed nor
// staged when a sink instance dies is lost, as an aborted transaction.
struct Broker {
  std::mutex mu;
  std::map<std::pair<int, int64_t>, std::vector<Row>> staged;
  std::vector<Row> committed;
  void CommitUpTo(int subtask, int64_t id) {
    for (auto it = staged.begin(); it != staged.end();) {
      if (it->first.first == subtask && it->first.second <= id) {
        for (Row& r : it->second) committed.push_back(std::move(r));
        it = staged.erase(it);
      } else {
        ++it;
      }
    }
  }
};

// Exactly-once sink over the Broker (the contract of cdcflow/sink.h).
class TransactionalSink : public SinkFunction {
 public:
  explicit TransactionalSink(Broker* b) : broker_(b) {}
  absl::Status Open(RuntimeContext& ctx) override {
    subtask_ = ctx.subtask_index();
    return absl::OkStatus();
  }
  absl::Status WriteBatch(RowBatch& batch) override {
    for (Row& r : batch.mutable_rows()) open_.push_back(std::move(r));
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> PrepareCommit(int64_t id) override {
    std::lock_guard<std::mutex> lock(broker_->mu);
    broker_->staged[{subtask_, id}] = std::move(open_);
    open_.clear();
    return absl::StrCat(subtask_, ":", id);
  }
  absl::Status Commit(int64_t id) override {
    std::lock_guard<std::mutex> lock(broker_->mu);
    broker_->CommitUpTo(subtask_, id);
    return absl::OkStatus();
  }
  absl::Status RestoreState(std::string_view state) override {
    int old_subtask = 0;
    int64_t id = 0;
    const size_t colon = state.find(':');
    if (colon == std::string_view::npos || !absl::SimpleAtoi(std::string(state.substr(0, colon)), &old_subtask) ||
        !absl::SimpleAtoi(std::string(state.substr(colon + 1)), &id)) {
      return absl::DataLossError("bad sink state");
    }
    std::lock_guard<std::mutex> lock(broker_->mu);
    broker_->CommitUpTo(old_subtask, id);  // the checkpoint completed: its transaction commits
    // Lingering transactions of later, incomplete checkpoints are aborted.
    for (auto it = broker_->staged.begin(); it != broker_->staged.end();) {
      it = it->first.first == old_subtask ? broker_->staged.erase(it) : std::next(it);
    }
    return absl::OkStatus();
  }
  absl::Status Finish() override {
    std::lock_guard<std::mutex> lock(broker_->mu);
    broker_->CommitUpTo(subtask_, INT64_MAX);
    for (Row& r : open_) broker_->committed.push_back(std::move(r));
    open_.clear();
    return absl::OkStatus();
  }

 private:
  Broker* broker_;
  int subtask_ = 0;
  std::vector<Row> open_;
};

graph::LogicalGraph KeyedJob(int p, SourceConfig source, Broker* broker, int64_t fail_at,
                             std::atomic<bool>* failed, std::atomic<bool>* fail_now = nullptr) {
  JobBuilder job(JobArgs(), p);
  job.Source("gen", [source] { return std::make_unique<RangeSource>(source); })
      .KeyBy({0})
      .Process("sum", [fail_at, failed, fail_now] {
        return std::make_unique<RunningSum>(fail_at, failed, fail_now);
      })
      .SinkTo("out", [broker] { return std::make_unique<TransactionalSink>(broker); });
  auto graph = graph::Finalize(job);
  EXPECT_TRUE(graph.ok()) << graph.status();
  return *std::move(graph);
}

TEST(CheckpointRecoveryTest, ExactlyOnceAfterAFailure) {
  constexpr int64_t kRecords = 20000;
  constexpr int64_t kKeys = 37;
  Broker broker;
  std::atomic<bool> failed{false};
  std::atomic<int> restored{0};
  SourceConfig source{.begin = 0, .end = kRecords, .keys = kKeys, .restored = &restored};
  graph::LogicalGraph graph = KeyedJob(2, source, &broker, kRecords * 3 / 4, &failed);
  JobArgs args;
  LocalJobOptions options;
  options.task.batch_rows = 64;
  options.task.state_dir = NewScratchPath("state");
  options.checkpoint_dir = NewScratchPath("chk");
  options.checkpoint_interval = absl::Milliseconds(30);
  options.restart.max_restarts = 2;
  options.restart.delay = absl::Milliseconds(10);
  auto job = LocalJob::Start(&graph, &args, options);
  ASSERT_TRUE(job.ok()) << job.status();
  absl::Status status = (*job)->Wait();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(failed.load());
  EXPECT_EQ((*job)->restarts(), 1);
  ASSERT_EQ((*job)->RestartCauses().size(), 1u);
  EXPECT_THAT((*job)->RestartCauses()[0], ::testing::HasSubstr("deliberate failure"));
  EXPECT_EQ(restored.load(), 2) << "both source subtasks resume from a checkpoint";
  int completed = 0;
  for (const auto& h : (*job)->CheckpointHistory()) {
    if (h.status == checkpoint::CheckpointStatus::kCompleted) ++completed;
  }
  EXPECT_GE(completed, 1);

  // Every input value exactly once in the committed output, and each key's running sums
  // end at the exact total.
  std::lock_guard<std::mutex> lock(broker.mu);
  std::vector<int> seen(kRecords, 0);
  std::vector<int64_t> last(kKeys, 0);
  for (const Row& r : broker.committed) {
    const int64_t v = r.fields[1].as_int64();
    ASSERT_GE(v, 0);
    ASSERT_LT(v, kRecords);
    ++seen[v];
    last[r.fields[0].as_int64()] = std::max(last[r.fields[0].as_int64()], r.fields[2].as_int64());
  }
  for (int64_t v = 0; v < kRecords; ++v) ASSERT_EQ(seen[v], 1) << "value " << v;
  std::vector<int64_t> expected(kKeys, 0);
  for (int64_t v = 0; v < kRecords; ++v) expected[v % kKeys] += v;
  EXPECT_EQ(last, expected);
  EXPECT_TRUE(broker.staged.empty());
}

TEST(CheckpointRecoveryTest, FallsBackToThePreviousCheckpointWhenTheLatestIsCorrupt) {
  constexpr int64_t kRecords = 400000;  // more than the test waits for
  Broker broker;
  std::atomic<bool> failed{false};
  std::atomic<bool> fail_now{false};
  std::mutex positions_mu;
  std::vector<std::string> positions;
  SourceConfig source{.begin = 0, .end = kRecords, .keys = 11, .per_poll = 20,
                      .positions_mu = &positions_mu, .positions = &positions};
  graph::LogicalGraph graph = KeyedJob(1, source, &broker, -1, &failed, &fail_now);
  JobArgs args;
  LocalJobOptions options;
  options.task.batch_rows = 32;
  options.task.state_dir = NewScratchPath("state");
  options.checkpoint_dir = NewScratchPath("chk");
  options.restart.max_restarts = 1;
  options.restart.delay = absl::Milliseconds(5);
  auto job = LocalJob::Start(&graph, &args, options);
  ASSERT_TRUE(job.ok()) << job.status();
  absl::StatusOr<checkpoint::CompletedCheckpoint> c1 = (*job)->TriggerCheckpoint();
  ASSERT_TRUE(c1.ok()) << c1.status();
  absl::SleepFor(absl::Milliseconds(20));
  absl::StatusOr<checkpoint::CompletedCheckpoint> c2 = (*job)->TriggerCheckpoint();
  ASSERT_TRUE(c2.ok()) << c2.status();
  std::string c1_position;
  for (const auto& t : c1->metadata.tasks()) {
    for (const auto& op : t.operators()) {
      if (op.has_source_position()) c1_position = op.source_position();
    }
  }
  ASSERT_FALSE(c1_position.empty());
  {
    // Corrupt the newest checkpoint's metadata, then fail the job.
    const std::string meta = c2->dir + "/_metadata";
    std::fstream f(meta, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(30);
    f.put('\x7f');
  }
  fail_now = true;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((*job)->restarts() == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(2));
  ASSERT_EQ((*job)->restarts(), 1);
  while (absl::Now() < deadline) {
    std::lock_guard<std::mutex> lock(positions_mu);
    if (!positions.empty()) break;
    positions_mu.unlock();
    absl::SleepFor(absl::Milliseconds(2));
    positions_mu.lock();
  }
  (*job)->Cancel();
  (*job)->Wait().IgnoreError();
  std::lock_guard<std::mutex> lock(positions_mu);
  ASSERT_EQ(positions.size(), 1u);
  EXPECT_EQ(positions[0], c1_position) << "restored from checkpoint " << c1->id() << ", not "
                                       << c2->id();
}

// Runs [begin, end) with parallelism p (from `savepoint` unless empty) until every row
// reached the sink, takes a savepoint into a new directory, waits for its commit (the
// sinks commit when notified) and cancels; returns the savepoint.
std::string RunPhase(int p, int64_t begin, int64_t end, int64_t keys, const std::string& savepoint,
                     Broker* broker, const std::string& checkpoint_dir) {
  SourceConfig source{.begin = begin, .end = end, .keys = keys, .pause = absl::ZeroDuration(),
                      .idle_at_end = true, .restore_position = false};
  graph::LogicalGraph graph = KeyedJob(p, source, broker, -1, nullptr);
  JobArgs args;
  LocalJobOptions options;
  options.task.batch_rows = 128;
  options.task.state_dir = NewScratchPath("state");
  options.checkpoint_dir = checkpoint_dir;
  options.from_savepoint = savepoint;
  auto job = LocalJob::Start(&graph, &args, options);
  EXPECT_TRUE(job.ok()) << job.status();
  if (!job.ok()) return "";
  // The rows reach the sink's open transaction; a savepoint commits them.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  uint64_t in = 0;
  while (absl::Now() < deadline) {
    in = 0;
    for (const auto& v : (*job)->Progress()) {
      if (v.name == "out") in = v.records_in;
    }
    if (in >= static_cast<uint64_t>(end - begin)) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(in, static_cast<uint64_t>(end - begin));
  const std::string dir = NewScratchPath("savepoint");
  absl::StatusOr<checkpoint::CompletedCheckpoint> sp = (*job)->TriggerSavepoint(dir);
  EXPECT_TRUE(sp.ok()) << sp.status();
  const absl::Time commit_deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < commit_deadline) {
    std::lock_guard<std::mutex> lock(broker->mu);
    if (broker->committed.size() >= static_cast<size_t>(end)) break;
    broker->mu.unlock();
    absl::SleepFor(absl::Milliseconds(5));
    broker->mu.lock();
  }
  (*job)->Cancel();
  EXPECT_EQ((*job)->Wait().code(), absl::StatusCode::kCancelled);
  return dir;
}

TEST(CheckpointRecoveryTest, RescaleTwoFourOneKeepsEveryKeysState) {
  constexpr int64_t kKeys = 300;
  constexpr int64_t kPhase = 3000;
  Broker broker;
  const std::string checkpoints = NewScratchPath("chk");
  std::string sp = RunPhase(2, 0, kPhase, kKeys, "", &broker, checkpoints);
  ASSERT_FALSE(sp.empty());
  sp = RunPhase(4, kPhase, 2 * kPhase, kKeys, sp, &broker, checkpoints);
  ASSERT_FALSE(sp.empty());
  sp = RunPhase(1, 2 * kPhase, 3 * kPhase, kKeys, sp, &broker, checkpoints);
  ASSERT_FALSE(sp.empty());

  std::lock_guard<std::mutex> lock(broker.mu);
  ASSERT_EQ(broker.committed.size(), static_cast<size_t>(3 * kPhase));
  std::vector<int64_t> last(kKeys, 0);
  for (const Row& r : broker.committed) {
    last[r.fields[0].as_int64()] = std::max(last[r.fields[0].as_int64()], r.fields[2].as_int64());
  }
  std::vector<int64_t> expected(kKeys, 0);
  for (int64_t v = 0; v < 3 * kPhase; ++v) expected[v % kKeys] += v;
  EXPECT_EQ(last, expected);
}

TEST(CheckpointRecoveryTest, TimedOutCheckpointsAbortWithoutFailingTheJob) {
  Broker broker;
  // Barriers wait behind a map that stalls 30 ms every 20 rows, twice the timeout.
  SourceConfig source{.begin = 0, .end = 600, .keys = 5, .per_poll = 10,
                      .pause = absl::Milliseconds(2)};
  JobBuilder job(JobArgs(), 1);
  job.Source("gen", [source] { return std::make_unique<RangeSource>(source); })
      .KeyBy({0})
      .Process("sum", [] { return std::make_unique<RunningSum>(-1, nullptr); })
      .Rebalance()
      .Map("slow", [](Row r) {
        if (r.fields[1].as_int64() % 20 == 0) absl::SleepFor(absl::Milliseconds(30));
        return r;
      })
      .SinkTo("out", [&broker] { return std::make_unique<TransactionalSink>(&broker); });
  auto graph = graph::Finalize(job);
  ASSERT_TRUE(graph.ok()) << graph.status();
  JobArgs args;
  LocalJobOptions options;
  options.task.batch_rows = 16;
  options.checkpoint_dir = NewScratchPath("chk");
  options.checkpoint_interval = absl::Milliseconds(20);
  options.checkpoint_timeout = absl::Milliseconds(15);
  auto run = LocalJob::Start(&*graph, &args, options);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE((*run)->Wait().ok());
  int timed_out = 0;
  for (const auto& h : (*run)->CheckpointHistory()) {
    if (h.status == checkpoint::CheckpointStatus::kFailed &&
        h.failure.find("timed out") != std::string::npos) {
      ++timed_out;
    }
  }
  EXPECT_GE(timed_out, 1);
  std::lock_guard<std::mutex> lock(broker.mu);
  EXPECT_EQ(broker.committed.size(), 600u);  // Finish commits everything at the end
}

}  // namespace
}  // namespace cdcflow::local
