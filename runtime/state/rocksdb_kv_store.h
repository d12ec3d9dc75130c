#pragma once
// KvStore on RocksDB: one DB per subtask directory, one column family per key space
// (state name). Writes skip the WAL: durability comes from checkpoints, and a task
// that fails restarts from the last completed one, never from the local DB.

#include <memory>
#include <string>
#include <vector>

#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "runtime/state/kv_store.h"

namespace cdcflow::state {

struct RocksDbStoreOptions {
  // Shared by every DB of a task manager to bound memory; null: a private 32 MiB cache.
  std::shared_ptr<rocksdb::Cache> block_cache;
  size_t write_buffer_size = 16 << 20;
  int max_write_buffer_number = 2;
};

// Converts RocksDB's error space (the one place that does): NoSpace ->
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

  absl::StatusOr<int> OpenSpace(std::string_view name) override;
  std::vector<std::string> SpaceNames() const override;
  absl::Status MultiGet(int space, std::span<const std::string> keys,
                        std::vector<std::optional<std::string>>* values) override;
  absl::Status Scan(int space, std::string_view begin, std::string_view end,
                    absl::FunctionRef<void(std::string_view, std::string_view)> fn) override;
  std::unique_ptr<KvWriteBatch> NewWriteBatch() override;
  absl::Status Write(KvWriteBatch& batch) override;
  // A RocksDB checkpoint: SST files hard-linked, memtables flushed first.
  absl::Status Checkpoint(const std::string& dir) override;

 private:
  RocksDbKvStore(std::string dir, rocksdb::ColumnFamilyOptions cf_options)
      : dir_(std::move(dir)), cf_options_(std::move(cf_options)) {}
  static absl::StatusOr<std::unique_ptr<RocksDbKvStore>> OpenImpl(const std::string& dir,
                                                                  const RocksDbStoreOptions& options,
                                                                  bool read_only);

  std::string dir_;
  rocksdb::ColumnFamilyOptions cf_options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; destroyed before db_
  std::vector<std::string> names_;                     // parallel to handles_
  int default_index_ = -1;  // RocksDB's "default" family: kept open, never a state
  rocksdb::WriteOptions write_options_;
};

}  // namespace cdcflow::state
