#include "runtime/task/task.h"

#include <pthread.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/exchange/topology.h"
#include "runtime/task/keyed_process_operator.h"
#include "runtime/exchange/key_groups.h"
#include "runtime/state/keyed_state_backend.h"

namespace cdcflow::task {


TaskRuntimeContext::TaskRuntimeContext(const graph::VertexSpec& vertex, int subtask,
                                       const JobArgs* args, metrics::MetricRegistry* registry,
                                       std::string_view job_id)
    : vertex_(vertex), subtask_(subtask), args_(args) {
  if (registry != nullptr) {
    metrics_ = std::make_unique<api::RegistryMetricGroup>(
        registry, metrics::Labels{{std::string(metrics::kLabelJob), std::string(job_id)},
                                  {std::string(metrics::kLabelVertex), vertex.name},
                                  {std::string(metrics::kLabelSubtask), std::to_string(subtask)}});
  }
}

int64_t TaskRuntimeContext::ProcessingTimeMs() const { return absl::ToUnixMillis(absl::Now()); }

absl::StatusOr<state::KeyedStateBackend*> TaskRuntimeContext::KeyedBackend() {
  if (!keyed_backend_factory) {
    return absl::FailedPreconditionError(
        absl::StrCat("vertex '", vertex_.name, "' has no keyed state in this task"));
  }
  return keyed_backend_factory();
}

MetricGroup& TaskRuntimeContext::metrics() {
  return metrics_ ? *metrics_ : UnexportedMetricGroup();
}

namespace {

// A sink at the end of a chain, seen as an operator that emits nothing.
class SinkOperator final : public Operator {
 public:
  explicit SinkOperator(std::unique_ptr<SinkFunction> sink) : sink_(std::move(sink)) {}
  absl::Status Open(RuntimeContext& ctx) override { return sink_->Open(ctx); }
  absl::Status ProcessBatch(int, RowBatch& batch, Collector&) override {
    return sink_->WriteBatch(batch);
  }
  absl::Status Finish(Collector&) override { return sink_->Finish(); }
  absl::Status Close() override { return sink_->Close(); }
  SinkFunction* sink() { return sink_.get(); }

