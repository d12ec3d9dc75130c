#pragma once
// The job graph's topology as plain data: what travels between processes.
//
// Operators are C++ objects inside the job plugin, so they cannot travel. Every process
// that runs a job loads the plugin and re-runs its build function with the same
// arguments; the JobGraphSpec built there must equal the one the job was submitted with
// (CheckSameTopology), and the ExecutionPlan derived from it is then identical too.
// These structs hold no pointers: a proto conversion is a field-by-field copy.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/job.h"

namespace cdcflow::graph {

// Numeric values travel between processes: never renumber.
enum class VertexKind : uint8_t {
  kSource = 0,
  kOperator = 1,      // a user or built-in Operator (map, filter, flat_map, transform)
  kKeyedProcess = 2,  // a KeyedProcessFunction run by the runtime's keyed operator
  kSink = 3,
};
const char* VertexKindName(VertexKind kind);
const char* PartitioningName(Partitioning partitioning);

struct VertexSpec {
  int32_t id = 0;  // index in JobGraphSpec::vertices
  std::string name;
  VertexKind kind = VertexKind::kOperator;
  int32_t parallelism = 1;
  int32_t max_parallelism = kDefaultMaxParallelism;  // key groups of keyed state/exchange
  friend bool operator==(const VertexSpec&, const VertexSpec&) = default;
};

struct EdgeSpec {
  int32_t id = 0;  // index in JobGraphSpec::edges
  int32_t source = 0;        // vertex id
  int32_t target = 0;        // vertex id
  int32_t target_input = 0;  // which input of the target (0 unless it has several)
  Partitioning partitioning = Partitioning::kForward;  // never kAuto once finalized
  std::string key_description;  // KeySelector::Describe() for kHash, else empty
  friend bool operator==(const EdgeSpec&, const EdgeSpec&) = default;
};

struct JobGraphSpec {
  std::string job_name;
  std::vector<VertexSpec> vertices;
  std::vector<EdgeSpec> edges;
  friend bool operator==(const JobGraphSpec&, const JobGraphSpec&) = default;

  // Structural checks a graph from the wire must pass (ids in range and dense,
  // parallelism >= 1, forward edges between equal parallelism, no cycles, ...).
  absl::Status Validate() const;
  // A multi-line human-readable form (for `cdcflow run --dry-run`, logs, errors).
  std::string ToString() const;
};

// kFailedPrecondition naming the first difference when `rebuilt` (from re-running the
// plugin in this process) differs from `submitted`.
absl::Status CheckSameTopology(const JobGraphSpec& submitted, const JobGraphSpec& rebuilt);

// Operator chains: vertices connected by forward edges with equal parallelism, where
// the upstream vertex has that one output and the downstream vertex that one input,
// run fused in one task thread. A task is (chain, subtask index).
struct ChainSpec {
  int32_t id = 0;
  std::vector<int32_t> vertices;  // head (receives the chain's inputs) first
  int32_t parallelism = 1;
  std::string name;  // "source -> map -> filter"
  friend bool operator==(const ChainSpec&, const ChainSpec&) = default;
};

struct ExecutionPlan {
  std::vector<ChainSpec> chains;
  std::vector<int32_t> chain_of_vertex;  // by vertex id
  // Edges between chains (exchanges), by edge id; chained edges are not listed.
  std::vector<int32_t> exchange_edges;
  // Per chain: the exchange edges entering its head, in edge-id order; and leaving its tail.
  std::vector<std::vector<int32_t>> chain_inputs;
  std::vector<std::vector<int32_t>> chain_outputs;
  int32_t TotalTasks() const;
};

// Requires a valid spec.
ExecutionPlan BuildExecutionPlan(const JobGraphSpec& spec);

}  // namespace cdcflow::graph
