// Barrier alignment of a task with two inputs, driven message by message through its
// input gate: what the snapshot of checkpoint n holds is exactly what arrived before
// barrier n on every channel.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/exchange/local_channel_factory.h"
#include "runtime/exchange/topology.h"
#include "runtime/task/task.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::task {
namespace {

struct Log {
  std::mutex mu;
  std::vector<std::string> processed;
  bool Has(const std::string& s) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(processed.begin(), processed.end(), s) != processed.end();
  }
};

// Records "<input>:<value>" per row; its operator state is what it saw so far.
class RecordingOp : public Operator {
 public:
  explicit RecordingOp(Log* log) : log_(log) {}
  absl::Status ProcessBatch(int input, RowBatch& batch, Collector& out) override {
    for (size_t i = 0; i < batch.size(); ++i) {
      const std::string s = absl::StrCat(input, ":", batch.row(i).fields[0].as_string());
      seen_.push_back(s);
      std::lock_guard<std::mutex> lock(log_->mu);
      log_->processed.push_back(s);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> SnapshotState(int64_t) override { return absl::StrJoin(seen_, ","); }

 private:
  Log* log_;
  std::vector<std::string> seen_;
};

class FakeListener : public checkpoint::CheckpointListener {
 public:
  void Acknowledge(const v1::TaskCheckpointAck& ack) override {
    std::lock_guard<std::mutex> lock(mu_);
    acks_.push_back(ack);
  }
  void Decline(const exchange::TaskId&, int64_t id, absl::Status reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    declined_.emplace_back(id, reason.ToString());
  }
  void TaskFinished(const exchange::TaskId&) override {}
  // The ack of checkpoint `id`, waiting up to 5 s.
  std::optional<v1::TaskCheckpointAck> AwaitAck(int64_t id) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& a : acks_) {
          if (a.checkpoint_id() == id) return a;
        }
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    return std::nullopt;
  }
  std::vector<std::pair<int64_t, std::string>> declined() {
    std::lock_guard<std::mutex> lock(mu_);
    return declined_;
  }

 private:
  std::mutex mu_;
  std::vector<v1::TaskCheckpointAck> acks_;
  std::vector<std::pair<int64_t, std::string>> declined_;
};

class NullSink : public SinkFunction {
 public:
  absl::Status WriteBatch(RowBatch&) override { return absl::OkStatus(); }
};

Row Str(std::string s) {
  Row r;
  r.fields = {Value::Str(std::move(s))};
  return r;
}

exchange::ChannelMessage Batch(int32_t channel, std::string value) {
  RowBatch b;
  b.Append(Str(std::move(value)));
  exchange::ChannelMessage m = exchange::ChannelMessage::Batch(std::move(b));
  m.channel = channel;
  return m;
}
exchange::ChannelMessage On(int32_t channel, exchange::ChannelMessage m) {
  m.channel = channel;
  return m;
}

bool Eventually(const std::function<bool()>& f) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    if (f()) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return false;
}

class AlignmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    JobBuilder job(JobArgs(), 1);
    auto gen = [](int64_t) { return Str("x"); };
    Stream a = job.Source("a", Generator(0, gen)).Rebalance();
    Stream b = job.Source("b", Generator(0, gen)).Rebalance();
    job.Transform("two", {a, b}, [this] { return std::make_unique<RecordingOp>(&log_); })
        .SinkTo("out", [] { return std::make_unique<NullSink>(); });
    auto graph = graph::Finalize(job);
    ASSERT_TRUE(graph.ok()) << graph.status();
    graph_ = std::make_unique<graph::LogicalGraph>(*std::move(graph));
    spec_ = graph_->Spec();
    plan_ = graph::BuildExecutionPlan(spec_);
    int32_t two = -1;
    for (const auto& v : spec_.vertices) {
      if (v.name == "two") two = v.id;
    }
    chain_ = plan_.chain_of_vertex[two];
    channels_ = std::make_unique<exchange::LocalChannelFactory>(spec_, plan_);
    const std::vector<exchange::InputChannel> inputs =
        exchange::InputChannels(spec_, plan_, chain_, 0);
    ASSERT_EQ(inputs.size(), 2u);
    ch_a_ = inputs[0].target_input == 0 ? 0 : 1;
    ch_b_ = 1 - ch_a_;
    root_ = cdcflow::testing::NewScratchPath("alignment");
    storage_ = *checkpoint::CheckpointStorage::Create(root_, "job");
    TaskSetup setup;
    setup.graph = graph_.get();
    setup.spec = &spec_;
    setup.plan = &plan_;
    setup.id = {chain_, 0};
    setup.args = &args_;
    setup.channels = channels_.get();
    setup.checkpoint_listener = &listener_;
    setup.checkpoint_storage = storage_.get();
    auto task = Task::Create(setup);
    ASSERT_TRUE(task.ok()) << task.status();
    task_ = *std::move(task);
    thread_ = std::thread([this] { status_ = task_->Run(); });
  }
  void TearDown() override {
    if (thread_.joinable()) {
      task_->Cancel();
      channels_->Cancel();
      thread_.join();
    }
  }
  void Push(exchange::ChannelMessage m) {
    ASSERT_TRUE(channels_->gate({chain_, 0})->Push(std::move(m)).ok());
  }
  std::string Snapshot(const v1::TaskCheckpointAck& ack) {
    for (const auto& op : ack.operators()) {
      if (op.vertex_name() == "two") return op.operator_state();
    }
    return "<none>";
  }

  Log log_;
  JobArgs args_;
  std::unique_ptr<graph::LogicalGraph> graph_;
  graph::JobGraphSpec spec_;
  graph::ExecutionPlan plan_;
  int32_t chain_ = 0;
  int32_t ch_a_ = 0, ch_b_ = 1;
  std::unique_ptr<exchange::LocalChannelFactory> channels_;
  std::string root_;
  std::unique_ptr<checkpoint::CheckpointStorage> storage_;
  FakeListener listener_;
  std::unique_ptr<Task> task_;
  std::thread thread_;
  absl::Status status_;
};

TEST_F(AlignmentTest, SnapshotHoldsExactlyWhatPrecededTheBarrierOnEveryChannel) {
  Push(Batch(ch_a_, "a1"));
  Push(On(ch_a_, exchange::ChannelMessage::Barrier(1)));
  Push(Batch(ch_a_, "a2"));  // after barrier 1 on its channel: must wait
  Push(Batch(ch_b_, "b1"));
  ASSERT_TRUE(Eventually([&] { return log_.Has("1:b1"); }));
  absl::SleepFor(absl::Milliseconds(30));
  EXPECT_FALSE(log_.Has("0:a2")) << "a channel that delivered the barrier was read on";
  Push(On(ch_b_, exchange::ChannelMessage::Barrier(1)));
  std::optional<v1::TaskCheckpointAck> ack1 = listener_.AwaitAck(1);
  ASSERT_TRUE(ack1.has_value());
  EXPECT_EQ(Snapshot(*ack1), "0:a1,1:b1");
  ASSERT_TRUE(Eventually([&] { return log_.Has("0:a2"); }));

  // An ended channel counts as having delivered the barrier.
  Push(On(ch_a_, exchange::ChannelMessage::Barrier(2)));
  Push(Batch(ch_a_, "a3"));
  Push(Batch(ch_b_, "b2"));
  Push(On(ch_b_, exchange::ChannelMessage::EndOfStream()));
  std::optional<v1::TaskCheckpointAck> ack2 = listener_.AwaitAck(2);
  ASSERT_TRUE(ack2.has_value());
  EXPECT_EQ(Snapshot(*ack2), "0:a1,1:b1,0:a2,1:b2");
  EXPECT_GE(ack2->alignment_ns(), 0);
  Push(On(ch_a_, exchange::ChannelMessage::EndOfStream()));
  thread_.join();
  EXPECT_TRUE(status_.ok()) << status_;
  EXPECT_TRUE(log_.Has("0:a3"));
  EXPECT_TRUE(listener_.declined().empty());
}

