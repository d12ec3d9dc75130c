#pragma once
// The operator API: what runs inside a job's vertices.
//
// Threading: every operator instance belongs to one subtask and is called from that
// subtask's task thread only, never concurrently; it needs no locking. An instance is
// created per subtask through a factory (see job.h), so instances share nothing
// unless the author shares it on purpose (and then synchronizes it).
//
// Errors: every hook returns absl::Status. A non-OK status fails the task (and the
// job), reported with the operator name and subtask index. Hooks must not throw.
//
// Call order: Open, then any number of ProcessBatch / ProcessWatermark /
// OnProcessingTime, then Finish (only when every input ended, not on cancel), then
// Close (always, also after a failure or cancel).

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/batch.h"
#include "cdcflow/export.h"
#include "cdcflow/job_args.h"
#include "cdcflow/metrics.h"
#include "cdcflow/row.h"
#include "cdcflow/state.h"
#include "cdcflow/value.h"

namespace cdcflow {

// What the runtime tells an operator, source or sink about where it runs. Owned by
// the runtime; valid from Open until Close returns.
class CDCFLOW_API RuntimeContext {
 public:
  virtual ~RuntimeContext();
  virtual std::string_view operator_name() const = 0;
  virtual int subtask_index() const = 0;  // 0 .. parallelism-1
  virtual int parallelism() const = 0;
  virtual int max_parallelism() const = 0;  // number of key groups
  virtual const JobArgs& args() const = 0;
  // Wall-clock milliseconds since the epoch, as processing-time timers see it.
  virtual int64_t ProcessingTimeMs() const = 0;
  // Where the operator registers its own metrics (see cdcflow/metrics.h); series get
  // the job, vertex and subtask labels. The default exports nothing.
  virtual MetricGroup& metrics();
};

class CDCFLOW_API Operator {
 public:
  virtual ~Operator();
  virtual absl::Status Open(RuntimeContext& ctx) { return absl::OkStatus(); }
  // Processes one batch that arrived on input `input` (0 for single-input
  // operators). The operator may consume (move from) the batch's rows; output goes to
  // `out`. This is the hot path: loop over the batch, no per-row virtual calls.
  virtual absl::Status ProcessBatch(int input, RowBatch& batch, Collector& out) = 0;
  // The operator's event time advanced to `watermark` (the minimum over all input
  // channels). The runtime forwards the watermark downstream after this returns, so
  // rows emitted here precede it.
  virtual absl::Status ProcessWatermark(int64_t watermark, Collector& out) {
    return absl::OkStatus();
  }
  // The earliest processing time (ms) at which the operator wants OnProcessingTime,
  // or kNoTimestamp. The runtime polls this after every call into the operator.
  virtual int64_t NextProcessingTime() const { return kNoTimestamp; }
  virtual absl::Status OnProcessingTime(int64_t now_ms, Collector& out) {
    return absl::OkStatus();
  }
  // Every input ended (after the final kMaxWatermark): emit what is left.
  virtual absl::Status Finish(Collector& out) { return absl::OkStatus(); }
  virtual absl::Status Close() { return absl::OkStatus(); }
  // Checkpoint hooks (the coordinator drives them once checkpoints exist): the
  // operator's non-keyed state as bytes, and its restore.
  virtual absl::StatusOr<std::string> SnapshotState(int64_t checkpoint_id) {
    return std::string();
  }
  virtual absl::Status RestoreState(std::string_view state) { return absl::OkStatus(); }
};

// ---------------------------------------------------------------------------------
// Keys.

// The key of a row: one or more values. Rows with equal keys go to the same subtask
// and share keyed state.
struct Key {
  std::vector<Value> fields;
  friend bool operator==(const Key&, const Key&) = default;
};

// The stable hash of a key (the field's Value::StableHash for a one-field key, a fixed
// fold for more). Key groups derive from it, so it never changes between releases.
CDCFLOW_API uint64_t KeyHash(const Key& key);

// Extracts keys from rows. One instance serves every subtask and exchange of the job
// at once: implementations must be const and thread-safe. Both methods are called per
// batch, so a selector costs one virtual call per batch.
class CDCFLOW_API KeySelector {
 public:
  virtual ~KeySelector();
  // keys->size() == batch.size() on return; keys[i] is the key of batch.row(i).
  // Existing elements are reused to avoid reallocations.
  virtual absl::Status SelectKeys(const RowBatch& batch, std::vector<Key>* keys) const = 0;
  // hashes[i] = KeyHash(key of batch.row(i)); `hashes` has batch.size() slots.
  // The default goes through SelectKeys; overriding avoids copying key values.
  virtual absl::Status HashKeys(const RowBatch& batch, uint64_t* hashes) const;
  // A short description for graphs and errors, e.g. "fields[0,2]".
  virtual std::string Describe() const = 0;
};

// Keys on field positions. A row too short for a position is an error naming it.
class CDCFLOW_API FieldKeySelector final : public KeySelector {
 public:
  explicit FieldKeySelector(std::vector<int> fields) : fields_(std::move(fields)) {}
  absl::Status SelectKeys(const RowBatch& batch, std::vector<Key>* keys) const override;
  absl::Status HashKeys(const RowBatch& batch, uint64_t* hashes) const override;
  std::string Describe() const override;
  const std::vector<int>& fields() const { return fields_; }

