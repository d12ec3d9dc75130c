#pragma once
// ClusterView and ClusterControl over the real jobmanager::JobManager, plus a one-call
// helper that starts the REST server for it. The job manager process wires it so:
//
//   auto http = rest::StartJobManagerHttp(&server->job_manager(), rest_config, submit_fn);
//
// What the JobManager does not know yet shows up empty or zero: per-subtask metrics
// (records, rates, backpressure: task managers do not report them yet), Kafka lag,
// watermarks, checkpoints; edges between chains (the status API has no graph).
// Thread-safe: every call reads the JobManager through its public, locked API.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "jobmanager/job_manager.h"
#include "jobmanager/rest/cluster_view.h"
#include "jobmanager/rest/rest_server.h"

namespace cdcflow::rest {

// Turns an uploaded plugin into a submitted job (loads the .so to build its graph, plans
// it, calls JobManager::SubmitJob); returns the job id. Provided by the process that can
// load plugins. When null, POST /api/v1/jobs answers 501.
using SubmitFunction = std::function<absl::StatusOr<std::string>(const SubmitRequest&)>;

class JobManagerView : public ClusterView, public ClusterControl {
 public:
  JobManagerView(jobmanager::JobManager* job_manager, std::string version,
                 SubmitFunction submit);

  ClusterOverview Overview() const override;
  std::vector<TaskManagerInfo> TaskManagers() const override;
  std::vector<JobSummary> Jobs() const override;
  absl::StatusOr<JobDetail> Job(std::string_view job_id) const override;

  absl::StatusOr<std::string> SubmitJob(const SubmitRequest& request) override;
  absl::Status CancelJob(std::string_view job_id) override;
  absl::StatusOr<int64_t> TriggerSavepoint(std::string_view job_id,
                                           std::string_view target_directory) override;

 private:
  jobmanager::JobManager* job_manager_;
  std::string version_;
  SubmitFunction submit_;
  int64_t start_time_ms_;
};

// The REST server and the view it reads, kept alive together.
struct JobManagerHttp {
  std::unique_ptr<JobManagerView> view;
  std::unique_ptr<RestServer> server;
};

// Starts the REST API + dashboard + /metrics (metrics::DefaultRegistry()) for a job
// manager. kUnavailable when the port cannot be bound.
absl::StatusOr<std::unique_ptr<JobManagerHttp>> StartJobManagerHttp(
    jobmanager::JobManager* job_manager, const RestConfig& config, SubmitFunction submit);

}  // namespace cdcflow::rest
