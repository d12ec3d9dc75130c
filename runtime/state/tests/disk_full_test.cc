// Keyed state on a full disk (label integration; needs root to mount a small tmpfs,
// as CI runs it): the store, the backend, and a keyed job using it, fail with an error
// naming the state directory and "no space" (the free-space guard refuses the write
// before RocksDB sees it, so RocksDB itself never hits ENOSPC); once space is back the
// same store, and a new run, work.
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/graph/logical_graph.h"
#include "runtime/local/local_job.h"
#include "runtime/state/keyed_state_backend.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::state {
namespace {

using ::testing::HasSubstr;

constexpr size_t kValueBytes = 1024;

// Letters that LZ4 cannot shrink much (no repeats), so state takes real disk space.
std::string Noise(std::mt19937_64& rng) {
  std::string s(kValueBytes, 'a');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root (CI runs this as root)";
    dir_ = cdcflow::testing::NewScratchDir("disk_full");
    ASSERT_EQ(mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=16m"), 0)
        << "mount tmpfs on " << dir_ << ": " << strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) {
      EXPECT_EQ(umount(dir_.c_str()), 0) << strerror(errno);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // Leaves about `free_bytes` free on the tmpfs.
  void Fill(size_t free_bytes) {
    const auto space = std::filesystem::space(dir_);
    std::ofstream filler(dir_ + "/filler", std::ios::binary);
    const std::string block(64 << 10, 'x');
    for (size_t n = 0; n + free_bytes < space.available; n += block.size()) filler << block;
  }
  void Free() { std::filesystem::remove(dir_ + "/filler"); }

  std::string dir_;
  bool mounted_ = false;
};

// Writes `keys` rows of ~1 KiB through `b`, flushing every 100 keys; the backend's status.
absl::Status WriteState(KeyedStateBackend& b, int keys) {
  std::mt19937_64 rng(7);
  RowState* rows = *b.GetRowState("rows");
  for (int k = 0; k < keys && b.status().ok(); ++k) {
    b.SetCurrentKey(Key{{Value::Int64(k)}});
    rows->Put(Row{RowKind::kInsert, {Value::Int64(k), Value::Str(Noise(rng))}});
    if (k % 100 == 99) (void)b.Flush();
  }
  if (b.status().ok()) (void)b.Flush();
  return b.status();
}

RocksDbStoreOptions SmallMemtables() {
  RocksDbStoreOptions o;
  o.block_cache = rocksdb::NewLRUCache(4 << 20);
  o.write_buffer_size = 256 << 10;
  return o;
}

// The guard refuses a batch before RocksDB sees it, so the DB stays sound: what was
// written reads back, and once space is back the same store writes and checkpoints.
TEST_F(DiskFullTest, StoreRefusesWritesWithoutSpaceAndAcceptsThemOnceSpaceIsBack) {
  Fill(3 << 20);
  const std::string db = dir_ + "/store";
  RocksDbStoreOptions options = SmallMemtables();
  options.disk_check_bytes = 64 << 10;
  auto store = RocksDbKvStore::Open(db, options);
  ASSERT_TRUE(store.ok()) << store.status();
  const int space = *(*store)->OpenSpace("s");
  std::mt19937_64 rng(3);
  int written = 0;
  absl::Status s;
  for (; written < 8000; ++written) {  // 8 MB: far more than fits
    auto batch = (*store)->NewWriteBatch();
    batch->Put(space, absl::StrCat("k", written), Noise(rng));
    s = (*store)->Write(*batch);
    if (!s.ok()) break;
  }
  ASSERT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(db));
  EXPECT_THAT(std::string(s.message()), HasSubstr("no space left on device"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("refused before RocksDB"));
  EXPECT_GT(written, 100);
  const RocksDbKvStore::DiskSpace& last = (*store)->last_disk_space();
  EXPECT_LT(last.free, last.needed());
  EXPECT_GE(last.reserve, 1u << 20);  // the default: at least 1 MiB
  // Refused again while the disk stays full; what was admitted reads back.
  {
    auto batch = (*store)->NewWriteBatch();
    batch->Put(space, "late", "v");
    EXPECT_EQ((*store)->Write(*batch).code(), absl::StatusCode::kResourceExhausted);
  }
  std::vector<std::optional<std::string>> values;
  const std::vector<std::string> keys = {"k0", absl::StrCat("k", written - 1), "late"};
  ASSERT_TRUE((*store)->MultiGet(space, keys, &values).ok());
  EXPECT_TRUE(values[0].has_value());
  EXPECT_TRUE(values[1].has_value());
  EXPECT_FALSE(values[2].has_value());

  Free();
  auto batch = (*store)->NewWriteBatch();
  batch->Put(space, "late", "v");
  absl::Status again = (*store)->Write(*batch);
  ASSERT_TRUE(again.ok()) << again;
  absl::Status checkpoint = (*store)->Checkpoint(dir_ + "/cp");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint;
  auto snapshot = OpenKvSnapshot(dir_ + "/cp");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_TRUE((*snapshot)->MultiGet(*(*snapshot)->OpenSpace("s"), keys, &values).ok());
  EXPECT_TRUE(values[1].has_value());
  EXPECT_EQ(values[2], std::optional<std::string>("v"));
}

TEST_F(DiskFullTest, BackendFailsNamingThePathAndWorksAgainOnceSpaceIsBack) {
  Fill(3 << 20);
  const std::string db = dir_ + "/subtask-0";
  KeyedStateOptions options;
  options.cache_bytes = 256 << 10;
  {
    auto b = KeyedStateBackend::CreateRocksDb(options, db, SmallMemtables());
    ASSERT_TRUE(b.ok()) << b.status();
    absl::Status s = WriteState(**b, 4000);
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(db));
    EXPECT_THAT(std::string(s.message()), HasSubstr("no space"));
    EXPECT_THAT(std::string(s.message()), HasSubstr("refused before RocksDB"));
  }
  Free();
  // A new run starts from an empty directory (or a checkpoint), like a restarted task.
  std::filesystem::remove_all(db);
  auto b = KeyedStateBackend::CreateRocksDb(options, db, SmallMemtables());
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(WriteState(**b, 1000).ok()) << (*b)->status();
  absl::Status snapshot = (*b)->Snapshot(dir_ + "/snap");
  ASSERT_TRUE(snapshot.ok()) << snapshot;
  (*b)->SetCurrentKey(Key{{Value::Int64(999)}});
  ASSERT_NE((*(*b)->GetRowState("rows"))->Get(), nullptr);
}

// Keeps each row as its key's state.
class KeepFn : public KeyedProcessFunction {
 public:
  absl::Status Open(KeyedRuntimeContext& ctx) override {
    auto rows = ctx.GetRowState("rows");
    if (!rows.ok()) return rows.status();
    rows_ = *rows;
    return absl::OkStatus();
  }
  absl::Status ProcessElement(Row& row, KeyedContext&, Collector&) override {
    rows_->Put(row);
    return absl::OkStatus();
  }

