// keyed_sum: a word-count-like keyed aggregation with a hash shuffle.
//
//   generator (records rows: key "k<i % keys>", value i)
//     --hash by key--> sum (keyed state per key; emits [key, sum, count] when input ends)
//     --> file sink (output=DIR) or stdout
//
// Arguments: records (default 1000000), keys (default 100), output (a directory; stdout
// when absent).
#include <memory>
#include <string>

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
      // Fires when event time ends, i.e. when the bounded input is exhausted.
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
  absl::StatusOr<int64_t> records = job.args().GetInt("records", 1'000'000);
  if (!records.ok()) return records.status();
  absl::StatusOr<int64_t> keys = job.args().GetInt("keys", 100);
  if (!keys.ok()) return keys.status();
  if (*records < 0 || *keys < 1) {
    return absl::InvalidArgumentError("keyed_sum: records must be >= 0 and keys >= 1");
  }
  const int64_t k = *keys;
  job.SetJobName("keyed_sum");
  cdcflow::Stream sums =
      job.Source("numbers", cdcflow::Generator(*records,
                                               [k](int64_t i) {
                                                 Row row;
                                                 row.fields = {Value::Str("k" + std::to_string(i % k)),
                                                               Value::Int64(i)};
                                                 return row;
                                               }))
          .KeyBy({0})
          .Process("sum", [] { return std::make_unique<SumPerKey>(); });
  const std::string output = job.args().Get("output");
  sums.SinkTo("out", output.empty() ? cdcflow::StdoutSink() : cdcflow::FileSink(output));
  return absl::OkStatus();
}

}  // namespace

CDCFLOW_JOB(Build)
