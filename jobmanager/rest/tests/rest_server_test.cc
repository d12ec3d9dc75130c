#include "jobmanager/rest/rest_server.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "jobmanager/rest/testing/fake_cluster.h"
#include "nlohmann/json.hpp"

namespace cdcflow::rest {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

constexpr int64_t kT0 = 1'700'000'000'000;
const std::string kJob(FakeCluster::kSeedJobId);

class RestServerTest : public ::testing::Test {
 protected:
  void StartServer(std::string token = "", std::string connect_url = "") {
    cluster_ = std::make_unique<FakeCluster>(&registry_, kT0);
    cluster_->Tick(kT0 + 1000);
    RestConfig config;
    config.bind_address = "127.0.0.1";
    config.port = 0;
    config.auth_token = std::move(token);
    // A closed loopback port by default, so the pipeline never reaches a real Connect.
    config.connect_url = connect_url.empty() ? "http://127.0.0.1:1" : connect_url;
    config.connect_timeout_ms = 500;
    auto server = RestServer::Start(config, cluster_.get(), cluster_.get(), &registry_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  json GetJson(const std::string& path, int expected_status = 200) {
    auto res = client_->Get(path.c_str());
    EXPECT_TRUE(res) << path;
    if (!res) return json();
    EXPECT_EQ(res->status, expected_status) << path << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path;
    return json::parse(res->body);
  }

  metrics::MetricRegistry registry_;
  std::unique_ptr<FakeCluster> cluster_;
  std::unique_ptr<RestServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(RestServerTest, OverviewCountsTaskManagersSlotsAndJobs) {
  StartServer();
  json o = GetJson("/api/v1/overview");
  EXPECT_EQ(o["taskmanagers"], 2);
  EXPECT_EQ(o["slots_total"], 8);
  EXPECT_EQ(o["slots_available"], 6);  // the seed job at parallelism 2 uses two shared slots
  EXPECT_EQ(o["jobs_running"], 1);
}

TEST_F(RestServerTest, TaskManagersListSlots) {
  StartServer();
  json t = GetJson("/api/v1/taskmanagers");
  ASSERT_EQ(t["taskmanagers"].size(), 2u);
  EXPECT_EQ(t["taskmanagers"][0]["slots"].size(), 4u);
  EXPECT_EQ(t["taskmanagers"][0]["slots"][0]["job_id"], kJob);
}

TEST_F(RestServerTest, JobGraphHasVerticesEdgesAndMovingMetrics) {
  StartServer();
  json jobs = GetJson("/api/v1/jobs");
  ASSERT_EQ(jobs["jobs"].size(), 1u);
  EXPECT_EQ(jobs["jobs"][0]["state"], "RUNNING");
  json j = GetJson("/api/v1/jobs/" + kJob);
  EXPECT_EQ(j["name"], "enrich-orders");
  ASSERT_EQ(j["vertices"].size(), 6u);
  ASSERT_EQ(j["edges"].size(), 5u);
  EXPECT_EQ(j["edges"][0]["partitioning"], "HASH");
  EXPECT_GT(j["vertices"][2]["metrics"]["records_in_per_sec"].get<double>(), 0);
  uint64_t before = j["vertices"][2]["metrics"]["records_in"];
  cluster_->Tick(kT0 + 3000);
  json k = GetJson("/api/v1/jobs/" + kJob);
  EXPECT_GT(k["vertices"][2]["metrics"]["records_in"].get<uint64_t>(), before);
}

TEST_F(RestServerTest, VertexDetailHasSubtasks) {
  StartServer();
  json v = GetJson("/api/v1/jobs/" + kJob + "/vertices/join");
  EXPECT_EQ(v["parallelism"], 2);
  ASSERT_EQ(v["subtasks"].size(), 2u);
  EXPECT_FALSE(v["subtasks"][0]["taskmanager_id"].get<std::string>().empty());
  json missing = GetJson("/api/v1/jobs/" + kJob + "/vertices/nope", 404);
  EXPECT_THAT(missing["error"].get<std::string>(), HasSubstr("nope"));
}

TEST_F(RestServerTest, LagWatermarksCheckpointsExceptions) {
  StartServer();
  json lag = GetJson("/api/v1/jobs/" + kJob + "/lag");
  EXPECT_EQ(lag["partitions"].size(), 5u);  // 4 orders partitions + 1 customers
  EXPECT_EQ(lag["topics"].size(), 2u);
  json wm = GetJson("/api/v1/jobs/" + kJob + "/watermarks");
  EXPECT_GT(wm["watermarks"][0]["watermark_ms"].get<int64_t>(), 0);
  json cps = GetJson("/api/v1/jobs/" + kJob + "/checkpoints");
  EXPECT_EQ(cps["counts"]["failed"], 1);
  EXPECT_EQ(cps["latest_completed"]["id"], 4);
  EXPECT_EQ(cps["history"][0]["id"], 4);  // newest first
  json ex = GetJson("/api/v1/jobs/" + kJob + "/exceptions");
  EXPECT_EQ(ex["restarts"], 1);
  EXPECT_THAT(ex["exceptions"][0]["message"].get<std::string>(), HasSubstr("heartbeat"));
}

TEST_F(RestServerTest, UnknownJobIs404WithJsonError) {
  StartServer();
  json e = GetJson("/api/v1/jobs/doesnotexist", 404);
  EXPECT_EQ(e["code"], "NOT_FOUND");
  GetJson("/api/v1/jobs/doesnotexist/checkpoints", 404);
  GetJson("/api/v1/nosuchroute", 404);
}

TEST_F(RestServerTest, CancelNeedsTokenWhenConfigured) {
  StartServer("s3cret");
  auto path = "/api/v1/jobs/" + kJob + "/cancel";
  auto res = client_->Post(path.c_str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer realm=\"cdcflow\"");
  res = client_->Post(path.c_str(), httplib::Headers{{"Authorization", "Bearer wrong"}}, "",
                      "text/plain");
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(GetJson("/api/v1/jobs/" + kJob)["state"], "RUNNING");  // reads stay open

  res = client_->Post(path.c_str(), httplib::Headers{{"Authorization", "Bearer s3cret"}}, "",
                      "text/plain");
  EXPECT_EQ(res->status, 202) << res->body;
  EXPECT_EQ(GetJson("/api/v1/jobs/" + kJob)["state"], "CANCELLING");
  cluster_->Tick(kT0 + 2000);
  EXPECT_EQ(GetJson("/api/v1/jobs/" + kJob)["state"], "CANCELED");
  // Cancelling again is a conflict.
  res = client_->Post(path.c_str(), httplib::Headers{{"Authorization", "Bearer s3cret"}}, "",
                      "text/plain");
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(GetJson("/api/v1/config")["auth_required"], true);
}

TEST_F(RestServerTest, SubmitMultipartUpload) {
  StartServer();
  httplib::MultipartFormDataItems items = {
      {"plugin", std::string("\x7f" "ELF fake plugin bytes", 21), "my_job.so",
       "application/octet-stream"},
      {"args", "--topic 'pg.public.orders' --es http://127.0.0.1:9200", "", ""},
      {"parallelism", "3", "", ""},
  };
  auto res = client_->Post("/api/v1/jobs", items);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 202) << res->body;
  std::string id = json::parse(res->body)["job_id"];
  json j = GetJson("/api/v1/jobs/" + id);
  EXPECT_EQ(j["name"], "my_job");
  EXPECT_EQ(j["parallelism"], 3);
  SubmitRequest got = cluster_->last_submit();
  EXPECT_EQ(got.plugin_filename, "my_job.so");
  EXPECT_EQ(got.plugin_bytes.size(), 21u);
  EXPECT_THAT(got.args, ::testing::ElementsAre("--topic", "pg.public.orders", "--es",
                                               "http://127.0.0.1:9200"));
}

TEST_F(RestServerTest, SubmitRejectsBadInput) {
  StartServer();
  auto res = client_->Post("/api/v1/jobs", "{}", "application/json");
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("plugin"));
  httplib::MultipartFormDataItems bad_par = {
      {"plugin", "\x7f" "ELF", "j.so", "application/octet-stream"},
      {"parallelism", "many", "", ""}};
  res = client_->Post("/api/v1/jobs", bad_par);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("parallelism"));
  httplib::MultipartFormDataItems not_elf = {
      {"plugin", "hello", "j.so", "application/octet-stream"}};
  res = client_->Post("/api/v1/jobs", not_elf);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("ELF"));
}

