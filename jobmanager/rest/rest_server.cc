#include "jobmanager/rest/rest_server.h"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "jobmanager/rest/json.h"
#include "jobmanager/web/web_assets.h"
#include "nlohmann/json.hpp"
#include "runtime/metrics/metrics_http_server.h"
#include "runtime/metrics/standard_metrics.h"

namespace cdcflow::rest {
namespace {

using nlohmann::json;

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

void SendJson(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(), "application/json");
}

void SendError(httplib::Response& res, const absl::Status& status) {
  SendJson(res,
           {{"error", std::string(status.message())},
            {"code", absl::StatusCodeToString(status.code())}},
           HttpStatusFor(status.code()));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

// Splits on whitespace; single or double quotes group words ("--name 'a b'").
absl::StatusOr<std::vector<std::string>> SplitArgs(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : s) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        cur += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote != 0) return absl::InvalidArgumentError("args: unterminated quote");
  if (in_word) out.push_back(std::move(cur));
  return out;
}

bool IsTerminal(std::string_view state) {
  return state == kJobCanceled || state == kJobFinished || state == kJobFailed;
}

}  // namespace

class RestServer::Impl {
 public:
  Impl(const RestConfig& config, ClusterView* view, ClusterControl* control,
       metrics::MetricRegistry* registry)
      : config_(config), view_(view), control_(control), registry_(registry) {}

  void Register(httplib::Server& s);

 private:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  // Wraps a handler with request metrics; `route` is the label (a pattern, not a path).
  Handler Instrument(std::string route, Handler h);
  bool Authorized(const httplib::Request& req, httplib::Response& res);
  json Pipeline();
  json FetchConnect();
  void UpdateClusterGauges();

  RestConfig config_;
  ClusterView* view_;
  ClusterControl* control_;
  metrics::MetricRegistry* registry_;
};

RestServer::Impl::Handler RestServer::Impl::Instrument(std::string route, Handler h) {
  auto latency = registry_->GetHistogram(metrics::kHttpLatency, "REST request latency.",
                                         {{"route", route}});
  return [this, route, latency, h = std::move(h)](const httplib::Request& req,
                                                   httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    h(req, res);
    latency->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    // A lookup per request is fine here: REST traffic is a few requests per second.
    registry_
        ->GetCounter(metrics::kHttpRequests, "REST requests answered.",
                     {{"route", route}, {"code", std::to_string(res.status)}})
        ->Increment();
  };
}

bool RestServer::Impl::Authorized(const httplib::Request& req, httplib::Response& res) {
  if (config_.auth_token.empty()) return true;
  std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() > kBearer.size() && header.compare(0, kBearer.size(), kBearer) == 0 &&
      ConstantTimeEquals(std::string_view(header).substr(kBearer.size()), config_.auth_token)) {
    return true;
  }
  res.set_header("WWW-Authenticate", "Bearer realm=\"cdcflow\"");
  SendError(res, absl::UnauthenticatedError(
                     "this action needs 'Authorization: Bearer <token>' (the job manager's "
                     "configured REST token)"));
  return false;
}

