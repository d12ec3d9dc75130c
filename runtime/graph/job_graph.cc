#include "runtime/graph/job_graph.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace cdcflow::graph {

const char* VertexKindName(VertexKind kind) {
  switch (kind) {
    case VertexKind::kSource: return "source";
    case VertexKind::kOperator: return "operator";
    case VertexKind::kKeyedProcess: return "keyed-process";
    case VertexKind::kSink: return "sink";
  }
  return "unknown";
}

const char* PartitioningName(Partitioning partitioning) {
  switch (partitioning) {
    case Partitioning::kAuto: return "auto";
    case Partitioning::kForward: return "forward";
    case Partitioning::kHash: return "hash";
    case Partitioning::kBroadcast: return "broadcast";
    case Partitioning::kRebalance: return "rebalance";
  }
  return "unknown";
}

namespace {
std::string EdgeName(const JobGraphSpec& g, const EdgeSpec& e) {
  return absl::StrCat("edge ", e.id, " '", g.vertices[e.source].name, "' -> '",
                      g.vertices[e.target].name, "'");
}
}  // namespace

absl::Status JobGraphSpec::Validate() const {
  if (vertices.empty()) return absl::InvalidArgumentError("job graph has no vertices");
  const int32_t n = static_cast<int32_t>(vertices.size());
  bool has_source = false;
  for (int32_t i = 0; i < n; ++i) {
    const VertexSpec& v = vertices[i];
    if (v.id != i) {
      return absl::InvalidArgumentError(absl::StrCat("vertex '", v.name, "' has id ", v.id,
                                                     ", expected ", i));
    }
    if (v.parallelism < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("vertex '", v.name, "': parallelism ", v.parallelism, " is below 1"));
    }
    if (v.max_parallelism < v.parallelism) {
      return absl::InvalidArgumentError(
          absl::StrCat("vertex '", v.name, "': max parallelism ", v.max_parallelism,
                       " is below its parallelism ", v.parallelism));
    }
    if (static_cast<uint8_t>(v.kind) > static_cast<uint8_t>(VertexKind::kSink)) {
      return absl::InvalidArgumentError(absl::StrCat("vertex '", v.name, "': unknown kind"));
    }
    has_source |= v.kind == VertexKind::kSource;
  }
  if (!has_source) return absl::InvalidArgumentError("job graph has no source");
  std::vector<std::vector<int32_t>> inputs_of(n);
  std::vector<int32_t> outputs(n, 0);
  for (int32_t i = 0; i < static_cast<int32_t>(edges.size()); ++i) {
    const EdgeSpec& e = edges[i];
    if (e.id != i) return absl::InvalidArgumentError(absl::StrCat("edge ", i, " has id ", e.id));
    if (e.source < 0 || e.source >= n || e.target < 0 || e.target >= n) {
      return absl::InvalidArgumentError(absl::StrCat("edge ", i, " refers to a missing vertex"));
    }
    // The builder only draws edges to newer vertices: this also rules out cycles.
    if (e.source >= e.target) {
      return absl::InvalidArgumentError(absl::StrCat(EdgeName(*this, e), " goes backwards"));
    }
    const VertexSpec& src = vertices[e.source];
    const VertexSpec& dst = vertices[e.target];
    if (src.kind == VertexKind::kSink) {
      return absl::InvalidArgumentError(absl::StrCat(EdgeName(*this, e), " leaves a sink"));
    }
    if (dst.kind == VertexKind::kSource) {
      return absl::InvalidArgumentError(absl::StrCat(EdgeName(*this, e), " enters a source"));
    }
    switch (e.partitioning) {
      case Partitioning::kForward:
        if (src.parallelism != dst.parallelism) {
          return absl::InvalidArgumentError(absl::StrCat(
              EdgeName(*this, e), " is forward but connects parallelism ", src.parallelism,
              " to ", dst.parallelism, " (use Rebalance or KeyBy)"));
        }
        break;
      case Partitioning::kHash:
      case Partitioning::kBroadcast:
      case Partitioning::kRebalance:
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat(EdgeName(*this, e), " has unresolved or unknown partitioning"));
    }
    inputs_of[e.target].push_back(e.target_input);
    ++outputs[e.source];
  }
  for (int32_t i = 0; i < n; ++i) {
    const VertexSpec& v = vertices[i];
    if (v.kind != VertexKind::kSource && inputs_of[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("vertex '", v.name, "' has no input"));
    }
    std::vector<bool> seen(inputs_of[i].size(), false);
    for (int32_t input : inputs_of[i]) {
      if (input < 0 || input >= static_cast<int32_t>(seen.size()) || seen[input]) {
        return absl::InvalidArgumentError(
            absl::StrCat("vertex '", v.name, "': input indices are not 0..", seen.size() - 1));
      }
      seen[input] = true;
    }
    if (v.kind == VertexKind::kKeyedProcess) {
      if (inputs_of[i].size() != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("keyed process '", v.name, "' must have exactly one input"));
      }
      for (const EdgeSpec& e : edges) {
        if (e.target == i && e.partitioning != Partitioning::kHash) {
          return absl::InvalidArgumentError(absl::StrCat(
              "keyed process '", v.name, "' needs a keyed (hash) input: call KeyBy before Process"));
        }
      }
    }
  }
  return absl::OkStatus();
}

