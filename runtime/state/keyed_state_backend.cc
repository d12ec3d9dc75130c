#include "runtime/state/keyed_state_backend.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <optional>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/record/row_codec.h"
#include "runtime/state/mem_kv_store.h"
#include "runtime/state/state_key.h"

namespace cdcflow::state {
namespace {

constexpr char kMetaFile[] = "KEYED_STATE";
enum Kind : int { kValueKind = 0, kRowKind = 1, kListKind = 2, kMapKind = 3, kTimerKind = 4 };
constexpr const char* kKindNames[] = {"value", "row", "list", "map", "timer"};
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

// How each kind of single-entry state is stored: the row codec's encoder and
// decoder for T.
template <typename T, void (*kAppend)(const T&, std::string*),
          absl::StatusOr<T> (*kDecode)(std::string_view)>
struct RecordCodec {
  static void Encode(const T& v, std::string* out) { kAppend(v, out); }
  static absl::Status Decode(std::string_view data, T* v) {
    absl::StatusOr<T> r = kDecode(data);
    if (!r.ok()) return r.status();
    *v = std::move(*r);
    return absl::OkStatus();
  }
};
template <typename T>
struct Codec;
template <>
struct Codec<Value> : RecordCodec<Value, record::AppendValue, record::DecodeValue> {};
template <>
struct Codec<Row> : RecordCodec<Row, record::AppendRow, record::DecodeRow> {};
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

// TTL states prefix every stored value with its expiry (u64 ms, big-endian).
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr size_t kExpiryBytes = 8;
void AppendExpiry(int64_t expires, std::string* out) {
  const uint64_t v = static_cast<uint64_t>(expires);
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}
// Splits a TTL state's stored value into its expiry and payload.
absl::Status SplitExpiry(std::string_view* data, int64_t* expires) {
  if (data->size() < kExpiryBytes) {
    return absl::DataLossError(absl::StrCat("TTL state value of ", data->size(),
                                            " bytes has no expiry"));
  }
  uint64_t v = 0;
  for (size_t i = 0; i < kExpiryBytes; ++i) v = (v << 8) | static_cast<uint8_t>((*data)[i]);
  *expires = static_cast<int64_t>(v);
  data->remove_prefix(kExpiryBytes);
  return absl::OkStatus();
}

// Timer keys: [time, u64 big-endian with the sign bit flipped][encoded state key].
void AppendTimerTime(int64_t time, std::string* out) {
  AppendExpiry(static_cast<int64_t>(static_cast<uint64_t>(time) ^ (uint64_t{1} << 63)), out);
}
int64_t TimerTime(std::string_view key) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(key[i]);
  return static_cast<int64_t>(v ^ (uint64_t{1} << 63));
}
constexpr std::string_view kTimerSpacePrefix = "__timers_";
constexpr const char* kTimerSpaces[] = {"__timers_event", "__timers_processing"};

// Between two looks at the clock while write-back waits for its interval.
constexpr size_t kWriteBackCheckEvery = 1024;

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
  Table(KeyedStateBackend* backend, std::string name, int space, int kind, int64_t ttl_ms)
      : backend_(backend), name_(std::move(name)), space_(space), kind_(kind), ttl_ms_(ttl_ms) {}
  virtual ~Table() = default;

  const std::string& name() const { return name_; }
  int kind() const { return kind_; }
  int64_t ttl_ms() const { return ttl_ms_; }
  // Forgets everything cached, also what DropCache keeps (after a restore).
  virtual void Invalidate() { DropCache(); }
  // Adds every dirty entry to `batch` and marks it clean.
  virtual void CollectDirty(KvWriteBatch& batch) = 0;
  virtual void DropCache() = 0;
  // Second chance: drops the (clean) entries not used since the last call and clears
  // the used marks of the others. Only called right after a flush.
  virtual void EvictCold() = 0;
  // Loads the given encoded keys that the cache misses (no-op for map state).
  virtual void PrefetchKeys(std::span<const std::string> keys) {}

 protected:
  void BeforeAccess() { backend_->MaintainCache(); }
  // Marks a cache entry dirty, counting it for the write-back.
  void MarkDirty(bool& dirty) {
    if (dirty) return;
    dirty = true;
    ++backend_->dirty_entries_;
  }
  const std::string& key() const { return backend_->current_key_; }
  KvStore& store() { return *backend_->store_; }
  KeyedStateStats& stats() { return backend_->stats_; }
  void AddBytes(size_t bytes) { backend_->cached_bytes_ += bytes; }
  void SubBytes(size_t bytes) { backend_->cached_bytes_ -= std::min(bytes, backend_->cached_bytes_); }
  void Fail(const absl::Status& s) {
    backend_->RecordError(absl::Status(s.code(), absl::StrCat("state '", name_, "': ", s.message())));
  }
  bool has_ttl() const { return ttl_ms_ > 0; }
  int64_t Now() const { return backend_->NowMs(); }
  // The expiry of an entry written now.
  int64_t NewExpiry() const { return has_ttl() ? Now() + ttl_ms_ : kNever; }
  // Encodes `value` as stored: with its expiry first for a TTL state.
  template <typename T>
  void EncodeStored(const T& value, int64_t expires, std::string* out) const {
    out->clear();
    if (has_ttl()) AppendExpiry(expires, out);
    Codec<T>::Encode(value, out);
  }
  // Decodes a stored value; `*expires` is kNever without TTL.
  template <typename T>
  absl::Status DecodeStored(std::string_view data, T* value, int64_t* expires) const {
    *expires = kNever;
    if (has_ttl()) {
      if (absl::Status s = SplitExpiry(&data, expires); !s.ok()) return s;
    }
    return Codec<T>::Decode(data, value);
  }

