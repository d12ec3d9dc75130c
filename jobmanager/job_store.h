#pragma once
// The job manager's durable record of submitted jobs, so a restarted job manager can
// recover the jobs that were running (CHECKPOINT_DESIGN.md section 1):
//
//   <root>/<job_id>/job/job_spec.pb   cdcflow.v1.JobSpec
//   <root>/<job_id>/job/plugin.so     the job's plugin bytes
//   <root>/<job_id>/job/args          the job's arguments, one per line (for people)
//   <root>/<job_id>/job/submit.pb     the SubmitJobRequest without the plugin (options)
//   <root>/<job_id>/status            "<JOB STATE> <attempt>\n", rewritten on changes
//
// job/ is written once, into a temporary directory that is fsynced and renamed, so it
// exists completely or not at all; status is replaced atomically (tmp + fsync + rename).
// The checkpoints of the job (chk-<id>/, shared/) live beside job/ and are written by
// the checkpoint storage, not here.
//
// Thread-compatible (the job manager calls it under its lock).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/common.pb.h"
#include "proto/ids.h"
#include "proto/job_manager.pb.h"

namespace cdcflow::jobmanager {

class JobStore {
 public:
  explicit JobStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  // <root>/<job_id>: where the job's files and checkpoints live.
  std::string JobDir(const JobId& id) const;

  absl::Status SaveJob(const JobId& id, const v1::SubmitJobRequest& request);
  absl::Status SaveStatus(const JobId& id, v1::JobState state, int attempt);

  struct StoredJob {
    JobId id;
    v1::SubmitJobRequest request;  // with the plugin bytes
    v1::JobState state = v1::JOB_STATE_UNSPECIFIED;
    int attempt = -1;  // the last attempt deployed (-1: none)
  };
  // Every job under root whose job/ directory is complete. A job directory that cannot
  // be read is skipped with a warning naming the file (one bad job must not keep the
  // others from recovering); `errors` receives those messages when given.
  absl::StatusOr<std::vector<StoredJob>> LoadJobs(std::vector<std::string>* errors = nullptr) const;

 private:
  std::string root_;
};

// Writes `data` to `path` atomically: `path`.tmp, fsync, rename, fsync of the directory.
absl::Status WriteFileAtomically(const std::string& path, std::string_view data);

}  // namespace cdcflow::jobmanager
