// Decimal: the __int128 fast path and the arbitrary-precision magnitude beyond it.
// The big path uses base-2^32 limbs with schoolbook multiply/divide by small
// numbers, which is plenty for PostgreSQL's numeric (at most ~132k digits; in
// practice tens).
#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cdcflow/value.h"
#include "runtime/record/int128_util.h"

namespace cdcflow {
namespace {

using u128 = unsigned __int128;
using Limbs = std::vector<uint32_t>;  // little-endian, base 2^32

constexpr u128 kInt128Max = (static_cast<u128>(1) << 127) - 1;
constexpr u128 kTenTo19 = 10'000'000'000'000'000'000ULL;

void Trim(Limbs* limbs) {
  while (!limbs->empty() && limbs->back() == 0) limbs->pop_back();
}

Limbs LimbsFromBytes(std::string_view be) {
  Limbs limbs((be.size() + 3) / 4, 0);
  for (size_t i = 0; i < be.size(); ++i) {
    const size_t bit = (be.size() - 1 - i) * 8;
    limbs[bit / 32] |= static_cast<uint32_t>(static_cast<uint8_t>(be[i])) << (bit % 32);
  }
  Trim(&limbs);
  return limbs;
}

std::string BytesFromLimbs(const Limbs& limbs) {
  std::string be;
  be.reserve(limbs.size() * 4);
  for (size_t i = limbs.size(); i-- > 0;) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      be.push_back(static_cast<char>((limbs[i] >> shift) & 0xff));
    }
  }
  size_t first = 0;
  while (first < be.size() && be[first] == 0) ++first;
  return be.substr(first);
}

void MulAdd(Limbs* limbs, uint32_t mul, uint32_t add) {
  uint64_t carry = add;
  for (uint32_t& limb : *limbs) {
    const uint64_t v = static_cast<uint64_t>(limb) * mul + carry;
    limb = static_cast<uint32_t>(v);
    carry = v >> 32;
  }
  if (carry != 0) limbs->push_back(static_cast<uint32_t>(carry));
}

// Divides in place, returns the remainder.
uint32_t DivMod(Limbs* limbs, uint32_t div) {
  uint64_t rem = 0;
  for (size_t i = limbs->size(); i-- > 0;) {
    const uint64_t cur = (rem << 32) | (*limbs)[i];
    (*limbs)[i] = static_cast<uint32_t>(cur / div);
    rem = cur % div;
  }
  Trim(limbs);
  return static_cast<uint32_t>(rem);
}

// Writes the decimal digits of `u` ending at `end`; returns the first digit.
char* U128Digits(u128 u, char* end) {
  char* p = end;
  while (u >= kTenTo19) {
    uint64_t chunk = static_cast<uint64_t>(u % kTenTo19);
    u /= kTenTo19;
    for (int i = 0; i < 19; ++i) {
      *--p = static_cast<char>('0' + chunk % 10);
      chunk /= 10;
    }
  }
  uint64_t rest = static_cast<uint64_t>(u);
  do {
    *--p = static_cast<char>('0' + rest % 10);
    rest /= 10;
  } while (rest != 0);
  return p;
}

std::string FormatUnscaled(bool negative, std::string_view digits, int32_t scale) {
  std::string out;
  out.reserve(digits.size() + (scale > 0 ? scale : -static_cast<int64_t>(scale)) + 3);
  if (negative) out.push_back('-');
  if (scale <= 0) {
    out.append(digits);
    if (digits != "0") out.append(static_cast<size_t>(-static_cast<int64_t>(scale)), '0');
    return out;
  }
  const size_t s = static_cast<size_t>(scale);
  if (digits.size() <= s) {
    out.append("0.");
    out.append(s - digits.size(), '0');
    out.append(digits);
  } else {
    out.append(digits.substr(0, digits.size() - s));
    out.push_back('.');
    out.append(digits.substr(digits.size() - s));
  }
  return out;
}

u128 Magnitude(__int128 v) {
  return v < 0 ? static_cast<u128>(0) - static_cast<u128>(v) : static_cast<u128>(v);
}

absl::Status ParseError(std::string_view text, std::string_view why) {
  std::string message = "invalid decimal '";
  message.append(text).append("': ").append(why);
  return absl::InvalidArgumentError(message);
}

}  // namespace

Decimal Decimal::FromInt128(__int128 unscaled, int32_t scale) {
  Decimal d;
  const auto bits = static_cast<unsigned __int128>(unscaled);
  d.small_lo_ = static_cast<uint64_t>(bits);
  d.small_hi_ = static_cast<uint64_t>(bits >> 64);
  d.scale_ = scale;
  d.negative_ = unscaled < 0;
  return d;
}

Decimal Decimal::FromSignMagnitude(bool negative, std::string_view magnitude, int32_t scale) {
  size_t first = 0;
  while (first < magnitude.size() && magnitude[first] == 0) ++first;
  magnitude.remove_prefix(first);
  if (magnitude.size() <= 16) {
    u128 u = 0;
    for (char c : magnitude) u = (u << 8) | static_cast<uint8_t>(c);
    if (!negative && u <= kInt128Max) return FromInt128(static_cast<__int128>(u), scale);
    if (negative && u <= kInt128Max + 1) {
      return FromInt128(static_cast<__int128>(static_cast<u128>(0) - u), scale);
    }
  }
  Decimal d;
  d.scale_ = scale;
  d.negative_ = negative;
  d.big_magnitude_ = std::make_unique<std::string>(magnitude);
  return d;
}