 private:
  std::unique_ptr<SinkFunction> sink_;
};

}  // namespace

Task::~Task() = default;

absl::Status Task::Annotate(absl::Status status, int32_t vertex) const {
  if (status.ok()) return status;
  const graph::VertexSpec& v = setup_.spec->vertices[vertex];
  return absl::Status(status.code(),
                      absl::StrCat("task '", v.name, "' subtask ", setup_.id.subtask, "/",
                                   v.parallelism, ": ", status.message()));
}

absl::StatusOr<std::unique_ptr<Task>> Task::Create(const TaskSetup& setup) {
  if (setup.graph == nullptr || setup.spec == nullptr || setup.plan == nullptr ||
      setup.args == nullptr || setup.channels == nullptr) {
    return absl::InvalidArgumentError("task setup is incomplete");
  }
  if (setup.id.chain < 0 || setup.id.chain >= static_cast<int32_t>(setup.plan->chains.size()) ||
      setup.id.subtask < 0 || setup.id.subtask >= setup.plan->chains[setup.id.chain].parallelism) {
    return absl::InvalidArgumentError(
        absl::StrCat("no task ", setup.id.chain, "/", setup.id.subtask, " in the plan"));
  }
  std::unique_ptr<Task> task(new Task(setup));
  CDCFLOW_TASK_RETURN_IF_ERROR(task->Instantiate());
  return task;
}

absl::StatusOr<std::unique_ptr<state::KeyedStateBackend>> Task::CreateStateBackend(
    const graph::VertexSpec& vertex) const {
  state::KeyedStateOptions options;
  options.max_parallelism = vertex.max_parallelism;
  const exchange::KeyGroupRange range = exchange::KeyGroupRangeForSubtask(
      setup_.id.subtask, vertex.parallelism, vertex.max_parallelism);
  options.key_groups = {range.start, range.end};
  options.cache_bytes = setup_.options.state_cache_bytes;
  if (setup_.options.state_dir.empty()) return state::KeyedStateBackend::CreateInMemory(options);
  // The local directory never survives an attempt: state comes back from a checkpoint
  // (RestoreKeyed), so an old directory goes.
  const std::filesystem::path dir = std::filesystem::path(setup_.options.state_dir) /
                                    setup_.job_id /
                                    absl::StrCat("vertex-", vertex.id, "-subtask-", setup_.id.subtask);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  state::RocksDbStoreOptions rocksdb_options =
      state::SharedRocksDbStoreOptions(setup_.options.state_memory_bytes);
  rocksdb_options.disk_reserve_bytes = setup_.options.state_disk_reserve_bytes;
  return state::KeyedStateBackend::CreateRocksDb(options, dir.string(), rocksdb_options);
}

absl::Status Task::Instantiate() {
  const graph::ChainSpec& chain = setup_.plan->chains[setup_.id.chain];
  name_ = chain.name;
  const int subtask = setup_.id.subtask;
  vertex_metrics_.reserve(chain.vertices.size());
  static metrics::MetricRegistry* const kUnused = new metrics::MetricRegistry();
  metrics::MetricRegistry& registry = setup_.metrics != nullptr ? *setup_.metrics : *kUnused;
  for (int32_t vid : chain.vertices) {
    const graph::VertexSpec& vs = setup_.spec->vertices[vid];
    const graph::LogicalVertex& lv = setup_.graph->vertices[vid];
    vertex_metrics_.emplace_back(
        vid, metrics::SubtaskMetrics::Create(registry, setup_.job_id, vs.name, subtask));
    auto ctx = std::make_unique<Context>(vs, subtask, setup_.args, setup_.metrics, setup_.job_id);
    auto missing = [&](const char* what) {
      return Annotate(absl::InternalError(absl::StrCat("the ", what, " factory returned nothing")),
                      vid);
    };
    switch (vs.kind) {
      case graph::VertexKind::kSource: {
        if (vid != chain.vertices.front() || !lv.source) {
          return Annotate(absl::InternalError("source is not at the head of its chain"), vid);
        }
        {
          std::lock_guard lock(source_mu_);
          source_ = lv.source();
        }
        if (source_ == nullptr) return missing("source");
        is_source_ = true;
        source_ctx_ = std::move(ctx);
        continue;
      }
      case graph::VertexKind::kOperator: {
        ChainOp op;
        op.vertex = vid;
        op.op = lv.op ? lv.op() : nullptr;
        if (op.op == nullptr) return missing("operator");
        op.ctx = std::move(ctx);
        // Built-in operators (changelog join, materializer) take the task's keyed
        // backend on demand, so their state is checkpointed and rescaled.
        op.ctx->keyed_backend_factory = [this, vid]() -> absl::StatusOr<state::KeyedStateBackend*> {
          for (ChainOp& o : ops_) {
            if (o.vertex == vid) return MakeKeyedBackend(o);
          }
          return absl::InternalError("vertex not in its chain");
        };
        ops_.push_back(std::move(op));
        break;
      }
      case graph::VertexKind::kKeyedProcess: {
        const KeySelector* key = setup_.graph->KeyOf(vid);
        if (key == nullptr) return Annotate(absl::InternalError("keyed vertex without key"), vid);
        std::unique_ptr<KeyedProcessFunction> fn = lv.keyed ? lv.keyed() : nullptr;
        if (fn == nullptr) return missing("keyed process function");
        auto backend = CreateStateBackend(vs);
        if (!backend.ok()) return Annotate(backend.status(), vid);
        if (absl::Status r = RestoreKeyed(vid, **backend); !r.ok()) return Annotate(r, vid);
        ChainOp op;
        op.vertex = vid;
        op.keyed = backend->get();
        op.keyed_uuid = NewBackendUuid();
        op.op = std::make_unique<KeyedProcessOperator>(std::move(fn), key, std::move(*backend));
        op.ctx = std::move(ctx);
        ops_.push_back(std::move(op));
        break;
      }
      case graph::VertexKind::kSink: {
        std::unique_ptr<SinkFunction> sink = lv.sink ? lv.sink() : nullptr;
        if (sink == nullptr) return missing("sink");
        ChainOp op;
        op.vertex = vid;
        op.is_sink = true;
        op.sink = sink.get();
        op.op = std::make_unique<SinkOperator>(std::move(sink));
        op.ctx = std::move(ctx);
        ops_.push_back(std::move(op));
        break;
      }
    }
  }
  for (size_t i = 0; i < ops_.size(); ++i) {
    ops_[i].metrics = &vertex_metrics_[i + (source_ ? 1 : 0)].second;
  }
  return absl::OkStatus();
}

absl::Status Task::OpenOutputs() {
  const graph::ChainSpec& chain = setup_.plan->chains[setup_.id.chain];
  for (int32_t edge_id : setup_.plan->chain_outputs[setup_.id.chain]) {
    const graph::EdgeSpec& e = setup_.spec->edges[edge_id];
    const int32_t target_chain = setup_.plan->chain_of_vertex[e.target];
    std::vector<std::unique_ptr<exchange::BatchWriter>> writers;
    for (const exchange::OutputChannel& oc :
         exchange::OutputChannels(*setup_.spec, *setup_.plan, edge_id, setup_.id.subtask)) {
      auto w = setup_.channels->OpenWriter({edge_id, setup_.id.subtask, oc.consumer_subtask},
                                           {target_chain, oc.consumer_subtask}, oc.gate_channel);
      if (!w.ok()) return Annotate(w.status(), chain.vertices.back());
      writers.push_back(std::move(*w));
    }
    const KeySelector* key = nullptr;
    if (e.partitioning == Partitioning::kHash) {
      for (const graph::LogicalEdge& le : setup_.graph->edges) {
        if (le.spec.id == edge_id) key = le.key.get();
      }
      if (key == nullptr) {
        return Annotate(absl::InternalError("hash edge without key"), chain.vertices.back());
      }
    }
    outputs_.push_back(std::make_unique<exchange::EdgeOutput>(
        e.partitioning, setup_.spec->vertices[e.target].max_parallelism, key, std::move(writers),
        exchange::EdgeOutputOptions{.target_batch_rows = setup_.options.batch_rows}));
  }
  return absl::OkStatus();
}

absl::Status Task::OpenAll() {
  const graph::ChainSpec& chain = setup_.plan->chains[setup_.id.chain];
  // Outputs first: writers may block on nothing, but a failure here is cheaper before
  // user code opens connections.
  CDCFLOW_TASK_RETURN_IF_ERROR(OpenOutputs());
  if (source_ != nullptr) {
    const int32_t vid = chain.vertices.front();
    CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(source_->Open(*source_ctx_), vid));
    if (SplitSource* split = source_->AsSplitSource()) {
      auto splits = split->EnumerateSplits(*source_ctx_);
      if (!splits.ok()) return Annotate(splits.status(), vid);
      std::vector<SourceSplit> mine;
      const int p = source_ctx_->parallelism();
      for (size_t i = 0; i < splits->size(); ++i) {
        if (static_cast<int>(i % p) == setup_.id.subtask) mine.push_back(std::move((*splits)[i]));
      }
      CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(split->AssignSplits(std::move(mine)), vid));
    }
  } else {
    input_channels_ = exchange::InputChannels(*setup_.spec, *setup_.plan, setup_.id.chain,
                                              setup_.id.subtask);
  }
  for (ChainOp& op : ops_) {
    CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(op.op->Open(*op.ctx), op.vertex));
  }
  return RestoreChain();
}

