#include "runtime/checkpoint/checkpoint_storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"

namespace cdcflow::checkpoint {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'C', 'D', 'C', 'F', 'C', 'K', 'P', '1'};
constexpr size_t kHeaderSize = 8 + 4 + 8;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (0x82F63B78u ^ (c >> 1)) : (c >> 1);
    table[i] = c;
  }
  return table;
}

absl::Status Errno(const std::string& what, const std::string& path) {
  const int e = errno;
  const std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(e));
  if (e == ENOSPC || e == EDQUOT) return absl::ResourceExhaustedError(msg);
  if (e == ENOENT) return absl::NotFoundError(msg);
  return absl::UnavailableError(msg);
}

absl::Status FsError(const std::string& what, const std::string& path, const std::error_code& ec) {
  const std::string msg = absl::StrCat(what, " ", path, ": ", ec.message());
  if (ec == std::errc::no_space_on_device) return absl::ResourceExhaustedError(msg);
  if (ec == std::errc::no_such_file_or_directory) return absl::NotFoundError(msg);
  return absl::UnavailableError(msg);
}

std::string TmpSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrCat(".tmp-", rng() % 1000000000);
}

absl::Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return Errno("cannot open", path);
  int r = directory ? ::fsync(fd) : ::fdatasync(fd);
  absl::Status s = r == 0 ? absl::OkStatus() : Errno("cannot sync", path);
  ::close(fd);
  return s;
}

// Copies `from` to `to` through a temporary name (fsynced, renamed), or hard-links it
// when `link` and both are on one file system. Returns the bytes copied (0 for a link).
absl::StatusOr<uint64_t> PlaceFile(const std::string& from, const std::string& to, bool link) {
  std::error_code ec;
  const std::string tmp = to + TmpSuffix();
  if (link) {
    fs::create_hard_link(from, tmp, ec);
    if (!ec) {
      fs::rename(tmp, to, ec);
      if (ec) {
        fs::remove(tmp, ec);
        return FsError("cannot rename to", to, ec);
      }
      return uint64_t{0};
    }
  }
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return FsError(absl::StrCat("cannot copy ", from, " to"), tmp, ec);
  }
  if (absl::Status s = FsyncPath(tmp, false); !s.ok()) {
    fs::remove(tmp, ec);
    return s;
  }
  fs::rename(tmp, to, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return FsError("cannot rename to", to, ec);
  }
  const uint64_t size = fs::file_size(to, ec);
  return ec ? uint64_t{0} : size;
}

absl::Status CheckFiles(const std::string& base, const v1::CheckpointMetadata& m) {
  for (const v1::TaskCheckpointAck& t : m.tasks()) {
    for (const v1::OperatorSnapshot& op : t.operators()) {
      for (const v1::StateFile& f : op.keyed_state()) {
        const std::string path = (fs::path(base) / f.path()).string();
        std::error_code ec;
        const uint64_t size = fs::file_size(path, ec);
        if (ec) {
          return absl::DataLossError(absl::StrCat("checkpoint ", m.checkpoint_id(),
                                                  ": state file ", path, " is missing (",
                                                  ec.message(), ")"));
        }
        if (size != f.size()) {
          return absl::DataLossError(absl::StrCat("checkpoint ", m.checkpoint_id(), ": state file ",
                                                  path, " has ", size, " bytes, the metadata says ",
                                                  f.size()));
        }
      }
    }
  }
  return absl::OkStatus();
}

bool ParseChkId(const std::string& name, int64_t* id) {
  return absl::StartsWith(name, "chk-") && absl::SimpleAtoi(name.substr(4), id) && *id >= 0;
}

}  // namespace