  KeyedStateBackend* backend_;
  std::string name_;
  int space_;
  int kind_;
  int64_t ttl_ms_;
};

void KeyedStateBackend::RecordError(const absl::Status& s) {
  if (status_.ok() && !s.ok()) status_ = s;
}

void KeyedStateBackend::MaintainCache() {
  if (unbounded_cache_) return;
  if (options_.write_back_entries > 0 && dirty_entries_ >= write_back_check_at_) {
    if (SteadyNowNs() - last_flush_ns_ >= options_.write_back_interval_ms * 1'000'000) {
      if (!Flush().ok()) return;
    } else {
      write_back_check_at_ = dirty_entries_ + kWriteBackCheckEvery;  // not the clock per access
    }
  }
  if (cached_bytes_ <= options_.cache_bytes) return;
  if (!Flush().ok()) return;  // keep everything in memory; the task fails on status()
  ++stats_.evictions;
  for (auto& table : tables_) table->EvictCold();
  if (cached_bytes_ <= options_.cache_bytes / 4 * 3) return;
  // Nearly everything is hot: start over rather than evicting again at once.
  for (auto& table : tables_) table->DropCache();
  cached_bytes_ = 0;
}

namespace {

// Sorts a flush's dirty entries by their store key: RocksDB's memtable (a skip list)
// inserts a sorted run from its previous insert's position instead of searching from
// the top for each key.
template <typename T, typename KeyOf>
void SortByKey(std::vector<T>& entries, KeyOf key_of) {
  std::sort(entries.begin(), entries.end(),
            [&](const T& a, const T& b) { return key_of(a) < key_of(b); });
}

// State with one entry per key: value, row and list state.
template <typename T>
class SingleTable : public KeyedStateBackend::Table {
 public:
  using Table::Table;

  void CollectDirty(KvWriteBatch& batch) override {
    dirty_.clear();
    for (auto& entry : cache_) {
      if (entry.second.dirty) dirty_.push_back(&entry);
    }
    SortByKey(dirty_, [](const auto* entry) -> std::string_view { return entry->first; });
    for (auto* entry : dirty_) {
      Slot& slot = entry->second;
      if (slot.value.has_value()) {
        EncodeStored(*slot.value, slot.expires, &scratch_);
        batch.Put(space_, entry->first, scratch_);
      } else {
        batch.Delete(space_, entry->first);
      }
      slot.dirty = false;
    }
    dirty_.clear();
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
    int64_t expires = kNever;  // TTL states: when value expires
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
      ExpireIfDue(it->second);
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
    ExpireIfDue(slot);
    return slot;
  }

  // Never return an expired value: drop it, and delete it from the store.
  void ExpireIfDue(Slot& slot) {
    if (has_ttl() && slot.value.has_value() && slot.expires <= Now()) Set(slot, std::nullopt);
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
    slot.expires = value.has_value() ? NewExpiry() : kNever;
    slot.value = std::move(value);
    slot.bytes = slot.value.has_value() ? EstimateBytes(*slot.value) : 0;
    AddBytes(slot.bytes);
    MarkDirty(slot.dirty);
  }

  void Fill(Slot& slot, const std::optional<std::string>& encoded) {
    if (!encoded.has_value()) return;
    T value;
    if (absl::Status s = DecodeStored(*encoded, &value, &slot.expires); !s.ok()) {
      Fail(s);
      return;
    }
    slot.bytes = EstimateBytes(value);
    AddBytes(slot.bytes);
    slot.value = std::move(value);
  }

