#include "taskmanager/runtime_attempt.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "proto/cluster_log.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/task_restore.h"
#include "runtime/checkpoint/upload_pool.h"
#include "runtime/cluster/graph_proto.h"
#include "runtime/graph/job_graph.h"
#include "runtime/metrics/standard_metrics.h"
#include "runtime/plugin/plugin_loader.h"
#include "runtime/task/task.h"

namespace cdcflow::taskmanager {
namespace {

// Loaded plugins by SHA-256, for the life of the process: a job's attempts (and
// other jobs built from the same .so) share one dlopen.
struct LoadedPlugin {
  std::unique_ptr<plugin::JobPlugin> plugin;
  absl::Mutex build_mu;  // the runtime calls a plugin's build function from one thread
};

absl::StatusOr<std::shared_ptr<LoadedPlugin>> LoadPlugin(const std::string& sha,
                                                         const std::string& bytes,
                                                         const std::string& directory) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache = new absl::flat_hash_map<std::string, std::shared_ptr<LoadedPlugin>>();
  absl::MutexLock lock(&mu);
  auto& slot = (*cache)[sha];
  if (slot) return slot;
  absl::StatusOr<std::unique_ptr<plugin::JobPlugin>> opened =
      plugin::JobPlugin::OpenBytes(bytes, directory);
  if (!opened.ok()) {
    cache->erase(sha);
    return opened.status();
  }
  slot = std::make_shared<LoadedPlugin>();
  slot->plugin = std::move(*opened);
  return slot;
}

class RuntimeAttempt final : public Attempt {
 public:
  ~RuntimeAttempt() override {
    Join();
    network_.reset();
    graph_.reset();
  }

  void Join() override {
    Cancel();
    absl::MutexLock lock(&join_mu_);
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
    tasks_.clear();  // closes keyed state (RocksDB) before a newer attempt opens it
    uploader_.reset();  // finishes the uploads already taken
  }

  absl::StatusOr<int> TriggerCheckpoint(int64_t id, bool savepoint) override {
    absl::MutexLock lock(&join_mu_);
    if (storage_ == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", job_id_, " attempt ", attempt_, " was deployed without checkpoint storage"));
    }
    int sources = 0;
    for (auto& t : tasks_) {
      if (!t->is_source()) continue;
      t->TriggerCheckpoint(id, savepoint);
      ++sources;
    }
    return sources;
  }
  void NotifyCheckpointComplete(int64_t id) override {
    absl::MutexLock lock(&join_mu_);
    for (auto& t : tasks_) t->NotifyCheckpointComplete(id);
  }
  void NotifyCheckpointAborted(int64_t id) override {
    absl::MutexLock lock(&join_mu_);
    for (auto& t : tasks_) t->NotifyCheckpointAborted(id);
  }

