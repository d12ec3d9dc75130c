#pragma once
// ClusterView and ClusterControl over a job running in the local mini-cluster
// (`cdcflow run job.so --rest-port N`): the real graph, records in/out and rates from
// the job's metric registry, cancel. One "local" task manager; no checkpoints yet.
//
// Thread-safe. The LocalJob, its spec and the registry must outlive the view.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "jobmanager/rest/cluster_view.h"
#include "jobmanager/rest/rest_server.h"
#include "runtime/local/local_job.h"
#include "runtime/metrics/metrics.h"

namespace cdcflow::rest {

class LocalJobView : public ClusterView, public ClusterControl {
 public:
  struct Info {
    std::string job_id = "local";  // the job label of its metrics
    std::string plugin;            // path of the .so, shown when the graph has no name
    std::vector<std::string> args;
    std::string version;
  };
  LocalJobView(local::LocalJob* job, const metrics::MetricRegistry* registry, Info info);

  // Called once the job ended (with LocalJob::Wait()'s status) so the state is final.
  void SetFinished(const absl::Status& status);

  ClusterOverview Overview() const override;
  std::vector<TaskManagerInfo> TaskManagers() const override;
  std::vector<JobSummary> Jobs() const override;
  absl::StatusOr<JobDetail> Job(std::string_view job_id) const override;

  absl::StatusOr<std::string> SubmitJob(const SubmitRequest& request) override;
  absl::Status CancelJob(std::string_view job_id) override;
  absl::StatusOr<int64_t> TriggerSavepoint(std::string_view job_id,
                                           std::string_view target_directory) override;

 private:
  struct Sample {
    uint64_t records_in = 0, records_out = 0;
    double busy_s = 0, backpressured_s = 0, idle_s = 0;
  };
  // (vertex name, subtask) -> counters, read from the registry.
  using Samples = std::map<std::pair<std::string, int>, Sample>;

  JobSummary SummaryLocked() const;
  // Re-reads the registry; rates over the interval since the previous read (>= 500 ms).
  void RefreshLocked() const;

  local::LocalJob* job_;
  const metrics::MetricRegistry* registry_;
  const Info info_;
  const int64_t start_ms_;

  mutable std::mutex mu_;
  std::string final_state_;  // empty while running
  std::string failure_;
  int64_t end_ms_ = 0;
  bool cancel_requested_ = false;
  mutable Samples last_;
  mutable int64_t last_ms_ = 0;
  mutable std::map<std::pair<std::string, int>, TaskMetrics> current_;
  mutable std::map<std::pair<std::string, int>, int64_t> watermarks_;
  mutable std::vector<PartitionLag> lag_;
};

// The REST server over a LocalJobView, kept alive together.
struct LocalJobHttp {
  std::unique_ptr<LocalJobView> view;
  std::unique_ptr<RestServer> server;
};

absl::StatusOr<std::unique_ptr<LocalJobHttp>> ServeLocalJob(local::LocalJob* job,
                                                            metrics::MetricRegistry* registry,
                                                            LocalJobView::Info info,
                                                            const RestConfig& config);

}  // namespace cdcflow::rest
