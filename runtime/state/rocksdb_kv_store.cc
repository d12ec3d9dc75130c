#include "runtime/state/rocksdb_kv_store.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "runtime/state/mem_kv_store.h"
#include "runtime/state/state_key.h"

namespace cdcflow::state {
namespace {

absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }
rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class RocksWriteBatch final : public KvWriteBatch {
 public:
  explicit RocksWriteBatch(const std::vector<rocksdb::ColumnFamilyHandle*>* handles)
      : handles_(handles) {}
  void Put(int space, std::string_view key, std::string_view value) override {
    batch_.Put((*handles_)[space], ToSlice(key), ToSlice(value));
  }
  void Delete(int space, std::string_view key) override {
    batch_.Delete((*handles_)[space], ToSlice(key));
  }
  size_t Count() const override { return static_cast<size_t>(batch_.Count()); }
  rocksdb::WriteBatch& batch() { return batch_; }

 private:
  const std::vector<rocksdb::ColumnFamilyHandle*>* handles_;
  rocksdb::WriteBatch batch_;
};

}  // namespace

// Column families whose values start with an expiry: the compaction filter drops
// those that have expired (by the system clock). Shared with RocksDB's compaction
// threads, hence the lock.
struct RocksDbKvStore::ExpiringSpaces {
  std::mutex mu;
  absl::flat_hash_set<uint32_t> ids;
  bool Contains(uint32_t id) {
    std::lock_guard lock(mu);
    return ids.contains(id);
  }
};

namespace {

class ExpiryFilter final : public rocksdb::CompactionFilter {
 public:
  explicit ExpiryFilter(int64_t now_ms) : now_ms_(now_ms) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    if (value.size() < 8) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(value[i]);
    return static_cast<int64_t>(v) <= now_ms_;
  }
  const char* Name() const override { return "cdcflow.ExpiryFilter"; }

 private:
  int64_t now_ms_;
};

class ExpiryFilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  explicit ExpiryFilterFactory(std::shared_ptr<RocksDbKvStore::ExpiringSpaces> spaces)
      : spaces_(std::move(spaces)) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override {
    if (!spaces_->Contains(context.column_family_id)) return nullptr;
    return std::make_unique<ExpiryFilter>(absl::ToUnixMillis(absl::Now()));
  }
  const char* Name() const override { return "cdcflow.ExpiryFilterFactory"; }

 private:
  std::shared_ptr<RocksDbKvStore::ExpiringSpaces> spaces_;
};

// RocksDB's view of state_key.h: the [key group][length][key] prefix of a store key.
class StateKeyPrefixExtractor final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "cdcflow.StateKeyPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), StateKeyPrefixLength(std::string_view(key.data(), key.size())));
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return StateKeyPrefixLength(std::string_view(key.data(), key.size())) > 0;
  }
};

}  // namespace

RocksDbStoreOptions SharedRocksDbStoreOptions(size_t memory_bytes, double write_buffer_ratio) {
  static std::mutex mu;
  static std::shared_ptr<rocksdb::Cache>* cache = nullptr;
  static std::shared_ptr<rocksdb::WriteBufferManager>* manager = nullptr;
  std::lock_guard lock(mu);
  const size_t buffers = static_cast<size_t>(static_cast<double>(memory_bytes) * write_buffer_ratio);
  if (cache == nullptr) {
    rocksdb::LRUCacheOptions lru;
    lru.capacity = memory_bytes;
    lru.high_pri_pool_ratio = 0.0;  // index and filter blocks are not in the cache
    cache = new std::shared_ptr<rocksdb::Cache>(rocksdb::NewLRUCache(lru));
    manager = new std::shared_ptr<rocksdb::WriteBufferManager>(
        std::make_shared<rocksdb::WriteBufferManager>(buffers, *cache));
  } else if ((*cache)->GetCapacity() != memory_bytes) {
    (*cache)->SetCapacity(memory_bytes);
    (*manager)->SetBufferSize(buffers);
  }
  RocksDbStoreOptions options;
  options.block_cache = *cache;
  options.write_buffer_manager = *manager;
  return options;
}

