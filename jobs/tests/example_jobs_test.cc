#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/local/local_job.h"
#include "runtime/plugin/plugin_loader.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow {
namespace {

namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  return cdcflow::testing::NewScratchPath(name);
}

// Every line of every part file under `dir`, sorted.
std::vector<std::string> ReadParts(const std::string& dir) {
  std::vector<std::string> lines;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> Sorted(std::vector<Row> rows) {
  std::vector<std::string> lines;
  for (const Row& r : rows) lines.push_back(r.ToString());
  std::sort(lines.begin(), lines.end());
  return lines;
}

absl::Status RunPlugin(const char* so, const std::vector<std::string>& args, int parallelism) {
  auto plugin = plugin::JobPlugin::Open(so);
  if (!plugin.ok()) return plugin.status();
  auto job_args = JobArgs::Parse(args);
  if (!job_args.ok()) return job_args.status();
  auto graph = (*plugin)->Build(*job_args, parallelism);
  if (!graph.ok()) return graph.status();
  auto job = local::LocalJob::Start(&*graph, &*job_args);
  if (!job.ok()) return job.status();
  return (*job)->Wait();
}

std::vector<std::string> ExpectedKeyedSum(int64_t records, int64_t keys) {
  std::vector<Row> rows;
  for (int64_t k = 0; k < keys && k < records; ++k) {
    int64_t sum = 0, count = 0;
    for (int64_t i = k; i < records; i += keys) {
      sum += i;
      ++count;
    }
    Row r;
    r.fields = {Value::Str("k" + std::to_string(k)), Value::Int64(sum), Value::Int64(count)};
    rows.push_back(std::move(r));
  }
  return Sorted(std::move(rows));
}

class ExampleJobsTest : public ::testing::TestWithParam<int> {};

TEST_P(ExampleJobsTest, KeyedSumWritesOneExactSumPerKey) {
  const int p = GetParam();
  std::string out = FreshDir("keyed_sum_p" + std::to_string(p));
  absl::Status s = RunPlugin(KEYED_SUM_SO, {"records=50000", "keys=37", "output=" + out}, p);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadParts(out), ExpectedKeyedSum(50000, 37));
  // One part file per sink subtask.
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), p);
}

TEST_P(ExampleJobsTest, MapFilterKeepsMultiplesOfThree) {
  const int p = GetParam();
  std::string out = FreshDir("map_filter_p" + std::to_string(p));
  absl::Status s = RunPlugin(MAP_FILTER_SO, {"records=1000", "output=" + out}, p);
  ASSERT_TRUE(s.ok()) << s;
  std::vector<Row> expected;
  for (int64_t i = 0; i < 1000; i += 3) {
    Row r;
    r.fields = {Value::Int64(i), Value::Int64(i * i % 1000), Value::Str(i % 2 == 0 ? "even" : "odd")};
    expected.push_back(std::move(r));
  }
  EXPECT_EQ(ReadParts(out), Sorted(std::move(expected)));
}

INSTANTIATE_TEST_SUITE_P(Parallelism, ExampleJobsTest, ::testing::Values(1, 4));

TEST(ExampleJobsTest, BadArgumentsFailTheBuild) {
  absl::Status s = RunPlugin(KEYED_SUM_SO, {"records=many"}, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("records"), std::string::npos) << s;
}

int RunCli(const std::string& args) {
  int rc = std::system((std::string(CDCFLOW_BIN) + " " + args + " 2>/dev/null").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(CdcflowRunTest, RunsAJobLocallyAndReportsErrorsByExitCode) {
  std::string out = FreshDir("cli_keyed_sum");
  EXPECT_EQ(RunCli(std::string("run ") + KEYED_SUM_SO + " -p 4 -q -- records=10000 keys=11 output=" + out), 0);
  EXPECT_EQ(ReadParts(out), ExpectedKeyedSum(10000, 11));
  EXPECT_NE(RunCli(std::string("run ") + KEYED_SUM_SO + " -q -- records=oops"), 0);
  EXPECT_NE(RunCli(std::string("run ") + KEYED_SUM_SO + " -q -- not-key-value"), 0);
  EXPECT_NE(RunCli("run /nonexistent/job.so -q"), 0);
  EXPECT_NE(RunCli("run"), 0);  // the plugin is required
}

}  // namespace
}  // namespace cdcflow
