#pragma once
// KvStore on RocksDB: one DB per subtask directory, one column family per key space
// (state name). Writes skip the WAL: durability comes from checkpoints, and a task
// that fails restarts from the last completed one, never from the local DB.

#include <memory>
#include <string>
#include <vector>

#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/write_buffer_manager.h"
#include "runtime/state/kv_store.h"

namespace cdcflow::state {

// Defaults: SharedRocksDbStoreOptions(kDefaultStateMemoryBytes), i.e. every DB of the
// process shares one block cache of 256 MiB to which all memtables are charged
// (write_buffer_ratio of it at most), 16 MiB memtables per column family, 2 per family.
inline constexpr size_t kDefaultStateMemoryBytes = 256 << 20;
inline constexpr double kDefaultWriteBufferRatio = 0.5;

struct RocksDbStoreOptions {
  // Shared by every DB of a task manager to bound memory; null: the process-wide
  // cache of SharedRocksDbStoreOptions() with its default size.
  std::shared_ptr<rocksdb::Cache> block_cache;
  // Bounds the memtables of every DB it is given to (charged to block_cache); null:
  // none, unless block_cache is null too (then the process-wide one).
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffer_manager;
  size_t write_buffer_size = 16 << 20;
  int max_write_buffer_number = 2;

  // Free-space guard: RocksDB must never see ENOSPC (a flush or compaction that fails
  // mid-file leaves the DB in a state that later aborts an assertion-enabled
  // librocksdb), so the store refuses to hand it data it may not have room to write.
  // Before a write batch (rate-limited, see below), an explicit flush, a checkpoint, a
  // compaction and at open, it reads the free space of its directory's file system
  // (statvfs) and fails with kResourceExhausted ("state directory <dir>: no space left
  // on device: <free> bytes free, <needed> needed (...)") when that is less than
  //   the memtables not yet flushed (of every DB sharing the write buffer manager)
  //   + the batch + disk_check_bytes (written before the next check)
  //   + compaction headroom (the two largest column families' L0+L1 bytes, or RocksDB's
  //     pending-compaction estimate if larger; a full compaction: every SST file)
  //   + disk_reserve_bytes.
  // RocksDB never saw the refused data, so the DB stays sound; the task fails and
  // restarts (a later write succeeds once space is back). Not RocksDB's SstFileManager:
  // it reads the free space only after a NoSpace error has happened, and with one the
  // DB auto-resumes after ENOSPC, the path that trips librocksdb's assertions.
  //
  // Slack for what the estimate leaves out (manifests, OPTIONS and LOG files, checkpoint
  // metadata, other writers on the file system). -1: the memtable budget of one column
  // family (write_buffer_size * max_write_buffer_number), capped by the write buffer
  // manager's size, at least 1 MiB. 0: no slack.
  int64_t disk_reserve_bytes = -1;
  // false: no guard (RocksDB may then hit ENOSPC; FromRocksDb still maps it).
  bool disk_guard = true;
  // Between two free-space reads at most this many bytes of batches go unchecked
  // (they are counted in what a check requires), and at most this much time passes.
  size_t disk_check_bytes = 1 << 20;
  int64_t disk_check_interval_ms = 100;
};

// The process-wide RocksDB memory (one per task manager / local run): an LRU block
// cache of `memory_bytes` shared by every keyed-state DB of the process, and a write
// buffer manager that charges all their memtables to that cache, flushing the largest
// once they exceed `write_buffer_ratio` of it. So state memory stays about
// `memory_bytes` whatever the number of subtasks and states (plus index/filter blocks,
// held by the open table readers: ~1.5 bytes per stored key, and the keyed backends'
// own write-back caches, KeyedStateOptions::cache_bytes). The first call creates them;
// a later call with another size resizes them (every DB of a process shares one budget).
RocksDbStoreOptions SharedRocksDbStoreOptions(size_t memory_bytes = kDefaultStateMemoryBytes,
                                              double write_buffer_ratio = kDefaultWriteBufferRatio);

// Converts RocksDB's error space (the one place that does): NoSpace and SpaceLimit
// (message "rocksdb <context>: no space left on device: ...") ->
// kResourceExhausted, Corruption -> kDataLoss, IOError/Busy -> kUnavailable,
// InvalidArgument -> kInvalidArgument, NotFound -> kNotFound.
absl::Status FromRocksDb(const rocksdb::Status& s, std::string_view context);

class RocksDbKvStore final : public KvStore {
 public:
  // Opens (creating when missing) the DB in `dir` with all its column families.
  static absl::StatusOr<std::unique_ptr<RocksDbKvStore>> Open(const std::string& dir,
                                                              const RocksDbStoreOptions& options);
  // Opens a checkpoint directory read-only.
  static absl::StatusOr<std::unique_ptr<RocksDbKvStore>> OpenReadOnly(const std::string& dir);
  ~RocksDbKvStore() override;
  RocksDbKvStore(const RocksDbKvStore&) = delete;
  RocksDbKvStore& operator=(const RocksDbKvStore&) = delete;

