// The cluster as separate processes on loopback: one job manager and two task
// managers (`cdcflow jobmanager` / `cdcflow taskmanager` on free ports), jobs submitted
// with `cdcflow run --jobmanager`.
//   - a parallelism-4 keyed aggregation with a hash shuffle across the two task
//     managers gives exactly the expected per-key results, each key in one subtask;
//   - kill -9 of a task manager mid-job: the job manager notices within the heartbeat
//     timeout, restarts the job on the survivor, and the job then finishes correctly.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cli/cluster_flags.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace cdcflow {
namespace {

using ::cdcflow::testing::Subprocess;
using ::testing::HasSubstr;

constexpr int kHeartbeatIntervalMs = 200;
constexpr int kHeartbeatTimeoutMs = 1500;

struct KeyResult {
  int64_t sum = 0;
  int64_t count = 0;
  int subtask = -1;
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The build tree this test was built in (ctest's CDCFLOW_BINARY_DIR when set).
    const char* bin = std::getenv("CDCFLOW_BINARY_DIR");
    binary_dir_ = bin != nullptr ? bin : CDCFLOW_TEST_BINARY_DIR;
    cdcflow_ = binary_dir_ + "/bin/cdcflow";
    dir_ = testing::MakeTempDir("cdcflow_cluster_test_");
    ASSERT_FALSE(dir_.empty());
  }

  void TearDown() override {
    task_managers_.clear();
    job_manager_ = Subprocess();
    if (HasFailure() && !dir_.empty()) {
      for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
        if (entry.path().extension() == ".log") {
          std::cerr << "==== " << entry.path() << "\n"
                    << testing::ReadFileOrEmpty(entry.path()) << "\n";
        }
      }
    } else {
      std::filesystem::remove_all(dir_);
    }
  }

  void StartJobManager() {
    const std::string port_file = dir_ + "/jm.port";
    auto p = Subprocess::Start(
        {cdcflow_, "jobmanager", "--port", "0", "--port-file", port_file,
         "--heartbeat-interval-ms", std::to_string(kHeartbeatIntervalMs), "--heartbeat-timeout-ms",
         std::to_string(kHeartbeatTimeoutMs), "--restart-delay-ms", "300", "--restart-attempts",
         "3", "--rest-port", "0"},
        dir_ + "/jobmanager.log");
    ASSERT_TRUE(p.ok()) << p.status();
    job_manager_ = std::move(*p);
    auto port = testing::WaitForPortFile(port_file, absl::Seconds(20));
    ASSERT_TRUE(port.ok()) << port.status();
    jm_address_ = absl::StrCat("127.0.0.1:", *port);
    stub_ = cli::NewJobManagerStub(jm_address_);
  }

  void StartTaskManager(const std::string& name, int slots) {
    auto p = Subprocess::Start({cdcflow_, "taskmanager", "--jobmanager", jm_address_, "--slots",
                                std::to_string(slots), "--port", "0", "--id", name,
                                "--plugin-dir", dir_ + "/plugins-" + name},
                               dir_ + "/" + name + ".log");
    ASSERT_TRUE(p.ok()) << p.status();
    task_managers_[name] = std::move(*p);
  }

