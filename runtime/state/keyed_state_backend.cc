#include "runtime/state/keyed_state_backend.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "runtime/record/row_codec.h"
#include "runtime/state/mem_kv_store.h"

namespace cdcflow::state {
namespace {

constexpr char kMetaFile[] = "KEYED_STATE";
enum Kind : int { kValueKind = 0, kRowKind = 1, kListKind = 2, kMapKind = 3 };
constexpr const char* kKindNames[] = {"value", "row", "list", "map"};
constexpr size_t kSlotOverhead = 64;

// Estimated heap + inline bytes of decoded state (for the cache budget only).
size_t EstimateBytes(const Value& v) {
  size_t n = sizeof(Value);
  switch (v.type()) {
    case ValueType::kString:
      return n + (v.as_string().size() > 15 ? v.as_string().size() : 0);
    case ValueType::kBytes:
      return n + (v.as_bytes().size() > 15 ? v.as_bytes().size() : 0);
    case ValueType::kJson:
      return n + (v.as_json().size() > 15 ? v.as_json().size() : 0);
    case ValueType::kDecimal:
      return n + (v.as_decimal().is_small() ? 0 : v.as_decimal().twos_complement_size_bound());
    default:
      return n;
  }
}
size_t EstimateBytes(const Row& row) {
  size_t n = sizeof(Row);
  for (const Value& v : row.fields) n += EstimateBytes(v);
  return n;
}
size_t EstimateBytes(const std::vector<Row>& rows) {
  size_t n = sizeof(rows);
  for (const Row& r : rows) n += EstimateBytes(r);
  return n;
}

// How each kind of single-entry state is stored.
template <typename T>
struct Codec;
template <>
struct Codec<Value> {
  static void Encode(const Value& v, std::string* out) { record::AppendValue(v, out); }
  static absl::Status Decode(std::string_view data, Value* v) {
    absl::StatusOr<Value> r = record::DecodeValue(data);
    if (!r.ok()) return r.status();
    *v = std::move(*r);
    return absl::OkStatus();
  }
};
template <>
struct Codec<Row> {
  static void Encode(const Row& r, std::string* out) { record::AppendRow(r, out); }
  static absl::Status Decode(std::string_view data, Row* row) {
    absl::StatusOr<Row> r = record::DecodeRow(data);
    if (!r.ok()) return r.status();
    *row = std::move(*r);
    return absl::OkStatus();
  }
};
template <>
struct Codec<std::vector<Row>> {
  static void Encode(const std::vector<Row>& rows, std::string* out) {
    record::EncodeRowBatch(rows, out);
  }
  static absl::Status Decode(std::string_view data, std::vector<Row>* rows) {
    rows->clear();
    return record::DecodeRowBatch(data, rows);
  }
};

std::string KeyGroupPrefix(int32_t key_group) {
  std::string s(2, '\0');
  s[0] = static_cast<char>((key_group >> 8) & 0xff);
  s[1] = static_cast<char>(key_group & 0xff);
  return s;
}

}  // namespace

// Base of the per-state tables: access to the backend's current key, store, cache
// budget and sticky error.
class KeyedStateBackend::Table {
 public:
  Table(KeyedStateBackend* backend, std::string name, int space, int kind)
      : backend_(backend), name_(std::move(name)), space_(space), kind_(kind) {}
  virtual ~Table() = default;

  const std::string& name() const { return name_; }
  int kind() const { return kind_; }
  // Adds every dirty entry to `batch` and marks it clean.
  virtual void CollectDirty(KvWriteBatch& batch) = 0;
  virtual void DropCache() = 0;
  // Second chance: drops the (clean) entries not used since the last call and clears
  // the used marks of the others. Only called right after a flush.
  virtual void EvictCold() = 0;
  // Loads the given encoded keys that the cache misses (no-op for map state).
  virtual void PrefetchKeys(std::span<const std::string> keys) {}

