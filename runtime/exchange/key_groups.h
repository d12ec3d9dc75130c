#pragma once
// Key groups (Flink's KeyGroupRangeAssignment): keys hash into max_parallelism key
// groups; each subtask of a keyed vertex owns a contiguous range of them, so keyed
// state can be redistributed when the parallelism changes.

#include <cstdint>

namespace cdcflow::exchange {

inline int32_t KeyGroupForHash(uint64_t key_hash, int32_t max_parallelism) {
  return static_cast<int32_t>(key_hash % static_cast<uint64_t>(max_parallelism));
}

// The subtask that owns `key_group`.
inline int32_t SubtaskForKeyGroup(int32_t key_group, int32_t parallelism, int32_t max_parallelism) {
  return static_cast<int32_t>(static_cast<int64_t>(key_group) * parallelism / max_parallelism);
}

// The key groups [start, end] (inclusive) that `subtask` owns; the inverse of
// SubtaskForKeyGroup.
struct KeyGroupRange {
  int32_t start = 0;
  int32_t end = -1;
  bool Contains(int32_t key_group) const { return key_group >= start && key_group <= end; }
};
inline KeyGroupRange KeyGroupRangeForSubtask(int32_t subtask, int32_t parallelism,
                                             int32_t max_parallelism) {
  KeyGroupRange r;
  r.start = static_cast<int32_t>(
      (static_cast<int64_t>(subtask) * max_parallelism + parallelism - 1) / parallelism);
  r.end = static_cast<int32_t>(
      ((static_cast<int64_t>(subtask) + 1) * max_parallelism - 1) / parallelism);
  return r;
}

}  // namespace cdcflow::exchange
