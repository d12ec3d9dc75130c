#pragma once
// Minimal line logging for the cluster processes (job manager, task manager): the
// Debian absl has no absl/log. `CDCFLOW_CLOG(INFO) << "..."` writes one line to stderr
// with a UTC timestamp and the level; a line is written with one call, so lines from
// several threads never interleave.

#include <sstream>
#include <string_view>

namespace cdcflow::clog {

class Line {
 public:
  explicit Line(std::string_view level);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  template <typename T>
  Line& operator<<(const T& v) {
    out_ << v;
    return *this;
  }

 private:
  std::ostringstream out_;
};

// Lines below `INFO` are dropped when CDCFLOW_LOG_QUIET is set in the environment.
bool Enabled(std::string_view level);

}  // namespace cdcflow::clog

#define CDCFLOW_CLOG(level) \
  if (!::cdcflow::clog::Enabled(#level)) {} else ::cdcflow::clog::Line(#level)