void RestServer::Impl::UpdateClusterGauges() {
  ClusterOverview o = view_->Overview();
  registry_->GetGauge(metrics::kTaskManagers, "Registered task managers.")->Set(o.taskmanagers);
  registry_->GetGauge(metrics::kSlotsTotal, "Slots offered by task managers.")
      ->Set(o.slots_total);
  registry_->GetGauge(metrics::kSlotsAvailable, "Free slots.")->Set(o.slots_available);
  registry_->GetGauge(metrics::kJobsRunning, "Running jobs.")->Set(o.jobs_running);
  const std::string job_label(metrics::kLabelJob);
  const std::string vertex_label(metrics::kLabelVertex);
  for (const JobSummary& summary : view_->Jobs()) {
    // Only live jobs are exported; an ended job's series disappear.
    registry_->RemoveSeries({{job_label, summary.id}}, metrics::kJobGaugePrefix);
    if (summary.state != kJobRunning && summary.state != kJobCancelling) continue;
    absl::StatusOr<JobDetail> job = view_->Job(summary.id);
    if (!job.ok()) continue;
    std::map<std::string, std::string> vertex_names;
    for (const VertexInfo& v : job->vertices) {
      vertex_names[v.id] = v.name;
      metrics::Labels labels = {{job_label, summary.id}, {vertex_label, v.name}};
      registry_->GetGauge(metrics::kJobVertexRecordsIn,
                          "Records into the vertex, as last reported.", labels)
          ->Set(static_cast<double>(v.metrics.records_in));
      registry_->GetGauge(metrics::kJobVertexRecordsOut,
                          "Records out of the vertex, as last reported.", labels)
          ->Set(static_cast<double>(v.metrics.records_out));
      registry_->GetGauge(metrics::kJobVertexRecordsOutRate,
                          "Records per second out of the vertex (sum over subtasks).", labels)
          ->Set(v.metrics.records_out_per_sec);
      registry_->GetGauge(metrics::kJobVertexBusy, "Busy ratio of the vertex's busiest subtask.",
                          labels)->Set(v.metrics.busy_ratio);
      registry_->GetGauge(metrics::kJobVertexBackpressure,
                          "Backpressure ratio of the vertex's most backpressured subtask.", labels)
          ->Set(v.metrics.backpressure_ratio);
    }
    for (const PartitionLag& l : job->lag) {
      registry_->GetGauge(metrics::kJobVertexKafkaLag,
                          "Kafka records not yet read by the source, per partition.",
                          {{job_label, summary.id}, {vertex_label, vertex_names[l.vertex]},
                           {std::string(metrics::kLabelTopic), l.topic},
                           {std::string(metrics::kLabelPartition), std::to_string(l.partition)}})
          ->Set(static_cast<double>(l.lag));
    }
  }
}

json RestServer::Impl::FetchConnect() {
  json out = {{"url", config_.connect_url}, {"reachable", false}, {"error", ""},
              {"connectors", json::array()}};
  httplib::Client client(config_.connect_url);
  auto timeout = std::chrono::milliseconds(config_.connect_timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  auto res = client.Get("/connectors?expand=status&expand=info");
  if (!res) {
    out["error"] = absl::StrCat("cannot reach Kafka Connect at ", config_.connect_url, ": ",
                                httplib::to_string(res.error()));
    return out;
  }
  if (res->status != 200) {
    out["error"] = absl::StrCat("Kafka Connect answered HTTP ", res->status);
    return out;
  }
  json body = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) {
    out["error"] = "Kafka Connect answered with unexpected JSON (expected an object from "
                   "GET /connectors?expand=status)";
    return out;
  }
  out["reachable"] = true;
  for (auto& [name, entry] : body.items()) {
    const json& status = entry.value("status", json::object());
    const json& info = entry.value("info", json::object());
    const json& config = info.value("config", json::object());
    json c = {{"name", name},
              {"type", status.value("type", info.value("type", ""))},
              {"state", status.value("connector", json::object()).value("state", "UNKNOWN")},
              {"worker_id", status.value("connector", json::object()).value("worker_id", "")},
              {"connector_class", config.value("connector.class", "")},
              {"topic_prefix",
               config.value("topic.prefix", config.value("database.server.name", ""))},
              {"tables", config.value("table.include.list", "")},
              {"tasks", json::array()}};
    for (const auto& t : status.value("tasks", json::array())) {
      c["tasks"].push_back({{"id", t.value("id", 0)},
                            {"state", t.value("state", "UNKNOWN")},
                            {"worker_id", t.value("worker_id", "")},
                            {"trace", t.value("trace", "")}});
    }
    out["connectors"].push_back(std::move(c));
  }
  return out;
}

