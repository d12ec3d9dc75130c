// The stdout and file sinks declared in cdcflow/job.h.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cdcflow/job.h"
#include "cdcflow/sink.h"
#include "cdcflow/source.h"

namespace cdcflow {

SourceFunction::~SourceFunction() = default;
SinkFunction::~SinkFunction() = default;

namespace {

std::mutex& StdoutMutex() {
  static std::mutex mu;
  return mu;
}

class StdoutSinkFunction final : public SinkFunction {
 public:
  absl::Status Open(RuntimeContext& ctx) override {
    if (ctx.parallelism() > 1) prefix_ = absl::StrCat(ctx.subtask_index() + 1, "> ");
    return absl::OkStatus();
  }
  absl::Status WriteBatch(RowBatch& batch) override {
    buffer_.clear();
    for (const Row& row : batch.rows()) absl::StrAppend(&buffer_, prefix_, row.ToString(), "\n");
    std::lock_guard<std::mutex> lock(StdoutMutex());
    std::fwrite(buffer_.data(), 1, buffer_.size(), stdout);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> PrepareCommit(int64_t) override {
    std::lock_guard<std::mutex> lock(StdoutMutex());
    std::fflush(stdout);
    return std::string();
  }
  absl::Status Finish() override {
    std::lock_guard<std::mutex> lock(StdoutMutex());
    std::fflush(stdout);
    return absl::OkStatus();
  }

 private:
  std::string prefix_;
  std::string buffer_;
};

// Staged file sink. Files of subtask S in the directory:
//   .part-S.inprogress     rows since the last PrepareCommit (invisible)
//   .part-S-NNNNNN.pending rows of a pre-committed checkpoint, closed + fsynced (invisible)
//   part-S-NNNNNN          committed (visible), NNNNNN = the subtask's commit sequence
//   part-S                 everything, for a run that never checkpointed (renamed at Finish)
// PrepareCommit(n) turns the in-progress file into a pending one, Commit(n) renames the
// pending ones of checkpoints <= n into part files (+ directory fsync). RestoreState
// commits the pending files its checkpoint lists, deletes the subtask's other staged
// files and the part files committed after that checkpoint (a restore from an older
// checkpoint must not duplicate them). A fresh start (no RestoreState before the first
// write) deletes every file of the subtask, as before staging existed.
class FileSinkFunction final : public SinkFunction {
 public:
  explicit FileSinkFunction(std::string directory) : directory_(std::move(directory)) {}
  ~FileSinkFunction() override { CloseFd(); }

  absl::Status Open(RuntimeContext& ctx) override {
    if (directory_.empty()) return absl::InvalidArgumentError("file sink: no directory given");
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("file sink: cannot create directory ", directory_, ": ", ec.message()));
    }
    subtask_ = ctx.subtask_index();
    parallelism_ = ctx.parallelism();
    return absl::OkStatus();
  }

