#include "jobmanager/job_manager.h"

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobmanager/job_store.h"
#include "jobmanager/testing/fake_task_manager_client.h"
#include "proto/ids.h"

namespace cdcflow::jobmanager {
namespace {

using ::testing::HasSubstr;
using testing::FakeTaskManagers;

class JobManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeJobManager(/*max_restarts=*/2); }

  void MakeJobManager(int max_restarts, const std::string& checkpoint_dir = "") {
    auto fake = std::make_unique<FakeTaskManagers>();
    fake_ = fake.get();
    JobManager::Options options;
    options.checkpoint_dir = checkpoint_dir;
    options.heartbeat_timeout = absl::Seconds(5);
    options.restart.max_restarts = max_restarts;
    options.restart.delay = absl::Seconds(2);
    options.slot_wait_timeout = absl::Seconds(60);
    options.now = [this] { return now_; };
    jm_ = std::make_unique<JobManager>(options, std::move(fake));
  }

  void Register(const std::string& id, int slots) {
    v1::RegisterTaskManagerRequest r;
    r.set_task_manager_id(id);
    r.set_address(id + ":1");
    r.set_slots(slots);
    ASSERT_TRUE(jm_->RegisterTaskManager(r).ok());
  }

  void HeartbeatAll(const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      v1::HeartbeatRequest r;
      r.set_task_manager_id(id);
      EXPECT_TRUE(jm_->Heartbeat(r).registered()) << id;
    }
  }

  // A source -> keyed sum -> sink job: two chains of parallelism p.
  JobId Submit(int p) {
    v1::SubmitJobRequest r;
    r.mutable_job()->mutable_graph()->set_job_name("wordcount");
    r.set_plugin("\x7f" "ELF plugin bytes");
    auto id = jm_->SubmitJob(r, {{0, "source -> map", p}, {1, "sum -> sink", p}});
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }

  void Report(const JobId& job, int attempt, int vertex, int subtask, v1::TaskState state,
              const std::string& error = "") {
    v1::UpdateTaskStateRequest r;
    r.mutable_task()->set_job_id(job.value());
    r.mutable_task()->set_attempt(attempt);
    r.mutable_task()->set_vertex_id(vertex);
    r.mutable_task()->set_subtask_index(subtask);
    r.set_state(state);
    r.set_error(error);
    jm_->UpdateTaskState(r);
  }

  void ReportAll(const JobId& job, int attempt, int p, v1::TaskState state) {
    for (int v = 0; v < 2; ++v)
      for (int i = 0; i < p; ++i) Report(job, attempt, v, i, state);
  }

  v1::GetJobStatusResponse Status(const JobId& job) {
    auto s = jm_->GetJobStatus(job);
    EXPECT_TRUE(s.ok()) << s.status();
    return *s;
  }
  v1::JobState State(const JobId& job) { return Status(job).job().state(); }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  FakeTaskManagers* fake_ = nullptr;
  std::unique_ptr<JobManager> jm_;
};

