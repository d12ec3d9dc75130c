#include "jobmanager/rest/job_manager_view.h"

#include <map>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "jobmanager/testing/fake_task_manager_client.h"
#include "nlohmann/json.hpp"

namespace cdcflow::rest {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

class JobManagerViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    jobmanager::JobManager::Options options;
    options.rate_window = absl::Milliseconds(10);
    jm_ = std::make_unique<jobmanager::JobManager>(
        options,
        std::make_unique<jobmanager::testing::FakeTaskManagers>());
    for (const char* id : {"tm-a", "tm-b"}) {
      v1::RegisterTaskManagerRequest r;
      r.set_task_manager_id(id);
      r.set_address(std::string(id) + ":1");
      r.set_slots(2);
      ASSERT_TRUE(jm_->RegisterTaskManager(r).ok());
    }
  }

  void StartHttp(SubmitFunction submit = nullptr, std::string token = "") {
    RestConfig config;
    config.bind_address = "127.0.0.1";
    config.port = 0;
    config.auth_token = std::move(token);
    config.connect_url = "http://127.0.0.1:1";
    config.connect_timeout_ms = 200;
    config.version = "test";
    auto http = StartJobManagerHttp(jm_.get(), config, std::move(submit));
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", http_->server->port());
  }

  // source -> map (P=2), sum -> sink (P=2), all tasks reported RUNNING.
  std::string SubmitRunning() {
    v1::SubmitJobRequest r;
    r.mutable_job()->mutable_graph()->set_job_name("wordcount");
    r.set_plugin("\x7f" "ELF plugin bytes");
    auto id = jm_->SubmitJob(r, {{0, "source -> map", 2}, {1, "sum -> sink", 2}});
    EXPECT_TRUE(id.ok()) << id.status();
    auto status = jm_->GetJobStatus(*id);
    for (const auto& t : status->tasks()) {
      v1::UpdateTaskStateRequest u;
      *u.mutable_task() = t.task();
      u.set_state(v1::TASK_STATE_RUNNING);
      u.set_task_manager_id(t.task_manager_id());
      jm_->UpdateTaskState(u);
    }
    return id->value();
  }

  json Get(const std::string& path, int expected = 200) {
    auto res = client_->Get(path.c_str());
    EXPECT_TRUE(res);
    if (!res) return json();
    EXPECT_EQ(res->status, expected) << path << ": " << res->body;
    return json::parse(res->body);
  }

  std::unique_ptr<jobmanager::JobManager> jm_;
  std::unique_ptr<JobManagerHttp> http_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(JobManagerViewTest, ShowsRealJobManagerState) {
  std::string id = SubmitRunning();
  StartHttp();
  json o = Get("/api/v1/overview");
  EXPECT_EQ(o["taskmanagers"], 2);
  EXPECT_EQ(o["jobs_running"], 1);
  EXPECT_EQ(o["slots_total"], 4);
  EXPECT_EQ(o["slots_available"], 2);
  json jobs = Get("/api/v1/jobs");
  ASSERT_EQ(jobs["jobs"].size(), 1u);
  EXPECT_EQ(jobs["jobs"][0]["name"], "wordcount");
  EXPECT_EQ(jobs["jobs"][0]["state"], "RUNNING");
  EXPECT_EQ(jobs["jobs"][0]["vertex_count"], 2);
  json j = Get("/api/v1/jobs/" + id);
  ASSERT_EQ(j["vertices"].size(), 2u);
  EXPECT_EQ(j["vertices"][0]["name"], "source -> map");
  EXPECT_EQ(j["vertices"][0]["parallelism"], 2);
  EXPECT_EQ(j["vertices"][0]["state"], "RUNNING");
  json v = Get("/api/v1/jobs/" + id + "/vertices/1");
  ASSERT_EQ(v["subtasks"].size(), 2u);
  EXPECT_FALSE(v["subtasks"][0]["taskmanager_id"].get<std::string>().empty());
  json tms = Get("/api/v1/taskmanagers");
  EXPECT_FALSE(tms["taskmanagers"].empty());
  Get("/api/v1/jobs/ffffffffffffffffffffffffffffffff", 404);
}

