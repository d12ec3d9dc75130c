// The stdout and file sinks declared in cdcflow/job.h.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>

#include "absl/strings/str_cat.h"
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

class FileSinkFunction final : public SinkFunction {
 public:
  explicit FileSinkFunction(std::string directory) : directory_(std::move(directory)) {}
  absl::Status Open(RuntimeContext& ctx) override {
    if (directory_.empty()) return absl::InvalidArgumentError("file sink: no directory given");
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("file sink: cannot create directory ", directory_, ": ", ec.message()));
    }
    path_ = absl::StrCat(directory_, "/part-", ctx.subtask_index());
    out_.open(path_, std::ios::out | std::ios::trunc | std::ios::binary);
    if (!out_) return absl::UnavailableError(absl::StrCat("file sink: cannot open ", path_));
    return absl::OkStatus();
  }
  absl::Status WriteBatch(RowBatch& batch) override {
    buffer_.clear();
    for (const Row& row : batch.rows()) absl::StrAppend(&buffer_, row.ToString(), "\n");
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    if (!out_) return absl::UnavailableError(absl::StrCat("file sink: write to ", path_, " failed"));
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> PrepareCommit(int64_t) override {
    absl::Status s = FlushFile();
    if (!s.ok()) return s;
    return std::string();
  }
  absl::Status Finish() override { return FlushFile(); }
  absl::Status Close() override {
    if (out_.is_open()) out_.close();
    return absl::OkStatus();
  }

 private:
  absl::Status FlushFile() {
    out_.flush();
    if (!out_) return absl::UnavailableError(absl::StrCat("file sink: flush of ", path_, " failed"));
    return absl::OkStatus();
  }

  std::string directory_;
  std::string path_;
  std::ofstream out_;
  std::string buffer_;
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
