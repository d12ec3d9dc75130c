#include "runtime/task/keyed_state.h"

namespace cdcflow::task {

class InMemoryKeyedStateBackend::ValueStateImpl final : public KeyedValueState {
 public:
  explicit ValueStateImpl(const Key* const* current) : current_(current) {}
  const Value* Get() override {
    auto it = values_.find(**current_);
    return it == values_.end() ? nullptr : &it->second;
  }
  void Put(Value value) override { values_.insert_or_assign(**current_, std::move(value)); }
  void Clear() override { values_.erase(**current_); }
  size_t size() const { return values_.size(); }

 private:
  const Key* const* current_;
  absl::flat_hash_map<Key, Value, KeyHasher> values_;
};

InMemoryKeyedStateBackend::InMemoryKeyedStateBackend() = default;
InMemoryKeyedStateBackend::~InMemoryKeyedStateBackend() = default;

KeyedValueState* InMemoryKeyedStateBackend::GetValueState(std::string_view name) {
  for (auto& [n, s] : states_) {
    if (n == name) return s.get();
  }
  states_.emplace_back(std::string(name), std::make_unique<ValueStateImpl>(&current_));
  return states_.back().second.get();
}

size_t InMemoryKeyedStateBackend::NumEntries() const {
  size_t n = 0;
  for (const auto& [name, s] : states_) n += s->size();
  return n;
}

}  // namespace cdcflow::task
