#include "taskmanager/network_exchange.h"

#include <atomic>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "runtime/exchange/topology.h"

namespace cdcflow::taskmanager {
namespace {

using ::testing::HasSubstr;

// Serves one NetworkExchange's ExchangeBatches on loopback.
class ExchangeService final : public v1::TaskManagerService::Service {
 public:
  explicit ExchangeService(NetworkExchange** target) : target_(target) {}
  grpc::Status ExchangeBatches(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ExchangeCredit, v1::ExchangeMessage>* stream) override {
    v1::ExchangeMessage first;
    if (!stream->Read(&first)) return grpc::Status::OK;
    return (*target_)->Serve(context, first.channel(), stream);
  }

 private:
  NetworkExchange** target_;
};

RowBatch MakeBatch(int first, int n) {
  RowBatch batch;
  for (int i = first; i < first + n; ++i) {
    Row row;
    row.kind = i % 2 ? RowKind::kUpdateAfter : RowKind::kInsert;
    row.fields = {Value::Int64(i), Value::Str(absl::StrCat("row ", i))};
    batch.Append(std::move(row), 1000 + i);
  }
  return batch;
}

// source(2) --hash--> sink(2). Source subtasks and sink subtask 0 run on "a", sink
// subtask 1 on "b" (served over gRPC).
class NetworkExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spec_.job_name = "t";
    spec_.vertices = {{0, "src", graph::VertexKind::kSource, 2, 128},
                      {1, "sink", graph::VertexKind::kSink, 2, 128}};
    spec_.edges = {{0, 0, 1, 0, Partitioning::kHash, "f0"}};
    ASSERT_TRUE(spec_.Validate().ok());
    plan_ = graph::BuildExecutionPlan(spec_);
    ASSERT_EQ(plan_.chains.size(), 2u);

    service_ = std::make_unique<ExchangeService>(&b_ptr_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
  }

  void MakeExchanges(NetworkExchangeOptions options) {
    const std::string b_address = absl::StrCat("127.0.0.1:", port_);
    std::vector<std::vector<NetworkExchange::Location>> locations = {
        {{"a", "127.0.0.1:1"}, {"a", "127.0.0.1:1"}},
        {{"a", "127.0.0.1:1"}, {"b", b_address}}};
    a_ = std::make_unique<NetworkExchange>("job", 0, spec_, plan_, locations, "a", &pool_, options);
    b_ = std::make_unique<NetworkExchange>("job", 0, spec_, plan_, locations, "b", &pool_, options);
    b_ptr_ = b_.get();
  }

  void TearDown() override {
    if (a_) a_->Cancel();
    if (b_) b_->Cancel();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  }

  // The writer from source subtask `producer` to sink subtask `consumer`.
  std::unique_ptr<exchange::BatchWriter> Writer(NetworkExchange& from, int producer, int consumer) {
    auto outs = exchange::OutputChannels(spec_, plan_, 0, producer);
    auto w = from.OpenWriter({0, producer, consumer}, {1, consumer}, outs[consumer].gate_channel);
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? std::move(*w) : nullptr;
  }

  graph::JobGraphSpec spec_;
  graph::ExecutionPlan plan_;
  ChannelPool pool_;
  std::unique_ptr<ExchangeService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<NetworkExchange> a_, b_;
  NetworkExchange* b_ptr_ = nullptr;
};

TEST_F(NetworkExchangeTest, LocalAndRemoteChannelsDeliverBatchesInOrder) {
  MakeExchanges({});
  auto local = Writer(*a_, 1, 0);
  auto remote = Writer(*a_, 1, 1);
  // Producers on their own threads: the gates are bounded, the readers run below.
  std::thread producer([&] {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(remote->Write(exchange::ChannelMessage::Batch(MakeBatch(i * 10, 10))).ok());
      if (i == 9) {
        ASSERT_TRUE(remote->Write(exchange::ChannelMessage::Watermark(4242)).ok());
      }
    }
    EXPECT_TRUE(remote->Write(exchange::ChannelMessage::EndOfStream()).ok());
  });
  std::thread ender([&] {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(local->Write(exchange::ChannelMessage::Batch(MakeBatch(i * 10, 10))).ok());
    }
    ASSERT_TRUE(local->Write(exchange::ChannelMessage::EndOfStream()).ok());
  });

  for (NetworkExchange* ex : {a_.get(), b_.get()}) {
    int consumer = ex == a_.get() ? 0 : 1;
    SCOPED_TRACE(consumer);
    auto reader = ex->OpenReader({1, consumer});
    ASSERT_TRUE(reader.ok()) << reader.status();
    EXPECT_EQ((*reader)->num_channels(), 2);
    int next = 0;
    bool saw_watermark = false;
    while (true) {
      exchange::ChannelMessage m;
      auto got = (*reader)->Read(&m, absl::Seconds(10));
      ASSERT_TRUE(got.ok() && *got) << "consumer " << consumer;
      EXPECT_EQ(m.channel, 1) << "gate channel of producer subtask 1";
      if (m.kind == exchange::MessageKind::kEndOfStream) break;
      if (m.kind == exchange::MessageKind::kWatermark) {
        EXPECT_EQ(m.value, 4242);
        EXPECT_EQ(next, 100) << "the watermark keeps its place in the stream";
        saw_watermark = true;
        continue;
      }
      ASSERT_EQ(m.kind, exchange::MessageKind::kBatch);
      EXPECT_EQ(m.batch, MakeBatch(next, 10));
      next += 10;
    }
    EXPECT_EQ(next, 200);
    EXPECT_EQ(saw_watermark, consumer == 1);
  }
  producer.join();
  ender.join();
}

