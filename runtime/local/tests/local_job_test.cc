#include "runtime/local/local_job.h"

#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/exchange/key_groups.h"
#include "runtime/metrics/metrics.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::local {
namespace {

// Rows written by sinks, per sink subtask, shared by all instances of one test.
struct Collected {
  std::mutex mu;
  std::map<int, std::vector<Row>> by_subtask;
  std::vector<Row> All() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<Row> all;
    for (auto& [s, rows] : by_subtask) all.insert(all.end(), rows.begin(), rows.end());
    return all;
  }
};

class CollectSink : public SinkFunction {
 public:
  CollectSink(Collected* out, absl::Duration delay) : out_(out), delay_(delay) {}
  absl::Status Open(RuntimeContext& ctx) override {
    subtask_ = ctx.subtask_index();
    return absl::OkStatus();
  }
  absl::Status WriteBatch(RowBatch& batch) override {
    if (delay_ > absl::ZeroDuration()) absl::SleepFor(delay_);
    std::lock_guard<std::mutex> lock(out_->mu);
    auto& rows = out_->by_subtask[subtask_];
    for (Row& r : batch.mutable_rows()) rows.push_back(std::move(r));
    return absl::OkStatus();
  }

 private:
  Collected* out_;
  absl::Duration delay_;
  int subtask_ = 0;
};

SinkFactory Collect(Collected* out, absl::Duration delay = absl::ZeroDuration()) {
  return [out, delay]() -> std::unique_ptr<SinkFunction> {
    return std::make_unique<CollectSink>(out, delay);
  };
}

// Emits (key, sum, subtask) once per key when event time ends.
class SumFn : public KeyedProcessFunction {
 public:
  absl::Status Open(KeyedRuntimeContext& ctx) override {
    auto sum_state = ctx.GetValueState("sum");
    if (!sum_state.ok()) return sum_state.status();
    sum_ = *sum_state;
    subtask_ = ctx.subtask_index();
    return absl::OkStatus();
  }
  absl::Status ProcessElement(Row& row, KeyedContext& ctx, Collector&) override {
    const Value* s = sum_->Get();
    sum_->Put(Value::Int64((s ? s->as_int64() : 0) + row.fields[1].as_int64()));
    ctx.RegisterEventTimeTimer(kMaxWatermark);
    return absl::OkStatus();
  }
  absl::Status OnTimer(int64_t, TimeDomain, KeyedContext& ctx, Collector& out) override {
    Row r;
    r.fields = {ctx.current_key().fields[0], *sum_->Get(), Value::Int32(subtask_)};
    out.Emit(std::move(r));
    return absl::OkStatus();
  }

 private:
  KeyedValueState* sum_ = nullptr;
  int subtask_ = 0;
};

Row KeyValue(int64_t i, int64_t keys) {
  Row r;
  r.fields = {Value::Int64(i % keys), Value::Int64(i)};
  return r;
}

class LocalJobTest : public ::testing::TestWithParam<int> {};

