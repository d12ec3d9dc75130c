// `cdcflow savepoint JOB [DIR]`: takes a savepoint of a running job (into DIR, or under
// the job manager's checkpoint directory) and prints its directory, to be given to
// `cdcflow run --from-savepoint DIR` (with any parallelism). Exit codes: 0 written,
// 1 failed (the job keeps running), 2 bad input.
#include <iostream>
#include <memory>
#include <string>

#include "cli/cluster_commands.h"
#include "cli/cluster_flags.h"
#include "jobmanager/job_manager.h"

namespace cdcflow::cli {

void RegisterSavepointCommand(CLI::App& app, CommandContext& context) {
  auto* cmd = app.add_subcommand("savepoint", "Take a savepoint of a running job");
  auto address = std::make_shared<std::string>();
  auto job = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  auto timeout_s = std::make_shared<int>(600);
  cmd->add_option("JOB", *job, "The job id (see `cdcflow list`)")->required();
  cmd->add_option("DIR", *dir,
                  "Directory for the savepoint (created, must be empty; default: under the job "
                  "manager's --checkpoint-dir)");
  AddFlag(cmd, "savepoint-timeout-s", timeout_s.get(), "How long to wait for the savepoint");
  AddJobManagerOption(cmd, address.get());
  auto config = std::make_shared<std::string>();
  AddConfigOption(cmd, config.get());
  cmd->callback([&context, address, job, dir, timeout_s, cmd, config] {
    if (!ApplyConfigFile(cmd, *config)) {
      context.exit_code = 2;
      return;
    }
    auto stub = NewJobManagerStub(*address);
    v1::TriggerSavepointRequest request;
    request.set_job_id(*job);
    request.set_directory(*dir);
    request.set_timeout_ms(int64_t{*timeout_s} * 1000);
    v1::TriggerSavepointResponse response;
    grpc::Status status =
        stub->TriggerSavepoint(NewContext(*timeout_s + 10).get(), request, &response);
    if (!status.ok()) {
      context.exit_code = PrintRpcError("savepoint " + *job, *address, status);
      return;
    }
    std::cout << "Savepoint " << response.checkpoint_id() << " of job " << *job << " written to "
              << response.path() << "\n";
    context.exit_code = 0;
  });
}

}  // namespace cdcflow::cli
