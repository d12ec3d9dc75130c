// The checkpoint side of Task (task.h): triggers, barrier alignment, chain snapshots,
// uploads and acks, commit notifications, and restore.
#include <unistd.h>

#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "runtime/task/task.h"

namespace cdcflow::task {
namespace fs = std::filesystem;

std::string Task::NewBackendUuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("%016x", rng());
}

void Task::TriggerCheckpoint(int64_t checkpoint_id, bool savepoint) {
  {
    absl::MutexLock lock(&control_mu_);
    control_.triggers.emplace_back(checkpoint_id, savepoint);
    has_control_.store(true, std::memory_order_release);
  }
  WakeSource();
}

void Task::NotifyCheckpointComplete(int64_t checkpoint_id) {
  absl::MutexLock lock(&control_mu_);
  control_.completed = std::max(control_.completed, checkpoint_id);
  has_control_.store(true, std::memory_order_release);
}

void Task::NotifyCheckpointAborted(int64_t checkpoint_id) {
  {
    std::lock_guard<std::mutex> lock(aborted_->mu);
    aborted_->ids.push_back(checkpoint_id);
    if (aborted_->ids.size() > 64) aborted_->ids.erase(aborted_->ids.begin());
  }
  absl::MutexLock lock(&control_mu_);
  control_.aborted.push_back(checkpoint_id);
  has_control_.store(true, std::memory_order_release);
}

std::string Task::StagingDir() const {
  const std::string leaf = absl::StrCat("task-", setup_.id.chain, "-", setup_.id.subtask, "-a",
                                        setup_.attempt);
  if (!setup_.options.staging_dir.empty()) {
    return (fs::path(setup_.options.staging_dir) / setup_.job_id / leaf).string();
  }
  if (!setup_.options.state_dir.empty()) {
    return (fs::path(setup_.options.state_dir) / setup_.job_id / "staging" / leaf).string();
  }
  std::error_code ec;
  fs::path tmp = fs::temp_directory_path(ec);
  if (ec) tmp = "/tmp";
  return (tmp / absl::StrCat("cdcflow-staging-", ::getpid()) / setup_.job_id / leaf).string();
}

