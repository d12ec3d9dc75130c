#pragma once
// The ordered key-value store under the keyed state backend: RocksDB in production,
// an in-memory map for tests. Keys and values are opaque bytes (the backend encodes
// them with the row codec). A store holds named key spaces (RocksDB column families,
// one per state name), addressed by a dense id once opened.
//
// Not thread-safe: one store belongs to one subtask's task thread.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cdcflow::state {

// Writes applied atomically by KvStore::Write.
class KvWriteBatch {
 public:
  virtual ~KvWriteBatch() = default;
  virtual void Put(int space, std::string_view key, std::string_view value) = 0;
  virtual void Delete(int space, std::string_view key) = 0;
  virtual size_t Count() const = 0;
};

class KvStore {
 public:
  virtual ~KvStore() = default;

  // The id of the space `name`, created when missing.
  virtual absl::StatusOr<int> OpenSpace(std::string_view name) = 0;
  // Names of every space the store holds (for restore), in id order.
  virtual std::vector<std::string> SpaceNames() const = 0;

  // Fills (*values)[i] for keys[i]; std::nullopt when absent. One round trip.
  virtual absl::Status MultiGet(int space, std::span<const std::string> keys,
                                std::vector<std::optional<std::string>>* values) = 0;
  // Calls fn(key, value) for every key in [begin, end) in key order; an empty `end`
  // means no upper bound. The views are valid during the call only.
  virtual absl::Status Scan(int space, std::string_view begin, std::string_view end,
                            absl::FunctionRef<void(std::string_view, std::string_view)> fn) = 0;
  // Calls fn for every key that starts with `prefix`, a whole state-key prefix
  // (runtime/state/state_key.h): a store may use prefix Bloom filters to skip files.
  virtual absl::Status ScanPrefix(
      int space, std::string_view prefix,
      absl::FunctionRef<void(std::string_view, std::string_view)> fn) = 0;

  // Marks `space` as holding values that start with an expiry (u64 ms, big-endian):
  // a store may drop them once expired (RocksDB: in compaction). Default: keeps them.
  virtual void SetSpaceHasExpiry(int space) {}
  // Compacts every space now (RocksDB: expired entries go). Default: nothing to do.
  virtual absl::Status Compact() { return absl::OkStatus(); }

  virtual std::unique_ptr<KvWriteBatch> NewWriteBatch() = 0;
  virtual absl::Status Write(KvWriteBatch& batch) = 0;

  // Writes a consistent, self-contained copy of the store into `dir` (which must not
  // exist yet), readable by OpenKvSnapshot.
  virtual absl::Status Checkpoint(const std::string& dir) = 0;
};

// Opens a snapshot written by any store's Checkpoint, read-only (writes fail).
absl::StatusOr<std::unique_ptr<KvStore>> OpenKvSnapshot(const std::string& dir);

// The smallest key greater than every key that starts with `prefix` ("" when none).
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace cdcflow::state