// Remote channels count their encoded bytes for the producing and the consuming
// subtask (as a task's metrics would show them); local channels count none.
TEST_F(NetworkExchangeTest, RemoteChannelsCountEncodedBytesPerSubtask) {
  metrics::MetricRegistry registry;
  NetworkExchangeOptions options;
  options.registry = &registry;
  MakeExchanges(options);
  auto remote = Writer(*a_, 1, 1);
  auto local = Writer(*a_, 0, 0);
  uint64_t encoded = 0;
  for (int i = 0; i < 5; ++i) {
    std::string wire;
    EncodeBatchMessage(MakeBatch(i * 10, 10), &wire);
    encoded += wire.size();
  }
  std::thread producer([&] {
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(remote->Write(exchange::ChannelMessage::Batch(MakeBatch(i * 10, 10))).ok());
      if (i < 2) {  // within the local gate's capacity: nobody reads it here
        ASSERT_TRUE(local->Write(exchange::ChannelMessage::Batch(MakeBatch(i * 10, 10))).ok());
      }
    }
    EXPECT_TRUE(remote->Write(exchange::ChannelMessage::EndOfStream()).ok());
  });
  auto reader = b_->OpenReader({1, 1});
  ASSERT_TRUE(reader.ok()) << reader.status();
  int batches = 0;
  while (true) {
    exchange::ChannelMessage m;
    auto got = (*reader)->Read(&m, absl::Seconds(10));
    ASSERT_TRUE(got.ok() && *got);
    if (m.kind == exchange::MessageKind::kEndOfStream) break;
    ++batches;
  }
  producer.join();
  EXPECT_EQ(batches, 5);
  auto src1 = metrics::SubtaskMetrics::Create(registry, "job", "src", 1);
  auto sink1 = metrics::SubtaskMetrics::Create(registry, "job", "sink", 1);
  auto src0 = metrics::SubtaskMetrics::Create(registry, "job", "src", 0);
  EXPECT_EQ(src1.bytes_out->Value(), encoded);
  EXPECT_EQ(sink1.bytes_in->Value(), encoded);
  EXPECT_EQ(src0.bytes_out->Value(), 0u);
}

// Barriers cross task managers in their place between batches (they consume credits
// like any message), with their checkpoint ids, on remote and local channels alike.
TEST_F(NetworkExchangeTest, BarriersKeepTheirPlaceAndIdOnRemoteAndLocalChannels) {
  NetworkExchangeOptions options;
  options.credits_per_channel = 1;  // every message waits for a credit
  MakeExchanges(options);
  auto barrier = [](int64_t id) {
    exchange::ChannelMessage m;
    m.kind = exchange::MessageKind::kBarrier;
    m.value = id;
    return m;
  };
  auto remote = Writer(*a_, 0, 1);
  auto local = Writer(*a_, 0, 0);
  std::thread producer([&] {
    for (exchange::BatchWriter* w : {remote.get(), local.get()}) {
      for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(w->Write(exchange::ChannelMessage::Batch(MakeBatch(i * 10, 10))).ok());
        if (i == 1) ASSERT_TRUE(w->Write(barrier(7)).ok());
        if (i == 3) ASSERT_TRUE(w->Write(barrier(int64_t{1} << 40)).ok());
      }
      EXPECT_TRUE(w->Write(exchange::ChannelMessage::EndOfStream()).ok());
    }
  });
  for (NetworkExchange* ex : {b_.get(), a_.get()}) {
    const int consumer = ex == a_.get() ? 0 : 1;
    SCOPED_TRACE(consumer);
    auto reader = ex->OpenReader({1, consumer});
    ASSERT_TRUE(reader.ok()) << reader.status();
    std::vector<std::string> seen;
    while (true) {
      exchange::ChannelMessage m;
      auto got = (*reader)->Read(&m, absl::Seconds(10));
      ASSERT_TRUE(got.ok() && *got);
      EXPECT_EQ(m.channel, 0) << "gate channel of producer subtask 0";
      if (m.kind == exchange::MessageKind::kEndOfStream) break;
      if (m.kind == exchange::MessageKind::kBarrier) {
        seen.push_back(absl::StrCat("barrier ", m.value));
      } else {
        ASSERT_EQ(m.kind, exchange::MessageKind::kBatch);
        ASSERT_FALSE(m.batch.empty());
        EXPECT_EQ(m.batch, MakeBatch(m.batch.rows()[0].fields[0].as_int64(), 10));
        seen.push_back(absl::StrCat("batch ", m.batch.rows()[0].fields[0].as_int64()));
      }
    }
    EXPECT_THAT(seen, ::testing::ElementsAre("batch 0", "batch 10", "barrier 7", "batch 20",
                                             "batch 30", "barrier 1099511627776", "batch 40",
                                             "batch 50"));
  }
  producer.join();
}

