// `cdcflow cancel JOB`: asks the job manager to cancel a job; waits until it is
// canceled (or `--no-wait`). `--savepoint [DIR]` first takes a savepoint (into DIR, or
// under the job manager's checkpoint directory) and cancels only once it is written;
// when the savepoint fails the job keeps running and the exit code is 1.
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "cli/cluster_commands.h"
#include "cli/cluster_flags.h"
#include "jobmanager/job_manager.h"

namespace cdcflow::cli {

void RegisterCancelCommand(CLI::App& app, CommandContext& context) {
  auto* cmd = app.add_subcommand("cancel", "Cancel a job");
  auto address = std::make_shared<std::string>();
  auto job = std::make_shared<std::string>();
  auto no_wait = std::make_shared<bool>(false);
  auto timeout_s = std::make_shared<int>(60);
  // Not required by the parser: `cancel --savepoint JOB` reads JOB as the option's value.
  cmd->add_option("JOB", *job, "The job id (see `cdcflow list`)");
  cmd->add_flag("--no-wait", *no_wait, "Return once the cancel is requested");
  auto savepoint = std::make_shared<std::string>();
  auto* savepoint_opt =
      cmd->add_option("--savepoint", *savepoint,
                      "Take a savepoint first (into the given directory, or under the job "
                      "manager's checkpoint directory), then cancel")
          ->expected(0, 1);
  AddFlag(cmd, "cancel-timeout-s", timeout_s.get(), "How long to wait for the tasks to stop");
  AddJobManagerOption(cmd, address.get());
  auto config = std::make_shared<std::string>();
  AddConfigOption(cmd, config.get());
  cmd->callback([&context, address, job, no_wait, timeout_s, cmd, config, savepoint,
                 savepoint_opt] {
    if (!ApplyConfigFile(cmd, *config)) {
      context.exit_code = 2;
      return;
    }
    if (job->empty() && savepoint_opt->count() > 0 && !savepoint->empty()) {
      job->swap(*savepoint);  // `cancel --savepoint JOB`: the default directory
    }
    if (job->empty()) {
      std::cerr << "cdcflow: cancel: JOB is required\n";
      context.exit_code = 2;
      return;
    }
    auto stub = NewJobManagerStub(*address);
    v1::JobState state;
    if (savepoint_opt->count() > 0) {
      v1::TriggerSavepointRequest request;
      request.set_job_id(*job);
      request.set_directory(*savepoint);
      request.set_cancel_job(true);
      request.set_timeout_ms(int64_t{*timeout_s} * 1000);
      v1::TriggerSavepointResponse response;
      grpc::Status status =
          stub->TriggerSavepoint(NewContext(*timeout_s + 10).get(), request, &response);
      if (!status.ok()) {
        context.exit_code = PrintRpcError("cancel --savepoint " + *job, *address, status);
        return;
      }
      std::cout << "Savepoint " << response.checkpoint_id() << " of job " << *job
                << " written to " << response.path() << "\n";
      state = response.state();
    } else {
      v1::CancelJobRequest request;
      request.set_job_id(*job);
      v1::CancelJobResponse response;
      grpc::Status status = stub->CancelJob(NewContext().get(), request, &response);
      if (!status.ok()) {
        context.exit_code = PrintRpcError("cancel " + *job, *address, status);
        return;
      }
      state = response.state();
    }
    grpc::Status status;
    const absl::Time deadline = absl::Now() + absl::Seconds(*timeout_s);
    while (!*no_wait && state == v1::JOB_STATE_CANCELING && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      v1::GetJobStatusRequest get;
      get.set_job_id(*job);
      v1::GetJobStatusResponse r;
      status = stub->GetJobStatus(NewContext().get(), get, &r);
      if (!status.ok()) {
        context.exit_code = PrintRpcError("cancel " + *job, *address, status);
        return;
      }
      state = r.job().state();
    }
    std::cout << "job " << *job << ": " << jobmanager::JobStateName(state) << "\n";
    if (state == v1::JOB_STATE_CANCELED || (*no_wait && state == v1::JOB_STATE_CANCELING)) {
      context.exit_code = 0;
    } else if (state == v1::JOB_STATE_CANCELING) {
      std::cerr << "cdcflow: cancel " << *job << ": still canceling after " << *timeout_s
                << " s\n";
      context.exit_code = 1;
    } else {
      std::cerr << "cdcflow: cancel " << *job << ": the job had already ended ("
                << jobmanager::JobStateName(state) << ")\n";
      context.exit_code = 1;
    }
  });
}

}  // namespace cdcflow::cli
