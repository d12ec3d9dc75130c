// `cdcflow list`: the job manager's jobs, oldest first.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "cli/cluster_commands.h"
#include "cli/cluster_flags.h"
#include "jobmanager/job_manager.h"

namespace cdcflow::cli {
namespace {

std::string FormatMillis(int64_t ms) {
  if (ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

}  // namespace

void RegisterListCommand(CLI::App& app, CommandContext& context) {
  auto* cmd = app.add_subcommand("list", "List the job manager's jobs");
  auto address = std::make_shared<std::string>();
  AddJobManagerOption(cmd, address.get());
  auto config = std::make_shared<std::string>();
  AddConfigOption(cmd, config.get());
  cmd->callback([&context, address, cmd, config] {
    if (!ApplyConfigFile(cmd, *config)) {
      context.exit_code = 2;
      return;
    }
    auto stub = NewJobManagerStub(*address);
    v1::ListJobsResponse response;
    grpc::Status status = stub->ListJobs(NewContext().get(), v1::ListJobsRequest(), &response);
    if (!status.ok()) {
      context.exit_code = PrintRpcError("list", *address, status);
      return;
    }
    std::printf("%-32s  %-11s  %7s  %-19s  %-19s  %s\n", "JOB ID", "STATE", "ATTEMPT",
                "SUBMITTED (UTC)", "ENDED (UTC)", "NAME");
    for (const auto& job : response.jobs()) {
      std::printf("%-32s  %-11s  %7d  %-19s  %-19s  %s\n", job.job_id().c_str(),
                  jobmanager::JobStateName(job.state()).c_str(), job.attempt(),
                  FormatMillis(job.submit_time_ms()).c_str(),
                  FormatMillis(job.end_time_ms()).c_str(), job.name().c_str());
    }
  });
}

}  // namespace cdcflow::cli
