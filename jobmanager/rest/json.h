#pragma once
// JSON forms of the ClusterView snapshots, as openapi.yaml describes them.

#include "jobmanager/rest/cluster_view.h"
#include "nlohmann/json.hpp"

namespace cdcflow::rest {

nlohmann::json ToJson(const ClusterOverview& o);
nlohmann::json ToJson(const TaskManagerInfo& t);
nlohmann::json ToJson(const JobSummary& j);
nlohmann::json ToJson(const TaskMetrics& m);
nlohmann::json ToJson(const VertexInfo& v, bool with_subtasks);
nlohmann::json ToJson(const PartitionLag& l);
nlohmann::json ToJson(const CheckpointInfo& c);
nlohmann::json ToJson(const ExceptionInfo& e);
// The job with its graph (vertices with aggregate metrics, edges).
nlohmann::json JobDetailJson(const JobDetail& d);
nlohmann::json CheckpointsJson(const JobDetail& d);
nlohmann::json WatermarksJson(const JobDetail& d);
nlohmann::json ExceptionsJson(const JobDetail& d);
nlohmann::json LagJson(const JobDetail& d);

}  // namespace cdcflow::rest
