// A test job for failover: keyed_sum's shape (generator --hash by key--> per-key sum
// --> file sink) with a generator throttled to `rate` rows per second per subtask, so
// the job runs long enough to lose a task manager mid-way.
//
// Arguments: records, keys, rate (rows per second per subtask), output (a directory).
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cdcflow/job.h"
#include "cdcflow/plugin.h"

namespace {

using cdcflow::Collector;
using cdcflow::KeyedContext;
using cdcflow::KeyedProcessFunction;
using cdcflow::KeyedRuntimeContext;
using cdcflow::KeyedValueState;
using cdcflow::Row;
using cdcflow::TimeDomain;
using cdcflow::Value;

class SumPerKey final : public KeyedProcessFunction {
 public:
  absl::Status Open(KeyedRuntimeContext& ctx) override {
    auto sum_state = ctx.GetValueState("sum");
    if (!sum_state.ok()) return sum_state.status();
    sum_ = *sum_state;
    auto count_state = ctx.GetValueState("count");
    if (!count_state.ok()) return count_state.status();
    count_ = *count_state;
    return absl::OkStatus();
  }
  absl::Status ProcessElement(Row& row, KeyedContext& ctx, Collector&) override {
    const Value* sum = sum_->Get();
    if (sum == nullptr) {
      sum_->Put(row.fields[1]);
      count_->Put(Value::Int64(1));
      ctx.RegisterEventTimeTimer(cdcflow::kMaxWatermark);
      return absl::OkStatus();
    }
    sum_->Put(Value::Int64(sum->as_int64() + row.fields[1].as_int64()));
    count_->Put(Value::Int64(count_->Get()->as_int64() + 1));
    return absl::OkStatus();
  }
  absl::Status OnTimer(int64_t, TimeDomain, KeyedContext& ctx, Collector& out) override {
    Row row;
    row.fields = {ctx.current_key().fields[0], *sum_->Get(), *count_->Get()};
    out.Emit(std::move(row));
    return absl::OkStatus();
  }

 private:
  KeyedValueState* sum_ = nullptr;
  KeyedValueState* count_ = nullptr;
};

absl::Status Build(cdcflow::JobBuilder& job) {
  absl::StatusOr<int64_t> records = job.args().GetInt("records", 1000);
  if (!records.ok()) return records.status();
  absl::StatusOr<int64_t> keys = job.args().GetInt("keys", 10);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<int64_t> rate = job.args().GetInt("rate", 1000);
  if (!rate.ok()) return rate.status();
  if (*records < 0 || *keys < 1 || *rate < 1) {
    return absl::InvalidArgumentError("throttled_sum: records >= 0, keys >= 1, rate >= 1");
  }
  const int64_t k = *keys;
  const int64_t parallelism = job.default_parallelism();
  // Every 10th row of a subtask sleeps for 10 rows' worth of time.
  const auto pause = std::chrono::microseconds(10'000'000 / *rate);
  job.SetJobName("throttled_sum");
  job.Source("numbers", cdcflow::Generator(*records,
                                           [k, parallelism, pause](int64_t i) {
                                             if ((i / parallelism) % 10 == 0) {
                                               std::this_thread::sleep_for(pause);
                                             }
                                             Row row;
                                             row.fields = {Value::Str("k" + std::to_string(i % k)),
                                                           Value::Int64(i)};
                                             return row;
                                           }))
      .KeyBy({0})
      .Process("sum", [] { return std::make_unique<SumPerKey>(); })
      .SinkTo("out", cdcflow::FileSink(job.args().Get("output")));
  return absl::OkStatus();
}

}  // namespace

CDCFLOW_JOB(Build)
