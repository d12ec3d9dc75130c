#pragma once
// String concatenation that accepts std::string_view. Debian's Abseil
// (20220623) has its own absl::string_view, so absl::StrCat does not take a
// std::string_view argument; the decoder's hot types are std::string_view.

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace cdcflow::debezium::internal {

inline void AppendPiece(std::string* out, std::string_view s) { out->append(s); }
inline void AppendPiece(std::string* out, const char* s) { out->append(s); }
inline void AppendPiece(std::string* out, const std::string& s) { out->append(s); }
#if !defined(ABSL_USES_STD_STRING_VIEW)
inline void AppendPiece(std::string* out, absl::string_view s) { out->append(s.data(), s.size()); }
#endif
template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, char> && !std::is_same_v<T, bool>)
inline void AppendPiece(std::string* out, T v) {
  out->append(std::to_string(v));
}

template <typename... A>
std::string Cat(const A&... pieces) {
  std::string out;
  (AppendPiece(&out, pieces), ...);
  return out;
}

template <typename... A>
void Append(std::string* out, const A&... pieces) {
  (AppendPiece(out, pieces), ...);
}

// absl::string_view -> std::string_view (e.g. Status::message()).
inline std::string_view Sv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace cdcflow::debezium::internal