uint32_t Crc32c(const void* data, size_t size, uint32_t crc) {
  static const std::array<uint32_t, 256> kTable = MakeCrcTable();
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = kTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

absl::Status WriteMetadataFile(const std::string& dir, const v1::CheckpointMetadata& metadata) {
  std::string payload;
  if (!metadata.SerializeToString(&payload)) {
    return absl::InternalError("cannot serialize checkpoint metadata");
  }
  std::string data(kMagic, sizeof(kMagic));
  const uint32_t crc = Crc32c(payload.data(), payload.size());
  const uint64_t len = payload.size();
  for (int i = 0; i < 4; ++i) data.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  for (int i = 0; i < 8; ++i) data.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  data += payload;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return FsError("cannot create", dir, ec);
  const std::string path = (fs::path(dir) / kMetadataFile).string();
  const std::string tmp = path + TmpSuffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return Errno("cannot create", tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd, data.data() + off, data.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      absl::Status s = Errno("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    off += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = Errno("cannot sync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = Errno("cannot rename to", path);
    ::unlink(tmp.c_str());
    return s;
  }
  return FsyncPath(dir, true);
}

absl::StatusOr<v1::CheckpointMetadata> ReadMetadataFile(const std::string& dir) {
  const std::string path = (fs::path(dir) / kMetadataFile).string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("checkpoint metadata ", path, " is missing"));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < kHeaderSize || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError(absl::StrCat("checkpoint metadata ", path,
                                            " is corrupt: bad header (", data.size(), " bytes)"));
  }
  uint32_t crc = 0;
  uint64_t len = 0;
  for (int i = 0; i < 4; ++i) crc |= static_cast<uint32_t>(static_cast<uint8_t>(data[8 + i])) << (8 * i);
  for (int i = 0; i < 8; ++i) len |= static_cast<uint64_t>(static_cast<uint8_t>(data[12 + i])) << (8 * i);
  if (len != data.size() - kHeaderSize) {
    return absl::DataLossError(absl::StrCat("checkpoint metadata ", path, " is corrupt: length ",
                                            len, " but ", data.size() - kHeaderSize,
                                            " payload bytes"));
  }
  const uint32_t actual = Crc32c(data.data() + kHeaderSize, len);
  if (actual != crc) {
    return absl::DataLossError(absl::StrCat("checkpoint metadata ", path,
                                            " is corrupt: CRC32C mismatch"));
  }
  v1::CheckpointMetadata m;
  if (!m.ParseFromArray(data.data() + kHeaderSize, static_cast<int>(len))) {
    return absl::DataLossError(absl::StrCat("checkpoint metadata ", path, " does not parse"));
  }
  return m;
}

absl::StatusOr<CompletedCheckpoint> LoadCheckpoint(const std::string& dir) {
  absl::StatusOr<v1::CheckpointMetadata> m = ReadMetadataFile(dir);
  if (!m.ok()) return m.status();
  CompletedCheckpoint c;
  c.dir = fs::path(dir).lexically_normal().string();
  while (c.dir.size() > 1 && c.dir.back() == '/') c.dir.pop_back();
  c.base_dir = m->savepoint() ? c.dir : fs::path(c.dir).parent_path().string();
  c.metadata = *std::move(m);
  if (absl::Status s = CheckFiles(c.base_dir, c.metadata); !s.ok()) return s;
  return c;
}

absl::StatusOr<std::unique_ptr<CheckpointStorage>> CheckpointStorage::Create(
    const std::string& root, const std::string& job_id, bool link_files) {
  if (root.empty()) return absl::InvalidArgumentError("checkpoint directory is empty");
  if (job_id.empty() || absl::StrContains(job_id, "/") || job_id == "." || job_id == "..") {
    return absl::InvalidArgumentError(absl::StrCat("job id '", job_id, "' is not a directory name"));
  }
  const std::string job_dir = (fs::path(root) / job_id).lexically_normal().string();
  std::error_code ec;
  fs::create_directories(fs::path(job_dir) / kSharedDir, ec);
  if (ec) return FsError("cannot create checkpoint directory", job_dir, ec);
  return std::unique_ptr<CheckpointStorage>(new CheckpointStorage(job_id, job_dir, link_files));
}

std::string CheckpointStorage::CheckpointDir(int64_t id) const {
  return (fs::path(job_dir_) / absl::StrCat("chk-", id)).string();
}

