// `cdcflow run --jobmanager HOST:PORT`: submits the plugin bytes, the job graph and the
// arguments to a job manager. Owned by the cluster side (proto/, jobmanager/): replace
// this body with the JobManagerClient submission.
#include <iostream>

#include "cli/run_command.h"

namespace cdcflow::cli {

int RunOnCluster(const RunOptions& options) {
  std::cerr << "error: submitting to a job manager (--jobmanager " << options.jobmanager
            << ") is not available in this build; run without --jobmanager to use the local "
               "mini-cluster\n";
  return 2;
}

}  // namespace cdcflow::cli
