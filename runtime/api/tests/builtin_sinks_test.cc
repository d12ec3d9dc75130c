#include <filesystem>
#include <fstream>

#include "cdcflow/job.h"
#include "gtest/gtest.h"

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
  auto dir = std::filesystem::temp_directory_path() /
             ("cdcflow_file_sink_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
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
  auto file = std::filesystem::temp_directory_path() /
              ("cdcflow_file_sink_blocker_" + std::to_string(::getpid()));
  std::ofstream(file) << "x";
  auto sink = FileSink((file / "sub").string())();
  Ctx ctx(0, 1);
  absl::Status s = sink->Open(ctx);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find(file.string()), std::string::npos) << s;
  std::filesystem::remove(file);
}

TEST(StdoutSinkTest, PrefixesTheSubtaskWhenParallel) {
  auto sink = StdoutSink()();
  Ctx ctx(1, 2);
  ASSERT_TRUE(sink->Open(ctx).ok());
  RowBatch b = TwoRows();
  testing::internal::CaptureStdout();
  ASSERT_TRUE(sink->WriteBatch(b).ok());
  ASSERT_TRUE(sink->Finish().ok());
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(out, "2> " + TwoRows().row(0).ToString() + "\n2> " + TwoRows().row(1).ToString() + "\n");
}

}  // namespace
}  // namespace cdcflow