  absl::flat_hash_map<std::string, Slot> cache_;
  std::string scratch_;
  std::vector<typename decltype(cache_)::value_type*> dirty_;  // scratch of CollectDirty
};

// Value and row state: one T per key behind the SDK handle interface Handle.
template <typename T, typename Handle>
class OneTable final : public SingleTable<T>, public Handle {
 public:
  using SingleTable<T>::SingleTable;
  using Slot = typename SingleTable<T>::Slot;
  const T* Get() override {
    Slot& slot = this->Load();
    return slot.value.has_value() ? &*slot.value : nullptr;
  }
  void Put(T value) override { this->Set(this->Blind(), std::move(value)); }
  void Clear() override { this->Set(this->Blind(), std::nullopt); }
};
using ValueTable = OneTable<Value, KeyedValueState>;
using RowTable = OneTable<Row, RowState>;

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
    slot.expires = NewExpiry();  // a write renews the whole list
    MarkDirty(slot.dirty);
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

// Map state, in one of two layouts per key (never both at once in the store):
// - inline: a small map (up to kInlineEntries entries) is one store entry under the
//   state key itself, its "head" (the entries' encoded map keys and rows, one after
//   the other). Reading the map is one point read, which Prefetch batches for a whole
//   input batch with the other states' (one MultiGet), instead of a prefix scan per key
//   (an iterator seek through every memtable and level: what a join paid for each
//   change of a key with a few rows on the other side, e.g. an order's shipments). A
//   change rewrites the head. Every map starts inline;
// - spread: each entry is its own store key, so flushes write only changed entries.
//   A map becomes spread when a flush finds it holding more than kInlineEntries (the
//   head is deleted and every entry written in the same batch) and stays spread. Point
//   calls (Get, Put, Remove) touch one entry: a Get the cache misses reads that entry
//   alone, Put and Remove are blind writes. Only the calls over the whole map (ForEach,
//   Size, Clear) load it (one prefix scan, merged under the cached entries, which are
//   newer). So a key with a huge map (a join's side keyed by a low-cardinality column,
//   e.g. every order of one product) costs memory only for the entries actually used,
//   and eviction may empty a hot slot's entries (kHotSlotItems) instead of keeping the
//   whole map resident.
// A key's layout is learnt on its first access: a key that never held an entry is an
// empty inline map (no read, see KeysWithEntries); otherwise its head is read (present:
// inline, the map is loaded whole; absent: spread). A loaded slot is "complete" and
// answers everything from memory. TTL states keep every map spread (each entry has its
// own expiry, which RocksDB's compaction filter reads).
class MapTable final : public KeyedStateBackend::Table, public MapState {
 public:
  using Table::Table;

  const Row* Get(std::span<const Value> map_key) override {
    MapSlot& slot = Resolved();
    EncodeMapKey(map_key);
    MapItem* item = Find(slot);
    if (item == nullptr || !Live(slot, *item)) return nullptr;
    return &*item->value;
  }
  void Put(std::span<const Value> map_key, Row value) override {
    MapSlot& slot = Resolved();
    if (!slot.recorded) {
      KeysWithEntries().insert(CurrentKeyHash());
      slot.recorded = true;
    }
    EncodeMapKey(map_key);
    auto [it, inserted] = slot.items.try_emplace(scratch_);
    MapItem& item = it->second;
    if (inserted) {
      item.key.assign(map_key.begin(), map_key.end());
      AddItemBytes(slot, EntryBytes(scratch_, item.key));
    }
    if (!item.value.has_value()) ++slot.live;
    SubItemBytes(slot, item.bytes);
    item.bytes = EstimateBytes(value);
    AddItemBytes(slot, item.bytes);
    item.value = std::move(value);
    item.expires = NewExpiry();
    MarkDirty(item.dirty);
  }
  void Remove(std::span<const Value> map_key) override {
    MapSlot& slot = Resolved();
    EncodeMapKey(map_key);
    auto it = slot.items.find(scratch_);
    if (it != slot.items.end()) {
      if (it->second.value.has_value()) Erase(slot, it->second);
      return;
    }
    if (slot.complete) return;  // known absent
    // Not cached and the map not loaded: delete blindly (at the next flush).
    MapItem& item = slot.items[scratch_];
    item.key.assign(map_key.begin(), map_key.end());
    MarkDirty(item.dirty);
    AddItemBytes(slot, EntryBytes(scratch_, item.key));
  }
  void ForEach(absl::FunctionRef<void(std::span<const Value>, const Row&)> fn) override {
    MapSlot& slot = Full();
    for (auto& [k, item] : slot.items) {
      if (Live(slot, item)) fn(item.key, *item.value);
    }
  }
  size_t Size() override {
    MapSlot& slot = Full();
    if (has_ttl()) {
      for (auto& [k, item] : slot.items) Live(slot, item);
    }
    return slot.live;
  }
  void Clear() override {
    MapSlot& slot = Full();
    for (auto& [k, item] : slot.items) {
      if (item.value.has_value()) Erase(slot, item);
    }
  }

