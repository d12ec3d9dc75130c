#include "jobmanager/rest/job_manager_view.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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
  // Built from the tasks of live jobs until the JobManager lists task managers itself.
  std::map<std::string, TaskManagerInfo> tms;
  for (const auto& j : Jobs()) {
    if (j.state != kJobRunning && j.state != kJobCancelling) continue;
    auto status = job_manager_->GetJobStatus(JobId(j.id));
    if (!status.ok()) continue;
    std::set<std::pair<std::string, int>> seen;
    for (const auto& t : status->tasks()) {
      if (t.task_manager_id().empty()) continue;
      TaskManagerInfo& tm = tms[t.task_manager_id()];
      tm.id = t.task_manager_id();
      tm.state = "RUNNING";
      if (seen.insert({tm.id, t.task().subtask_index()}).second) {
        tm.slots.push_back({static_cast<int>(tm.slots.size()), j.id, t.vertex_name(),
                            t.task().subtask_index()});
        tm.slots_total = static_cast<int>(tm.slots.size());
      }
    }
  }
  std::vector<TaskManagerInfo> out;
  for (auto& [id, tm] : tms) out.push_back(std::move(tm));
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
  auto status = job_manager_->GetJobStatus(JobId(std::string(job_id)));
  if (!status.ok()) return status.status();
  JobDetail d;
  d.summary = ToSummary(status->job());
  d.summary.restarts = status->restarts();
  // One vertex per chain of the execution plan, subtasks from the current attempt.
  std::map<int, VertexInfo> chains;
  for (const auto& t : status->tasks()) {
    VertexInfo& v = chains[t.task().vertex_id()];
    v.id = std::to_string(t.task().vertex_id());
    v.name = t.vertex_name();
    v.kind = "operator";
    SubtaskInfo s;
    s.index = t.task().subtask_index();
    s.state = jobmanager::TaskStateName(t.state());
    s.taskmanager_id = t.task_manager_id();
    if (!t.error().empty()) {
      d.exceptions.push_back({0, v.id, s.index, t.task_manager_id(), t.error(), ""});
    }
    v.subtasks.push_back(std::move(s));
  }
  for (auto& [id, v] : chains) {
    std::sort(v.subtasks.begin(), v.subtasks.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    v.parallelism = static_cast<int>(v.subtasks.size());
    // A vertex is as far along as its least advanced subtask.
    v.state = v.subtasks.empty() ? "CREATED" : v.subtasks.front().state;
    for (const auto& s : v.subtasks) {
      if (s.state != "RUNNING") v.state = s.state;
    }
    d.summary.parallelism = std::max(d.summary.parallelism, v.parallelism);
    d.vertices.push_back(std::move(v));
  }
  if (!d.vertices.empty()) {
    d.vertices.front().kind = "source";
    if (d.vertices.size() > 1) d.vertices.back().kind = "sink";
  }
  d.summary.vertex_count = static_cast<int>(d.vertices.size());
  if (!status->failure().empty()) {
    d.exceptions.insert(d.exceptions.begin(), {0, "", -1, "", status->failure(), ""});
  }
  if (!status->pending_reason().empty()) {
    d.exceptions.push_back({0, "", -1, "", "waiting: " + status->pending_reason(), ""});
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
  auto status = job_manager_->GetJobStatus(JobId(std::string(job_id)));
  if (!status.ok()) return status.status();
  return absl::UnimplementedError("savepoints arrive with checkpoint coordination");
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
