#include "runtime/cluster/graph_proto.h"

#include "absl/strings/str_cat.h"

namespace cdcflow::cluster {

v1::JobGraph ToProto(const graph::JobGraphSpec& spec) {
  v1::JobGraph out;
  out.set_job_name(spec.job_name);
  for (const graph::VertexSpec& v : spec.vertices) {
    v1::Vertex* p = out.add_vertices();
    p->set_id(v.id);
    p->set_name(v.name);
    p->set_kind(static_cast<int32_t>(v.kind));
    p->set_parallelism(v.parallelism);
    p->set_max_parallelism(v.max_parallelism);
  }
  for (const graph::EdgeSpec& e : spec.edges) {
    v1::Edge* p = out.add_edges();
    p->set_id(e.id);
    p->set_source(e.source);
    p->set_target(e.target);
    p->set_target_input(e.target_input);
    p->set_partitioning(static_cast<int32_t>(e.partitioning));
    p->set_key_description(e.key_description);
  }
  return out;
}

absl::StatusOr<graph::JobGraphSpec> FromProto(const v1::JobGraph& in) {
  graph::JobGraphSpec spec;
  spec.job_name = in.job_name();
  for (const v1::Vertex& p : in.vertices()) {
    if (p.kind() < 0 || p.kind() > static_cast<int32_t>(graph::VertexKind::kSink)) {
      return absl::InvalidArgumentError(
          absl::StrCat("job graph: vertex ", p.id(), " (", p.name(), ") has unknown kind ",
                       p.kind()));
    }
    graph::VertexSpec v;
    v.id = p.id();
    v.name = p.name();
    v.kind = static_cast<graph::VertexKind>(p.kind());
    v.parallelism = p.parallelism();
    v.max_parallelism = p.max_parallelism();
    spec.vertices.push_back(std::move(v));
  }
  for (const v1::Edge& p : in.edges()) {
    if (p.partitioning() < 0 ||
        p.partitioning() > static_cast<int32_t>(Partitioning::kRebalance)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "job graph: edge ", p.id(), " has unknown partitioning ", p.partitioning()));
    }
    graph::EdgeSpec e;
    e.id = p.id();
    e.source = p.source();
    e.target = p.target();
    e.target_input = p.target_input();
    e.partitioning = static_cast<Partitioning>(p.partitioning());
    e.key_description = p.key_description();
    spec.edges.push_back(std::move(e));
  }
  absl::Status valid = spec.Validate();
  if (!valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("job graph: ", valid.message()));
  }
  return spec;
}

absl::StatusOr<std::vector<graph::ChainSpec>> PlanChains(const v1::JobGraph& graph) {
  absl::StatusOr<graph::JobGraphSpec> spec = FromProto(graph);
  if (!spec.ok()) return spec.status();
  return graph::BuildExecutionPlan(*spec).chains;
}

}  // namespace cdcflow::cluster
