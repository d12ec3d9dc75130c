#pragma once
// `cdcflow run job.so --jobmanager HOST:PORT`: builds the job graph locally from the
// plugin, ships graph + plugin bytes + arguments to the job manager, and (unless
// detached) waits for the job to end, printing its state changes.

#include <string>
#include <vector>

namespace cdcflow::cli {

struct RemoteRunOptions {
  std::string plugin_path;
  std::string jobmanager;
  int parallelism = 1;
  std::vector<std::string> args;  // key=value job arguments
  bool detach = false;
};

// The process exit code: 0 the job finished (or was submitted, detached), 1 it failed
// or was canceled or could not be submitted, 2 bad input (plugin, arguments).
int RunOnJobManager(const RemoteRunOptions& options);

}  // namespace cdcflow::cli
