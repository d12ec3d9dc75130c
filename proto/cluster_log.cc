#include "proto/cluster_log.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cdcflow::clog {

Line::Line(std::string_view level) {
  out_ << absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::Now(), absl::UTCTimeZone()) << " "
       << level << " ";
}

Line::~Line() {
  out_ << '\n';
  std::string s = out_.str();
  std::fwrite(s.data(), 1, s.size(), stderr);
}

bool Enabled(std::string_view level) {
  static const bool quiet = std::getenv("CDCFLOW_LOG_QUIET") != nullptr;
  return !quiet || level != "INFO";
}

}  // namespace cdcflow::clog