 protected:
  void BeforeAccess() { backend_->MaybeEvict(); }
  const std::string& key() const { return backend_->current_key_; }
  KvStore& store() { return *backend_->store_; }
  KeyedStateStats& stats() { return backend_->stats_; }
  void AddBytes(size_t bytes) { backend_->cached_bytes_ += bytes; }
  void SubBytes(size_t bytes) { backend_->cached_bytes_ -= std::min(bytes, backend_->cached_bytes_); }
  void Fail(const absl::Status& s) {
    backend_->RecordError(absl::Status(s.code(), absl::StrCat("state '", name_, "': ", s.message())));
  }

  KeyedStateBackend* backend_;
  std::string name_;
  int space_;
  int kind_;
};

void KeyedStateBackend::RecordError(const absl::Status& s) {
  if (status_.ok() && !s.ok()) status_ = s;
}

void KeyedStateBackend::MaybeEvict() {
  if (unbounded_cache_ || cached_bytes_ <= options_.cache_bytes) return;
  if (!Flush().ok()) return;  // keep everything in memory; the task fails on status()
  ++stats_.evictions;
  for (auto& table : tables_) table->EvictCold();
  if (cached_bytes_ <= options_.cache_bytes / 4 * 3) return;
  // Nearly everything is hot: start over rather than evicting again at once.
  for (auto& table : tables_) table->DropCache();
  cached_bytes_ = 0;
}

namespace {

// State with one entry per key: value, row and list state.
template <typename T>
class SingleTable : public KeyedStateBackend::Table {
 public:
  using Table::Table;

  void CollectDirty(KvWriteBatch& batch) override {
    for (auto& [k, slot] : cache_) {
      if (!slot.dirty) continue;
      if (slot.value.has_value()) {
        scratch_.clear();
        Codec<T>::Encode(*slot.value, &scratch_);
        batch.Put(space_, k, scratch_);
      } else {
        batch.Delete(space_, k);
      }
      slot.dirty = false;
    }
  }
  void DropCache() override { cache_.clear(); }
  void EvictCold() override {
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (!it->second.referenced) {
        SubBytes(kSlotOverhead + it->first.size() + it->second.bytes);
        cache_.erase(it++);
      } else {
        it->second.referenced = false;
        ++it;
      }
    }
  }

  void PrefetchKeys(std::span<const std::string> keys) override {
    BeforeAccess();
    std::vector<std::string> missing;
    absl::flat_hash_set<std::string_view> seen;
    for (const std::string& k : keys) {
      if (!cache_.contains(k) && seen.insert(k).second) missing.push_back(k);
    }
    if (missing.empty()) return;
    std::vector<std::optional<std::string>> values;
    if (absl::Status s = store().MultiGet(space_, missing, &values); !s.ok()) {
      Fail(s);
      return;
    }
    stats().prefetched += missing.size();
    for (size_t i = 0; i < missing.size(); ++i) {
      Slot& slot = cache_[missing[i]];
      AddBytes(kSlotOverhead + missing[i].size());
      Fill(slot, values[i]);
    }
  }

 protected:
  struct Slot {
    std::optional<T> value;
    bool dirty = false;
    bool referenced = true;  // used since the last EvictCold
    size_t bytes = 0;        // estimate of value
  };

  // The current key's slot, read from the store on a miss.
  Slot& Load() {
    BeforeAccess();
    auto it = cache_.find(key());
    if (it != cache_.end()) {
      ++stats().hits;
      it->second.referenced = true;
      return it->second;
    }
    ++stats().misses;
    Slot& slot = cache_[key()];
    AddBytes(kSlotOverhead + key().size());
    std::vector<std::optional<std::string>> values;
    if (absl::Status s = store().MultiGet(space_, std::span<const std::string>(&key(), 1), &values);
        !s.ok()) {
      Fail(s);
      return slot;
    }
    Fill(slot, values[0]);
    return slot;
  }

  // The current key's slot without reading the store (for blind writes).
  Slot& Blind() {
    BeforeAccess();
    auto [it, inserted] = cache_.try_emplace(key());
    if (inserted) AddBytes(kSlotOverhead + key().size());
    it->second.referenced = true;
    return it->second;
  }

  void Set(Slot& slot, std::optional<T> value) {
    SubBytes(slot.bytes);
    slot.value = std::move(value);
    slot.bytes = slot.value.has_value() ? EstimateBytes(*slot.value) : 0;
    AddBytes(slot.bytes);
    slot.dirty = true;
  }

