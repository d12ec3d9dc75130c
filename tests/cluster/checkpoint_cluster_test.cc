// Checkpoints, recovery and savepoints across real processes on loopback: a job
// manager with --checkpoint-dir and task managers with --state-dir (`cdcflow
// jobmanager` / `cdcflow taskmanager`), jobs submitted with `cdcflow run --jobmanager`.
// The job is checkpointed_sum (tests/cluster/checkpointed_sum_job.cc): a rescalable
// split source, a keyed running sum that emits [key, sum, count] per row, and a sink
// that commits files on checkpoint completion. Exactly-once shows in its committed
// output: per key every count 1..n exactly once, and the key's total at count n.
//   - kill -9 of a task manager 5 times while the job runs with a checkpoint a second;
//   - kill -9 of the job manager, restarted on the same port and directory;
//   - savepoint + cancel, then rescale 2 -> 4 -> 1 from savepoints.
// The kill test also prints the time from a task manager's kill -9 to the first output
// of the recovered job (the benchmark figure).
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
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

namespace fs = std::filesystem;
using ::cdcflow::testing::Subprocess;

constexpr int kHeartbeatIntervalMs = 200;
constexpr int kHeartbeatTimeoutMs = 1000;

class CheckpointClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("CDCFLOW_BINARY_DIR");
    binary_dir_ = bin != nullptr ? bin : CDCFLOW_TEST_BINARY_DIR;
    cdcflow_ = binary_dir_ + "/bin/cdcflow";
    dir_ = testing::MakeTempDir("cdcflow_checkpoint_cluster_test_");
    ASSERT_FALSE(dir_.empty());
    out_ = dir_ + "/out";
  }

  void TearDown() override {
    task_managers_.clear();
    job_manager_ = Subprocess();
    if (HasFailure()) {
      for (const auto& entry : fs::directory_iterator(dir_)) {
        if (entry.path().extension() == ".log") {
          std::string text = testing::ReadFileOrEmpty(entry.path());
          if (text.size() > 20000) text = "..." + text.substr(text.size() - 20000);
          std::cerr << "==== " << entry.path() << "\n" << text << "\n";
        }
      }
    } else {
      fs::remove_all(dir_);
    }
  }

  // `port` 0: any free port (remembered for a restart on the same port).
  void StartJobManager(int port = 0) {
    const std::string port_file = dir_ + "/jm.port";
    fs::remove(port_file);
    auto p = Subprocess::Start(
        {cdcflow_, "jobmanager", "--port", std::to_string(port), "--port-file", port_file,
         "--heartbeat-interval-ms", std::to_string(kHeartbeatIntervalMs), "--heartbeat-timeout-ms",
         std::to_string(kHeartbeatTimeoutMs), "--restart-delay-ms", "100", "--restart-attempts",
         "50", "--rest-port", "-1", "--checkpoint-dir", dir_ + "/checkpoints",
         "--checkpoint-interval-ms", "1000"},
        dir_ + "/jobmanager.log");
    ASSERT_TRUE(p.ok()) << p.status();
    job_manager_ = std::move(*p);
    auto bound = testing::WaitForPortFile(port_file, absl::Seconds(20));
    ASSERT_TRUE(bound.ok()) << bound.status();
    jm_port_ = *bound;
    jm_address_ = absl::StrCat("127.0.0.1:", *bound);
    stub_ = cli::NewJobManagerStub(jm_address_);
  }

  void StartTaskManager(const std::string& name, int slots) {
    auto p = Subprocess::Start(
        {cdcflow_, "taskmanager", "--jobmanager", jm_address_, "--slots", std::to_string(slots),
         "--port", "0", "--id", name, "--plugin-dir", dir_ + "/plugins-" + name, "--state-dir",
         dir_ + "/state-" + name},
        dir_ + "/" + name + ".log");
    ASSERT_TRUE(p.ok()) << p.status();
    task_managers_[name] = std::move(*p);
  }

  void Kill(Subprocess& p) {
    p.Signal(SIGKILL);
    auto code = p.Wait(absl::Seconds(10));
    ASSERT_TRUE(code.ok()) << code.status();
  }

  template <typename Pred>
  bool WaitFor(Pred pred, absl::Duration timeout, absl::Duration poll = absl::Milliseconds(50)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (pred()) return true;
      absl::SleepFor(poll);
    }
    return pred();
  }

  void AwaitTaskManagers(int n) {
    ASSERT_TRUE(WaitFor(
        [&] {
          v1::ListTaskManagersResponse r;
          return stub_->ListTaskManagers(cli::NewContext().get(), {}, &r).ok() &&
                 r.task_managers_size() == n;
        },
        absl::Seconds(20)))
        << n << " task managers did not register";
  }

  // Submits checkpointed_sum (detached); returns the job id.
  std::string Submit(int parallelism, int64_t records, int64_t rate,
                     std::vector<std::string> run_flags = {}) {
    std::vector<std::string> argv = {cdcflow_, "run", binary_dir_ + "/jobs/checkpointed_sum.so",
                                     "--jobmanager", jm_address_, "--parallelism",
                                     std::to_string(parallelism), "--detach"};
    argv.insert(argv.end(), run_flags.begin(), run_flags.end());
    for (std::string a : {std::string("--"), absl::StrCat("records=", records),
                          absl::StrCat("keys=", kKeys), absl::StrCat("rate=", rate),
                          "output=" + out_}) {
      argv.push_back(a);
    }
    const std::string log = dir_ + "/run-" + std::to_string(runs_++) + ".log";
    auto p = Subprocess::Start(argv, log);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return "";
    auto code = p->Wait(absl::Seconds(60));
    EXPECT_TRUE(code.ok() && *code == 0) << testing::ReadFileOrEmpty(log);
    std::string text = testing::ReadFileOrEmpty(log);
    std::vector<std::string> words = absl::StrSplit(text, ' ');
    EXPECT_GE(words.size(), 2u) << text;
    return words.size() >= 2 ? words[1] : "";
  }

  v1::GetJobStatusResponse Status(const std::string& job) {
    v1::GetJobStatusRequest get;
    get.set_job_id(job);
    v1::GetJobStatusResponse status;
    if (!stub_->GetJobStatus(cli::NewContext().get(), get, &status).ok()) return {};
    return status;
  }

  bool AllRunning(const v1::GetJobStatusResponse& s) {
    if (s.job().state() != v1::JOB_STATE_RUNNING || s.tasks_size() == 0) return false;
    for (const auto& t : s.tasks()) {
      if (t.state() != v1::TASK_STATE_RUNNING) return false;
    }
    return true;
  }

  int Cli(std::vector<std::string> args, std::string* output) {
    args.insert(args.begin(), cdcflow_);
    const std::string log = dir_ + "/cli-" + std::to_string(runs_++) + ".log";
    auto p = Subprocess::Start(args, log);
    EXPECT_TRUE(p.ok());
    auto code = p->Wait(absl::Seconds(120));
    EXPECT_TRUE(code.ok()) << code.status();
    *output = testing::ReadFileOrEmpty(log);
    return code.value_or(-1);
  }

  // Every file name in the output directory.
  std::set<std::string> OutputFiles() {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out_, ec)) names.insert(e.path().filename());
    return names;
  }

  // Checks the committed output: per key every count 1..n exactly once, total at n.
  void ExpectExactlyOnce(int64_t records) {
    std::map<std::string, std::map<int64_t, int64_t>> seen;  // key -> count -> sum
    int duplicates = 0;
    std::string first_duplicate;
    for (const std::string& name : OutputFiles()) {
      if (!absl::StartsWith(name, "committed-")) continue;
      std::string text = testing::ReadFileOrEmpty(out_ + "/" + name);
      for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
        absl::string_view body = line;
        ASSERT_TRUE(absl::ConsumePrefix(&body, "+I[") && absl::ConsumeSuffix(&body, "]"))
            << name << ": " << line;
        std::vector<std::string> f = absl::StrSplit(body, ", ");
        ASSERT_EQ(f.size(), 3u) << line;
        int64_t sum = 0, count = 0;
        ASSERT_TRUE(absl::SimpleAtoi(f[1], &sum) && absl::SimpleAtoi(f[2], &count)) << line;
        if (!seen[f[0]].emplace(count, sum).second) {
          if (duplicates++ == 0) first_duplicate = absl::StrCat(name, ": ", line);
        }
      }
    }
    EXPECT_EQ(duplicates, 0) << "rows committed twice, first: " << first_duplicate;
    std::map<std::string, std::pair<int64_t, int64_t>> expected;  // key -> (n, total)
    for (int64_t i = 0; i < records; ++i) {
      auto& e = expected[absl::StrCat("k", i % kKeys)];
      ++e.first;
      e.second += i;
    }
    ASSERT_EQ(seen.size(), expected.size()) << "keys missing from the output";
    int bad = 0;
    for (const auto& [key, e] : expected) {
      const auto& counts = seen[key];
      const bool complete = static_cast<int64_t>(counts.size()) == e.first &&
                            counts.begin()->first == 1 && counts.rbegin()->first == e.first;
      const bool total = !counts.empty() && counts.rbegin()->second == e.second;
      if ((!complete || !total) && bad++ < 5) {
        ADD_FAILURE() << key << ": " << counts.size() << " counts in [" << counts.begin()->first
                      << ", " << counts.rbegin()->first << "], expected 1.." << e.first
                      << "; sum at the last count " << counts.rbegin()->second << ", expected "
                      << e.second;
      }
    }
    EXPECT_EQ(bad, 0) << "keys with lost/duplicated rows or a wrong total";
  }

  static constexpr int64_t kKeys = 100;
  std::string binary_dir_, cdcflow_, dir_, out_, jm_address_;
  int jm_port_ = 0;
  int runs_ = 0;
  Subprocess job_manager_;
  std::map<std::string, Subprocess> task_managers_;
  std::unique_ptr<v1::JobManagerService::Stub> stub_;
};