TEST_F(RestServerTest, SavepointShowsUpInCheckpointHistory) {
  StartServer();
  auto res = client_->Post(("/api/v1/jobs/" + kJob + "/savepoints").c_str(),
                           R"({"target_directory":"/tmp/sp"})", "application/json");
  ASSERT_EQ(res->status, 202) << res->body;
  int64_t cp = json::parse(res->body)["checkpoint_id"];
  cluster_->Tick(kT0 + 1500);
  json cps = GetJson("/api/v1/jobs/" + kJob + "/checkpoints");
  bool found = false;
  for (const auto& c : cps["history"]) {
    if (c["id"] == cp) {
      found = true;
      EXPECT_EQ(c["savepoint"], true);
      EXPECT_EQ(c["status"], "COMPLETED");
    }
  }
  EXPECT_TRUE(found);
  res = client_->Post(("/api/v1/jobs/" + kJob + "/savepoints").c_str(), "not json",
                      "application/json");
  EXPECT_EQ(res->status, 400);
}

TEST_F(RestServerTest, ServesEmbeddedDashboardAndOpenApi) {
  StartServer();
  auto res = client_->Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(res->body, HasSubstr("cdcflow"));
  res = client_->Get("/app.js");
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("javascript"));
  res = client_->Get("/api/v1/openapi.yaml");
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("openapi: 3"));
  EXPECT_EQ(client_->Get("/nope.html")->status, 404);
}