TEST_F(JobManagerTest, DeploysSubtasksSpreadOverTaskManagersAndFinishes) {
  Register("a", 4);
  Register("b", 4);
  JobId job = Submit(4);
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(jm_->FreeSlots(), 4);
  auto tms = jm_->ListTaskManagers();
  ASSERT_EQ(tms.task_managers_size(), 2);
  EXPECT_EQ(tms.task_managers(0).slots(), 4);
  EXPECT_EQ(tms.task_managers(0).free_slots(), 2);

  std::set<std::pair<int, int>> deployed;
  for (const std::string addr : {"a:1", "b:1"}) {
    auto deploys = fake_->Deploys(addr);
    ASSERT_EQ(deploys.size(), 1u) << addr;
    const auto& d = deploys[0];
    EXPECT_EQ(d.job_id(), job.value());
    EXPECT_EQ(d.attempt(), 0);
    EXPECT_FALSE(d.plugin().empty()) << "first deployment carries the plugin";
    EXPECT_EQ(d.job().plugin_sha256(), Sha256Hex(d.plugin()));
    EXPECT_EQ(d.tasks_size(), 4) << "2 slices x 2 chains";
    EXPECT_EQ(d.locations_size(), 8);
    for (const auto& t : d.tasks()) {
      EXPECT_TRUE(deployed.insert({t.vertex_id(), t.subtask_index()}).second);
    }
    // Subtask i of both chains shares a slice, hence a task manager.
    for (const auto& t : d.tasks()) {
      bool found_pair = false;
      for (const auto& u : d.tasks()) {
        found_pair |= u.vertex_id() != t.vertex_id() && u.subtask_index() == t.subtask_index();
      }
      EXPECT_TRUE(found_pair);
    }
  }
  EXPECT_EQ(deployed.size(), 8u);

  ReportAll(job, 0, 4, v1::TASK_STATE_RUNNING);
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);
  for (int i = 0; i < 4; ++i) Report(job, 0, 0, i, v1::TASK_STATE_FINISHED);
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);
  for (int i = 0; i < 4; ++i) Report(job, 0, 1, i, v1::TASK_STATE_FINISHED);
  auto status = Status(job);
  EXPECT_EQ(status.job().state(), v1::JOB_STATE_FINISHED);
  EXPECT_GT(status.job().end_time_ms(), 0);
  EXPECT_EQ(jm_->FreeSlots(), 8);
}

TEST_F(JobManagerTest, LostTaskManagerFailsTheAttemptAndTheJobRestartsElsewhere) {
  Register("a", 4);
  Register("b", 4);
  JobId job = Submit(4);
  ReportAll(job, 0, 4, v1::TASK_STATE_RUNNING);

  // b stops heartbeating; a keeps going. Not yet past the timeout: nothing happens.
  now_ += absl::Seconds(4);
  HeartbeatAll({"a"});
  jm_->Tick();
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(jm_->RegisteredTaskManagers(), 2);

  now_ += absl::Seconds(2);  // b silent for 6 s > 5 s
  HeartbeatAll({"a"});
  jm_->Tick();
  EXPECT_EQ(jm_->RegisteredTaskManagers(), 1);
  auto status = Status(job);
  EXPECT_EQ(status.job().state(), v1::JOB_STATE_RESTARTING);
  EXPECT_THAT(status.failure(), HasSubstr("task manager b at b:1 lost"));
  EXPECT_EQ(status.restarts(), 1);
  ASSERT_EQ(fake_->Cancels("a:1").size(), 1u) << "the survivor cancels its tasks";
  EXPECT_EQ(fake_->Cancels("a:1")[0].attempt(), 0);
  EXPECT_TRUE(fake_->Cancels("b:1").empty());

  // The restart waits for the fixed delay.
  now_ += absl::Seconds(1);
  HeartbeatAll({"a"});
  jm_->Tick();
  EXPECT_EQ(State(job), v1::JOB_STATE_RESTARTING);
  now_ += absl::Seconds(1);
  HeartbeatAll({"a"});
  jm_->Tick();
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);
  auto deploys = fake_->Deploys("a:1");
  ASSERT_EQ(deploys.size(), 2u);
  EXPECT_EQ(deploys[1].attempt(), 1);
  EXPECT_EQ(deploys[1].tasks_size(), 8) << "all 4 slices now on a";
  EXPECT_TRUE(deploys[1].plugin().empty()) << "a already holds the plugin";

  // Late reports from attempt 0 are ignored.
  Report(job, 0, 0, 0, v1::TASK_STATE_FAILED, "stale");
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);
  ReportAll(job, 1, 4, v1::TASK_STATE_FINISHED);
  EXPECT_EQ(State(job), v1::JOB_STATE_FINISHED);
  EXPECT_EQ(jm_->FreeSlots(), 4);
}