  absl::Status Init(const AttemptContext& ctx, ChannelPool* pool, NetworkExchangeOptions options,
                    const task::TaskOptions& task_options) {
    const v1::DeployTaskRequest& request = *ctx.request;
    reporter_ = ctx.reporter;
    job_id_ = request.job_id();
    attempt_ = request.attempt();
    auto loaded = LoadPlugin(request.job().plugin_sha256(), *ctx.plugin, ctx.plugin_directory);
    if (!loaded.ok()) return loaded.status();
    plugin_ = std::move(*loaded);
    auto args = JobArgs::Parse({request.job().args().begin(), request.job().args().end()});
    if (!args.ok()) return args.status();
    args_ = std::move(*args);
    {
      absl::MutexLock lock(&plugin_->build_mu);
      auto graph = plugin_->plugin->Build(args_, std::max(1, request.job().default_parallelism()));
      if (!graph.ok()) return graph.status();
      graph_ = std::make_unique<graph::LogicalGraph>(std::move(*graph));
    }
    auto submitted = cluster::FromProto(request.job().graph());
    if (!submitted.ok()) return submitted.status();
    absl::Status same = graph::AdoptSubmittedSpec(*graph_, *submitted);
    if (!same.ok()) return same;
    spec_ = graph_->Spec();
    plan_ = graph::BuildExecutionPlan(spec_);

    std::vector<std::vector<NetworkExchange::Location>> locations(plan_.chains.size());
    for (size_t c = 0; c < plan_.chains.size(); ++c) locations[c].resize(plan_.chains[c].parallelism);
    for (const v1::TaskLocation& l : request.locations()) {
      if (l.vertex_id() < 0 || l.vertex_id() >= static_cast<int32_t>(locations.size()) ||
          l.subtask_index() < 0 ||
          l.subtask_index() >= static_cast<int32_t>(locations[l.vertex_id()].size())) {
        return absl::InvalidArgumentError(absl::StrCat("deployment names task ", l.vertex_id(),
                                                       "/", l.subtask_index(),
                                                       " that the job's plan does not have"));
      }
      locations[l.vertex_id()][l.subtask_index()] = {l.task_manager_id(), l.address()};
    }
    for (size_t c = 0; c < locations.size(); ++c) {
      for (size_t s = 0; s < locations[c].size(); ++s) {
        if (locations[c][s].address.empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("deployment has no location for task ", c, "/", s));
        }
      }
    }
    options.registry = &metrics::DefaultRegistry();
    network_ = std::make_unique<NetworkExchange>(job_id_, attempt_, spec_, plan_,
                                                 std::move(locations), ctx.task_manager_id, pool,
                                                 options);
    if (!request.checkpoint_root().empty()) {
      auto storage = checkpoint::CheckpointStorage::Create(request.checkpoint_root(), job_id_);
      if (!storage.ok()) return storage.status();
      storage_ = std::move(*storage);
      uploader_ = std::make_unique<checkpoint::UploadPool>(1);
    }
    std::optional<checkpoint::CompletedCheckpoint> restore;
    if (!request.restore_dir().empty()) {
      auto loaded = checkpoint::LoadCheckpoint(request.restore_dir());
      if (!loaded.ok()) return loaded.status();
      absl::Status compatible = checkpoint::CheckCompatible(*loaded, spec_);
      if (!compatible.ok()) return compatible;
      restore = std::move(*loaded);
    }
    for (const v1::TaskId& id : request.tasks()) {
      task::TaskSetup setup;
      if (restore.has_value()) {
        auto r = checkpoint::BuildTaskRestore(*restore, spec_, plan_,
                                              exchange::TaskId{id.vertex_id(), id.subtask_index()});
        if (!r.ok()) return r.status();
        restores_.push_back(std::make_unique<checkpoint::TaskRestore>(std::move(*r)));
        setup.restore = restores_.back().get();
      }
      setup.checkpoint_listener = ctx.checkpoint_listener;
      setup.checkpoint_storage = storage_.get();
      setup.uploader = uploader_.get();
      setup.attempt = attempt_;
      setup.graph = graph_.get();
      setup.spec = &spec_;
      setup.plan = &plan_;
      setup.id = exchange::TaskId{id.vertex_id(), id.subtask_index()};
      setup.args = &args_;
      setup.channels = network_.get();
      setup.job_id = job_id_;
      setup.metrics = &metrics::DefaultRegistry();
      setup.options = task_options;
      auto t = task::Task::Create(setup);
      if (!t.ok()) return t.status();
      tasks_.push_back(std::move(*t));
      ids_.push_back(id);
    }
    running_.store(static_cast<int>(tasks_.size()));  // Done() only after the tasks ran
    return absl::OkStatus();
  }

  absl::Status Start() override {
    absl::MutexLock lock(&join_mu_);
    for (size_t i = 0; i < tasks_.size(); ++i) {
      threads_.emplace_back([this, i] {
        reporter_(ids_[i], v1::TASK_STATE_RUNNING, "");
        absl::Status s = tasks_[i]->Run();
        if (s.ok()) {
          reporter_(ids_[i], v1::TASK_STATE_FINISHED, "");
        } else if (s.code() == absl::StatusCode::kCancelled || cancelled_.load()) {
          reporter_(ids_[i], v1::TASK_STATE_CANCELED, "");
        } else {
          CDCFLOW_CLOG(WARNING) << "job " << job_id_ << " attempt " << attempt_ << ": "
                                << s.ToString();
          reporter_(ids_[i], v1::TASK_STATE_FAILED, std::string(s.message()));
        }
        running_.fetch_sub(1);
      });
    }
    return absl::OkStatus();
  }

  void Cancel() override {
    if (cancelled_.exchange(true)) return;
    absl::MutexLock lock(&join_mu_);
    for (auto& t : tasks_) t->Cancel();
    if (network_) network_->Cancel();
  }

  bool Done() override { return running_.load() == 0; }

