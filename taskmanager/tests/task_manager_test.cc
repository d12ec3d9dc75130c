#include "taskmanager/task_manager.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/ids.h"
#include "taskmanager/testing/fake_job_manager_client.h"

namespace cdcflow::taskmanager {
namespace {

using ::testing::HasSubstr;
using testing::FakeJobManagerClient;

// An attempt whose tasks "run" until canceled or told to finish. The test keeps it
// (shared) beyond the task manager's handle, which is dropped when superseded.
class FakeAttempt : public Attempt {
 public:
  FakeAttempt(std::vector<v1::TaskId> tasks, TaskStateReporter reporter)
      : tasks_(std::move(tasks)), reporter_(std::move(reporter)) {}
  absl::Status Start() override {
    for (const auto& t : tasks_) reporter_(t, v1::TASK_STATE_RUNNING, "");
    return absl::OkStatus();
  }
  void Cancel() override { End(v1::TASK_STATE_CANCELED); }
  bool Done() override { return done_; }
  void Join() override {
    Cancel();
    joined_ = true;
  }
  bool joined() const { return joined_; }
  absl::StatusOr<int> TriggerCheckpoint(int64_t id, bool) override {
    absl::MutexLock lock(&mu_);
    triggered_.push_back(id);
    return 1;
  }
  void NotifyCheckpointComplete(int64_t id) override {
    absl::MutexLock lock(&mu_);
    completed_.push_back(id);
  }
  void NotifyCheckpointAborted(int64_t id) override {
    absl::MutexLock lock(&mu_);
    aborted_.push_back(id);
  }
  std::vector<int64_t> triggered() {
    absl::MutexLock lock(&mu_);
    return triggered_;
  }
  std::vector<int64_t> completed() {
    absl::MutexLock lock(&mu_);
    return completed_;
  }
  std::vector<int64_t> aborted() {
    absl::MutexLock lock(&mu_);
    return aborted_;
  }
  checkpoint::CheckpointListener* listener = nullptr;
  NetworkExchange* network() override { return nullptr; }
  void CollectMetrics(std::vector<v1::TaskMetricsReport>* out) override {
    for (const auto& t : tasks_) {
      v1::TaskMetricsReport r;
      *r.mutable_task() = t;
      r.set_records_out(100 + t.subtask_index());
      out->push_back(std::move(r));
    }
  }
  void End(v1::TaskState state) {
    bool expected = false;
    if (!done_.compare_exchange_strong(expected, true)) return;
    for (const auto& t : tasks_) reporter_(t, state, "");
  }

 private:
  std::vector<v1::TaskId> tasks_;
  TaskStateReporter reporter_;
  std::atomic<bool> done_{false};
  std::atomic<bool> joined_{false};
  absl::Mutex mu_;
  std::vector<int64_t> triggered_, completed_, aborted_;
};

// What the task manager holds: forwards to a FakeAttempt the test keeps.
class AttemptHandle final : public Attempt {
 public:
  explicit AttemptHandle(std::shared_ptr<FakeAttempt> a) : a_(std::move(a)) {}
  absl::Status Start() override { return a_->Start(); }
  void Cancel() override { a_->Cancel(); }
  bool Done() override { return a_->Done(); }
  void Join() override { a_->Join(); }
  NetworkExchange* network() override { return nullptr; }
  absl::StatusOr<int> TriggerCheckpoint(int64_t id, bool sp) override {
    return a_->TriggerCheckpoint(id, sp);
  }
  void NotifyCheckpointComplete(int64_t id) override { a_->NotifyCheckpointComplete(id); }
  void NotifyCheckpointAborted(int64_t id) override { a_->NotifyCheckpointAborted(id); }
  void CollectMetrics(std::vector<v1::TaskMetricsReport>* out) override { a_->CollectMetrics(out); }

