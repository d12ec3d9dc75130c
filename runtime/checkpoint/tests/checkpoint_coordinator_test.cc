#include "runtime/checkpoint/checkpoint_coordinator.h"

#include <filesystem>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::checkpoint {
namespace {

using ::cdcflow::testing::NewScratchPath;
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::TaskCheckpointAck Ack(exchange::TaskId t, int64_t id, int32_t attempt = 0) {
  v1::TaskCheckpointAck a;
  a.set_chain(t.chain);
  a.set_subtask(t.subtask);
  a.set_checkpoint_id(id);
  a.set_attempt(attempt);
  a.set_bytes(100);
  a.set_full_bytes(1000);
  a.set_alignment_ns(5 + t.subtask);
  v1::OperatorSnapshot* op = a.add_operators();
  op->set_vertex_id(t.chain);
  op->set_subtask_index(t.subtask);
  op->set_source_position(absl::StrCat("pos-", id));
  op->set_has_source_position(true);
  return a;
}

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = NewScratchPath("root");
    storage_ = *CheckpointStorage::Create(root_, "job");
  }
  std::unique_ptr<CheckpointCoordinator> Make(CoordinatorOptions options = {}) {
    CoordinatorCallbacks cb;
    cb.trigger = [this](int64_t id, bool savepoint) {
      std::lock_guard<std::mutex> lock(mu_);
      triggered_.push_back(id);
    };
    cb.notify_complete = [this](int64_t id) {
      std::lock_guard<std::mutex> lock(mu_);
      completed_.push_back(id);
    };
    cb.notify_aborted = [this](int64_t id) {
      std::lock_guard<std::mutex> lock(mu_);
      aborted_.push_back(id);
    };
    auto c = CheckpointCoordinator::Create(tasks_, storage_.get(), options, cb);
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }
  std::vector<int64_t> Triggered() {
    std::lock_guard<std::mutex> lock(mu_);
    return triggered_;
  }
  std::vector<int64_t> Completed() {
    std::lock_guard<std::mutex> lock(mu_);
    return completed_;
  }
  std::vector<int64_t> Aborted() {
    std::lock_guard<std::mutex> lock(mu_);
    return aborted_;
  }

  std::vector<exchange::TaskId> tasks_ = {{0, 0}, {0, 1}, {1, 0}};
  std::string root_;
  std::unique_ptr<CheckpointStorage> storage_;
  std::mutex mu_;
  std::vector<int64_t> triggered_, completed_, aborted_;
};

TEST_F(CoordinatorTest, CompletesWhenEveryTaskAcked) {
  auto c = Make();
  absl::StatusOr<int64_t> id = c->TriggerNow();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 1);
  EXPECT_THAT(Triggered(), ElementsAre(1));
  c->Acknowledge(Ack({0, 0}, 1));
  c->Acknowledge(Ack({0, 0}, 1));  // duplicate: ignored
  c->Acknowledge(Ack({1, 0}, 1));
  EXPECT_TRUE(Completed().empty());
  EXPECT_FALSE(c->LatestCompleted().has_value());
  c->Acknowledge(Ack({0, 1}, 1));
  EXPECT_THAT(Completed(), ElementsAre(1));
  absl::StatusOr<CompletedCheckpoint> done = c->Await(1, absl::Seconds(5));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->metadata.tasks_size(), 3);
  EXPECT_EQ(done->metadata.tasks(1).subtask(), 1);  // sorted by (chain, subtask)
  absl::StatusOr<CompletedCheckpoint> loaded = LoadCheckpoint(storage_->CheckpointDir(1));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->metadata.tasks(2).operators(0).source_position(), "pos-1");
  ASSERT_TRUE(c->LatestCompleted().has_value());
  std::vector<CheckpointStats> h = c->History();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].status, CheckpointStatus::kCompleted);
  EXPECT_EQ(h[0].uploaded_bytes, 300u);
  EXPECT_EQ(h[0].full_bytes, 3000u);
  EXPECT_EQ(h[0].alignment_ns_max, 6);
  EXPECT_EQ(h[0].acked, 3);
}