json RestServer::Impl::Pipeline() {
  json out;
  out["connect"] = FetchConnect();
  std::map<std::string, std::pair<int64_t, std::set<std::string>>> topics;
  json jobs = json::array();
  std::vector<JobSummary> summaries = view_->Jobs();
  // Running jobs; when none runs, the most recent one so the page still shows a job.
  std::vector<JobSummary> shown;
  for (const auto& j : summaries) {
    if (!IsTerminal(j.state)) shown.push_back(j);
  }
  if (shown.empty() && !summaries.empty()) {
    shown.push_back(*std::max_element(
        summaries.begin(), summaries.end(),
        [](const auto& a, const auto& b) { return a.start_time_ms < b.start_time_ms; }));
  }
  for (const auto& j : shown) {
    auto detail = view_->Job(j.id);
    if (!detail.ok()) continue;
    json sources = json::array(), sinks = json::array();
    for (const auto& v : detail->vertices) {
      json entry = {{"vertex", v.id},
                    {"name", v.name},
                    {"connector", v.connector},
                    {"target", v.target},
                    {"state", v.state},
                    {"records_in_per_sec", v.metrics.records_in_per_sec},
                    {"records_out_per_sec", v.metrics.records_out_per_sec},
                    {"backpressure_ratio", v.metrics.backpressure_ratio}};
      if (v.kind == "source") sources.push_back(entry);
      if (v.kind == "sink") sinks.push_back(entry);
    }
    int64_t job_lag = 0;
    for (const auto& l : detail->lag) {
      topics[l.topic].first += l.lag;
      topics[l.topic].second.insert(j.id);
      job_lag += l.lag;
    }
    json summary = ToJson(j);
    summary["sources"] = sources;
    summary["sinks"] = sinks;
    summary["total_lag"] = job_lag;
    jobs.push_back(std::move(summary));
  }
  json topic_list = json::array();
  for (const auto& [topic, v] : topics) {
    topic_list.push_back({{"topic", topic}, {"lag", v.first}, {"job_ids", v.second}});
  }
  out["topics"] = topic_list;
  out["jobs"] = jobs;
  return out;
}

