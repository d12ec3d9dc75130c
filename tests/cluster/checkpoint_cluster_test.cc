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
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_harness.h"
#include "tests/testing/subprocess.h"

namespace cdcflow {
namespace {

namespace fs = std::filesystem;
using ::cdcflow::testing::ClusterHarness;

class CheckpointClusterTest : public ClusterHarness {
 protected:
  CheckpointClusterTest() : ClusterHarness("cdcflow_checkpoint_cluster_test_") {}

  void SetUp() override {
    ClusterHarness::SetUp();
    out_ = dir_ + "/out";
  }

  // `port` 0: any free port (remembered for a restart on the same port).
  void StartJobManager(int port = 0) { ClusterHarness::StartJobManager(1000, port); }

  // Submits checkpointed_sum (detached); returns the job id.
  std::string Submit(int parallelism, int64_t records, int64_t rate,
                     std::vector<std::string> run_flags = {}) {
    return SubmitDetached("jobs/checkpointed_sum.so", parallelism, run_flags,
                          {absl::StrCat("records=", records), absl::StrCat("keys=", kKeys),
                           absl::StrCat("rate=", rate), "output=" + out_});
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

  // Submits the job, kill -9s the job manager once the job has 2 checkpoints, restarts
  // it on the same port with `jm_flags`, and checks that it recovers the job from its
  // checkpoint and finishes it exactly once. `task_manager`: where every task must run
  // (empty: anywhere).
  void KillTheJobManagerMidJob(const std::vector<std::string>& jm_flags,
                               const std::string& task_manager = "") {
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
    if (!task_manager.empty()) {
      for (const auto& t : s.tasks()) EXPECT_EQ(t.task_manager_id(), task_manager);
    }
    const int attempt = s.job().attempt();
    Kill(job_manager_);
    absl::SleepFor(absl::Milliseconds(300));
    ClusterHarness::StartJobManager(1000, jm_port_, jm_flags);
    ASSERT_TRUE(WaitFor(
        [&] {
          s = Status(job);
          return AllRunning(s);
        },
        absl::Seconds(30)))
        << "the restarted job manager did not recover the job: state " << s.job().state();
    EXPECT_GT(s.job().attempt(), attempt);
    EXPECT_THAT(s.restored_from(), ::testing::HasSubstr(job + "/chk-"));
    ASSERT_NO_FATAL_FAILURE(AwaitFinished(job, absl::Seconds(90), &s));
    ExpectExactlyOnce(kRecords);
  }

  static constexpr int64_t kKeys = 100;
  std::string out_;
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
  ASSERT_NO_FATAL_FAILURE(AwaitFinished(job, absl::Seconds(120), &s));
  EXPECT_GE(s.restarts(), 5);
  ExpectExactlyOnce(kRecords);
}

TEST_F(CheckpointClusterTest, KilledJobManagerRestartsAndTheJobContinuesFromItsCheckpoint) {
  StartJobManager();
  StartTaskManager("tm1", 2);
  StartTaskManager("tm2", 2);
  AwaitTaskManagers(2);
  ASSERT_NO_FATAL_FAILURE(KillTheJobManagerMidJob({}));
}

// `cdcflow jobmanager --local-slots 2`: the job manager runs a task manager in its own
// process (Flink's MiniCluster). The job runs there, and after a kill -9 of that one
// process and its restart the job continues from its checkpoint, exactly once.
TEST_F(CheckpointClusterTest, JobManagerWithLocalSlotsRunsTheJobAndRecoversFromAKill) {
  const std::vector<std::string> local = {"--local-slots", "2", "--state-dir",
                                          dir_ + "/local-state", "--plugin-dir",
                                          dir_ + "/local-plugins", "--state-cache-mb", "1"};
  ClusterHarness::StartJobManager(1000, 0, local);
  AwaitTaskManagers(1);
  ASSERT_NO_FATAL_FAILURE(KillTheJobManagerMidJob(local, "local"));
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
  ASSERT_NO_FATAL_FAILURE(AwaitFinished(job, absl::Seconds(90), &s));
  EXPECT_EQ(s.restored_from(), previous_savepoint);
  ExpectExactlyOnce(kRecords);

  // A savepoint of a job that is not running is refused with a clear error.
  std::string output;
  EXPECT_EQ(Cli({"savepoint", "--jobmanager", jm_address_, job, dir_ + "/late"}, &output), 1);
  EXPECT_THAT(output, ::testing::HasSubstr("not RUNNING"));
}

}  // namespace
}  // namespace cdcflow
