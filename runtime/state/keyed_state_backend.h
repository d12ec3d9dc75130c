#pragma once
// The keyed state of one operator subtask: the value / row / list / map states of
// cdcflow/state.h (and operator.h's KeyedValueState) for the keys this subtask owns.
//
// Layout: every state name is a key space of a KvStore (a RocksDB column family);
// a key is  [key group, u16 big-endian][u16 byte length][the key's values, row codec]
// (runtime/state/state_key.h) and a map entry appends  [varint m][m map-key values];
// a small map (a few entries) is stored whole under the state key alone instead
// (MapTable in the .cc says when, and why).
// The key group comes first so that a key-group range is one contiguous key range:
// snapshots are restored filtered to the range a subtask owns after rescaling (Flink's
// KeyGroupRangeAssignment). The byte length lets RocksDB's Bloom filters cover a map's
// entries by their common prefix (an absent map costs no data-block read).
//
// In front of the store sits a size-bounded write-back cache of decoded entries
// ("Where the time goes" in ARCHITECTURE.md): hits cost a hash lookup, writes are
// blind (no read), dirty entries reach the store in one WriteBatch on Flush (at each
// checkpoint, and between checkpoints once KeyedStateOptions::write_back_entries have
// accumulated and write_back_interval_ms have passed) or when the cache exceeds its
// budget (then it is flushed and emptied),
// and Prefetch reads a batch's misses with one MultiGet per state.
// Dirty entries are written back sorted by key (RocksDB's memtable then inserts a sorted
// run). A map state also keeps the hashes of the keys whose map may hold an entry in
// the store (every key a Put went to; after a restore, read by one scan of its space):
// a map read for any other key needs no store read (KeyedStateStats::skipped_reads).
//
// TTL (StateTtlConfig, per state name): an entry (a map entry for map state, the
// whole list for list state) expires ttl_ms after its last write (Flink's
// OnCreateAndWrite) and is never returned once expired (NeverReturnExpired). Cleanup:
// an expired entry found by a read is deleted (at the next flush), and RocksDB drops
// expired entries in compaction (a compaction filter on the state's column family).
// Values of a TTL state carry their expiry (u64 ms, big-endian) in front of the
// encoded value. The expiry clock is KeyedStateOptions::clock_ms in the backend and
// the system clock in the compaction filter.
//
// Timers (of keyed process functions) live in the store too: one key space per time
// domain ("__timers_event", "__timers_processing") ordered by (time, key group, key),
// restored with the state and filtered to the owned key-group range like the rest.
// They are mirrored in memory (an ordered set, loaded on first use), not counted in
// the cache budget, and written at each flush.
//
// Usage per batch: Prefetch(keys) (optional), then per row SetCurrentKey(key) and the
// state handles; after the batch, check status(). Snapshot(dir) at a checkpoint
// barrier. Not thread-safe: the owning task thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cdcflow/operator.h"
#include "cdcflow/state.h"
#include "runtime/exchange/key_groups.h"
#include "runtime/state/kv_store.h"
#include "runtime/state/rocksdb_kv_store.h"

namespace cdcflow::state {

inline constexpr int32_t kDefaultMaxParallelism = 128;
// Key groups are stored as u16.
inline constexpr int32_t kMaxMaxParallelism = 1 << 15;

// Time-to-live of a state's entries, like Flink's StateTtlConfig with UpdateType
// OnCreateAndWrite and StateVisibility NeverReturnExpired: an entry expires `ttl_ms`
// after its last write and reads never return it once expired (see the TTL notes
// above). 0: no expiry. Time is processing time (KeyedStateOptions::clock_ms).
// (Internal for now: built-in operators use it; the SDK's KeyedRuntimeContext does not
// take it yet.)
struct StateTtlConfig {
  int64_t ttl_ms = 0;
};

struct KeyedStateOptions {
  int32_t max_parallelism = kDefaultMaxParallelism;
  // The key groups this subtask owns (exchange::KeyGroupRangeForSubtask). Keys outside
  // are a partitioning bug and fail the backend.
  exchange::KeyGroupRange key_groups{0, kDefaultMaxParallelism - 1};
  // Budget of the write-back cache in (estimated) bytes of decoded state. 0 writes
  // every change through at the next state call; the in-memory backend ignores it.
  size_t cache_bytes = 64 << 20;
  // Dirty entries are written back to the store (one WriteBatch, the entries stay
  // cached) once at least write_back_entries have accumulated and write_back_interval_ms
  // have passed since the last write-back, not only at the next checkpoint or eviction:
  // the flush a checkpoint does on the task thread, a pause of the whole stream, then
  // holds about one interval's changes instead of one checkpoint interval's. The
  // interval keeps the cost low: each write-back looks at every cached entry, and
  // writes coalesced in the cache are written once. 0 entries: only at checkpoints and
  // evictions.
  size_t write_back_entries = 4096;
  int64_t write_back_interval_ms = 1000;
  // Milliseconds for TTL expiry; null: the system clock.
  std::function<int64_t()> clock_ms;
};

struct KeyedStateStats {
  uint64_t hits = 0;         // entry found in the cache
  uint64_t misses = 0;       // entry read from the store (one key at a time)
  uint64_t prefetched = 0;   // entries read by Prefetch's MultiGet
  uint64_t scans = 0;        // whole maps read from the store (prefix scans)
  uint64_t skipped_reads = 0;  // map reads answered without the store: the key never held one
  uint64_t flushes = 0;      // write batches written
  uint64_t evictions = 0;    // times the cache was emptied for exceeding its budget
  size_t cached_bytes = 0;
};

// The key group of a key hash (KeyHash(key) from cdcflow/operator.h).
inline int32_t KeyGroupOf(uint64_t key_hash, int32_t max_parallelism) {
  return exchange::KeyGroupForHash(key_hash, max_parallelism);
}

class KeyedStateBackend {
 public:
  // Everything in memory (tests, small jobs); snapshots are one file per directory.
  static absl::StatusOr<std::unique_ptr<KeyedStateBackend>> CreateInMemory(
      const KeyedStateOptions& options);
  // RocksDB in `dir` (created when missing; one directory per subtask).
  static absl::StatusOr<std::unique_ptr<KeyedStateBackend>> CreateRocksDb(
      const KeyedStateOptions& options, const std::string& dir,
      const RocksDbStoreOptions& rocksdb_options = {});
  // Over any store (tests).
  static absl::StatusOr<std::unique_ptr<KeyedStateBackend>> Create(const KeyedStateOptions& options,
                                                                  std::unique_ptr<KvStore> store,
                                                                  bool unbounded_cache);
  ~KeyedStateBackend();
  KeyedStateBackend(const KeyedStateBackend&) = delete;
  KeyedStateBackend& operator=(const KeyedStateBackend&) = delete;

