#include "jobmanager/rest/json.h"

#include <algorithm>
#include <map>

namespace cdcflow::rest {

using nlohmann::json;

json ToJson(const ClusterOverview& o) {
  return {{"version", o.version},
          {"start_time_ms", o.start_time_ms},
          {"taskmanagers", o.taskmanagers},
          {"slots_total", o.slots_total},
          {"slots_available", o.slots_available},
          {"jobs_running", o.jobs_running},
          {"jobs_finished", o.jobs_finished},
          {"jobs_cancelled", o.jobs_cancelled},
          {"jobs_failed", o.jobs_failed}};
}

json ToJson(const TaskManagerInfo& t) {
  json slots = json::array();
  for (const auto& s : t.slots) {
    slots.push_back({{"index", s.index},
                     {"job_id", s.job_id},
                     {"vertex", s.vertex},
                     {"subtask", s.subtask}});
  }
  return {{"id", t.id},
          {"address", t.address},
          {"state", t.state},
          {"registered_ms", t.registered_ms},
          {"last_heartbeat_ms", t.last_heartbeat_ms},
          {"slots_total", t.slots_total},
          {"slots_free", t.slots_free},
          {"metrics_url", t.metrics_url},
          {"slots", slots}};
}

json ToJson(const JobSummary& j) {
  return {{"id", j.id},
          {"name", j.name},
          {"state", j.state},
          {"start_time_ms", j.start_time_ms},
          {"end_time_ms", j.end_time_ms},
          {"parallelism", j.parallelism},
          {"vertex_count", j.vertex_count},
          {"restarts", j.restarts}};
}

json ToJson(const TaskMetrics& m) {
  return {{"records_in", m.records_in},
          {"records_out", m.records_out},
          {"bytes_in", m.bytes_in},
          {"bytes_out", m.bytes_out},
          {"records_in_per_sec", m.records_in_per_sec},
          {"records_out_per_sec", m.records_out_per_sec},
          {"backpressure_ratio", m.backpressure_ratio},
          {"busy_ratio", m.busy_ratio},
          {"idle_ratio", m.idle_ratio}};
}

json ToJson(const VertexInfo& v, bool with_subtasks) {
  json out = {{"id", v.id},
              {"name", v.name},
              {"kind", v.kind},
              {"connector", v.connector},
              {"target", v.target},
              {"parallelism", v.parallelism},
              {"state", v.state},
              {"metrics", ToJson(v.metrics)}};
  if (with_subtasks) {
    json subtasks = json::array();
    for (const auto& s : v.subtasks) {
      subtasks.push_back({{"index", s.index},
                          {"state", s.state},
                          {"taskmanager_id", s.taskmanager_id},
                          {"watermark_ms", s.watermark_ms},
                          {"metrics", ToJson(s.metrics)}});
    }
    out["subtasks"] = subtasks;
  }
  return out;
}

json ToJson(const PartitionLag& l) {
  return {{"vertex", l.vertex},     {"subtask", l.subtask},
          {"topic", l.topic},       {"partition", l.partition},
          {"current_offset", l.current_offset}, {"end_offset", l.end_offset},
          {"lag", l.lag}};
}

json ToJson(const CheckpointInfo& c) {
  return {{"id", c.id},
          {"status", c.status},
          {"savepoint", c.savepoint},
          {"trigger_time_ms", c.trigger_time_ms},
          {"duration_ms", c.duration_ms},
          {"size_bytes", c.size_bytes},
          {"alignment_ms", c.alignment_ms},
          {"acknowledged", c.acknowledged},
          {"total", c.total},
          {"path", c.path},
          {"failure_reason", c.failure_reason}};
}

json ToJson(const ExceptionInfo& e) {
  return {{"timestamp_ms", e.timestamp_ms},
          {"vertex", e.vertex},
          {"subtask", e.subtask},
          {"taskmanager_id", e.taskmanager_id},
          {"message", e.message},
          {"stack", e.stack}};
}

json JobDetailJson(const JobDetail& d) {
  json out = ToJson(d.summary);
  json vertices = json::array();
  for (const auto& v : d.vertices) vertices.push_back(ToJson(v, /*with_subtasks=*/false));
  json edges = json::array();
  for (const auto& e : d.edges) {
    edges.push_back(
        {{"source", e.source}, {"target", e.target}, {"partitioning", e.partitioning}});
  }
  out["vertices"] = vertices;
  out["edges"] = edges;
  out["args"] = d.args;
  int64_t total_lag = 0;
  for (const auto& l : d.lag) total_lag += l.lag;
  out["total_lag"] = total_lag;
  return out;
}

json CheckpointsJson(const JobDetail& d) {
  int completed = 0, failed = 0, in_progress = 0;
  json history = json::array();
  json latest = nullptr;
  for (const auto& c : d.checkpoints) {
    if (c.status == "COMPLETED") {
      ++completed;
      if (latest.is_null()) latest = ToJson(c);
    } else if (c.status == "FAILED") {
      ++failed;
    } else {
      ++in_progress;
    }
    history.push_back(ToJson(c));
  }
  json out = {
      {"counts", {{"completed", completed}, {"failed", failed}, {"in_progress", in_progress}}},
      {"history", history}};
  if (!latest.is_null()) out["latest_completed"] = latest;
  return out;
}

json WatermarksJson(const JobDetail& d) {
  json out = json::array();
  for (const auto& v : d.vertices) {
    for (const auto& s : v.subtasks) {
      out.push_back({{"vertex", v.id}, {"subtask", s.index}, {"watermark_ms", s.watermark_ms}});
    }
  }
  return out;
}

json ExceptionsJson(const JobDetail& d) {
  json list = json::array();
  for (const auto& e : d.exceptions) list.push_back(ToJson(e));
  return {{"restarts", d.summary.restarts}, {"exceptions", list}};
}

json LagJson(const JobDetail& d) {
  json partitions = json::array();
  std::map<std::string, int64_t> per_topic;
  for (const auto& l : d.lag) {
    partitions.push_back(ToJson(l));
    per_topic[l.topic] += l.lag;
  }
  json topics = json::array();
  for (const auto& [topic, lag] : per_topic) topics.push_back({{"topic", topic}, {"lag", lag}});
  return {{"partitions", partitions}, {"topics", topics}};
}

}  // namespace cdcflow::rest
