// Timers of a keyed process function live in the keyed state backend: a snapshot
// taken by one operator restores them into another (also rescaled), where they fire.

#include "gtest/gtest.h"
#include "runtime/state/keyed_state_backend.h"
#include "runtime/task/keyed_process_operator.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::task {
namespace {

using ::cdcflow::testing::NewScratchPath;

class Context : public RuntimeContext {
 public:
  explicit Context(int subtask = 0, int parallelism = 1)
      : subtask_(subtask), parallelism_(parallelism) {}
  std::string_view operator_name() const override { return "timers"; }
  int subtask_index() const override { return subtask_; }
  int parallelism() const override { return parallelism_; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return 0; }

 private:
  int subtask_;
  int parallelism_;
  JobArgs args_;
};

// Registers an event-time timer at the row's field 1 and a processing-time timer at
// field 1 + 1000; a timer emits (key, time, domain).
class TimerFn : public KeyedProcessFunction {
 public:
  absl::Status ProcessElement(Row& row, KeyedContext& ctx, Collector&) override {
    ctx.RegisterEventTimeTimer(row.fields[1].as_int64());
    ctx.RegisterProcessingTimeTimer(row.fields[1].as_int64() + 1000);
    return absl::OkStatus();
  }
  absl::Status OnTimer(int64_t time, TimeDomain domain, KeyedContext& ctx,
                       Collector& out) override {
    out.Emit(Row{RowKind::kInsert,
                 {ctx.current_key().fields[0], Value::Int64(time),
                  Value::Int64(domain == TimeDomain::kEventTime ? 0 : 1)}});
    return absl::OkStatus();
  }
};

std::unique_ptr<KeyedProcessOperator> MakeOperator(const KeySelector* key, int subtask,
                                                   int parallelism,
                                                   std::span<const std::string> restore = {}) {
  state::KeyedStateOptions options;
  options.key_groups = exchange::KeyGroupRangeForSubtask(subtask, parallelism, 128);
  auto backend = state::KeyedStateBackend::CreateRocksDb(options, NewScratchPath("db"));
  EXPECT_TRUE(backend.ok()) << backend.status();
  if (!restore.empty()) {
    EXPECT_TRUE((*backend)->Restore(restore).ok());
  }
  return std::make_unique<KeyedProcessOperator>(std::make_unique<TimerFn>(), key,
                                                std::move(*backend));
}

TEST(KeyedProcessOperatorTimersTest, TimersSurviveSnapshotRestoreAndRescale) {
  FieldKeySelector key({0});
  Context ctx;
  auto op = MakeOperator(&key, 0, 1);
  ASSERT_TRUE(op->Open(ctx).ok());
  RowBatch in;
  for (int64_t k = 0; k < 200; ++k) in.Append(Row{RowKind::kInsert, {Value::Int64(k), Value::Int64(k)}});
  RowBatch out;
  Collector c(&out);
  ASSERT_TRUE(op->ProcessBatch(0, in, c).ok());
  ASSERT_TRUE(op->ProcessWatermark(49, c).ok());  // keys 0..49 fire before the snapshot
  EXPECT_EQ(out.size(), 50u);
  EXPECT_EQ(op->pending_timers(), 150u + 200u);
  const std::string snap = NewScratchPath("snap");
  ASSERT_TRUE(op->state().Snapshot(snap).ok());

  // Rescale to two subtasks: together they fire every remaining timer exactly once.
  std::map<std::pair<int64_t, int64_t>, int> fired;  // (time, domain) -> count
  const std::string dirs[] = {snap};
  for (int subtask = 0; subtask < 2; ++subtask) {
    Context sub_ctx(subtask, 2);
    auto restored = MakeOperator(&key, subtask, 2, dirs);
    ASSERT_TRUE(restored->Open(sub_ctx).ok());
    EXPECT_EQ(restored->NextProcessingTime() >= 1000, true);
    RowBatch sub_out;
    Collector sc(&sub_out);
    ASSERT_TRUE(restored->ProcessWatermark(kMaxWatermark, sc).ok());
    ASSERT_TRUE(restored->OnProcessingTime(1199, sc).ok());
    EXPECT_EQ(restored->pending_timers(), 0u);
    int64_t last_event = -1;
    for (const Row& r : sub_out.rows()) {
      EXPECT_EQ(r.fields[0].as_int64() + (r.fields[2].as_int64() == 1 ? 1000 : 0),
                r.fields[1].as_int64());
      if (r.fields[2].as_int64() == 0) {
        EXPECT_GT(r.fields[1].as_int64(), last_event);  // in time order
        last_event = r.fields[1].as_int64();
      }
      ++fired[{r.fields[1].as_int64(), r.fields[2].as_int64()}];
    }
  }
  EXPECT_EQ(fired.size(), 150u + 200u);
  for (const auto& [t, n] : fired) EXPECT_EQ(n, 1) << t.first << "/" << t.second;
  EXPECT_EQ(fired.count({10, 0}), 0u);  // fired before the snapshot
}

}  // namespace
}  // namespace cdcflow::task
