#include "runtime/graph/logical_graph.h"

#include "absl/strings/str_cat.h"

namespace cdcflow::graph {

JobGraphSpec LogicalGraph::Spec() const {
  JobGraphSpec spec;
  spec.job_name = job_name;
  for (const LogicalVertex& v : vertices) spec.vertices.push_back(v.spec);
  for (const LogicalEdge& e : edges) spec.edges.push_back(e.spec);
  return spec;
}

const KeySelector* LogicalGraph::KeyOf(int32_t vertex) const {
  for (const LogicalEdge& e : edges) {
    if (e.spec.target == vertex && e.spec.partitioning == Partitioning::kHash) return e.key.get();
  }
  return nullptr;
}

absl::StatusOr<LogicalGraph> Finalize(JobBuilder& builder) {
  if (!builder.status().ok()) return builder.status();
  LogicalGraph g = std::move(builder.impl().graph);
  builder.impl().graph = LogicalGraph();
  for (LogicalEdge& e : g.edges) {
    if (e.spec.partitioning == Partitioning::kAuto) {
      e.spec.partitioning = g.vertices[e.spec.source].spec.parallelism ==
                                    g.vertices[e.spec.target].spec.parallelism
                                ? Partitioning::kForward
                                : Partitioning::kRebalance;
    }
    if (e.spec.partitioning == Partitioning::kHash && e.key == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("edge ", e.spec.id, " is hash-partitioned without a key"));
    }
  }
  for (LogicalVertex& v : g.vertices) {
    // A vertex with more subtasks than key groups gets one key group per subtask.
    if (v.spec.max_parallelism < v.spec.parallelism && v.spec.max_parallelism == kDefaultMaxParallelism) {
      v.spec.max_parallelism = v.spec.parallelism;
    }
  }
  absl::Status status = g.Spec().Validate();
  if (!status.ok()) return status;
  return g;
}

absl::Status AdoptSubmittedSpec(LogicalGraph& graph, const JobGraphSpec& submitted) {
  absl::Status status = submitted.Validate();
  if (!status.ok()) return status;
  status = CheckSameTopology(submitted, graph.Spec());
  if (!status.ok()) return status;
  graph.job_name = submitted.job_name;
  for (size_t i = 0; i < submitted.vertices.size(); ++i) {
    graph.vertices[i].spec.parallelism = submitted.vertices[i].parallelism;
    graph.vertices[i].spec.max_parallelism = submitted.vertices[i].max_parallelism;
  }
  for (size_t i = 0; i < submitted.edges.size(); ++i) {
    graph.edges[i].spec.partitioning = submitted.edges[i].partitioning;
  }
  return absl::OkStatus();
}

}  // namespace cdcflow::graph
