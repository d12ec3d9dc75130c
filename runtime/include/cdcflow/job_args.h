#pragma once
// Job arguments: the `key=value` strings given after `--` on `cdcflow run`.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cdcflow/export.h"

namespace cdcflow {

// An immutable map of job arguments. The same arguments reach the plugin's build
// function in every process, so a job graph built from them is the same everywhere.
// Thread-safe for concurrent reads.
class CDCFLOW_API JobArgs {
 public:
  JobArgs() = default;
  // Parses "key=value" strings. A string without '=' or with an empty key is refused
  // (kInvalidArgument naming it); a repeated key keeps the last value.
  static absl::StatusOr<JobArgs> Parse(const std::vector<std::string>& args);

  bool Has(std::string_view key) const;
  // The value of `key`, or `fallback` when absent.
  std::string Get(std::string_view key, std::string_view fallback = "") const;
  // Integer/boolean values; a present value that does not parse is kInvalidArgument.
  absl::StatusOr<int64_t> GetInt(std::string_view key, int64_t fallback) const;
  absl::StatusOr<bool> GetBool(std::string_view key, bool fallback) const;

  const std::map<std::string, std::string, std::less<>>& values() const { return values_; }
  // Back to "key=value" strings, sorted by key (what travels to other processes).
  std::vector<std::string> ToStrings() const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace cdcflow