absl::Status FromRocksDb(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return absl::OkStatus();
  const std::string text = s.ToString();
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit ||
      text.find("No space left") != std::string::npos) {
    return absl::ResourceExhaustedError(
        absl::StrCat("rocksdb ", Sv(context), ": no space left on device: ", text));
  }
  const std::string message = absl::StrCat("rocksdb ", Sv(context), ": ", text);
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

absl::StatusOr<std::unique_ptr<RocksDbKvStore>> RocksDbKvStore::Open(
    const std::string& dir, const RocksDbStoreOptions& options) {
  return OpenImpl(dir, options, /*read_only=*/false);
}

absl::StatusOr<std::unique_ptr<RocksDbKvStore>> RocksDbKvStore::OpenReadOnly(
    const std::string& dir) {
  return OpenImpl(dir, RocksDbStoreOptions(), /*read_only=*/true);
}

absl::StatusOr<std::unique_ptr<RocksDbKvStore>> RocksDbKvStore::OpenImpl(
    const std::string& dir, const RocksDbStoreOptions& given, bool read_only) {
  RocksDbStoreOptions options = given;
  if (options.block_cache == nullptr) {
    const RocksDbStoreOptions shared = SharedRocksDbStoreOptions();
    options.block_cache = shared.block_cache;
    if (options.write_buffer_manager == nullptr) {
      options.write_buffer_manager = shared.write_buffer_manager;
    }
  }
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = options.block_cache;
  // Index and filter blocks stay with their table readers, outside the block cache:
  // they are small (~1.5 bytes per key for both) and read by every lookup, and in the
  // cache they competed with data blocks and the memtables charged to it, so whole
  // filter blocks were evicted and read back from disk again and again (1M-event
  // benchmark: 26 % less CPU without that). They are bounded by max_open_files.
  table.cache_index_and_filter_blocks = false;
  // Most state reads are point lookups, many for keys not written yet (a join's first
  // row of a key): a Bloom filter answers those without reading data blocks.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  auto expiring = std::make_shared<ExpiringSpaces>();
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.compaction_filter_factory = std::make_shared<ExpiryFilterFactory>(expiring);
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Keyed-state keys start with a self-delimiting state-key prefix (state_key.h): the
  // filters (SST and memtable) hold prefixes besides whole keys, so a map's entries
  // (ScanPrefix) and a single entry (MultiGet) of a key that holds nothing are ruled out
  // without searching a memtable or reading a data block; that is most first reads of
  // a join. Timer keys start with their time, not with the prefix: their filter entries
  // mean nothing, which is harmless because timers are only read by total-order Scans.
  cf_options.prefix_extractor = std::make_shared<StateKeyPrefixExtractor>();
  cf_options.memtable_whole_key_filtering = true;
  // A write-back writes each state's entries sorted (KeyedStateBackend::Flush): the
  // memtable's skip list keeps the last insert position per key group (the keys' first
  // two bytes) and searches from there, not from the top, for the next key of the run.
  cf_options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(2));
  cf_options.write_buffer_size = options.write_buffer_size;
  // Every column family (one per state of every subtask: 22 in the seed job on two
  // slots) has a memtable from the start, and its fixed size comes out of the shared
  // write buffer budget: the memtable Bloom filter (this ratio of write_buffer_size,
  // 0.05 was 0.8 MiB each; 0.02 is still ~16 bits per key of a full memtable) and the
  // first arena block (default write_buffer_size / 8 = 2 MiB each). With 16 MiB of
  // write buffers those ~60 MiB of fixed cost kept the manager flushing memtables that
  // held almost nothing. 64 KiB blocks: a memtable takes what it fills.
  cf_options.memtable_prefix_bloom_size_ratio = 0.02;
  cf_options.arena_block_size = 64 << 10;
  cf_options.max_write_buffer_number = options.max_write_buffer_number;
  // No compression (as Kafka Streams' state stores): LZ4 took a quarter of RocksDB's
  // background CPU (flushes and compactions) and decompressing the blocks read back a
  // twelfth of the joins' (1M-event benchmark); the state is local and short-lived.
  cf_options.compression = rocksdb::kNoCompression;
  // Universal compaction: state keys are written in random order and the state is
  // small, so leveled compaction rewrote the whole of L1 with every L0 compaction
  // (RocksDB's background CPU grew over a catch-up); universal merges sorted runs of
  // similar size instead (less rewriting for more space, bounded by the disk reserve).
  cf_options.compaction_style = rocksdb::kCompactionStyleUniversal;
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !read_only;
  db_options.create_missing_column_families = !read_only;
  db_options.max_background_jobs = 2;
  db_options.max_open_files = 256;
  // The local DB is never reopened (a task restarts from a checkpoint), so closing it
  // need not flush the memtables: less work, and nothing written on a full disk.
  db_options.avoid_flush_during_shutdown = true;
  if (!read_only) db_options.write_buffer_manager = options.write_buffer_manager;

  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, dir, &names);
  if (!s.ok()) {
    if (read_only) return FromRocksDb(s, absl::StrCat("open snapshot ", dir));
    names = {rocksdb::kDefaultColumnFamilyName};  // a new DB
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, cf_options);

  auto store = std::unique_ptr<RocksDbKvStore>(new RocksDbKvStore(dir, cf_options, expiring));
  rocksdb::DB* db = nullptr;
  if (read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, dir, descriptors, &store->handles_, &db);
  } else {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (options.disk_guard) {
      store->guard_ = true;
      store->write_buffer_manager_ = options.write_buffer_manager;
      uint64_t reserve = 0;
      if (options.disk_reserve_bytes >= 0) {
        reserve = static_cast<uint64_t>(options.disk_reserve_bytes);
      } else {
        reserve = static_cast<uint64_t>(options.write_buffer_size) *
                  static_cast<uint64_t>(std::max(options.max_write_buffer_number, 1));
        if (options.write_buffer_manager != nullptr && options.write_buffer_manager->enabled()) {
          reserve = std::min<uint64_t>(reserve, options.write_buffer_manager->buffer_size());
        }
        reserve = std::max<uint64_t>(reserve, 1 << 20);
      }
      store->reserve_bytes_ = reserve;
      store->check_bytes_ = options.disk_check_bytes;
      store->check_interval_ns_ = options.disk_check_interval_ms * 1'000'000;
      // Opening writes a manifest, OPTIONS and LOG: the reserve must be there.
      if (absl::Status room = store->EnsureSpace(0, SpaceCheck::kFlush); !room.ok()) return room;
    }
    s = rocksdb::DB::Open(db_options, dir, descriptors, &store->handles_, &db);
  }
  if (!s.ok()) return FromRocksDb(s, absl::StrCat("open ", dir));
  // RocksDB's own recovery from a full disk stays off: a failed task restarts from a
  // checkpoint into a fresh directory.
  store->db_.reset(db);
  store->names_ = names;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) store->default_index_ = static_cast<int>(i);
  }
  store->write_options_.disableWAL = true;
  return store;
}

