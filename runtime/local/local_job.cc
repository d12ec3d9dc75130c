#include "runtime/local/local_job.h"

#include "absl/strings/str_cat.h"

namespace cdcflow::local {

absl::StatusOr<std::unique_ptr<LocalJob>> LocalJob::Start(const graph::LogicalGraph* graph,
                                                          const JobArgs* args,
                                                          LocalJobOptions options) {
  std::unique_ptr<LocalJob> job(new LocalJob());
  job->spec_ = graph->Spec();
  absl::Status valid = job->spec_.Validate();
  if (!valid.ok()) return valid;
  job->plan_ = graph::BuildExecutionPlan(job->spec_);
  metrics::MetricRegistry* registry = options.metrics;
  if (registry == nullptr) {
    job->own_metrics_ = std::make_unique<metrics::MetricRegistry>();
    registry = job->own_metrics_.get();
  }
  job->channels_ =
      std::make_unique<exchange::LocalChannelFactory>(job->spec_, job->plan_, options.exchange);
  for (const graph::ChainSpec& chain : job->plan_.chains) {
    for (int32_t s = 0; s < chain.parallelism; ++s) {
      task::TaskSetup setup;
      setup.graph = graph;
      setup.spec = &job->spec_;
      setup.plan = &job->plan_;
      setup.id = {chain.id, s};
      setup.args = args;
      setup.channels = job->channels_.get();
      setup.metrics = registry;
      setup.job_id = options.job_id;
      setup.options = options.task;
      auto t = task::Task::Create(setup);
      if (!t.ok()) return t.status();
      job->tasks_.push_back(std::move(*t));
    }
  }
  job->running_ = static_cast<int>(job->tasks_.size());
  for (auto& t : job->tasks_) {
    task::Task* raw = t.get();
    LocalJob* self = job.get();
    job->threads_.emplace_back([self, raw] { self->OnTaskDone(raw->Run()); });
  }
  return job;
}

void LocalJob::OnTaskDone(absl::Status status) {
  bool cancel_all = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A task cancelled because another failed is not the cause: keep the first real error.
    if (!status.ok() && status.code() != absl::StatusCode::kCancelled && first_error_.ok()) {
      first_error_ = status;
      cancel_all = true;
    }
  }
  if (cancel_all) {
    for (auto& t : tasks_) t->Cancel();
    channels_->Cancel();
  }
  running_.fetch_sub(1);
}

void LocalJob::Cancel() {
  cancel_requested_ = true;
  for (auto& t : tasks_) t->Cancel();
  channels_->Cancel();
}

absl::Status LocalJob::Wait() {
  {
    std::lock_guard<std::mutex> lock(join_mu_);
    if (!joined_) {
      joined_ = true;
      for (auto& th : threads_) th.join();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!first_error_.ok()) return first_error_;
  if (cancel_requested_) return absl::CancelledError("job cancelled");
  return absl::OkStatus();
}

LocalJob::~LocalJob() {
  if (running_.load() > 0) Cancel();
  if (!joined_) {
    for (auto& th : threads_) {
      if (th.joinable()) th.join();
    }
  }
}

std::vector<VertexProgress> LocalJob::Progress() const {
  std::vector<VertexProgress> out(spec_.vertices.size());
  for (const graph::VertexSpec& v : spec_.vertices) {
    out[v.id].vertex = v.id;
    out[v.id].name = v.name;
    out[v.id].parallelism = v.parallelism;
  }
  for (const auto& t : tasks_) {
    for (const auto& [vid, m] : t->vertex_metrics()) {
      out[vid].records_in += m.records_in->Value();
      out[vid].records_out += m.records_out->Value();
      out[vid].busy_s += m.busy_ns->Value() * 1e-9;
      out[vid].backpressured_s += m.backpressured_ns->Value() * 1e-9;
      out[vid].idle_s += m.idle_ns->Value() * 1e-9;
    }
  }
  return out;
}

}  // namespace cdcflow::local