TEST_F(CheckpointClusterTest, TaskManagerKilledFiveTimesKeepsKeyedResultsExact) {
  StartJobManager();
  for (const char* tm : {"tm1", "tm2", "tm3"}) StartTaskManager(tm, 2);
  AwaitTaskManagers(3);
  // 2 subtasks x 700 rows/s: about 30 s without failures.
  constexpr int64_t kRecords = 42000;
  const std::string job = Submit(2, kRecords, 700);
  ASSERT_FALSE(job.empty());

  int64_t last_checkpoint = 0;
  std::vector<absl::Duration> to_output;
  for (int kill = 0; kill < 5; ++kill) {
    SCOPED_TRACE(absl::StrCat("kill ", kill + 1));
    // The attempt runs and completed a checkpoint of its own.
    v1::GetJobStatusResponse s;
    ASSERT_TRUE(WaitFor(
        [&] {
          s = Status(job);
          return AllRunning(s) && s.latest_checkpoint_id() > last_checkpoint;
        },
        absl::Seconds(30)))
        << "state " << s.job().state() << ", checkpoint " << s.latest_checkpoint_id() << ", "
        << s.failure();
    last_checkpoint = s.latest_checkpoint_id();
    // A task manager that runs tasks of the job, a different one each time when possible.
    std::string victim;
    for (const auto& t : s.tasks()) {
      if (victim.empty() || (kill % 2 == 1 && t.task_manager_id() != victim)) {
        victim = t.task_manager_id();
      }
    }
    // Sink files are named <kind>-<token>-<subtask>-<n>, the token new per sink instance.
    auto tokens = [&] {
      std::set<std::string> t;
      for (const std::string& f : OutputFiles()) {
        std::vector<std::string> parts = absl::StrSplit(f, '-');
        if (parts.size() == 4) t.insert(parts[1]);
      }
      return t;
    };
    const std::set<std::string> before = tokens();
    Kill(task_managers_[victim]);
    const absl::Time killed = absl::Now();
    // The first row of the recovered attempt reaching the sink: a sink file of a new
    // sink instance.
    bool output = WaitFor(
        [&] {
          for (const std::string& t : tokens()) {
            if (!before.contains(t)) return true;
          }
          return false;
        },
        absl::Seconds(30), absl::Milliseconds(10));
    ASSERT_TRUE(output) << "no output within 30 s of the kill";
    to_output.push_back(absl::Now() - killed);
    StartTaskManager(victim, 2);  // capacity back for the next round
    s = Status(job);
    EXPECT_THAT(s.restored_from(), ::testing::HasSubstr("/chk-")) << "restarted without state";
  }
  for (size_t i = 0; i < to_output.size(); ++i) {
    std::cerr << "kill -9 of a task manager -> first output after recovery: " << to_output[i]
              << "\n";
  }
  v1::GetJobStatusResponse s;
  ASSERT_TRUE(WaitFor(
      [&] {
        s = Status(job);
        return s.job().state() == v1::JOB_STATE_FINISHED || s.job().state() == v1::JOB_STATE_FAILED;
      },
      absl::Seconds(120)));
  ASSERT_EQ(s.job().state(), v1::JOB_STATE_FINISHED) << s.failure();
  EXPECT_GE(s.restarts(), 5);
  ExpectExactlyOnce(kRecords);
}