absl::Status Task::CloseAll() {
  absl::Status first;
  if (source_ != nullptr) {
    absl::Status s = source_->Close();
    if (first.ok() && !s.ok()) first = Annotate(s, setup_.plan->chains[setup_.id.chain].vertices[0]);
  }
  for (ChainOp& op : ops_) {
    absl::Status s = op.op->Close();
    if (first.ok() && !s.ok()) first = Annotate(s, op.vertex);
  }
  return first;
}

void Task::AccountTime() {
  const int64_t now = absl::GetCurrentTimeNanos();
  int64_t blocked = 0;
  for (const auto& out : outputs_) blocked += out->blocked_ns();
  const int64_t backpressured = blocked - accounted_blocked_ns_;
  const int64_t busy = std::max<int64_t>(0, now - last_account_ns_ - backpressured - idle_ns_);
  for (auto& [vid, m] : vertex_metrics_) {
    m.busy_ns->Increment(static_cast<uint64_t>(busy));
    m.backpressured_ns->Increment(static_cast<uint64_t>(std::max<int64_t>(0, backpressured)));
    m.idle_ns->Increment(static_cast<uint64_t>(idle_ns_));
  }
  accounted_blocked_ns_ = blocked;
  idle_ns_ = 0;
  last_account_ns_ = now;
  for (ChainOp& op : ops_) ReportState(op);
}

