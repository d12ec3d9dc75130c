#include "runtime/plugin/plugin_loader.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::plugin {
namespace {

using ::testing::HasSubstr;

std::string TempDir() {
  static const std::string dir = cdcflow::testing::NewScratchDir("plugin_test");
  return dir;
}

void ExpectErrorNamesFile(const absl::Status& s, const std::string& path) {
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(path));
}

TEST(PluginLoaderTest, LoadsAndBuildsAGoodPlugin) {
  auto plugin = JobPlugin::Open(GOOD_PLUGIN);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  EXPECT_EQ((*plugin)->abi_version(), CDCFLOW_JOB_ABI_VERSION);
  auto args = JobArgs::Parse({"records=5"});
  ASSERT_TRUE(args.ok());
  auto graph = (*plugin)->Build(*args, 3);
  ASSERT_TRUE(graph.ok()) << graph.status();
  graph::JobGraphSpec spec = graph->Spec();
  EXPECT_EQ(spec.job_name, "good");
  ASSERT_EQ(spec.vertices.size(), 3u);
  EXPECT_EQ(spec.vertices[1].name, "square");
  EXPECT_EQ(spec.vertices[1].parallelism, 3);
  // The factories produce working instances (code inside the plugin).
  auto op = graph->vertices[1].op();
  ASSERT_NE(op, nullptr);
  RowBatch in;
  Row r;
  r.fields.push_back(Value::Int64(7));
  in.Append(r);
  RowBatch out;
  Collector c(&out);
  ASSERT_TRUE(op->ProcessBatch(0, in, c).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.row(0).fields[0].as_int64(), 49);
  op.reset();  // before the graph and the plugin go
}

TEST(PluginLoaderTest, LoadsFromBytes) {
  auto bytes = ReadPluginFile(GOOD_PLUGIN);
  ASSERT_TRUE(bytes.ok());
  std::string dir = TempDir() + "/plugins";
  std::string path;
  {
    auto plugin = JobPlugin::OpenBytes(*bytes, dir);
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    path = (*plugin)->path();
    EXPECT_TRUE(std::filesystem::exists(path));
    auto graph = (*plugin)->Build(JobArgs(), 1);
    EXPECT_TRUE(graph.ok()) << graph.status();
  }
  EXPECT_FALSE(std::filesystem::exists(path));  // removed with the plugin
  auto garbage = JobPlugin::OpenBytes("not an elf file", dir);
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PluginLoaderTest, RefusesUnknownAbiVersion) {
  auto plugin = JobPlugin::Open(WRONG_ABI_PLUGIN);
  ASSERT_FALSE(plugin.ok());
  EXPECT_EQ(plugin.status().code(), absl::StatusCode::kFailedPrecondition);
  ExpectErrorNamesFile(plugin.status(), WRONG_ABI_PLUGIN);
  EXPECT_THAT(std::string(plugin.status().message()), HasSubstr("ABI version 999"));
}

TEST(PluginLoaderTest, RefusesMissingEntrySymbol) {
  auto plugin = JobPlugin::Open(NO_ENTRY_PLUGIN);
  ASSERT_FALSE(plugin.ok());
  ExpectErrorNamesFile(plugin.status(), NO_ENTRY_PLUGIN);
  EXPECT_THAT(std::string(plugin.status().message()), HasSubstr("cdcflow_job_entry"));
}

TEST(PluginLoaderTest, SurvivesAThrowingEntryPoint) {
  auto plugin = JobPlugin::Open(THROWING_ENTRY_PLUGIN);
  ASSERT_FALSE(plugin.ok());
  ExpectErrorNamesFile(plugin.status(), THROWING_ENTRY_PLUGIN);
  EXPECT_THAT(std::string(plugin.status().message()), HasSubstr("entry exploded"));
}

TEST(PluginLoaderTest, ReportsFailingAndThrowingBuildFunctions) {
  auto plugin = JobPlugin::Open(FAILING_BUILD_PLUGIN);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  auto failed = (*plugin)->Build(JobArgs(), 1);
  ExpectErrorNamesFile(failed.status(), FAILING_BUILD_PLUGIN);
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("records must be positive"));

  auto throw_args = JobArgs::Parse({"mode=throw"});
  auto thrown = (*plugin)->Build(*throw_args, 1);
  ExpectErrorNamesFile(thrown.status(), FAILING_BUILD_PLUGIN);
  EXPECT_THAT(std::string(thrown.status().message()), HasSubstr("build exploded"));

  auto bad_graph_args = JobArgs::Parse({"mode=bad-graph"});
  auto bad = (*plugin)->Build(*bad_graph_args, 1);
  ExpectErrorNamesFile(bad.status(), FAILING_BUILD_PLUGIN);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("KeyBy"));
}

TEST(PluginLoaderTest, RefusesATextFileNamedSo) {
  std::string path = TempDir() + "/not_a_plugin.so";
  std::ofstream(path) << "this is text, not an ELF shared object\n";
  auto plugin = JobPlugin::Open(path);
  ASSERT_FALSE(plugin.ok());
  EXPECT_EQ(plugin.status().code(), absl::StatusCode::kInvalidArgument);
  ExpectErrorNamesFile(plugin.status(), path);
  auto missing = JobPlugin::Open(TempDir() + "/does_not_exist.so");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cdcflow::plugin
