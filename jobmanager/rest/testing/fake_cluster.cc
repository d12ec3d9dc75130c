#include "jobmanager/rest/testing/fake_cluster.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "runtime/metrics/metrics_http_server.h"

namespace cdcflow::rest {
namespace {

struct VertexTemplate {
  const char* id;
  const char* name;
  const char* kind;
  const char* connector;
  const char* target;
  int parallelism;     // 0 = the job's parallelism
  double selectivity;  // records out per record in
};

// The seed pipeline's shape.
constexpr VertexTemplate kVertices[] = {
    {"orders-source", "Kafka source: orders", "source", "kafka", "pg.public.orders", 0, 1.0},
    {"customers-source", "Kafka source: customers", "source", "kafka", "pg.public.customers", 1,
     1.0},
    {"join", "Join orders ⋈ customers", "operator", "", "", 0, 0.9},
    {"upsert", "Upsert materialize", "operator", "", "", 0, 1.0},
    {"es-sink", "Elasticsearch sink", "sink", "elasticsearch", "orders_enriched", 0, 0.0},
    {"kafka-sink", "Kafka sink", "sink", "kafka", "orders.enriched", 1, 0.0},
};
constexpr struct {
  const char* source;
  const char* target;
  const char* partitioning;
} kEdges[] = {{"orders-source", "join", "HASH"},
              {"customers-source", "join", "HASH"},
              {"join", "upsert", "FORWARD"},
              {"upsert", "es-sink", "FORWARD"},
              {"upsert", "kafka-sink", "REBALANCE"}};

}  // namespace

struct FakeCluster::FakeJob {
  JobSummary summary;
  std::vector<std::string> args;
  std::vector<VertexInfo> vertices;
  std::vector<EdgeInfo> edges;
  std::vector<PartitionLag> lag;
  std::vector<CheckpointInfo> checkpoints;
  std::vector<ExceptionInfo> exceptions;
  std::vector<std::vector<metrics::SubtaskMetrics>> handles;  // [vertex][subtask]
  std::vector<std::shared_ptr<metrics::Gauge>> lag_gauges;    // per lag entry
  int64_t next_checkpoint = 1;
  int64_t last_checkpoint_ms = 0;
  double phase = 0;
  double base_rate = 2000;
};

FakeCluster::FakeCluster(metrics::MetricRegistry* registry, int64_t now_ms)
    : registry_(registry), start_ms_(now_ms), now_ms_(now_ms) {
  for (int i = 1; i <= 2; ++i) {
    TaskManagerInfo tm;
    tm.id = absl::StrCat("tm-", i);
    tm.address = absl::StrCat("127.0.0.1:", 6123 + i);
    tm.state = "RUNNING";
    tm.registered_ms = now_ms - 60'000;
    tm.last_heartbeat_ms = now_ms;
    tm.slots_total = 4;
    tm.metrics_url = absl::StrCat("http://127.0.0.1:", 9248 + i, "/metrics");
    for (int s = 0; s < 4; ++s) tm.slots.push_back({s, "", "", -1});
    taskmanagers_.push_back(std::move(tm));
  }
  std::lock_guard lock(mu_);
  FakeJob& job = AddJob(std::string(kSeedJobId), "enrich-orders", 2, now_ms - 90'000);
  job.summary.restarts = 1;
  job.exceptions.push_back(
      {now_ms - 75'000, "join", 1, "tm-2",
       "TaskManager tm-2 missed 3 heartbeats; restarting from checkpoint 3",
       "cdcflow::jobmanager::HeartbeatMonitor: no heartbeat for 30000 ms"});
  job.args = {"--brokers", "127.0.0.1:9092", "--es", "http://127.0.0.1:9200"};
  // A short history so the checkpoints tab has rows from the start.
  for (int i = 0; i < 4; ++i) {
    CheckpointInfo c;
    c.id = job.next_checkpoint++;
    c.status = i == 1 ? "FAILED" : "COMPLETED";
    c.trigger_time_ms = now_ms - (4 - i) * 10'000;
    c.duration_ms = 180 + 40 * i;
    c.size_bytes = (1 << 20) + i * 65536;
    c.alignment_ms = 3 + i;
    c.total = 9;
    c.acknowledged = c.status == "COMPLETED" ? 9 : 6;
    c.path = c.status == "COMPLETED" ? absl::StrCat("/var/lib/cdcflow/checkpoints/", std::string(kSeedJobId),
                                                    "/chk-", c.id)
                                     : "";
    if (c.status == "FAILED") c.failure_reason = "checkpoint 2 expired after 60000 ms";
    job.checkpoints.insert(job.checkpoints.begin(), c);
  }
  job.last_checkpoint_ms = now_ms;
  AssignSlotsLocked();
}

FakeCluster::~FakeCluster() = default;

FakeCluster::FakeJob& FakeCluster::AddJob(std::string id, std::string name, int parallelism,
                                          int64_t start_ms) {
  auto job = std::make_unique<FakeJob>();
  job->summary.id = std::move(id);
  job->summary.name = std::move(name);
  job->summary.state = std::string(kJobRunning);
  job->summary.start_time_ms = start_ms;
  job->summary.parallelism = parallelism;
  job->phase = static_cast<double>(jobs_.size());
  for (const auto& t : kVertices) {
    VertexInfo v;
    v.id = t.id;
    v.name = t.name;
    v.kind = t.kind;
    v.connector = t.connector;
    v.target = t.target;
    v.parallelism = t.parallelism == 0 ? parallelism : t.parallelism;
    v.state = "RUNNING";
    std::vector<metrics::SubtaskMetrics> handles;
    for (int s = 0; s < v.parallelism; ++s) {
      SubtaskInfo st;
      st.index = s;
      st.state = "RUNNING";
      v.subtasks.push_back(st);
      if (registry_ != nullptr) {
        handles.push_back(
            metrics::SubtaskMetrics::Create(*registry_, job->summary.id, v.id, s));
      }
    }
    job->handles.push_back(std::move(handles));
    if (v.kind == "source") {
      int partitions = v.id == "orders-source" ? 4 : 1;
      for (int p = 0; p < partitions; ++p) {
        PartitionLag l;
        l.vertex = v.id;
        l.subtask = p % v.parallelism;
        l.topic = v.target;
        l.partition = p;
        l.end_offset = 10'000 * (p + 1);
        l.current_offset = l.end_offset - 50;
        l.lag = 50;
        job->lag.push_back(l);
        if (registry_ != nullptr) {
          job->lag_gauges.push_back(metrics::KafkaLagGauge(*registry_, job->summary.id, v.id,
                                                           l.subtask, l.topic, p));
        }
      }
    }
    job->vertices.push_back(std::move(v));
  }
  for (const auto& e : kEdges) job->edges.push_back({e.source, e.target, e.partitioning});
  job->summary.vertex_count = static_cast<int>(job->vertices.size());
  jobs_.push_back(std::move(job));
  return *jobs_.back();
}

void FakeCluster::AssignSlotsLocked() {
  for (auto& tm : taskmanagers_) {
    for (auto& s : tm.slots) s = {s.index, "", "", -1};
  }
  // Slot sharing as in Flink: subtask i of every vertex of a job shares one slot.
  size_t next_tm = 0;
  for (auto& job : jobs_) {
    if (job->summary.state != kJobRunning && job->summary.state != kJobCancelling) continue;
    int max_par = 0;
    for (const auto& v : job->vertices) max_par = std::max(max_par, v.parallelism);
    for (int i = 0; i < max_par; ++i) {
      for (size_t tries = 0; tries < taskmanagers_.size(); ++tries) {
        auto& tm = taskmanagers_[next_tm++ % taskmanagers_.size()];
        auto free = std::find_if(tm.slots.begin(), tm.slots.end(),
                                 [](const SlotInfo& s) { return s.job_id.empty(); });
        if (free == tm.slots.end()) continue;
        *free = {free->index, job->summary.id, job->vertices.front().id, i};
        for (auto& v : job->vertices) {
          if (i < v.parallelism) v.subtasks[i].taskmanager_id = tm.id;
        }
        break;
      }
    }
  }
  for (auto& tm : taskmanagers_) {
    tm.slots_free = static_cast<int>(std::count_if(
        tm.slots.begin(), tm.slots.end(), [](const SlotInfo& s) { return s.job_id.empty(); }));
  }
}

void FakeCluster::Tick(int64_t now_ms) {
  std::lock_guard lock(mu_);
  double dt = std::max<int64_t>(0, now_ms - now_ms_) / 1000.0;
  now_ms_ = now_ms;
  for (auto& tm : taskmanagers_) tm.last_heartbeat_ms = now_ms;
  bool slots_changed = false;
  for (auto& job_ptr : jobs_) {
    FakeJob& job = *job_ptr;
    if (job.summary.state == kJobCancelling) {
      job.summary.state = std::string(kJobCanceled);
      job.summary.end_time_ms = now_ms;
      for (auto& v : job.vertices) {
        v.state = "CANCELED";
        v.metrics.records_in_per_sec = v.metrics.records_out_per_sec = 0;
        v.metrics.busy_ratio = v.metrics.backpressure_ratio = 0;
        v.metrics.idle_ratio = 1;
        for (auto& s : v.subtasks) {
          s.state = "CANCELED";
          s.metrics.records_in_per_sec = s.metrics.records_out_per_sec = 0;
          s.metrics.busy_ratio = s.metrics.backpressure_ratio = 0;
        }
      }
      for (auto& c : job.checkpoints) {
        if (c.status == "IN_PROGRESS") {
          c.status = "FAILED";
          c.failure_reason = "job cancelled";
        }
      }
      slots_changed = true;
      continue;
    }
    if (job.summary.state != kJobRunning) continue;
    double t = (now_ms - start_ms_) / 1000.0 + job.phase;
    double rate = job.base_rate * (1.0 + 0.35 * std::sin(t / 3.0));
    // The Elasticsearch sink is the slow part: it backpressures the upsert and the join.
    double es_pressure = 0.5 + 0.45 * std::sin(t / 5.0);
    std::map<std::string, double> out_rates;
    for (size_t vi = 0; vi < job.vertices.size(); ++vi) {
      VertexInfo& v = job.vertices[vi];
      const VertexTemplate& tmpl = kVertices[vi];
      // Vertices are in topological order: inputs are the upstream vertices' outputs.
      double in_rate = 0;
      for (const auto& e : job.edges) {
        if (e.target == v.id) in_rate += out_rates[e.source];
      }
      double out_rate = in_rate * tmpl.selectivity;
      if (v.kind == "source") {
        in_rate = out_rate = rate * (v.id == "customers-source" ? 0.1 : 0.9);
      }
      out_rates[v.id] = out_rate;
      double bp = v.id == "upsert" ? es_pressure * 0.8 : v.id == "join" ? es_pressure * 0.35 : 0.02;
      double busy = v.id == "es-sink" ? 0.55 + 0.4 * es_pressure : 0.15 + 0.1 * std::sin(t);
      TaskMetrics agg;
      for (auto& s : v.subtasks) {
        // Uneven but summing to 1: pairs of subtasks get +10% / -10%.
        bool unpaired = v.parallelism % 2 == 1 && s.index == v.parallelism - 1;
        double skew = unpaired ? 0 : 0.1 * (s.index % 2 == 0 ? 1 : -1);
        double share = (1.0 + skew) / v.parallelism;
        TaskMetrics& m = s.metrics;
        m.records_in_per_sec = in_rate * share;
        m.records_out_per_sec = out_rate * share;
        uint64_t din = static_cast<uint64_t>(m.records_in_per_sec * dt);
        uint64_t dout = static_cast<uint64_t>(m.records_out_per_sec * dt);
        m.records_in += din;
        m.records_out += dout;
        m.bytes_in += din * 310;
        m.bytes_out += dout * 420;
        m.backpressure_ratio = std::clamp(bp + 0.05 * s.index, 0.0, 1.0);
        m.busy_ratio = std::clamp(busy, 0.0, 1.0);
        m.idle_ratio = std::max(0.0, 1.0 - m.busy_ratio - m.backpressure_ratio);
        s.watermark_ms = now_ms - 1500 - 100 * static_cast<int64_t>(vi);
        if (!job.handles[vi].empty()) {
          auto& h = job.handles[vi][s.index];
          h.records_in->Increment(din);
          h.records_out->Increment(dout);
          h.bytes_in->Increment(din * 310);
          h.bytes_out->Increment(dout * 420);
          h.busy_ns->Increment(static_cast<uint64_t>(m.busy_ratio * dt * 1e9));
          h.backpressured_ns->Increment(static_cast<uint64_t>(m.backpressure_ratio * dt * 1e9));
          h.idle_ns->Increment(static_cast<uint64_t>(m.idle_ratio * dt * 1e9));
          h.watermark_ms->Set(static_cast<double>(s.watermark_ms));
          h.batch_latency->Observe(0.0004 + 0.002 * m.busy_ratio);
        }
        agg.records_in += m.records_in;
        agg.records_out += m.records_out;
        agg.bytes_in += m.bytes_in;
        agg.bytes_out += m.bytes_out;
        agg.records_in_per_sec += m.records_in_per_sec;
        agg.records_out_per_sec += m.records_out_per_sec;
        agg.backpressure_ratio = std::max(agg.backpressure_ratio, m.backpressure_ratio);
        agg.busy_ratio = std::max(agg.busy_ratio, m.busy_ratio);
        agg.idle_ratio = std::max(agg.idle_ratio, m.idle_ratio);
      }
      v.metrics = agg;
    }
    for (size_t i = 0; i < job.lag.size(); ++i) {
      PartitionLag& l = job.lag[i];
      l.end_offset += static_cast<int64_t>(rate * dt / 4);
      l.lag = static_cast<int64_t>(40 + 400 * es_pressure * (1 + l.partition % 3));
      l.current_offset = l.end_offset - l.lag;
      if (i < job.lag_gauges.size()) job.lag_gauges[i]->Set(static_cast<double>(l.lag));
    }
    // Complete savepoints right away, checkpoints every 5 s.
    for (auto& c : job.checkpoints) {
      if (c.status == "IN_PROGRESS") {
        c.status = "COMPLETED";
        c.duration_ms = std::max<int64_t>(1, now_ms - c.trigger_time_ms);
        c.acknowledged = c.total;
        c.path = absl::StrCat("/var/lib/cdcflow/", c.savepoint ? "savepoints" : "checkpoints",
                              "/", job.summary.id, "/", c.savepoint ? "sp-" : "chk-", c.id);
      }
    }
    if (now_ms - job.last_checkpoint_ms >= 5000) {
      CheckpointInfo c;
      c.id = job.next_checkpoint++;
      c.status = "COMPLETED";
      c.trigger_time_ms = now_ms - 200;
      c.duration_ms = 150 + static_cast<int64_t>(200 * es_pressure);
      c.size_bytes = (1 << 20) + static_cast<int64_t>(c.id) * 40960;
      c.alignment_ms = static_cast<int64_t>(2 + 30 * es_pressure);
      c.total = c.acknowledged = 9;
      c.path = absl::StrCat("/var/lib/cdcflow/checkpoints/", job.summary.id, "/chk-", c.id);
      job.checkpoints.insert(job.checkpoints.begin(), c);
      if (job.checkpoints.size() > 50) job.checkpoints.pop_back();
      job.last_checkpoint_ms = now_ms;
    }
  }
  if (slots_changed) AssignSlotsLocked();
}

ClusterOverview FakeCluster::Overview() const {
  std::lock_guard lock(mu_);
  ClusterOverview o;
  o.version = "0.1.0-fake";
  o.start_time_ms = start_ms_ - 120'000;
  o.taskmanagers = static_cast<int>(taskmanagers_.size());
  for (const auto& tm : taskmanagers_) {
    o.slots_total += tm.slots_total;
    o.slots_available += tm.slots_free;
  }
  for (const auto& j : jobs_) {
    const std::string& s = j->summary.state;
    if (s == kJobCanceled) {
      ++o.jobs_cancelled;
    } else if (s == kJobFinished) {
      ++o.jobs_finished;
    } else if (s == kJobFailed) {
      ++o.jobs_failed;
    } else {
      ++o.jobs_running;
    }
  }
  return o;
}

std::vector<TaskManagerInfo> FakeCluster::TaskManagers() const {
  std::lock_guard lock(mu_);
  return taskmanagers_;
}

std::vector<JobSummary> FakeCluster::Jobs() const {
  std::lock_guard lock(mu_);
  std::vector<JobSummary> out;
  for (const auto& j : jobs_) out.push_back(j->summary);
  return out;
}

absl::StatusOr<JobDetail> FakeCluster::Job(std::string_view job_id) const {
  std::lock_guard lock(mu_);
  for (const auto& j : jobs_) {
    if (j->summary.id != job_id) continue;
    JobDetail d;
    d.summary = j->summary;
    d.vertices = j->vertices;
    d.edges = j->edges;
    d.lag = j->lag;
    d.checkpoints = j->checkpoints;
    d.exceptions = j->exceptions;
    d.args = j->args;
    return d;
  }
  return absl::NotFoundError(absl::StrCat("no job with id '", std::string(job_id), "'"));
}

absl::StatusOr<std::string> FakeCluster::SubmitJob(const SubmitRequest& request) {
  std::lock_guard lock(mu_);
  if (request.plugin_bytes.rfind("\x7f" "ELF", 0) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("plugin '", request.plugin_filename, "' is not an ELF shared object"));
  }
  last_submit_ = request;
  std::string name = request.plugin_filename;
  if (auto dot = name.rfind('.'); dot != std::string::npos) name.resize(dot);
  std::string id = absl::StrCat("f00d", absl::Hex(next_job_++, absl::kZeroPad12));
  FakeJob& job = AddJob(id, name.empty() ? "submitted-job" : name,
                        request.parallelism > 0 ? request.parallelism : 1, now_ms_);
  job.args = request.args;
  job.last_checkpoint_ms = now_ms_;
  AssignSlotsLocked();
  return id;
}

absl::Status FakeCluster::CancelJob(std::string_view job_id) {
  std::lock_guard lock(mu_);
  for (auto& j : jobs_) {
    if (j->summary.id != job_id) continue;
    if (j->summary.state != kJobRunning && j->summary.state != kJobRestarting) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", std::string(job_id), " is ", j->summary.state, ", not running"));
    }
    j->summary.state = std::string(kJobCancelling);
    for (auto& v : j->vertices) v.state = "CANCELING";
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat("no job with id '", std::string(job_id), "'"));
}