absl::Status CheckpointStorage::UploadKeyedState(int64_t id, int32_t vertex, int32_t subtask,
                                                 const std::string& backend_uuid,
                                                 const std::string& staging_dir,
                                                 std::vector<v1::StateFile>* files,
                                                 uint64_t* uploaded_bytes) const {
  const std::string subtask_name = absl::StrCat(vertex, "-", subtask);
  const std::string private_rel = absl::StrCat("chk-", id, "/", subtask_name);
  std::error_code ec;
  fs::create_directories(fs::path(job_dir_) / private_rel, ec);
  if (ec) return FsError("cannot create", private_rel, ec);
  std::vector<fs::path> entries;
  for (const fs::directory_entry& e : fs::directory_iterator(staging_dir, ec)) {
    if (e.is_regular_file()) entries.push_back(e.path());
  }
  if (ec) return FsError("cannot list staged snapshot", staging_dir, ec);
  std::sort(entries.begin(), entries.end());
  for (const fs::path& p : entries) {
    const std::string name = p.filename().string();
    const uint64_t size = fs::file_size(p, ec);
    if (ec) return FsError("cannot stat", p.string(), ec);
    v1::StateFile f;
    f.set_local_name(name);
    f.set_size(size);
    if (absl::EndsWith(name, ".sst")) {
      const std::string rel =
          absl::StrCat(kSharedDir, "/", subtask_name, "-", backend_uuid, "-", name);
      f.set_path(rel);
      f.set_shared(true);
      const fs::path target = fs::path(job_dir_) / rel;
      std::error_code ec2;
      const uint64_t existing = fs::file_size(target, ec2);
      if (ec2 || existing != size) {
        absl::StatusOr<uint64_t> n = PlaceFile(p.string(), target.string(), link_files_);
        if (!n.ok()) return n.status();
        if (uploaded_bytes != nullptr) *uploaded_bytes += size;
      }
    } else {
      const std::string rel = absl::StrCat(private_rel, "/", name);
      f.set_path(rel);
      absl::StatusOr<uint64_t> n =
          PlaceFile(p.string(), (fs::path(job_dir_) / rel).string(), link_files_);
      if (!n.ok()) return n.status();
      if (uploaded_bytes != nullptr) *uploaded_bytes += size;
    }
    files->push_back(std::move(f));
  }
  return absl::OkStatus();
}

absl::Status CheckpointStorage::CommitCheckpoint(const v1::CheckpointMetadata& metadata) const {
  return WriteMetadataFile(CheckpointDir(metadata.checkpoint_id()), metadata);
}

absl::Status CheckpointStorage::DiscardCheckpoint(int64_t id) const {
  std::error_code ec;
  fs::remove_all(CheckpointDir(id), ec);
  if (ec) return FsError("cannot remove", CheckpointDir(id), ec);
  return absl::OkStatus();
}

