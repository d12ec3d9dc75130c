#include "runtime/checkpoint/checkpoint_storage.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/checkpoint/task_restore.h"
#include "runtime/state/keyed_state_backend.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::checkpoint {
namespace {

using ::cdcflow::testing::NewScratchDir;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A checkpoint of one subtask (vertex 3, subtask 0) whose keyed state is `files`.
v1::CheckpointMetadata Metadata(int64_t id, const std::vector<v1::StateFile>& files) {
  v1::CheckpointMetadata m;
  m.set_job_id("job");
  m.set_checkpoint_id(id);
  v1::TaskCheckpointAck* t = m.add_tasks();
  t->set_checkpoint_id(id);
  v1::OperatorSnapshot* op = t->add_operators();
  op->set_vertex_id(3);
  op->set_vertex_name("sum");
  op->set_parallelism(1);
  op->set_max_parallelism(128);
  op->set_key_group_first(0);
  op->set_key_group_last(127);
  op->set_has_keyed_state(true);
  for (const v1::StateFile& f : files) *op->add_keyed_state() = f;
  return m;
}

TEST(Crc32cTest, KnownVector) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
}

TEST(MetadataFileTest, RoundTrip) {
  const std::string dir = NewScratchDir("meta");
  v1::CheckpointMetadata m = Metadata(7, {});
  m.set_trigger_time_ms(123);
  ASSERT_TRUE(WriteMetadataFile(dir, m).ok());
  absl::StatusOr<v1::CheckpointMetadata> back = ReadMetadataFile(dir);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->checkpoint_id(), 7);
  EXPECT_EQ(back->trigger_time_ms(), 123);
  EXPECT_EQ(back->tasks(0).operators(0).vertex_name(), "sum");
  // No temporary file is left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
}

TEST(MetadataFileTest, CorruptOrTruncatedOrMissingIsAnErrorNamingTheFile) {
  const std::string dir = NewScratchDir("corrupt");
  ASSERT_TRUE(WriteMetadataFile(dir, Metadata(1, {})).ok());
  const std::string path = dir + "/_metadata";
  std::string data = ReadAll(path);
  std::string flipped = data;
  flipped[data.size() - 3] ^= 0x40;
  WriteFile(path, flipped);
  absl::StatusOr<v1::CheckpointMetadata> r = ReadMetadataFile(dir);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr(path));
  EXPECT_THAT(r.status().message(), HasSubstr("CRC32C"));

  WriteFile(path, data.substr(0, data.size() - 5));
  r = ReadMetadataFile(dir);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("length"));

  WriteFile(path, "garbage");
  EXPECT_EQ(ReadMetadataFile(dir).status().code(), absl::StatusCode::kDataLoss);

  fs::remove(path);
  r = ReadMetadataFile(dir);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr(path));
}

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = NewScratchDir("root");
    staging_ = NewScratchDir("staging");
    auto s = CheckpointStorage::Create(root_, "job", /*link_files=*/false);
    ASSERT_TRUE(s.ok()) << s.status();
    storage_ = *std::move(s);
  }
  // Stages files `names` (content: name repeated) and uploads them for checkpoint `id`.
  std::vector<v1::StateFile> Upload(int64_t id, const std::vector<std::string>& names,
                                    uint64_t* uploaded) {
    const std::string dir = absl::StrCat(staging_, "/", id);
    fs::create_directories(dir);
    for (const std::string& n : names) WriteFile(dir + "/" + n, n + n + n);
    std::vector<v1::StateFile> files;
    absl::Status s = storage_->UploadKeyedState(id, 3, 0, "uuid", dir, &files, uploaded);
    EXPECT_TRUE(s.ok()) << s;
    return files;
  }
  std::string root_;
  std::string staging_;
  std::unique_ptr<CheckpointStorage> storage_;
};

TEST_F(StorageTest, UploadsOnlyNewSstFiles) {
  uint64_t first = 0;
  std::vector<v1::StateFile> f1 = Upload(1, {"000010.sst", "000011.sst", "MANIFEST-000005"}, &first);
  ASSERT_EQ(f1.size(), 3u);
  EXPECT_EQ(first, 30u + 30u + 45u);
  EXPECT_EQ(f1[0].path(), "shared/3-0-uuid-000010.sst");
  EXPECT_TRUE(f1[0].shared());
  EXPECT_EQ(f1[0].local_name(), "000010.sst");
  EXPECT_EQ(f1[2].path(), "chk-1/3-0/MANIFEST-000005");
  EXPECT_FALSE(f1[2].shared());

  uint64_t second = 0;
  std::vector<v1::StateFile> f2 = Upload(2, {"000011.sst", "000012.sst", "MANIFEST-000006"}, &second);
  EXPECT_EQ(second, 30u + 45u);  // 000011.sst is already in shared/
  EXPECT_EQ(f2[0].path(), "shared/3-0-uuid-000011.sst");
  EXPECT_TRUE(fs::exists(root_ + "/job/shared/3-0-uuid-000012.sst"));
}

