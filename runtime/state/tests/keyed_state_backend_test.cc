#include "runtime/state/keyed_state_backend.h"
#include "runtime/state/mem_kv_store.h"

#include <limits>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::state {
namespace {

using ::cdcflow::testing::NewScratchPath;

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

Key K(int64_t id) { return Key{{Value::Int64(id)}}; }
Row R(int64_t a, std::string b) { return Row{RowKind::kInsert, {Value::Int64(a), Value::Str(std::move(b))}}; }

struct InMemory {
  static absl::StatusOr<std::unique_ptr<KeyedStateBackend>> Make(const KeyedStateOptions& o) {
    return KeyedStateBackend::CreateInMemory(o);
  }
};
struct RocksDbCached {
  static absl::StatusOr<std::unique_ptr<KeyedStateBackend>> Make(KeyedStateOptions o) {
    return KeyedStateBackend::CreateRocksDb(o, NewScratchPath("db"));
  }
};
// A cache budget of 0 writes through: every access goes to RocksDB.
struct RocksDbNoCache {
  static absl::StatusOr<std::unique_ptr<KeyedStateBackend>> Make(KeyedStateOptions o) {
    o.cache_bytes = 0;
    return KeyedStateBackend::CreateRocksDb(o, NewScratchPath("db"));
  }
};
// A tiny budget: the cache is flushed and emptied every few keys.
struct RocksDbSmallCache {
  static absl::StatusOr<std::unique_ptr<KeyedStateBackend>> Make(KeyedStateOptions o) {
    o.cache_bytes = 2000;
    return KeyedStateBackend::CreateRocksDb(o, NewScratchPath("db"));
  }
};

// Dirty entries written back every 3 changes, between checkpoints.
struct RocksDbWriteBack {
  static absl::StatusOr<std::unique_ptr<KeyedStateBackend>> Make(KeyedStateOptions o) {
    o.write_back_entries = 3;
    o.write_back_interval_ms = 0;
    return KeyedStateBackend::CreateRocksDb(o, NewScratchPath("db"));
  }
};

template <typename Factory>
class KeyedStateBackendTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyedStateBackend> Make(KeyedStateOptions options = {}) {
    absl::StatusOr<std::unique_ptr<KeyedStateBackend>> b = Factory::Make(options);
    EXPECT_TRUE(b.ok()) << b.status();
    return b.ok() ? std::move(*b) : nullptr;
  }
};

using Backends =
    ::testing::Types<InMemory, RocksDbCached, RocksDbNoCache, RocksDbSmallCache, RocksDbWriteBack>;
TYPED_TEST_SUITE(KeyedStateBackendTest, Backends);

TYPED_TEST(KeyedStateBackendTest, ValueStateIsPerKey) {
  auto b = this->Make();
  KeyedValueState* count = *b->GetValueState("count");
  EXPECT_EQ(*b->GetValueState("count"), count);  // same handle for the same name
  for (int64_t k = 0; k < 200; ++k) {
    b->SetCurrentKey(K(k));
    EXPECT_EQ(count->Get(), nullptr);
    count->Put(Value::Int64(k * 10));
  }
  for (int64_t k = 0; k < 200; ++k) {
    b->SetCurrentKey(K(k));
    ASSERT_NE(count->Get(), nullptr) << k;
    EXPECT_EQ(count->Get()->as_int64(), k * 10);
    if (k % 2 == 0) count->Clear();
  }
  ASSERT_TRUE(b->Flush().ok());
  for (int64_t k = 0; k < 200; ++k) {
    b->SetCurrentKey(K(k));
    if (k % 2 == 0) {
      EXPECT_EQ(count->Get(), nullptr) << k;
    } else {
      ASSERT_NE(count->Get(), nullptr) << k;
      EXPECT_EQ(count->Get()->as_int64(), k * 10);
    }
  }
  EXPECT_TRUE(b->status().ok()) << b->status();
}

TYPED_TEST(KeyedStateBackendTest, CompositeKeysAndStatesDoNotMix) {
  auto b = this->Make();
  RowState* last = *b->GetRowState("last");
  RowState* other = *b->GetRowState("other");
  b->SetCurrentKey(Key{{Value::Str("a"), Value::Int32(1)}});
  last->Put(R(1, "one"));
  b->SetCurrentKey(Key{{Value::Str("a")}});
  EXPECT_EQ(last->Get(), nullptr);
  last->Put(R(2, "two"));
  b->SetCurrentKey(Key{{Value::Str("a"), Value::Int32(1)}});
  EXPECT_EQ(*last->Get(), R(1, "one"));
  EXPECT_EQ(other->Get(), nullptr);
}

TYPED_TEST(KeyedStateBackendTest, ListState) {
  auto b = this->Make();
  ListState* list = *b->GetListState("rows");
  for (int64_t k = 0; k < 50; ++k) {
    b->SetCurrentKey(K(k));
    EXPECT_TRUE(list->Get().empty());
    for (int i = 0; i <= k % 4; ++i) list->Add(R(k, absl::StrCat("r", i)));
  }
  ASSERT_TRUE(b->Flush().ok());
  b->SetCurrentKey(K(7));
  EXPECT_EQ(list->Get(), (std::vector<Row>{R(7, "r0"), R(7, "r1"), R(7, "r2"), R(7, "r3")}));
  list->Update({R(0, "x")});
  EXPECT_EQ(list->Get(), (std::vector<Row>{R(0, "x")}));
  list->Add(R(0, "y"));
  b->SetCurrentKey(K(8));
  EXPECT_EQ(list->Get().size(), 1u);
  list->Clear();
  EXPECT_TRUE(list->Get().empty());
  b->SetCurrentKey(K(7));
  EXPECT_EQ(list->Get(), (std::vector<Row>{R(0, "x"), R(0, "y")}));
}