 private:
  std::shared_ptr<FakeAttempt> a_;
};

class TaskManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto jm = std::make_unique<FakeJobManagerClient>();
    jm_ = jm.get();
    TaskManager::Options options;
    options.task_manager_id = "tm-1";
    options.advertised_address = "127.0.0.1:7000";
    options.slots = 3;
    options.register_retry = absl::Milliseconds(5);
    options.attempt_wait = absl::Milliseconds(200);
    options.metrics_address = "127.0.0.1:9249";
    options.on_job_released = [this](const std::string& job) {
      absl::MutexLock lock(&mu_);
      released_.push_back(job);
    };
    tm_ = std::make_unique<TaskManager>(
        options, std::move(jm), [this](AttemptContext ctx) -> absl::StatusOr<std::unique_ptr<Attempt>> {
          absl::MutexLock lock(&mu_);
          plugins_seen_.push_back(*ctx.plugin);
          if (!factory_error_.ok()) return factory_error_;
          // The superseded attempt was joined before the newer one is created.
          for (const auto& older : created_) older_joined_.push_back(older->joined());
          auto a = std::make_shared<FakeAttempt>(
              std::vector<v1::TaskId>(ctx.request->tasks().begin(), ctx.request->tasks().end()),
              ctx.reporter);
          a->listener = ctx.checkpoint_listener;
          created_.push_back(a);
          return std::make_unique<AttemptHandle>(a);
        });
  }

  v1::DeployTaskRequest Deploy(const std::string& job, int attempt, bool with_plugin) {
    v1::DeployTaskRequest r;
    r.set_job_id(job);
    r.set_attempt(attempt);
    r.mutable_job()->set_plugin_sha256(Sha256Hex(kPlugin));
    if (with_plugin) r.set_plugin(kPlugin);
    for (int i = 0; i < 2; ++i) {
      v1::TaskId* t = r.add_tasks();
      t->set_job_id(job);
      t->set_attempt(attempt);
      t->set_vertex_id(0);
      t->set_subtask_index(i);
    }
    return r;
  }

  int CountUpdates(v1::TaskState state, int attempt) {
    int n = 0;
    for (const auto& u : jm_->updates()) n += u.state() == state && u.task().attempt() == attempt;
    return n;
  }

  static constexpr char kPlugin[] = "plugin bytes";
  FakeJobManagerClient* jm_ = nullptr;
  std::unique_ptr<TaskManager> tm_;
  absl::Mutex mu_;
  std::vector<std::string> plugins_seen_;
  std::vector<std::shared_ptr<FakeAttempt>> created_;
  std::vector<bool> older_joined_;  // per factory call, per earlier attempt
  absl::Status factory_error_;
  std::vector<std::string> released_;
};

