#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/state/mem_kv_store.h"
#include "runtime/state/rocksdb_kv_store.h"
#include "runtime/state/state_key.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::state {
namespace {

using ::cdcflow::testing::NewScratchPath;

using ::testing::HasSubstr;

std::vector<std::pair<std::string, std::string>> ScanAll(KvStore& store, int space,
                                                         std::string_view begin = "",
                                                         std::string_view end = "") {
  std::vector<std::pair<std::string, std::string>> out;
  EXPECT_TRUE(store.Scan(space, begin, end, [&](std::string_view k, std::string_view v) {
                     out.emplace_back(std::string(k), std::string(v));
                   }).ok());
  return out;
}

// The contract every store keeps.
void ExerciseStore(KvStore& store) {
  const int a = *store.OpenSpace("a");
  const int b = *store.OpenSpace("b");
  EXPECT_EQ(*store.OpenSpace("a"), a);
  auto batch = store.NewWriteBatch();
  batch->Put(a, "k1", "v1");
  batch->Put(a, std::string("k\0z", 3), "nul");
  batch->Put(a, "k2", "v2");
  batch->Put(b, "k1", "other");
  batch->Delete(a, "k2");
  EXPECT_EQ(batch->Count(), 5u);
  ASSERT_TRUE(store.Write(*batch).ok());
  std::vector<std::optional<std::string>> values;
  const std::string keys[] = {"k1", "k2", std::string("k\0z", 3)};
  ASSERT_TRUE(store.MultiGet(a, keys, &values).ok());
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0], "v1");
  EXPECT_EQ(values[1], std::nullopt);
  EXPECT_EQ(values[2], "nul");
  EXPECT_EQ(ScanAll(store, a).size(), 2u);
  EXPECT_EQ(ScanAll(store, a, "k1").size(), 1u);
  EXPECT_EQ(ScanAll(store, a, "", "k1").size(), 1u);  // only "k\0z"
  EXPECT_EQ(ScanAll(store, b), (std::vector<std::pair<std::string, std::string>>{{"k1", "other"}}));

  const std::string snap = NewScratchPath("snap");
  ASSERT_TRUE(store.Checkpoint(snap).ok());
  batch->Put(a, "after", "x");
  ASSERT_TRUE(store.Write(*batch).ok());
  absl::StatusOr<std::unique_ptr<KvStore>> copy = OpenKvSnapshot(snap);
  ASSERT_TRUE(copy.ok()) << copy.status();
  std::vector<std::string> names = (*copy)->SpaceNames();
  const int ca = static_cast<int>(std::find(names.begin(), names.end(), "a") - names.begin());
  const int cb = static_cast<int>(std::find(names.begin(), names.end(), "b") - names.begin());
  ASSERT_LT(ca, static_cast<int>(names.size()));
  ASSERT_LT(cb, static_cast<int>(names.size()));
  EXPECT_EQ(ScanAll(**copy, ca), ScanAll(store, a, "k"));
  EXPECT_EQ(ScanAll(**copy, cb), ScanAll(store, b));
}

// A store key with a state-key prefix (state_key.h): [group][n][fields] + suffix.
std::string StateKey(int group, std::string_view fields, std::string_view suffix = "") {
  std::string k;
  k.push_back(static_cast<char>(group >> 8));
  k.push_back(static_cast<char>(group & 0xff));
  k.push_back(static_cast<char>(fields.size() >> 8));
  k.push_back(static_cast<char>(fields.size() & 0xff));
  k.append(fields);
  k.append(suffix);
  return k;
}