  void CollectDirty(KvWriteBatch& batch) override {
    dirty_.clear();
    for (auto& [k, slot] : cache_) {
      if (slot.layout == Layout::kInline) {
        if (!HasDirtyItem(slot)) continue;
        dirty_.push_back(DirtyItem{k, &slot, nullptr});  // the head: rewritten, or deleted below
        if (slot.live <= kInlineEntries) continue;
        // Grown past the inline size: spread, every live entry under its own key, in
        // the batch that deletes the head.
        slot.layout = Layout::kSpread;
        for (auto& [encoded, item] : slot.items) item.dirty = true;
      }
      for (auto it = slot.items.begin(); it != slot.items.end();) {
        MapItem& item = it->second;
        if (item.dirty) {
          dirty_.push_back(DirtyItem{absl::StrCat(k, it->first), &slot, &*it});
          ++it;
        } else if (!item.value.has_value()) {  // expired
          SubItemBytes(slot, EntryBytes(it->first, item.key));
          slot.items.erase(it++);
        } else {
          ++it;
        }
      }
    }
    SortByKey(dirty_, [](const DirtyItem& d) -> std::string_view { return d.store_key; });
    for (DirtyItem& d : dirty_) {
      if (d.entry == nullptr) {  // a head
        if (d.slot->layout == Layout::kInline) {
          WriteHead(batch, d.store_key, *d.slot);
        } else {
          batch.Delete(space_, d.store_key);  // spread in this batch
        }
        continue;
      }
      MapItem& item = d.entry->second;
      if (item.value.has_value()) {
        EncodeStored(*item.value, item.expires, &scratch_value_);
        batch.Put(space_, d.store_key, scratch_value_);
        item.dirty = false;
      } else {
        batch.Delete(space_, d.store_key);
        SubItemBytes(*d.slot, EntryBytes(d.entry->first, item.key));
        d.slot->items.erase(d.slot->items.find(d.entry->first));
      }
    }
    dirty_.clear();
  }
  // Reads the heads of the keys whose layout is not known yet and that may hold an
  // entry, with one MultiGet: their maps are then loaded (inline) or known spread.
  void PrefetchKeys(std::span<const std::string> keys) override {
    if (has_ttl()) return;
    BeforeAccess();
    prefetch_keys_.clear();
    for (const std::string& k : keys) {
      auto it = cache_.find(k);
      if (it != cache_.end() && it->second.layout != Layout::kUnknown) continue;
      if (!KeysWithEntries().contains(absl::HashOf(std::string_view(k)))) continue;
      prefetch_keys_.push_back(k);
    }
    if (prefetch_keys_.empty()) return;
    std::sort(prefetch_keys_.begin(), prefetch_keys_.end());
    prefetch_keys_.erase(std::unique(prefetch_keys_.begin(), prefetch_keys_.end()),
                         prefetch_keys_.end());
    if (absl::Status s = store().MultiGet(space_, prefetch_keys_, &point_values_); !s.ok()) {
      Fail(s);
      return;
    }
    stats().prefetched += prefetch_keys_.size();
    for (size_t i = 0; i < prefetch_keys_.size(); ++i) {
      auto [it, inserted] = cache_.try_emplace(prefetch_keys_[i]);
      if (inserted) AddItemBytes(it->second, kSlotOverhead + prefetch_keys_[i].size());
      FillHead(it->second, point_values_[i]);
    }
  }
  void DropCache() override { cache_.clear(); }
  void Invalidate() override {
    DropCache();
    keys_with_entries_.reset();  // the store changed under it: read again on first use
  }
  void EvictCold() override {
    for (auto it = cache_.begin(); it != cache_.end();) {
      MapSlot& slot = it->second;
      if (!slot.referenced) {
        SubBytes(slot.bytes);
        cache_.erase(it++);
        continue;
      }
      slot.referenced = false;
      if (slot.layout == Layout::kSpread && slot.items.size() > kHotSlotItems) {
        // A hot key with a big map: keep the slot, drop its (clean) entries; they are
        // read back one by one, or all at once by the next ForEach/Size/Clear.
        const size_t base = kSlotOverhead + it->first.size();
        SubItemBytes(slot, slot.bytes > base ? slot.bytes - base : 0);
        slot.items = {};
        slot.complete = false;
        slot.live = 0;
      }
      ++it;
    }
  }

 private:
  // Entries a referenced slot may keep across an eviction.
  static constexpr size_t kHotSlotItems = 256;
  // Entries a map may hold inline (in its head); more, and it is spread at the next flush.
  static constexpr size_t kInlineEntries = 8;

  enum class Layout : uint8_t { kUnknown, kInline, kSpread };

  struct MapItem {
    std::vector<Value> key;
    std::optional<Row> value;  // none: deleted (dirty) or expired
    int64_t expires = kNever;  // TTL states
    bool dirty = false;
    size_t bytes = 0;
  };
  struct MapSlot {
    absl::flat_hash_map<std::string, MapItem> items;  // by encoded map key
    size_t live = 0;        // entries with a value; exact only when complete
    size_t bytes = 0;       // estimate of the whole slot
    bool referenced = true;
    bool complete = false;  // every stored entry is in `items`
    bool recorded = false;  // the key is in keys_with_entries_
    Layout layout = Layout::kUnknown;  // known once resolved; inline slots are complete
  };