TEST_F(JobManagerViewTest, CancelGoesThroughTheJobManager) {
  std::string id = SubmitRunning();
  StartHttp(nullptr, "tok");
  std::string path = "/api/v1/jobs/" + id + "/cancel";
  EXPECT_EQ(client_->Post(path.c_str())->status, 401);
  auto res = client_->Post(path.c_str(), httplib::Headers{{"Authorization", "Bearer tok"}}, "",
                           "text/plain");
  EXPECT_EQ(res->status, 202) << res->body;
  std::string state = Get("/api/v1/jobs/" + id)["state"];
  EXPECT_TRUE(state == "CANCELLING" || state == "CANCELED") << state;
  auto status = jm_->GetJobStatus(JobId(id));
  EXPECT_TRUE(status->job().state() == v1::JOB_STATE_CANCELING ||
              status->job().state() == v1::JOB_STATE_CANCELED);
}

TEST_F(JobManagerViewTest, SubmitAndSavepointSayWhenUnsupported) {
  std::string id = SubmitRunning();
  StartHttp();
  httplib::MultipartFormDataItems items = {
      {"plugin", "\x7f" "ELF", "job.so", "application/octet-stream"}};
  auto res = client_->Post("/api/v1/jobs", items);
  EXPECT_EQ(res->status, 501);
  EXPECT_THAT(res->body, HasSubstr("cdcflow run"));
  // The job manager has no checkpoint directory: the savepoint is refused, naming why.
  res = client_->Post(("/api/v1/jobs/" + id + "/savepoints").c_str(), "", "application/json");
  EXPECT_EQ(res->status, 409);
  EXPECT_THAT(res->body, HasSubstr("--checkpoint-dir"));
}

TEST_F(JobManagerViewTest, SubmitUsesTheGivenFunction) {
  SubmitRequest seen;
  StartHttp([&seen](const SubmitRequest& r) -> absl::StatusOr<std::string> {
    seen = r;
    return std::string("abc123");
  });
  httplib::MultipartFormDataItems items = {
      {"plugin", "\x7f" "ELF", "job.so", "application/octet-stream"},
      {"args", "--a 1", "", ""}};
  auto res = client_->Post("/api/v1/jobs", items);
  ASSERT_EQ(res->status, 202) << res->body;
  EXPECT_EQ(json::parse(res->body)["job_id"], "abc123");
  EXPECT_EQ(seen.plugin_filename, "job.so");
  EXPECT_THAT(seen.args, ::testing::ElementsAre("--a", "1"));
}

