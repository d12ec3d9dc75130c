#include "runtime/cluster/graph_proto.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cdcflow::cluster {
namespace {

using ::testing::HasSubstr;

// source(4) --hash--> sum(4) --forward--> sink(4): two chains.
graph::JobGraphSpec KeyedSpec() {
  graph::JobGraphSpec spec;
  spec.job_name = "keyed";
  spec.vertices = {{0, "numbers", graph::VertexKind::kSource, 4, 128},
                   {1, "sum", graph::VertexKind::kKeyedProcess, 4, 128},
                   {2, "out", graph::VertexKind::kSink, 4, 128}};
  spec.edges = {{0, 0, 1, 0, Partitioning::kHash, "fields[0]"},
                {1, 1, 2, 0, Partitioning::kForward, ""}};
  return spec;
}

TEST(GraphProtoTest, RoundTrips) {
  graph::JobGraphSpec spec = KeyedSpec();
  v1::JobGraph wire = ToProto(spec);
  v1::JobGraph parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire.SerializeAsString()));
  auto back = FromProto(parsed);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, spec);
}

TEST(GraphProtoTest, PlansChains) {
  auto chains = PlanChains(ToProto(KeyedSpec()));
  ASSERT_TRUE(chains.ok()) << chains.status();
  ASSERT_EQ(chains->size(), 2u);
  EXPECT_EQ((*chains)[0].vertices, std::vector<int32_t>{0});
  EXPECT_EQ((*chains)[1].vertices, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ((*chains)[1].parallelism, 4);
}

TEST(GraphProtoTest, RefusesUnknownKindsAndInvalidGraphs) {
  v1::JobGraph wire = ToProto(KeyedSpec());
  wire.mutable_vertices(1)->set_kind(9);
  auto bad = FromProto(wire);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("vertex 1 (sum) has unknown kind 9"));

  wire = ToProto(KeyedSpec());
  wire.mutable_edges(0)->set_partitioning(77);
  EXPECT_THAT(FromProto(wire).status().message(), HasSubstr("edge 0 has unknown partitioning"));

  wire = ToProto(KeyedSpec());
  wire.mutable_vertices(2)->set_parallelism(0);
  EXPECT_EQ(FromProto(wire).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(PlanChains(v1::JobGraph()).ok());
}

}  // namespace
}  // namespace cdcflow::cluster
