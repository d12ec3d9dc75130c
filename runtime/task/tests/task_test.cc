#include "gtest/gtest.h"
#include "runtime/task/keyed_process_operator.h"
#include "runtime/state/keyed_state_backend.h"

namespace cdcflow::task {
namespace {

std::unique_ptr<state::KeyedStateBackend> MemoryState() {
  auto backend = state::KeyedStateBackend::CreateInMemory({});
  EXPECT_TRUE(backend.ok());
  return std::move(*backend);
}

class FakeContext : public RuntimeContext {
 public:
  std::string_view operator_name() const override { return "op"; }
  int subtask_index() const override { return 0; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return now; }
  int64_t now = 1000;
  JobArgs args_;
};

Row KV(std::string key, int64_t v) {
  Row r;
  r.fields = {Value::Str(std::move(key)), Value::Int64(v)};
  return r;
}

// Sums field 1 per key; on every row emits the running sum; registers an event-time
// timer at the row's timestamp + 10 and a processing-time timer at now + 5, which emit
// "timer" rows.
class SumFn : public KeyedProcessFunction {
 public:
  absl::Status Open(KeyedRuntimeContext& ctx) override {
    auto sum_state = ctx.GetValueState("sum");
    if (!sum_state.ok()) return sum_state.status();
    sum_ = *sum_state;
    return absl::OkStatus();
  }
  absl::Status ProcessElement(Row& row, KeyedContext& ctx, Collector& out) override {
    if (row.fields[1].as_int64() < 0) return absl::InvalidArgumentError("negative");
    const Value* s = sum_->Get();
    int64_t sum = (s == nullptr ? 0 : s->as_int64()) + row.fields[1].as_int64();
    sum_->Put(Value::Int64(sum));
    out.Emit(KV(ctx.current_key().fields[0].as_string(), sum));
    if (ctx.timestamp() != kNoTimestamp) ctx.RegisterEventTimeTimer(ctx.timestamp() + 10);
    ctx.RegisterProcessingTimeTimer(ctx.current_processing_time() + 5);
    return absl::OkStatus();
  }
  absl::Status OnTimer(int64_t time, TimeDomain domain, KeyedContext& ctx,
                       Collector& out) override {
    const Value* s = sum_->Get();
    Row r = KV(ctx.current_key().fields[0].as_string(), s == nullptr ? -1 : s->as_int64());
    r.fields.push_back(Value::Str(domain == TimeDomain::kEventTime ? "event" : "processing"));
    r.fields.push_back(Value::Int64(time));
    out.Emit(std::move(r));
    if (domain == TimeDomain::kEventTime && ctx.current_key().fields[0].as_string() == "clear") {
      sum_->Clear();
    }
    return absl::OkStatus();
  }