TEST_F(CoordinatorTest, DeclineAbortsWithoutStoppingLaterCheckpoints) {
  auto c = Make();
  ASSERT_TRUE(c->TriggerNow().ok());
  c->Acknowledge(Ack({0, 0}, 1));
  c->Decline({0, 1}, 1, absl::UnavailableError("disk on fire"));
  EXPECT_THAT(Aborted(), ElementsAre(1));
  absl::StatusOr<CompletedCheckpoint> r = c->Await(1, absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("disk on fire"));
  EXPECT_FALSE(fs::exists(storage_->CheckpointDir(1)));
  c->Acknowledge(Ack({0, 1}, 1));  // late ack of the aborted checkpoint: ignored
  ASSERT_EQ(*c->TriggerNow(), 2);
  for (const auto& t : tasks_) c->Acknowledge(Ack(t, 2));
  EXPECT_THAT(Completed(), ElementsAre(2));
  EXPECT_EQ(c->History()[1].status, CheckpointStatus::kFailed);
  EXPECT_THAT(c->History()[1].failure, HasSubstr("declined by task 0/1"));
}

TEST_F(CoordinatorTest, TimeoutAbortsWithoutFailing) {
  CoordinatorOptions o;
  o.timeout = absl::Milliseconds(100);
  auto c = Make(o);
  c->Start();
  ASSERT_TRUE(c->TriggerNow().ok());
  c->Acknowledge(Ack({0, 0}, 1));
  absl::StatusOr<CompletedCheckpoint> r = c->Await(1, absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(r.status().message(), HasSubstr("timed out"));
  EXPECT_THAT(Aborted(), ElementsAre(1));
  // The next one still completes.
  ASSERT_EQ(*c->TriggerNow(), 2);
  for (const auto& t : tasks_) c->Acknowledge(Ack(t, 2));
  EXPECT_TRUE(c->Await(2, absl::Seconds(5)).ok());
}

TEST_F(CoordinatorTest, FinishedTasksAreRecordedInsteadOfAwaited) {
  auto c = Make();
  c->TaskFinished({1, 0});
  ASSERT_TRUE(c->TriggerNow().ok());
  c->Acknowledge(Ack({0, 0}, 1));
  c->Acknowledge(Ack({0, 1}, 1));
  absl::StatusOr<CompletedCheckpoint> r = c->Await(1, absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->metadata.tasks(2).finished());
  // A task finishing while a checkpoint waits for it completes that checkpoint.
  ASSERT_EQ(*c->TriggerNow(), 2);
  c->Acknowledge(Ack({0, 0}, 2));
  c->TaskFinished({0, 1});
  EXPECT_THAT(Completed(), ElementsAre(1, 2));
}

TEST_F(CoordinatorTest, StaleAttemptAcksAreIgnored) {
  auto c = Make();
  ASSERT_TRUE(c->TriggerNow().ok());
  c->ResetForAttempt(1);
  EXPECT_THAT(Aborted(), ElementsAre(1));
  ASSERT_EQ(*c->TriggerNow(), 2);
  for (const auto& t : tasks_) c->Acknowledge(Ack(t, 2, /*attempt=*/0));
  EXPECT_TRUE(Completed().empty());
  for (const auto& t : tasks_) c->Acknowledge(Ack(t, 2, /*attempt=*/1));
  EXPECT_THAT(Completed(), ElementsAre(2));
}

TEST_F(CoordinatorTest, PeriodicCheckpointsRetainTheLastN) {
  CoordinatorOptions o;
  o.interval = absl::Milliseconds(10);
  o.retained = 2;
  auto c = Make(o);
  c->Start();
  // Ack whatever gets triggered until five completed.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  size_t acked = 0;
  while (Completed().size() < 5 && absl::Now() < deadline) {
    std::vector<int64_t> t = Triggered();
    for (; acked < t.size(); ++acked) {
      for (const auto& task : tasks_) c->Acknowledge(Ack(task, t[acked]));
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  c->Stop();
  ASSERT_GE(Completed().size(), 5u);
  EXPECT_EQ(storage_->ListCheckpointIds().size(), 2u);
  // A new coordinator over the same storage continues the ids.
  auto next = Make();
  EXPECT_GT(*next->TriggerNow(), Completed().back());
}

TEST_F(CoordinatorTest, SavepointIsExported) {
  auto c = Make();
  const std::string dir = NewScratchPath("sp");
  absl::StatusOr<int64_t> id = c->TriggerNow(dir);
  ASSERT_TRUE(id.ok());
  for (const auto& t : tasks_) c->Acknowledge(Ack(t, *id));
  absl::StatusOr<CompletedCheckpoint> sp = c->Await(*id, absl::Seconds(5));
  ASSERT_TRUE(sp.ok()) << sp.status();
  EXPECT_TRUE(sp->metadata.savepoint());
  EXPECT_EQ(sp->dir, dir);
  EXPECT_TRUE(fs::exists(dir + "/_metadata"));
  EXPECT_TRUE(c->History()[0].savepoint);
}

}  // namespace
}  // namespace cdcflow::checkpoint
