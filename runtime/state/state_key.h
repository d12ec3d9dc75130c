#pragma once
// The layout of keyed-state store keys. Every entry of a keyed state is stored under
//
//   [key group: u16 big-endian][n: u16 big-endian][the state key's fields: n bytes]
//
// followed, for map state, by the entry's encoded map key (timers put their time,
// u64, before it). The length makes the state-key prefix self-delimiting, so a store
// can find it in any key (StateKeyPrefixLength): RocksDB's prefix extractor, so that
// Bloom filters (in memtables and SST files) answer "this key holds no map entry"
// without reading data blocks, which is what a join asks first for every new key.
// Key groups first: a subtask's key-group range is one contiguous key range.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cdcflow::state {

inline constexpr size_t kStateKeyHeaderBytes = 4;  // key group + length
inline constexpr size_t kMaxStateKeyBytes = 0xffff;

// The length of the [key group][n][fields] prefix at the start of `store_key`, or 0
// when `store_key` is shorter than the prefix it announces.
inline size_t StateKeyPrefixLength(std::string_view store_key) {
  if (store_key.size() < kStateKeyHeaderBytes) return 0;
  const size_t n = (static_cast<size_t>(static_cast<uint8_t>(store_key[2])) << 8) |
                   static_cast<uint8_t>(store_key[3]);
  return store_key.size() >= kStateKeyHeaderBytes + n ? kStateKeyHeaderBytes + n : 0;
}

}  // namespace cdcflow::state