 private:
  RowState* rows_ = nullptr;
};

absl::Status RunKeyedJob(const std::string& state_dir) {
  JobBuilder job(JobArgs(), 1);
  job.Source("gen", Generator(2000,
                              [](int64_t i) {
                                std::mt19937_64 rng(i);
                                return Row{RowKind::kInsert, {Value::Int64(i), Value::Str(Noise(rng))}};
                              }))
      .KeyBy({0})
      .Process("keep", [] { return std::make_unique<KeepFn>(); })
      .SinkTo("out", StdoutSink());
  auto graph = graph::Finalize(job);
  if (!graph.ok()) return graph.status();
  JobArgs args;
  // 2 MiB of process-wide state memory: memtables are flushed every ~1 MiB, so the
  // 2 MB of state reaches the disk while the job runs (with room for compactions).
  auto run = local::LocalJob::Start(
      &*graph, &args,
      {.task = {.batch_rows = 100, .state_dir = state_dir, .state_cache_bytes = 64 << 10,
                .state_memory_bytes = 2 << 20}});
  if (!run.ok()) return run.status();
  return (*run)->Wait();
}

// The job fails mid-run (3 MiB free for 2 MB of state plus the guard's margins: a
// 1 MiB reserve, 1 MiB of unchecked writes, the memtables and compaction headroom).
TEST_F(DiskFullTest, KeyedJobFailsWithAClearErrorAndANewRunWorksOnceSpaceIsBack) {
  Fill(3 << 20);
  absl::Status s = RunKeyedJob(dir_ + "/state");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(dir_ + "/state/"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("no space"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("refused before RocksDB"));
  Free();
  s = RunKeyedJob(dir_ + "/state");
  EXPECT_TRUE(s.ok()) << s;
  SharedRocksDbStoreOptions();  // restore the default size
}

}  // namespace
}  // namespace cdcflow::state
