#pragma once
// The in-process job graph: JobGraphSpec plus the factories and key selectors from the
// plugin. Lives as long as the loaded plugin (its factories are code in the plugin).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/job.h"
#include "runtime/graph/job_graph.h"

namespace cdcflow::graph {

struct LogicalVertex {
  VertexSpec spec;
  bool parallelism_set = false;  // SetParallelism called (else the default applies)
  SourceFactory source;          // kSource
  OperatorFactory op;            // kOperator
  KeyedProcessFactory keyed;     // kKeyedProcess
  SinkFactory sink;              // kSink
};

struct LogicalEdge {
  EdgeSpec spec;
  std::shared_ptr<const KeySelector> key;  // kHash only
};

struct LogicalGraph {
  std::string job_name;
  std::vector<LogicalVertex> vertices;
  std::vector<LogicalEdge> edges;

  // The topology; partitioning already resolved (see Finalize).
  JobGraphSpec Spec() const;
  // The key selector feeding a keyed vertex (its single kHash input edge).
  const KeySelector* KeyOf(int32_t vertex) const;
};

}  // namespace cdcflow::graph

namespace cdcflow {

struct JobBuilder::Impl {
  JobArgs args;
  int default_parallelism = 1;
  graph::LogicalGraph graph;
  absl::Status status;
};

}  // namespace cdcflow

namespace cdcflow::graph {

// Resolves kAuto partitioning and checks what the builder could not (keyed process
// without a hash input, forward between different parallelism, ...). Takes the graph
// out of the builder.
absl::StatusOr<LogicalGraph> Finalize(JobBuilder& builder);

// For a process that rebuilt the graph from the plugin (a task manager): checks that
// its topology equals the submitted one (CheckSameTopology) and takes the submitted
// parallelism, max parallelism and partitioning of every vertex and edge, so that
// graph.Spec() == submitted afterwards whatever default parallelism was used here.
absl::Status AdoptSubmittedSpec(LogicalGraph& graph, const JobGraphSpec& submitted);

}  // namespace cdcflow::graph