 private:
  KeyedValueState* sum_ = nullptr;
};

class KeyedProcessOperatorTest : public ::testing::Test {
 protected:
  KeyedProcessOperatorTest()
      : key_({0}),
        op_(std::make_unique<SumFn>(), &key_, MemoryState()) {}
  RowBatch Run(RowBatch in) {
    RowBatch out;
    Collector c(&out);
    EXPECT_TRUE(op_.ProcessBatch(0, in, c).ok());
    return out;
  }
  FieldKeySelector key_;
  KeyedProcessOperator op_;
  FakeContext ctx_;
};

TEST_F(KeyedProcessOperatorTest, KeepsStatePerKey) {
  ASSERT_TRUE(op_.Open(ctx_).ok());
  RowBatch in;
  in.Append(KV("a", 1));
  in.Append(KV("b", 10));
  in.Append(KV("a", 2));
  RowBatch out = Run(std::move(in));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.row(0), KV("a", 1));
  EXPECT_EQ(out.row(1), KV("b", 10));
  EXPECT_EQ(out.row(2), KV("a", 3));
}

TEST_F(KeyedProcessOperatorTest, EventTimeTimersFireInOrderOncePerKeyAndTime) {
  ASSERT_TRUE(op_.Open(ctx_).ok());
  RowBatch in;
  in.Append(KV("a", 1), 100);
  in.Append(KV("a", 1), 100);  // same timer (a, 110): deduplicated
  in.Append(KV("b", 5), 50);
  in.Append(KV("clear", 7), 200);
  Run(std::move(in));
  RowBatch fired;
  Collector c(&fired);
  ASSERT_TRUE(op_.ProcessWatermark(109, c).ok());
  ASSERT_EQ(fired.size(), 1u);  // only (b, 60)
  EXPECT_EQ(fired.row(0).fields[0].as_string(), "b");
  EXPECT_EQ(fired.row(0).fields[3].as_int64(), 60);
  EXPECT_EQ(fired.timestamp(0), kNoTimestamp);
  fired.clear();
  ASSERT_TRUE(op_.ProcessWatermark(kMaxWatermark, c).ok());
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired.row(0).fields[0].as_string(), "a");
  EXPECT_EQ(fired.row(0).fields[1].as_int64(), 2);
  EXPECT_EQ(fired.row(1).fields[0].as_string(), "clear");
  // "clear" cleared its value in OnTimer: its sum starts again.
  RowBatch again;
  again.Append(KV("clear", 1), 300);
  RowBatch out = Run(std::move(again));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.row(0), KV("clear", 1));
}

TEST_F(KeyedProcessOperatorTest, ProcessingTimeTimersFireWhenTheClockPassesThem) {
  ASSERT_TRUE(op_.Open(ctx_).ok());
  RowBatch in;
  in.Append(KV("a", 1));
  Run(std::move(in));
  EXPECT_EQ(op_.NextProcessingTime(), 1005);
  RowBatch fired;
  Collector c(&fired);
  ASSERT_TRUE(op_.OnProcessingTime(1004, c).ok());
  EXPECT_TRUE(fired.empty());
  ASSERT_TRUE(op_.OnProcessingTime(1005, c).ok());
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired.row(0).fields[2].as_string(), "processing");
  EXPECT_EQ(op_.NextProcessingTime(), kNoTimestamp);
  EXPECT_EQ(op_.pending_timers(), 0u);
}

TEST_F(KeyedProcessOperatorTest, FunctionErrorsSurface) {
  ASSERT_TRUE(op_.Open(ctx_).ok());
  RowBatch in;
  in.Append(KV("a", -1));
  RowBatch out;
  Collector c(&out);
  absl::Status s = op_.ProcessBatch(0, in, c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyedProcessOperatorStateTest, ANameHoldsOneKindOfState) {
  class TwoKinds : public KeyedProcessFunction {
   public:
    absl::Status Open(KeyedRuntimeContext& ctx) override {
      auto v = ctx.GetValueState("s");
      if (!v.ok()) return v.status();
      auto list = ctx.GetListState("l");
      if (!list.ok()) return list.status();
      return ctx.GetRowState("s").status();
    }
    absl::Status ProcessElement(Row&, KeyedContext&, Collector&) override {
      return absl::OkStatus();
    }
  };
  FieldKeySelector key({0});
  KeyedProcessOperator op(std::make_unique<TwoKinds>(), &key, MemoryState());
  FakeContext ctx;
  EXPECT_EQ(op.Open(ctx).code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyedProcessOperatorKeyTest, KeyFieldOutOfRangeIsAnError) {
  FieldKeySelector key({5});
  KeyedProcessOperator op(std::make_unique<SumFn>(), &key,
                          MemoryState());
  FakeContext ctx;
  ASSERT_TRUE(op.Open(ctx).ok());
  RowBatch in;
  in.Append(KV("a", 1));
  RowBatch out;
  Collector c(&out);
  absl::Status s = op.ProcessBatch(0, in, c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("key field 5"), std::string::npos) << s;
}

}  // namespace
}  // namespace cdcflow::task