TEST_F(NetworkExchangeTest, CreditsBoundWhatASlowConsumerReceives) {
  NetworkExchangeOptions options;
  options.credits_per_channel = 2;
  options.messages_per_channel = 1;  // b's gate holds 2 messages (2 channels)
  MakeExchanges(options);
  auto remote = Writer(*a_, 0, 1);
  std::atomic<int> written{0};
  std::thread producer([&] {
    for (int i = 0; i < 50; ++i) {
      if (!remote->Write(exchange::ChannelMessage::Batch(MakeBatch(i, 1))).ok()) return;
      written.fetch_add(1);
    }
    remote->Write(exchange::ChannelMessage::EndOfStream()).IgnoreError();
  });
  absl::SleepFor(absl::Milliseconds(300));
  // 2 in the gate, 1 held by the receiver blocked on the full gate, 2 credits' worth in
  // flight: the producer is blocked long before 50.
  EXPECT_LE(written.load(), 6);
  auto reader = b_->OpenReader({1, 1});
  ASSERT_TRUE(reader.ok());
  for (int i = 0; i < 50; ++i) {
    exchange::ChannelMessage m;
    auto got = (*reader)->Read(&m, absl::Seconds(10));
    ASSERT_TRUE(got.ok() && *got);
    ASSERT_EQ(m.kind, exchange::MessageKind::kBatch);
    EXPECT_EQ(m.batch, MakeBatch(i, 1));
  }
  producer.join();
  EXPECT_EQ(written.load(), 50);
}

TEST_F(NetworkExchangeTest, CancelUnblocksABlockedWriter) {
  NetworkExchangeOptions options;
  options.credits_per_channel = 1;
  options.messages_per_channel = 1;
  MakeExchanges(options);
  auto remote = Writer(*a_, 0, 1);
  absl::Status last;
  std::thread producer([&] {
    for (int i = 0; i < 100 && last.ok(); ++i) {
      last = remote->Write(exchange::ChannelMessage::Batch(MakeBatch(i, 1)));
    }
  });
  absl::SleepFor(absl::Milliseconds(200));
  a_->Cancel();
  producer.join();
  EXPECT_EQ(last.code(), absl::StatusCode::kCancelled) << last;
}

TEST_F(NetworkExchangeTest, AStreamForATaskThatIsNotHereIsRefused) {
  MakeExchanges({});
  // An exchange that wrongly believes sink subtask 0 runs on b.
  std::vector<std::vector<NetworkExchange::Location>> wrong = {
      {{"c", "x"}, {"c", "x"}},
      {{"b", absl::StrCat("127.0.0.1:", port_)}, {"b", absl::StrCat("127.0.0.1:", port_)}}};
  NetworkExchange c("job", 0, spec_, plan_, wrong, "c", &pool_);
  auto w = Writer(c, 0, 0);
  absl::Status s = w->Write(exchange::ChannelMessage::Batch(MakeBatch(0, 1)));
  for (int i = 0; i < 10 && s.ok(); ++i) {
    s = w->Write(exchange::ChannelMessage::Batch(MakeBatch(0, 1)));
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("does not run on task manager b"));
}

TEST_F(NetworkExchangeTest, ACorruptBatchIsDataLoss) {
  MakeExchanges({});
  auto stub = v1::TaskManagerService::NewStub(pool_.Get(absl::StrCat("127.0.0.1:", port_)));
  grpc::ClientContext context;
  auto stream = stub->ExchangeBatches(&context);
  v1::ExchangeMessage m;
  m.mutable_channel()->set_job_id("job");
  m.mutable_channel()->set_consumer_vertex(1);
  m.mutable_channel()->set_consumer_subtask(1);
  m.mutable_channel()->set_producer_subtask(0);
  m.mutable_channel()->set_gate_channel(0);
  ASSERT_TRUE(stream->Write(m));
  m.Clear();
  m.set_batch("\x01\x00\x05\x00\x00\x00garbage");
  stream->Write(m);
  stream->WritesDone();
  v1::ExchangeCredit credit;
  std::string error;
  while (stream->Read(&credit)) {
    if (!credit.error().empty()) error = credit.error();
  }
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(error, HasSubstr("edge 0 subtask 0 -> 1"));
}

TEST(BatchMessageTest, RoundTripsAndRejectsTruncation) {
  RowBatch batch = MakeBatch(0, 100);
  std::string wire;
  EncodeBatchMessage(batch, &wire);
  RowBatch back;
  ASSERT_TRUE(DecodeBatchMessage(wire, &back).ok());
  EXPECT_EQ(back, batch);
  EXPECT_EQ(DecodeBatchMessage(wire.substr(0, wire.size() - 3), &back).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cdcflow::taskmanager