  // Hashes of the keys whose map may hold an entry in the store: every key a Put went
  // to (recorded at once, before it is written back) and, when the table is first used
  // and after a restore, every key found by one scan of the whole space. A key outside
  // it holds nothing, so its first ForEach / Size / Get reads nothing from the store:
  // the first look of a join at a new key's other side, most of a join's scans. Kept
  // across evictions; outside the cache budget (a few bytes per key, like timers).
  // False positives (a hash collision, an emptied map) only cost the read.
  absl::flat_hash_set<uint64_t>& KeysWithEntries() {
    if (!keys_with_entries_.has_value()) {
      keys_with_entries_.emplace();
      absl::Status s = store().Scan(space_, "", "", [&](std::string_view k, std::string_view) {
        const size_t n = StateKeyPrefixLength(k);
        if (n > 0) keys_with_entries_->insert(absl::HashOf(k.substr(0, n)));
      });
      if (!s.ok()) Fail(s);
    }
    return *keys_with_entries_;
  }
  uint64_t CurrentKeyHash() const { return absl::HashOf(std::string_view(key())); }
  // True, with the slot marked complete, when the current key's map holds nothing in
  // the store (counted as a skipped read).
  bool KnownEmpty(MapSlot& slot) {
    if (slot.recorded || KeysWithEntries().contains(CurrentKeyHash())) return false;
    slot.complete = true;
    ++stats().skipped_reads;
    return true;
  }

  // An entry's memory besides its value: hash slot, encoded key (map key and copy) and
  // the decoded map key (a join's map key is its whole row: most of the entry).
  static size_t EntryBytes(std::string_view encoded, const std::vector<Value>& key) {
    size_t n = kSlotOverhead + encoded.size() * 2 + sizeof(key);
    for (const Value& v : key) n += EstimateBytes(v);
    return n;
  }
  void AddItemBytes(MapSlot& slot, size_t bytes) {
    slot.bytes += bytes;
    AddBytes(bytes);
  }
  void SubItemBytes(MapSlot& slot, size_t bytes) {
    slot.bytes -= std::min(bytes, slot.bytes);
    SubBytes(bytes);
  }
  // Whether `item` holds a value that has not expired; an expired one is erased.
  bool Live(MapSlot& slot, MapItem& item) {
    if (!item.value.has_value()) return false;
    if (has_ttl() && item.expires <= Now()) {
      Erase(slot, item);
      return false;
    }
    return true;
  }
  void Erase(MapSlot& slot, MapItem& item) {
    SubItemBytes(slot, item.bytes);
    item.bytes = 0;
    item.value.reset();
    MarkDirty(item.dirty);
    if (slot.live > 0) --slot.live;
  }
  void EncodeMapKey(std::span<const Value> map_key) {
    scratch_.clear();
    record::AppendValues(map_key, &scratch_);
  }

  // The current key's slot, created empty (not loaded) when missing.
  MapSlot& Slot() {
    BeforeAccess();
    auto it = cache_.find(key());
    if (it != cache_.end()) {
      it->second.referenced = true;
      return it->second;
    }
    MapSlot& slot = cache_[key()];
    AddItemBytes(slot, kSlotOverhead + key().size());
    return slot;
  }

  // The current key's slot with its layout known (see the class comment): an inline map
  // is loaded whole, by one point read of its head unless the key never held an entry.
  MapSlot& Resolved() {
    MapSlot& slot = Slot();
    if (slot.layout != Layout::kUnknown) return slot;
    if (has_ttl()) {
      slot.layout = Layout::kSpread;
      return slot;
    }
    if (KnownEmpty(slot)) {
      slot.layout = Layout::kInline;
      return slot;
    }
    if (!ReadOne("")) {
      slot.layout = Layout::kSpread;  // the store failed: nothing is written any more
      return slot;
    }
    FillHead(slot, point_values_[0]);
    return slot;
  }

  // Reads the current key's store entry `suffix` (its head: "", or an entry's encoded
  // map key) into point_values_[0]; false when the store failed (recorded).
  bool ReadOne(std::string_view suffix) {
    ++stats().misses;
    point_keys_.resize(1);
    point_keys_[0].assign(key());
    point_keys_[0].append(suffix);
    if (absl::Status s = store().MultiGet(space_, point_keys_, &point_values_); !s.ok()) {
      Fail(s);
      return false;
    }
    return true;
  }

  // Caches an entry read from the store (`item` holds its decoded map key and expiry,
  // `row` its value) unless the slot holds a newer one under `encoded_key`; an expired
  // one (TTL, at `now`) is cached valueless and dirty: never returned, deleted at the
  // next flush. The slot's `live` count is the caller's.
  MapItem& CacheLoaded(MapSlot& slot, std::string_view encoded_key, MapItem item, Row row,
                       int64_t now) {
    auto [it, inserted] = slot.items.try_emplace(std::string(encoded_key));
    if (!inserted) return it->second;
    if (has_ttl() && item.expires <= now) {
      MarkDirty(item.dirty);
      AddItemBytes(slot, EntryBytes(encoded_key, item.key));
    } else {
      item.bytes = EstimateBytes(row);
      item.value = std::move(row);
      AddItemBytes(slot, EntryBytes(encoded_key, item.key) + item.bytes);
    }
    it->second = std::move(item);
    return it->second;
  }

  // Recounts a loaded slot's live entries.
  static void CountLive(MapSlot& slot) {
    slot.live = 0;
    for (const auto& [k, item] : slot.items) slot.live += item.value.has_value() ? 1 : 0;
  }