TEST_F(CheckpointClusterTest, KilledJobManagerRestartsAndTheJobContinuesFromItsCheckpoint) {
  StartJobManager();
  StartTaskManager("tm1", 2);
  StartTaskManager("tm2", 2);
  AwaitTaskManagers(2);
  constexpr int64_t kRecords = 20000;
  const std::string job = Submit(2, kRecords, 700);
  ASSERT_FALSE(job.empty());
  v1::GetJobStatusResponse s;
  ASSERT_TRUE(WaitFor(
      [&] {
        s = Status(job);
        return AllRunning(s) && s.latest_checkpoint_id() >= 2;
      },
      absl::Seconds(30)));
  const int attempt = s.job().attempt();
  Kill(job_manager_);
  absl::SleepFor(absl::Milliseconds(300));
  StartJobManager(jm_port_);
  ASSERT_TRUE(WaitFor(
      [&] {
        s = Status(job);
        return AllRunning(s);
      },
      absl::Seconds(30)))
      << "the restarted job manager did not recover the job: state " << s.job().state();
  EXPECT_GT(s.job().attempt(), attempt);
  EXPECT_THAT(s.restored_from(), ::testing::HasSubstr(job + "/chk-"));
  ASSERT_TRUE(WaitFor(
      [&] {
        s = Status(job);
        return s.job().state() == v1::JOB_STATE_FINISHED || s.job().state() == v1::JOB_STATE_FAILED;
      },
      absl::Seconds(90)));
  ASSERT_EQ(s.job().state(), v1::JOB_STATE_FINISHED) << s.failure();
  ExpectExactlyOnce(kRecords);
}

