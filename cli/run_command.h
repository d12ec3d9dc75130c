#pragma once
// `cdcflow run job.so [--jobmanager HOST:PORT] [--parallelism N] [-- key=value ...]`.
//
// Without --jobmanager the job runs in a local mini-cluster in this process
// (RunLocal, run_command.cc); with it, the plugin and graph go to a job manager
// (RunOnCluster, run_remote.cc). Both return the process exit code.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/command.h"

namespace cdcflow::cli {

struct RunOptions {
  std::string plugin;                 // path of the job .so
  std::string jobmanager;             // HOST:PORT, empty = local mini-cluster
  bool detach = false;                // with a job manager: return once submitted
  int parallelism = 1;                // default parallelism of the job's vertices
  std::vector<std::string> job_args;  // key=value, after `--`
  std::string state_dir;              // keyed state in RocksDB here; empty = in memory
  bool print_plan = false;            // print graph and plan, then exit
  bool quiet = false;                 // no progress lines
  double progress_interval_s = 1.0;
  // Local runs only: serve the REST API + dashboard + /metrics (jobmanager/rest) on
  // this port while the job runs (-1 = off, 0 = any free port), then for
  // rest_linger_s seconds after it ended so the final state stays visible.
  int rest_port = -1;
  std::string rest_bind = "127.0.0.1";
  std::string rest_token;
  double rest_linger_s = 5;
  // Checkpoints and recovery (CHECKPOINT_DESIGN.md §6). Durations as "10s", "500ms".
  std::string checkpoint_dir;             // empty: no checkpoints
  std::string checkpoint_interval = "10s";
  std::string checkpoint_timeout = "10m";
  int retained_checkpoints = 3;
  int restart_attempts = 0;               // restarts after a failure (local runs)
  std::string restart_delay = "1s";
  double restart_backoff = 1.0;           // >1: exponential backoff of the delay
  std::string from_savepoint;             // start from this savepoint/checkpoint dir
  std::string savepoint_on_cancel;        // local runs: Ctrl-C takes a savepoint here first
};

// Parses "10s", "250ms", "1m" (absl durations) or plain seconds ("2.5"); errors name `flag`.
absl::StatusOr<absl::Duration> ParseFlagDuration(const std::string& flag, const std::string& value);

void RegisterRunCommand(CLI::App& app, CommandContext& context);

int RunLocal(const RunOptions& options);
int RunOnCluster(const RunOptions& options);

}  // namespace cdcflow::cli