TEST_F(JobManagerTest, FailedTaskRestartsUntilAttemptsRunOut) {
  Register("a", 2);
  JobId job = Submit(2);
  for (int attempt = 0; attempt <= 2; ++attempt) {
    ASSERT_EQ(State(job), v1::JOB_STATE_RUNNING) << attempt;
    Report(job, attempt, 1, 1, v1::TASK_STATE_FAILED, "boom");
    auto status = Status(job);
    EXPECT_THAT(status.failure(), HasSubstr("boom"));
    if (attempt < 2) {
      EXPECT_EQ(status.job().state(), v1::JOB_STATE_RESTARTING);
      now_ += absl::Seconds(2);
      HeartbeatAll({"a"});
      jm_->Tick();
    } else {
      EXPECT_EQ(status.job().state(), v1::JOB_STATE_FAILED) << "2 restarts allowed, 3rd failure";
      EXPECT_EQ(status.restarts(), 2);
    }
  }
  EXPECT_EQ(fake_->Deploys("a:1").size(), 3u);
  EXPECT_EQ(jm_->FreeSlots(), 2);
}

TEST_F(JobManagerTest, WaitsForSlotsThenDeploysWhenATaskManagerRegisters) {
  Register("a", 2);
  JobId job = Submit(4);
  auto status = Status(job);
  EXPECT_EQ(status.job().state(), v1::JOB_STATE_CREATED);
  EXPECT_THAT(status.pending_reason(), HasSubstr("needs 4 slots, 2 are free"));
  EXPECT_TRUE(fake_->Deploys("a:1").empty());
  Register("b", 2);
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(jm_->FreeSlots(), 0);
}

TEST_F(JobManagerTest, WaitingForSlotsTooLongFailsTheAttempt) {
  MakeJobManager(/*max_restarts=*/0);
  Register("a", 1);
  JobId job = Submit(2);
  now_ += absl::Seconds(61);
  HeartbeatAll({"a"});
  jm_->Tick();
  auto status = Status(job);
  EXPECT_EQ(status.job().state(), v1::JOB_STATE_FAILED);
  EXPECT_THAT(status.failure(), HasSubstr("no slots"));
}

TEST_F(JobManagerTest, CancelWaitsForTasksToStop) {
  Register("a", 2);
  Register("b", 2);
  JobId job = Submit(4);
  ReportAll(job, 0, 4, v1::TASK_STATE_RUNNING);
  auto state = jm_->CancelJob(job);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, v1::JOB_STATE_CANCELING);
  EXPECT_EQ(fake_->Cancels("a:1").size(), 1u);
  EXPECT_EQ(fake_->Cancels("b:1").size(), 1u);
  ReportAll(job, 0, 4, v1::TASK_STATE_CANCELED);
  EXPECT_EQ(State(job), v1::JOB_STATE_CANCELED);
  EXPECT_EQ(jm_->FreeSlots(), 4);
  EXPECT_EQ(*jm_->CancelJob(job), v1::JOB_STATE_CANCELED) << "idempotent";
  EXPECT_EQ(jm_->CancelJob(JobId("nope")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobManagerTest, CancelOfAWaitingJobIsImmediate) {
  JobId job = Submit(1);
  EXPECT_EQ(*jm_->CancelJob(job), v1::JOB_STATE_CANCELED);
  Register("a", 1);
  EXPECT_TRUE(fake_->Deploys("a:1").empty());
}

TEST_F(JobManagerTest, UnreachableTaskManagerIsDroppedAtOnce) {
  Register("a", 2);
  Register("b", 2);
  fake_->SetDeployStatus("b:1", absl::UnavailableError("connection refused"));
  JobId job = Submit(4);
  auto status = Status(job);
  EXPECT_EQ(status.job().state(), v1::JOB_STATE_RESTARTING);
  EXPECT_THAT(status.failure(), HasSubstr("connection refused"));
  EXPECT_EQ(jm_->RegisteredTaskManagers(), 1);
  Register("c", 2);
  now_ += absl::Seconds(2);
  HeartbeatAll({"a", "c"});
  jm_->Tick();
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(fake_->Deploys("b:1").size(), 1u) << "nothing placed on b again";
}

TEST_F(JobManagerTest, DeployFailureRestartsTheJob) {
  Register("a", 2);
  fake_->SetDeployStatus("a:1", absl::InternalError("plugin does not load"));
  JobId job = Submit(2);
  auto status = Status(job);
  EXPECT_EQ(status.job().state(), v1::JOB_STATE_RESTARTING);
  EXPECT_THAT(status.failure(), HasSubstr("plugin does not load"));
  fake_->SetDeployStatus("a:1", absl::OkStatus());
  now_ += absl::Seconds(2);
  HeartbeatAll({"a"});
  jm_->Tick();
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);
}

