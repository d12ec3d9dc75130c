#pragma once
// Minimal big-endian two's-complement bytes of an __int128 (the Decimal fast path),
// without allocating: shared by the row codec and the stable hash.

#include <cstdint>
#include <cstring>

namespace cdcflow::record {

// Writes the minimal big-endian two's-complement form of `v` (1..16 bytes, as
// java.math.BigInteger.toByteArray) to `out`, returns its length.
inline int Int128ToTwosComplement(__int128 v, char* out) {
  char be[16];
  auto u = static_cast<unsigned __int128>(v);
  for (int i = 15; i >= 0; --i) {
    be[i] = static_cast<char>(static_cast<uint8_t>(u));
    u >>= 8;
  }
  int first = 0;
  while (first < 15) {
    const auto b0 = static_cast<uint8_t>(be[first]);
    const auto b1 = static_cast<uint8_t>(be[first + 1]);
    if ((b0 == 0x00 && !(b1 & 0x80)) || (b0 == 0xff && (b1 & 0x80))) {
      ++first;
    } else {
      break;
    }
  }
  const int n = 16 - first;
  std::memcpy(out, be + first, n);
  return n;
}

// Sign-extends 1..16 big-endian two's-complement bytes.
inline __int128 Int128FromTwosComplement(const char* data, size_t size) {
  if (size == 0) return 0;
  unsigned __int128 u = (static_cast<uint8_t>(data[0]) & 0x80) ? ~static_cast<unsigned __int128>(0) : 0;
  for (size_t i = 0; i < size; ++i) u = (u << 8) | static_cast<uint8_t>(data[i]);
  return static_cast<__int128>(u);
}

}  // namespace cdcflow::record