TEST_F(TaskManagerTest, HeartbeatsCarryTaskMetricsAndReleaseEndedJobs) {
  tm_->Start();
  ASSERT_TRUE(tm_->DeployTask(Deploy("job", 0, true)).ok());
  v1::HeartbeatRequest hb;
  for (int i = 0; i < 300; ++i) {
    hb = jm_->last_heartbeat();
    if (hb.task_metrics_size() == 2) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(hb.task_metrics_size(), 2);
  EXPECT_EQ(hb.task_metrics(0).task().job_id(), "job");
  EXPECT_EQ(hb.task_metrics(1).records_out(), 101);
  ASSERT_FALSE(jm_->registrations().empty());
  EXPECT_EQ(jm_->registrations()[0].metrics_address(), "127.0.0.1:9249");
  {
    absl::MutexLock lock(&mu_);
    EXPECT_TRUE(released_.empty());
  }
  created_[0]->End(v1::TASK_STATE_FINISHED);
  for (int i = 0; i < 300; ++i) {
    {
      absl::MutexLock lock(&mu_);
      if (!released_.empty()) break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(released_, std::vector<std::string>{"job"});
}

TEST_F(TaskManagerTest, RegistersItsSlotsAndHeartbeats) {
  tm_->Start();
  for (int i = 0; i < 200 && jm_->heartbeats() < 3; ++i) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_GE(jm_->heartbeats(), 3);
  auto regs = jm_->registrations();
  ASSERT_EQ(regs.size(), 1u);
  EXPECT_EQ(regs[0].slots(), 3);
  EXPECT_EQ(regs[0].address(), "127.0.0.1:7000");
  EXPECT_EQ(regs[0].task_manager_id(), "tm-1");
  EXPECT_TRUE(tm_->registered());
}

TEST_F(TaskManagerTest, RetriesRegistrationUntilTheJobManagerAnswers) {
  jm_->SetAvailable(false);
  tm_->Start();
  for (int i = 0; i < 200 && jm_->registrations().size() < 3; ++i)
    absl::SleepFor(absl::Milliseconds(5));
  EXPECT_FALSE(tm_->registered());
  jm_->SetAvailable(true);
  for (int i = 0; i < 200 && !tm_->registered(); ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_TRUE(tm_->registered());
}

TEST_F(TaskManagerTest, DeploysReportsAndCachesThePluginByHash) {
  ASSERT_TRUE(tm_->DeployTask(Deploy("job", 0, true)).ok());
  EXPECT_EQ(CountUpdates(v1::TASK_STATE_RUNNING, 0), 2);
  created_[0]->End(v1::TASK_STATE_FINISHED);
  EXPECT_EQ(CountUpdates(v1::TASK_STATE_FINISHED, 0), 2);
  // A second attempt without bytes uses the cached plugin.
  ASSERT_TRUE(tm_->DeployTask(Deploy("job", 1, false)).ok());
  ASSERT_EQ(plugins_seen_.size(), 2u);
  EXPECT_EQ(plugins_seen_[1], kPlugin);
}

TEST_F(TaskManagerTest, AsksForThePluginWhenItDoesNotHoldIt) {
  absl::Status s = tm_->DeployTask(Deploy("job", 0, false));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TaskManagerTest, RefusesAPluginWhoseHashDoesNotMatch) {
  auto r = Deploy("job", 0, true);
  r.set_plugin("tampered");
  absl::Status s = tm_->DeployTask(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("SHA-256"));
}

TEST_F(TaskManagerTest, CancelStopsTheAttemptAndRefusesItsLateDeployment) {
  ASSERT_TRUE(tm_->DeployTask(Deploy("job", 0, true)).ok());
  v1::CancelTaskRequest cancel;
  cancel.set_job_id("job");
  cancel.set_attempt(0);
  ASSERT_TRUE(tm_->CancelTask(cancel).ok());
  EXPECT_EQ(CountUpdates(v1::TASK_STATE_CANCELED, 0), 2);
  // A cancel that overtakes its deployment (attempt 1) wins.
  cancel.set_attempt(1);
  ASSERT_TRUE(tm_->CancelTask(cancel).ok());
  EXPECT_EQ(tm_->DeployTask(Deploy("job", 1, false)).code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(tm_->DeployTask(Deploy("job", 2, false)).ok());
}

TEST_F(TaskManagerTest, ANewerAttemptSupersedesAnOlderOne) {
  ASSERT_TRUE(tm_->DeployTask(Deploy("job", 0, true)).ok());
  ASSERT_TRUE(tm_->DeployTask(Deploy("job", 1, false)).ok());
  EXPECT_TRUE(created_[0]->Done());
  EXPECT_EQ(older_joined_, (std::vector<bool>{true}))
      << "attempt 0 must be joined (its threads ended, its state closed) before attempt 1 is "
         "created: they share state directories";
  EXPECT_FALSE(created_[1]->Done());
  EXPECT_EQ(tm_->DeployTask(Deploy("job", 1, false)).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(TaskManagerTest, PluginErrorsFailTheDeployment) {
  factory_error_ = absl::InvalidArgumentError("not a shared object");
  absl::Status s = tm_->DeployTask(Deploy("job", 0, true));
  EXPECT_THAT(s.message(), HasSubstr("not a shared object"));
  EXPECT_EQ(tm_->attempts(), 0);
}

TEST_F(TaskManagerTest, ForgottenByTheJobManagerCancelsEverythingAndRegistersAgain) {
  tm_->Start();
  for (int i = 0; i < 200 && !tm_->registered(); ++i) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_TRUE(tm_->DeployTask(Deploy("job", 0, true)).ok());
  jm_->Forget();
  ASSERT_TRUE(jm_->AwaitUpdates(
      [](const std::vector<v1::UpdateTaskStateRequest>& u) {
        int n = 0;
        for (const auto& x : u) n += x.state() == v1::TASK_STATE_CANCELED;
        return n == 2;
      },
      absl::Seconds(2)));
  for (int i = 0; i < 200 && jm_->registrations().size() < 2; ++i)
    absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(jm_->registrations().size(), 2u);
  for (int i = 0; i < 200 && tm_->attempts() > 0; ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(tm_->attempts(), 0) << "done attempts are reaped";
}

TEST_F(TaskManagerTest, AwaitAttemptWaitsForTheDeployment) {
  auto missing = tm_->AwaitAttempt("job", 0);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  std::thread deployer([&] {
    absl::SleepFor(absl::Milliseconds(20));
    ASSERT_TRUE(tm_->DeployTask(Deploy("job", 0, true)).ok());
  });
  auto found = tm_->AwaitAttempt("job", 0);
  deployer.join();
  EXPECT_TRUE(found.ok()) << found.status();
}

}  // namespace
}  // namespace cdcflow::taskmanager

namespace cdcflow::taskmanager {
namespace {

TEST_F(TaskManagerTest, RoutesCheckpointCallsToTheAttemptAndForwardsItsAcks) {
  ASSERT_TRUE(tm_->DeployTask(Deploy("job", 0, true)).ok());
  ASSERT_TRUE(tm_->DeployTask(Deploy("job", 1, false)).ok());
  v1::TriggerCheckpointRequest trigger;
  trigger.set_job_id("job");
  trigger.set_attempt(1);
  trigger.set_checkpoint_id(7);
  auto r = tm_->TriggerCheckpoint(trigger);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source_tasks(), 1);
  v1::NotifyCheckpointRequest notify;
  notify.set_job_id("job");
  notify.set_attempt(1);
  notify.set_checkpoint_id(7);
  ASSERT_TRUE(tm_->NotifyCheckpointComplete(notify).ok());
  notify.set_checkpoint_id(8);
  ASSERT_TRUE(tm_->NotifyCheckpointAborted(notify).ok());
  EXPECT_EQ(created_[1]->triggered(), std::vector<int64_t>{7});
  EXPECT_EQ(created_[1]->completed(), std::vector<int64_t>{7});
  EXPECT_EQ(created_[1]->aborted(), std::vector<int64_t>{8});
  EXPECT_TRUE(created_[0]->triggered().empty()) << "the superseded attempt is not triggered";
  trigger.set_attempt(0);
  EXPECT_EQ(tm_->TriggerCheckpoint(trigger).status().code(), absl::StatusCode::kNotFound);
  trigger.set_job_id("other");
  EXPECT_EQ(tm_->TriggerCheckpoint(trigger).status().code(), absl::StatusCode::kNotFound);

  // The attempt's listener sends acks and declines to the job manager, with job and attempt.
  ASSERT_NE(created_[1]->listener, nullptr);
  v1::TaskCheckpointAck ack;
  ack.set_chain(1);
  ack.set_subtask(0);
  ack.set_checkpoint_id(7);
  created_[1]->listener->Acknowledge(ack);
  created_[1]->listener->Decline({0, 1}, 8, absl::DataLossError("disk"));
  for (int i = 0; i < 500 && jm_->declines().empty(); ++i) absl::SleepFor(absl::Milliseconds(2));
  auto acks = jm_->acks();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].job_id(), "job");
  EXPECT_EQ(acks[0].attempt(), 1);
  EXPECT_EQ(acks[0].ack().checkpoint_id(), 7);
  EXPECT_EQ(acks[0].task_manager_id(), "tm-1");
  auto declines = jm_->declines();
  ASSERT_EQ(declines.size(), 1u);
  EXPECT_EQ(declines[0].checkpoint_id(), 8);
  EXPECT_EQ(declines[0].task().vertex_id(), 0);
  EXPECT_EQ(declines[0].task().subtask_index(), 1);
  EXPECT_THAT(declines[0].reason(), HasSubstr("disk"));
}

}  // namespace
}  // namespace cdcflow::taskmanager