RocksDbKvStore::~RocksDbKvStore() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  db_->Close();
  db_.reset();
}

absl::StatusOr<int> RocksDbKvStore::OpenSpace(std::string_view name) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name && static_cast<int>(i) != default_index_) return static_cast<int>(i);
  }
  if (name == rocksdb::kDefaultColumnFamilyName) {
    return absl::InvalidArgumentError("state name 'default' is reserved");
  }
  if (absl::Status room = EnsureSpace(0, SpaceCheck::kFlush); !room.ok()) return room;
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  rocksdb::Status s = db_->CreateColumnFamily(cf_options_, std::string(name), &handle);
  if (!s.ok()) return FromRocksDb(s, absl::StrCat("create column family ", Sv(name), " in ", dir_));
  handles_.push_back(handle);
  names_.emplace_back(name);
  return static_cast<int>(handles_.size() - 1);
}

std::vector<std::string> RocksDbKvStore::SpaceNames() const {
  // Ids must stay usable: report the default family's slot as an empty name.
  std::vector<std::string> names = names_;
  if (default_index_ >= 0) names[default_index_].clear();
  return names;
}

absl::Status RocksDbKvStore::MultiGet(int space, std::span<const std::string> keys,
                                      std::vector<std::optional<std::string>>* values) {
  const size_t n = keys.size();
  values->resize(n);
  if (n == 0) return absl::OkStatus();
  std::vector<rocksdb::Slice> slices(n);
  for (size_t i = 0; i < n; ++i) slices[i] = ToSlice(keys[i]);
  std::vector<rocksdb::PinnableSlice> found(n);
  std::vector<rocksdb::Status> statuses(n);
  db_->MultiGet(rocksdb::ReadOptions(), handles_[space], n, slices.data(), found.data(),
                statuses.data());
  for (size_t i = 0; i < n; ++i) {
    if (statuses[i].IsNotFound()) {
      (*values)[i].reset();
    } else if (!statuses[i].ok()) {
      return FromRocksDb(statuses[i], absl::StrCat("multiget in ", names_[space], " of ", dir_));
    } else {
      (*values)[i].emplace(found[i].data(), found[i].size());
    }
  }
  return absl::OkStatus();
}