  void Fill(Slot& slot, const std::optional<std::string>& encoded) {
    if (!encoded.has_value()) return;
    T value;
    if (absl::Status s = Codec<T>::Decode(*encoded, &value); !s.ok()) {
      Fail(s);
      return;
    }
    slot.bytes = EstimateBytes(value);
    AddBytes(slot.bytes);
    slot.value = std::move(value);
  }

  absl::flat_hash_map<std::string, Slot> cache_;
  std::string scratch_;
};

class ValueTable final : public SingleTable<Value>, public KeyedValueState {
 public:
  using SingleTable::SingleTable;
  const Value* Get() override {
    Slot& slot = Load();
    return slot.value.has_value() ? &*slot.value : nullptr;
  }
  void Put(Value value) override { Set(Blind(), std::move(value)); }
  void Clear() override { Set(Blind(), std::nullopt); }
};

class RowTable final : public SingleTable<Row>, public RowState {
 public:
  using SingleTable::SingleTable;
  const Row* Get() override {
    Slot& slot = Load();
    return slot.value.has_value() ? &*slot.value : nullptr;
  }
  void Put(Row row) override { Set(Blind(), std::move(row)); }
  void Clear() override { Set(Blind(), std::nullopt); }
};

class ListTable final : public SingleTable<std::vector<Row>>, public ListState {
 public:
  using SingleTable::SingleTable;
  const std::vector<Row>& Get() override {
    Slot& slot = Load();
    return slot.value.has_value() ? *slot.value : empty_;
  }
  void Add(Row row) override {
    Slot& slot = Load();
    if (!slot.value.has_value()) slot.value.emplace();
    const size_t bytes = EstimateBytes(row);
    slot.value->push_back(std::move(row));
    slot.bytes += bytes;
    AddBytes(bytes);
    slot.dirty = true;
  }
  void Update(std::vector<Row> rows) override {
    if (rows.empty()) {
      Set(Blind(), std::nullopt);
    } else {
      Set(Blind(), std::move(rows));
    }
  }
  void Clear() override { Set(Blind(), std::nullopt); }

 private:
  const std::vector<Row> empty_;
};

// Map state: a key's whole map is cached (loaded with one prefix scan on first
// access); each entry is its own store key, so flushes write only changed entries.
class MapTable final : public KeyedStateBackend::Table, public MapState {
 public:
  using Table::Table;

  const Row* Get(std::span<const Value> map_key) override {
    MapSlot& slot = Load();
    EncodeMapKey(map_key);
    auto it = slot.items.find(scratch_);
    return it != slot.items.end() && it->second.value.has_value() ? &*it->second.value : nullptr;
  }
  void Put(std::span<const Value> map_key, Row value) override {
    MapSlot& slot = Load();
    EncodeMapKey(map_key);
    auto [it, inserted] = slot.items.try_emplace(scratch_);
    MapItem& item = it->second;
    if (inserted) {
      item.key.assign(map_key.begin(), map_key.end());
      AddItemBytes(slot, kSlotOverhead + scratch_.size() * 2);
    }
    if (!item.value.has_value()) ++slot.live;
    SubItemBytes(slot, item.bytes);
    item.bytes = EstimateBytes(value);
    AddItemBytes(slot, item.bytes);
    item.value = std::move(value);
    item.dirty = true;
  }
  void Remove(std::span<const Value> map_key) override {
    MapSlot& slot = Load();
    EncodeMapKey(map_key);
    auto it = slot.items.find(scratch_);
    if (it == slot.items.end() || !it->second.value.has_value()) return;
    Erase(slot, it->second);
  }
  void ForEach(absl::FunctionRef<void(std::span<const Value>, const Row&)> fn) override {
    MapSlot& slot = Load();
    for (const auto& [k, item] : slot.items) {
      if (item.value.has_value()) fn(item.key, *item.value);
    }
  }
  size_t Size() override { return Load().live; }
  void Clear() override {
    MapSlot& slot = Load();
    for (auto& [k, item] : slot.items) {
      if (item.value.has_value()) Erase(slot, item);
    }
  }