TEST_P(LocalJobTest, KeyedSumThroughAHashShuffle) {
  const int p = GetParam();
  constexpr int64_t kRecords = 20000;
  constexpr int64_t kKeys = 97;
  Collected out;
  JobBuilder job(JobArgs(), p);
  job.Source("gen", Generator(kRecords, [](int64_t i) { return KeyValue(i, kKeys); }))
      .KeyBy({0})
      .Process("sum", [] { return std::make_unique<SumFn>(); })
      .SinkTo("out", Collect(&out));
  auto graph = graph::Finalize(job);
  ASSERT_TRUE(graph.ok()) << graph.status();
  JobArgs args;
  auto run = LocalJob::Start(&*graph, &args, {.task = {.batch_rows = 256}});
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE((*run)->Wait().ok());

  std::vector<int64_t> expected(kKeys, 0);
  for (int64_t i = 0; i < kRecords; ++i) expected[i % kKeys] += i;
  std::vector<Row> rows = out.All();
  ASSERT_EQ(rows.size(), static_cast<size_t>(kKeys));  // each key once: one subtask owns it
  std::vector<bool> seen(kKeys, false);
  for (const Row& r : rows) {
    int64_t key = r.fields[0].as_int64();
    ASSERT_FALSE(seen[key]) << key;
    seen[key] = true;
    EXPECT_EQ(r.fields[1].as_int64(), expected[key]) << key;
    // The subtask that summed it is the owner of the key's key group.
    EXPECT_EQ(r.fields[2].as_int32(),
              exchange::SubtaskForKeyGroup(
                  exchange::KeyGroupForHash(Value::Int64(key).StableHash(), 128), p, 128));
  }
  auto progress = (*run)->Progress();
  EXPECT_EQ(progress[0].records_out, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(progress[1].records_in, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(progress[1].records_out, static_cast<uint64_t>(kKeys));
  EXPECT_EQ(progress[2].records_in, static_cast<uint64_t>(kKeys));
}

INSTANTIATE_TEST_SUITE_P(Parallelism, LocalJobTest, ::testing::Values(1, 4));

TEST(LocalJobRocksDbTest, KeyedStateInRocksDb) {
  constexpr int64_t kRecords = 5000;
  constexpr int64_t kKeys = 13;
  Collected out;
  JobBuilder job(JobArgs(), 2);
  job.Source("gen", Generator(kRecords, [](int64_t i) { return KeyValue(i, kKeys); }))
      .KeyBy({0})
      .Process("sum", [] { return std::make_unique<SumFn>(); })
      .SinkTo("out", Collect(&out));
  auto graph = graph::Finalize(job);
  ASSERT_TRUE(graph.ok()) << graph.status();
  const std::filesystem::path dir = cdcflow::testing::NewScratchPath("local_job_rocksdb");
  JobArgs args;
  metrics::MetricRegistry registry;
  // A tiny cache forces the state through RocksDB.
  auto run = LocalJob::Start(&*graph, &args,
                             {.task = {.batch_rows = 100, .state_dir = dir.string(),
                                       .state_cache_bytes = 1},
                              .metrics = &registry});
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE((*run)->Wait().ok());
  // The keyed vertex's state metrics, summed over its subtasks: every record read its
  // key's sum (a hit or a store read) and the state went through the store.
  std::map<std::string, uint64_t> state;
  for (const metrics::FamilySnapshot& f : registry.Collect()) {
    if (f.name.rfind("cdcflow_task_state_", 0) != 0) continue;
    for (const metrics::Sample& sample : f.samples) {
      std::string key = f.name;
      for (const auto& [label, value] : sample.labels) {
        if (label == "read") key += "/" + value;
        if (label == "vertex") EXPECT_EQ(value, "sum");
      }
      state[key] += f.type == metrics::MetricType::kCounter ? sample.counter
                                                           : static_cast<uint64_t>(sample.value);
    }
  }
  const uint64_t reads = state["cdcflow_task_state_cache_hits_total"] +
                         state["cdcflow_task_state_reads_total/point"] +
                         state["cdcflow_task_state_reads_total/batched"];
  EXPECT_GE(reads, static_cast<uint64_t>(kRecords)) << ::testing::PrintToString(state);
  EXPECT_GT(state["cdcflow_task_state_reads_total/point"] +
                state["cdcflow_task_state_reads_total/batched"],
            0u);
  EXPECT_GT(state["cdcflow_task_state_write_backs_total"], 0u);
  EXPECT_GT(state["cdcflow_task_state_cache_evictions_total"], 0u);
  EXPECT_TRUE(state.contains("cdcflow_task_state_cache_bytes"));
  EXPECT_TRUE(state.contains("cdcflow_task_state_reads_total/scan"));
  EXPECT_TRUE(state.contains("cdcflow_task_state_reads_total/skipped"));
  std::vector<Row> rows = out.All();
  ASSERT_EQ(rows.size(), static_cast<size_t>(kKeys));
  for (const Row& r : rows) {
    int64_t key = r.fields[0].as_int64(), expected = 0;
    for (int64_t i = key; i < kRecords; i += kKeys) expected += i;
    EXPECT_EQ(r.fields[1].as_int64(), expected) << key;
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "local" / "vertex-1-subtask-1"));
  std::filesystem::remove_all(dir);
}

TEST(LocalJobFailureTest, AFailingOperatorFailsTheJobWithItsNameAndSubtask) {
  Collected out;
  JobBuilder job(JobArgs(), 2);
  job.Source("gen", Generator(-1, [](int64_t i) { return KeyValue(i, 10); }))
      .Transform("boom",
                 [] {
                   struct Boom : Operator {
                     absl::Status ProcessBatch(int, RowBatch& b, Collector&) override {
                       for (const Row& r : b.rows()) {
                         if (r.fields[1].as_int64() == 5000) return absl::DataLossError("bad row");
                       }
                       return absl::OkStatus();
                     }
                   };
                   return std::make_unique<Boom>();
                 })
      .Rebalance()
      .SinkTo("out", Collect(&out));
  auto graph = graph::Finalize(job);
  ASSERT_TRUE(graph.ok());
  JobArgs args;
  auto run = LocalJob::Start(&*graph, &args);
  ASSERT_TRUE(run.ok());
  absl::Status s = (*run)->Wait();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  // 5000 is even: subtask 0 of the generator (and of the chained 'boom') produced it.
  EXPECT_NE(s.message().find("task 'boom' subtask 0/2: bad row"), std::string::npos) << s;
}

TEST(LocalJobCancelTest, CancelStopsAnUnboundedJob) {
  Collected out;
  JobBuilder job(JobArgs(), 2);
  job.Source("gen", Generator(-1, [](int64_t i) { return KeyValue(i, 10); }))
      .KeyBy({0})
      .Map("id", [](Row r) { return r; })
      .SinkTo("out", Collect(&out, absl::Milliseconds(1)));
  auto graph = graph::Finalize(job);
  ASSERT_TRUE(graph.ok());
  JobArgs args;
  auto run = LocalJob::Start(&*graph, &args);
  ASSERT_TRUE(run.ok());
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE((*run)->Done());
  (*run)->Cancel();
  EXPECT_EQ((*run)->Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE((*run)->Done());
}

TEST(LocalJobBackpressureTest, ASlowSinkHoldsTheSourceBack) {
  Collected out;
  JobBuilder job(JobArgs(), 1);
  job.Source("gen", Generator(-1, [](int64_t i) { return KeyValue(i, 10); }))
      .Rebalance()
      .Map("id", [](Row r) { return r; })
      .SinkTo("out", Collect(&out, absl::Milliseconds(2)));
  auto graph = graph::Finalize(job);
  ASSERT_TRUE(graph.ok());
  JobArgs args;
  constexpr size_t kBatch = 64;
  auto run = LocalJob::Start(&*graph, &args,
                             {.task = {.batch_rows = kBatch},
                              .exchange = {.messages_per_channel = 2}});
  ASSERT_TRUE(run.ok());
  absl::SleepFor(absl::Milliseconds(300));
  auto progress = (*run)->Progress();
  (*run)->Cancel();
  (void)(*run)->Wait();
  // In flight at most: the gate (2 batches), the batch being written by the sink, the
  // batch the source holds while blocked, and one partial batch.
  const uint64_t generated = progress[0].records_out;
  const uint64_t consumed = progress[1].records_in;
  EXPECT_GT(consumed, 0u);
  EXPECT_LE(generated - consumed, 5 * kBatch) << generated << " vs " << consumed;
  // The source spent most of its time blocked on the full gate, the sink little.
  EXPECT_GT(progress[0].backpressured_s, 0.1) << progress[0].busy_s;
  EXPECT_LT(progress[1].backpressured_s, 0.05);
}

// Event time: rows carry timestamps, the keyed function fires per-key timers as the
// watermark passes them, and two inputs (one broadcast) meet in one operator.
TEST(LocalJobEventTimeTest, WatermarksFireTimersAcrossAShuffle) {
  Collected out;
  JobBuilder job(JobArgs(), 3);
  struct WindowFn : KeyedProcessFunction {
    absl::Status Open(KeyedRuntimeContext& ctx) override {
      auto count_state = ctx.GetValueState("count");
    if (!count_state.ok()) return count_state.status();
    count_ = *count_state;
      return absl::OkStatus();
    }
    absl::Status ProcessElement(Row&, KeyedContext& ctx, Collector&) override {
      const Value* c = count_->Get();
      count_->Put(Value::Int64(c ? c->as_int64() + 1 : 1));
      // Tumbling windows of 100 ms (the window is part of the key): fire at the end.
      if (ctx.current_key().fields[1].as_int64() != ctx.timestamp() / 100) {
        return absl::InternalError("row in the wrong window");
      }
      ctx.RegisterEventTimeTimer(ctx.timestamp() / 100 * 100 + 99);
      return absl::OkStatus();
    }
    absl::Status OnTimer(int64_t time, TimeDomain, KeyedContext& ctx, Collector& out) override {
      if (ctx.current_watermark() < time) return absl::InternalError("timer before watermark");
      Row r;
      r.fields = {ctx.current_key().fields[0], Value::Int64(time), *count_->Get()};
      count_->Clear();
      out.Emit(std::move(r));
      return absl::OkStatus();
    }
    KeyedValueState* count_ = nullptr;
  };
  // 1000 rows, timestamp = index, 4 keys: each (key, window) has 25 rows.
  job.Source("gen", Generator(1000,
                              [](int64_t i) { return std::make_pair(KeyValue(i, 4), i); }))
      .KeyBy([](const Row& row) {
        return Key{{row.fields[0], Value::Int64(row.fields[1].as_int64() / 100)}};
      })
      .Process("windows", [] { return std::make_unique<WindowFn>(); })
      .SetParallelism(2)
      .SinkTo("out", Collect(&out));
  auto graph = graph::Finalize(job);
  ASSERT_TRUE(graph.ok()) << graph.status();
  JobArgs args;
  auto run = LocalJob::Start(&*graph, &args, {.task = {.batch_rows = 10}});
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE((*run)->Wait().ok());
  std::vector<Row> rows = out.All();
  ASSERT_EQ(rows.size(), 40u);  // 4 keys x 10 windows
  for (const Row& r : rows) EXPECT_EQ(r.fields[2].as_int64(), 25) << r.ToString();
}

// A source over 5 splits ("s0".."s4", each 10 rows [split, subtask]); the runtime
// gives split i to subtask i % parallelism.
class SplitsSource final : public SplitSource {
 public:
  absl::Status Open(RuntimeContext& ctx) override {
    subtask_ = ctx.subtask_index();
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<SourceSplit>> EnumerateSplits(RuntimeContext&) override {
    std::vector<SourceSplit> splits;
    for (int i = 0; i < 5; ++i) splits.push_back({"s" + std::to_string(i), std::to_string(i)});
    return splits;
  }
  absl::Status AssignSplits(std::vector<SourceSplit> splits) override {
    splits_ = std::move(splits);
    return absl::OkStatus();
  }
  absl::StatusOr<PollResult> PollBatch(RowBatch& out, size_t) override {
    for (const SourceSplit& split : splits_) {
      for (int i = 0; i < 10; ++i) {
        Row r;
        r.fields = {Value::Str(split.id), Value::Int32(subtask_)};
        out.Append(std::move(r));
      }
    }
    return PollResult{PollStatus::kEndOfInput};
  }

 private:
  int subtask_ = 0;
  std::vector<SourceSplit> splits_;
};

TEST(LocalJobSplitSourceTest, SplitsAreSpreadOverSubtasks) {
  Collected out;
  JobBuilder job(JobArgs(), 2);
  job.Source("splits", [] { return std::make_unique<SplitsSource>(); })
      .SinkTo("out", Collect(&out));
  auto graph = graph::Finalize(job);
  ASSERT_TRUE(graph.ok());
  JobArgs args;
  auto run = LocalJob::Start(&*graph, &args);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE((*run)->Wait().ok());
  std::map<std::string, std::pair<int, int>> by_split;  // split -> (rows, subtask)
  for (const Row& r : out.All()) {
    auto& e = by_split[r.fields[0].as_string()];
    ++e.first;
    e.second = r.fields[1].as_int32();
  }
  ASSERT_EQ(by_split.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(by_split["s" + std::to_string(i)].first, 10);
    EXPECT_EQ(by_split["s" + std::to_string(i)].second, i % 2);
  }
}

TEST(LocalJobTwoInputTest, BroadcastAndHashInputsMeet) {
  Collected out;
  JobBuilder job(JobArgs(), 2);
  Stream facts = job.Source("facts", Generator(100, [](int64_t i) { return KeyValue(i, 5); }));
  Stream config = job.Source("config", Generator(3, [](int64_t i) { return KeyValue(i, 1000); }))
                      .SetParallelism(1);
  struct Tagger : Operator {
    absl::Status ProcessBatch(int input, RowBatch& batch, Collector& out) override {
      for (Row& r : batch.mutable_rows()) {
        r.fields.push_back(Value::Int32(input));
        out.Emit(std::move(r));
      }
      return absl::OkStatus();
    }
  };
  job.Transform("tag", {facts.KeyBy({0}), config.Broadcast()},
                [] { return std::make_unique<Tagger>(); })
      .SinkTo("out", Collect(&out));
  auto graph = graph::Finalize(job);
  ASSERT_TRUE(graph.ok()) << graph.status();
  JobArgs args;
  auto run = LocalJob::Start(&*graph, &args);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE((*run)->Wait().ok());
  std::vector<Row> rows = out.All();
  size_t from_facts = 0, from_config = 0;
  for (const Row& r : rows) (r.fields[2].as_int32() == 0 ? from_facts : from_config)++;
  EXPECT_EQ(from_facts, 100u);
  EXPECT_EQ(from_config, 3u * 2);  // broadcast to both subtasks of 'tag'
}

}  // namespace
}  // namespace cdcflow::local
