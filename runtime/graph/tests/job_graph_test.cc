#include "runtime/graph/job_graph.h"

#include "cdcflow/job.h"
#include "gtest/gtest.h"
#include "runtime/graph/logical_graph.h"

namespace cdcflow::graph {
namespace {

Row IntRow(int64_t v) {
  Row r;
  r.fields.push_back(Value::Int64(v));
  return r;
}

class NopSink : public SinkFunction {
 public:
  absl::Status WriteBatch(RowBatch&) override { return absl::OkStatus(); }
};
class NopKeyed : public KeyedProcessFunction {
 public:
  absl::Status ProcessElement(Row&, KeyedContext&, Collector&) override { return absl::OkStatus(); }
};

SinkFactory Nop() {
  return []() -> std::unique_ptr<SinkFunction> { return std::make_unique<NopSink>(); };
}

TEST(JobGraphTest, ChainsForwardEdgesAndSplitsAtShuffles) {
  JobBuilder job(JobArgs(), 2);
  job.Source("gen", Generator(10, IntRow))
      .Map("map", [](Row r) { return r; })
      .Filter("filter", [](const Row&) { return true; })
      .KeyBy({0})
      .Process("sum", [] { return std::make_unique<NopKeyed>(); })
      .SinkTo("out", Nop())
      .SetParallelism(1);
  auto g = Finalize(job);
  ASSERT_TRUE(g.ok()) << g.status();
  JobGraphSpec spec = g->Spec();
  ASSERT_EQ(spec.vertices.size(), 5u);
  ASSERT_EQ(spec.edges.size(), 4u);
  EXPECT_EQ(spec.edges[0].partitioning, Partitioning::kForward);
  EXPECT_EQ(spec.edges[2].partitioning, Partitioning::kHash);
  EXPECT_EQ(spec.edges[2].key_description, "fields[0]");
  // sum has parallelism 2, out 1: kAuto resolves to rebalance.
  EXPECT_EQ(spec.edges[3].partitioning, Partitioning::kRebalance);
  EXPECT_EQ(spec.vertices[3].kind, VertexKind::kKeyedProcess);
  EXPECT_EQ(spec.vertices[4].kind, VertexKind::kSink);
  EXPECT_TRUE(spec.Validate().ok());

  ExecutionPlan plan = BuildExecutionPlan(spec);
  ASSERT_EQ(plan.chains.size(), 3u);
  EXPECT_EQ(plan.chains[0].name, "gen -> map -> filter");
  EXPECT_EQ(plan.chains[1].name, "sum");
  EXPECT_EQ(plan.chains[2].name, "out");
  EXPECT_EQ(plan.exchange_edges, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(plan.TotalTasks(), 2 + 2 + 1);
  EXPECT_EQ(plan.chain_inputs[1], std::vector<int32_t>{2});
  EXPECT_EQ(plan.chain_outputs[0], std::vector<int32_t>{2});
  EXPECT_NE(g->KeyOf(3), nullptr);
}

TEST(JobGraphTest, KeyedProcessWithoutKeyByIsRefused) {
  JobBuilder job(JobArgs(), 1);
  job.Source("gen", Generator(10, IntRow))
      .Process("sum", [] { return std::make_unique<NopKeyed>(); })
      .SinkTo("out", Nop());
  auto g = Finalize(job);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("KeyBy"), std::string::npos) << g.status();
}

TEST(JobGraphTest, ForwardBetweenDifferentParallelismIsRefused) {
  JobBuilder job(JobArgs(), 2);
  job.Source("gen", Generator(10, IntRow)).Forward().SinkTo("out", Nop()).SetParallelism(3);
  auto g = Finalize(job);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("'gen' -> 'out'"), std::string::npos) << g.status();
}

TEST(JobGraphTest, BadParallelismAndSinkAsInputAreRecorded) {
  JobBuilder job(JobArgs(), 1);
  Stream sink = job.Source("gen", Generator(10, IntRow)).SinkTo("out", Nop());
  sink.Map("after-sink", [](Row r) { return r; });
  EXPECT_FALSE(job.status().ok());
  JobBuilder job2(JobArgs(), 1);
  job2.Source("gen", Generator(10, IntRow)).SetParallelism(0);
  EXPECT_FALSE(job2.status().ok());
}

TEST(JobGraphTest, ValidateRejectsMalformedSpecs) {
  JobGraphSpec spec;
  EXPECT_FALSE(spec.Validate().ok());
  spec.vertices = {{0, "src", VertexKind::kSource, 1, 128}, {1, "sink", VertexKind::kSink, 1, 128}};
  spec.edges = {{0, 0, 1, 0, Partitioning::kForward, ""}};
  EXPECT_TRUE(spec.Validate().ok());
  JobGraphSpec backwards = spec;
  backwards.edges[0].source = 1;
  backwards.edges[0].target = 0;
  EXPECT_FALSE(backwards.Validate().ok());
  JobGraphSpec unresolved = spec;
  unresolved.edges[0].partitioning = Partitioning::kAuto;
  EXPECT_FALSE(unresolved.Validate().ok());
  JobGraphSpec orphan = spec;
  orphan.edges.clear();
  EXPECT_FALSE(orphan.Validate().ok());
  JobGraphSpec bad_parallelism = spec;
  bad_parallelism.vertices[1].parallelism = 0;
  EXPECT_FALSE(bad_parallelism.Validate().ok());
}

TEST(JobGraphTest, CheckSameTopologyNamesTheDifference) {
  JobGraphSpec a;
  a.vertices = {{0, "src", VertexKind::kSource, 1, 128}, {1, "sink", VertexKind::kSink, 1, 128}};
  a.edges = {{0, 0, 1, 0, Partitioning::kForward, ""}};
  JobGraphSpec b = a;
  b.vertices[1].parallelism = 4;  // parallelism may be overridden
  EXPECT_TRUE(CheckSameTopology(a, b).ok());
  b.vertices[1].name = "other";
  absl::Status s = CheckSameTopology(a, b);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("'other'"), std::string::npos);
}