  void CollectDirty(KvWriteBatch& batch) override {
    for (auto& [k, slot] : cache_) {
      for (auto it = slot.items.begin(); it != slot.items.end();) {
        MapItem& item = it->second;
        if (item.dirty) {
          store_key_.assign(k);
          store_key_.append(it->first);
          if (item.value.has_value()) {
            scratch_value_.clear();
            record::AppendRow(*item.value, &scratch_value_);
            batch.Put(space_, store_key_, scratch_value_);
          } else {
            batch.Delete(space_, store_key_);
          }
          item.dirty = false;
        }
        if (!item.value.has_value()) {
          SubItemBytes(slot, kSlotOverhead + it->first.size() * 2);
          slot.items.erase(it++);
        } else {
          ++it;
        }
      }
    }
  }
  void DropCache() override { cache_.clear(); }
  void EvictCold() override {
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (!it->second.referenced) {
        SubBytes(it->second.bytes);
        cache_.erase(it++);
      } else {
        it->second.referenced = false;
        ++it;
      }
    }
  }

 private:
  struct MapItem {
    std::vector<Value> key;
    std::optional<Row> value;
    bool dirty = false;
    size_t bytes = 0;
  };
  struct MapSlot {
    absl::flat_hash_map<std::string, MapItem> items;  // by encoded map key
    size_t live = 0;
    size_t bytes = 0;  // estimate of the whole slot
    bool referenced = true;
  };

  void AddItemBytes(MapSlot& slot, size_t bytes) {
    slot.bytes += bytes;
    AddBytes(bytes);
  }
  void SubItemBytes(MapSlot& slot, size_t bytes) {
    slot.bytes -= std::min(bytes, slot.bytes);
    SubBytes(bytes);
  }
  void Erase(MapSlot& slot, MapItem& item) {
    SubItemBytes(slot, item.bytes);
    item.bytes = 0;
    item.value.reset();
    item.dirty = true;
    --slot.live;
  }
  void EncodeMapKey(std::span<const Value> map_key) {
    scratch_.clear();
    record::AppendValues(map_key, &scratch_);
  }

  MapSlot& Load() {
    BeforeAccess();
    auto it = cache_.find(key());
    if (it != cache_.end()) {
      ++stats().hits;
      it->second.referenced = true;
      return it->second;
    }
    ++stats().misses;
    MapSlot& slot = cache_[key()];
    AddItemBytes(slot, kSlotOverhead + key().size());
    const std::string& prefix = key();
    absl::Status decode_status;
    absl::Status s = store().Scan(
        space_, prefix, PrefixSuccessor(prefix), [&](std::string_view k, std::string_view v) {
          if (!decode_status.ok()) return;
          std::string_view encoded_key = k.substr(prefix.size());
          MapItem item;
          size_t offset = 0;
          decode_status = record::DecodeValues(encoded_key, &offset, &item.key);
          if (!decode_status.ok()) return;
          absl::StatusOr<Row> row = record::DecodeRow(v);
          if (!row.ok()) {
            decode_status = row.status();
            return;
          }
          item.bytes = EstimateBytes(*row);
          item.value = std::move(*row);
          AddItemBytes(slot, kSlotOverhead + encoded_key.size() * 2 + item.bytes);
          slot.items.emplace(std::string(encoded_key), std::move(item));
          ++slot.live;
        });
    if (!s.ok()) Fail(s);
    if (!decode_status.ok()) Fail(decode_status);
    return slot;
  }

  absl::flat_hash_map<std::string, MapSlot> cache_;
  std::string scratch_;
  std::string store_key_;
  std::string scratch_value_;
};

}  // namespace

KeyedStateBackend::KeyedStateBackend(const KeyedStateOptions& options,
                                     std::unique_ptr<KvStore> store, bool unbounded_cache)
    : options_(options), store_(std::move(store)), unbounded_cache_(unbounded_cache) {}

KeyedStateBackend::~KeyedStateBackend() = default;

