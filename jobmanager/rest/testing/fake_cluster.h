#pragma once
// An in-memory cluster for REST and dashboard tests: two task managers and a seed-like
// CDC job (two Kafka sources, a join, an upsert, Elasticsearch and Kafka sinks) whose
// throughput, lag, watermarks and checkpoints move each Tick(). Cancel, submit and
// savepoint work. Thread-safe. Also updates the standard task metrics in a registry,
// so /metrics shows what a real task manager would export.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jobmanager/rest/cluster_view.h"
#include "runtime/metrics/metrics.h"
#include "runtime/metrics/standard_metrics.h"

namespace httplib {
class Server;
}

namespace cdcflow::rest {

class FakeCluster : public ClusterView, public ClusterControl {
 public:
  // Starts with one running job, "enrich-orders", id kSeedJobId. `registry` may be null.
  explicit FakeCluster(metrics::MetricRegistry* registry, int64_t now_ms);
  ~FakeCluster() override;

  static constexpr std::string_view kSeedJobId = "a1b2c3d4e5f60718";

  // Advances the simulation by `dt_ms` to `now_ms`.
  void Tick(int64_t now_ms);

  ClusterOverview Overview() const override;
  std::vector<TaskManagerInfo> TaskManagers() const override;
  std::vector<JobSummary> Jobs() const override;
  absl::StatusOr<JobDetail> Job(std::string_view job_id) const override;

  absl::StatusOr<std::string> SubmitJob(const SubmitRequest& request) override;
  absl::Status CancelJob(std::string_view job_id) override;
  absl::StatusOr<int64_t> TriggerSavepoint(std::string_view job_id,
                                           std::string_view target_directory) override;

  // What the last SubmitJob received (tests).
  SubmitRequest last_submit() const;

 private:
  struct FakeJob;
  FakeJob& AddJob(std::string id, std::string name, int parallelism, int64_t now_ms);
  void AssignSlotsLocked();

  mutable std::mutex mu_;
  metrics::MetricRegistry* registry_;
  int64_t start_ms_;
  int64_t now_ms_;
  int next_job_ = 1;
  std::vector<std::unique_ptr<FakeJob>> jobs_;
  std::vector<TaskManagerInfo> taskmanagers_;
  SubmitRequest last_submit_;
};

// A stand-in for the Kafka Connect REST API on loopback: GET /connectors?expand=status&
// expand=info with one Debezium PostgreSQL connector (and its one task).
class FakeConnectServer {
 public:
  static absl::StatusOr<std::unique_ptr<FakeConnectServer>> Start();
  ~FakeConnectServer();
  std::string url() const;
  // Switch the connector's task to FAILED (with a trace) or back to RUNNING.
  void SetTaskFailed(bool failed);

 private:
  FakeConnectServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::shared_ptr<std::atomic<bool>> failed_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace cdcflow::rest
