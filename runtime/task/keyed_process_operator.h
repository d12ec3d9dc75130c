#pragma once
// Runs a KeyedProcessFunction on a keyed stream: extracts each row's key (one
// KeySelector call per batch), points the state backend at it, calls the function, and
// keeps per-key timers (event time fired by watermarks, processing time by the clock).
// State lives in a state::KeyedStateBackend (memory or RocksDB): each batch's keys are
// prefetched in one go, and the backend's sticky error fails the batch.

#include <map>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
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
  size_t pending_timers() const { return event_set_.size() + processing_set_.size(); }

 private:
  struct TimerKey {
    int64_t time;
    Key key;
    friend bool operator==(const TimerKey&, const TimerKey&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const TimerKey& t) {
      return H::combine(std::move(h), t.time, KeyHash(t.key));
    }
  };
  using TimerQueue = std::map<int64_t, std::vector<Key>>;
  absl::Status FireTimers(TimerQueue& queue, absl::flat_hash_set<TimerKey>& set, int64_t until,
                          TimeDomain domain, Collector& out);
  void Register(TimerQueue& queue, absl::flat_hash_set<TimerKey>& set, int64_t time);

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
  void RegisterEventTimeTimer(int64_t time) override { Register(event_timers_, event_set_, time); }
  void RegisterProcessingTimeTimer(int64_t time) override {
    Register(processing_timers_, processing_set_, time);
  }
  void DeleteEventTimeTimer(int64_t time) override { event_set_.erase(TimerKey{time, *current_key_}); }
  void DeleteProcessingTimeTimer(int64_t time) override {
    processing_set_.erase(TimerKey{time, *current_key_});
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
  // Timers: a time-ordered queue plus a set that deduplicates and records deletions
  // (a queued entry no longer in the set is skipped).
  TimerQueue event_timers_;
  TimerQueue processing_timers_;
  absl::flat_hash_set<TimerKey> event_set_;
  absl::flat_hash_set<TimerKey> processing_set_;
};

}  // namespace cdcflow::task