  // Points every handle at `key`. The hash overload skips recomputing KeyHash(key)
  // (the exchange already computed it). `key` is copied (encoded) here.
  void SetCurrentKey(const Key& key) { SetCurrentKey(key, KeyHash(key)); }
  void SetCurrentKey(const Key& key, uint64_t key_hash);
  int32_t current_key_group() const { return current_key_group_; }

  // Handles by state name, created on first use and owned by the backend. A name
  // holds one kind of state: asking for another kind is kInvalidArgument.
  // Asking again for a name with another TTL is kInvalidArgument too. Names starting
  // with "__" are reserved.
  absl::StatusOr<KeyedValueState*> GetValueState(std::string_view name,
                                                 const StateTtlConfig& ttl = {});
  absl::StatusOr<RowState*> GetRowState(std::string_view name, const StateTtlConfig& ttl = {});
  absl::StatusOr<ListState*> GetListState(std::string_view name, const StateTtlConfig& ttl = {});
  absl::StatusOr<MapState*> GetMapState(std::string_view name, const StateTtlConfig& ttl = {});

  // True when the store holds a state named `name` (one used before, or restored from
  // a snapshot that has it), without creating it: for operators that read an older
  // layout of their state.
  bool HoldsState(std::string_view name) const;

  // Timers of the current key, deduplicated per (domain, time, key).
  void RegisterTimer(TimeDomain domain, int64_t time);
  void DeleteTimer(TimeDomain domain, int64_t time);
  // The earliest timer's time, or kNoTimestamp when there is none.
  int64_t NextTimer(TimeDomain domain);
  // Removes the earliest timer if its time is <= `until`: true with its time and key.
  bool PopTimer(TimeDomain domain, int64_t until, int64_t* time, Key* key);
  size_t TimerCount(TimeDomain domain);

  // Loads the entries of `keys` that the cache misses, for every value, row and list
  // state, and the inline maps (the whole map of a key holding a few entries) of every
  // map state, with one MultiGet per state (a spread map loads per key on first access).
  // `key_hashes` may be empty (then KeyHash is computed) or parallel to `keys`.
  absl::Status Prefetch(std::span<const Key> keys, std::span<const uint64_t> key_hashes = {});
  // Writes every dirty cache entry to the store (one WriteBatch).
  absl::Status Flush();
  // Flush, then a consistent copy of the whole state into `dir` (must not exist):
  // a RocksDB checkpoint (hard links) or the in-memory snapshot file, plus a small
  // KEYED_STATE file with the max parallelism and key-group range.
  absl::Status Snapshot(const std::string& dir);
  // Loads the entries of the owned key-group range from snapshots taken by any
  // subtasks (of any parallelism, same max parallelism) into this backend, which
  // must be empty. Restoring the snapshots of all old subtasks rescales.
  absl::Status Restore(std::span<const std::string> snapshot_dirs);

  // The first storage error (sticky); OK while healthy. Check after each batch.
  const absl::Status& status() const { return status_; }
  KeyedStateStats stats() const;
  const KeyedStateOptions& options() const { return options_; }

  // Internal: shared with the state tables (defined in the .cc).
  class Table;

 private:
  KeyedStateBackend(const KeyedStateOptions& options, std::unique_ptr<KvStore> store,
                    bool unbounded_cache);
  template <typename T, typename Handle>
  absl::StatusOr<Handle*> GetTable(std::string_view name, int kind, const StateTtlConfig& ttl);
  class TimerTable* Timers(TimeDomain domain);
  int64_t NowMs() const;
  // Appends the store-key prefix of `key` (runtime/state/state_key.h); a key too long
  // for it is recorded as the sticky error.
  void EncodeKey(const Key& key, uint64_t key_hash, std::string* out);
  void RecordError(const absl::Status& s);
  // Before each state access: writes the dirty entries back once there are
  // write_back_entries of them and write_back_interval_ms have passed since the last
  // Flush, and flushes and empties the cache when it exceeds its budget.
  void MaintainCache();

  KeyedStateOptions options_;
  std::unique_ptr<KvStore> store_;
  bool unbounded_cache_;
  std::vector<std::unique_ptr<Table>> tables_;
  class TimerTable* timers_[2] = {nullptr, nullptr};  // by TimeDomain, owned by tables_
  std::string current_key_;  // encoded, key group first
  int32_t current_key_group_ = -1;
  absl::Status status_;
  KeyedStateStats stats_;
  size_t cached_bytes_ = 0;
  size_t dirty_entries_ = 0;  // cache entries changed since the last Flush
  size_t write_back_check_at_;  // dirty_entries_ at which to look at the clock again
  int64_t last_flush_ns_ = 0;  // steady clock
};

}  // namespace cdcflow::state
