#include "jobmanager/job_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "proto/cluster_log.h"

namespace cdcflow::jobmanager {
namespace {

namespace fs = std::filesystem;

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return ErrnoError("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("cannot fsync", path);
  return absl::OkStatus();
}

absl::Status WriteAndSync(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return ErrnoError("cannot create", path);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status s = ErrnoError("cannot write", path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = ErrnoError("cannot fsync", path);
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return ErrnoError("cannot close", path);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  return ss.str();
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  absl::Status s = WriteAndSync(tmp, data);
  if (!s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("cannot rename to", path);
  return FsyncPath(fs::path(path).parent_path().string(), true);
}

std::string JobStore::JobDir(const JobId& id) const { return root_ + "/" + id.value(); }

absl::Status JobStore::SaveJob(const JobId& id, const v1::SubmitJobRequest& request) {
  const std::string dir = JobDir(id);
  const std::string final_dir = dir + "/job";
  const std::string tmp_dir = dir + "/job.tmp";
  std::error_code ec;
  fs::remove_all(tmp_dir, ec);
  fs::create_directories(tmp_dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create ", tmp_dir, ": ", ec.message()));
  }
  v1::SubmitJobRequest options = request;
  options.clear_plugin();
  std::string args;
  for (const std::string& a : request.job().args()) absl::StrAppend(&args, a, "\n");
  for (const auto& [name, data] :
       std::vector<std::pair<std::string, std::string>>{
           {"plugin.so", request.plugin()},
           {"args", args},
           {"submit.pb", options.SerializeAsString()},
           {"job_spec.pb", request.job().SerializeAsString()}}) {
    absl::Status s = WriteAndSync(tmp_dir + "/" + name, data);
    if (!s.ok()) return s;
  }
  absl::Status s = FsyncPath(tmp_dir, true);
  if (!s.ok()) return s;
  fs::remove_all(final_dir, ec);
  if (::rename(tmp_dir.c_str(), final_dir.c_str()) != 0) {
    return ErrnoError("cannot rename to", final_dir);
  }
  return FsyncPath(dir, true);
}

absl::Status JobStore::SaveStatus(const JobId& id, v1::JobState state, int attempt) {
  return WriteFileAtomically(JobDir(id) + "/status",
                             absl::StrCat(v1::JobState_Name(state), " ", attempt, "\n"));
}

absl::StatusOr<std::vector<JobStore::StoredJob>> JobStore::LoadJobs(
    std::vector<std::string>* errors) const {
  std::vector<StoredJob> jobs;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return jobs;
  fs::directory_iterator it(root_, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot list the checkpoint directory ", root_, ": ",
                                            ec.message()));
  }
  auto skip = [&](const std::string& why) {
    CDCFLOW_CLOG(WARNING) << "job store: " << why;
    if (errors != nullptr) errors->push_back(why);
  };
  for (const fs::directory_entry& entry : it) {
    if (!entry.is_directory()) continue;
    const std::string job_dir = entry.path().string();
    if (!fs::exists(job_dir + "/job")) continue;  // not a job, or job/ never completed
    StoredJob job;
    job.id = JobId(entry.path().filename().string());
    auto submit = ReadFile(job_dir + "/job/submit.pb");
    if (!submit.ok()) {
      skip(std::string(submit.status().message()));
      continue;
    }
    if (!job.request.ParseFromString(*submit)) {
      skip(absl::StrCat(job_dir, "/job/submit.pb does not parse as cdcflow.v1.SubmitJobRequest"));
      continue;
    }
    auto plugin = ReadFile(job_dir + "/job/plugin.so");
    if (!plugin.ok()) {
      skip(std::string(plugin.status().message()));
      continue;
    }
    if (Sha256Hex(*plugin) != job.request.job().plugin_sha256()) {
      skip(absl::StrCat(job_dir, "/job/plugin.so does not match the job's plugin SHA-256 ",
                        job.request.job().plugin_sha256()));
      continue;
    }
    job.request.set_plugin(std::move(*plugin));
    auto status = ReadFile(job_dir + "/status");
    if (status.ok()) {
      std::vector<std::string> parts =
          absl::StrSplit(absl::StripAsciiWhitespace(*status), ' ', absl::SkipEmpty());
      v1::JobState state;
      int attempt = -1;
      if (parts.size() != 2 || !v1::JobState_Parse(parts[0], &state) ||
          !absl::SimpleAtoi(parts[1], &attempt)) {
        skip(absl::StrCat(job_dir, "/status is malformed: '", *status, "'"));
        continue;
      }
      job.state = state;
      job.attempt = attempt;
    } else {
      job.state = v1::JOB_STATE_CREATED;  // saved, never deployed
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace cdcflow::jobmanager
