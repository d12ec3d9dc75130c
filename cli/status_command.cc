// `cdcflow status JOB`: a job's state, its last failure and its tasks.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/cluster_commands.h"
#include "cli/cluster_flags.h"
#include "jobmanager/job_manager.h"

namespace cdcflow::cli {

void RegisterStatusCommand(CLI::App& app, CommandContext& context) {
  auto* cmd = app.add_subcommand("status", "Show a job's state and tasks");
  auto address = std::make_shared<std::string>();
  auto job = std::make_shared<std::string>();
  cmd->add_option("JOB", *job, "The job id (see `cdcflow list`)")->required();
  AddJobManagerOption(cmd, address.get());
  auto config = std::make_shared<std::string>();
  AddConfigOption(cmd, config.get());
  cmd->callback([&context, address, job, cmd, config] {
    if (!ApplyConfigFile(cmd, *config)) {
      context.exit_code = 2;
      return;
    }
    auto stub = NewJobManagerStub(*address);
    v1::GetJobStatusRequest request;
    request.set_job_id(*job);
    v1::GetJobStatusResponse r;
    grpc::Status status = stub->GetJobStatus(NewContext().get(), request, &r);
    if (!status.ok()) {
      context.exit_code = PrintRpcError("status " + *job, *address, status);
      return;
    }
    std::printf("job:      %s\nname:     %s\nstate:    %s\nattempt:  %d\nrestarts: %d\n",
                r.job().job_id().c_str(), r.job().name().c_str(),
                jobmanager::JobStateName(r.job().state()).c_str(), r.job().attempt(),
                r.restarts());
    if (!r.pending_reason().empty()) std::printf("waiting:  %s\n", r.pending_reason().c_str());
    if (!r.failure().empty()) std::printf("failure:  %s\n", r.failure().c_str());
    if (r.latest_checkpoint_id() > 0) {
      std::printf("checkpoint: %lld (%s), %d completed here\n",
                  static_cast<long long>(r.latest_checkpoint_id()),
                  r.latest_checkpoint_path().c_str(), r.completed_checkpoints());
    }
    if (!r.restored_from().empty()) std::printf("restored: %s\n", r.restored_from().c_str());
    if (r.tasks_size() > 0) {
      std::printf("\n%-6s  %-8s  %-10s  %-32s  %s\n", "VERTEX", "SUBTASK", "STATE",
                  "TASK MANAGER", "NAME");
      for (const auto& t : r.tasks()) {
        std::printf("%-6d  %-8d  %-10s  %-32s  %s%s%s\n", t.task().vertex_id(),
                    t.task().subtask_index(), jobmanager::TaskStateName(t.state()).c_str(),
                    t.task_manager_id().c_str(), t.vertex_name().c_str(),
                    t.error().empty() ? "" : ": ", t.error().c_str());
      }
    }
  });
}

}  // namespace cdcflow::cli