std::map<int64_t, std::string> Entries(MapState* map) {
  std::map<int64_t, std::string> out;
  map->ForEach([&](std::span<const Value> k, const Row& v) {
    out[k[0].as_int64()] = v.fields[1].as_string();
  });
  return out;
}

TYPED_TEST(KeyedStateBackendTest, MapState) {
  auto b = this->Make();
  MapState* map = *b->GetMapState("lines");
  for (int64_t k = 0; k < 30; ++k) {
    b->SetCurrentKey(K(k));
    EXPECT_EQ(map->Size(), 0u);
    for (int64_t line = 0; line < 5; ++line) {
      const Value mk[] = {Value::Int64(line)};
      map->Put(mk, R(k, absl::StrCat(k, "/", line)));
    }
  }
  ASSERT_TRUE(b->Flush().ok());
  b->SetCurrentKey(K(3));
  EXPECT_EQ(map->Size(), 5u);
  const Value two[] = {Value::Int64(2)};
  const Value nine[] = {Value::Int64(9)};
  ASSERT_NE(map->Get(two), nullptr);
  EXPECT_EQ(*map->Get(two), R(3, "3/2"));
  EXPECT_EQ(map->Get(nine), nullptr);
  map->Remove(two);
  map->Remove(nine);
  map->Put(two, R(3, "again"));
  map->Remove(two);
  EXPECT_EQ(map->Size(), 4u);
  EXPECT_EQ(Entries(map), (std::map<int64_t, std::string>{{0, "3/0"}, {1, "3/1"}, {3, "3/3"}, {4, "3/4"}}));
  ASSERT_TRUE(b->Flush().ok());
  b->SetCurrentKey(K(4));
  map->Clear();
  EXPECT_EQ(map->Size(), 0u);
  ASSERT_TRUE(b->Flush().ok());
  // Churn through other keys so that small caches reload from the store.
  for (int64_t k = 100; k < 200; ++k) {
    b->SetCurrentKey(K(k));
    map->Put(two, R(k, "x"));
  }
  b->SetCurrentKey(K(4));
  EXPECT_EQ(map->Size(), 0u);
  b->SetCurrentKey(K(3));
  EXPECT_EQ(Entries(map), (std::map<int64_t, std::string>{{0, "3/0"}, {1, "3/1"}, {3, "3/3"}, {4, "3/4"}}));
  EXPECT_TRUE(b->status().ok()) << b->status();
}

TYPED_TEST(KeyedStateBackendTest, ANameHasOneKind) {
  auto b = this->Make();
  ASSERT_TRUE(b->GetValueState("s").ok());
  absl::StatusOr<ListState*> list = b->GetListState("s");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(list.status().message()), HasSubstr("'s' is value state, not list state"));
  EXPECT_FALSE(b->GetMapState("").ok());
}

TYPED_TEST(KeyedStateBackendTest, KeyOutsideTheRangeFailsTheBackend) {
  KeyedStateOptions options;
  options.key_groups = exchange::KeyGroupRangeForSubtask(0, 2, 128);
  auto b = this->Make(options);
  int64_t outside = 0;
  while (options.key_groups.Contains(KeyGroupOf(KeyHash(K(outside)), 128))) ++outside;
  b->SetCurrentKey(K(outside));
  EXPECT_EQ(b->status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(b->status().message()), HasSubstr("outside this subtask's range [0, 63]"));
}

TYPED_TEST(KeyedStateBackendTest, KeyTooLongForTheStoreKeyFailsTheBackendNamingTheSize) {
  auto b = this->Make(KeyedStateOptions{});
  Key key;
  key.fields.push_back(Value::Str(std::string(70000, 'x')));
  b->SetCurrentKey(key);
  EXPECT_EQ(b->status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(b->status().message()), HasSubstr("more than the 65535"));
}

// Fills a backend that owns `range` with the keys in [0, n) that fall in it.
void Fill(KeyedStateBackend& b, int64_t n) {
  KeyedValueState* value = *b.GetValueState("value");
  ListState* list = *b.GetListState("list");
  MapState* map = *b.GetMapState("map");
  for (int64_t k = 0; k < n; ++k) {
    if (!b.options().key_groups.Contains(KeyGroupOf(KeyHash(K(k)), b.options().max_parallelism))) continue;
    b.SetCurrentKey(K(k));
    value->Put(Value::Int64(k));
    list->Add(R(k, "a"));
    list->Add(R(k, "b"));
    const Value mk[] = {Value::Str(absl::StrCat("m", k))};
    map->Put(mk, R(k, "m"));
  }
}