absl::StatusOr<int64_t> FakeCluster::TriggerSavepoint(std::string_view job_id,
                                                      std::string_view target_directory) {
  std::lock_guard lock(mu_);
  for (auto& j : jobs_) {
    if (j->summary.id != job_id) continue;
    if (j->summary.state != kJobRunning) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", std::string(job_id), " is ", j->summary.state, ", not running"));
    }
    CheckpointInfo c;
    c.id = j->next_checkpoint++;
    c.status = "IN_PROGRESS";
    c.savepoint = true;
    c.trigger_time_ms = now_ms_;
    c.total = 9;
    c.size_bytes = 1 << 20;
    j->checkpoints.insert(j->checkpoints.begin(), c);
    return c.id;
  }
  return absl::NotFoundError(absl::StrCat("no job with id '", std::string(job_id), "'"));
}

SubmitRequest FakeCluster::last_submit() const {
  std::lock_guard lock(mu_);
  return last_submit_;
}

absl::StatusOr<std::unique_ptr<FakeConnectServer>> FakeConnectServer::Start() {
  std::unique_ptr<FakeConnectServer> self(new FakeConnectServer());
  self->server_ = std::make_unique<httplib::Server>();
  metrics::SetListenerSocketOptions(*self->server_);
  auto failed = self->failed_;
  self->server_->Get("/connectors", [failed](const httplib::Request& req,
                                             httplib::Response& res) {
    if (req.get_param_value_count("expand") == 0) {
      res.set_content(R"(["pg-orders-connector"])", "application/json");
      return;
    }
    std::string task = failed->load()
                           ? R"({"id":0,"state":"FAILED","worker_id":"127.0.0.1:8081",)"
                             R"("trace":"org.apache.kafka.connect.errors.ConnectException: )"
                             R"(replication slot \"debezium\" is active"})"
                           : R"({"id":0,"state":"RUNNING","worker_id":"127.0.0.1:8081"})";
    res.set_content(
        std::string(R"({"pg-orders-connector":{"status":{"name":"pg-orders-connector",)"
                    R"("connector":{"state":"RUNNING","worker_id":"127.0.0.1:8081"},)"
                    R"("tasks":[)") +
            task +
            R"(],"type":"source"},"info":{"name":"pg-orders-connector","config":{)"
            R"("connector.class":"io.debezium.connector.postgresql.PostgresConnector",)"
            R"("topic.prefix":"pg","table.include.list":"public.orders,public.customers"},)"
            R"("tasks":[{"connector":"pg-orders-connector","task":0}],"type":"source"}}})",
        "application/json");
  });
  int port = self->server_->bind_to_any_port("127.0.0.1");
  if (port <= 0) return absl::UnavailableError("fake Connect: cannot bind 127.0.0.1");
  self->port_ = port;
  httplib::Server* server = self->server_.get();
  auto returned = std::make_shared<std::atomic<bool>>(false);
  self->thread_ = std::thread([server, returned] {
    server->listen_after_bind();
    returned->store(true);
  });
  while (!server->is_running() && !returned->load()) std::this_thread::yield();
  return self;
}

FakeConnectServer::~FakeConnectServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeConnectServer::url() const { return absl::StrCat("http://127.0.0.1:", port_); }

void FakeConnectServer::SetTaskFailed(bool failed) { failed_->store(failed); }

}  // namespace cdcflow::rest