TEST(JobArgsTest, ParsesAndRefusesMalformed) {
  auto args = JobArgs::Parse({"records=100", "name=a=b", "flag=true"});
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(args->Get("name"), "a=b");
  EXPECT_EQ(*args->GetInt("records", 0), 100);
  EXPECT_EQ(*args->GetInt("missing", 7), 7);
  EXPECT_TRUE(*args->GetBool("flag", false));
  EXPECT_FALSE(args->GetInt("name", 0).ok());
  EXPECT_EQ(args->ToStrings(), (std::vector<std::string>{"flag=true", "name=a=b", "records=100"}));
  EXPECT_FALSE(JobArgs::Parse({"novalue"}).ok());
  EXPECT_FALSE(JobArgs::Parse({"=x"}).ok());
}

}  // namespace
}  // namespace cdcflow::graph

namespace cdcflow::graph {
namespace {

TEST(AdoptSubmittedSpecTest, TakesTheSubmittedParallelismAndRefusesOtherGraphs) {
  auto build = [](int parallelism, bool extra) {
    JobBuilder job(JobArgs(), parallelism);
    Stream s = job.Source("gen", Generator(10, IntRow));
    if (extra) s = s.Map("extra", [](Row r) { return r; });
    s.SinkTo("out", Nop());
    return Finalize(job);
  };
  auto submitted = build(4, false);
  ASSERT_TRUE(submitted.ok());
  auto rebuilt = build(1, false);
  ASSERT_TRUE(rebuilt.ok());
  ASSERT_TRUE(AdoptSubmittedSpec(*rebuilt, submitted->Spec()).ok());
  EXPECT_EQ(rebuilt->Spec(), submitted->Spec());
  auto different = build(4, true);
  ASSERT_TRUE(different.ok());
  EXPECT_EQ(AdoptSubmittedSpec(*different, submitted->Spec()).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cdcflow::graph
