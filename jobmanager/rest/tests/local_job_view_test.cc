#include "jobmanager/rest/local_job_view.h"

#include <memory>

#include "absl/time/clock.h"
#include "cdcflow/job.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "runtime/graph/logical_graph.h"

namespace cdcflow::rest {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

class SlowNullSink : public SinkFunction {
 public:
  absl::Status WriteBatch(RowBatch&) override {
    absl::SleepFor(absl::Milliseconds(1));
    return absl::OkStatus();
  }
};

class LocalJobViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    JobBuilder job(JobArgs(), 2);
    job.SetJobName("view-test");
    job.Source("gen", Generator(-1,
                                [](int64_t i) {
                                  Row r;
                                  r.fields = {Value::Int64(i % 10), Value::Int64(i)};
                                  return r;
                                }))
        .KeyBy({0})
        .Map("id", [](Row r) { return r; })
        .SinkTo("out", [] { return std::make_unique<SlowNullSink>(); });
    auto graph = graph::Finalize(job);
    ASSERT_TRUE(graph.ok()) << graph.status();
    graph_ = std::make_unique<graph::LogicalGraph>(*std::move(graph));
    local::LocalJobOptions options;
    options.metrics = &registry_;
    auto run = local::LocalJob::Start(graph_.get(), &args_, options);
    ASSERT_TRUE(run.ok()) << run.status();
    job_ = *std::move(run);
    RestConfig config;
    config.port = 0;
    config.connect_url = "http://127.0.0.1:1";
    config.connect_timeout_ms = 200;
    auto http = ServeLocalJob(job_.get(), &registry_, {"local", "view_test.so", {"a=1"}, "t"},
                              config);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", http_->server->port());
  }
  void TearDown() override {
    http_.reset();
    job_.reset();
  }

  json Get(const std::string& path, int expected = 200) {
    auto res = client_->Get(path.c_str());
    EXPECT_TRUE(res);
    if (!res) return json();
    EXPECT_EQ(res->status, expected) << path << ": " << res->body;
    return json::parse(res->body);
  }

  JobArgs args_;
  metrics::MetricRegistry registry_;
  std::unique_ptr<graph::LogicalGraph> graph_;
  std::unique_ptr<local::LocalJob> job_;
  std::unique_ptr<LocalJobHttp> http_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(LocalJobViewTest, ShowsTheRealGraphWithMovingMetricsAndCancels) {
  json j = Get("/api/v1/jobs/local");
  EXPECT_EQ(j["name"], "view-test");
  EXPECT_EQ(j["state"], "RUNNING");
  ASSERT_EQ(j["vertices"].size(), 3u);
  EXPECT_EQ(j["vertices"][0]["kind"], "source");
  EXPECT_EQ(j["vertices"][2]["kind"], "sink");
  ASSERT_EQ(j["edges"].size(), 2u);
  EXPECT_EQ(j["edges"][0]["partitioning"], "HASH");
  EXPECT_EQ(j["args"], json::array({"a=1"}));

  // Rates need two reads of the counters at least 500 ms apart.
  double rate = 0;
  for (int i = 0; i < 50 && rate <= 0; ++i) {
    absl::SleepFor(absl::Milliseconds(200));
    rate = Get("/api/v1/jobs/local")["vertices"][0]["metrics"]["records_out_per_sec"];
  }
  EXPECT_GT(rate, 0);
  json v = Get("/api/v1/jobs/local/vertices/1");
  ASSERT_EQ(v["subtasks"].size(), 2u);
  EXPECT_GT(v["metrics"]["records_in"].get<uint64_t>(), 0u);
  EXPECT_EQ(Get("/api/v1/overview")["jobs_running"], 1);

  auto res = client_->Post("/api/v1/jobs/local/cancel", "", "text/plain");
  ASSERT_EQ(res->status, 202) << res->body;
  EXPECT_EQ(Get("/api/v1/jobs/local")["state"], "CANCELLING");
  EXPECT_EQ(client_->Post("/api/v1/jobs/local/cancel", "", "text/plain")->status, 409);
  absl::Status done = job_->Wait();
  EXPECT_EQ(done.code(), absl::StatusCode::kCancelled);
  http_->view->SetFinished(done);
  j = Get("/api/v1/jobs/local");
  EXPECT_EQ(j["state"], "CANCELED");
  EXPECT_GT(j["end_time_ms"].get<int64_t>(), 0);
  EXPECT_EQ(j["vertices"][0]["metrics"]["records_out_per_sec"], 0.0);
  EXPECT_EQ(Get("/api/v1/overview")["jobs_cancelled"], 1);
}

TEST_F(LocalJobViewTest, UnsupportedActionsAndUnknownJobs) {
  Get("/api/v1/jobs/other", 404);
  httplib::MultipartFormDataItems items = {
      {"plugin", "\x7f" "ELF", "j.so", "application/octet-stream"}};
  auto res = client_->Post("/api/v1/jobs", items);
  EXPECT_EQ(res->status, 501);
  EXPECT_THAT(res->body, HasSubstr("cdcflow jobmanager"));
  // A savepoint needs a target directory (and the job a checkpoint directory).
  auto savepoint = client_->Post("/api/v1/jobs/local/savepoints", "", "application/json");
  EXPECT_EQ(savepoint->status, 409);
  EXPECT_THAT(savepoint->body, HasSubstr("target_directory"));
  EXPECT_EQ(client_->Post("/api/v1/jobs/local/savepoints", "{\"target_directory\": \"/tmp/x\"}",
                          "application/json")
                ->status,
            409)
      << "the job has no checkpoint directory";
  EXPECT_EQ(client_->Post("/api/v1/jobs/other/cancel", "", "text/plain")->status, 404);
  EXPECT_EQ(Get("/api/v1/taskmanagers")["taskmanagers"][0]["id"], "local");
}

}  // namespace
}  // namespace cdcflow::rest
