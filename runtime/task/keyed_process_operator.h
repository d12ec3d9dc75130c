#pragma once
// Runs a KeyedProcessFunction on a keyed stream: extracts each row's key (one
// KeySelector call per batch), points the state backend at it, calls the function, and
// keeps per-key timers (event time fired by watermarks, processing time by the clock).
// State and timers live in a state::KeyedStateBackend (memory or RocksDB), so timers
// are snapshotted and restored (and rescaled) with the state: each batch's keys are
// prefetched in one go, and the backend's sticky error fails the batch.

#include <memory>
#include <vector>

#include "cdcflow/operator.h"
#include "runtime/state/keyed_state_backend.h"

namespace cdcflow::task {

// Task-thread only, like every Operator.
class KeyedProcessOperator final : public Operator,
                                   private KeyedRuntimeContext,
                                   private KeyedContext {
 public:
  // `key` must outlive the operator.
  KeyedProcessOperator(std::unique_ptr<KeyedProcessFunction> fn, const KeySelector* key,
                       std::unique_ptr<state::KeyedStateBackend> state);

  absl::Status Open(RuntimeContext& ctx) override;
  absl::Status ProcessBatch(int input, RowBatch& batch, Collector& out) override;
  absl::Status ProcessWatermark(int64_t watermark, Collector& out) override;
  int64_t NextProcessingTime() const override;
  absl::Status OnProcessingTime(int64_t now_ms, Collector& out) override;
  absl::Status Close() override;

  state::KeyedStateBackend& state() { return *state_; }
  size_t pending_timers() const {
    return state_->TimerCount(TimeDomain::kEventTime) +
           state_->TimerCount(TimeDomain::kProcessingTime);
  }

 private:
  absl::Status FireTimers(int64_t until, TimeDomain domain, Collector& out);

  // RuntimeContext / KeyedRuntimeContext (delegating to the task's context).
  std::string_view operator_name() const override { return ctx_->operator_name(); }
  int subtask_index() const override { return ctx_->subtask_index(); }
  int parallelism() const override { return ctx_->parallelism(); }
  int max_parallelism() const override { return ctx_->max_parallelism(); }
  const JobArgs& args() const override { return ctx_->args(); }
  int64_t ProcessingTimeMs() const override { return ctx_->ProcessingTimeMs(); }
  MetricGroup& metrics() override { return ctx_->metrics(); }
  absl::StatusOr<KeyedValueState*> GetValueState(std::string_view name) override {
    return state_->GetValueState(name);
  }
  absl::StatusOr<RowState*> GetRowState(std::string_view name) override {
    return state_->GetRowState(name);
  }
  absl::StatusOr<ListState*> GetListState(std::string_view name) override {
    return state_->GetListState(name);
  }
  absl::StatusOr<MapState*> GetMapState(std::string_view name) override {
    return state_->GetMapState(name);
  }
  // KeyedContext.
  const Key& current_key() const override { return *current_key_; }
  int64_t timestamp() const override { return timestamp_; }
  int64_t current_watermark() const override { return watermark_; }
  int64_t current_processing_time() const override { return ctx_->ProcessingTimeMs(); }
  // The backend's current key is the element's (or the firing timer's) key.
  void RegisterEventTimeTimer(int64_t time) override {
    state_->RegisterTimer(TimeDomain::kEventTime, time);
  }
  void RegisterProcessingTimeTimer(int64_t time) override {
    state_->RegisterTimer(TimeDomain::kProcessingTime, time);
  }
  void DeleteEventTimeTimer(int64_t time) override {
    state_->DeleteTimer(TimeDomain::kEventTime, time);
  }
  void DeleteProcessingTimeTimer(int64_t time) override {
    state_->DeleteTimer(TimeDomain::kProcessingTime, time);
  }

  std::unique_ptr<KeyedProcessFunction> fn_;
  const KeySelector* key_;
  std::unique_ptr<state::KeyedStateBackend> state_;
  RuntimeContext* ctx_ = nullptr;
  std::vector<Key> keys_;
  std::vector<uint64_t> hashes_;
  const Key* current_key_ = nullptr;
  int64_t timestamp_ = kNoTimestamp;
  int64_t watermark_ = kMinWatermark;
  Key timer_key_;  // the key of the firing timer
};

}  // namespace cdcflow::task