Decimal Decimal::FromTwosComplement(std::string_view bytes, int32_t scale) {
  if (bytes.empty()) return FromInt128(0, scale);
  const bool negative = (static_cast<uint8_t>(bytes[0]) & 0x80) != 0;
  if (bytes.size() <= 16) {
    return FromInt128(record::Int128FromTwosComplement(bytes.data(), bytes.size()), scale);
  }
  if (!negative) return FromSignMagnitude(false, bytes, scale);
  // magnitude = ~bytes + 1
  std::string mag(bytes.size(), '\0');
  unsigned carry = 1;
  for (size_t i = bytes.size(); i-- > 0;) {
    const unsigned v = static_cast<uint8_t>(~static_cast<uint8_t>(bytes[i])) + carry;
    mag[i] = static_cast<char>(v & 0xff);
    carry = v >> 8;
  }
  return FromSignMagnitude(true, mag, scale);
}

absl::StatusOr<Decimal> Decimal::Parse(std::string_view text) {
  auto error = [text](std::string_view why) { return ParseError(text, why); };
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  const size_t int_begin = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  const std::string_view int_part = text.substr(int_begin, i - int_begin);
  std::string_view frac_part;
  if (i < text.size() && text[i] == '.') {
    const size_t frac_begin = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    frac_part = text.substr(frac_begin, i - frac_begin);
  }
  if (i != text.size()) {
    return error(absl::StrCat("unexpected character at position ", i,
                              " (only [+-]digits[.digits] is accepted)"));
  }
  if (int_part.empty() && frac_part.empty()) return error("no digits");
  if (frac_part.size() > static_cast<size_t>(INT32_MAX)) return error("scale too large");
  const int32_t scale = static_cast<int32_t>(frac_part.size());

  // Significant digits: int_part then frac_part, leading zeros skipped.
  size_t skip = 0;
  const size_t total = int_part.size() + frac_part.size();
  auto digit = [&](size_t k) { return k < int_part.size() ? int_part[k] : frac_part[k - int_part.size()]; };
  while (skip < total && digit(skip) == '0') ++skip;
  const size_t significant = total - skip;
  if (significant == 0) return FromInt128(0, scale);
  if (significant <= 38) {
    u128 u = 0;
    for (size_t k = skip; k < total; ++k) u = u * 10 + static_cast<unsigned>(digit(k) - '0');
    const __int128 v = static_cast<__int128>(u);
    return FromInt128(negative ? -v : v, scale);
  }
  Limbs limbs;
  size_t k = skip;
  size_t chunk = significant % 9;
  if (chunk == 0) chunk = 9;
  while (k < total) {
    uint32_t value = 0;
    uint32_t mul = 1;
    for (size_t j = 0; j < chunk; ++j, ++k) {
      value = value * 10 + static_cast<uint32_t>(digit(k) - '0');
      mul *= 10;
    }
    MulAdd(&limbs, mul, value);
    chunk = 9;
  }
  return FromSignMagnitude(negative, BytesFromLimbs(limbs), scale);
}

std::string Decimal::ToTwosComplement() const {
  if (is_small()) {
    char be[16];
    return std::string(be, record::Int128ToTwosComplement(small_unscaled(), be));
  }
  std::string out;
  out.reserve(big_magnitude_->size() + 1);
  out.push_back('\0');
  out.append(*big_magnitude_);
  if (negative_) {
    unsigned carry = 1;
    for (size_t i = out.size(); i-- > 0;) {
      const unsigned v = static_cast<uint8_t>(~static_cast<uint8_t>(out[i])) + carry;
      out[i] = static_cast<char>(v & 0xff);
      carry = v >> 8;
    }
  }
  // Drop the extra sign byte when the next byte already carries the sign.
  const uint8_t b0 = static_cast<uint8_t>(out[0]);
  const uint8_t b1 = static_cast<uint8_t>(out[1]);
  if ((b0 == 0x00 && !(b1 & 0x80)) || (b0 == 0xff && (b1 & 0x80))) out.erase(0, 1);
  return out;
}

std::string Decimal::ToString() const {
  if (is_small()) {
    char buf[48];
    char* end = buf + sizeof(buf);
    char* begin = U128Digits(Magnitude(small_unscaled()), end);
    return FormatUnscaled(negative_, std::string_view(begin, end - begin), scale_);
  }
  Limbs limbs = LimbsFromBytes(*big_magnitude_);
  std::string reversed;
  reversed.reserve(big_magnitude_->size() * 25 / 10 + 9);
  while (!limbs.empty()) {
    uint32_t chunk = DivMod(&limbs, 1'000'000'000);
    for (int i = 0; i < 9; ++i) {
      reversed.push_back(static_cast<char>('0' + chunk % 10));
      chunk /= 10;
    }
  }
  while (reversed.size() > 1 && reversed.back() == '0') reversed.pop_back();
  std::string digits(reversed.rbegin(), reversed.rend());
  return FormatUnscaled(negative_, digits, scale_);
}

double Decimal::ToDouble() const {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (is_small() && Magnitude(small_unscaled()) <= (static_cast<u128>(1) << 53)) {
    // Both operands are exact doubles, so one correctly rounded operation.
    const double v = static_cast<double>(static_cast<int64_t>(small_unscaled()));
    if (scale_ >= 0 && scale_ <= 22) return v / kPow10[scale_];
    if (scale_ < 0 && scale_ >= -22) return v * kPow10[-scale_];
  }
  const std::string text = ToString();
  double result = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), result);
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves `result` untouched on range errors: saturate like strtod.
    const bool tiny = text[negative_ ? 1 : 0] == '0';  // "0.000...1" underflows
    if (tiny) return negative_ ? -0.0 : 0.0;
    return negative_ ? -HUGE_VAL : HUGE_VAL;
  }
  return result;
}

}  // namespace cdcflow