absl::Status RocksDbKvStore::Scan(int space, std::string_view begin, std::string_view end,
                                  absl::FunctionRef<void(std::string_view, std::string_view)> fn) {
  rocksdb::ReadOptions options;
  options.total_order_seek = true;  // a range, not one prefix: the prefix filters do not apply
  return Iterate(space, options, begin, end, fn);
}

absl::Status RocksDbKvStore::ScanPrefix(
    int space, std::string_view prefix,
    absl::FunctionRef<void(std::string_view, std::string_view)> fn) {
  if (StateKeyPrefixLength(prefix) != prefix.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scan ", names_[space], " of ", dir_, ": a prefix scan needs a whole state-key prefix, got ",
        prefix.size(), " bytes"));
  }
  rocksdb::ReadOptions options;
  // Seeks skip every memtable and SST file whose prefix Bloom filter rules the prefix out.
  options.prefix_same_as_start = true;
  return Iterate(space, options, prefix, PrefixSuccessor(prefix), fn);
}

absl::Status RocksDbKvStore::Iterate(
    int space, rocksdb::ReadOptions options, std::string_view begin, std::string_view end,
    absl::FunctionRef<void(std::string_view, std::string_view)> fn) {
  rocksdb::Slice upper;
  if (!end.empty()) {
    upper = ToSlice(end);
    options.iterate_upper_bound = &upper;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, handles_[space]));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    const rocksdb::Slice v = it->value();
    fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()));
  }
  return FromRocksDb(it->status(), absl::StrCat("scan ", names_[space], " of ", dir_));
}

void RocksDbKvStore::SetSpaceHasExpiry(int space) {
  std::lock_guard lock(expiring_->mu);
  expiring_->ids.insert(handles_[space]->GetID());
}

