#pragma once
// A gtest fixture base for tests of the cluster as separate processes on loopback: a
// job manager (`cdcflow jobmanager`, checkpoints under the test's directory) and task
// managers (`cdcflow taskmanager`, each with its own state directory), a gRPC stub of
// the job manager, and `cdcflow` CLI runs. Every process logs to <dir_>/*.log; when a
// test fails TearDown prints those logs (their last 20000 characters) and keeps dir_,
// otherwise it removes dir_.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/job_manager.grpc.pb.h"
#include "tests/testing/subprocess.h"

namespace cdcflow::testing {

class ClusterHarness : public ::testing::Test {
 protected:
  static constexpr int kHeartbeatIntervalMs = 200;
  static constexpr int kHeartbeatTimeoutMs = 1000;

  // `temp_prefix`: the name prefix of the test's directory under $TMPDIR.
  explicit ClusterHarness(std::string temp_prefix) : temp_prefix_(std::move(temp_prefix)) {}

  // The build tree ($CDCFLOW_BINARY_DIR, else the one the test was built in) and a fresh dir_.
  void SetUp() override;
  // StopProcesses, then the logs of a failed test, or the removal of dir_.
  void TearDown() override;
  // Stops the task managers and the job manager (SIGTERM, then SIGKILL).
  void StopProcesses();

  // A job manager on `port` (0: any free port; jm_port_ remembers it for a restart on
  // the same port) that restarts failed jobs (100 ms delay, 50 attempts) and checkpoints
  // every `checkpoint_interval_ms` into dir_/checkpoints; `flags` are added (e.g.
  // --local-slots). Each start logs to its own file (jobmanager-<n>.log).
  void StartJobManager(int checkpoint_interval_ms, int port = 0,
                       const std::vector<std::string>& flags = {});
  // Each start of `name` logs to its own file (<name>-<n>.log).
  void StartTaskManager(const std::string& name, int slots);
  // SIGKILL, then waits for the exit.
  void Kill(Subprocess& p);
  void AwaitTaskManagers(int n);

  template <typename Pred>
  bool WaitFor(Pred pred, absl::Duration timeout, absl::Duration poll = absl::Milliseconds(50)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (pred()) return true;
      absl::SleepFor(poll);
    }
    return pred();
  }

  // The job's status (empty when the job manager does not answer).
  v1::GetJobStatusResponse Status(const std::string& job);
  // Waits up to `timeout` for the job to end (FINISHED or FAILED) and fails the test
  // unless it FINISHED; `status` receives the last status. Call through
  // ASSERT_NO_FATAL_FAILURE.
  void AwaitFinished(const std::string& job, absl::Duration timeout,
                     v1::GetJobStatusResponse* status);
  // The job and every one of its tasks are RUNNING.
  static bool AllRunning(const v1::GetJobStatusResponse& s);
  // Runs `cdcflow <args>`; returns its exit code (-1 when it did not run) and its output.
  int Cli(std::vector<std::string> args, std::string* output);
  // `cdcflow run <binary_dir_>/<plugin> --jobmanager .. --parallelism .. --detach
  // <run_flags> -- <job_args>`; returns the job id ("" after a failure it reported).
  std::string SubmitDetached(const std::string& plugin, int parallelism,
                             const std::vector<std::string>& run_flags,
                             const std::vector<std::string>& job_args);

  std::string binary_dir_, cdcflow_, dir_, jm_address_;
  int jm_port_ = 0;
  int runs_ = 0;
  int jm_starts_ = 0;
  std::map<std::string, int> starts_;  // task manager name -> starts so far
  Subprocess job_manager_;
  std::map<std::string, Subprocess> task_managers_;
  std::unique_ptr<v1::JobManagerService::Stub> stub_;

 private:
  const std::string temp_prefix_;
};

}  // namespace cdcflow::testing