absl::StatusOr<std::unique_ptr<KeyedStateBackend>> KeyedStateBackend::Create(
    const KeyedStateOptions& options, std::unique_ptr<KvStore> store, bool unbounded_cache) {
  if (options.max_parallelism < 1 || options.max_parallelism > kMaxMaxParallelism) {
    return absl::InvalidArgumentError(absl::StrCat("max parallelism ", options.max_parallelism,
                                                   " outside 1..", kMaxMaxParallelism));
  }
  if (options.key_groups.start < 0 || options.key_groups.end >= options.max_parallelism ||
      options.key_groups.start > options.key_groups.end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key-group range [", options.key_groups.start, ", ", options.key_groups.end,
        "] is not within [0, ", options.max_parallelism - 1, "]"));
  }
  return std::unique_ptr<KeyedStateBackend>(
      new KeyedStateBackend(options, std::move(store), unbounded_cache));
}

absl::StatusOr<std::unique_ptr<KeyedStateBackend>> KeyedStateBackend::CreateInMemory(
    const KeyedStateOptions& options) {
  return Create(options, std::make_unique<MemKvStore>(), /*unbounded_cache=*/true);
}

absl::StatusOr<std::unique_ptr<KeyedStateBackend>> KeyedStateBackend::CreateRocksDb(
    const KeyedStateOptions& options, const std::string& dir,
    const RocksDbStoreOptions& rocksdb_options) {
  absl::StatusOr<std::unique_ptr<RocksDbKvStore>> store = RocksDbKvStore::Open(dir, rocksdb_options);
  if (!store.ok()) return store.status();
  return Create(options, std::move(*store), /*unbounded_cache=*/false);
}

void KeyedStateBackend::EncodeKey(const Key& key, uint64_t key_hash, std::string* out) const {
  const int32_t group = KeyGroupOf(key_hash, options_.max_parallelism);
  out->push_back(static_cast<char>((group >> 8) & 0xff));
  out->push_back(static_cast<char>(group & 0xff));
  record::AppendValues(key.fields, out);
}

void KeyedStateBackend::SetCurrentKey(const Key& key, uint64_t key_hash) {
  current_key_group_ = KeyGroupOf(key_hash, options_.max_parallelism);
  if (!options_.key_groups.Contains(current_key_group_)) {
    std::string text;
    for (const Value& v : key.fields) absl::StrAppend(&text, text.empty() ? "" : ", ", v.ToString());
    RecordError(absl::InternalError(absl::StrCat(
        "key [", text, "] is in key group ", current_key_group_, ", outside this subtask's range [",
        options_.key_groups.start, ", ", options_.key_groups.end, "]: a partitioning bug")));
  }
  current_key_.clear();
  EncodeKey(key, key_hash, &current_key_);
}

template <typename T>
absl::StatusOr<T*> KeyedStateBackend::GetTable(std::string_view name, int kind) {
  for (auto& table : tables_) {
    if (table->name() == name) {
      if (table->kind() != kind) {
        return absl::InvalidArgumentError(absl::StrCat(
            "state '", absl::string_view(name.data(), name.size()), "' is ", kKindNames[table->kind()],
            " state, not ", kKindNames[kind], " state"));
      }
      return static_cast<T*>(table.get());
    }
  }
  if (name.empty()) return absl::InvalidArgumentError("a state needs a name");
  absl::StatusOr<int> space = store_->OpenSpace(name);
  if (!space.ok()) return space.status();
  auto table = std::make_unique<T>(this, std::string(name), *space, kind);
  T* raw = table.get();
  tables_.push_back(std::move(table));
  return raw;
}

absl::StatusOr<KeyedValueState*> KeyedStateBackend::GetValueState(std::string_view name) {
  absl::StatusOr<ValueTable*> t = GetTable<ValueTable>(name, kValueKind);
  if (!t.ok()) return t.status();
  return static_cast<KeyedValueState*>(*t);
}
absl::StatusOr<RowState*> KeyedStateBackend::GetRowState(std::string_view name) {
  absl::StatusOr<RowTable*> t = GetTable<RowTable>(name, kRowKind);
  if (!t.ok()) return t.status();
  return static_cast<RowState*>(*t);
}
absl::StatusOr<ListState*> KeyedStateBackend::GetListState(std::string_view name) {
  absl::StatusOr<ListTable*> t = GetTable<ListTable>(name, kListKind);
  if (!t.ok()) return t.status();
  return static_cast<ListState*>(*t);
}
absl::StatusOr<MapState*> KeyedStateBackend::GetMapState(std::string_view name) {
  absl::StatusOr<MapTable*> t = GetTable<MapTable>(name, kMapKind);
  if (!t.ok()) return t.status();
  return static_cast<MapState*>(*t);
}