  // Resolves `slot` from its head as read from the store: absent, the map is spread;
  // present, inline, with every entry it holds (cached entries are newer and stay).
  void FillHead(MapSlot& slot, const std::optional<std::string>& head) {
    if (!head.has_value()) {
      slot.layout = Layout::kSpread;
      return;
    }
    slot.layout = Layout::kInline;
    const std::string_view data = *head;
    size_t offset = 0;
    while (offset < data.size()) {
      MapItem item;
      const size_t key_start = offset;
      absl::Status s = record::DecodeValues(data, &offset, &item.key);
      const std::string_view encoded_key = data.substr(key_start, offset - key_start);
      Row row;
      if (s.ok()) s = record::DecodeRow(data, &offset, &row);
      if (!s.ok()) {
        // The backend is failed (the task stops after this batch); nothing else is read.
        Fail(absl::DataLossError(absl::StrCat("the inline map of a key: ", s.message())));
        break;
      }
      CacheLoaded(slot, encoded_key, std::move(item), std::move(row), /*now=*/0);  // no TTL
    }
    CountLive(slot);
    slot.complete = true;
  }

  static bool HasDirtyItem(const MapSlot& slot) {
    for (const auto& [k, item] : slot.items) {
      if (item.dirty) return true;
    }
    return false;
  }

  // Adds an inline slot's head to `batch` (its live entries), marks its entries clean
  // and forgets the removed ones.
  void WriteHead(KvWriteBatch& batch, const std::string& store_key, MapSlot& slot) {
    scratch_value_.clear();
    for (auto it = slot.items.begin(); it != slot.items.end();) {
      MapItem& item = it->second;
      if (!item.value.has_value()) {
        SubItemBytes(slot, EntryBytes(it->first, item.key));
        slot.items.erase(it++);
        continue;
      }
      scratch_value_.append(it->first);  // the encoded map key
      record::AppendRow(*item.value, &scratch_value_);
      item.dirty = false;
      ++it;
    }
    // An emptied map keeps an empty head: its key is still among KeysWithEntries, and
    // an absent head would make it look spread (a prefix scan per access).
    batch.Put(space_, store_key, scratch_value_);
  }

  // The entry under the encoded map key in scratch_: from the cache, else read from the
  // store alone (unless the slot is complete). Null when absent.
  MapItem* Find(MapSlot& slot) {
    auto it = slot.items.find(scratch_);
    if (it != slot.items.end()) {
      ++stats().hits;
      return &it->second;
    }
    if (slot.complete) {
      ++stats().hits;
      return nullptr;
    }
    if (KnownEmpty(slot)) return nullptr;
    if (!ReadOne(scratch_)) return nullptr;
    if (point_values_.empty() || !point_values_[0].has_value()) return nullptr;
    MapItem item;
    size_t offset = 0;
    absl::Status decoded = record::DecodeValues(scratch_, &offset, &item.key);
    Row row;
    if (decoded.ok()) decoded = DecodeStored(*point_values_[0], &row, &item.expires);
    if (!decoded.ok()) {
      Fail(decoded);
      return nullptr;
    }
    MapItem& cached =
        CacheLoaded(slot, scratch_, std::move(item), std::move(row), has_ttl() ? Now() : 0);
    if (cached.value.has_value()) ++slot.live;
    return &cached;
  }

  // The current key's slot with its whole map loaded.
  MapSlot& Full() {
    MapSlot& slot = Resolved();
    if (slot.complete) {
      ++stats().hits;
      return slot;
    }
    if (KnownEmpty(slot)) return slot;
    ++stats().scans;
    const std::string& prefix = key();
    const int64_t now = has_ttl() ? Now() : 0;
    absl::Status decode_status;
    absl::Status s = store().ScanPrefix(
        space_, prefix, [&](std::string_view k, std::string_view v) {
          if (!decode_status.ok()) return;
          std::string_view encoded_key = k.substr(prefix.size());
          // A cached entry (written, deleted or read) is at least as new as the store's.
          if (slot.items.contains(absl::string_view(encoded_key.data(), encoded_key.size()))) return;
          MapItem item;
          size_t offset = 0;
          decode_status = record::DecodeValues(encoded_key, &offset, &item.key);
          if (!decode_status.ok()) return;
          Row row;
          decode_status = DecodeStored(v, &row, &item.expires);
          if (!decode_status.ok()) return;
          CacheLoaded(slot, encoded_key, std::move(item), std::move(row), now);
        });
    if (!s.ok()) Fail(s);
    if (!decode_status.ok()) Fail(decode_status);
    CountLive(slot);
    slot.complete = s.ok() && decode_status.ok();
    return slot;
  }

  absl::flat_hash_map<std::string, MapSlot> cache_;
  std::optional<absl::flat_hash_set<uint64_t>> keys_with_entries_;  // none: not read yet
  std::string scratch_;
  std::string scratch_value_;
  struct DirtyItem {
    std::string store_key;
    MapSlot* slot;
    typename decltype(MapSlot::items)::value_type* entry;
  };
  std::vector<DirtyItem> dirty_;  // scratch of CollectDirty
  std::vector<std::string> point_keys_;
  std::vector<std::string> prefetch_keys_;
  std::vector<std::optional<std::string>> point_values_;
};

}  // namespace