TEST_F(AlignmentTest, NewerBarrierOvertakingAnAlignmentDeclinesIt) {
  Push(On(ch_a_, exchange::ChannelMessage::Barrier(1)));
  Push(Batch(ch_a_, "a1"));
  // Channel b skipped checkpoint 1 (aborted upstream) and delivers barrier 2.
  Push(Batch(ch_b_, "b1"));
  Push(On(ch_b_, exchange::ChannelMessage::Barrier(2)));
  ASSERT_TRUE(Eventually([&] { return !listener_.declined().empty(); }));
  EXPECT_EQ(listener_.declined()[0].first, 1);
  EXPECT_THAT(listener_.declined()[0].second, ::testing::HasSubstr("overtook"));
  // a1 was released when checkpoint 1 was given up, and precedes barrier 2 on channel a.
  Push(On(ch_a_, exchange::ChannelMessage::Barrier(2)));
  std::optional<v1::TaskCheckpointAck> ack2 = listener_.AwaitAck(2);
  ASSERT_TRUE(ack2.has_value());
  EXPECT_EQ(Snapshot(*ack2), "1:b1,0:a1");
}

// A source waiting for input that only Wakeup (or a minute) ends.
class WaitingSource : public SourceFunction {
 public:
  WaitingSource(std::atomic<int>* polls, std::atomic<int>* wakeups)
      : polls_(polls), wakeups_(wakeups) {}
  absl::StatusOr<PollResult> PollBatch(RowBatch&, size_t) override {
    std::unique_lock<std::mutex> lock(mu_);
    polls_->fetch_add(1);
    cv_.wait_for(lock, std::chrono::minutes(1), [&] { return woken_; });
    woken_ = false;
    PollResult r;
    r.status = PollStatus::kIdle;
    return r;
  }
  void Wakeup() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      woken_ = true;
    }
    wakeups_->fetch_add(1);
    cv_.notify_all();
  }

 private:
  std::atomic<int>* polls_;
  std::atomic<int>* wakeups_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
};

// A checkpoint trigger wakes a source that waits for input, instead of waiting for the
// poll's timeout (which would hold up the alignment of every task downstream); so does
// cancellation.
TEST(SourceWakeupTest, TriggerAndCancelWakeAWaitingPoll) {
  std::atomic<int> polls{0};
  std::atomic<int> wakeups{0};
  JobBuilder job(JobArgs(), 1);
  job.Source("waiting",
             [&] { return std::make_unique<WaitingSource>(&polls, &wakeups); })
      .SinkTo("out", [] { return std::make_unique<NullSink>(); });
  auto graph = graph::Finalize(job);
  ASSERT_TRUE(graph.ok()) << graph.status();
  graph::JobGraphSpec spec = graph->Spec();
  graph::ExecutionPlan plan = graph::BuildExecutionPlan(spec);
  exchange::LocalChannelFactory channels(spec, plan);
  const std::string root = cdcflow::testing::NewScratchPath("source_wakeup");
  auto storage = *checkpoint::CheckpointStorage::Create(root, "job");
  FakeListener listener;
  JobArgs args;
  TaskSetup setup;
  setup.graph = &*graph;
  setup.spec = &spec;
  setup.plan = &plan;
  setup.id = {0, 0};
  setup.args = &args;
  setup.channels = &channels;
  setup.checkpoint_listener = &listener;
  setup.checkpoint_storage = storage.get();
  auto task = Task::Create(setup);
  ASSERT_TRUE(task.ok()) << task.status();
  absl::Status status;
  std::thread thread([&] { status = (*task)->Run(); });
  ASSERT_TRUE(Eventually([&] { return polls.load() >= 1; }));  // the poll is waiting
  (*task)->TriggerCheckpoint(1, false);
  EXPECT_TRUE(listener.AwaitAck(1).has_value()) << "the trigger waited for the poll";
  EXPECT_GE(wakeups.load(), 1);
  (*task)->Cancel();
  channels.Cancel();
  thread.join();  // a minute without the wakeup: the test times out
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
  EXPECT_GE(wakeups.load(), 2);
}

}  // namespace
}  // namespace cdcflow::task