TEST_F(RestServerTest, MetricsAndHealth) {
  StartServer();
  EXPECT_EQ(client_->Get("/healthz")->body, "ok\n");
  GetJson("/api/v1/overview");
  auto res = client_->Get("/metrics");
  ASSERT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("version=0.0.4"));
  EXPECT_THAT(res->body, HasSubstr("cdcflow_jobmanager_taskmanagers 2\n"));
  EXPECT_THAT(res->body, HasSubstr("cdcflow_task_records_in_total{job=\"" + kJob));
  EXPECT_THAT(res->body,
              HasSubstr("cdcflow_http_requests_total{code=\"200\",route=\"/api/v1/overview\"} 1"));
}

TEST_F(RestServerTest, PipelineWithoutConnectSaysWhy) {
  StartServer();
  json p = GetJson("/api/v1/pipeline");
  EXPECT_EQ(p["connect"]["reachable"], false);
  EXPECT_THAT(p["connect"]["error"].get<std::string>(), HasSubstr("127.0.0.1:1"));
  ASSERT_EQ(p["jobs"].size(), 1u);
  EXPECT_EQ(p["jobs"][0]["sinks"].size(), 2u);
  EXPECT_EQ(p["jobs"][0]["sources"].size(), 2u);
  EXPECT_EQ(p["topics"].size(), 2u);
}

TEST_F(RestServerTest, PipelineProxiesKafkaConnect) {
  auto connect = FakeConnectServer::Start();
  ASSERT_TRUE(connect.ok());
  StartServer("", (*connect)->url());
  json p = GetJson("/api/v1/pipeline");
  ASSERT_EQ(p["connect"]["reachable"], true) << p.dump();
  ASSERT_EQ(p["connect"]["connectors"].size(), 1u);
  const json& c = p["connect"]["connectors"][0];
  EXPECT_EQ(c["name"], "pg-orders-connector");
  EXPECT_EQ(c["state"], "RUNNING");
  EXPECT_EQ(c["topic_prefix"], "pg");
  EXPECT_EQ(c["tasks"][0]["state"], "RUNNING");
  (*connect)->SetTaskFailed(true);
  p = GetJson("/api/v1/pipeline");
  EXPECT_EQ(p["connect"]["connectors"][0]["tasks"][0]["state"], "FAILED");
  EXPECT_THAT(p["connect"]["connectors"][0]["tasks"][0]["trace"].get<std::string>(),
              HasSubstr("replication slot"));
}

}  // namespace
}  // namespace cdcflow::rest