absl::Status RocksDbKvStore::Compact() {
  if (absl::Status room = EnsureSpace(0, SpaceCheck::kCompactAll); !room.ok()) return room;
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (size_t i = 0; i < handles_.size(); ++i) {
    if (static_cast<int>(i) == default_index_) continue;
    if (auto s = db_->Flush(rocksdb::FlushOptions(), handles_[i]); !s.ok()) {
      return FromRocksDb(s, absl::StrCat("flush ", names_[i], " in ", dir_));
    }
    if (auto s = db_->CompactRange(options, handles_[i], nullptr, nullptr); !s.ok()) {
      return FromRocksDb(s, absl::StrCat("compact ", names_[i], " in ", dir_));
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<KvWriteBatch> RocksDbKvStore::NewWriteBatch() {
  return std::make_unique<RocksWriteBatch>(&handles_);
}

absl::Status RocksDbKvStore::Write(KvWriteBatch& batch) {
  auto& rocks_batch = static_cast<RocksWriteBatch&>(batch).batch();
  if (absl::Status room = EnsureSpace(rocks_batch.GetDataSize(), SpaceCheck::kWrite); !room.ok()) {
    rocks_batch.Clear();  // like a failed write: the batch is spent
    return room;
  }
  absl::Status s = FromRocksDb(db_->Write(write_options_, &rocks_batch),
                               absl::StrCat("write to ", dir_));
  rocks_batch.Clear();
  return s;
}

absl::Status RocksDbKvStore::Checkpoint(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return absl::AlreadyExistsError(absl::StrCat("checkpoint directory ", dir, " already exists"));
  }
  // Flushes the memtables and copies the manifest (the SST files are hard links).
  if (absl::Status room = EnsureSpace(0, SpaceCheck::kFlush); !room.ok()) return room;
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  if (!s.ok()) return FromRocksDb(s, "checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush = 0: flush the memtables (there is no WAL to copy).
  return FromRocksDb(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
                     absl::StrCat("checkpoint into ", dir));
}

absl::Status RocksDbKvStore::EnsureSpace(uint64_t incoming, SpaceCheck kind) {
  if (!guard_) return absl::OkStatus();
  const int64_t now = absl::GetCurrentTimeNanos();
  if (kind == SpaceCheck::kWrite && !refused_ && unchecked_bytes_ + incoming <= check_bytes_ &&
      now - last_check_ns_ < check_interval_ns_) {
    unchecked_bytes_ += incoming;
    return absl::OkStatus();
  }
  ++disk_checks_;
  struct statvfs fs;
  if (statvfs(dir_.c_str(), &fs) != 0) {
    const int err = errno;
    return absl::UnavailableError(
        absl::StrCat("state directory ", dir_, ": cannot read its free space: ", strerror(err)));
  }
  DiskSpace space;
  space.free = static_cast<uint64_t>(fs.f_bavail) * static_cast<uint64_t>(fs.f_frsize);
  space.reserve = reserve_bytes_;
  space.incoming = incoming + (kind == SpaceCheck::kWrite ? check_bytes_ : 0);
  if (db_ != nullptr) {
    if (write_buffer_manager_ != nullptr && write_buffer_manager_->enabled()) {
      // Every DB sharing the manager (the task manager's other subtasks) writes to the
      // same state directory, usually one file system.
      space.memtables = write_buffer_manager_->memory_usage();
    } else {
      uint64_t bytes = 0;
      if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &bytes)) {
        space.memtables = bytes;
      }
    }
    // A compaction writes its output before deleting its inputs. L0->L1 compactions
    // (the ones that follow flushes) rewrite up to all of L0 and L1; at most two run at
    // once (max_background_jobs = 2).
    uint64_t top[2] = {0, 0};
    uint64_t all = 0;
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      rocksdb::ColumnFamilyMetaData meta;
      db_->GetColumnFamilyMetaData(h, &meta);
      all += meta.size;
      uint64_t low = 0;
      for (const rocksdb::LevelMetaData& level : meta.levels) {
        if (level.level <= 1) low += level.size;
      }
      if (low > top[0]) {
        top[1] = top[0];
        top[0] = low;
      } else if (low > top[1]) {
        top[1] = low;
      }
    }
    uint64_t pending = 0;
    db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimatePendingCompactionBytes,
                                  &pending);
    space.compaction =
        kind == SpaceCheck::kCompactAll ? all : std::max(top[0] + top[1], pending);
  }
  disk_space_ = space;
  refused_ = space.free < space.needed();  // then every write reads the free space again
  if (refused_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "state directory ", dir_, ": no space left on device: ", space.free, " bytes free, ",
        space.needed(), " needed (memtables ", space.memtables, ", incoming ", space.incoming,
        ", compactions ", space.compaction, ", reserve ", space.reserve,
        "); refused before RocksDB wrote anything"));
  }
  last_check_ns_ = now;
  unchecked_bytes_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<KvStore>> OpenKvSnapshot(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir + "/" + MemKvStore::kFileName, ec)) {
    absl::StatusOr<std::unique_ptr<MemKvStore>> mem = MemKvStore::Load(dir);
    if (!mem.ok()) return mem.status();
    return std::unique_ptr<KvStore>(std::move(*mem));
  }
  if (std::filesystem::exists(dir + "/CURRENT", ec)) {
    absl::StatusOr<std::unique_ptr<RocksDbKvStore>> rocks = RocksDbKvStore::OpenReadOnly(dir);
    if (!rocks.ok()) return rocks.status();
    return std::unique_ptr<KvStore>(std::move(*rocks));
  }
  return absl::NotFoundError(absl::StrCat("no state snapshot in ", dir,
                                          " (neither a RocksDB checkpoint nor ",
                                          MemKvStore::kFileName, ")"));
}

}  // namespace cdcflow::state