// Timers of one time domain: the ordered set of [time][state key] store keys, mirrored
// in memory (loaded with one scan on first use); changes reach the store at flush.
class TimerTable final : public KeyedStateBackend::Table {
 public:
  using Table::Table;

  void Register(int64_t time) {
    EnsureLoaded();
    Encode(time);
    if (timers_.insert(scratch_).second) dirty_[scratch_] = true;
  }
  void Delete(int64_t time) {
    EnsureLoaded();
    Encode(time);
    if (timers_.erase(scratch_) > 0) dirty_[scratch_] = false;
  }
  int64_t Next() {
    EnsureLoaded();
    return timers_.empty() ? kNoTimestamp : TimerTime(*timers_.begin());
  }
  bool Pop(int64_t until, int64_t* time, Key* key) {
    EnsureLoaded();
    if (timers_.empty()) return false;
    auto it = timers_.begin();
    const int64_t t = TimerTime(*it);
    if (t > until) return false;
    std::string_view encoded = std::string_view(*it).substr(8 + kStateKeyHeaderBytes);  // time
    key->fields.clear();
    size_t offset = 0;
    if (absl::Status s = record::DecodeValues(encoded, &offset, &key->fields); !s.ok()) {
      Fail(s);
      return false;
    }
    *time = t;
    dirty_[*it] = false;
    timers_.erase(it);
    return true;
  }
  size_t Count() {
    EnsureLoaded();
    return timers_.size();
  }

  void CollectDirty(KvWriteBatch& batch) override {
    for (const auto& [k, present] : dirty_) {
      if (present) {
        batch.Put(space_, k, "");
      } else {
        batch.Delete(space_, k);
      }
    }
    dirty_.clear();
  }
  // Timers are not part of the cache budget: they stay loaded.
  void DropCache() override {}
  void EvictCold() override {}
  void Invalidate() override {
    timers_.clear();
    dirty_.clear();
    loaded_ = false;
  }

 private:
  void Encode(int64_t time) {
    scratch_.clear();
    AppendTimerTime(time, &scratch_);
    scratch_.append(key());
  }
  void EnsureLoaded() {
    if (loaded_) return;
    loaded_ = true;
    absl::Status s = store().Scan(space_, "", "", [&](std::string_view k, std::string_view) {
      timers_.emplace(k);
    });
    if (!s.ok()) Fail(s);
  }

  std::set<std::string> timers_;
  absl::flat_hash_map<std::string, bool> dirty_;  // store key -> put (true) / delete
  bool loaded_ = false;
  std::string scratch_;
};

KeyedStateBackend::KeyedStateBackend(const KeyedStateOptions& options,
                                     std::unique_ptr<KvStore> store, bool unbounded_cache)
    : options_(options),
      store_(std::move(store)),
      unbounded_cache_(unbounded_cache),
      write_back_check_at_(options.write_back_entries),
      last_flush_ns_(SteadyNowNs()) {}

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

void KeyedStateBackend::EncodeKey(const Key& key, uint64_t key_hash, std::string* out) {
  const int32_t group = KeyGroupOf(key_hash, options_.max_parallelism);
  const size_t start = out->size();
  out->push_back(static_cast<char>((group >> 8) & 0xff));
  out->push_back(static_cast<char>(group & 0xff));
  out->append(2, '\0');
  record::AppendValues(key.fields, out);
  size_t n = out->size() - start - kStateKeyHeaderBytes;
  if (n > kMaxStateKeyBytes) {
    RecordError(absl::InvalidArgumentError(absl::StrCat(
        "a state key encodes to ", n, " bytes, more than the ", kMaxStateKeyBytes,
        " a keyed state accepts (key by fewer or shorter fields)")));
    n = kMaxStateKeyBytes;
  }
  (*out)[start + 2] = static_cast<char>((n >> 8) & 0xff);
  (*out)[start + 3] = static_cast<char>(n & 0xff);
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

template <typename T, typename Handle>
absl::StatusOr<Handle*> KeyedStateBackend::GetTable(std::string_view name, int kind,
                                                    const StateTtlConfig& ttl) {
  const absl::string_view text(name.data(), name.size());
  for (auto& table : tables_) {
    if (table->name() == name) {
      if (table->kind() != kind) {
        return absl::InvalidArgumentError(absl::StrCat("state '", text, "' is ",
                                                       kKindNames[table->kind()], " state, not ",
                                                       kKindNames[kind], " state"));
      }
      if (table->ttl_ms() != ttl.ttl_ms) {
        return absl::InvalidArgumentError(absl::StrCat("state '", text, "' has a TTL of ",
                                                       table->ttl_ms(), " ms, asked for ",
                                                       ttl.ttl_ms, " ms"));
      }
      return static_cast<Handle*>(static_cast<T*>(table.get()));
    }
  }
  if (name.empty()) return absl::InvalidArgumentError("a state needs a name");
  if (kind != kTimerKind && name.substr(0, 2) == "__") {
    return absl::InvalidArgumentError(
        absl::StrCat("state name '", text, "': names starting with __ are reserved"));
  }
  if (ttl.ttl_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("state '", text, "': negative TTL ", ttl.ttl_ms, " ms"));
  }
  absl::StatusOr<int> space = store_->OpenSpace(name);
  if (!space.ok()) return space.status();
  if (ttl.ttl_ms > 0) store_->SetSpaceHasExpiry(*space);
  auto table = std::make_unique<T>(this, std::string(name), *space, kind, ttl.ttl_ms);
  T* raw = table.get();
  tables_.push_back(std::move(table));
  return static_cast<Handle*>(raw);
}