TEST_F(JobManagerTest, ResendsThePluginWhenTheTaskManagerLacksIt) {
  Register("a", 2);
  JobId job = Submit(2);
  Report(job, 0, 0, 0, v1::TASK_STATE_FAILED, "x");
  fake_->RequirePluginOnFirstDeploy("a:1");
  now_ += absl::Seconds(2);
  HeartbeatAll({"a"});
  jm_->Tick();
  auto deploys = fake_->Deploys("a:1");
  ASSERT_EQ(deploys.size(), 3u);
  EXPECT_TRUE(deploys[1].plugin().empty());
  EXPECT_FALSE(deploys[2].plugin().empty());
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);
}

TEST_F(JobManagerTest, ReRegistrationCountsAsALostTaskManager) {
  Register("a", 2);
  JobId job = Submit(2);
  Register("a", 2);  // the process restarted with the same id
  auto status = Status(job);
  EXPECT_EQ(status.job().state(), v1::JOB_STATE_RESTARTING);
  EXPECT_THAT(status.failure(), HasSubstr("registered again"));
  EXPECT_EQ(jm_->FreeSlots(), 2);
}

TEST_F(JobManagerTest, UnknownTaskManagerHeartbeatAsksToRegister) {
  v1::HeartbeatRequest r;
  r.set_task_manager_id("ghost");
  EXPECT_FALSE(jm_->Heartbeat(r).registered());
}

