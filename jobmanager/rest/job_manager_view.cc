#include "jobmanager/rest/job_manager_view.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "jobmanager/rest/checkpoint_info.h"
#include "runtime/metrics/metrics.h"

namespace cdcflow::rest {
namespace {

JobSummary ToSummary(const v1::JobSummary& s) {
  JobSummary out;
  out.id = s.job_id();
  out.name = s.name();
  out.state = jobmanager::JobStateName(s.state());
  // The REST vocabulary spells it as Flink does.
  if (out.state == "CANCELING") out.state = std::string(kJobCancelling);
  out.start_time_ms = s.submit_time_ms();
  out.end_time_ms = s.end_time_ms();
  return out;
}

// runtime/graph's VertexKind values (the job manager does not link the runtime).
constexpr int kVertexKindSource = 0;
constexpr int kVertexKindSink = 3;

// cdcflow::Partitioning values, spelled as the REST API does.
std::string PartitioningName(int partitioning) {
  switch (partitioning) {
    case 1:
      return "FORWARD";
    case 2:
      return "HASH";
    case 3:
      return "BROADCAST";
    case 4:
      return "REBALANCE";
    default:
      return "FORWARD";
  }
}

}  // namespace

JobManagerView::JobManagerView(jobmanager::JobManager* job_manager, std::string version,
                               SubmitFunction submit)
    : job_manager_(job_manager),
      version_(std::move(version)),
      submit_(std::move(submit)),
      start_time_ms_(absl::ToUnixMillis(absl::Now())) {}

ClusterOverview JobManagerView::Overview() const {
  ClusterOverview o;
  o.version = version_;
  o.start_time_ms = start_time_ms_;
  o.taskmanagers = job_manager_->RegisteredTaskManagers();
  o.slots_available = job_manager_->FreeSlots();
  int used = 0;
  for (const auto& j : Jobs()) {
    if (j.state == kJobCanceled) {
      ++o.jobs_cancelled;
    } else if (j.state == kJobFinished) {
      ++o.jobs_finished;
    } else if (j.state == kJobFailed) {
      ++o.jobs_failed;
    } else {
      ++o.jobs_running;
      // Slot sharing: a deployed job holds as many slots as its widest chain.
      if (j.state == kJobRunning || j.state == kJobCancelling) used += j.parallelism;
    }
  }
  o.slots_total = o.slots_available + used;
  return o;
}

std::vector<TaskManagerInfo> JobManagerView::TaskManagers() const {
  std::map<std::string, TaskManagerInfo> tms;
  const v1::ListTaskManagersResponse list = job_manager_->ListTaskManagers();  // outlives the loop
  for (const auto& t : list.task_managers()) {
    TaskManagerInfo& tm = tms[t.task_manager_id()];
    tm.id = t.task_manager_id();
    tm.address = t.address();
    tm.state = "RUNNING";
    tm.registered_ms = t.registered_ms();
    tm.last_heartbeat_ms = t.last_heartbeat_ms();
    tm.slots_total = t.slots();
    tm.slots_free = t.free_slots();
    if (!t.metrics_address().empty()) {
      tm.metrics_url = absl::StrCat("http://", t.metrics_address(), "/metrics");
    }
  }
  // Slots in use: each deployed job holds, per task manager, as many slots as the most
  // subtasks of one chain placed there (slot sharing); slot i runs subtask i's tasks.
  for (const auto& j : Jobs()) {
    if (j.state != kJobRunning && j.state != kJobCancelling) continue;
    auto status = job_manager_->GetJobStatus(JobId(j.id));
    if (!status.ok()) continue;
    std::map<std::string, std::map<int, std::string>> used;  // tm -> subtask -> a vertex
    for (const auto& t : status->tasks()) {
      if (t.task_manager_id().empty()) continue;
      used[t.task_manager_id()].emplace(t.task().subtask_index(), t.vertex_name());
    }
    for (const auto& [tm_id, subtasks] : used) {
      auto it = tms.find(tm_id);
      if (it == tms.end()) continue;
      for (const auto& [subtask, vertex] : subtasks) {
        it->second.slots.push_back(
            {static_cast<int>(it->second.slots.size()), j.id, vertex, subtask});
      }
    }
  }
  std::vector<TaskManagerInfo> out;
  for (auto& [id, tm] : tms) {
    for (int i = static_cast<int>(tm.slots.size()); i < tm.slots_total; ++i) {
      tm.slots.push_back({i, "", "", -1});
    }
    out.push_back(std::move(tm));
  }
  return out;
}

std::vector<JobSummary> JobManagerView::Jobs() const {
  std::vector<JobSummary> out;
  const v1::ListJobsResponse list = job_manager_->ListJobs();  // outlives the loop
  for (const auto& s : list.jobs()) {
    JobSummary j = ToSummary(s);
    auto status = job_manager_->GetJobStatus(JobId(s.job_id()));
    if (status.ok()) {
      j.restarts = status->restarts();
      std::set<int> chains;
      for (const auto& t : status->tasks()) {
        chains.insert(t.task().vertex_id());
        j.parallelism = std::max(j.parallelism, t.task().subtask_index() + 1);
      }
      j.vertex_count = static_cast<int>(chains.size());
    }
    out.push_back(std::move(j));
  }
  return out;
}

absl::StatusOr<JobDetail> JobManagerView::Job(std::string_view job_id) const {
  const JobId id{std::string(job_id)};
  auto status = job_manager_->GetJobStatus(id);
  if (!status.ok()) return status.status();
  auto topology = job_manager_->GetJobTopology(id);
  JobDetail d;
  d.summary = ToSummary(status->job());
  d.summary.restarts = status->restarts();
  const bool running = status->job().state() == v1::JOB_STATE_RUNNING;
  // One vertex per chain of the execution plan, subtasks from the current attempt.
  std::map<int, VertexInfo> chains;
  if (topology.ok()) {
    for (const auto& c : topology->chains) {
      VertexInfo& v = chains[c.vertex_id];
      v.id = std::to_string(c.vertex_id);
      v.name = c.name;
      v.parallelism = c.parallelism;
      v.kind = "operator";
      for (int32_t lv : c.vertices) {
        if (lv < 0 || lv >= topology->graph.vertices_size()) continue;
        const int kind = topology->graph.vertices(lv).kind();
        if (kind == kVertexKindSource && lv == c.vertices.front()) v.kind = "source";
        if (kind == kVertexKindSink && v.kind != "source") v.kind = "sink";
      }
    }
  }
  for (const auto& t : status->tasks()) {
    VertexInfo& v = chains[t.task().vertex_id()];
    v.id = std::to_string(t.task().vertex_id());
    if (v.name.empty()) v.name = t.vertex_name();
    if (v.kind.empty()) v.kind = "operator";
    SubtaskInfo s;
    s.index = t.task().subtask_index();
    s.state = jobmanager::TaskStateName(t.state());
    s.taskmanager_id = t.task_manager_id();
    if (t.has_metrics()) {
      const v1::TaskMetricsReport& r = t.metrics();
      s.metrics.records_in = static_cast<uint64_t>(r.records_in());
      s.metrics.records_out = static_cast<uint64_t>(r.records_out());
      s.metrics.bytes_in = static_cast<uint64_t>(r.bytes_in());
      s.metrics.bytes_out = static_cast<uint64_t>(r.bytes_out());
      if (running && t.state() == v1::TASK_STATE_RUNNING) {
        s.metrics.records_in_per_sec = t.records_in_per_sec();
        s.metrics.records_out_per_sec = t.records_out_per_sec();
        s.metrics.busy_ratio = t.busy_ratio();
        s.metrics.backpressure_ratio = t.backpressure_ratio();
        s.metrics.idle_ratio = t.idle_ratio();
      }
      if (r.has_watermark_ms()) s.watermark_ms = r.watermark_ms();
      for (const auto& p : r.partitions()) {
        d.lag.push_back({v.id, s.index, p.topic(), p.partition(), p.offset(), p.end_offset(),
                         std::max<int64_t>(0, p.lag())});
      }
    }
    if (!t.error().empty()) {
      d.exceptions.push_back({0, v.id, s.index, t.task_manager_id(), t.error(), ""});
    }
    TaskMetrics& a = v.metrics;
    a.records_in += s.metrics.records_in;
    a.records_out += s.metrics.records_out;
    a.bytes_in += s.metrics.bytes_in;
    a.bytes_out += s.metrics.bytes_out;
    a.records_in_per_sec += s.metrics.records_in_per_sec;
    a.records_out_per_sec += s.metrics.records_out_per_sec;
    a.busy_ratio = std::max(a.busy_ratio, s.metrics.busy_ratio);
    a.backpressure_ratio = std::max(a.backpressure_ratio, s.metrics.backpressure_ratio);
    a.idle_ratio = std::max(a.idle_ratio, s.metrics.idle_ratio);
    v.subtasks.push_back(std::move(s));
  }
  for (auto& [chain_id, v] : chains) {
    std::sort(v.subtasks.begin(), v.subtasks.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    if (v.parallelism == 0) v.parallelism = static_cast<int>(v.subtasks.size());
    // A vertex is as far along as its least advanced subtask.
    v.state = v.subtasks.empty() ? "CREATED" : v.subtasks.front().state;
    for (const auto& s : v.subtasks) {
      if (s.state != "RUNNING") v.state = s.state;
    }
    d.summary.parallelism = std::max(d.summary.parallelism, v.parallelism);
    d.vertices.push_back(std::move(v));
  }
  if (topology.ok()) {
    // Edges between chains: the job graph's edges that cross a chain boundary.
    std::map<int32_t, int32_t> chain_of;
    for (const auto& c : topology->chains) {
      for (int32_t lv : c.vertices) chain_of[lv] = c.vertex_id;
    }
    std::set<std::pair<int32_t, int32_t>> seen;
    for (const auto& e : topology->graph.edges()) {
      auto from = chain_of.find(e.source());
      auto to = chain_of.find(e.target());
      if (from == chain_of.end() || to == chain_of.end() || from->second == to->second) continue;
      if (!seen.insert({from->second, to->second}).second) continue;
      d.edges.push_back({std::to_string(from->second), std::to_string(to->second),
                         PartitioningName(e.partitioning())});
    }
    d.args = topology->args;
  }
  if (d.vertices.size() > 1 && !topology.ok()) {
    d.vertices.front().kind = "source";
    d.vertices.back().kind = "sink";
  }
  d.summary.vertex_count = static_cast<int>(d.vertices.size());
  if (!status->failure().empty()) {
    d.exceptions.insert(d.exceptions.begin(), {0, "", -1, "", status->failure(), ""});
  }
  if (!status->pending_reason().empty()) {
    d.exceptions.push_back({0, "", -1, "", "waiting: " + status->pending_reason(), ""});
  }
  if (auto history = job_manager_->CheckpointHistory(id); history.ok()) {
    for (const checkpoint::CheckpointStats& c : *history) {
      d.checkpoints.push_back(ToCheckpointInfo(c));
    }
  }
  return d;
}

absl::StatusOr<std::string> JobManagerView::SubmitJob(const SubmitRequest& request) {
  if (!submit_) {
    return absl::UnimplementedError(
        "this job manager does not accept uploads over REST yet; use `cdcflow run "
        "--jobmanager HOST:PORT job.so`");
  }
  return submit_(request);
}

absl::Status JobManagerView::CancelJob(std::string_view job_id) {
  JobId id{std::string(job_id)};
  auto status = job_manager_->GetJobStatus(id);
  if (!status.ok()) return status.status();
  if (jobmanager::IsTerminal(status->job().state())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", std::string(job_id), " is ", jobmanager::JobStateName(status->job().state())));
  }
  return job_manager_->CancelJob(id).status();
}

absl::StatusOr<int64_t> JobManagerView::TriggerSavepoint(std::string_view job_id,
                                                         std::string_view target_directory) {
  auto result = job_manager_->TriggerSavepoint(JobId(std::string(job_id)),
                                               std::string(target_directory));
  if (!result.ok()) return result.status();
  return result->checkpoint_id;
}

absl::StatusOr<std::unique_ptr<JobManagerHttp>> StartJobManagerHttp(
    jobmanager::JobManager* job_manager, const RestConfig& config, SubmitFunction submit) {
  auto http = std::make_unique<JobManagerHttp>();
  http->view = std::make_unique<JobManagerView>(job_manager, config.version, std::move(submit));
  auto server = RestServer::Start(config, http->view.get(), http->view.get(),
                                  &metrics::DefaultRegistry());
  if (!server.ok()) return server.status();
  http->server = *std::move(server);
  return http;
}

}  // namespace cdcflow::rest