absl::StatusOr<KeyedValueState*> KeyedStateBackend::GetValueState(std::string_view name,
                                                                  const StateTtlConfig& ttl) {
  return GetTable<ValueTable, KeyedValueState>(name, kValueKind, ttl);
}
absl::StatusOr<RowState*> KeyedStateBackend::GetRowState(std::string_view name,
                                                         const StateTtlConfig& ttl) {
  return GetTable<RowTable, RowState>(name, kRowKind, ttl);
}
absl::StatusOr<ListState*> KeyedStateBackend::GetListState(std::string_view name,
                                                           const StateTtlConfig& ttl) {
  return GetTable<ListTable, ListState>(name, kListKind, ttl);
}
absl::StatusOr<MapState*> KeyedStateBackend::GetMapState(std::string_view name,
                                                         const StateTtlConfig& ttl) {
  return GetTable<MapTable, MapState>(name, kMapKind, ttl);
}

bool KeyedStateBackend::HoldsState(std::string_view name) const {
  for (const std::string& n : store_->SpaceNames()) {
    if (n == name) return true;
  }
  return false;
}

int64_t KeyedStateBackend::NowMs() const {
  return options_.clock_ms ? options_.clock_ms() : absl::ToUnixMillis(absl::Now());
}

TimerTable* KeyedStateBackend::Timers(TimeDomain domain) {
  const int d = domain == TimeDomain::kEventTime ? 0 : 1;
  if (timers_[d] == nullptr) {
    absl::StatusOr<TimerTable*> t =
        GetTable<TimerTable, TimerTable>(kTimerSpaces[d], kTimerKind, StateTtlConfig{});
    if (!t.ok()) {
      RecordError(t.status());
      return nullptr;
    }
    timers_[d] = *t;
  }
  return timers_[d];
}

void KeyedStateBackend::RegisterTimer(TimeDomain domain, int64_t time) {
  if (TimerTable* t = Timers(domain)) t->Register(time);
}
void KeyedStateBackend::DeleteTimer(TimeDomain domain, int64_t time) {
  if (TimerTable* t = Timers(domain)) t->Delete(time);
}
int64_t KeyedStateBackend::NextTimer(TimeDomain domain) {
  TimerTable* t = Timers(domain);
  return t == nullptr ? kNoTimestamp : t->Next();
}
bool KeyedStateBackend::PopTimer(TimeDomain domain, int64_t until, int64_t* time, Key* key) {
  TimerTable* t = Timers(domain);
  return t != nullptr && t->Pop(until, time, key);
}
size_t KeyedStateBackend::TimerCount(TimeDomain domain) {
  TimerTable* t = Timers(domain);
  return t == nullptr ? 0 : t->Count();
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
  dirty_entries_ = 0;
  write_back_check_at_ = options_.write_back_entries;
  last_flush_ns_ = SteadyNowNs();
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
      // Timer keys start with the time: scan them all and keep the owned key groups.
      const bool timers = std::string_view(names[i]).substr(0, kTimerSpacePrefix.size()) ==
                          kTimerSpacePrefix;
      absl::Status s = (*snapshot)->Scan(
          static_cast<int>(i), timers ? "" : begin, timers ? "" : end,
          [&](std::string_view k, std::string_view v) {
            if (timers) {
              if (k.size() < 10) return;
              const int32_t group = (static_cast<uint8_t>(k[8]) << 8) | static_cast<uint8_t>(k[9]);
              if (!options_.key_groups.Contains(group)) return;
            }
            batch->Put(*space, k, v);
            if (batch->Count() >= 4096 && write_status.ok()) write_status = store_->Write(*batch);
          });
      if (!s.ok()) return s;
      if (!write_status.ok()) return write_status;
      if (absl::Status w = store_->Write(*batch); !w.ok()) return w;
    }
  }
  // Entries cached before the restore would shadow restored ones.
  for (auto& table : tables_) table->Invalidate();
  cached_bytes_ = 0;
  dirty_entries_ = 0;
  write_back_check_at_ = options_.write_back_entries;
  return absl::OkStatus();
}

KeyedStateStats KeyedStateBackend::stats() const {
  KeyedStateStats s = stats_;
  s.cached_bytes = cached_bytes_;
  return s;
}

}  // namespace cdcflow::state
