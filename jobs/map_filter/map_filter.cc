// map_filter: stateless map and filter, chained with the source.
//
//   generator (records rows [i]) -> map to [i, i*i % 1000, "even"|"odd"]
//     -> filter (keep i % 3 == 0) -> file sink (output=DIR) or stdout
//
// Arguments: records (default 1000), output (a directory; stdout when absent).
#include <string>

#include "cdcflow/job.h"
#include "cdcflow/plugin.h"

namespace {

using cdcflow::Row;
using cdcflow::Value;

absl::Status Build(cdcflow::JobBuilder& job) {
  absl::StatusOr<int64_t> records = job.args().GetInt("records", 1000);
  if (!records.ok()) return records.status();
  job.SetJobName("map_filter");
  cdcflow::Stream kept =
      job.Source("numbers", cdcflow::Generator(*records,
                                               [](int64_t i) {
                                                 Row row;
                                                 row.fields = {Value::Int64(i)};
                                                 return row;
                                               }))
          .Map("describe",
               [](Row row) {
                 const int64_t i = row.fields[0].as_int64();
                 row.fields.push_back(Value::Int64(i * i % 1000));
                 row.fields.push_back(Value::Str(i % 2 == 0 ? "even" : "odd"));
                 return row;
               })
          .Filter("multiples-of-3", [](const Row& row) { return row.fields[0].as_int64() % 3 == 0; });
  const std::string output = job.args().Get("output");
  kept.SinkTo("out", output.empty() ? cdcflow::StdoutSink() : cdcflow::FileSink(output));
  return absl::OkStatus();
}

}  // namespace

CDCFLOW_JOB(Build)