  void AwaitTaskManagers(int n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    int seen = 0;
    while (absl::Now() < deadline) {
      v1::ListTaskManagersResponse r;
      if (stub_->ListTaskManagers(cli::NewContext().get(), {}, &r).ok()) {
        seen = r.task_managers_size();
        if (seen == n) return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "only " << seen << " of " << n << " task managers registered";
  }

  absl::StatusOr<Subprocess> Run(const std::string& plugin, int parallelism,
                                 std::vector<std::string> args, const std::string& log) {
    std::vector<std::string> argv = {cdcflow_, "run", binary_dir_ + "/" + plugin,
                                     "--jobmanager", jm_address_, "--parallelism",
                                     std::to_string(parallelism), "--"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Subprocess::Start(argv, dir_ + "/" + log);
  }

  v1::GetJobStatusResponse OnlyJob() {
    v1::ListJobsResponse list;
    EXPECT_TRUE(stub_->ListJobs(cli::NewContext().get(), {}, &list).ok());
    EXPECT_EQ(list.jobs_size(), 1);
    v1::GetJobStatusResponse status;
    if (list.jobs_size() == 0) return status;
    v1::GetJobStatusRequest get;
    get.set_job_id(list.jobs(0).job_id());
    EXPECT_TRUE(stub_->GetJobStatus(cli::NewContext().get(), get, &status).ok());
    return status;
  }

  // Parses the sink's part-<subtask> files: lines "+I[k3, 123, 10]".
  std::map<std::string, KeyResult> ReadOutput(const std::string& out_dir, int parallelism) {
    std::map<std::string, KeyResult> result;
    for (int s = 0; s < parallelism; ++s) {
      std::string text = testing::ReadFileOrEmpty(absl::StrCat(out_dir, "/part-", s));
      for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
        absl::string_view body = line;
        EXPECT_TRUE(absl::ConsumePrefix(&body, "+I[") && absl::ConsumeSuffix(&body, "]"))
            << line;
        std::vector<std::string> fields = absl::StrSplit(body, ", ");
        EXPECT_EQ(fields.size(), 3u) << line;
        if (fields.size() != 3) continue;
        KeyResult r;
        EXPECT_TRUE(absl::SimpleAtoi(fields[1], &r.sum)) << line;
        EXPECT_TRUE(absl::SimpleAtoi(fields[2], &r.count)) << line;
        r.subtask = s;
        EXPECT_FALSE(result.contains(fields[0]))
            << "key " << fields[0] << " in subtasks " << result[fields[0]].subtask << " and " << s;
        result[fields[0]] = r;
      }
    }
    return result;
  }

  static std::map<std::string, KeyResult> Expected(int64_t records, int64_t keys) {
    std::map<std::string, KeyResult> expected;
    for (int64_t i = 0; i < records; ++i) {
      KeyResult& r = expected[absl::StrCat("k", i % keys)];
      r.sum += i;
      ++r.count;
    }
    return expected;
  }

  void ExpectOutput(const std::string& out_dir, int parallelism, int64_t records, int64_t keys) {
    auto actual = ReadOutput(out_dir, parallelism);
    auto expected = Expected(records, keys);
    ASSERT_EQ(actual.size(), expected.size());
    std::set<int> subtasks;
    for (const auto& [key, e] : expected) {
      auto it = actual.find(key);
      ASSERT_NE(it, actual.end()) << key;
      EXPECT_EQ(it->second.sum, e.sum) << key;
      EXPECT_EQ(it->second.count, e.count) << key;
      subtasks.insert(it->second.subtask);
    }
    EXPECT_EQ(subtasks.size(), static_cast<size_t>(parallelism))
        << "keys should spread over every subtask";
  }

  std::string binary_dir_, cdcflow_, dir_, jm_address_;
  Subprocess job_manager_;
  std::map<std::string, Subprocess> task_managers_;
  std::unique_ptr<v1::JobManagerService::Stub> stub_;
};

TEST_F(ClusterTest, HashShuffleAcrossTwoTaskManagersGivesExactPerKeyResults) {
  StartJobManager();
  StartTaskManager("tm1", 2);
  StartTaskManager("tm2", 2);
  AwaitTaskManagers(2);
  const std::string out = dir_ + "/out";
  constexpr int64_t kRecords = 200'000, kKeys = 1000;
  auto run = Run("jobs/keyed_sum.so", 4,
                 {absl::StrCat("records=", kRecords), absl::StrCat("keys=", kKeys),
                  "output=" + out},
                 "run.log");
  ASSERT_TRUE(run.ok()) << run.status();
  auto code = run->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << testing::ReadFileOrEmpty(dir_ + "/run.log");

  auto status = OnlyJob();
  EXPECT_EQ(status.job().state(), v1::JOB_STATE_FINISHED);
  EXPECT_EQ(status.restarts(), 0);
  std::set<std::string> managers;
  for (const auto& t : status.tasks()) managers.insert(t.task_manager_id());
  EXPECT_EQ(managers, (std::set<std::string>{"tm1", "tm2"})) << "subtasks spread over both";
  ExpectOutput(out, 4, kRecords, kKeys);
}

TEST_F(ClusterTest, KilledTaskManagerIsNoticedAndTheJobRestartsAndFinishes) {
  StartJobManager();
  StartTaskManager("tm1", 4);
  StartTaskManager("tm2", 4);
  AwaitTaskManagers(2);
  const std::string out = dir_ + "/out";
  // 4 subtasks x 1000 rows/s: 8000 rows take about 2 s per attempt.
  constexpr int64_t kRecords = 8000, kKeys = 50;
  auto run = Run("jobs/keyed_sum.so", 4,
                 {absl::StrCat("records=", kRecords), absl::StrCat("keys=", kKeys), "rate=1000",
                  "output=" + out},
                 "run.log");
  ASSERT_TRUE(run.ok()) << run.status();

  // Wait until every task of attempt 0 runs, then kill -9 one task manager.
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  bool all_running = false;
  while (!all_running && absl::Now() < deadline) {
    v1::ListJobsResponse list;
    if (stub_->ListJobs(cli::NewContext().get(), {}, &list).ok() && list.jobs_size() == 1) {
      auto s = OnlyJob();
      all_running = s.tasks_size() == 8;
      for (const auto& t : s.tasks()) all_running &= t.state() == v1::TASK_STATE_RUNNING;
    }
    if (!all_running) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(all_running) << "the job never ran";
  task_managers_["tm2"].Signal(SIGKILL);
  const absl::Time killed = absl::Now();

  // The job manager drops tm2 within the heartbeat timeout (sooner when a channel or a
  // deployment to it fails first) and restarts the job.
  deadline = killed + absl::Milliseconds(kHeartbeatTimeoutMs) + absl::Seconds(3);
  bool dropped = false;
  v1::GetJobStatusResponse s;
  while (absl::Now() < deadline) {
    v1::ListTaskManagersResponse tms;
    ASSERT_TRUE(stub_->ListTaskManagers(cli::NewContext().get(), {}, &tms).ok());
    dropped = tms.task_managers_size() == 1 && tms.task_managers(0).task_manager_id() == "tm1";
    s = OnlyJob();
    if (dropped && s.restarts() > 0) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Duration noticed = absl::Now() - killed;
  ASSERT_TRUE(dropped) << "tm2 still registered " << noticed << " after kill -9";
  ASSERT_GE(s.restarts(), 1) << "no restart " << noticed << " after the kill";
  std::cerr << "job manager dropped the killed task manager and restarted the job after "
            << noticed << " (" << s.failure() << ")\n";

  auto code = run->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok()) << code.status() << ": the job hangs";
  ASSERT_EQ(*code, 0) << testing::ReadFileOrEmpty(dir_ + "/run.log");
  s = OnlyJob();
  EXPECT_EQ(s.job().state(), v1::JOB_STATE_FINISHED);
  EXPECT_GE(s.job().attempt(), 1);
  for (const auto& t : s.tasks()) EXPECT_EQ(t.task_manager_id(), "tm1");
  ExpectOutput(out, 4, kRecords, kKeys);
}

TEST_F(ClusterTest, CliVerbsTakeTheJobManagerFromFlagsConfigFileOrEnvironment) {
  StartJobManager();
  auto cli = [&](std::vector<std::string> args, std::string* output) -> int {
    args.insert(args.begin(), cdcflow_);
    const std::string log = dir_ + "/cli.out";
    std::filesystem::remove(log);
    auto p = Subprocess::Start(args, log);
    EXPECT_TRUE(p.ok());
    auto code = p->Wait(absl::Seconds(30));
    EXPECT_TRUE(code.ok()) << code.status();
    *output = testing::ReadFileOrEmpty(log);
    return code.value_or(-1);
  };
  std::string out;
  const std::string conf = dir_ + "/cdcflow.conf";
  std::ofstream(conf) << "# the cluster\njobmanager = " << jm_address_ << "\n";
  const std::string bad_conf = dir_ + "/bad.conf";
  std::ofstream(bad_conf) << "jobmanager = 127.0.0.1:1\n";

  EXPECT_EQ(cli({"list", "--config", conf}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("JOB ID"));
  EXPECT_EQ(cli({"list", "--config", bad_conf, "--jobmanager", jm_address_}, &out), 0)
      << "the flag beats the file: " << out;
  ASSERT_EQ(setenv("CDCFLOW_JOBMANAGER", "127.0.0.1:2", 1), 0);
  EXPECT_EQ(cli({"list", "--config", conf}, &out), 1) << "the environment beats the file";
  EXPECT_THAT(out, HasSubstr("cannot reach the job manager at 127.0.0.1:2"));
  EXPECT_EQ(cli({"list", "--jobmanager", jm_address_}, &out), 0) << "the flag beats the environment";
  unsetenv("CDCFLOW_JOBMANAGER");
  std::ofstream(bad_conf) << "jobmanger = 127.0.0.1:1\n";
  EXPECT_EQ(cli({"list", "--config", bad_conf}, &out), 2);
  EXPECT_THAT(out, HasSubstr("bad.conf:1: unknown flag 'jobmanger'"));

  EXPECT_EQ(cli({"status", "nope", "--jobmanager", jm_address_}, &out), 1);
  EXPECT_THAT(out, HasSubstr("no job with id nope"));
  EXPECT_EQ(cli({"cancel", "nope", "--jobmanager", jm_address_}, &out), 1);
  EXPECT_NE(cli({"status", "--jobmanager", jm_address_}, &out), 0) << "JOB is required";
  EXPECT_EQ(cli({"taskmanager", "--slots", "0", "--jobmanager", jm_address_, "--port", "0"}, &out),
            2)
      << out;
  EXPECT_THAT(out, HasSubstr("slots must be >= 1"));
}

}  // namespace
}  // namespace cdcflow
