#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/exchange/edge_output.h"
#include "runtime/exchange/input_gate.h"
#include "runtime/exchange/key_groups.h"
#include "runtime/exchange/local_channel_factory.h"
#include "runtime/exchange/topology.h"

namespace cdcflow::exchange {
namespace {

Row IntRow(int64_t v) {
  Row r;
  r.fields.push_back(Value::Int64(v));
  return r;
}

TEST(KeyGroupsTest, RangesPartitionTheKeyGroupsLikeSubtaskForKeyGroup) {
  for (int32_t max : {1, 7, 128}) {
    for (int32_t p = 1; p <= max && p <= 9; ++p) {
      int32_t next = 0;
      for (int32_t s = 0; s < p; ++s) {
        KeyGroupRange r = KeyGroupRangeForSubtask(s, p, max);
        EXPECT_EQ(r.start, next);
        for (int32_t kg = r.start; kg <= r.end; ++kg) EXPECT_EQ(SubtaskForKeyGroup(kg, p, max), s);
        next = r.end + 1;
      }
      EXPECT_EQ(next, max);
    }
  }
  // Flink's numbers: 128 key groups over 3 subtasks.
  EXPECT_EQ(SubtaskForKeyGroup(42, 3, 128), 0);
  EXPECT_EQ(SubtaskForKeyGroup(43, 3, 128), 1);
  EXPECT_EQ(SubtaskForKeyGroup(127, 3, 128), 2);
}

TEST(InputGateTest, PushBlocksWhenFullUntilPop) {
  InputGate gate(1, 2);
  ASSERT_TRUE(gate.Push(ChannelMessage::Watermark(1)).ok());
  ASSERT_TRUE(gate.Push(ChannelMessage::Watermark(2)).ok());
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(gate.Push(ChannelMessage::Watermark(3)).ok());
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(pushed.load());
  ChannelMessage m;
  ASSERT_TRUE(*gate.Pop(&m, absl::Seconds(1)));
  EXPECT_EQ(m.value, 1);
  producer.join();
  EXPECT_TRUE(pushed.load());
  ASSERT_TRUE(*gate.Pop(&m, absl::Seconds(1)));
  EXPECT_EQ(m.value, 2);
  ASSERT_TRUE(*gate.Pop(&m, absl::Seconds(1)));
  EXPECT_EQ(m.value, 3);
  auto empty = gate.Pop(&m, absl::Milliseconds(10));
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(*empty);
}

// A batch of one row (value v) with timestamp `ts` for `channel`.
ChannelMessage TimedBatch(int32_t channel, int64_t v, int64_t ts) {
  RowBatch b;
  b.Append(IntRow(v), ts);
  ChannelMessage m = ChannelMessage::Batch(std::move(b));
  m.channel = channel;
  return m;
}

// Pops what is ready and returns, per message, "c<channel>:<value>" for batches and
// "c<channel>:barrier" for barriers.
std::vector<std::string> PopAll(InputGate& gate) {
  std::vector<std::string> out;
  ChannelMessage m;
  while (gate.size() > 0) {
    absl::StatusOr<bool> got = gate.Pop(&m, absl::ZeroDuration());
    EXPECT_TRUE(got.ok() && *got);
    if (!got.ok() || !*got) break;
    out.push_back(absl::StrCat("c", m.channel, ":",
                               m.kind == MessageKind::kBarrier
                                   ? std::string("barrier")
                                   : std::to_string(m.batch.row(0).fields[0].as_int64())));
  }
  return out;
}

TEST(InputGateTest, ReadyChannelsAreMergedByTimeAndControlMessagesGoFirst) {
  InputGate gate(3, 30);
  // Channel 0 runs ahead in time, channel 1 behind; channel 2 carries a barrier.
  for (int64_t i = 0; i < 3; ++i) ASSERT_TRUE(gate.Push(TimedBatch(0, i, 100 + 10 * i)).ok());
  for (int64_t i = 0; i < 3; ++i) ASSERT_TRUE(gate.Push(TimedBatch(1, 10 + i, 95 + 10 * i)).ok());
  ChannelMessage barrier = ChannelMessage::Barrier(7);
  barrier.channel = 2;
  ASSERT_TRUE(gate.Push(std::move(barrier)).ok());
  EXPECT_EQ(PopAll(gate), (std::vector<std::string>{"c2:barrier", "c1:10", "c0:0", "c1:11",
                                                    "c0:1", "c1:12", "c0:2"}));
}

TEST(InputGateTest, EqualTimesAreServedRoundRobinAndBlockedChannelsWait) {
  InputGate gate(2, 20);
  for (int64_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(gate.Push(TimedBatch(0, i, 5)).ok());
    ASSERT_TRUE(gate.Push(TimedBatch(1, 10 + i, 5)).ok());
  }
  EXPECT_EQ(PopAll(gate), (std::vector<std::string>{"c0:0", "c1:10", "c0:1", "c1:11"}));
  // An older message on a blocked channel does not hold back the others.
  ASSERT_TRUE(gate.Push(TimedBatch(0, 1, 1)).ok());
  ASSERT_TRUE(gate.Push(TimedBatch(1, 2, 9)).ok());
  gate.SetBlocked(0, true);
  ChannelMessage m;
  ASSERT_TRUE(*gate.Pop(&m, absl::ZeroDuration()));
  EXPECT_EQ(m.channel, 1);
  gate.SetBlocked(0, false);
  EXPECT_EQ(PopAll(gate), (std::vector<std::string>{"c0:1"}));
}

// Batches without timestamps have no place in time: they and timed ones alternate
// round-robin, so an input whose batches are never timed cannot starve a timed one.
TEST(InputGateTest, UntimedAndTimedChannelsAlternate) {
  InputGate gate(2, 20);
  for (int64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(gate.Push(TimedBatch(0, i, kNoTimestamp)).ok());
    ASSERT_TRUE(gate.Push(TimedBatch(1, 10 + i, 1000 + i)).ok());
  }
  EXPECT_EQ(PopAll(gate), (std::vector<std::string>{"c0:0", "c1:10", "c0:1", "c1:11", "c0:2",
                                                    "c1:12"}));
}

TEST(InputGateTest, CancelUnblocksProducersAndConsumers) {
  InputGate gate(1, 1);
  ASSERT_TRUE(gate.Push(ChannelMessage::Watermark(1)).ok());
  absl::Status producer_status;
  std::thread producer([&] { producer_status = gate.Push(ChannelMessage::Watermark(2)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  gate.Cancel();
  producer.join();
  EXPECT_EQ(producer_status.code(), absl::StatusCode::kCancelled);
  ChannelMessage m;
  EXPECT_EQ(gate.Pop(&m, absl::InfiniteDuration()).status().code(), absl::StatusCode::kCancelled);
}

// A graph: source (p=3) --hash--> keyed (p=2) --forward--> sink (p=2), plus a second
// source (p=1) --broadcast--> keyed input 1.
graph::JobGraphSpec TwoInputSpec() {
  graph::JobGraphSpec spec;
  spec.vertices = {{0, "a", graph::VertexKind::kSource, 3, 128},
                   {1, "b", graph::VertexKind::kSource, 1, 128},
                   {2, "join", graph::VertexKind::kOperator, 2, 128},
                   {3, "out", graph::VertexKind::kSink, 2, 128}};
  spec.edges = {{0, 0, 2, 0, Partitioning::kHash, "fields[0]"},
                {1, 1, 2, 1, Partitioning::kBroadcast, ""},
                {2, 2, 3, 0, Partitioning::kForward, ""}};
  return spec;
}

TEST(TopologyTest, ProducersAndConsumersAgreeOnChannelIndices) {
  graph::JobGraphSpec spec = TwoInputSpec();
  ASSERT_TRUE(spec.Validate().ok());
  graph::ExecutionPlan plan = graph::BuildExecutionPlan(spec);
  ASSERT_EQ(plan.chains.size(), 3u);  // a, b, join -> out
  const int32_t join_chain = plan.chain_of_vertex[2];
  for (int32_t consumer = 0; consumer < 2; ++consumer) {
    auto inputs = InputChannels(spec, plan, join_chain, consumer);
    ASSERT_EQ(inputs.size(), 4u);  // 3 from a, 1 from b
    for (size_t ch = 0; ch < inputs.size(); ++ch) {
      auto outs = OutputChannels(spec, plan, inputs[ch].edge, inputs[ch].producer_subtask);
      ASSERT_EQ(outs.size(), 2u);
      EXPECT_EQ(outs[consumer].consumer_subtask, consumer);
      EXPECT_EQ(outs[consumer].gate_channel, static_cast<int32_t>(ch));
    }
    EXPECT_EQ(inputs[3].target_input, 1);
  }
}

TEST(EdgeOutputTest, HashSendsEveryKeyToTheSubtaskOfItsKeyGroup) {
  constexpr int32_t kParallelism = 4;
  std::vector<std::unique_ptr<InputGate>> gates;
  std::vector<std::unique_ptr<BatchWriter>> writers;
  for (int32_t i = 0; i < kParallelism; ++i) {
    gates.push_back(std::make_unique<InputGate>(1, 1000));
    writers.push_back(std::make_unique<LocalBatchWriter>(gates.back().get(), 0));
  }
  FieldKeySelector key({0});
  EdgeOutput out(Partitioning::kHash, 128, &key, std::move(writers), {.target_batch_rows = 16});
  RowBatch batch;
  for (int64_t i = 0; i < 1000; ++i) batch.Append(IntRow(i % 37), i);
  ASSERT_TRUE(out.Emit(batch).ok());
  ASSERT_TRUE(out.EmitEndOfStream().ok());
  EXPECT_EQ(out.rows_sent(), 1000);
  int64_t total = 0;
  for (int32_t s = 0; s < kParallelism; ++s) {
    ChannelMessage m;
    bool eos = false;
    while (!eos) {
      ASSERT_TRUE(*gates[s]->Pop(&m, absl::Seconds(1)));
      if (m.kind == MessageKind::kEndOfStream) {
        eos = true;
        continue;
      }
      for (size_t i = 0; i < m.batch.size(); ++i) {
        const Value& k = m.batch.row(i).fields[0];
        EXPECT_EQ(SubtaskForKeyGroup(KeyGroupForHash(k.StableHash(), 128), kParallelism, 128), s);
        EXPECT_EQ(m.batch.timestamp(i) % 37, k.as_int64());
        ++total;
      }
    }
  }
  EXPECT_EQ(total, 1000);
}

TEST(EdgeOutputTest, BroadcastCopiesAndRebalanceRotates) {
  std::vector<std::unique_ptr<InputGate>> gates;
  auto writers = [&] {
    std::vector<std::unique_ptr<BatchWriter>> w;
    for (auto& g : gates) w.push_back(std::make_unique<LocalBatchWriter>(g.get(), 0));
    return w;
  };
  for (int i = 0; i < 3; ++i) gates.push_back(std::make_unique<InputGate>(1, 100));
  EdgeOutput broadcast(Partitioning::kBroadcast, 128, nullptr, writers());
  RowBatch batch;
  batch.Append(IntRow(7));
  ASSERT_TRUE(broadcast.Emit(batch).ok());
  for (auto& g : gates) {
    ChannelMessage m;
    ASSERT_TRUE(*g->Pop(&m, absl::Seconds(1)));
    ASSERT_EQ(m.batch.size(), 1u);
    EXPECT_EQ(m.batch.row(0), IntRow(7));
  }
  EdgeOutput rebalance(Partitioning::kRebalance, 128, nullptr, writers());
  for (int i = 0; i < 6; ++i) {
    RowBatch b;
    b.Append(IntRow(i));
    ASSERT_TRUE(rebalance.Emit(b).ok());
  }
  for (auto& g : gates) EXPECT_EQ(g->size(), 2u);
}

TEST(LocalChannelFactoryTest, WritersReachTheConsumersGate) {
  graph::JobGraphSpec spec = TwoInputSpec();
  graph::ExecutionPlan plan = graph::BuildExecutionPlan(spec);
  LocalChannelFactory factory(spec, plan);
  const int32_t join_chain = plan.chain_of_vertex[2];
  auto reader = factory.OpenReader({join_chain, 1});
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->num_channels(), 4);
  auto outs = OutputChannels(spec, plan, 0, 2);
  auto writer = factory.OpenWriter({0, 2, 1}, {join_chain, 1}, outs[1].gate_channel);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(ChannelMessage::Watermark(5)).ok());
  ChannelMessage m;
  ASSERT_TRUE(*(*reader)->Read(&m, absl::Seconds(1)));
  EXPECT_EQ(m.channel, 2);
  EXPECT_EQ(m.value, 5);
  EXPECT_FALSE(factory.OpenWriter({0, 2, 1}, {join_chain, 1}, 99).ok());
  EXPECT_FALSE(factory.OpenReader({42, 0}).ok());
}

}  // namespace
}  // namespace cdcflow::exchange