  absl::Status WriteBatch(RowBatch& batch) override {
    if (absl::Status s = EnsureStarted(); !s.ok()) return s;
    for (const Row& row : batch.rows()) absl::StrAppend(&buffer_, row.ToString(), "\n");
    if (buffer_.size() >= (1 << 20)) return WriteBuffer();
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> PrepareCommit(int64_t checkpoint_id) override {
    if (absl::Status s = EnsureStarted(); !s.ok()) return s;
    checkpointed_ = true;
    if (fd_ >= 0 || !buffer_.empty()) {
      if (absl::Status s = CloseInProgress(); !s.ok()) return s;
      int64_t seq = next_seq_++;
      std::string pending = PendingPath(subtask_, seq);
      if (std::rename(InProgressPath().c_str(), pending.c_str()) != 0) {
        return Errno(absl::StrCat("rename to ", pending));
      }
      pending_.push_back(Pending{checkpoint_id, seq});
    }
    std::string state = absl::StrCat("cdcflow-file-sink 1 ", subtask_, " ", parallelism_, " ",
                                     next_seq_, " ", pending_.size());
    for (const Pending& p : pending_) absl::StrAppend(&state, " ", p.checkpoint_id, " ", p.seq);
    return state;
  }

  absl::Status Commit(int64_t checkpoint_id) override {
    while (!pending_.empty() && pending_.front().checkpoint_id <= checkpoint_id) {
      if (absl::Status s = Publish(subtask_, pending_.front().seq); !s.ok()) return s;
      pending_.erase(pending_.begin());
    }
    return SyncDirectory();
  }

  absl::Status RestoreState(std::string_view state) override {
    if (started_) return absl::FailedPreconditionError("file sink: RestoreState after writes");
    std::vector<absl::string_view> f =
        absl::StrSplit(absl::string_view(state.data(), state.size()), ' ', absl::SkipEmpty());
    int old_subtask = 0, old_p = 0;
    int64_t next = 0;
    size_t count = 0;
    bool ok = f.size() >= 6 && f[0] == "cdcflow-file-sink" && f[1] == "1" &&
              absl::SimpleAtoi(f[2], &old_subtask) && absl::SimpleAtoi(f[3], &old_p) &&
              absl::SimpleAtoi(f[4], &next) && absl::SimpleAtoi(f[5], &count) &&
              f.size() == 6 + 2 * count && old_p > 0 && old_subtask >= 0 && old_subtask < old_p;
    std::vector<Pending> pending;
    for (size_t i = 0; ok && i < count; ++i) {
      Pending p;
      ok = absl::SimpleAtoi(f[6 + 2 * i], &p.checkpoint_id) &&
           absl::SimpleAtoi(f[7 + 2 * i], &p.seq);
      pending.push_back(p);
    }
    if (!ok) {
      return absl::DataLossError(absl::StrCat("file sink ", directory_,
                                              ": unreadable checkpoint state '",
                                              absl::string_view(state.data(), std::min<size_t>(state.size(), 200)), "'"));
    }
    restored_ = true;
    checkpointed_ = true;
    if (old_subtask % parallelism_ != subtask_) return absl::OkStatus();  // its owner does it
    // The checkpoint is complete: its pending files are committed data.
    for (const Pending& p : pending) {
      if (absl::Status s = Publish(old_subtask, p.seq); !s.ok()) return s;
    }
    if (absl::Status s = RemoveFiles(old_subtask, next); !s.ok()) return s;
    if (old_subtask == subtask_) next_seq_ = std::max(next_seq_, next);
    return SyncDirectory();
  }

  absl::Status Finish() override {
    if (absl::Status s = EnsureStarted(); !s.ok()) return s;
    if (!checkpointed_) {
      // Never checkpointed: one visible file, as before staging existed.
      if (absl::Status s = CloseInProgress(); !s.ok()) return s;
      std::string path = PartPath(subtask_);
      if (std::rename(InProgressPath().c_str(), path.c_str()) != 0) {
        return Errno(absl::StrCat("rename to ", path));
      }
      return SyncDirectory();
    }
    auto state = PrepareCommit(std::numeric_limits<int64_t>::max());
    if (!state.ok()) return state.status();
    return Commit(std::numeric_limits<int64_t>::max());
  }

  absl::Status Close() override {
    CloseFd();  // an unfinished in-progress file stays invisible; a restart deletes it
    return absl::OkStatus();
  }

 private:
  struct Pending {
    int64_t checkpoint_id = 0;
    int64_t seq = 0;
  };

  std::string InProgressPath() const {
    return absl::StrCat(directory_, "/.part-", subtask_, ".inprogress");
  }
  std::string PendingPath(int subtask, int64_t seq) const {
    return absl::StrCat(directory_, "/.part-", subtask, "-", absl::Dec(seq, absl::kZeroPad6),
                        ".pending");
  }
  std::string CommittedPath(int subtask, int64_t seq) const {
    return absl::StrCat(directory_, "/part-", subtask, "-", absl::Dec(seq, absl::kZeroPad6));
  }
  std::string PartPath(int subtask) const { return absl::StrCat(directory_, "/part-", subtask); }

  absl::Status Errno(absl::string_view what) const {
    return absl::UnavailableError(
        absl::StrCat("file sink ", directory_, ": ", what, ": ", std::strerror(errno)));
  }

  // First write/commit: a fresh start deletes the subtask's files of an earlier run.
  absl::Status EnsureStarted() {
    if (started_) return absl::OkStatus();
    if (!restored_) {
      if (absl::Status s = RemoveFiles(subtask_, 0); !s.ok()) return s;
    }
    started_ = true;
    return absl::OkStatus();
  }

  // Deletes subtask `subtask`'s staged files, part-S, and part-S-NNNNNN with NNNNNN >= from_seq.
  absl::Status RemoveFiles(int subtask, int64_t from_seq) {
    const std::string staged = absl::StrCat(".part-", subtask, ".inprogress");
    const std::string pending_prefix = absl::StrCat(".part-", subtask, "-");
    const std::string part = absl::StrCat("part-", subtask);
    const std::string part_prefix = part + "-";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
      std::string name = entry.path().filename().string();
      bool remove = name == staged || name == part ||
                    (absl::StartsWith(name, pending_prefix) && absl::EndsWith(name, ".pending"));
      int64_t seq = 0;
      if (absl::StartsWith(name, part_prefix) &&
          absl::SimpleAtoi(name.substr(part_prefix.size()), &seq) && seq >= from_seq) {
        remove = true;
      }
      if (remove && std::remove(entry.path().c_str()) != 0) {
        return Errno(absl::StrCat("remove ", entry.path().string()));
      }
    }
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("file sink: cannot list ", directory_, ": ", ec.message()));
    }
    return absl::OkStatus();
  }

  absl::Status Publish(int subtask, int64_t seq) {
    std::string from = PendingPath(subtask, seq);
    std::string to = CommittedPath(subtask, seq);
    if (std::rename(from.c_str(), to.c_str()) == 0) return absl::OkStatus();
    // Already renamed (a commit before the crash, or a repeated restore)?
    if (errno == ENOENT && std::filesystem::exists(to)) return absl::OkStatus();
    return Errno(absl::StrCat("commit ", from, " -> ", to));
  }

  absl::Status WriteBuffer() {
    if (fd_ < 0) {
      std::string path = InProgressPath();
      fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd_ < 0) return Errno(absl::StrCat("open ", path));
    }
    size_t done = 0;
    while (done < buffer_.size()) {
      ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno(absl::StrCat("write ", InProgressPath()));
      done += static_cast<size_t>(n);
    }
    buffer_.clear();
    return absl::OkStatus();
  }

  // Writes what is buffered, fsyncs and closes the in-progress file (created empty
  // if nothing was written, so that Finish always leaves a part file).
  absl::Status CloseInProgress() {
    if (absl::Status s = WriteBuffer(); !s.ok()) return s;
    if (::fsync(fd_) != 0) return Errno(absl::StrCat("fsync ", InProgressPath()));
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Errno(absl::StrCat("close ", InProgressPath()));
    return absl::OkStatus();
  }

  void CloseFd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  absl::Status SyncDirectory() {
    int fd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("open directory");
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return Errno("fsync directory");
    return absl::OkStatus();
  }

  std::string directory_;
  int subtask_ = 0;
  int parallelism_ = 1;
  int fd_ = -1;
  std::string buffer_;
  bool started_ = false;
  bool restored_ = false;
  bool checkpointed_ = false;
  int64_t next_seq_ = 1;
  std::vector<Pending> pending_;
};

}  // namespace

SinkFactory StdoutSink() {
  return []() -> std::unique_ptr<SinkFunction> { return std::make_unique<StdoutSinkFunction>(); };
}

SinkFactory FileSink(std::string directory) {
  return [directory]() -> std::unique_ptr<SinkFunction> {
    return std::make_unique<FileSinkFunction>(directory);
  };
}

}  // namespace cdcflow
