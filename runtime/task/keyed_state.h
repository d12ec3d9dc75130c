#pragma once
// Keyed state behind an interface, so the RocksDB backend (runtime/state, the record
// engineer's) can replace the in-memory one without touching the keyed operator.
//
// INTERIM: a minimal in-memory backend with value state only. When cdcflow/state.h and
// runtime/state land on main, KeyedProcessOperator moves to their KeyedStateBackend.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "cdcflow/operator.h"

namespace cdcflow::task {

struct KeyHasher {
  size_t operator()(const Key& key) const { return static_cast<size_t>(KeyHash(key)); }
};

// The state of one keyed operator subtask. Task-thread only.
class KeyedStateBackend {
 public:
  virtual ~KeyedStateBackend() = default;
  // Every state handle reads and writes the value of `key` until the next call. `key`
  // must stay valid until then.
  virtual void SetCurrentKey(const Key* key) = 0;
  // The value state `name`, created on first use; owned by the backend.
  virtual KeyedValueState* GetValueState(std::string_view name) = 0;
  // Number of keys with a value in any state (for tests and metrics).
  virtual size_t NumEntries() const = 0;
};

class InMemoryKeyedStateBackend final : public KeyedStateBackend {
 public:
  InMemoryKeyedStateBackend();
  ~InMemoryKeyedStateBackend() override;
  void SetCurrentKey(const Key* key) override { current_ = key; }
  KeyedValueState* GetValueState(std::string_view name) override;
  size_t NumEntries() const override;

 private:
  class ValueStateImpl;
  const Key* current_ = nullptr;
  std::vector<std::pair<std::string, std::unique_ptr<ValueStateImpl>>> states_;
};

}  // namespace cdcflow::task