  void CollectMetrics(std::vector<v1::TaskMetricsReport>* out) override {
    // Kafka partitions by (vertex name, subtask), from the series the sources export.
    using Key = std::pair<std::string, int>;
    std::map<Key, std::map<Key, v1::PartitionProgress>> partitions;
    std::map<std::pair<std::string, int>, int64_t> dead_letters;
    for (const metrics::FamilySnapshot& family : metrics::DefaultRegistry().Collect()) {
      const bool lag = family.name == metrics::kKafkaLag;
      const bool offset = family.name == metrics::kKafkaOffset;
      const bool end = family.name == metrics::kKafkaEndOffset;
      const bool dlq = family.name == metrics::kKafkaDeadLetters;
      if (!lag && !offset && !end && !dlq) continue;
      for (const metrics::Sample& sample : family.samples) {
        std::string job, vertex, topic;
        int subtask = -1, partition = -1;
        for (const auto& [k, v] : sample.labels) {
          if (k == metrics::kLabelJob) job = v;
          if (k == metrics::kLabelVertex) vertex = v;
          if (k == metrics::kLabelTopic) topic = v;
          if (k == metrics::kLabelSubtask) subtask = std::atoi(v.c_str());
          if (k == metrics::kLabelPartition) partition = std::atoi(v.c_str());
        }
        if (job != job_id_) continue;
        if (dlq) {
          dead_letters[{vertex, subtask}] += static_cast<int64_t>(sample.counter);
          continue;
        }
        v1::PartitionProgress& p = partitions[{vertex, subtask}][{topic, partition}];
        p.set_topic(topic);
        p.set_partition(partition);
        const auto value = static_cast<int64_t>(sample.value);
        if (lag) p.set_lag(value);
        if (offset) p.set_offset(value);
        if (end) p.set_end_offset(value);
      }
    }
    // Join clears tasks_; skip this round rather than wait for a join (heartbeats).
    if (!join_mu_.TryLock()) return;
    struct Unlock {
      absl::Mutex* mu;
      ~Unlock() { mu->Unlock(); }
    } unlock{&join_mu_};
    for (size_t i = 0; i < tasks_.size(); ++i) {
      const auto& vm = tasks_[i]->vertex_metrics();
      if (vm.empty()) continue;
      const metrics::SubtaskMetrics& head = vm.front().second;
      const metrics::SubtaskMetrics& tail = vm.back().second;
      v1::TaskMetricsReport r;
      *r.mutable_task() = ids_[i];
      r.set_records_in(static_cast<int64_t>(head.records_in->Value()));
      r.set_records_out(static_cast<int64_t>(tail.records_out->Value()));
      r.set_bytes_in(static_cast<int64_t>(head.bytes_in->Value()));
      r.set_bytes_out(static_cast<int64_t>(tail.bytes_out->Value()));
      r.set_busy_ns(static_cast<int64_t>(head.busy_ns->Value()));
      r.set_backpressured_ns(static_cast<int64_t>(head.backpressured_ns->Value()));
      r.set_idle_ns(static_cast<int64_t>(head.idle_ns->Value()));
      const double watermark = tail.watermark_ms->Value();
      if (watermark > 0) r.set_watermark_ms(static_cast<int64_t>(watermark));
      const std::pair<std::string, int> key(spec_.vertices[vm.front().first].name,
                                            ids_[i].subtask_index());
      auto p = partitions.find(key);
      if (p != partitions.end()) {
        for (auto& [tp, progress] : p->second) *r.add_partitions() = progress;
      }
      auto d = dead_letters.find(key);
      if (d != dead_letters.end()) r.set_dead_letters(d->second);
      out->push_back(std::move(r));
    }
  }
  NetworkExchange* network() override { return network_.get(); }

 private:
  // Destroyed last: the graph and tasks hold code of the plugin.
  std::shared_ptr<LoadedPlugin> plugin_;
  TaskStateReporter reporter_;
  std::string job_id_;
  int attempt_ = 0;
  JobArgs args_;
  std::unique_ptr<graph::LogicalGraph> graph_;
  graph::JobGraphSpec spec_;
  graph::ExecutionPlan plan_;
  std::unique_ptr<NetworkExchange> network_;
  // Outlive the tasks and the uploads (declared before them).
  std::unique_ptr<checkpoint::CheckpointStorage> storage_;
  std::vector<std::unique_ptr<checkpoint::TaskRestore>> restores_;
  std::unique_ptr<checkpoint::UploadPool> uploader_;
  std::vector<std::unique_ptr<task::Task>> tasks_;
  std::vector<v1::TaskId> ids_;
  std::vector<std::thread> threads_;
  std::atomic<int> running_{0};
  std::atomic<bool> cancelled_{false};
  // Guards threads_ and tasks_ between Start, Cancel and Join.
  absl::Mutex join_mu_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Attempt>> NewRuntimeAttempt(AttemptContext context,
                                                           ChannelPool* pool,
                                                           NetworkExchangeOptions options,
                                                           const task::TaskOptions& task_options) {
  auto attempt = std::make_unique<RuntimeAttempt>();
  absl::Status s = attempt->Init(context, pool, options, task_options);
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("job ", context.request->job_id(), " (",
                                               context.request->job().plugin_name(),
                                               "): ", s.message()));
  }
  return attempt;
}

}  // namespace cdcflow::taskmanager