void Task::ReportState(ChainOp& op) {
  if (op.keyed == nullptr || setup_.metrics == nullptr) return;
  if (!op.state_metrics.has_value()) {
    op.state_metrics = metrics::StateMetrics::Create(
        *setup_.metrics, setup_.job_id, setup_.spec->vertices[op.vertex].name, setup_.id.subtask);
  }
  const state::KeyedStateStats now = op.keyed->stats();
  const state::KeyedStateStats& was = op.state_reported;
  // A backend's stats only grow over its life (one backend per operator and attempt).
  auto add = [](metrics::Counter& c, uint64_t now_count, uint64_t was_count) {
    c.Increment(now_count - was_count);
  };
  metrics::StateMetrics& m = *op.state_metrics;
  add(*m.cache_hits, now.hits, was.hits);
  add(*m.point_reads, now.misses, was.misses);
  add(*m.batched_reads, now.prefetched, was.prefetched);
  add(*m.scans, now.scans, was.scans);
  add(*m.skipped_reads, now.skipped_reads, was.skipped_reads);
  add(*m.write_backs, now.flushes, was.flushes);
  add(*m.evictions, now.evictions, was.evictions);
  m.cache_bytes->Set(static_cast<double>(now.cached_bytes));
  op.state_reported = now;
}

absl::Status Task::Run() {
  // Names the thread after the chain and subtask ("orders_shipm/1"; Linux keeps 15
  // bytes) so that top -H, perf and /proc show which task uses the CPU.
  const std::string suffix = absl::StrCat("/", setup_.id.subtask);
  const std::string thread_name =
      absl::StrCat(name_.substr(0, 15 - std::min<size_t>(15, suffix.size())), suffix);
  pthread_setname_np(pthread_self(), thread_name.c_str());
  last_flush_ = absl::Now();
  last_account_ns_ = absl::GetCurrentTimeNanos();
  if (setup_.restore != nullptr && setup_.restore->finished) return RunFinishedOnRestore();
  absl::Status status = OpenAll();
  if (status.ok()) status = source_ != nullptr ? RunSource() : RunInputs();
  AccountTime();
  absl::Status close = CloseAll();
  if (cancelled_.load(std::memory_order_relaxed)) {
    return absl::CancelledError(absl::StrCat("task '", name_, "' subtask ", setup_.id.subtask,
                                             " cancelled"));
  }
  if (status.ok()) status = close;
  // Destroy user objects on the task thread, before the plugin can go away.
  DestroySource();
  for (ChainOp& op : ops_) {
    op.sink = nullptr;
    op.op.reset();
    op.keyed = nullptr;
    op.owned_keyed.reset();
  }
  return status;
}

absl::Status Task::ProcessFrom(size_t index, int input, RowBatch& batch) {
  RowBatch* current = &batch;
  for (size_t i = index; i < ops_.size(); ++i) {
    ChainOp& op = ops_[i];
    op.metrics->records_in->Increment(current->size());
    op.out.clear();
    Collector collector(&op.out);
    CDCFLOW_TASK_RETURN_IF_ERROR(
        Annotate(op.op->ProcessBatch(input, *current, collector), op.vertex));
    input = 0;
    op.metrics->records_out->Increment(op.out.size());
    current = &op.out;
    if (current->empty()) return absl::OkStatus();
  }
  return EmitOutputs(*current);
}

absl::Status Task::EmitOutputs(RowBatch& batch) {
  if (batch.empty() || outputs_.empty()) return absl::OkStatus();
  const int32_t tail = setup_.plan->chains[setup_.id.chain].vertices.back();
  for (size_t i = 0; i + 1 < outputs_.size(); ++i) {
    RowBatch copy = batch.Clone();
    CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(outputs_[i]->Emit(copy), tail));
  }
  CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(outputs_.back()->Emit(batch), tail));
  return MaybeFlush();
}

absl::Status Task::FlushOutputs() {
  last_flush_ = absl::Now();
  const int32_t tail = setup_.plan->chains[setup_.id.chain].vertices.back();
  for (auto& out : outputs_) CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(out->Flush(), tail));
  return absl::OkStatus();
}

absl::Status Task::MaybeFlush() {
  if (absl::Now() - last_flush_ >= setup_.options.flush_interval) return FlushOutputs();
  return absl::OkStatus();
}

absl::Status Task::AdvanceWatermark(int64_t watermark) {
  watermark_ = watermark;
  for (auto& [vid, m] : vertex_metrics_) m.watermark_ms->Set(static_cast<double>(watermark));
  for (size_t i = 0; i < ops_.size(); ++i) {
    ChainOp& op = ops_[i];
    op.out.clear();
    Collector collector(&op.out);
    CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(op.op->ProcessWatermark(watermark, collector), op.vertex));
    if (!op.out.empty()) {
      op.metrics->records_out->Increment(op.out.size());
      CDCFLOW_TASK_RETURN_IF_ERROR(ProcessFrom(i + 1, 0, op.out));
    }
  }
  const int32_t tail = setup_.plan->chains[setup_.id.chain].vertices.back();
  for (auto& out : outputs_) CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(out->EmitWatermark(watermark), tail));
  return absl::OkStatus();
}

