// `cdcflow run job.so --jobmanager HOST:PORT`: builds the job graph locally from the
// plugin (so a broken plugin fails here), ships graph + plugin bytes + arguments to the
// job manager and, unless --detach, waits for the job to end, printing state changes.
// Exit codes: 0 finished (or submitted, with --detach), 1 failed, canceled or not
// submitted, 2 bad input (plugin, arguments).
#include "cli/run_command.h"

#include <filesystem>
#include <iostream>

#include "absl/time/clock.h"
#include "cli/cluster_flags.h"
#include "jobmanager/job_manager.h"
#include "proto/ids.h"
#include "runtime/cluster/graph_proto.h"
#include "runtime/plugin/plugin_loader.h"

namespace cdcflow::cli {

int RunOnCluster(const RunOptions& o) {
  if (o.parallelism < 1) {
    std::cerr << "cdcflow run: --parallelism must be >= 1, got " << o.parallelism << "\n";
    return 2;
  }
  absl::StatusOr<JobArgs> args = JobArgs::Parse(o.job_args);
  if (!args.ok()) {
    std::cerr << "cdcflow run: job arguments: " << args.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::string> bytes = plugin::ReadPluginFile(o.plugin);
  if (!bytes.ok()) {
    std::cerr << "cdcflow run: " << bytes.status().message() << "\n";
    return 2;
  }
  v1::SubmitJobRequest request;
  {
    // The graph is built here so that a broken plugin fails before it travels; the
    // plugin is closed again before the request is sent.
    absl::StatusOr<std::unique_ptr<plugin::JobPlugin>> job = plugin::JobPlugin::Open(o.plugin);
    if (!job.ok()) {
      std::cerr << "cdcflow run: " << job.status().message() << "\n";
      return 2;
    }
    absl::StatusOr<graph::LogicalGraph> graph = (*job)->Build(*args, o.parallelism);
    if (!graph.ok()) {
      std::cerr << "cdcflow run: " << graph.status().message() << "\n";
      return 2;
    }
    *request.mutable_job()->mutable_graph() = cluster::ToProto(graph->Spec());
  }
  request.mutable_job()->set_default_parallelism(o.parallelism);
  for (const std::string& a : args->ToStrings()) request.mutable_job()->add_args(a);
  request.mutable_job()->set_plugin_name(o.plugin.substr(o.plugin.rfind('/') + 1));
  request.mutable_job()->set_plugin_sha256(Sha256Hex(*bytes));
  request.set_plugin(std::move(*bytes));
  // Checkpoints run in the job manager, into its --checkpoint-dir. The interval is sent
  // only when given (else the job manager's --checkpoint-interval-ms applies); 0 means
  // savepoints only.
  if (o.checkpoint_interval != RunOptions().checkpoint_interval) {
    absl::StatusOr<absl::Duration> interval =
        ParseFlagDuration("--checkpoint-interval", o.checkpoint_interval);
    if (!interval.ok()) {
      std::cerr << "cdcflow run: " << interval.status().message() << "\n";
      return 2;
    }
    const int64_t ms = absl::ToInt64Milliseconds(*interval);
    request.set_checkpoint_interval_ms(ms > 0 ? ms : -1);
  }
  if (!o.checkpoint_dir.empty()) {
    std::cerr << "cdcflow run: --checkpoint-dir is for local runs; a job manager checkpoints "
                 "into its own `cdcflow jobmanager --checkpoint-dir`\n";
    return 2;
  }
  if (!o.from_savepoint.empty()) {
    // The job manager and task managers read it: an absolute path on the shared volume.
    std::error_code ec;
    std::filesystem::path savepoint = std::filesystem::absolute(o.from_savepoint, ec);
    if (ec || !std::filesystem::exists(savepoint / "_metadata")) {
      std::cerr << "cdcflow run: --from-savepoint " << o.from_savepoint
                << ": no savepoint there (no _metadata)\n";
      return 2;
    }
    request.set_from_savepoint(savepoint.string());
  }

  auto stub = NewJobManagerStub(o.jobmanager);
  v1::SubmitJobResponse submitted;
  grpc::Status status = stub->SubmitJob(NewContext(60).get(), request, &submitted);
  if (!status.ok()) return PrintRpcError("run", o.jobmanager, status);
  const std::string& id = submitted.job_id();
  std::cout << "Job " << id << " submitted to " << o.jobmanager << std::endl;
  if (o.detach) return 0;

  v1::JobState last = v1::JOB_STATE_UNSPECIFIED;
  int last_attempt = -2;
  int unreachable = 0;
  while (true) {
    v1::GetJobStatusRequest get;
    get.set_job_id(id);
    v1::GetJobStatusResponse r;
    status = stub->GetJobStatus(NewContext().get(), get, &r);
    if (!status.ok()) {
      // A job manager restart or a network blip: keep asking for a while.
      if (++unreachable > 50) return PrintRpcError("run: waiting for job " + id, o.jobmanager, status);
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    unreachable = 0;
    if (r.job().state() != last || r.job().attempt() != last_attempt) {
      last = r.job().state();
      last_attempt = r.job().attempt();
      std::cout << "Job " << id << ": " << jobmanager::JobStateName(last);
      if (last_attempt > 0) std::cout << " (attempt " << last_attempt << ")";
      if (last == v1::JOB_STATE_RESTARTING && !r.failure().empty()) {
        std::cout << ": " << r.failure();
      }
      std::cout << std::endl;
    }
    switch (last) {
      case v1::JOB_STATE_FINISHED:
        return 0;
      case v1::JOB_STATE_FAILED:
        std::cerr << "cdcflow run: job " << id << " failed: " << r.failure() << "\n";
        return 1;
      case v1::JOB_STATE_CANCELED:
        std::cerr << "cdcflow run: job " << id << " was canceled\n";
        return 1;
      default:
        break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace cdcflow::cli