absl::Status KeyedStateBackend::Prefetch(std::span<const Key> keys,
                                         std::span<const uint64_t> key_hashes) {
  if (tables_.empty()) return status_;
  std::vector<std::string> encoded(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EncodeKey(keys[i], key_hashes.empty() ? KeyHash(keys[i]) : key_hashes[i], &encoded[i]);
  }
  for (auto& table : tables_) table->PrefetchKeys(encoded);
  return status_;
}

absl::Status KeyedStateBackend::Flush() {
  if (!status_.ok()) return status_;
  std::unique_ptr<KvWriteBatch> batch = store_->NewWriteBatch();
  for (auto& table : tables_) table->CollectDirty(*batch);
  if (batch->Count() == 0) return absl::OkStatus();
  ++stats_.flushes;
  RecordError(store_->Write(*batch));
  return status_;
}

absl::Status KeyedStateBackend::Snapshot(const std::string& dir) {
  if (absl::Status s = Flush(); !s.ok()) return s;
  if (absl::Status s = store_->Checkpoint(dir); !s.ok()) return s;
  std::ofstream meta(dir + "/" + kMetaFile, std::ios::trunc);
  meta << "max_parallelism=" << options_.max_parallelism << "\n"
       << "key_group_start=" << options_.key_groups.start << "\n"
       << "key_group_end=" << options_.key_groups.end << "\n";
  meta.flush();
  if (!meta) return absl::InternalError(absl::StrCat("cannot write ", dir, "/", kMetaFile));
  return absl::OkStatus();
}

absl::Status KeyedStateBackend::Restore(std::span<const std::string> snapshot_dirs) {
  const std::string begin = KeyGroupPrefix(options_.key_groups.start);
  const std::string end =
      options_.key_groups.end + 1 >= 65536 ? std::string() : KeyGroupPrefix(options_.key_groups.end + 1);
  for (const std::string& dir : snapshot_dirs) {
    std::ifstream meta_in(dir + "/" + kMetaFile);
    if (!meta_in) {
      return absl::NotFoundError(absl::StrCat("state snapshot ", dir, " has no ", kMetaFile, " file"));
    }
    std::string line;
    int32_t max_parallelism = -1;
    while (std::getline(meta_in, line)) {
      if (line.rfind("max_parallelism=", 0) == 0) {
        max_parallelism = static_cast<int32_t>(std::strtol(line.c_str() + 16, nullptr, 10));
      }
    }
    if (max_parallelism != options_.max_parallelism) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state snapshot ", dir, " was taken with max parallelism ", max_parallelism,
          ", this job has ", options_.max_parallelism, ": key groups cannot be remapped"));
    }
    absl::StatusOr<std::unique_ptr<KvStore>> snapshot = OpenKvSnapshot(dir);
    if (!snapshot.ok()) return snapshot.status();
    const std::vector<std::string> names = (*snapshot)->SpaceNames();
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) continue;
      absl::StatusOr<int> space = store_->OpenSpace(names[i]);
      if (!space.ok()) return space.status();
      std::unique_ptr<KvWriteBatch> batch = store_->NewWriteBatch();
      absl::Status write_status;
      absl::Status s = (*snapshot)->Scan(
          static_cast<int>(i), begin, end, [&](std::string_view k, std::string_view v) {
            batch->Put(*space, k, v);
            if (batch->Count() >= 4096 && write_status.ok()) write_status = store_->Write(*batch);
          });
      if (!s.ok()) return s;
      if (!write_status.ok()) return write_status;
      if (absl::Status w = store_->Write(*batch); !w.ok()) return w;
    }
  }
  // Entries cached before the restore would shadow restored ones.
  for (auto& table : tables_) table->DropCache();
  cached_bytes_ = 0;
  return absl::OkStatus();
}

KeyedStateStats KeyedStateBackend::stats() const {
  KeyedStateStats s = stats_;
  s.cached_bytes = cached_bytes_;
  return s;
}

}  // namespace cdcflow::state