std::string JobGraphSpec::ToString() const {
  std::string out = absl::StrCat("job ", job_name.empty() ? "(unnamed)" : job_name, "\n");
  for (const VertexSpec& v : vertices) {
    absl::StrAppend(&out, "  vertex ", v.id, " '", v.name, "' ", VertexKindName(v.kind),
                    " parallelism=", v.parallelism, " max_parallelism=", v.max_parallelism, "\n");
  }
  for (const EdgeSpec& e : edges) {
    absl::StrAppend(&out, "  edge ", e.id, " ", e.source, " -> ", e.target, ":", e.target_input,
                    " ", PartitioningName(e.partitioning),
                    e.key_description.empty() ? "" : " ", e.key_description, "\n");
  }
  return out;
}

absl::Status CheckSameTopology(const JobGraphSpec& submitted, const JobGraphSpec& rebuilt) {
  auto differ = [](std::string what) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the job graph rebuilt from the plugin differs from the submitted one (", what,
        "); the build function must build the same graph for the same arguments"));
  };
  if (submitted.vertices.size() != rebuilt.vertices.size()) {
    return differ(absl::StrCat(submitted.vertices.size(), " vs ", rebuilt.vertices.size(),
                               " vertices"));
  }
  if (submitted.edges.size() != rebuilt.edges.size()) {
    return differ(absl::StrCat(submitted.edges.size(), " vs ", rebuilt.edges.size(), " edges"));
  }
  for (size_t i = 0; i < submitted.vertices.size(); ++i) {
    const VertexSpec& a = submitted.vertices[i];
    const VertexSpec& b = rebuilt.vertices[i];
    // Parallelism may legitimately differ: the submitter can override it.
    if (a.name != b.name || a.kind != b.kind) {
      return differ(absl::StrCat("vertex ", i, " is '", a.name, "' vs '", b.name, "'"));
    }
  }
  for (size_t i = 0; i < submitted.edges.size(); ++i) {
    const EdgeSpec& a = submitted.edges[i];
    const EdgeSpec& b = rebuilt.edges[i];
    if (a.source != b.source || a.target != b.target || a.target_input != b.target_input ||
        a.key_description != b.key_description ||
        (a.partitioning == Partitioning::kHash) != (b.partitioning == Partitioning::kHash)) {
      return differ(absl::StrCat("edge ", i));
    }
  }
  return absl::OkStatus();
}

int32_t ExecutionPlan::TotalTasks() const {
  int32_t total = 0;
  for (const ChainSpec& c : chains) total += c.parallelism;
  return total;
}

ExecutionPlan BuildExecutionPlan(const JobGraphSpec& spec) {
  const size_t n = spec.vertices.size();
  std::vector<std::vector<int32_t>> in_edges(n), out_edges(n);
  for (const EdgeSpec& e : spec.edges) {
    in_edges[e.target].push_back(e.id);
    out_edges[e.source].push_back(e.id);
  }
  ExecutionPlan plan;
  plan.chain_of_vertex.assign(n, -1);
  std::vector<bool> chained_edge(spec.edges.size(), false);
  for (size_t v = 0; v < n; ++v) {
    const VertexSpec& vs = spec.vertices[v];
    int32_t chain = -1;
    if (in_edges[v].size() == 1) {
      const EdgeSpec& e = spec.edges[in_edges[v][0]];
      const VertexSpec& up = spec.vertices[e.source];
      if (e.partitioning == Partitioning::kForward && up.parallelism == vs.parallelism &&
          out_edges[e.source].size() == 1) {
        chain = plan.chain_of_vertex[e.source];
        chained_edge[e.id] = true;
      }
    }
    if (chain < 0) {
      chain = static_cast<int32_t>(plan.chains.size());
      ChainSpec c;
      c.id = chain;
      c.parallelism = vs.parallelism;
      plan.chains.push_back(std::move(c));
    }
    plan.chains[chain].vertices.push_back(static_cast<int32_t>(v));
    plan.chain_of_vertex[v] = chain;
  }
  plan.chain_inputs.resize(plan.chains.size());
  plan.chain_outputs.resize(plan.chains.size());
  for (const EdgeSpec& e : spec.edges) {
    if (chained_edge[e.id]) continue;
    plan.exchange_edges.push_back(e.id);
    plan.chain_inputs[plan.chain_of_vertex[e.target]].push_back(e.id);
    plan.chain_outputs[plan.chain_of_vertex[e.source]].push_back(e.id);
  }
  for (ChainSpec& c : plan.chains) {
    std::vector<std::string> names;
    for (int32_t v : c.vertices) names.push_back(spec.vertices[v].name);
    c.name = absl::StrJoin(names, " -> ");
  }
  return plan;
}

}  // namespace cdcflow::graph