TEST_F(JobManagerViewTest, HeartbeatMetricsShowAsThroughputLagAndEdges) {
  // A graph of three vertices in two chains: numbers -> map (chained), sum (hash).
  v1::SubmitJobRequest r;
  v1::JobGraph* g = r.mutable_job()->mutable_graph();
  g->set_job_name("metrics");
  for (int i = 0; i < 3; ++i) {
    v1::Vertex* v = g->add_vertices();
    v->set_id(i);
    v->set_kind(i == 0 ? 0 : (i == 2 ? 3 : 1));
    v->set_parallelism(1);
  }
  v1::Edge* e = g->add_edges();
  e->set_source(0);
  e->set_target(1);
  e->set_partitioning(1);
  e = g->add_edges();
  e->set_id(1);
  e->set_source(1);
  e->set_target(2);
  e->set_partitioning(2);
  r.set_plugin("plugin");
  auto id = jm_->SubmitJob(r, {{0, "numbers -> map", 1, {0, 1}}, {1, "sink", 1, {2}}});
  ASSERT_TRUE(id.ok()) << id.status();
  auto status = jm_->GetJobStatus(*id);
  std::map<std::string, std::vector<v1::TaskMetricsReport>> by_tm;
  for (const auto& t : status->tasks()) {
    v1::UpdateTaskStateRequest u;
    *u.mutable_task() = t.task();
    u.set_state(v1::TASK_STATE_RUNNING);
    jm_->UpdateTaskState(u);
  }
  auto heartbeat = [&](int64_t records) {
    std::map<std::string, v1::HeartbeatRequest> requests;
    for (const auto& t : status->tasks()) {
      v1::HeartbeatRequest& hb = requests[t.task_manager_id()];
      hb.set_task_manager_id(t.task_manager_id());
      v1::TaskMetricsReport* m = hb.add_task_metrics();
      *m->mutable_task() = t.task();
      m->set_records_in(t.task().vertex_id() == 0 ? 0 : records);
      m->set_records_out(records);
      m->set_busy_ns(records * 1000);
      if (t.task().vertex_id() == 0) {
        v1::PartitionProgress* p = m->add_partitions();
        p->set_topic("pg.public.orders");
        p->set_partition(0);
        p->set_offset(records);
        p->set_end_offset(records + 7);
        p->set_lag(7);
      }
    }
    for (auto& [tm, hb] : requests) ASSERT_TRUE(jm_->Heartbeat(hb).registered());
  };
  heartbeat(1000);
  absl::SleepFor(absl::Milliseconds(50));
  heartbeat(3000);
  StartHttp();
  json j = Get("/api/v1/jobs/" + id->value());
  ASSERT_EQ(j["vertices"].size(), 2u);
  EXPECT_EQ(j["vertices"][0]["kind"], "source");
  EXPECT_EQ(j["vertices"][1]["kind"], "sink");
  EXPECT_EQ(j["vertices"][0]["metrics"]["records_out"], 3000);
  EXPECT_GT(j["vertices"][0]["metrics"]["records_out_per_sec"].get<double>(), 0);
  EXPECT_EQ(j["vertices"][1]["metrics"]["records_in"], 3000);
  ASSERT_EQ(j["edges"].size(), 1u) << "the chained edge is inside a vertex";
  EXPECT_EQ(j["edges"][0]["source"], "0");
  EXPECT_EQ(j["edges"][0]["target"], "1");
  EXPECT_EQ(j["edges"][0]["partitioning"], "HASH");
  json lag = Get("/api/v1/jobs/" + id->value() + "/lag");
  EXPECT_THAT(lag.dump(), HasSubstr("pg.public.orders"));
  EXPECT_THAT(lag.dump(), HasSubstr("\"lag\":7"));
  json tms = Get("/api/v1/taskmanagers");
  ASSERT_EQ(tms["taskmanagers"].size(), 2u);
  EXPECT_EQ(tms["taskmanagers"][0]["slots_total"], 2);
  EXPECT_EQ(tms["taskmanagers"][0]["slots"].size(), 2u);
  // The job manager's /metrics carries the job's vertices.
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body,
              HasSubstr("cdcflow_job_vertex_records_out{job=\"" + id->value() +
                        "\",vertex=\"numbers -> map\"} 3000"));
  EXPECT_THAT(metrics->body, HasSubstr("cdcflow_job_vertex_kafka_lag_records{"));
  ASSERT_TRUE(jm_->CancelJob(*id).ok());
  for (const auto& t : status->tasks()) {
    v1::UpdateTaskStateRequest u;
    *u.mutable_task() = t.task();
    u.set_state(v1::TASK_STATE_CANCELED);
    jm_->UpdateTaskState(u);
  }
  metrics = client_->Get("/metrics");
  EXPECT_THAT(metrics->body, ::testing::Not(HasSubstr("cdcflow_job_vertex_records_out{job=\"" +
                                                      id->value())));
}

}  // namespace
}  // namespace cdcflow::rest