 private:
  std::vector<int> fields_;
};

// Keys by a user function `Value f(const Row&)` or `Key f(const Row&)`, inlined
// into the per-batch loop.
template <typename F>
class LambdaKeySelector final : public KeySelector {
 public:
  explicit LambdaKeySelector(F f, std::string description = "lambda")
      : f_(std::move(f)), description_(std::move(description)) {}
  absl::Status SelectKeys(const RowBatch& batch, std::vector<Key>* keys) const override {
    keys->resize(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      auto k = f_(batch.row(i));
      if constexpr (std::is_same_v<decltype(k), Key>) {
        (*keys)[i] = std::move(k);
      } else {
        Key& key = (*keys)[i];
        key.fields.resize(1);
        key.fields[0] = std::move(k);
      }
    }
    return absl::OkStatus();
  }
  std::string Describe() const override { return description_; }

 private:
  F f_;
  std::string description_;
};

// ---------------------------------------------------------------------------------
// Keyed state and timers. Row, list and map state are in cdcflow/state.h; the backend
// (runtime/state) keeps them in memory or in RocksDB with a write-back cache.

// A value kept per key. The handle reads and writes the value of the key currently
// being processed (the row's key in ProcessElement, the timer's key in OnTimer).
// Owned by the runtime, valid from Open to Close, task-thread only.
class CDCFLOW_API KeyedValueState {
 public:
  virtual ~KeyedValueState();
  // The current key's value, or nullptr when it has none. The pointer is valid until
  // the next call on any state handle of this operator.
  virtual const Value* Get() = 0;
  virtual void Put(Value value) = 0;
  virtual void Clear() = 0;
};

enum class TimeDomain : uint8_t { kEventTime = 0, kProcessingTime = 1 };

// The runtime context of a keyed operator: adds state handles. Call these in Open.
// The same name gives the same handle; a name holds one kind of state (asking for
// another kind is kInvalidArgument). Handles are owned by the runtime, valid until Close.
class CDCFLOW_API KeyedRuntimeContext : public RuntimeContext {
 public:
  virtual absl::StatusOr<KeyedValueState*> GetValueState(std::string_view name) = 0;
  virtual absl::StatusOr<RowState*> GetRowState(std::string_view name) = 0;
  virtual absl::StatusOr<ListState*> GetListState(std::string_view name) = 0;
  virtual absl::StatusOr<MapState*> GetMapState(std::string_view name) = 0;
};

// Per element / per timer context of a keyed process function. Owned by the runtime.
class CDCFLOW_API KeyedContext {
 public:
  virtual ~KeyedContext();
  virtual const Key& current_key() const = 0;
  // The element's event time (kNoTimestamp when none), or the firing timer's time.
  virtual int64_t timestamp() const = 0;
  virtual int64_t current_watermark() const = 0;
  virtual int64_t current_processing_time() const = 0;
  // Timers are per key and deduplicated: registering the same (key, time, domain)
  // twice fires once. Event-time timers fire when the watermark reaches `time` (at the
  // latest when a bounded input ends); processing-time timers when the wall clock
  // does (they do not fire after the input ended).
  virtual void RegisterEventTimeTimer(int64_t time) = 0;
  virtual void RegisterProcessingTimeTimer(int64_t time) = 0;
  virtual void DeleteEventTimeTimer(int64_t time) = 0;
  virtual void DeleteProcessingTimeTimer(int64_t time) = 0;
};

// User logic on a keyed stream (after KeyBy), like Flink's KeyedProcessFunction.
// One instance per subtask, called from the task thread only. One virtual call per
// row: state access dominates keyed processing anyway.
class CDCFLOW_API KeyedProcessFunction {
 public:
  virtual ~KeyedProcessFunction();
  virtual absl::Status Open(KeyedRuntimeContext& ctx) { return absl::OkStatus(); }
  // `row` may be consumed (moved from).
  virtual absl::Status ProcessElement(Row& row, KeyedContext& ctx, Collector& out) = 0;
  virtual absl::Status OnTimer(int64_t time, TimeDomain domain, KeyedContext& ctx,
                               Collector& out) {
    return absl::OkStatus();
  }
  virtual absl::Status Close() { return absl::OkStatus(); }
};

}  // namespace cdcflow
