// The network shuffle benchmark's job: small rows (two int64 columns) from a generator,
// hash-partitioned by the first column into a sink that only counts them.
// Arguments: records (default 20000000), keys (default 100000).
#include <memory>

#include "cdcflow/job.h"
#include "cdcflow/plugin.h"
#include "cdcflow/sink.h"

namespace {

using cdcflow::Row;
using cdcflow::Value;

class CountingSink final : public cdcflow::SinkFunction {
 public:
  absl::Status WriteBatch(cdcflow::RowBatch& batch) override {
    rows_ += static_cast<int64_t>(batch.size());
    return absl::OkStatus();
  }

 private:
  int64_t rows_ = 0;
};

absl::Status Build(cdcflow::JobBuilder& job) {
  absl::StatusOr<int64_t> records = job.args().GetInt("records", 20'000'000);
  if (!records.ok()) return records.status();
  absl::StatusOr<int64_t> keys = job.args().GetInt("keys", 100'000);
  if (!keys.ok()) return keys.status();
  const int64_t k = *keys;
  job.SetJobName("shuffle_bench");
  job.Source("numbers", cdcflow::Generator(*records,
                                           [k](int64_t i) {
                                             Row row;
                                             row.fields = {Value::Int64(i % k), Value::Int64(i)};
                                             return row;
                                           }))
      .KeyBy({0})
      .SinkTo("count", [] { return std::make_unique<CountingSink>(); });
  return absl::OkStatus();
}

}  // namespace

CDCFLOW_JOB(Build)
