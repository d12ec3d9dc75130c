#include "jobmanager/job_store.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/ids.h"

namespace cdcflow::jobmanager {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::temp_directory_path() / ("job_store_test_" + RandomHexId())).string();
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static v1::SubmitJobRequest Request(const std::string& name) {
    v1::SubmitJobRequest r;
    r.mutable_job()->mutable_graph()->set_job_name(name);
    r.mutable_job()->add_args("records=10");
    r.mutable_job()->add_args("output=/tmp/x y");
    r.mutable_job()->set_default_parallelism(2);
    using std::string_literals::operator""s;
    r.set_plugin("\x7f" "ELF\0bytes of "s + name);  // with a NUL byte
    r.mutable_job()->set_plugin_sha256(Sha256Hex(r.plugin()));
    r.set_checkpoint_interval_ms(1500);
    r.set_from_savepoint("/savepoints/sp-1");
    return r;
  }

  std::string root_;
};

TEST_F(JobStoreTest, JobsRoundTripWithStatusAndAttempt) {
  JobStore store(root_);
  JobId a("aaaa"), b("bbbb");
  ASSERT_TRUE(store.SaveJob(a, Request("one")).ok());
  ASSERT_TRUE(store.SaveStatus(a, v1::JOB_STATE_RUNNING, 3).ok());
  ASSERT_TRUE(store.SaveJob(b, Request("two")).ok());
  ASSERT_TRUE(store.SaveStatus(b, v1::JOB_STATE_CANCELED, 0).ok());
  // The layout CHECKPOINT_DESIGN.md names.
  v1::JobSpec spec;
  std::ifstream in(root_ + "/aaaa/job/job_spec.pb", std::ios::binary);
  ASSERT_TRUE(spec.ParseFromIstream(&in));
  EXPECT_EQ(spec.graph().job_name(), "one");
  EXPECT_TRUE(fs::exists(root_ + "/aaaa/job/plugin.so"));
  EXPECT_TRUE(fs::exists(root_ + "/aaaa/job/args"));
  EXPECT_FALSE(fs::exists(root_ + "/aaaa/job.tmp"));

  std::vector<std::string> errors;
  auto jobs = store.LoadJobs(&errors);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(jobs->size(), 2u);
  std::sort(jobs->begin(), jobs->end(),
            [](const auto& x, const auto& y) { return x.id.value() < y.id.value(); });
  const JobStore::StoredJob& one = (*jobs)[0];
  EXPECT_EQ(one.id.value(), "aaaa");
  EXPECT_EQ(one.state, v1::JOB_STATE_RUNNING);
  EXPECT_EQ(one.attempt, 3);
  EXPECT_EQ(one.request.SerializeAsString(), Request("one").SerializeAsString())
      << "the request, plugin bytes included, comes back unchanged";
  EXPECT_EQ((*jobs)[1].state, v1::JOB_STATE_CANCELED);
  EXPECT_EQ((*jobs)[1].attempt, 0);
}

TEST_F(JobStoreTest, IncompleteOrDamagedJobsAreSkippedWithAClearError) {
  JobStore store(root_);
  ASSERT_TRUE(store.SaveJob(JobId("good"), Request("good")).ok());
  // Never renamed into place: a crash in the middle of SaveJob.
  fs::create_directories(root_ + "/halfway/job.tmp");
  std::ofstream(root_ + "/halfway/job.tmp/job_spec.pb") << "x";
  // A plugin that does not match its hash.
  ASSERT_TRUE(store.SaveJob(JobId("tampered"), Request("tampered")).ok());
  std::ofstream(root_ + "/tampered/job/plugin.so") << "other bytes";
  // A malformed status file.
  ASSERT_TRUE(store.SaveJob(JobId("badstatus"), Request("badstatus")).ok());
  std::ofstream(root_ + "/badstatus/status") << "RUNNING\n";
  // Unrelated files are ignored.
  std::ofstream(root_ + "/README") << "hi";

  std::vector<std::string> errors;
  auto jobs = store.LoadJobs(&errors);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id.value(), "good");
  EXPECT_EQ((*jobs)[0].state, v1::JOB_STATE_CREATED) << "no status yet: never deployed";
  ASSERT_EQ(errors.size(), 2u);
  std::sort(errors.begin(), errors.end());
  EXPECT_THAT(errors[0], HasSubstr("badstatus/status is malformed"));
  EXPECT_THAT(errors[1], HasSubstr("tampered/job/plugin.so does not match"));
}

TEST_F(JobStoreTest, AMissingRootHasNoJobs) {
  JobStore store(root_ + "/nowhere");
  auto jobs = store.LoadJobs();
  ASSERT_TRUE(jobs.ok());
  EXPECT_TRUE(jobs->empty());
}

TEST_F(JobStoreTest, SavingAgainReplacesTheJob) {
  JobStore store(root_);
  ASSERT_TRUE(store.SaveJob(JobId("j"), Request("first")).ok());
  ASSERT_TRUE(store.SaveJob(JobId("j"), Request("second")).ok());
  auto jobs = store.LoadJobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].request.job().graph().job_name(), "second");
}

}  // namespace
}  // namespace cdcflow::jobmanager