std::vector<std::string> PrefixKeys(KvStore& store, int space, std::string_view prefix) {
  std::vector<std::string> out;
  absl::Status s = store.ScanPrefix(space, prefix, [&](std::string_view k, std::string_view) {
    out.emplace_back(k);
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// Prefix scans return exactly the entries of one state key, wherever they are (the
// memtable, flushed files), never those of a key whose fields extend it, and nothing
// for keys without entries.
void ExercisePrefixScans(KvStore& store, bool flush_between) {
  const int m = *store.OpenSpace("map");
  auto batch = store.NewWriteBatch();
  for (int i = 0; i < 200; ++i) {
    batch->Put(m, StateKey(7, absl::StrCat("k", i), "\x01a"), "v");
    batch->Put(m, StateKey(7, absl::StrCat("k", i), "\x01b"), "v");
  }
  batch->Put(m, StateKey(7, "ab"), "whole key");
  ASSERT_TRUE(store.Write(*batch).ok());
  if (flush_between) {
    ASSERT_TRUE(store.Compact().ok());
  }
  batch = store.NewWriteBatch();
  batch->Put(m, StateKey(7, "abc", "\x01x"), "longer fields");
  batch->Put(m, StateKey(8, "ab", "\x01y"), "other group");
  batch->Put(m, StateKey(7, "k5", "\x01c"), "v");
  batch->Delete(m, StateKey(7, "k5", "\x01a"));
  ASSERT_TRUE(store.Write(*batch).ok());
  EXPECT_EQ(PrefixKeys(store, m, StateKey(7, "k5")),
            (std::vector<std::string>{StateKey(7, "k5", "\x01b"), StateKey(7, "k5", "\x01c")}));
  EXPECT_EQ(PrefixKeys(store, m, StateKey(7, "k199")).size(), 2u);
  EXPECT_EQ(PrefixKeys(store, m, StateKey(7, "ab")), std::vector<std::string>{StateKey(7, "ab")});
  EXPECT_EQ(PrefixKeys(store, m, StateKey(8, "ab")).size(), 1u);
  EXPECT_TRUE(PrefixKeys(store, m, StateKey(7, "k200")).empty());
  EXPECT_TRUE(PrefixKeys(store, m, StateKey(9, "k5")).empty());
}

TEST(KvStoreTest, PrefixScansMemoryStore) {
  MemKvStore store;
  ExercisePrefixScans(store, false);
}

TEST(KvStoreTest, PrefixScansRocksDbStore) {
  for (bool flush : {false, true}) {
    absl::StatusOr<std::unique_ptr<RocksDbKvStore>> store =
        RocksDbKvStore::Open(NewScratchPath("prefix"), RocksDbStoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    ExercisePrefixScans(**store, flush);
    // Only a whole state-key prefix can be scanned by prefix.
    absl::Status s = (*store)->ScanPrefix(*(*store)->OpenSpace("map"), StateKey(7, "k5").substr(0, 5),
                                          [](std::string_view, std::string_view) {});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
}

TEST(KvStoreTest, StateKeyPrefixLength) {
  EXPECT_EQ(StateKeyPrefixLength(StateKey(1, "abc", "map key")), 7u);
  EXPECT_EQ(StateKeyPrefixLength(StateKey(1, "")), 4u);
  EXPECT_EQ(StateKeyPrefixLength(StateKey(1, "abc").substr(0, 6)), 0u);  // announces more
  EXPECT_EQ(StateKeyPrefixLength("ab"), 0u);
}

TEST(KvStoreTest, MemoryStore) {
  MemKvStore store;
  ExerciseStore(store);
}

TEST(KvStoreTest, RocksDbStore) {
  absl::StatusOr<std::unique_ptr<RocksDbKvStore>> store =
      RocksDbKvStore::Open(NewScratchPath("db"), RocksDbStoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  ExerciseStore(**store);
  EXPECT_FALSE((*store)->OpenSpace("default").ok());
}

TEST(KvStoreTest, RocksDbReopensItsColumnFamilies) {
  const std::string dir = NewScratchPath("db");
  {
    auto store = *RocksDbKvStore::Open(dir, RocksDbStoreOptions());
    const int s = *store->OpenSpace("s");
    auto batch = store->NewWriteBatch();
    batch->Put(s, "k", "v");
    ASSERT_TRUE(store->Write(*batch).ok());
    ASSERT_TRUE(store->Checkpoint(dir + "_cp").ok());  // flushes the memtable (no WAL)
  }
  auto store = *RocksDbKvStore::Open(dir + "_cp", RocksDbStoreOptions());
  EXPECT_EQ(ScanAll(*store, *store->OpenSpace("s")).size(), 1u);
}

std::string WithExpiry(int64_t expires, std::string_view payload) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((static_cast<uint64_t>(expires) >> shift) & 0xff));
  }
  out.append(payload);
  return out;
}

TEST(KvStoreTest, RocksDbCompactionDropsExpiredEntriesOfExpiringSpacesOnly) {
  auto store = *RocksDbKvStore::Open(NewScratchPath("ttl"), RocksDbStoreOptions());
  const int ttl = *store->OpenSpace("ttl");
  const int plain = *store->OpenSpace("plain");
  store->SetSpaceHasExpiry(ttl);
  const int64_t now = absl::ToUnixMillis(absl::Now());
  auto batch = store->NewWriteBatch();
  for (int i = 0; i < 100; ++i) {
    const int64_t expires = i % 2 == 0 ? now - 1000 : now + 3600 * 1000;
    batch->Put(ttl, absl::StrCat("k", 100 + i), WithExpiry(expires, "v"));
    batch->Put(plain, absl::StrCat("k", 100 + i), WithExpiry(now - 1000, "v"));
  }
  ASSERT_TRUE(store->Write(*batch).ok());
  EXPECT_EQ(ScanAll(*store, ttl).size(), 100u);
  ASSERT_TRUE(store->Compact().ok());
  EXPECT_EQ(ScanAll(*store, ttl).size(), 50u);
  EXPECT_EQ(ScanAll(*store, plain).size(), 100u);  // not marked: never filtered
}

TEST(KvStoreTest, SharedOptionsShareOneCacheAndBoundTheMemtables) {
  RocksDbStoreOptions a = SharedRocksDbStoreOptions(64 << 20);
  RocksDbStoreOptions b = SharedRocksDbStoreOptions(64 << 20);
  EXPECT_EQ(a.block_cache.get(), b.block_cache.get());
  EXPECT_EQ(a.write_buffer_manager.get(), b.write_buffer_manager.get());
  EXPECT_EQ(a.block_cache->GetCapacity(), size_t{64 << 20});
  EXPECT_EQ(a.write_buffer_manager->buffer_size(), size_t{32 << 20});
  EXPECT_TRUE(a.write_buffer_manager->cost_to_cache());
  // Stores opened without a cache use the process-wide one.
  auto store = *RocksDbKvStore::Open(NewScratchPath("shared"), RocksDbStoreOptions());
  const int s = *store->OpenSpace("s");
  auto batch = store->NewWriteBatch();
  for (int i = 0; i < 1000; ++i) batch->Put(s, absl::StrCat("k", i), std::string(1000, 'x'));
  ASSERT_TRUE(store->Write(*batch).ok());
  EXPECT_GT(a.write_buffer_manager->memory_usage(), 0u);  // its memtable is charged
  RocksDbStoreOptions resized = SharedRocksDbStoreOptions(32 << 20);
  EXPECT_EQ(resized.block_cache.get(), a.block_cache.get());
  EXPECT_EQ(a.block_cache->GetCapacity(), size_t{32 << 20});
  EXPECT_EQ(a.write_buffer_manager->buffer_size(), size_t{16 << 20});
  SharedRocksDbStoreOptions();  // back to the default for the other tests
}

// The snapshot is written through a 1 MiB buffer (never a second copy of the whole store):
// a store several times that size comes back whole, every space and entry.
TEST(KvStoreTest, MemorySnapshotLargerThanItsWriteBufferRoundTrips) {
  MemKvStore store;
  const int a = *store.OpenSpace("a");
  const int b = *store.OpenSpace("b");
  auto batch = store.NewWriteBatch();
  for (int i = 0; i < 3000; ++i) {
    batch->Put(a, absl::StrCat("key", i), std::string(1000 + i % 7, static_cast<char>('a' + i % 26)));
    if (i % 3 == 0) batch->Put(b, absl::StrCat("other", i), absl::StrCat(i));
  }
  ASSERT_TRUE(store.Write(*batch).ok());
  const std::string snap = NewScratchPath("big_snap");
  ASSERT_TRUE(store.Checkpoint(snap).ok());
  EXPECT_GT(std::filesystem::file_size(snap + "/" + MemKvStore::kFileName), 2u << 20);
  absl::StatusOr<std::unique_ptr<MemKvStore>> loaded = MemKvStore::Load(snap);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->SpaceNames(), store.SpaceNames());
  EXPECT_EQ(ScanAll(**loaded, a), ScanAll(store, a));
  EXPECT_EQ(ScanAll(**loaded, b), ScanAll(store, b));
  EXPECT_EQ(ScanAll(**loaded, a).size(), 3000u);
}

TEST(KvStoreTest, MemorySnapshotTruncatedOrCorruptIsDataLoss) {
  MemKvStore store;
  const int a = *store.OpenSpace("a");
  auto batch = store.NewWriteBatch();
  for (int i = 0; i < 5; ++i) batch->Put(a, absl::StrCat("key", i), absl::StrCat("value", i));
  ASSERT_TRUE(store.Write(*batch).ok());
  const std::string snap = NewScratchPath("snap");
  ASSERT_TRUE(store.Checkpoint(snap).ok());
  const std::string path = snap + "/" + MemKvStore::kFileName;
  std::string data;
  {
    std::ifstream in(path, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_TRUE(MemKvStore::Load(snap).ok());
  for (size_t len = 0; len < data.size(); ++len) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(data.data(), static_cast<std::streamsize>(len));
    }
    absl::StatusOr<std::unique_ptr<MemKvStore>> loaded = MemKvStore::Load(snap);
    ASSERT_FALSE(loaded.ok()) << len;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("byte offset"));
  }
  EXPECT_EQ(OpenKvSnapshot(NewScratchPath("none")).status().code(), absl::StatusCode::kNotFound);
}

// ENOSPC that still reaches RocksDB (the guard off or outrun) keeps its clear error.
TEST(KvStoreTest, RocksDbNoSpaceMapsToResourceExhaustedNamingTheContext) {
  absl::Status s = FromRocksDb(
      rocksdb::Status::NoSpace("While appending to file: /state/db/000012.sst",
                               "No space left on device"),
      "write to /state/db");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("write to /state/db: no space left on device"));
  s = FromRocksDb(rocksdb::Status::SpaceLimit("Max allowed space was reached"), "flush /state/db");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("flush /state/db: no space left on device"));
  EXPECT_EQ(FromRocksDb(rocksdb::Status::IOError("boom"), "x").code(),
            absl::StatusCode::kUnavailable);
}

