#pragma once
// The local mini-cluster: runs every task of a job on threads of this process, with
// in-process exchange (LocalChannelFactory). What `cdcflow run job.so` does without
// --jobmanager, and what the example-job tests use.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/exchange/local_channel_factory.h"
#include "runtime/graph/job_graph.h"
#include "runtime/graph/logical_graph.h"
#include "runtime/metrics/metrics.h"
#include "runtime/task/task.h"

namespace cdcflow::local {

struct LocalJobOptions {
  task::TaskOptions task;
  exchange::LocalExchangeOptions exchange;
  std::string job_id = "local";
  metrics::MetricRegistry* metrics = nullptr;  // optional; else a private registry
};

struct VertexProgress {
  int32_t vertex = 0;
  std::string name;
  int32_t parallelism = 1;
  uint64_t records_in = 0;
  uint64_t records_out = 0;
  // Thread time over all subtasks, in seconds (see metrics::SubtaskMetrics).
  double busy_s = 0;
  double backpressured_s = 0;
  double idle_s = 0;
};

// Thread-safe. `graph` and `args` (and the plugin the graph came from) must outlive
// the LocalJob.
class LocalJob {
 public:
  static absl::StatusOr<std::unique_ptr<LocalJob>> Start(const graph::LogicalGraph* graph,
                                                         const JobArgs* args,
                                                         LocalJobOptions options = {});
  ~LocalJob();  // cancels and joins if still running

  // Blocks until every task ended. OK when all finished; the first task failure
  // otherwise (the other tasks are cancelled then); kCancelled after Cancel().
  absl::Status Wait();
  bool Done() const { return running_.load() == 0; }
  void Cancel();
  std::vector<VertexProgress> Progress() const;
  const graph::JobGraphSpec& spec() const { return spec_; }
  const graph::ExecutionPlan& plan() const { return plan_; }

 private:
  LocalJob() = default;
  void OnTaskDone(absl::Status status);

  graph::JobGraphSpec spec_;
  graph::ExecutionPlan plan_;
  std::unique_ptr<metrics::MetricRegistry> own_metrics_;
  std::unique_ptr<exchange::LocalChannelFactory> channels_;
  std::vector<std::unique_ptr<task::Task>> tasks_;
  std::vector<std::thread> threads_;
  std::atomic<int> running_{0};
  std::atomic<bool> cancel_requested_{false};
  mutable std::mutex mu_;
  std::mutex join_mu_;  // not mu_: task threads take mu_ while Wait joins them
  absl::Status first_error_;
  bool joined_ = false;
};

}  // namespace cdcflow::local