void RestServer::Impl::Register(httplib::Server& s) {
  s.Get("/healthz", Instrument("/healthz", [](const auto&, auto& res) {
          res.set_content("ok\n", "text/plain");
        }));
  s.Get("/metrics", Instrument("/metrics", [this](const auto&, auto& res) {
          UpdateClusterGauges();
          res.set_content(registry_->RenderPrometheus(),
                          std::string(metrics::kPrometheusContentType).c_str());
        }));
  s.Get("/api/v1/config", Instrument("/api/v1/config", [this](const auto&, auto& res) {
          SendJson(res, {{"version", config_.version},
                         {"auth_required", !config_.auth_token.empty()},
                         {"connect_url", config_.connect_url}});
        }));
  s.Get("/api/v1/overview", Instrument("/api/v1/overview", [this](const auto&, auto& res) {
          SendJson(res, ToJson(view_->Overview()));
        }));
  s.Get("/api/v1/taskmanagers",
        Instrument("/api/v1/taskmanagers", [this](const auto&, auto& res) {
          json list = json::array();
          for (const auto& t : view_->TaskManagers()) list.push_back(ToJson(t));
          SendJson(res, {{"taskmanagers", list}});
        }));
  s.Get("/api/v1/jobs", Instrument("/api/v1/jobs", [this](const auto&, auto& res) {
          json list = json::array();
          for (const auto& j : view_->Jobs()) list.push_back(ToJson(j));
          SendJson(res, {{"jobs", list}});
        }));
  s.Get("/api/v1/pipeline", Instrument("/api/v1/pipeline", [this](const auto&, auto& res) {
          SendJson(res, Pipeline());
        }));

  // Per-job reads: one snapshot, sliced.
  auto job_get = [this](std::string route, std::function<json(const JobDetail&,
                                                               const httplib::Request&,
                                                               httplib::Response&)> slice) {
    return Instrument(std::move(route), [this, slice](const httplib::Request& req,
                                                      httplib::Response& res) {
      auto detail = view_->Job(req.matches[1].str());
      if (!detail.ok()) return SendError(res, detail.status());
      json body = slice(*detail, req, res);
      if (!body.is_null()) SendJson(res, body);
    });
  };
  s.Get(R"(/api/v1/jobs/([^/]+))",
        job_get("/api/v1/jobs/{id}",
                [](const JobDetail& d, const auto&, auto&) { return JobDetailJson(d); }));
  s.Get(R"(/api/v1/jobs/([^/]+)/vertices/([^/]+))",
        job_get("/api/v1/jobs/{id}/vertices/{vertex}",
                [](const JobDetail& d, const httplib::Request& req, httplib::Response& res) {
                  std::string vid = req.matches[2].str();
                  for (const auto& v : d.vertices) {
                    if (v.id == vid) return ToJson(v, /*with_subtasks=*/true);
                  }
                  SendError(res, absl::NotFoundError(absl::StrCat(
                                     "job ", d.summary.id, " has no vertex '", vid, "'")));
                  return json();
                }));
  s.Get(R"(/api/v1/jobs/([^/]+)/lag)",
        job_get("/api/v1/jobs/{id}/lag",
                [](const JobDetail& d, const auto&, auto&) { return LagJson(d); }));
  s.Get(R"(/api/v1/jobs/([^/]+)/watermarks)",
        job_get("/api/v1/jobs/{id}/watermarks", [](const JobDetail& d, const auto&, auto&) {
          return json{{"watermarks", WatermarksJson(d)}};
        }));
  s.Get(R"(/api/v1/jobs/([^/]+)/checkpoints)",
        job_get("/api/v1/jobs/{id}/checkpoints",
                [](const JobDetail& d, const auto&, auto&) { return CheckpointsJson(d); }));
  s.Get(R"(/api/v1/jobs/([^/]+)/exceptions)",
        job_get("/api/v1/jobs/{id}/exceptions",
                [](const JobDetail& d, const auto&, auto&) { return ExceptionsJson(d); }));

  s.Post("/api/v1/jobs", Instrument("POST /api/v1/jobs", [this](const httplib::Request& req,
                                                                 httplib::Response& res) {
           if (!Authorized(req, res)) return;
           if (!req.is_multipart_form_data() || !req.has_file("plugin")) {
             return SendError(res, absl::InvalidArgumentError(
                                       "submit: expected multipart/form-data with a 'plugin' "
                                       "file field (the job .so)"));
           }
           SubmitRequest submit;
           auto plugin = req.get_file_value("plugin");
           submit.plugin_filename = plugin.filename;
           submit.plugin_bytes = std::move(plugin.content);
           if (submit.plugin_bytes.empty()) {
             return SendError(res, absl::InvalidArgumentError("submit: 'plugin' is empty"));
           }
           if (req.has_file("args")) {
             auto args = SplitArgs(req.get_file_value("args").content);
             if (!args.ok()) return SendError(res, args.status());
             submit.args = *std::move(args);
           }
           if (req.has_file("parallelism")) {
             std::string p = req.get_file_value("parallelism").content;
             if (!p.empty() && (!absl::SimpleAtoi(p, &submit.parallelism) ||
                                submit.parallelism < 0 || submit.parallelism > 4096)) {
               return SendError(res, absl::InvalidArgumentError(absl::StrCat(
                                         "submit: 'parallelism' must be an integer in "
                                         "[0, 4096], got '", p, "'")));
             }
           }
           if (req.has_file("savepoint_path")) {
             submit.savepoint_path = req.get_file_value("savepoint_path").content;
           }
           auto id = control_->SubmitJob(submit);
           if (!id.ok()) return SendError(res, id.status());
           SendJson(res, {{"job_id", *id}}, 202);
         }));
  s.Post(R"(/api/v1/jobs/([^/]+)/cancel)",
         Instrument("POST /api/v1/jobs/{id}/cancel",
                    [this](const httplib::Request& req, httplib::Response& res) {
                      if (!Authorized(req, res)) return;
                      std::string id = req.matches[1].str();
                      absl::Status st = control_->CancelJob(id);
                      if (!st.ok()) return SendError(res, st);
                      SendJson(res, {{"job_id", id}, {"accepted", true}}, 202);
                    }));
  s.Post(R"(/api/v1/jobs/([^/]+)/savepoints)",
         Instrument("POST /api/v1/jobs/{id}/savepoints",
                    [this](const httplib::Request& req, httplib::Response& res) {
                      if (!Authorized(req, res)) return;
                      std::string target;
                      if (!req.body.empty()) {
                        json body = json::parse(req.body, nullptr, false);
                        if (!body.is_object()) {
                          return SendError(res, absl::InvalidArgumentError(
                                                    "savepoint: body must be a JSON object"));
                        }
                        target = body.value("target_directory", "");
                      }
                      std::string id = req.matches[1].str();
                      auto cp = control_->TriggerSavepoint(id, target);
                      if (!cp.ok()) return SendError(res, cp.status());
                      SendJson(res, {{"job_id", id}, {"checkpoint_id", *cp}}, 202);
                    }));

  // Static files (the dashboard and the OpenAPI document), embedded in the binary.
  auto serve_file = [](const web::EmbeddedFile& f, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
    res.set_content(reinterpret_cast<const char*>(f.data), f.size,
                    std::string(f.content_type).c_str());
  };
  s.Get(R"(/(.*))", Instrument("static", [serve_file](const httplib::Request& req,
                                                      httplib::Response& res) {
          std::string path = req.path == "/" ? "/index.html" : req.path;
          for (const auto& f : web::EmbeddedFiles()) {
            if (f.url_path == path) return serve_file(f, res);
          }
          if (path.rfind("/api/", 0) == 0) {
            return SendError(res, absl::NotFoundError(absl::StrCat("no API route ", path)));
          }
          res.status = 404;
          res.set_content("not found\n", "text/plain");
        }));
  s.set_exception_handler([](const auto&, auto& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, absl::InternalError(what));
  });
}

