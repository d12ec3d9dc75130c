#include "tests/cluster/cluster_harness.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/cluster_flags.h"

namespace cdcflow::testing {

namespace fs = std::filesystem;

void ClusterHarness::SetUp() {
  const char* bin = std::getenv("CDCFLOW_BINARY_DIR");
  binary_dir_ = bin != nullptr ? bin : CDCFLOW_TEST_BINARY_DIR;
  cdcflow_ = binary_dir_ + "/bin/cdcflow";
  dir_ = MakeTempDir(temp_prefix_);
  ASSERT_FALSE(dir_.empty());
}

void ClusterHarness::StopProcesses() {
  task_managers_.clear();
  job_manager_ = Subprocess();
}

void ClusterHarness::TearDown() {
  StopProcesses();
  if (dir_.empty()) return;
  if (HasFailure()) {
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path().extension() == ".log") {
        std::string text = ReadFileOrEmpty(entry.path());
        if (text.size() > 20000) text = "..." + text.substr(text.size() - 20000);
        std::cerr << "==== " << entry.path() << "\n" << text << "\n";
      }
    }
  } else {
    fs::remove_all(dir_);
  }
}

void ClusterHarness::StartJobManager(int checkpoint_interval_ms, int port,
                                     const std::vector<std::string>& flags) {
  const std::string port_file = dir_ + "/jm.port";
  fs::remove(port_file);
  std::vector<std::string> argv = {
      cdcflow_, "jobmanager", "--port", std::to_string(port), "--port-file", port_file,
      "--heartbeat-interval-ms", std::to_string(kHeartbeatIntervalMs), "--heartbeat-timeout-ms",
      std::to_string(kHeartbeatTimeoutMs), "--restart-delay-ms", "100", "--restart-attempts",
      "50", "--rest-port", "-1", "--checkpoint-dir", dir_ + "/checkpoints",
      "--checkpoint-interval-ms", std::to_string(checkpoint_interval_ms)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto p = Subprocess::Start(argv, absl::StrCat(dir_, "/jobmanager-", jm_starts_++, ".log"));
  ASSERT_TRUE(p.ok()) << p.status();
  job_manager_ = std::move(*p);
  auto bound = WaitForPortFile(port_file, absl::Seconds(20));
  ASSERT_TRUE(bound.ok()) << bound.status();
  jm_port_ = *bound;
  jm_address_ = absl::StrCat("127.0.0.1:", *bound);
  stub_ = cli::NewJobManagerStub(jm_address_);
}

void ClusterHarness::StartTaskManager(const std::string& name, int slots) {
  auto p = Subprocess::Start(
      {cdcflow_, "taskmanager", "--jobmanager", jm_address_, "--slots", std::to_string(slots),
       "--port", "0", "--id", name, "--plugin-dir", dir_ + "/plugins-" + name, "--state-dir",
       dir_ + "/state-" + name},
      absl::StrCat(dir_, "/", name, "-", starts_[name]++, ".log"));
  ASSERT_TRUE(p.ok()) << p.status();
  task_managers_[name] = std::move(*p);
}

void ClusterHarness::Kill(Subprocess& p) {
  p.Signal(SIGKILL);
  auto code = p.Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
}

void ClusterHarness::AwaitTaskManagers(int n) {
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::ListTaskManagersResponse r;
        return stub_->ListTaskManagers(cli::NewContext().get(), {}, &r).ok() &&
               r.task_managers_size() == n;
      },
      absl::Seconds(20)))
      << n << " task managers did not register";
}

v1::GetJobStatusResponse ClusterHarness::Status(const std::string& job) {
  v1::GetJobStatusRequest get;
  get.set_job_id(job);
  v1::GetJobStatusResponse status;
  if (!stub_->GetJobStatus(cli::NewContext().get(), get, &status).ok()) return {};
  return status;
}

void ClusterHarness::AwaitFinished(const std::string& job, absl::Duration timeout,
                                   v1::GetJobStatusResponse* status) {
  v1::GetJobStatusResponse& s = *status;
  ASSERT_TRUE(WaitFor(
      [&] {
        s = Status(job);
        return s.job().state() == v1::JOB_STATE_FINISHED || s.job().state() == v1::JOB_STATE_FAILED;
      },
      timeout))
      << "job " << job << " did not end within " << timeout << ": state " << s.job().state();
  ASSERT_EQ(s.job().state(), v1::JOB_STATE_FINISHED) << s.failure();
}

bool ClusterHarness::AllRunning(const v1::GetJobStatusResponse& s) {
  if (s.job().state() != v1::JOB_STATE_RUNNING || s.tasks_size() == 0) return false;
  for (const auto& t : s.tasks()) {
    if (t.state() != v1::TASK_STATE_RUNNING) return false;
  }
  return true;
}

int ClusterHarness::Cli(std::vector<std::string> args, std::string* output) {
  args.insert(args.begin(), cdcflow_);
  const std::string log = dir_ + "/cli-" + std::to_string(runs_++) + ".log";
  auto p = Subprocess::Start(args, log);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) return -1;
  auto code = p->Wait(absl::Seconds(120));
  EXPECT_TRUE(code.ok()) << code.status();
  *output = ReadFileOrEmpty(log);
  return code.value_or(-1);
}

std::string ClusterHarness::SubmitDetached(const std::string& plugin, int parallelism,
                                           const std::vector<std::string>& run_flags,
                                           const std::vector<std::string>& job_args) {
  std::vector<std::string> argv = {cdcflow_,    "run",         binary_dir_ + "/" + plugin,
                                   "--jobmanager", jm_address_, "--parallelism",
                                   std::to_string(parallelism), "--detach"};
  argv.insert(argv.end(), run_flags.begin(), run_flags.end());
  argv.push_back("--");
  argv.insert(argv.end(), job_args.begin(), job_args.end());
  const std::string log = dir_ + "/run-" + std::to_string(runs_++) + ".log";
  auto p = Subprocess::Start(argv, log);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) return "";
  auto code = p->Wait(absl::Seconds(60));
  const std::string text = ReadFileOrEmpty(log);
  EXPECT_TRUE(code.ok() && *code == 0) << text;
  if (!code.ok() || *code != 0) return "";
  // `cdcflow run --detach` prints "Job <id> submitted to <address>".
  std::vector<std::string> words = absl::StrSplit(text, ' ');
  EXPECT_GE(words.size(), 2u) << text;
  return words.size() >= 2 ? words[1] : "";
}

}  // namespace cdcflow::testing
