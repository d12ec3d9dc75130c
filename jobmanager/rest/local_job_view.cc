#include "jobmanager/rest/local_job_view.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "jobmanager/rest/checkpoint_info.h"
#include "runtime/checkpoint/checkpoint_coordinator.h"
#include "runtime/metrics/standard_metrics.h"

namespace cdcflow::rest {
namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string Label(const metrics::Labels& labels, std::string_view name) {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return "";
}

const char* KindName(graph::VertexKind kind) {
  switch (kind) {
    case graph::VertexKind::kSource:
      return "source";
    case graph::VertexKind::kSink:
      return "sink";
    default:
      return "operator";
  }
}

std::string PartitioningUpper(Partitioning p) {
  std::string s = graph::PartitioningName(p);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

LocalJobView::LocalJobView(local::LocalJob* job, const metrics::MetricRegistry* registry,
                           Info info)
    : job_(job), registry_(registry), info_(std::move(info)), start_ms_(NowMs()) {}

void LocalJobView::SetFinished(const absl::Status& status) {
  std::lock_guard lock(mu_);
  end_ms_ = NowMs();
  if (status.ok()) {
    final_state_ = std::string(kJobFinished);
  } else if (status.code() == absl::StatusCode::kCancelled) {
    final_state_ = std::string(kJobCanceled);
  } else {
    final_state_ = std::string(kJobFailed);
    failure_ = std::string(status.message());
  }
}

JobSummary LocalJobView::SummaryLocked() const {
  JobSummary s;
  s.id = info_.job_id;
  s.name = job_->spec().job_name.empty() ? info_.plugin : job_->spec().job_name;
  if (!final_state_.empty()) {
    s.state = final_state_;
  } else if (cancel_requested_) {
    s.state = std::string(kJobCancelling);
  } else {
    s.state = std::string(kJobRunning);
  }
  s.start_time_ms = start_ms_;
  s.end_time_ms = end_ms_;
  for (const auto& v : job_->spec().vertices) s.parallelism = std::max(s.parallelism, v.parallelism);
  s.vertex_count = static_cast<int>(job_->spec().vertices.size());
  return s;
}

void LocalJobView::RefreshLocked() const {
  int64_t now = NowMs();
  if (last_ms_ != 0 && now - last_ms_ < 500) return;
  Samples samples;
  std::map<std::pair<std::string, int>, int64_t> watermarks;
  std::map<std::tuple<std::string, int, std::string, int>, PartitionLag> partitions;
  const std::string& job_id = info_.job_id;
  for (const auto& family : registry_->Collect()) {
    for (const auto& s : family.samples) {
      if (Label(s.labels, metrics::kLabelJob) != job_id) continue;
      int subtask = 0;
      if (!absl::SimpleAtoi(Label(s.labels, metrics::kLabelSubtask), &subtask)) continue;
      auto key = std::make_pair(Label(s.labels, metrics::kLabelVertex), subtask);
      if (family.name == metrics::kRecordsIn) {
        samples[key].records_in = s.counter;
      } else if (family.name == metrics::kRecordsOut) {
        samples[key].records_out = s.counter;
      } else if (family.name == metrics::kBusySeconds) {
        samples[key].busy_s = s.value;
      } else if (family.name == metrics::kBackpressuredSeconds) {
        samples[key].backpressured_s = s.value;
      } else if (family.name == metrics::kIdleSeconds) {
        samples[key].idle_s = s.value;
      } else if (family.name == metrics::kWatermark) {
        watermarks[key] = static_cast<int64_t>(s.value);
      } else if (family.name == metrics::kKafkaLag || family.name == metrics::kKafkaOffset ||
                 family.name == metrics::kKafkaEndOffset) {
        int partition = 0;
        absl::SimpleAtoi(Label(s.labels, metrics::kLabelPartition), &partition);
        const std::string topic = Label(s.labels, metrics::kLabelTopic);
        PartitionLag& l = partitions[{key.first, subtask, topic, partition}];
        l.vertex = key.first;
        l.subtask = subtask;
        l.topic = topic;
        l.partition = partition;
        const auto value = static_cast<int64_t>(s.value);
        if (family.name == metrics::kKafkaLag) l.lag = std::max<int64_t>(0, value);
        if (family.name == metrics::kKafkaOffset) l.current_offset = value;
        if (family.name == metrics::kKafkaEndOffset) l.end_offset = value;
      }
    }
  }
  double dt = last_ms_ == 0 ? 0 : (now - last_ms_) / 1000.0;
  for (const auto& [key, cur] : samples) {
    TaskMetrics& m = current_[key];
    m.records_in = cur.records_in;
    m.records_out = cur.records_out;
    auto prev = last_.find(key);
    if (dt > 0 && prev != last_.end()) {
      const Sample& p = prev->second;
      m.records_in_per_sec = (cur.records_in - std::min(cur.records_in, p.records_in)) / dt;
      m.records_out_per_sec = (cur.records_out - std::min(cur.records_out, p.records_out)) / dt;
      m.busy_ratio = std::clamp((cur.busy_s - p.busy_s) / dt, 0.0, 1.0);
      m.backpressure_ratio = std::clamp((cur.backpressured_s - p.backpressured_s) / dt, 0.0, 1.0);
      m.idle_ratio = std::clamp((cur.idle_s - p.idle_s) / dt, 0.0, 1.0);
    }
  }
  last_ = std::move(samples);
  last_ms_ = now;
  watermarks_ = std::move(watermarks);
  lag_.clear();
  for (auto& [key, l] : partitions) lag_.push_back(std::move(l));
}

ClusterOverview LocalJobView::Overview() const {
  std::lock_guard lock(mu_);
  ClusterOverview o;
  o.version = info_.version;
  o.start_time_ms = start_ms_;
  o.taskmanagers = 1;
  o.slots_total = SummaryLocked().parallelism;
  JobSummary s = SummaryLocked();
  if (s.state == kJobFinished) {
    o.jobs_finished = 1;
  } else if (s.state == kJobCanceled) {
    o.jobs_cancelled = 1;
  } else if (s.state == kJobFailed) {
    o.jobs_failed = 1;
  } else {
    o.jobs_running = 1;
  }
  o.slots_available = o.jobs_running ? 0 : o.slots_total;
  return o;
}

std::vector<TaskManagerInfo> LocalJobView::TaskManagers() const {
  std::lock_guard lock(mu_);
  JobSummary s = SummaryLocked();
  TaskManagerInfo tm;
  tm.id = "local";
  tm.address = "in-process";
  tm.state = "RUNNING";
  tm.registered_ms = start_ms_;
  tm.last_heartbeat_ms = NowMs();
  tm.slots_total = s.parallelism;
  bool running = final_state_.empty();
  for (int i = 0; i < s.parallelism; ++i) {
    tm.slots.push_back({i, running ? s.id : "", "", running ? i : -1});
  }
  tm.slots_free = running ? 0 : s.parallelism;
  return {tm};
}

std::vector<JobSummary> LocalJobView::Jobs() const {
  std::lock_guard lock(mu_);
  return {SummaryLocked()};
}

absl::StatusOr<JobDetail> LocalJobView::Job(std::string_view job_id) const {
  if (job_id != info_.job_id) {
    return absl::NotFoundError(absl::StrCat("no job with id '", std::string(job_id), "'"));
  }
  std::lock_guard lock(mu_);
  RefreshLocked();
  JobDetail d;
  d.summary = SummaryLocked();
  d.args = info_.args;
  const bool running = final_state_.empty();
  const graph::JobGraphSpec& spec = job_->spec();
  for (const auto& vs : spec.vertices) {
    VertexInfo v;
    v.id = std::to_string(vs.id);
    v.name = vs.name;
    v.kind = KindName(vs.kind);
    v.parallelism = vs.parallelism;
    v.state = running ? (cancel_requested_ ? "CANCELING" : "RUNNING") : final_state_;
    for (int i = 0; i < vs.parallelism; ++i) {
      SubtaskInfo s;
      s.index = i;
      s.state = v.state;
      s.taskmanager_id = "local";
      auto key = std::make_pair(vs.name, i);
      if (auto it = current_.find(key); it != current_.end()) {
        s.metrics = it->second;
        if (!running) {
          s.metrics.records_in_per_sec = s.metrics.records_out_per_sec = 0;
          s.metrics.busy_ratio = s.metrics.backpressure_ratio = 0;
        }
      }
      if (auto it = watermarks_.find(key); it != watermarks_.end()) s.watermark_ms = it->second;
      TaskMetrics& a = v.metrics;
      a.records_in += s.metrics.records_in;
      a.records_out += s.metrics.records_out;
      a.records_in_per_sec += s.metrics.records_in_per_sec;
      a.records_out_per_sec += s.metrics.records_out_per_sec;
      a.busy_ratio = std::max(a.busy_ratio, s.metrics.busy_ratio);
      a.backpressure_ratio = std::max(a.backpressure_ratio, s.metrics.backpressure_ratio);
      a.idle_ratio = std::max(a.idle_ratio, s.metrics.idle_ratio);
      v.subtasks.push_back(std::move(s));
    }
    d.vertices.push_back(std::move(v));
  }
  for (const auto& e : spec.edges) {
    d.edges.push_back({std::to_string(e.source), std::to_string(e.target),
                       PartitioningUpper(e.partitioning)});
  }
  for (PartitionLag l : lag_) {
    for (const auto& vs : spec.vertices) {
      if (vs.name == l.vertex) l.vertex = std::to_string(vs.id);
    }
    d.lag.push_back(l);
  }
  for (const checkpoint::CheckpointStats& c : job_->CheckpointHistory()) {
    d.checkpoints.push_back(ToCheckpointInfo(c));
  }
  d.summary.restarts = job_->restarts();
  if (!failure_.empty()) d.exceptions.push_back({end_ms_, "", -1, "local", failure_, ""});
  return d;
}

absl::StatusOr<std::string> LocalJobView::SubmitJob(const SubmitRequest&) {
  return absl::UnimplementedError(
      "a local mini-cluster (`cdcflow run` without --jobmanager) runs only its own job; "
      "start `cdcflow jobmanager` to submit jobs");
}

absl::Status LocalJobView::CancelJob(std::string_view job_id) {
  if (job_id != info_.job_id) {
    return absl::NotFoundError(absl::StrCat("no job with id '", std::string(job_id), "'"));
  }
  {
    std::lock_guard lock(mu_);
    if (!final_state_.empty() || cancel_requested_) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", info_.job_id, " is ", SummaryLocked().state));
    }
    cancel_requested_ = true;
  }
  job_->Cancel();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> LocalJobView::TriggerSavepoint(std::string_view job_id,
                                                       std::string_view target_directory) {
  if (job_id != info_.job_id) {
    return absl::NotFoundError(absl::StrCat("no job with id '", std::string(job_id), "'"));
  }
  if (target_directory.empty()) {
    return absl::FailedPreconditionError(
        "a local job writes savepoints only to a given \"target_directory\"");
  }
  // Blocks until the savepoint completed (LocalJob::TriggerSavepoint); without a
  // checkpoint directory the job answers kFailedPrecondition (409).
  auto done = job_->TriggerSavepoint(std::string(target_directory));
  if (!done.ok()) return done.status();
  return done->id();
}

absl::StatusOr<std::unique_ptr<LocalJobHttp>> ServeLocalJob(local::LocalJob* job,
                                                            metrics::MetricRegistry* registry,
                                                            LocalJobView::Info info,
                                                            const RestConfig& config) {
  auto http = std::make_unique<LocalJobHttp>();
  http->view = std::make_unique<LocalJobView>(job, registry, std::move(info));
  auto server = RestServer::Start(config, http->view.get(), http->view.get(), registry);
  if (!server.ok()) return server.status();
  http->server = *std::move(server);
  return http;
}

}  // namespace cdcflow::rest