absl::StatusOr<std::unique_ptr<RestServer>> RestServer::Start(const RestConfig& config,
                                                              ClusterView* view,
                                                              ClusterControl* control,
                                                              metrics::MetricRegistry* registry) {
  std::unique_ptr<RestServer> self(new RestServer());
  self->impl_ = std::make_unique<Impl>(config, view, control, registry);
  self->server_ = std::make_unique<httplib::Server>();
  metrics::SetListenerSocketOptions(*self->server_);
  self->server_->set_payload_max_length(config.max_upload_bytes);
  self->impl_->Register(*self->server_);
  int bound = config.port == 0
                  ? self->server_->bind_to_any_port(config.bind_address)
                  : (self->server_->bind_to_port(config.bind_address, config.port) ? config.port
                                                                                   : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("REST server: cannot bind ", config.bind_address,
                                               ":", config.port));
  }
  self->port_ = bound;
  if (config.auth_token.empty()) {
    std::fprintf(stderr,
                 "WARNING: REST API on %s:%d has no auth token: anyone who reaches it can "
                 "submit, cancel and savepoint jobs (set one with --rest-token or "
                 "CDCFLOW_REST_TOKEN)\n",
                 config.bind_address.c_str(), bound);
  }
  httplib::Server* server = self->server_.get();
  auto returned = std::make_shared<std::atomic<bool>>(false);
  self->thread_ = std::thread([server, returned] {
    server->listen_after_bind();
    returned->store(true);
  });
  while (!server->is_running() && !returned->load()) std::this_thread::yield();
  return self;
}

RestServer::~RestServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cdcflow::rest