std::vector<int64_t> CheckpointStorage::ListCheckpointIds() const {
  std::vector<int64_t> ids;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(job_dir_, ec)) {
    int64_t id = 0;
    if (e.is_directory() && ParseChkId(e.path().filename().string(), &id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::Status CheckpointStorage::Prune(int retained) const {
  if (retained < 1) retained = 1;
  const std::vector<int64_t> ids = ListCheckpointIds();
  std::vector<std::pair<int64_t, v1::CheckpointMetadata>> valid;
  std::vector<int64_t> invalid;
  for (int64_t id : ids) {
    absl::StatusOr<v1::CheckpointMetadata> m = ReadMetadataFile(CheckpointDir(id));
    if (m.ok()) {
      valid.emplace_back(id, *std::move(m));
    } else {
      invalid.push_back(id);
    }
  }
  absl::Status first;
  auto remove = [&](int64_t id) {
    absl::Status s = DiscardCheckpoint(id);
    if (first.ok() && !s.ok()) first = s;
  };
  const size_t keep_from = valid.size() > static_cast<size_t>(retained) ? valid.size() - retained : 0;
  for (size_t i = 0; i < keep_from; ++i) remove(valid[i].first);
  // Directories without valid metadata older than the newest kept checkpoint are aborted
  // or partial; newer ones may still be in flight.
  const int64_t newest = valid.empty() ? -1 : valid.back().first;
  for (int64_t id : invalid) {
    if (id < newest) remove(id);
  }
  absl::flat_hash_set<std::string> referenced;
  for (size_t i = keep_from; i < valid.size(); ++i) {
    for (const v1::TaskCheckpointAck& t : valid[i].second.tasks()) {
      for (const v1::OperatorSnapshot& op : t.operators()) {
        for (const v1::StateFile& f : op.keyed_state()) {
          if (f.shared()) referenced.insert(fs::path(f.path()).filename().string());
        }
      }
    }
  }
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(fs::path(job_dir_) / kSharedDir, ec)) {
    const std::string name = e.path().filename().string();
    if (absl::StrContains(name, ".tmp-")) continue;  // an upload in progress
    if (!referenced.contains(name)) {
      std::error_code rm;
      fs::remove(e.path(), rm);
      if (rm && first.ok()) first = FsError("cannot remove", e.path().string(), rm);
    }
  }
  return first;
}

std::optional<CompletedCheckpoint> CheckpointStorage::LoadLatest(
    std::vector<std::string>* errors, int64_t min_id) const {
  std::vector<int64_t> ids = ListCheckpointIds();
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    if (*it < min_id) break;
    absl::StatusOr<CompletedCheckpoint> c = LoadCheckpoint(CheckpointDir(*it));
    if (c.ok()) return *std::move(c);
    const std::string msg =
        absl::StrCat("checkpoint ", *it, " is not usable, falling back to an older one: ",
                     c.status().message());
    std::cerr << "cdcflow: " << msg << std::endl;
    if (errors != nullptr) errors->push_back(msg);
  }
  return std::nullopt;
}

absl::StatusOr<CompletedCheckpoint> CheckpointStorage::ExportSavepoint(
    const CompletedCheckpoint& checkpoint, const std::string& target_dir) {
  std::error_code ec;
  if (fs::exists(fs::path(target_dir) / kMetadataFile, ec)) {
    return absl::AlreadyExistsError(absl::StrCat("savepoint directory ", target_dir,
                                                 " already holds a savepoint"));
  }
  fs::create_directories(target_dir, ec);
  if (ec) return FsError("cannot create savepoint directory", target_dir, ec);
  v1::CheckpointMetadata m = checkpoint.metadata;
  m.set_savepoint(true);
  for (v1::TaskCheckpointAck& t : *m.mutable_tasks()) {
    for (v1::OperatorSnapshot& op : *t.mutable_operators()) {
      const std::string sub = absl::StrCat(op.vertex_id(), "-", op.subtask_index());
      fs::create_directories(fs::path(target_dir) / sub, ec);
      if (ec) return FsError("cannot create", (fs::path(target_dir) / sub).string(), ec);
      for (v1::StateFile& f : *op.mutable_keyed_state()) {
        const std::string rel = absl::StrCat(sub, "/", f.local_name());
        absl::StatusOr<uint64_t> n =
            PlaceFile((fs::path(checkpoint.base_dir) / f.path()).string(),
                      (fs::path(target_dir) / rel).string(), /*link=*/true);
        if (!n.ok()) return n.status();
        f.set_path(rel);
        f.set_shared(false);
      }
    }
  }
  if (absl::Status s = WriteMetadataFile(target_dir, m); !s.ok()) return s;
  return LoadCheckpoint(target_dir);
}

absl::Status MaterializeKeyedState(const std::string& base_dir,
                                   const v1::OperatorSnapshot& snapshot,
                                   const std::string& target_dir) {
  std::error_code ec;
  fs::create_directories(target_dir, ec);
  if (ec) return FsError("cannot create", target_dir, ec);
  for (const v1::StateFile& f : snapshot.keyed_state()) {
    if (f.local_name().empty() || absl::StrContains(f.local_name(), "/")) {
      return absl::DataLossError(absl::StrCat("state file ", f.path(), " has a bad local name '",
                                              f.local_name(), "'"));
    }
    const std::string from = (fs::path(base_dir) / f.path()).string();
    absl::StatusOr<uint64_t> n =
        PlaceFile(from, (fs::path(target_dir) / f.local_name()).string(), /*link=*/true);
    if (!n.ok()) {
      return absl::Status(n.status().code() == absl::StatusCode::kNotFound
                              ? absl::StatusCode::kDataLoss
                              : n.status().code(),
                          absl::StrCat("cannot restore state file ", from, ": ",
                                       n.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace cdcflow::checkpoint