TEST_F(StorageTest, PruneKeepsRetainedAndTheirSharedFiles) {
  uint64_t n = 0;
  ASSERT_TRUE(storage_->CommitCheckpoint(Metadata(1, Upload(1, {"1.sst", "M1"}, &n))).ok());
  ASSERT_TRUE(storage_->CommitCheckpoint(Metadata(2, Upload(2, {"1.sst", "2.sst", "M2"}, &n))).ok());
  ASSERT_TRUE(storage_->CommitCheckpoint(Metadata(3, Upload(3, {"2.sst", "3.sst", "M3"}, &n))).ok());
  Upload(4, {"4.sst"}, &n);  // an in-flight checkpoint: no _metadata yet, newer than all
  ASSERT_TRUE(storage_->Prune(2).ok());
  EXPECT_FALSE(fs::exists(storage_->CheckpointDir(1)));
  EXPECT_TRUE(fs::exists(storage_->CheckpointDir(2)));
  EXPECT_TRUE(fs::exists(storage_->CheckpointDir(3)));
  EXPECT_TRUE(fs::exists(storage_->CheckpointDir(4)));
  EXPECT_TRUE(fs::exists(root_ + "/job/shared/3-0-uuid-1.sst"));  // still used by chk-2
  EXPECT_TRUE(fs::exists(root_ + "/job/shared/3-0-uuid-3.sst"));
  ASSERT_TRUE(storage_->CommitCheckpoint(Metadata(5, Upload(5, {"3.sst", "M5"}, &n))).ok());
  ASSERT_TRUE(storage_->Prune(1).ok());
  EXPECT_FALSE(fs::exists(storage_->CheckpointDir(4)));  // aborted: older than a completed one
  EXPECT_FALSE(fs::exists(root_ + "/job/shared/3-0-uuid-1.sst"));
  EXPECT_FALSE(fs::exists(root_ + "/job/shared/3-0-uuid-2.sst"));
  EXPECT_FALSE(fs::exists(root_ + "/job/shared/3-0-uuid-4.sst"));
  EXPECT_TRUE(fs::exists(root_ + "/job/shared/3-0-uuid-3.sst"));
  EXPECT_EQ(storage_->ListCheckpointIds(), std::vector<int64_t>{5});
}

TEST_F(StorageTest, LoadLatestFallsBackOnCorruptMetadataAndMissingFiles) {
  uint64_t n = 0;
  ASSERT_TRUE(storage_->CommitCheckpoint(Metadata(1, Upload(1, {"1.sst", "M1"}, &n))).ok());
  ASSERT_TRUE(storage_->CommitCheckpoint(Metadata(2, Upload(2, {"2.sst", "M2"}, &n))).ok());
  ASSERT_TRUE(storage_->CommitCheckpoint(Metadata(3, Upload(3, {"3.sst", "M3"}, &n))).ok());
  std::optional<CompletedCheckpoint> latest = storage_->LoadLatest();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id(), 3);
  EXPECT_EQ(latest->base_dir, root_ + "/job");

  // chk-3: corrupt metadata; chk-2: a missing SST; chk-1: an SST of the wrong size.
  const std::string meta3 = storage_->CheckpointDir(3) + "/_metadata";
  std::string data = ReadAll(meta3);
  data[data.size() / 2] ^= 1;
  WriteFile(meta3, data);
  fs::remove(root_ + "/job/shared/3-0-uuid-2.sst");
  std::vector<std::string> errors;
  latest = storage_->LoadLatest(&errors);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id(), 1);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0], HasSubstr(meta3));
  EXPECT_THAT(errors[0], HasSubstr("corrupt"));
  EXPECT_THAT(errors[1], HasSubstr(root_ + "/job/shared/3-0-uuid-2.sst"));
  EXPECT_THAT(errors[1], HasSubstr("missing"));

  WriteFile(root_ + "/job/shared/3-0-uuid-1.sst", "x");
  errors.clear();
  EXPECT_FALSE(storage_->LoadLatest(&errors).has_value());
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_THAT(errors[2], HasSubstr("3-0-uuid-1.sst has 1 bytes"));
}