// Every key in [0, n) that `b` owns has the state Fill wrote; returns how many.
int64_t Check(KeyedStateBackend& b, int64_t n) {
  KeyedValueState* value = *b.GetValueState("value");
  ListState* list = *b.GetListState("list");
  MapState* map = *b.GetMapState("map");
  int64_t owned = 0;
  std::vector<Key> keys;
  for (int64_t k = 0; k < n; ++k) {
    if (b.options().key_groups.Contains(KeyGroupOf(KeyHash(K(k)), b.options().max_parallelism))) {
      keys.push_back(K(k));
    }
  }
  EXPECT_TRUE(b.Prefetch(keys).ok());
  for (const Key& key : keys) {
    const int64_t k = key.fields[0].as_int64();
    b.SetCurrentKey(key);
    const Value* v = value->Get();
    if (v == nullptr || v->as_int64() != k) {
      ADD_FAILURE() << "key " << k << " lost its value state";
      continue;
    }
    EXPECT_EQ(list->Get(), (std::vector<Row>{R(k, "a"), R(k, "b")})) << k;
    const Value mk[] = {Value::Str(absl::StrCat("m", k))};
    EXPECT_EQ(map->Size(), 1u) << k;
    EXPECT_NE(map->Get(mk), nullptr) << k;
    ++owned;
  }
  EXPECT_TRUE(b.status().ok()) << b.status();
  return owned;
}

TYPED_TEST(KeyedStateBackendTest, SnapshotAndRestore) {
  auto b = this->Make();
  Fill(*b, 500);
  const std::string snap = NewScratchPath("snap");
  ASSERT_TRUE(b->Snapshot(snap).ok());
  // Changes after the snapshot are not in it.
  b->SetCurrentKey(K(1));
  (*b->GetValueState("value"))->Put(Value::Int64(-1));
  ASSERT_TRUE(b->Flush().ok());

  auto restored = this->Make();
  const std::string dirs[] = {snap};
  ASSERT_TRUE(restored->Restore(dirs).ok());
  EXPECT_EQ(Check(*restored, 500), 500);
  // A snapshot directory is not reused.
  EXPECT_EQ(b->Snapshot(snap).code(), absl::StatusCode::kAlreadyExists);
}

TYPED_TEST(KeyedStateBackendTest, RescaleTwoToFourToOne) {
  constexpr int64_t kKeys = 1000;
  std::vector<std::string> two_snaps;
  for (int subtask = 0; subtask < 2; ++subtask) {
    KeyedStateOptions options;
    options.key_groups = exchange::KeyGroupRangeForSubtask(subtask, 2, 128);
    auto b = this->Make(options);
    Fill(*b, kKeys);
    two_snaps.push_back(NewScratchPath("two"));
    ASSERT_TRUE(b->Snapshot(two_snaps.back()).ok());
  }
  std::vector<std::string> four_snaps;
  int64_t total = 0;
  for (int subtask = 0; subtask < 4; ++subtask) {
    KeyedStateOptions options;
    options.key_groups = exchange::KeyGroupRangeForSubtask(subtask, 4, 128);
    auto b = this->Make(options);
    ASSERT_TRUE(b->Restore(two_snaps).ok());
    total += Check(*b, kKeys);
    four_snaps.push_back(NewScratchPath("four"));
    ASSERT_TRUE(b->Snapshot(four_snaps.back()).ok());
  }
  EXPECT_EQ(total, kKeys);  // every key's state, exactly once
  auto one = this->Make();
  ASSERT_TRUE(one->Restore(four_snaps).ok());
  EXPECT_EQ(Check(*one, kKeys), kKeys);
}