absl::Status Task::RestoreKeyed(int32_t vertex, state::KeyedStateBackend& backend) {
  if (setup_.restore == nullptr) return absl::OkStatus();
  auto it = setup_.restore->vertices.find(vertex);
  if (it == setup_.restore->vertices.end() || it->second.keyed.empty()) return absl::OkStatus();
  std::vector<std::string> dirs;
  absl::Status status;
  for (int index : it->second.keyed) {
    const std::string dir =
        absl::StrCat(StagingDir(), "/restore-", setup_.restore->checkpoint_id, "-", vertex, "-", index);
    std::error_code ec;
    fs::remove_all(dir, ec);
    status = checkpoint::MaterializeKeyedState(setup_.restore->base_dir,
                                               it->second.snapshots[index], dir);
    dirs.push_back(dir);
    if (!status.ok()) break;
  }
  if (status.ok()) status = backend.Restore(dirs);
  for (const std::string& dir : dirs) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("restoring keyed state of checkpoint ",
                                                    setup_.restore->checkpoint_id, ": ",
                                                    status.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<state::KeyedStateBackend*> Task::MakeKeyedBackend(ChainOp& op) {
  if (op.keyed != nullptr) return op.keyed;
  auto backend = CreateStateBackend(setup_.spec->vertices[op.vertex]);
  if (!backend.ok()) return backend.status();
  if (absl::Status s = RestoreKeyed(op.vertex, **backend); !s.ok()) return s;
  op.owned_keyed = std::move(*backend);
  op.keyed = op.owned_keyed.get();
  op.keyed_uuid = NewBackendUuid();
  return op.keyed;
}

absl::Status Task::RestoreChain() {
  if (setup_.restore == nullptr) return absl::OkStatus();
  const checkpoint::TaskRestore& r = *setup_.restore;
  if (source_ != nullptr) {
    const int32_t vid = setup_.plan->chains[setup_.id.chain].vertices.front();
    auto it = r.vertices.find(vid);
    if (it != r.vertices.end()) {
      for (int index : it->second.positions) {
        CDCFLOW_RETURN_IF_ERROR_ANNOTATED(
            source_->RestorePosition(it->second.snapshots[index].source_position()), vid);
      }
    }
  }
  for (ChainOp& op : ops_) {
    auto it = r.vertices.find(op.vertex);
    if (it == r.vertices.end()) continue;
    for (int index : it->second.states) {
      const v1::OperatorSnapshot& snap = it->second.snapshots[index];
      if (op.is_sink) {
        if (snap.has_sink_state()) {
          CDCFLOW_RETURN_IF_ERROR_ANNOTATED(op.sink->RestoreState(snap.sink_state()), op.vertex);
        }
      } else if (snap.has_operator_state()) {
        CDCFLOW_RETURN_IF_ERROR_ANNOTATED(op.op->RestoreState(snap.operator_state()), op.vertex);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Task::RunFinishedOnRestore() {
  // The checkpoint recorded this task as finished: its output is complete downstream
  // (and committed); only the end of stream is owed to the new downstream tasks.
  const int32_t tail = setup_.plan->chains[setup_.id.chain].vertices.back();
  absl::Status status = OpenOutputs();
  for (auto& out : outputs_) {
    if (!status.ok()) break;
    status = Annotate(out->EmitEndOfStream(), tail);
  }
  DestroySource();
  for (ChainOp& op : ops_) {
    op.sink = nullptr;
    op.op.reset();
    op.keyed = nullptr;
    op.owned_keyed.reset();
  }
  if (cancelled_.load(std::memory_order_relaxed)) {
    return absl::CancelledError(absl::StrCat("task '", name_, "' subtask ", setup_.id.subtask,
                                             " cancelled"));
  }
  return status;
}

absl::Status Task::HandleControl() {
  Control control;
  {
    absl::MutexLock lock(&control_mu_);
    control = std::move(control_);
    control_ = Control{};
    has_control_.store(false, std::memory_order_release);
  }
  for (int64_t id : control.aborted) {
    if (aligning_ == id) CancelAlignment();
    last_barrier_ = std::max(last_barrier_, id);
  }
  if (source_ != nullptr) {
    for (const auto& [id, savepoint] : control.triggers) {
      if (id <= last_barrier_) continue;  // aborted before we got to it, or a duplicate
      last_barrier_ = id;
      CDCFLOW_TASK_RETURN_IF_ERROR(EmitBarrier(id));
      CDCFLOW_TASK_RETURN_IF_ERROR(SnapshotChain(id, 0));
    }
  }
  if (control.completed > committed_) {
    const int64_t id = control.completed;
    committed_ = id;
    for (ChainOp& op : ops_) {
      if (op.is_sink) CDCFLOW_RETURN_IF_ERROR_ANNOTATED(op.sink->Commit(id), op.vertex);
    }
    if (source_ != nullptr) {
      CDCFLOW_RETURN_IF_ERROR_ANNOTATED(source_->NotifyCheckpointComplete(id),
                                        setup_.plan->chains[setup_.id.chain].vertices.front());
    }
  }
  return absl::OkStatus();
}

void Task::Decline(int64_t id, absl::Status reason) {
  if (setup_.checkpoint_listener != nullptr) {
    setup_.checkpoint_listener->Decline(setup_.id, id, std::move(reason));
  }
}

absl::Status Task::SnapshotChain(int64_t id, int64_t alignment_ns) {
  if (setup_.checkpoint_listener == nullptr) return absl::OkStatus();
  if (setup_.checkpoint_storage == nullptr) {
    Decline(id, absl::FailedPreconditionError("the task has no checkpoint storage"));
    return absl::OkStatus();
  }
  const int64_t start = absl::GetCurrentTimeNanos();
  v1::TaskCheckpointAck ack;
  ack.set_chain(setup_.id.chain);
  ack.set_subtask(setup_.id.subtask);
  ack.set_checkpoint_id(id);
  ack.set_alignment_ns(alignment_ns);
  ack.set_attempt(setup_.attempt);
  struct KeyedUpload {
    int op_index;
    int32_t vertex;
    std::string uuid;
    std::string dir;
  };
  std::vector<KeyedUpload> uploads;
  const std::string staging = absl::StrCat(StagingDir(), "/chk-", id);
  std::error_code ec;
  fs::remove_all(staging, ec);
  auto add = [&](int32_t vid) {
    const graph::VertexSpec& v = setup_.spec->vertices[vid];
    v1::OperatorSnapshot* snap = ack.add_operators();
    snap->set_vertex_id(vid);
    snap->set_vertex_name(v.name);
    snap->set_subtask_index(setup_.id.subtask);
    snap->set_parallelism(v.parallelism);
    snap->set_max_parallelism(v.max_parallelism);
    return snap;
  };
  if (source_ != nullptr) {
    const int32_t vid = setup_.plan->chains[setup_.id.chain].vertices.front();
    absl::StatusOr<std::string> position = source_->SnapshotPosition(id);
    if (!position.ok()) return Annotate(position.status(), vid);
    v1::OperatorSnapshot* snap = add(vid);
    snap->set_source_position(*std::move(position));
    snap->set_has_source_position(true);
  }
  for (ChainOp& op : ops_) {
    v1::OperatorSnapshot* snap = add(op.vertex);
    if (op.is_sink) {
      absl::StatusOr<std::string> st = op.sink->PrepareCommit(id);
      if (!st.ok()) return Annotate(st.status(), op.vertex);
      if (!st->empty()) {
        snap->set_sink_state(*std::move(st));
        snap->set_has_sink_state(true);
      }
    } else {
      absl::StatusOr<std::string> st = op.op->SnapshotState(id);
      if (!st.ok()) return Annotate(st.status(), op.vertex);
      if (!st->empty()) {
        snap->set_operator_state(*std::move(st));
        snap->set_has_operator_state(true);
      }
    }
    if (op.keyed != nullptr) {
      const std::string dir = absl::StrCat(staging, "/", op.vertex);
      fs::create_directories(staging, ec);
      if (ec) {
        return Annotate(absl::ResourceExhaustedError(absl::StrCat(
                            "cannot create snapshot staging dir ", staging, ": ", ec.message())),
                        op.vertex);
      }
      CDCFLOW_RETURN_IF_ERROR_ANNOTATED(op.keyed->Snapshot(dir), op.vertex);
      snap->set_key_group_first(op.keyed->options().key_groups.start);
      snap->set_key_group_last(op.keyed->options().key_groups.end);
      snap->set_has_keyed_state(true);
      uploads.push_back({ack.operators_size() - 1, op.vertex, op.keyed_uuid, dir});
    }
  }
  ack.set_sync_ns(absl::GetCurrentTimeNanos() - start);

  // The asynchronous part: everything it needs is captured by value (the task may be
  // gone when it runs; the listener and storage outlive the uploader by contract).
  auto job = [listener = setup_.checkpoint_listener, storage = setup_.checkpoint_storage,
              task = setup_.id, aborted = aborted_, ack = std::move(ack),
              uploads = std::move(uploads), staging]() mutable {
    const int64_t async_start = absl::GetCurrentTimeNanos();
    const int64_t id = ack.checkpoint_id();
    auto cleanup = [&] {
      std::error_code ec;
      fs::remove_all(staging, ec);
    };
    if (aborted->Contains(id)) {
      cleanup();
      return;
    }
    uint64_t uploaded = 0;
    uint64_t full = 0;
    for (const KeyedUpload& u : uploads) {
      std::vector<v1::StateFile> files;
      absl::Status s = storage->UploadKeyedState(id, u.vertex, task.subtask, u.uuid, u.dir, &files,
                                                 &uploaded);
      if (!s.ok()) {
        cleanup();
        listener->Decline(task, id, s);
        return;
      }
      v1::OperatorSnapshot* snap = ack.mutable_operators(u.op_index);
      for (v1::StateFile& f : files) {
        full += f.size();
        *snap->add_keyed_state() = std::move(f);
      }
    }
    cleanup();
    ack.set_bytes(uploaded);
    ack.set_full_bytes(full);
    ack.set_async_ns(absl::GetCurrentTimeNanos() - async_start);
    listener->Acknowledge(ack);
  };
  if (setup_.uploader != nullptr) {
    setup_.uploader->Submit(std::move(job));
  } else {
    job();
  }
  return absl::OkStatus();
}

absl::Status Task::EmitBarrier(int64_t id) {
  last_flush_ = absl::Now();
  const int32_t tail = setup_.plan->chains[setup_.id.chain].vertices.back();
  for (auto& out : outputs_) CDCFLOW_TASK_RETURN_IF_ERROR(Annotate(out->EmitBarrier(id), tail));
  return absl::OkStatus();
}

void Task::BlockChannel(int32_t channel) {
  blocked_[channel] = true;
  if (reader_blocks_) reader_->SetChannelBlocked(channel, true);
}

void Task::CancelAlignment() {
  aligning_ = 0;
  // Held messages are older than anything still queued for their channel: they go first.
  std::deque<exchange::ChannelMessage> released;
  for (size_t c = 0; c < blocked_.size(); ++c) {
    if (!blocked_[c]) continue;
    blocked_[c] = false;
    if (reader_blocks_) reader_->SetChannelBlocked(static_cast<int32_t>(c), false);
    for (auto& m : held_[c]) released.push_back(std::move(m));
    held_[c].clear();
  }
  for (auto& m : replay_) released.push_back(std::move(m));
  replay_ = std::move(released);
}

absl::Status Task::OnBarrier(int32_t channel, int64_t id) {
  if (id <= last_barrier_ || (aligning_ != 0 && id < aligning_)) return absl::OkStatus();  // stale
  if (aligning_ != 0 && id > aligning_) {
    // An upstream task skipped checkpoint aligning_ (it was aborted there): give it up.
    Decline(aligning_, absl::AbortedError(absl::StrCat("barrier ", id, " overtook barrier ",
                                                       aligning_, " on input channel ", channel)));
    last_barrier_ = aligning_;
    CancelAlignment();
  }
  if (aligning_ == 0) {
    aligning_ = id;
    align_start_ns_ = absl::GetCurrentTimeNanos();
    std::fill(barrier_seen_.begin(), barrier_seen_.end(), false);
  }
  barrier_seen_[channel] = true;
  BlockChannel(channel);
  return MaybeFinishAlignment();
}

absl::Status Task::MaybeFinishAlignment() {
  for (size_t c = 0; c < barrier_seen_.size(); ++c) {
    if (!barrier_seen_[c] && !channel_ended_[c]) return absl::OkStatus();
  }
  const int64_t id = aligning_;
  const int64_t alignment_ns = absl::GetCurrentTimeNanos() - align_start_ns_;
  last_barrier_ = id;
  CancelAlignment();  // unblocks; the released messages follow the barrier
  CDCFLOW_TASK_RETURN_IF_ERROR(EmitBarrier(id));
  return SnapshotChain(id, alignment_ns);
}

}  // namespace cdcflow::task
