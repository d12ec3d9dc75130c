#pragma once
// Child processes for cross-process tests: start a command with its output in a log
// file, signal it, wait for it. The destructor stops a process still running (SIGTERM,
// then SIGKILL), so a failing test leaves nothing behind.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cdcflow::testing {

class Subprocess {
 public:
  // Starts argv[0] with stdout and stderr appended to `log_path`.
  static absl::StatusOr<Subprocess> Start(const std::vector<std::string>& argv,
                                          const std::string& log_path);
  Subprocess() = default;
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // The exit code (128 + signal when killed by one), or DEADLINE_EXCEEDED.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // SIGTERM, a grace period, then SIGKILL.
  void Stop();

 private:
  pid_t pid_ = -1;
};

// Reads a whole file ("" when missing).
std::string ReadFileOrEmpty(const std::string& path);
// Polls until `path` exists and holds a newline-terminated integer; returns it.
absl::StatusOr<int> WaitForPortFile(const std::string& path, absl::Duration timeout);
// A fresh directory under $TMPDIR (or /tmp).
std::string MakeTempDir(const std::string& prefix);

}  // namespace cdcflow::testing
