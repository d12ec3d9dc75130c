// A build function that reports an error, and one (selected by argument) that throws.
#include <stdexcept>

#include "cdcflow/job.h"
#include "cdcflow/plugin.h"

namespace {
absl::Status Build(cdcflow::JobBuilder& job) {
  if (job.args().Get("mode") == "throw") throw std::runtime_error("build exploded");
  if (job.args().Get("mode") == "bad-graph") {
    // KeyBy missing before a keyed process: recorded by the builder.
    job.Source("gen", cdcflow::Generator(1, [](int64_t) { return cdcflow::Row(); }))
        .Process("keyed", nullptr);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("records must be positive");
}
}  // namespace

CDCFLOW_JOB(Build)