TEST_F(StorageTest, SavepointIsSelfContained) {
  uint64_t n = 0;
  ASSERT_TRUE(storage_->CommitCheckpoint(Metadata(4, Upload(4, {"7.sst", "M"}, &n))).ok());
  absl::StatusOr<CompletedCheckpoint> chk = LoadCheckpoint(storage_->CheckpointDir(4));
  ASSERT_TRUE(chk.ok()) << chk.status();
  const std::string sp = NewScratchDir("sp") + "/savepoint";
  absl::StatusOr<CompletedCheckpoint> saved = CheckpointStorage::ExportSavepoint(*chk, sp);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_TRUE(saved->metadata.savepoint());
  EXPECT_EQ(saved->base_dir, sp);
  fs::remove_all(root_);  // nothing of the checkpoint storage is needed any more
  absl::StatusOr<CompletedCheckpoint> loaded = LoadCheckpoint(sp);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->id(), 4);
  const v1::StateFile& f = loaded->metadata.tasks(0).operators(0).keyed_state(0);
  EXPECT_EQ(f.path(), "3-0/7.sst");
  EXPECT_EQ(ReadAll(sp + "/" + f.path()), "7.sst7.sst7.sst");
  // A second export into the same directory is refused.
  EXPECT_EQ(CheckpointStorage::ExportSavepoint(*loaded, sp).status().code(),
            absl::StatusCode::kAlreadyExists);
}

// RocksDB keyed state through upload, metadata and materialization, restored by two
// subtasks of a higher parallelism (rescaling 1 -> 2): every key lands in exactly one.
TEST_F(StorageTest, RocksDbStateRoundTripsAndRescales) {
  state::KeyedStateOptions options;
  options.max_parallelism = 16;
  options.key_groups = {0, 15};
  const std::string db = NewScratchDir("db");
  auto backend = state::KeyedStateBackend::CreateRocksDb(options, db + "/live");
  ASSERT_TRUE(backend.ok()) << backend.status();
  KeyedValueState* v = *(*backend)->GetValueState("sum");
  for (int64_t k = 0; k < 200; ++k) {
    (*backend)->SetCurrentKey(Key{{Value::Int64(k)}});
    v->Put(Value::Int64(k * 10));
  }
  ASSERT_TRUE((*backend)->Snapshot(db + "/snap").ok());
  std::vector<v1::StateFile> files;
  uint64_t uploaded = 0;
  ASSERT_TRUE(storage_->UploadKeyedState(1, 3, 0, "u1", db + "/snap", &files, &uploaded).ok());
  v1::CheckpointMetadata m = Metadata(1, files);
  m.mutable_tasks(0)->mutable_operators(0)->set_max_parallelism(16);
  m.mutable_tasks(0)->mutable_operators(0)->set_key_group_last(15);
  ASSERT_TRUE(storage_->CommitCheckpoint(m).ok());
  fs::remove_all(db + "/snap");
  std::optional<CompletedCheckpoint> chk = storage_->LoadLatest();
  ASSERT_TRUE(chk.has_value());

  int found = 0;
  for (int subtask = 0; subtask < 2; ++subtask) {
    state::KeyedStateOptions o = options;
    const exchange::KeyGroupRange r = exchange::KeyGroupRangeForSubtask(subtask, 2, 16);
    o.key_groups = r;
    auto restored = state::KeyedStateBackend::CreateRocksDb(o, absl::StrCat(db, "/new", subtask));
    ASSERT_TRUE(restored.ok());
    const std::string dir = absl::StrCat(db, "/mat", subtask);
    ASSERT_TRUE(MaterializeKeyedState(chk->base_dir, chk->metadata.tasks(0).operators(0), dir).ok());
    ASSERT_TRUE((*restored)->Restore(std::vector<std::string>{dir}).ok());
    KeyedValueState* rv = *(*restored)->GetValueState("sum");
    for (int64_t k = 0; k < 200; ++k) {
      const Key key{{Value::Int64(k)}};
      const int32_t group = state::KeyGroupOf(KeyHash(key), 16);
      if (!r.Contains(group)) continue;
      (*restored)->SetCurrentKey(key);
      const Value* got = rv->Get();
      ASSERT_NE(got, nullptr) << "key " << k;
      EXPECT_EQ(got->as_int64(), k * 10);
      ++found;
    }
  }
  EXPECT_EQ(found, 200);
}

}  // namespace
}  // namespace cdcflow::checkpoint
