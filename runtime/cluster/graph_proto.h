#pragma once
// Conversions between the runtime's job-graph topology (runtime/graph) and its wire
// form (cdcflow.v1.JobGraph), shared by the CLI, the job manager and task managers.

#include <vector>

#include "absl/status/statusor.h"
#include "proto/common.pb.h"
#include "runtime/graph/job_graph.h"

namespace cdcflow::cluster {

v1::JobGraph ToProto(const graph::JobGraphSpec& spec);
// INVALID_ARGUMENT naming the vertex/edge when a kind or partitioning is unknown or the
// graph does not validate (JobGraphSpec::Validate).
absl::StatusOr<graph::JobGraphSpec> FromProto(const v1::JobGraph& graph);
// The operator chains of a wire graph (what the job manager schedules).
absl::StatusOr<std::vector<graph::ChainSpec>> PlanChains(const v1::JobGraph& graph);

}  // namespace cdcflow::cluster