TYPED_TEST(KeyedStateBackendTest, RestoreRefusesAnotherMaxParallelism) {
  auto b = this->Make();
  Fill(*b, 10);
  const std::string snap = NewScratchPath("snap");
  ASSERT_TRUE(b->Snapshot(snap).ok());
  KeyedStateOptions options;
  options.max_parallelism = 256;
  options.key_groups = {0, 255};
  auto other = this->Make(options);
  const std::string dirs[] = {snap};
  absl::Status s = other->Restore(dirs);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("max parallelism 128"));
  const std::string missing[] = {NewScratchPath("missing")};
  EXPECT_EQ(other->Restore(missing).code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(KeyedStateBackendTest, PrefetchServesTheBatchFromMemory) {
  auto b = this->Make();
  Fill(*b, 300);
  const std::string snap = NewScratchPath("snap");
  ASSERT_TRUE(b->Snapshot(snap).ok());
  auto restored = this->Make();
  const std::string dirs[] = {snap};
  ASSERT_TRUE(restored->Restore(dirs).ok());
  KeyedValueState* value = *restored->GetValueState("value");
  std::vector<Key> keys;
  for (int64_t k = 0; k < 20; ++k) keys.push_back(K(k % 10));  // duplicates too
  ASSERT_TRUE(restored->Prefetch(keys).ok());
  // Only states in use are read: the value state here (10 distinct keys).
  EXPECT_EQ(restored->stats().prefetched, 10u);
  for (int64_t k = 0; k < 10; ++k) {
    restored->SetCurrentKey(K(k));
    ASSERT_NE(value->Get(), nullptr);
    EXPECT_EQ(value->Get()->as_int64(), k);
  }
}

// TTL: entries expire ttl after their last write, are never returned expired, and
// expired ones are deleted when read (and survive nothing: not a snapshot either).
TYPED_TEST(KeyedStateBackendTest, TtlStatesNeverReturnExpiredEntries) {
  int64_t now = 1000;
  KeyedStateOptions options;
  options.clock_ms = [&now] { return now; };
  auto b = this->Make(options);
  const StateTtlConfig ttl{100};
  KeyedValueState* value = *b->GetValueState("v", ttl);
  RowState* row = *b->GetRowState("r", ttl);
  ListState* list = *b->GetListState("l", ttl);
  MapState* map = *b->GetMapState("m", ttl);
  KeyedValueState* forever = *b->GetValueState("forever");
  const Value mk[] = {Value::Int64(1)};
  const Value mk2[] = {Value::Int64(2)};
  for (int64_t k = 0; k < 50; ++k) {
    b->SetCurrentKey(K(k));
    value->Put(Value::Int64(k));
    row->Put(R(k, "r"));
    list->Add(R(k, "l"));
    map->Put(mk, R(k, "m"));
    forever->Put(Value::Int64(k));
  }
  now = 1050;
  for (int64_t k = 0; k < 50; k += 2) {  // rewrite the even keys: their expiry moves
    b->SetCurrentKey(K(k));
    value->Put(Value::Int64(-k));
    list->Add(R(k, "l2"));
    map->Put(mk2, R(k, "m2"));
  }
  ASSERT_TRUE(b->Flush().ok());
  now = 1099;  // nothing expired yet
  for (int64_t k = 0; k < 50; ++k) {
    b->SetCurrentKey(K(k));
    ASSERT_NE(value->Get(), nullptr) << k;
    EXPECT_EQ(map->Size(), k % 2 == 0 ? 2u : 1u);
  }
  now = 1100;  // the first writes expire
  for (int64_t k = 0; k < 50; ++k) {
    b->SetCurrentKey(K(k));
    const bool renewed = k % 2 == 0;
    EXPECT_EQ(value->Get() != nullptr, renewed) << k;
    EXPECT_EQ(row->Get(), nullptr) << k;
    EXPECT_EQ(list->Get().size(), renewed ? 2u : 0u) << k;  // a list expires as a whole
    EXPECT_EQ(map->Get(mk), nullptr) << k;                   // map entries one by one
    EXPECT_EQ(map->Get(mk2) != nullptr, renewed) << k;
    size_t n = 0;
    map->ForEach([&](std::span<const Value>, const Row&) { ++n; });
    EXPECT_EQ(n, renewed ? 1u : 0u);
    ASSERT_NE(forever->Get(), nullptr);  // no TTL: never expires
  }
  ASSERT_TRUE(b->Flush().ok());
  now = 1200;
  const std::string snap = NewScratchPath("ttl_snap");
  ASSERT_TRUE(b->Snapshot(snap).ok());
  auto restored = this->Make(options);
  const std::string dirs[] = {snap};
  ASSERT_TRUE(restored->Restore(dirs).ok());
  KeyedValueState* rv = *restored->GetValueState("v", ttl);
  MapState* rm = *restored->GetMapState("m", ttl);
  KeyedValueState* rf = *restored->GetValueState("forever");
  for (int64_t k = 0; k < 50; ++k) {
    restored->SetCurrentKey(K(k));
    EXPECT_EQ(rv->Get(), nullptr);
    EXPECT_EQ(rm->Size(), 0u);
    ASSERT_NE(rf->Get(), nullptr);
  }
  EXPECT_TRUE(restored->status().ok()) << restored->status();
  // One name, one TTL.
  EXPECT_EQ(b->GetValueState("v").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b->GetValueState("x", StateTtlConfig{-1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b->GetValueState("__timers_event").status().code(), absl::StatusCode::kInvalidArgument);
}

// Timers: ordered by time, deduplicated, deletable, restored with the state and
// split by key group on rescale.
TYPED_TEST(KeyedStateBackendTest, TimersAreOrderedAndRestoredByKeyGroup) {
  auto b = this->Make();
  for (int64_t k = 0; k < 100; ++k) {
    b->SetCurrentKey(K(k));
    b->RegisterTimer(TimeDomain::kEventTime, 1000 - k * 10);  // k=99: -(-)... 10
    b->RegisterTimer(TimeDomain::kEventTime, 1000 - k * 10);  // deduplicated
    b->RegisterTimer(TimeDomain::kProcessingTime, -5 + k);    // negative times order too
    if (k % 10 == 0) b->DeleteTimer(TimeDomain::kProcessingTime, -5 + k);
  }
  EXPECT_EQ(b->TimerCount(TimeDomain::kEventTime), 100u);
  EXPECT_EQ(b->TimerCount(TimeDomain::kProcessingTime), 90u);
  EXPECT_EQ(b->NextTimer(TimeDomain::kEventTime), 10);
  EXPECT_EQ(b->NextTimer(TimeDomain::kProcessingTime), -4);
  int64_t time = 0;
  Key key;
  ASSERT_TRUE(b->PopTimer(TimeDomain::kEventTime, 25, &time, &key));
  EXPECT_EQ(time, 10);
  EXPECT_EQ(key, K(99));
  ASSERT_TRUE(b->PopTimer(TimeDomain::kEventTime, 25, &time, &key));
  EXPECT_EQ(key, K(98));
  EXPECT_FALSE(b->PopTimer(TimeDomain::kEventTime, 25, &time, &key));
  const std::string snap = NewScratchPath("timer_snap");
  ASSERT_TRUE(b->Snapshot(snap).ok());
  ASSERT_TRUE(b->PopTimer(TimeDomain::kEventTime, 1000, &time, &key));  // not in the snapshot

  // Rescale 1 -> 2: each subtask gets the timers of its keys, in time order.
  size_t event_timers = 0;
  for (int subtask = 0; subtask < 2; ++subtask) {
    KeyedStateOptions options;
    options.key_groups = exchange::KeyGroupRangeForSubtask(subtask, 2, 128);
    auto part = this->Make(options);
    const std::string dirs[] = {snap};
    ASSERT_TRUE(part->Restore(dirs).ok());
    int64_t last = std::numeric_limits<int64_t>::min();
    while (part->PopTimer(TimeDomain::kEventTime, 1000, &time, &key)) {
      EXPECT_GE(time, last);
      last = time;
      EXPECT_EQ(time, 1000 - key.fields[0].as_int64() * 10);
      EXPECT_TRUE(options.key_groups.Contains(KeyGroupOf(KeyHash(key), 128)));
      ++event_timers;
    }
    EXPECT_GT(part->TimerCount(TimeDomain::kProcessingTime), 0u);
    EXPECT_TRUE(part->status().ok()) << part->status();
  }
  EXPECT_EQ(event_timers, 98u);
}

// A key with a big map (a join side keyed by a low-cardinality column): point calls
// must not load the whole map, so the cache stays within its budget, and the view
// merged from the store and the cached writes/blind deletes must stay exact.
TEST(KeyedStateBackendMapTest, BigMapPointAccessStaysWithinTheCacheBudget) {
  KeyedStateOptions options;
  options.cache_bytes = 64 << 10;
  auto b = KeyedStateBackend::CreateRocksDb(options, NewScratchPath("bigmap"));
  ASSERT_TRUE(b.ok()) << b.status();
  MapState* map = *(*b)->GetMapState("rows");
  const std::string pad(200, 'x');
  auto mk = [](int64_t i) { return std::vector<Value>{Value::Int64(i)}; };
  (*b)->SetCurrentKey(K(1));
  size_t peak = 0;
  for (int64_t i = 0; i < 5000; ++i) {
    map->Put(mk(i), R(i, pad));
    peak = std::max(peak, (*b)->stats().cached_bytes);
  }
  // ~5000 x 300 bytes written, never more than the budget plus one entry held.
  EXPECT_LE(peak, options.cache_bytes + 1024);
  EXPECT_GT((*b)->stats().evictions, 0u);
  ASSERT_TRUE((*b)->Flush().ok());
  const uint64_t evictions = (*b)->stats().evictions;

  // Point reads of a few entries after the map left the cache: no full load.
  for (int64_t i : {7, 4999, 2500}) {
    const Row* r = map->Get(mk(i));
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(r->fields[0].as_int64(), i);
  }
  EXPECT_EQ(map->Get(mk(5000)), nullptr);
  EXPECT_LT((*b)->stats().cached_bytes, 16u << 10);
  EXPECT_EQ((*b)->stats().evictions, evictions);

  // Blind delete, overwrite, insert, then the whole map: store + cache merged.
  map->Remove(mk(3));
  map->Remove(mk(99999));  // absent: no-op
  map->Put(mk(4), R(-4, "new"));
  map->Put(mk(6000), R(6000, "added"));
  EXPECT_EQ(map->Get(mk(3)), nullptr);
  size_t n = 0;
  bool saw_new = false, saw_added = false, saw_removed = false;
  map->ForEach([&](std::span<const Value> k, const Row& v) {
    ++n;
    saw_new |= k[0].as_int64() == 4 && v.fields[0].as_int64() == -4;
    saw_added |= k[0].as_int64() == 6000;
    saw_removed |= k[0].as_int64() == 3;
  });
  EXPECT_EQ(n, 5000u);
  EXPECT_TRUE(saw_new);
  EXPECT_TRUE(saw_added);
  EXPECT_FALSE(saw_removed);
  EXPECT_EQ(map->Size(), 5000u);

  // Another key's map is separate; and the merged view survives flush + eviction.
  (*b)->SetCurrentKey(K(2));
  EXPECT_EQ(map->Size(), 0u);
  map->Put(mk(1), R(1, "k2"));
  (*b)->SetCurrentKey(K(1));
  map->Remove(mk(5));
  ASSERT_TRUE((*b)->Flush().ok());
  EXPECT_EQ(map->Size(), 4999u);
  EXPECT_EQ(map->Get(mk(5)), nullptr);
  EXPECT_EQ(map->Get(mk(4))->fields[0].as_int64(), -4);
  (*b)->SetCurrentKey(K(2));
  EXPECT_EQ(map->Size(), 1u);
  EXPECT_TRUE((*b)->status().ok()) << (*b)->status();
}

size_t CountEntries(KvStore& store, std::string_view space) {
  size_t n = 0;
  const std::vector<std::string> names = store.SpaceNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != space) continue;
    EXPECT_TRUE(store.Scan(static_cast<int>(i), "", "", [&](std::string_view, std::string_view) {
      ++n;
    }).ok());
  }
  return n;
}

// The write-back keeps the flush a checkpoint does small: changes reach the store once
// write_back_entries of them are dirty, without a Flush, and stay cached.
TEST(KeyedStateBackendWriteBackTest, DirtyEntriesReachTheStoreBetweenCheckpoints) {
  auto store = std::make_unique<MemKvStore>();
  MemKvStore* raw = store.get();
  KeyedStateOptions options;
  options.write_back_entries = 100;
  options.write_back_interval_ms = 0;
  auto b = KeyedStateBackend::Create(options, std::move(store), /*unbounded_cache=*/false);
  ASSERT_TRUE(b.ok()) << b.status();
  KeyedValueState* count = *(*b)->GetValueState("count");
  MapState* map = *(*b)->GetMapState("map");
  for (int64_t k = 0; k < 1000; ++k) {
    (*b)->SetCurrentKey(K(k));
    count->Put(Value::Int64(k));
    const Value map_key = Value::Int64(1);
    map->Put(std::span<const Value>(&map_key, 1), Row{RowKind::kInsert, {Value::Int64(k)}});
  }
  ASSERT_TRUE((*b)->status().ok()) << (*b)->status();
  // 2000 changes: written back every 100 dirty entries, the last few still dirty.
  EXPECT_GE((*b)->stats().flushes, 19u);
  EXPECT_EQ((*b)->stats().evictions, 0u);
  EXPECT_GE(CountEntries(*raw, "count"), 900u);
  EXPECT_GE(CountEntries(*raw, "map"), 900u);
  // Still served from the cache: no reads from the store.
  const uint64_t misses = (*b)->stats().misses;
  for (int64_t k = 0; k < 1000; ++k) {
    (*b)->SetCurrentKey(K(k));
    ASSERT_NE(count->Get(), nullptr);
    EXPECT_EQ(count->Get()->as_int64(), k);
  }
  EXPECT_EQ((*b)->stats().misses, misses);
  ASSERT_TRUE((*b)->Flush().ok());
  EXPECT_EQ(CountEntries(*raw, "count"), 1000u);
  EXPECT_EQ(CountEntries(*raw, "map"), 1000u);
}

// Write-backs are at least write_back_interval_ms apart (catch-up: more coalescing,
// fewer looks at the whole cache); 0 entries turns them off.
class KeyedStateBackendWriteBackLimitTest
    : public ::testing::TestWithParam<std::pair<size_t, int64_t>> {};
INSTANTIATE_TEST_SUITE_P(OffOrAnHourApart, KeyedStateBackendWriteBackLimitTest,
                         ::testing::Values(std::pair<size_t, int64_t>{0, 0},
                                           std::pair<size_t, int64_t>{100, 3'600'000}));

TEST_P(KeyedStateBackendWriteBackLimitTest, WritesBackOnlyOnFlush) {
  auto store = std::make_unique<MemKvStore>();
  MemKvStore* raw = store.get();
  KeyedStateOptions options;
  options.write_back_entries = GetParam().first;
  options.write_back_interval_ms = GetParam().second;
  auto b = KeyedStateBackend::Create(options, std::move(store), /*unbounded_cache=*/false);
  ASSERT_TRUE(b.ok()) << b.status();
  KeyedValueState* count = *(*b)->GetValueState("count");
  for (int64_t k = 0; k < 1000; ++k) {
    (*b)->SetCurrentKey(K(k));
    count->Put(Value::Int64(k));
  }
  EXPECT_EQ((*b)->stats().flushes, 0u);
  EXPECT_EQ(CountEntries(*raw, "count"), 0u);
  ASSERT_TRUE((*b)->Flush().ok());
  EXPECT_EQ(CountEntries(*raw, "count"), 1000u);
}

// A store that records the keys of every write batch, per space, in batch order.
class RecordingKvStore final : public KvStore {
 public:
  std::map<int, std::vector<std::string>> written;  // by space, in order

  absl::StatusOr<int> OpenSpace(std::string_view name) override { return inner_.OpenSpace(name); }
  std::vector<std::string> SpaceNames() const override { return inner_.SpaceNames(); }
  absl::Status MultiGet(int space, std::span<const std::string> keys,
                        std::vector<std::optional<std::string>>* values) override {
    return inner_.MultiGet(space, keys, values);
  }
  absl::Status Scan(int space, std::string_view begin, std::string_view end,
                    absl::FunctionRef<void(std::string_view, std::string_view)> fn) override {
    return inner_.Scan(space, begin, end, fn);
  }
  absl::Status ScanPrefix(int space, std::string_view prefix,
                          absl::FunctionRef<void(std::string_view, std::string_view)> fn) override {
    return inner_.ScanPrefix(space, prefix, fn);
  }
  std::unique_ptr<KvWriteBatch> NewWriteBatch() override {
    return std::make_unique<Batch>(this, inner_.NewWriteBatch());
  }
  absl::Status Write(KvWriteBatch& batch) override {
    return inner_.Write(*static_cast<Batch&>(batch).inner);
  }
  absl::Status Checkpoint(const std::string& dir) override { return inner_.Checkpoint(dir); }

 private:
  struct Batch final : KvWriteBatch {
    Batch(RecordingKvStore* store, std::unique_ptr<KvWriteBatch> inner)
        : store(store), inner(std::move(inner)) {}
    void Put(int space, std::string_view key, std::string_view value) override {
      store->written[space].emplace_back(key);
      inner->Put(space, key, value);
    }
    void Delete(int space, std::string_view key) override {
      store->written[space].emplace_back(key);
      inner->Delete(space, key);
    }
    size_t Count() const override { return inner->Count(); }
    RecordingKvStore* store;
    std::unique_ptr<KvWriteBatch> inner;
  };
  MemKvStore inner_;
};

// A flush writes each state's dirty entries in key order (RocksDB's memtable inserts a
// sorted run next to its previous insert), puts and deletes alike, every entry once.
TEST(KeyedStateBackendWriteBackTest, FlushWritesEachStateInKeyOrder) {
  auto store = std::make_unique<RecordingKvStore>();
  RecordingKvStore* raw = store.get();
  KeyedStateOptions options;
  options.write_back_entries = 0;
  auto b = KeyedStateBackend::Create(options, std::move(store), /*unbounded_cache=*/false);
  ASSERT_TRUE(b.ok()) << b.status();
  KeyedValueState* value = *(*b)->GetValueState("value");
  MapState* map = *(*b)->GetMapState("map");
  for (int64_t k = 0; k < 500; ++k) {
    (*b)->SetCurrentKey(K(k * 7919 % 1000));
    value->Put(Value::Int64(k));
    for (int64_t m = 3; m >= 0; --m) {
      const Value map_key = Value::Int64(m * 1000 + k);
      map->Put(std::span<const Value>(&map_key, 1), Row{RowKind::kInsert, {Value::Int64(k)}});
    }
  }
  ASSERT_TRUE((*b)->Flush().ok());
  for (int64_t k = 0; k < 500; k += 2) {  // deletes of stored entries
    (*b)->SetCurrentKey(K(k * 7919 % 1000));
    value->Clear();
    const Value map_key = Value::Int64(2000 + k);
    map->Remove(std::span<const Value>(&map_key, 1));
  }
  ASSERT_TRUE((*b)->Flush().ok());
  ASSERT_TRUE((*b)->status().ok()) << (*b)->status();
  ASSERT_EQ(raw->written.size(), 2u);
  size_t total = 0;
  for (const auto& [space, keys] : raw->written) {
    total += keys.size();
    // Two flushes, each strictly increasing on its own.
    size_t descents = 0;
    for (size_t i = 1; i < keys.size(); ++i) {
      if (keys[i] <= keys[i - 1]) ++descents;
    }
    EXPECT_EQ(descents, 1u) << "space " << space;
  }
  // Maps of four entries are inline: one head per key.
  EXPECT_EQ(total, 500u + 500u + 250u + 250u);
}

// A map read for a key that never held an entry needs no store read; one that did (also
// restored from a snapshot, or evicted from the cache) is read from the store.
TEST(KeyedStateBackendMapTest, KeysThatNeverHeldAnEntryAreNotReadFromTheStore) {
  KeyedStateOptions options;
  options.cache_bytes = 0;  // nothing stays cached: every read of a written map scans
  auto b = KeyedStateBackend::Create(options, std::make_unique<MemKvStore>(), false);
  ASSERT_TRUE(b.ok()) << b.status();
  MapState* map = *(*b)->GetMapState("map");
  const Value one = Value::Int64(1);
  const std::span<const Value> map_key(&one, 1);
  (*b)->SetCurrentKey(K(7));
  EXPECT_EQ(map->Size(), 0u);
  EXPECT_EQ(map->Get(map_key), nullptr);
  EXPECT_EQ((*b)->stats().scans, 0u);
  EXPECT_EQ((*b)->stats().misses, 0u);
  EXPECT_EQ((*b)->stats().skipped_reads, 2u);
  map->Put(map_key, Row{RowKind::kInsert, {Value::Int64(70)}});
  (*b)->SetCurrentKey(K(8));
  EXPECT_EQ(map->Size(), 0u);
  ASSERT_TRUE((*b)->Flush().ok());
  (*b)->SetCurrentKey(K(7));
  EXPECT_EQ(map->Size(), 1u);
  EXPECT_EQ((*b)->stats().scans, 0u);  // a small map: one point read of its inline head
  EXPECT_EQ((*b)->stats().misses, 1u);
  const std::string snap = NewScratchPath("map_keys_snap");
  ASSERT_TRUE((*b)->Snapshot(snap).ok());

  auto restored = KeyedStateBackend::Create(options, std::make_unique<MemKvStore>(), false);
  ASSERT_TRUE(restored.ok()) << restored.status();
  const std::string dirs[] = {snap};
  ASSERT_TRUE((*restored)->Restore(dirs).ok());
  MapState* restored_map = *(*restored)->GetMapState("map");
  (*restored)->SetCurrentKey(K(7));
  ASSERT_NE(restored_map->Get(map_key), nullptr);
  EXPECT_EQ(restored_map->Get(map_key)->fields[0].as_int64(), 70);
  (*restored)->SetCurrentKey(K(8));
  EXPECT_EQ(restored_map->Size(), 0u);
  EXPECT_EQ((*restored)->stats().skipped_reads, 1u);
  EXPECT_TRUE((*restored)->status().ok()) << (*restored)->status();
}

std::vector<int64_t> MapKeysOf(MapState& map) {
  std::vector<int64_t> keys;
  map.ForEach([&](std::span<const Value> k, const Row&) { keys.push_back(k[0].as_int64()); });
  std::sort(keys.begin(), keys.end());
  return keys;
}

// A map of a few entries is one store entry (its head, under the state key), read by one
// point read that Prefetch batches; one that grows past that is spread over an entry per
// map key (the head deleted in the same write) and stays spread; an emptied small map
// keeps an empty head. Both layouts survive a snapshot and restore.
TEST(KeyedStateBackendMapTest, SmallMapsAreOneStoreEntryBigOnesAnEntryPerMapKey) {
  auto store = std::make_unique<MemKvStore>();
  MemKvStore* raw = store.get();
  KeyedStateOptions options;
  options.write_back_entries = 0;
  auto b = KeyedStateBackend::Create(options, std::move(store), /*unbounded_cache=*/false);
  ASSERT_TRUE(b.ok()) << b.status();
  MapState* map = *(*b)->GetMapState("map");
  auto put = [&](int64_t key, int64_t from, int64_t to) {
    (*b)->SetCurrentKey(K(key));
    for (int64_t m = from; m < to; ++m) {
      const Value mk = Value::Int64(m);
      map->Put(std::span<const Value>(&mk, 1), R(m, absl::StrCat("v", m)));
    }
  };
  put(1, 0, 3);   // small
  put(2, 0, 20);  // big from the start
  put(3, 0, 3);   // small, then emptied
  put(5, 0, 2);   // small
  (*b)->SetCurrentKey(K(3));
  map->Clear();
  ASSERT_TRUE((*b)->Flush().ok());
  EXPECT_EQ(CountEntries(*raw, "map"), 1u + 20u + 1u + 1u);
  put(1, 3, 10);  // grows past the inline size
  ASSERT_TRUE((*b)->Flush().ok());
  EXPECT_EQ(CountEntries(*raw, "map"), 10u + 20u + 1u + 1u);
  (*b)->SetCurrentKey(K(1));
  const Value gone = Value::Int64(0);
  map->Remove(std::span<const Value>(&gone, 1));
  ASSERT_TRUE((*b)->Flush().ok());
  EXPECT_EQ(CountEntries(*raw, "map"), 9u + 20u + 1u + 1u);  // stays spread
  const std::string snap = NewScratchPath("inline_maps_snap");
  ASSERT_TRUE((*b)->Snapshot(snap).ok());

  auto restored = KeyedStateBackend::Create(options, std::make_unique<MemKvStore>(), false);
  ASSERT_TRUE(restored.ok()) << restored.status();
  const std::string dirs[] = {snap};
  ASSERT_TRUE((*restored)->Restore(dirs).ok());
  MapState* rmap = *(*restored)->GetMapState("map");
  // One MultiGet for the keys that held entries (not 4): the small and emptied maps are
  // loaded whole, the spread ones known spread.
  const std::vector<Key> batch = {K(1), K(2), K(3), K(4), K(5)};
  ASSERT_TRUE((*restored)->Prefetch(batch).ok());
  EXPECT_EQ((*restored)->stats().prefetched, 4u);
  (*restored)->SetCurrentKey(K(5));
  EXPECT_EQ(MapKeysOf(*rmap), (std::vector<int64_t>{0, 1}));
  (*restored)->SetCurrentKey(K(3));
  EXPECT_EQ(rmap->Size(), 0u);
  (*restored)->SetCurrentKey(K(4));
  EXPECT_EQ(rmap->Size(), 0u);
  EXPECT_EQ((*restored)->stats().scans, 0u);
  EXPECT_EQ((*restored)->stats().misses, 0u);
  (*restored)->SetCurrentKey(K(2));
  const Value seven = Value::Int64(7);
  ASSERT_NE(rmap->Get(std::span<const Value>(&seven, 1)), nullptr);
  EXPECT_EQ(rmap->Get(std::span<const Value>(&seven, 1))->fields[1].as_string(), "v7");
  EXPECT_EQ((*restored)->stats().misses, 1u);  // that entry alone
  EXPECT_EQ(rmap->Size(), 20u);
  (*restored)->SetCurrentKey(K(1));
  EXPECT_EQ(MapKeysOf(*rmap), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ((*restored)->stats().scans, 2u);  // the spread maps, whole
  EXPECT_TRUE((*restored)->status().ok()) << (*restored)->status();
}

// A head that does not decode fails the backend with an error naming the state.
TEST(KeyedStateBackendMapTest, ACorruptInlineMapFailsTheBackendNamingTheState) {
  auto store = std::make_unique<RecordingKvStore>();
  RecordingKvStore* raw = store.get();
  KeyedStateOptions options;
  options.cache_bytes = 0;  // every access reads the store
  auto b = KeyedStateBackend::Create(options, std::move(store), /*unbounded_cache=*/false);
  ASSERT_TRUE(b.ok()) << b.status();
  MapState* map = *(*b)->GetMapState("shipments");
  (*b)->SetCurrentKey(K(1));
  const Value mk = Value::Int64(10);
  map->Put(std::span<const Value>(&mk, 1), R(10, "Berlin"));
  ASSERT_TRUE((*b)->Flush().ok());
  ASSERT_EQ(raw->written.size(), 1u);
  const std::string head = raw->written.begin()->second.at(0);
  std::unique_ptr<KvWriteBatch> garbage = raw->NewWriteBatch();
  garbage->Put(raw->written.begin()->first, head, std::string("\x01\x7f", 2));
  ASSERT_TRUE(raw->Write(*garbage).ok());
  EXPECT_EQ(map->Size(), 0u);
  EXPECT_EQ((*b)->status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT((*b)->status().message(), HasSubstr("state 'shipments'"));
  EXPECT_THAT((*b)->status().message(), HasSubstr("inline map"));
}

TEST(KeyGroupsTest, RangesPartitionTheKeyGroups) {
  for (int32_t max_parallelism : {1, 7, 128, 32768}) {
    for (int32_t parallelism = 1; parallelism <= std::min(max_parallelism, 130); ++parallelism) {
      int32_t next = 0;
      for (int32_t subtask = 0; subtask < parallelism; ++subtask) {
        const exchange::KeyGroupRange r =
            exchange::KeyGroupRangeForSubtask(subtask, parallelism, max_parallelism);
        ASSERT_EQ(r.start, next) << max_parallelism << "/" << parallelism << "/" << subtask;
        ASSERT_GE(r.end, r.start);
        for (int32_t g : {r.start, r.end}) {
          ASSERT_EQ(exchange::SubtaskForKeyGroup(g, parallelism, max_parallelism), subtask);
        }
        next = r.end + 1;
      }
      ASSERT_EQ(next, max_parallelism);
    }
  }
  // Key groups derive from the stable hash: a golden value catches any change.
  EXPECT_EQ(KeyGroupOf(KeyHash(K(42)), 128), static_cast<int32_t>(Value::Int64(42).StableHash() % 128));
  EXPECT_EQ(KeyGroupOf(KeyHash(K(42)), 128), 115);
}

}  // namespace
}  // namespace cdcflow::state
