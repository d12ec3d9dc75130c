// A well-formed job: generator -> map -> file sink, sized by its arguments.
#include "cdcflow/job.h"
#include "cdcflow/plugin.h"

namespace {

absl::Status Build(cdcflow::JobBuilder& job) {
  absl::StatusOr<int64_t> records = job.args().GetInt("records", 10);
  if (!records.ok()) return records.status();
  job.SetJobName("good");
  job.Source("numbers", cdcflow::Generator(*records,
                                           [](int64_t i) {
                                             cdcflow::Row row;
                                             row.fields.push_back(cdcflow::Value::Int64(i));
                                             return row;
                                           }))
      .Map("square",
           [](cdcflow::Row row) {
             int64_t v = row.fields[0].as_int64();
             row.fields[0] = cdcflow::Value::Int64(v * v);
             return row;
           })
      .SinkTo("out", cdcflow::FileSink(job.args().Get("output", "/tmp/cdcflow-good-plugin")));
  return absl::OkStatus();
}

}  // namespace

CDCFLOW_JOB(Build)
