#include "cdcflow/job_args.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cdcflow {

absl::StatusOr<JobArgs> JobArgs::Parse(const std::vector<std::string>& args) {
  JobArgs result;
  for (const std::string& arg : args) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("job argument '", arg, "' is not of the form key=value"));
    }
    result.values_[arg.substr(0, eq)] = arg.substr(eq + 1);
  }
  return result;
}

bool JobArgs::Has(std::string_view key) const { return values_.find(key) != values_.end(); }

std::string JobArgs::Get(std::string_view key, std::string_view fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::string(fallback) : it->second;
}

absl::StatusOr<int64_t> JobArgs::GetInt(std::string_view key, int64_t fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  int64_t v;
  if (!absl::SimpleAtoi(it->second, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("job argument ", std::string(key), "='", it->second, "' is not an integer"));
  }
  return v;
}

absl::StatusOr<bool> JobArgs::GetBool(std::string_view key, bool fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  bool v;
  if (!absl::SimpleAtob(it->second, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("job argument ", std::string(key), "='", it->second, "' is not a boolean"));
  }
  return v;
}

std::vector<std::string> JobArgs::ToStrings() const {
  std::vector<std::string> out;
  out.reserve(values_.size());
  for (const auto& [k, v] : values_) out.push_back(absl::StrCat(k, "=", v));
  return out;
}

}  // namespace cdcflow