int64_t Task::NextProcessingTime() const {
  int64_t next = kNoTimestamp;
  for (const ChainOp& op : ops_) {
    int64_t t = op.op->NextProcessingTime();
    if (t != kNoTimestamp && (next == kNoTimestamp || t < next)) next = t;
  }
  return next;
}

absl::Status Task::FireProcessingTimers() {
  const int64_t next = NextProcessingTime();
  if (next == kNoTimestamp) return absl::OkStatus();
  const int64_t now = absl::ToUnixMillis(absl::Now());
  if (next > now) return absl::OkStatus();
  for (size_t i = 0; i < ops_.size(); ++i) {
    ChainOp& op = ops_[i];
    const int64_t t = op.op->NextProcessingTime();
    if (t == kNoTimestamp || t > now) continue;
    op.out.clear();
    Collector collector(&op.out);
    CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(op.op->OnProcessingTime(now, collector), op.vertex));
    if (!op.out.empty()) {
      op.metrics->records_out->Increment(op.out.size());
      CDCFLOW_TASK_RETURN_IF_ERROR(ProcessFrom(i + 1, 0, op.out));
    }
  }
  return absl::OkStatus();
}

absl::Status Task::EndOfInput() {
  // As in Flink, the end of every input is the end of event time: event-time timers fire.
  if (watermark_ != kMaxWatermark) CDCFLOW_TASK_RETURN_IF_ERROR(AdvanceWatermark(kMaxWatermark));
  for (size_t i = 0; i < ops_.size(); ++i) {
    ChainOp& op = ops_[i];
    op.out.clear();
    Collector collector(&op.out);
    CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(op.op->Finish(collector), op.vertex));
    if (!op.out.empty()) {
      op.metrics->records_out->Increment(op.out.size());
      CDCFLOW_TASK_RETURN_IF_ERROR(ProcessFrom(i + 1, 0, op.out));
    }
  }
  const int32_t tail = setup_.plan->chains[setup_.id.chain].vertices.back();
  for (auto& out : outputs_) CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(out->EmitEndOfStream(), tail));
  return absl::OkStatus();
}

void Task::WakeSource() {
  std::lock_guard lock(source_mu_);
  if (source_ != nullptr) source_->Wakeup();
}

void Task::DestroySource() {
  std::unique_ptr<SourceFunction> source;
  {
    std::lock_guard lock(source_mu_);
    source = std::move(source_);
  }
}

absl::Status Task::RunSource() {
  const int32_t vid = setup_.plan->chains[setup_.id.chain].vertices.front();
  metrics::SubtaskMetrics& m = vertex_metrics_.front().second;
  RowBatch batch(setup_.options.batch_rows);
  while (!cancelled_.load(std::memory_order_relaxed)) {
    if (has_control_.load(std::memory_order_acquire)) CDCFLOW_TASK_RETURN_IF_ERROR(HandleControl());
    batch.clear();
    absl::StatusOr<PollResult> r = source_->PollBatch(batch, setup_.options.batch_rows);
    if (!r.ok()) return Annotate(r.status(), vid);
    if (!batch.empty()) {
      m.records_out->Increment(batch.size());
      CDCFLOW_TASK_RETURN_IF_ERROR(ProcessFrom(0, 0, batch));
    }
    if (r->watermark != kNoTimestamp && r->watermark > watermark_) {
      CDCFLOW_TASK_RETURN_IF_ERROR(AdvanceWatermark(r->watermark));
    }
    CDCFLOW_TASK_RETURN_IF_ERROR(FireProcessingTimers());
    if (r->status == PollStatus::kEndOfInput) return EndOfInput();
    if (r->status == PollStatus::kIdle) {
      CDCFLOW_TASK_RETURN_IF_ERROR(FlushOutputs());
      const int64_t start = absl::GetCurrentTimeNanos();
      absl::SleepFor(setup_.options.idle_backoff);
      idle_ns_ += absl::GetCurrentTimeNanos() - start;
    }
    if (absl::GetCurrentTimeNanos() - last_account_ns_ > 50'000'000) AccountTime();
  }
  return absl::CancelledError("cancelled");
}

