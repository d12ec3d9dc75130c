
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cdcflow/job.h"
#include "gtest/gtest.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow {
namespace {

class Ctx : public RuntimeContext {
 public:
  Ctx(int subtask, int parallelism) : subtask_(subtask), parallelism_(parallelism) {}
  std::string_view operator_name() const override { return "sink"; }
  int subtask_index() const override { return subtask_; }
  int parallelism() const override { return parallelism_; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return 0; }

 private:
  int subtask_, parallelism_;
  JobArgs args_;
};

RowBatch TwoRows() {
  RowBatch b;
  Row r1;
  r1.fields = {Value::Int64(1), Value::Str("a")};
  Row r2;
  r2.kind = RowKind::kDelete;
  r2.fields = {Value::Int64(2), Value::Null()};
  b.Append(r1);
  b.Append(r2);
  return b;
}

TEST(FileSinkTest, WritesOnePartFilePerSubtask) {
  const std::filesystem::path dir = cdcflow::testing::NewScratchPath("file_sink");
  auto sink = FileSink(dir.string())();
  Ctx ctx(3, 4);
  ASSERT_TRUE(sink->Open(ctx).ok());
  RowBatch b = TwoRows();
  ASSERT_TRUE(sink->WriteBatch(b).ok());
  ASSERT_TRUE(sink->Finish().ok());
  ASSERT_TRUE(sink->Close().ok());
  std::ifstream in(dir / "part-3");
  std::string l1, l2;
  std::getline(in, l1);
  std::getline(in, l2);
  EXPECT_EQ(l1, TwoRows().row(0).ToString());
  EXPECT_EQ(l2, TwoRows().row(1).ToString());
  EXPECT_EQ(l2.substr(0, 2), "-D");
  std::filesystem::remove_all(dir);
}

TEST(FileSinkTest, ReportsADirectoryItCannotCreate) {
  const std::filesystem::path file = cdcflow::testing::NewScratchPath("file_sink_blocker");
  std::ofstream(file) << "x";
  auto sink = FileSink((file / "sub").string())();
  Ctx ctx(0, 1);
  absl::Status s = sink->Open(ctx);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find(file.string()), std::string::npos) << s;
  std::filesystem::remove(file);
}

// ---- staged (checkpointed) file sink ----

class StagedFileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cdcflow::testing::NewScratchPath(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(dir_ / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static RowBatch Ids(int first, int end) {
    RowBatch b;
    for (int i = first; i < end; ++i) {
      Row r;
      r.fields = {Value::Int64(i)};
      b.Append(r);
    }
    return b;
  }
  static std::string Lines(int first, int end) {
    std::string out;
    RowBatch b = Ids(first, end);
    for (const Row& r : b.rows()) out += r.ToString() + "\n";
    return out;
  }
  std::unique_ptr<SinkFunction> Open(Ctx& ctx) {
    auto sink = FileSink(dir_.string())();
    EXPECT_TRUE(sink->Open(ctx).ok());
    return sink;
  }

  std::filesystem::path dir_;
};

TEST_F(StagedFileSinkTest, UncommittedRowsAreInvisibleAndCommitPublishesThem) {
  Ctx ctx(0, 1);
  auto sink = Open(ctx);
  RowBatch a = Ids(0, 3);
  ASSERT_TRUE(sink->WriteBatch(a).ok());
  auto state = sink->PrepareCommit(1);
  ASSERT_TRUE(state.ok()) << state.status();
  for (const std::string& f : Files()) EXPECT_EQ(f[0], '.') << f;  // staged only
  ASSERT_TRUE(sink->Commit(1).ok());
  EXPECT_EQ(Files(), (std::vector<std::string>{"part-0-000001"}));
  EXPECT_EQ(Read("part-0-000001"), Lines(0, 3));
  RowBatch b = Ids(3, 5);
  ASSERT_TRUE(sink->WriteBatch(b).ok());
  ASSERT_TRUE(sink->Commit(2).ok());  // nothing prepared for 2 yet: nothing moves
  std::vector<std::string> files = Files();
  EXPECT_EQ(std::count_if(files.begin(), files.end(), [](const std::string& f) { return f[0] != '.'; }),
            1);
  ASSERT_TRUE(sink->Finish().ok());
  ASSERT_TRUE(sink->Close().ok());
  EXPECT_EQ(Files(), (std::vector<std::string>{"part-0-000001", "part-0-000002"}));
  EXPECT_EQ(Read("part-0-000002"), Lines(3, 5));
}

TEST_F(StagedFileSinkTest, RestartCommitsTheCheckpointAndDropsWhatFollowedIt) {
  Ctx ctx(1, 2);
  std::string state2;
  {
    auto sink = Open(ctx);
    RowBatch a = Ids(0, 2);
    ASSERT_TRUE(sink->WriteBatch(a).ok());
    ASSERT_TRUE(sink->PrepareCommit(1).ok());
    ASSERT_TRUE(sink->Commit(1).ok());
    RowBatch b = Ids(2, 4);
    ASSERT_TRUE(sink->WriteBatch(b).ok());
    auto s2 = sink->PrepareCommit(2);
    ASSERT_TRUE(s2.ok());
    state2 = *s2;
    RowBatch c = Ids(4, 6);
    ASSERT_TRUE(sink->WriteBatch(c).ok());
    ASSERT_TRUE(sink->PrepareCommit(3).ok());  // checkpoint 3 never completes
    RowBatch d = Ids(6, 7);
    ASSERT_TRUE(sink->WriteBatch(d).ok());
    ASSERT_TRUE(sink->PrepareCommit(4).ok());
    // Crash: checkpoint 2 completed, Commit(2) never ran.
  }
  EXPECT_EQ(Files(), (std::vector<std::string>{".part-1-000002.pending", ".part-1-000003.pending",
                                               ".part-1-000004.pending", "part-1-000001"}));
  {
    auto sink = Open(ctx);
    ASSERT_TRUE(sink->RestoreState(state2).ok());
    EXPECT_EQ(Files(), (std::vector<std::string>{"part-1-000001", "part-1-000002"}));
    RowBatch c = Ids(4, 7);  // the source re-sends what followed checkpoint 2
    ASSERT_TRUE(sink->WriteBatch(c).ok());
    ASSERT_TRUE(sink->Finish().ok());
  }
  std::string all;
  for (const std::string& f : Files()) all += Read(f);
  EXPECT_EQ(all, Lines(0, 7));
  EXPECT_EQ(Files().back(), "part-1-000003");
}

TEST_F(StagedFileSinkTest, RestoreFromAnOlderCheckpointRemovesLaterCommits) {
  Ctx ctx(0, 1);
  std::string state1;
  {
    auto sink = Open(ctx);
    RowBatch a = Ids(0, 2);
    ASSERT_TRUE(sink->WriteBatch(a).ok());
    auto s1 = sink->PrepareCommit(1);
    ASSERT_TRUE(s1.ok());
    state1 = *s1;
    ASSERT_TRUE(sink->Commit(1).ok());
    RowBatch b = Ids(2, 4);
    ASSERT_TRUE(sink->WriteBatch(b).ok());
    ASSERT_TRUE(sink->PrepareCommit(2).ok());
    ASSERT_TRUE(sink->Commit(2).ok());
  }
  auto sink = Open(ctx);
  ASSERT_TRUE(sink->RestoreState(state1).ok());  // checkpoint 2 lost: its rows come again
  EXPECT_EQ(Files(), (std::vector<std::string>{"part-0-000001"}));
  EXPECT_EQ(Read("part-0-000001"), Lines(0, 2));
  RowBatch c = Ids(2, 3);
  ASSERT_TRUE(sink->WriteBatch(c).ok());
  EXPECT_EQ(sink->RestoreState(state1).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(StagedFileSinkTest, FreshStartReplacesAnEarlierRunAndRejectsBadState) {
  Ctx ctx(0, 1);
  {
    auto sink = Open(ctx);
    RowBatch a = Ids(0, 2);
    ASSERT_TRUE(sink->WriteBatch(a).ok());
    ASSERT_TRUE(sink->PrepareCommit(1).ok());
    ASSERT_TRUE(sink->Commit(1).ok());
    RowBatch b = Ids(2, 3);
    ASSERT_TRUE(sink->WriteBatch(b).ok());
    ASSERT_TRUE(sink->PrepareCommit(2).ok());
  }
  {
    auto sink = Open(ctx);
    RowBatch c = Ids(7, 8);
    ASSERT_TRUE(sink->WriteBatch(c).ok());
    ASSERT_TRUE(sink->Finish().ok());
  }
  EXPECT_EQ(Files(), (std::vector<std::string>{"part-0"}));
  EXPECT_EQ(Read("part-0"), Lines(7, 8));
  auto sink = Open(ctx);
  absl::Status bad = sink->RestoreState("cdcflow-file-sink 1 0 1 x 0");
  EXPECT_EQ(bad.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(bad.message()).find(dir_.string()), std::string::npos) << bad;
}

TEST(StdoutSinkTest, PrefixesTheSubtaskWhenParallel) {
  auto sink = StdoutSink()();
  Ctx ctx(1, 2);
  ASSERT_TRUE(sink->Open(ctx).ok());
  RowBatch b = TwoRows();
  ::testing::internal::CaptureStdout();
  ASSERT_TRUE(sink->WriteBatch(b).ok());
  ASSERT_TRUE(sink->Finish().ok());
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(out, "2> " + TwoRows().row(0).ToString() + "\n2> " + TwoRows().row(1).ToString() + "\n");
}

}  // namespace
}  // namespace cdcflow