TEST(KvStoreTest, RocksDbGuardRefusesToOpenWhenTheReserveDoesNotFit) {
  const std::string dir = NewScratchPath("guard_open");
  RocksDbStoreOptions options;
  options.disk_reserve_bytes = int64_t{1} << 60;  // an exabyte
  absl::StatusOr<std::unique_ptr<RocksDbKvStore>> store = RocksDbKvStore::Open(dir, options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr(absl::StrCat("state directory ", dir, ": no space left on device")));
  EXPECT_FALSE(std::filesystem::exists(dir + "/CURRENT"));  // RocksDB never opened it
}

// Batches within disk_check_bytes and the interval skip the free-space read; a larger
// one, a checkpoint and a compaction always read it.
TEST(KvStoreTest, RocksDbGuardReadsTheFreeSpaceAtMostEveryCheckBytes) {
  const std::string dir = NewScratchPath("guard_rate");
  RocksDbStoreOptions options;
  options.disk_reserve_bytes = 0;
  options.disk_check_bytes = 1 << 20;
  options.disk_check_interval_ms = 3'600'000;
  auto store = *RocksDbKvStore::Open(dir, options);
  const int s = *store->OpenSpace("s");
  const uint64_t after_open = store->disk_checks();
  EXPECT_EQ(after_open, 2u);  // Open and OpenSpace
  std::mt19937_64 rng(1);
  auto noise = [&](size_t n) {  // what LZ4 cannot shrink much
    std::string out(n, 'a');
    for (char& c : out) c = static_cast<char>('a' + rng() % 26);
    return out;
  };
  const std::string value = noise(1000);
  for (int i = 0; i < 500; ++i) {  // ~0.5 MB
    auto batch = store->NewWriteBatch();
    batch->Put(s, absl::StrCat("k", i), value);
    ASSERT_TRUE(store->Write(*batch).ok());
  }
  EXPECT_EQ(store->disk_checks(), after_open);
  auto big = store->NewWriteBatch();
  big->Put(s, "big", noise(1 << 20));
  ASSERT_TRUE(store->Write(*big).ok());
  EXPECT_EQ(store->disk_checks(), after_open + 1);
  const RocksDbKvStore::DiskSpace& space = store->last_disk_space();
  EXPECT_GT(space.memtables, 500u * 1000u);  // the admitted batches
  EXPECT_GE(space.incoming, (1u << 20) + (1u << 20));  // the batch + the unchecked allowance
  EXPECT_GE(space.free, space.needed());
  const absl::Status checkpoint = store->Checkpoint(dir + "_cp");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint;
  EXPECT_EQ(store->disk_checks(), after_open + 2);
  const absl::Status compact = store->Compact();
  ASSERT_TRUE(compact.ok()) << compact;
  EXPECT_EQ(store->disk_checks(), after_open + 3);
  EXPECT_GT(store->last_disk_space().compaction, 1u << 20);  // every SST file (flushed above)
}

TEST(KvStoreTest, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixSuccessor(std::string("\xff\xff", 2)), "");
  EXPECT_EQ(PrefixSuccessor(""), "");
}

}  // namespace
}  // namespace cdcflow::state