TEST_F(CheckpointClusterTest, SavepointsRescaleTwoToFourToOneKeepingEveryKeysState) {
  StartJobManager();
  StartTaskManager("tm1", 4);
  StartTaskManager("tm2", 4);
  AwaitTaskManagers(2);
  constexpr int64_t kRecords = 30000;
  std::string job = Submit(2, kRecords, 1000);
  ASSERT_FALSE(job.empty());
  std::string previous_savepoint;
  for (int p : {2, 4}) {
    SCOPED_TRACE(absl::StrCat("parallelism ", p));
    v1::GetJobStatusResponse s;
    ASSERT_TRUE(WaitFor(
        [&] {
          s = Status(job);
          return AllRunning(s) && s.completed_checkpoints() >= 1;
        },
        absl::Seconds(30)));
    EXPECT_EQ(s.tasks_size(), 2 * p) << "splits, sum -> out";
    if (!previous_savepoint.empty()) EXPECT_EQ(s.restored_from(), previous_savepoint);
    const std::string savepoint = absl::StrCat(dir_, "/savepoint-p", p);
    std::string output;
    ASSERT_EQ(Cli({"cancel", "--jobmanager", jm_address_, "--savepoint", savepoint, job}, &output),
              0)
        << output;
    EXPECT_THAT(output, ::testing::HasSubstr("written to " + savepoint));
    EXPECT_EQ(Status(job).job().state(), v1::JOB_STATE_CANCELED);
    ASSERT_TRUE(fs::exists(savepoint + "/_metadata"));
    previous_savepoint = savepoint;
    const int next = p == 2 ? 4 : 1;
    job = Submit(next, kRecords, next == 1 ? 0 : 1000, {"--from-savepoint", savepoint});
    ASSERT_FALSE(job.empty());
  }
  v1::GetJobStatusResponse s;
  ASSERT_TRUE(WaitFor(
      [&] {
        s = Status(job);
        return s.job().state() == v1::JOB_STATE_FINISHED || s.job().state() == v1::JOB_STATE_FAILED;
      },
      absl::Seconds(90)));
  ASSERT_EQ(s.job().state(), v1::JOB_STATE_FINISHED) << s.failure();
  EXPECT_EQ(s.restored_from(), previous_savepoint);
  ExpectExactlyOnce(kRecords);

  // A savepoint of a job that is not running is refused with a clear error.
  std::string output;
  EXPECT_EQ(Cli({"savepoint", "--jobmanager", jm_address_, job, dir_ + "/late"}, &output), 1);
  EXPECT_THAT(output, ::testing::HasSubstr("not RUNNING"));
}

}  // namespace
}  // namespace cdcflow