  struct ExpiringSpaces;  // the compaction filter's view of the TTL column families

  absl::StatusOr<int> OpenSpace(std::string_view name) override;
  std::vector<std::string> SpaceNames() const override;
  absl::Status MultiGet(int space, std::span<const std::string> keys,
                        std::vector<std::optional<std::string>>* values) override;
  absl::Status Scan(int space, std::string_view begin, std::string_view end,
                    absl::FunctionRef<void(std::string_view, std::string_view)> fn) override;
  absl::Status ScanPrefix(int space, std::string_view prefix,
                          absl::FunctionRef<void(std::string_view, std::string_view)> fn) override;
  void SetSpaceHasExpiry(int space) override;
  absl::Status Compact() override;
  std::unique_ptr<KvWriteBatch> NewWriteBatch() override;
  absl::Status Write(KvWriteBatch& batch) override;
  // A RocksDB checkpoint: SST files hard-linked, memtables flushed first.
  absl::Status Checkpoint(const std::string& dir) override;

  // What the free-space guard last measured (see RocksDbStoreOptions), for tests and
  // metrics.
  struct DiskSpace {
    uint64_t free = 0;        // available to this process (statvfs f_bavail)
    uint64_t memtables = 0;   // not yet flushed
    uint64_t incoming = 0;    // the batch being admitted plus disk_check_bytes
    uint64_t compaction = 0;  // headroom for compactions
    uint64_t reserve = 0;     // disk_reserve_bytes as resolved
    uint64_t needed() const { return memtables + incoming + compaction + reserve; }
  };
  const DiskSpace& last_disk_space() const { return disk_space_; }
  // Free-space reads so far (the rest of the writes were admitted by the rate limit).
  uint64_t disk_checks() const { return disk_checks_; }

 private:
  enum class SpaceCheck { kWrite, kFlush, kCompactAll };
  // The guard: OK when the file system has room for `incoming` more bytes (see
  // RocksDbStoreOptions); kWrite is rate-limited, the others always read the free space.
  absl::Status EnsureSpace(uint64_t incoming, SpaceCheck kind);
  // Calls fn for every key in [begin, end) (no upper bound when `end` is empty).
  absl::Status Iterate(int space, rocksdb::ReadOptions options, std::string_view begin,
                       std::string_view end,
                       absl::FunctionRef<void(std::string_view, std::string_view)> fn);

  RocksDbKvStore(std::string dir, rocksdb::ColumnFamilyOptions cf_options,
                 std::shared_ptr<ExpiringSpaces> expiring)
      : dir_(std::move(dir)), cf_options_(std::move(cf_options)), expiring_(std::move(expiring)) {}
  static absl::StatusOr<std::unique_ptr<RocksDbKvStore>> OpenImpl(const std::string& dir,
                                                                  const RocksDbStoreOptions& options,
                                                                  bool read_only);

  std::string dir_;
  rocksdb::ColumnFamilyOptions cf_options_;
  std::shared_ptr<ExpiringSpaces> expiring_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; destroyed before db_
  std::vector<std::string> names_;                     // parallel to handles_
  int default_index_ = -1;  // RocksDB's "default" family: kept open, never a state
  rocksdb::WriteOptions write_options_;

  // Free-space guard state.
  bool guard_ = false;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffer_manager_;
  uint64_t reserve_bytes_ = 0;
  uint64_t check_bytes_ = 0;
  int64_t check_interval_ns_ = 0;
  uint64_t unchecked_bytes_ = 0;  // admitted since the last free-space read
  int64_t last_check_ns_ = 0;
  bool refused_ = false;  // the last free-space read refused
  uint64_t disk_checks_ = 0;
  DiskSpace disk_space_;
};

}  // namespace cdcflow::state