absl::Status Task::RunInputs() {
  const int32_t head = setup_.plan->chains[setup_.id.chain].vertices.front();
  auto reader_or = setup_.channels->OpenReader(setup_.id);
  if (!reader_or.ok()) return Annotate(reader_or.status(), head);
  reader_ = std::move(*reader_or);
  const int32_t n = static_cast<int32_t>(input_channels_.size());
  if (reader_->num_channels() != n) {
    return Annotate(absl::InternalError(absl::StrCat("input gate has ", reader_->num_channels(),
                                                     " channels, the plan says ", n)),
                    head);
  }
  channel_watermark_.assign(n, kMinWatermark);
  open_channels_ = n;
  barrier_seen_.assign(n, false);
  channel_ended_.assign(n, false);
  blocked_.assign(n, false);
  held_.clear();
  held_.resize(n);
  reader_blocks_ = n > 0 && reader_->SetChannelBlocked(0, false);
  exchange::ChannelMessage message;
  while (open_channels_ > 0) {
    if (cancelled_.load(std::memory_order_relaxed)) return absl::CancelledError("cancelled");
    if (has_control_.load(std::memory_order_acquire)) CDCFLOW_TASK_RETURN_IF_ERROR(HandleControl());
    bool have = false;
    if (!replay_.empty()) {
      message = std::move(replay_.front());
      replay_.pop_front();
      have = true;
    } else {
      absl::StatusOr<bool> got = reader_->Read(&message, absl::ZeroDuration());
      if (got.ok() && !*got) {
        // Input ran dry: send what is pending, then wait (until the next timer at most).
        CDCFLOW_TASK_RETURN_IF_ERROR(FlushOutputs());
        absl::Duration wait = absl::Milliseconds(100);
        const int64_t next = NextProcessingTime();
        if (next != kNoTimestamp) {
          wait = std::min(wait, std::max(absl::ZeroDuration(),
                                         absl::Milliseconds(next - absl::ToUnixMillis(absl::Now()))));
        }
        const int64_t start = absl::GetCurrentTimeNanos();
        got = reader_->Read(&message, wait);
        idle_ns_ += absl::GetCurrentTimeNanos() - start;
      }
      if (absl::GetCurrentTimeNanos() - last_account_ns_ > 50'000'000) AccountTime();
      if (!got.ok()) return Annotate(got.status(), head);
      have = *got;
    }
    if (have) {
      if (message.channel < 0 || message.channel >= n) {
        return Annotate(absl::InternalError(absl::StrCat("message on unknown channel ",
                                                         message.channel)),
                        head);
      }
      if (blocked_[message.channel]) {
        // Aligning a barrier: this channel's messages wait for the snapshot.
        held_[message.channel].push_back(std::move(message));
        continue;
      }
      CDCFLOW_TASK_RETURN_IF_ERROR(Dispatch(message));
    }
    CDCFLOW_TASK_RETURN_IF_ERROR(FireProcessingTimers());
  }
  return EndOfInput();
}

absl::Status Task::Dispatch(exchange::ChannelMessage& message) {
  const int32_t c = message.channel;
  switch (message.kind) {
    case exchange::MessageKind::kBatch:
      return ProcessFrom(0, input_channels_[c].target_input, message.batch);
    case exchange::MessageKind::kWatermark:
    case exchange::MessageKind::kEndOfStream: {
      int64_t& wm = channel_watermark_[c];
      if (message.kind == exchange::MessageKind::kEndOfStream) {
        --open_channels_;
        channel_ended_[c] = true;
        wm = kMaxWatermark;  // an ended channel no longer holds event time back
      } else if (message.value > wm) {
        wm = message.value;
      }
      int64_t combined = kMaxWatermark;
      for (int64_t w : channel_watermark_) combined = std::min(combined, w);
      if (combined > watermark_ && open_channels_ > 0) {
        CDCFLOW_TASK_RETURN_IF_ERROR(AdvanceWatermark(combined));
      }
      // An ended channel counts as having delivered the barrier being aligned.
      if (message.kind == exchange::MessageKind::kEndOfStream && aligning_ != 0) {
        return MaybeFinishAlignment();
      }
      return absl::OkStatus();
    }
    case exchange::MessageKind::kBarrier:
      return OnBarrier(c, message.value);
  }
  return absl::OkStatus();
}

}  // namespace cdcflow::task
