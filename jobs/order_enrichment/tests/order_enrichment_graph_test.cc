// The order_enrichment plugin loads, builds the seed pipeline's graph from its arguments,
// and its sources and sinks (created through cdcflow/connectors.h in the host) instantiate.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cdcflow/job_args.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/graph/logical_graph.h"
#include "runtime/plugin/plugin_loader.h"

namespace cdcflow {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<graph::LogicalGraph> BuildJob(const std::vector<std::string>& args,
                                             int parallelism = 2) {
  static auto* plugin = [] {
    auto p = plugin::JobPlugin::Open(ORDER_ENRICHMENT_SO);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? p->release() : nullptr;
  }();
  if (plugin == nullptr) return absl::InternalError("plugin did not load");
  auto job_args = JobArgs::Parse(args);
  if (!job_args.ok()) return job_args.status();
  return plugin->Build(*job_args, parallelism);
}

std::map<std::string, const graph::LogicalVertex*> ByName(const graph::LogicalGraph& g) {
  std::map<std::string, const graph::LogicalVertex*> out;
  for (const auto& v : g.vertices) out[v.spec.name] = &v;
  return out;
}

TEST(OrderEnrichmentGraphTest, DefaultArgumentsBuildTheWholePipeline) {
  auto g = BuildJob({});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->job_name, "order_enrichment");
  auto v = ByName(*g);
  std::set<std::string> names;
  for (const auto& [name, _] : v) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"orders", "orders_columns", "shipments",
                                          "shipments_columns", "products", "products_columns",
                                          "orders_shipments", "with_products", "enriched",
                                          "materialize", "kafka", "elasticsearch"}));
  for (const auto& vertex : g->vertices) EXPECT_EQ(vertex.spec.parallelism, 2) << vertex.spec.name;

  // Both join inputs and the materializer's input are hash shuffles on the right fields.
  std::map<std::pair<std::string, std::string>, const graph::LogicalEdge*> edges;
  for (const auto& e : g->edges) {
    edges[{g->vertices[e.spec.source].spec.name, g->vertices[e.spec.target].spec.name}] = &e;
  }
  auto expect_hash = [&](const char* from, const char* to, const char* key, int input) {
    auto it = edges.find({from, to});
    ASSERT_NE(it, edges.end()) << from << " -> " << to;
    EXPECT_EQ(it->second->spec.partitioning, Partitioning::kHash) << from << " -> " << to;
    EXPECT_EQ(it->second->spec.key_description, key) << from << " -> " << to;
    EXPECT_EQ(it->second->spec.target_input, input) << from << " -> " << to;
  };
  expect_hash("orders_columns", "orders_shipments", "fields[0]", 0);
  expect_hash("shipments_columns", "orders_shipments", "fields[1]", 1);
  expect_hash("orders_shipments", "with_products", "fields[4]", 0);
  expect_hash("products_columns", "with_products", "fields[0]", 1);
  expect_hash("enriched", "materialize", "fields[0]", 0);
  EXPECT_EQ(edges.at({"materialize", "kafka"})->spec.partitioning, Partitioning::kForward);
  EXPECT_EQ(edges.at({"materialize", "elasticsearch"})->spec.partitioning, Partitioning::kForward);

  // The connectors behind the SDK factories are real objects of the host.
  for (const char* source : {"orders", "shipments", "products"}) {
    std::unique_ptr<SourceFunction> s = v.at(source)->source();
    ASSERT_NE(s, nullptr) << source;
    EXPECT_NE(s->AsSplitSource(), nullptr) << source << " is a Kafka split source";
  }
  for (const char* sink : {"kafka", "elasticsearch"}) {
    std::unique_ptr<SinkFunction> s = v.at(sink)->sink();
    EXPECT_NE(s, nullptr) << sink;
  }
}

TEST(OrderEnrichmentGraphTest, SinkArgumentChoosesTheSinks) {
  for (const auto& [arg, expected] : std::vector<std::pair<std::string, std::set<std::string>>>{
           {"sink=kafka", {"kafka"}},
           {"sink=elasticsearch", {"elasticsearch"}},
           {"sink=both", {"kafka", "elasticsearch"}},
           {"sink=elasticsearch,kafka", {"kafka", "elasticsearch"}}}) {
    auto g = BuildJob({arg}, 1);
    ASSERT_TRUE(g.ok()) << arg << ": " << g.status();
    std::set<std::string> sinks;
    for (const auto& vertex : g->vertices) {
      if (vertex.spec.kind == graph::VertexKind::kSink) sinks.insert(vertex.spec.name);
    }
    EXPECT_EQ(sinks, expected) << arg;
  }
}

TEST(OrderEnrichmentGraphTest, ReplayProtectionCanBeTurnedOff) {
  for (const char* arg : {"replay_protection=true", "replay_protection=false"}) {
    auto g = BuildJob({arg}, 1);
    ASSERT_TRUE(g.ok()) << arg << ": " << g.status();
    EXPECT_EQ(g->vertices.size(), 12u) << arg;
  }
}

TEST(OrderEnrichmentGraphTest, BadArgumentsAreRefusedNamingThem) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"sink=s3"}, "argument sink: 's3'"},
           {{"es_url=ftp://somewhere"}, "'hosts' must start with http:// or https://"},
           {{"es_index=Upper"}, "index"},
           {{"source.no.such.option=1"}, "unknown kafka source option 'no.such.option'"},
           {{"kafka.format=csv"}, "is not one of debezium-json"},
           {{"startup_mode=yesterday"}, "scan.startup.mode"},
           {{"bootstrap_servers="}, "bootstrap.servers"},
           {{"replay_protection=perhaps"}, "replay_protection"}}) {
    auto g = BuildJob(c.args, 1);
    ASSERT_FALSE(g.ok()) << c.args[0];
    EXPECT_THAT(std::string(g.status().message()), HasSubstr(c.message)) << c.args[0];
  }
}

}  // namespace
}  // namespace cdcflow