TEST_F(JobManagerTest, RejectsBadRegistrationsAndSubmissions) {
  v1::RegisterTaskManagerRequest r;
  r.set_task_manager_id("a");
  r.set_address("a:1");
  r.set_slots(0);
  EXPECT_EQ(jm_->RegisterTaskManager(r).status().code(), absl::StatusCode::kInvalidArgument);
  v1::SubmitJobRequest s;
  EXPECT_EQ(jm_->SubmitJob(s, {{0, "x", 1}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  s.set_plugin("so");
  EXPECT_EQ(jm_->SubmitJob(s, {{0, "x", 0}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerTest, ListsJobsInSubmissionOrder) {
  Register("a", 8);
  JobId first = Submit(1);
  JobId second = Submit(2);
  auto list = jm_->ListJobs();
  ASSERT_EQ(list.jobs_size(), 2);
  EXPECT_EQ(list.jobs(0).job_id(), first.value());
  EXPECT_EQ(list.jobs(1).job_id(), second.value());
  EXPECT_EQ(list.jobs(1).name(), "wordcount");
}


TEST(RestartStrategyTest, FixedDelayByDefaultExponentialBackoffUpToTheMaximum) {
  RestartStrategy fixed;
  fixed.delay = absl::Seconds(2);
  EXPECT_EQ(fixed.DelayBefore(1), absl::Seconds(2));
  EXPECT_EQ(fixed.DelayBefore(5), absl::Seconds(2));
  RestartStrategy exp;
  exp.delay = absl::Milliseconds(100);
  exp.backoff_multiplier = 2;
  exp.max_delay = absl::Seconds(1);
  EXPECT_EQ(exp.DelayBefore(1), absl::Milliseconds(100));
  EXPECT_EQ(exp.DelayBefore(2), absl::Milliseconds(200));
  EXPECT_EQ(exp.DelayBefore(4), absl::Milliseconds(800));
  EXPECT_EQ(exp.DelayBefore(5), absl::Seconds(1));
  EXPECT_EQ(exp.DelayBefore(1000), absl::Seconds(1));
}

TEST_F(JobManagerTest, ExponentialBackoffSpacesTheRestarts) {
  auto fake = std::make_unique<FakeTaskManagers>();
  fake_ = fake.get();
  JobManager::Options options;
  options.restart.max_restarts = 5;
  options.restart.delay = absl::Seconds(1);
  options.restart.backoff_multiplier = 3;
  options.now = [this] { return now_; };
  jm_ = std::make_unique<JobManager>(options, std::move(fake));
  Register("a", 2);
  JobId job = Submit(1);
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSERT_EQ(State(job), v1::JOB_STATE_RUNNING);
    Report(job, attempt, 0, 0, v1::TASK_STATE_FAILED, "boom");
    const absl::Duration wait = absl::Seconds(attempt == 0 ? 1 : attempt == 1 ? 3 : 9);
    now_ += wait - absl::Milliseconds(1);
    HeartbeatAll({"a"});
    jm_->Tick();
    EXPECT_EQ(State(job), v1::JOB_STATE_RESTARTING) << "restart " << attempt + 1 << " too early";
    now_ += absl::Milliseconds(1);
    jm_->Tick();
    EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING) << "restart " << attempt + 1 << " after " << wait;
  }
}

class JobManagerStoreTest : public JobManagerTest {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("jm_store_test_" + RandomHexId())).string();
    MakeJobManager(/*max_restarts=*/2, dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

// A new job manager over the same checkpoint directory takes back the running job (with
// attempts counting on, so task managers that still hold the old ones tell them apart),
// not the canceled one.
TEST_F(JobManagerStoreTest, ARestartedJobManagerRecoversRunningJobsOnly) {
  Register("a", 4);
  JobId running = Submit(2);
  JobId canceled = Submit(1);
  ASSERT_EQ(State(running), v1::JOB_STATE_RUNNING);
  Report(running, 0, 1, 1, v1::TASK_STATE_FAILED, "boom");  // attempt 0 fails
  now_ += absl::Seconds(2);
  HeartbeatAll({"a"});
  jm_->Tick();
  ASSERT_EQ(Status(running).job().attempt(), 1);
  ASSERT_TRUE(jm_->CancelJob(canceled).ok());
  ReportAll(canceled, 0, 1, v1::TASK_STATE_CANCELED);
  ASSERT_EQ(State(canceled), v1::JOB_STATE_CANCELED);

  JobStore store(dir_);
  auto stored = store.LoadJobs();
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 2u);
  MakeJobManager(/*max_restarts=*/2, dir_);
  for (auto& job : *stored) {
    if (job.state != v1::JOB_STATE_RUNNING) {
      EXPECT_EQ(job.id, canceled);
      EXPECT_EQ(job.state, v1::JOB_STATE_CANCELED);
      continue;
    }
    EXPECT_EQ(job.id, running);
    EXPECT_EQ(job.attempt, 1);
    ASSERT_TRUE(jm_->RecoverJob(job.id, job.request, {{0, "source -> map", 2}, {1, "sum -> sink", 2}},
                                job.attempt)
                    .ok());
  }
  EXPECT_EQ(State(running), v1::JOB_STATE_CREATED) << "waits for task managers";
  EXPECT_FALSE(jm_->GetJobStatus(canceled).ok());
  Register("b", 4);
  auto status = Status(running);
  EXPECT_EQ(status.job().state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(status.job().attempt(), 2);
  auto deploys = fake_->Deploys("b:1");
  ASSERT_EQ(deploys.size(), 1u);
  EXPECT_EQ(deploys[0].job_id(), running.value());
  EXPECT_EQ(deploys[0].attempt(), 2);
  EXPECT_FALSE(deploys[0].plugin().empty()) << "the plugin came back from the store";
}

TEST_F(JobManagerTest, CheckpointsWithoutACheckpointDirectoryAreRefused) {
  v1::SubmitJobRequest r;
  r.set_plugin("so");
  r.set_checkpoint_interval_ms(1000);
  auto id = jm_->SubmitJob(r, {{0, "x", 1}});
  EXPECT_EQ(id.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(id.status().message(), HasSubstr("--checkpoint-dir"));
}


// With a checkpoint directory: deployments carry the storage; a savepoint is triggered
// at the task managers, completes with every task's ack, is announced to them; the
// restart after a failure restores the newest completed checkpoint; reports of the old
// attempt are ignored; a decline aborts a checkpoint without failing the job.
TEST_F(JobManagerStoreTest, CheckpointsFlowThroughTheTaskManagersAndRestartsRestoreThem) {
  Register("a", 4);
  v1::SubmitJobRequest r;
  r.mutable_job()->mutable_graph()->set_job_name("wordcount");
  r.set_plugin("\x7f" "ELF plugin bytes");
  r.set_checkpoint_interval_ms(-1);  // on demand only
  auto submitted = jm_->SubmitJob(r, {{0, "source -> map", 2}, {1, "sum -> sink", 2}});
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  const JobId job = *submitted;
  auto deploys = fake_->Deploys("a:1");
  ASSERT_EQ(deploys.size(), 1u);
  EXPECT_EQ(deploys[0].checkpoint_root(), dir_);
  EXPECT_EQ(deploys[0].restore_dir(), "");
  ReportAll(job, 0, 2, v1::TASK_STATE_RUNNING);

  auto ack_all = [&](int attempt, int64_t id) {
    for (int v = 0; v < 2; ++v) {
      for (int i = 0; i < 2; ++i) {
        v1::AcknowledgeCheckpointRequest a;
        a.set_job_id(job.value());
        a.set_attempt(attempt);
        a.mutable_ack()->set_chain(v);
        a.mutable_ack()->set_subtask(i);
        a.mutable_ack()->set_checkpoint_id(id);
        a.mutable_ack()->set_attempt(attempt);
        jm_->AcknowledgeCheckpoint(a);
      }
    }
  };
  auto await_triggers = [&](size_t n) {
    for (int i = 0; i < 1000 && fake_->Get("a:1").triggers.size() < n; ++i) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return fake_->Get("a:1").triggers;
  };

  absl::StatusOr<JobManager::SavepointResult> result;
  const std::string savepoint_dir = dir_ + "/savepoint";
  std::thread client([&] { result = jm_->TriggerSavepoint(job, savepoint_dir, false, absl::Seconds(20)); });
  auto triggers = await_triggers(1);
  ASSERT_EQ(triggers.size(), 1u);
  EXPECT_EQ(triggers[0].attempt(), 0);
  EXPECT_TRUE(triggers[0].savepoint());
  const int64_t first = triggers[0].checkpoint_id();
  ack_all(0, first);
  client.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->checkpoint_id, first);
  EXPECT_EQ(result->path, savepoint_dir);
  EXPECT_EQ(result->state, v1::JOB_STATE_RUNNING);
  EXPECT_TRUE(std::filesystem::exists(savepoint_dir + "/_metadata"));
  auto calls = fake_->Get("a:1");
  ASSERT_EQ(calls.completes.size(), 1u);
  EXPECT_EQ(calls.completes[0].checkpoint_id(), first);
  auto status = Status(job);
  EXPECT_EQ(status.latest_checkpoint_id(), first);
  EXPECT_EQ(status.completed_checkpoints(), 1);
  auto history = jm_->CheckpointHistory(job);
  ASSERT_TRUE(history.ok());
  ASSERT_FALSE(history->empty());
  EXPECT_EQ((*history)[0].id, first);
  EXPECT_EQ((*history)[0].status, checkpoint::CheckpointStatus::kCompleted);
  EXPECT_TRUE((*history)[0].savepoint);

  // A declined savepoint is aborted (told to the task managers); the job keeps running.
  std::thread declined([&] { result = jm_->TriggerSavepoint(job, dir_ + "/sp2", false, absl::Seconds(20)); });
  triggers = await_triggers(2);
  ASSERT_EQ(triggers.size(), 2u);
  v1::DeclineCheckpointRequest d;
  d.set_job_id(job.value());
  d.set_attempt(0);
  d.mutable_task()->set_vertex_id(1);
  d.set_checkpoint_id(triggers[1].checkpoint_id());
  d.set_reason("disk full");
  jm_->DeclineCheckpoint(d);
  declined.join();
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("disk full"));
  EXPECT_EQ(fake_->Get("a:1").aborts.size(), 1u);
  EXPECT_EQ(State(job), v1::JOB_STATE_RUNNING);

  // A failure: the next attempt restores the savepoint's checkpoint (the newest completed).
  Report(job, 0, 1, 1, v1::TASK_STATE_FAILED, "boom");
  now_ += absl::Seconds(2);
  HeartbeatAll({"a"});
  jm_->Tick();
  deploys = fake_->Deploys("a:1");
  ASSERT_EQ(deploys.size(), 2u);
  EXPECT_EQ(deploys[1].attempt(), 1);
  EXPECT_EQ(deploys[1].restore_dir(), absl::StrCat(dir_, "/", job.value(), "/chk-", first));
  EXPECT_EQ(Status(job).restored_from(), deploys[1].restore_dir());

  // Acks of attempt 0 no longer count; attempt 1's complete the next checkpoint.
  std::thread next([&] { result = jm_->TriggerSavepoint(job, "", false, absl::Seconds(20)); });
  triggers = await_triggers(3);
  ASSERT_EQ(triggers.size(), 3u);
  EXPECT_EQ(triggers[2].attempt(), 1);
  ack_all(0, triggers[2].checkpoint_id());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(Status(job).latest_checkpoint_id(), first) << "stale acks completed a checkpoint";
  ack_all(1, triggers[2].checkpoint_id());
  next.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->checkpoint_id, first);
  EXPECT_THAT(result->path, HasSubstr(dir_ + "/savepoints/" + job.value() + "/savepoint-"));
}

TEST_F(JobManagerTest, SavepointsNeedACheckpointDirectory) {
  Register("a", 4);
  JobId job = Submit(1);
  auto r = jm_->TriggerSavepoint(job, "/tmp/x");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("--checkpoint-dir"));
  EXPECT_EQ(jm_->TriggerSavepoint(JobId("nope"), "").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cdcflow::jobmanager

namespace cdcflow::jobmanager {
namespace {

v1::TaskMetricsReport MetricsOf(const JobId& job, int attempt, int vertex, int subtask,
                                int64_t records, int64_t busy_ns, int64_t backpressured_ns) {
  v1::TaskMetricsReport m;
  m.mutable_task()->set_job_id(job.value());
  m.mutable_task()->set_attempt(attempt);
  m.mutable_task()->set_vertex_id(vertex);
  m.mutable_task()->set_subtask_index(subtask);
  m.set_records_in(records);
  m.set_records_out(records * 2);
  m.set_busy_ns(busy_ns);
  m.set_backpressured_ns(backpressured_ns);
  m.set_watermark_ms(1234);
  v1::PartitionProgress* p = m.add_partitions();
  p->set_topic("orders");
  p->set_partition(subtask);
  p->set_offset(records);
  p->set_end_offset(records + 10);
  p->set_lag(10);
  return m;
}

TEST_F(JobManagerTest, HeartbeatMetricsBecomeRatesInTheJobStatus) {
  Register("a", 2);
  JobId job = Submit(1);
  ReportAll(job, 0, 1, v1::TASK_STATE_RUNNING);
  v1::HeartbeatRequest hb;
  hb.set_task_manager_id("a");
  *hb.add_task_metrics() = MetricsOf(job, 0, 0, 0, 1000, 0, 0);
  ASSERT_TRUE(jm_->Heartbeat(hb).registered());
  auto first = Status(job);
  ASSERT_TRUE(first.tasks(0).has_metrics());
  EXPECT_EQ(first.tasks(0).metrics().records_in(), 1000);
  EXPECT_EQ(first.tasks(0).records_in_per_sec(), 0) << "no rate from a single report";
  EXPECT_FALSE(first.tasks(1).has_metrics());

  now_ += absl::Seconds(2);
  hb.clear_task_metrics();
  *hb.add_task_metrics() = MetricsOf(job, 0, 0, 0, 5000, 500'000'000, 1'000'000'000);
  // Reports about other attempts and unknown tasks are ignored.
  *hb.add_task_metrics() = MetricsOf(job, 7, 0, 0, 999'999, 0, 0);
  *hb.add_task_metrics() = MetricsOf(job, 0, 5, 0, 999'999, 0, 0);
  ASSERT_TRUE(jm_->Heartbeat(hb).registered());
  auto second = Status(job);
  const v1::TaskStatus& t = second.tasks(0);
  EXPECT_EQ(t.metrics().records_in(), 5000);
  EXPECT_DOUBLE_EQ(t.records_in_per_sec(), 2000);
  EXPECT_DOUBLE_EQ(t.records_out_per_sec(), 4000);
  EXPECT_DOUBLE_EQ(t.busy_ratio(), 0.25);
  EXPECT_DOUBLE_EQ(t.backpressure_ratio(), 0.5);
  EXPECT_EQ(t.metrics().watermark_ms(), 1234);
  ASSERT_EQ(t.metrics().partitions_size(), 1);
  EXPECT_EQ(t.metrics().partitions(0).lag(), 10);

  // Within the rate window (1 s) a report updates the counters, not the rates.
  now_ += absl::Milliseconds(500);
  hb.clear_task_metrics();
  *hb.add_task_metrics() = MetricsOf(job, 0, 0, 0, 5100, 500'000'000, 1'000'000'000);
  ASSERT_TRUE(jm_->Heartbeat(hb).registered());
  auto third = Status(job);
  EXPECT_EQ(third.tasks(0).metrics().records_in(), 5100);
  EXPECT_DOUBLE_EQ(third.tasks(0).records_in_per_sec(), 2000);
  now_ += absl::Milliseconds(500);
  hb.clear_task_metrics();
  *hb.add_task_metrics() = MetricsOf(job, 0, 0, 0, 5500, 500'000'000, 1'000'000'000);
  ASSERT_TRUE(jm_->Heartbeat(hb).registered());
  EXPECT_DOUBLE_EQ(Status(job).tasks(0).records_in_per_sec(), 500) << "(5500 - 5000) / 1 s";
}

TEST_F(JobManagerTest, TopologyAndMetricsAddressAreKept) {
  v1::RegisterTaskManagerRequest r;
  r.set_task_manager_id("m");
  r.set_address("m:1");
  r.set_slots(1);
  r.set_metrics_address("127.0.0.1:9249");
  ASSERT_TRUE(jm_->RegisterTaskManager(r).ok());
  auto tms = jm_->ListTaskManagers();
  ASSERT_EQ(tms.task_managers_size(), 1);
  EXPECT_EQ(tms.task_managers(0).metrics_address(), "127.0.0.1:9249");
  EXPECT_EQ(tms.task_managers(0).registered_ms(), absl::ToUnixMillis(now_));

  v1::SubmitJobRequest s;
  s.mutable_job()->mutable_graph()->set_job_name("topology");
  s.mutable_job()->add_args("--rate=5");
  s.set_plugin("plugin");
  auto id = jm_->SubmitJob(s, {{0, "a -> b", 1, {0, 1}}, {1, "c", 1, {2}}});
  ASSERT_TRUE(id.ok());
  auto topology = jm_->GetJobTopology(*id);
  ASSERT_TRUE(topology.ok());
  EXPECT_EQ(topology->graph.job_name(), "topology");
  ASSERT_EQ(topology->chains.size(), 2u);
  EXPECT_EQ(topology->chains[0].vertices, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(topology->args, (std::vector<std::string>{"--rate=5"}));
  EXPECT_EQ(jm_->GetJobTopology(JobId("nope")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cdcflow::jobmanager
