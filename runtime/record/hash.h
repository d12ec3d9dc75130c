#pragma once
// XXH64 (Yann Collet's xxHash, 64-bit variant), written out here because its output
// is part of cdcflow's persistent contract: key groups are derived from it, so state
// written by one release must land in the same key group in the next. Never change
// this function's output.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cdcflow::record {

uint64_t XxHash64(const void* data, size_t size, uint64_t seed = 0);
inline uint64_t XxHash64(std::string_view data, uint64_t seed = 0) {
  return XxHash64(data.data(), data.size(), seed);
}

}  // namespace cdcflow::record
