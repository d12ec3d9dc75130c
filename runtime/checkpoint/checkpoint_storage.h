#pragma once
// The checkpoint storage: a directory (local disk or a shared volume), laid out as in
// CHECKPOINT_DESIGN.md §1:
//
//   <root>/<job_id>/chk-<id>/_metadata          written last, atomically, CRC32C-checked
//   <root>/<job_id>/chk-<id>/<vertex>-<subtask>/ private files of one subtask's snapshot
//   <root>/<job_id>/shared/<vertex>-<subtask>-<backend uuid>-<sst>   incremental SSTs
//
// Savepoints are self-contained directories (ExportSavepoint) with the same _metadata.
//
// _metadata file format: "CDCFCKP1" (8 bytes), CRC32C of the payload (u32 little
// endian), payload length (u64 little endian), payload (a serialized
// v1::CheckpointMetadata).
//
// Thread-safety: every method is safe to call concurrently (uploads from several
// uploader threads, metadata from the coordinator); files are written to a temporary
// name and renamed, so readers never see partial files. Several processes may share
// one root (task managers upload, the job manager writes metadata): only the
// coordinator of a job prunes that job's directory.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/checkpoint.pb.h"

namespace cdcflow::checkpoint {

inline constexpr char kMetadataFile[] = "_metadata";
inline constexpr char kSharedDir[] = "shared";

// A checkpoint or savepoint that can be restored: its metadata and the directory its
// StateFile paths are relative to.
struct CompletedCheckpoint {
  v1::CheckpointMetadata metadata;
  std::string base_dir;  // <root>/<job_id> for a checkpoint, the savepoint dir for a savepoint
  std::string dir;       // the directory holding _metadata
  int64_t id() const { return metadata.checkpoint_id(); }
};

// CRC32C (Castagnoli), as used by RocksDB, iSCSI and ext4.
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);

// Writes `metadata` as `dir`/_metadata: temporary file, fsync, rename, fsync of `dir`.
absl::Status WriteMetadataFile(const std::string& dir, const v1::CheckpointMetadata& metadata);
// Reads and checks (magic, length, CRC32C, parse) `dir`/_metadata. Errors name the file:
// kNotFound when missing, kDataLoss when corrupt.
absl::StatusOr<v1::CheckpointMetadata> ReadMetadataFile(const std::string& dir);

// Loads a checkpoint or savepoint directory (the one holding _metadata) and checks that
// every file it references exists with its recorded size; errors name the file.
absl::StatusOr<CompletedCheckpoint> LoadCheckpoint(const std::string& dir);

class CheckpointStorage {
 public:
  // `root`/`job_id` is created when missing. `link_files`: upload by hard link when the
  // staged file is on the same file system (the staged files are immutable); false
  // always copies (benchmarks of a remote volume, storage on a separate disk).
  static absl::StatusOr<std::unique_ptr<CheckpointStorage>> Create(const std::string& root,
                                                                   const std::string& job_id,
                                                                   bool link_files = true);

  const std::string& job_id() const { return job_id_; }
  const std::string& job_dir() const { return job_dir_; }  // <root>/<job_id>
  std::string CheckpointDir(int64_t id) const;             // <job_dir>/chk-<id>

  // Uploads the files of one subtask's keyed-state snapshot (a RocksDB checkpoint or an
  // in-memory snapshot directory, `staging_dir`): *.sst files go to shared/ under
  // <vertex>-<subtask>-<backend_uuid>-<name> unless a file of that name and size is
  // already there (incremental), every other file to chk-<id>/<vertex>-<subtask>/.
  // Appends one StateFile per file to `files`; `uploaded_bytes` counts the bytes
  // actually copied. Hard links are used when the staging dir is on the same file
  // system (the staged files are immutable), otherwise copies.
  absl::Status UploadKeyedState(int64_t id, int32_t vertex, int32_t subtask,
                                const std::string& backend_uuid, const std::string& staging_dir,
                                std::vector<v1::StateFile>* files, uint64_t* uploaded_bytes) const;

  // Writes chk-<id>/_metadata (atomically). The checkpoint exists from then on.
  absl::Status CommitCheckpoint(const v1::CheckpointMetadata& metadata) const;
  // Removes chk-<id> (an aborted checkpoint's partial uploads). Shared files it uploaded
  // go with the next Prune.
  absl::Status DiscardCheckpoint(int64_t id) const;
  // Keeps the newest `retained` completed checkpoints (valid _metadata), deletes older
  // chk dirs and every shared file that no retained checkpoint references. Call only
  // while no checkpoint of this job is being uploaded (the coordinator does, on
  // completion with max one concurrent checkpoint).
  absl::Status Prune(int retained) const;

  // Ids of the chk-<id> directories present (valid or not), ascending.
  std::vector<int64_t> ListCheckpointIds() const;
  // The newest checkpoint that loads and validates (LoadCheckpoint); older ones are
  // tried when a newer one is corrupt or incomplete, each failure appended to `errors`
  // (and logged to stderr) with the file it names. nullopt when none is usable.
  // Checkpoints with ids below `min_id` are not considered.
  std::optional<CompletedCheckpoint> LoadLatest(std::vector<std::string>* errors = nullptr,
                                                int64_t min_id = 0) const;

  // Copies checkpoint `checkpoint` into `target_dir` (created; must be empty or missing)
  // as a self-contained savepoint: every file under <vertex>-<subtask>/, then _metadata
  // with savepoint = true. Returns the savepoint as loaded from `target_dir`.
  static absl::StatusOr<CompletedCheckpoint> ExportSavepoint(const CompletedCheckpoint& checkpoint,
                                                             const std::string& target_dir);

 private:
  CheckpointStorage(std::string job_id, std::string job_dir, bool link_files)
      : job_id_(std::move(job_id)), job_dir_(std::move(job_dir)), link_files_(link_files) {}
  std::string job_id_;
  std::string job_dir_;
  bool link_files_;
};

// Recreates a RocksDB/in-memory snapshot directory from `snapshot`'s keyed_state files
// (relative to `base_dir`) in `target_dir` (created; hard links when possible, copies
// otherwise), ready for KeyedStateBackend::Restore.
absl::Status MaterializeKeyedState(const std::string& base_dir, const v1::OperatorSnapshot& snapshot,
                                   const std::string& target_dir);

}  // namespace cdcflow::checkpoint
