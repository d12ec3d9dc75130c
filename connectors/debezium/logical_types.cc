#include "connectors/debezium/logical_types.h"

#include <array>

#include "absl/status/status.h"
#include "connectors/debezium/str_util.h"

namespace cdcflow::debezium {
namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeBase64Table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kBase64Table = MakeBase64Table();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at text[*pos].
bool ReadDigits(std::string_view text, size_t* pos, int n, int64_t* out) {
  if (*pos + n > text.size()) return false;
  int64_t v = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

// HH:MM:SS[.fffffffff] at text[*pos]; nanoseconds since midnight.
bool ReadTimeOfDay(std::string_view text, size_t* pos, int64_t* nanos) {
  int64_t h, m, s;
  if (!ReadDigits(text, pos, 2, &h) || *pos >= text.size() || text[(*pos)++] != ':' ||
      !ReadDigits(text, pos, 2, &m)) {
    return false;
  }
  s = 0;
  // ISO_LOCAL_TIME omits the seconds when they are zero and there is no fraction.
  if (*pos < text.size() && text[*pos] == ':') {
    ++*pos;
    if (!ReadDigits(text, pos, 2, &s)) return false;
  }
  if (h > 23 || m > 59 || s > 59) return false;
  int64_t frac = 0;
  if (*pos < text.size() && text[*pos] == '.') {
    ++*pos;
    int digits = 0;
    while (*pos < text.size() && IsDigit(text[*pos])) {
      if (digits == 9) return false;
      frac = frac * 10 + (text[*pos] - '0');
      ++digits;
      ++*pos;
    }
    if (digits == 0) return false;
    for (int i = digits; i < 9; ++i) frac *= 10;
  }
  *nanos = ((h * 60 + m) * 60 + s) * 1'000'000'000 + frac;
  return true;
}

// Z | +HH:MM | +HH:MM:SS | +HH (the rest of the text); seconds east of UTC.
bool ReadOffset(std::string_view text, size_t pos, int32_t* offset) {
  if (pos >= text.size()) return false;
  if (text[pos] == 'Z' && pos + 1 == text.size()) {
    *offset = 0;
    return true;
  }
  int sign = text[pos] == '+' ? 1 : text[pos] == '-' ? -1 : 0;
  if (sign == 0) return false;
  ++pos;
  int64_t h, m = 0, s = 0;
  if (!ReadDigits(text, &pos, 2, &h)) return false;
  if (pos < text.size()) {
    if (text[pos] == ':') ++pos;
    if (!ReadDigits(text, &pos, 2, &m)) return false;
    if (pos < text.size()) {
      if (text[pos] == ':') ++pos;
      if (!ReadDigits(text, &pos, 2, &s)) return false;
    }
  }
  if (pos != text.size() || h > 18 || m > 59 || s > 59) return false;
  *offset = static_cast<int32_t>(sign * (h * 3600 + m * 60 + s));
  return true;
}

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  if (in.size() % 4 != 0) return false;
  out->reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      if (c == '=') {
        // Padding only in the last quantum, only in its last two places, and
        // nothing but padding after it.
        if (i + 4 != in.size() || j < 2) return false;
        ++pad;
        v[j] = 0;
      } else {
        if (pad) return false;
        v[j] = kBase64Table[static_cast<uint8_t>(c)];
        if (v[j] < 0) return false;
      }
    }
    uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out->push_back(static_cast<char>(n >> 16));
    if (pad < 2) out->push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(n & 0xff));
  }
  return true;
}

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    out += kBase64Alphabet[n >> 18];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += kBase64Alphabet[n & 63];
  }
  if (i < in.size()) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    out += kBase64Alphabet[n >> 18];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kBase64Alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Howard Hinnant's days_from_civil.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

Timestamp TimestampFromUnits(int64_t units, int64_t units_per_second) {
  int64_t seconds = units / units_per_second;
  int64_t rem = units % units_per_second;
  if (rem < 0) {
    rem += units_per_second;
    --seconds;
  }
  return Timestamp{seconds, static_cast<int32_t>(rem * (1'000'000'000 / units_per_second))};
}

absl::StatusOr<TimestampTz> ParseZonedTimestamp(std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        internal::Cat("invalid ZonedTimestamp '", text.substr(0, 64), "'"));
  };
  size_t pos = 0;
  int sign = 1;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    sign = text[pos] == '-' ? -1 : 1;
    ++pos;
  }
  int64_t year = 0;
  int year_digits = 0;
  while (pos < text.size() && IsDigit(text[pos])) {
    if (year_digits == 9) return bad();
    year = year * 10 + (text[pos++] - '0');
    ++year_digits;
  }
  if (year_digits < 4) return bad();
  year *= sign;
  int64_t month, day;
  if (pos >= text.size() || text[pos++] != '-' || !ReadDigits(text, &pos, 2, &month) ||
      pos >= text.size() || text[pos++] != '-' || !ReadDigits(text, &pos, 2, &day) ||
      pos >= text.size() || text[pos++] != 'T') {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return bad();
  int64_t nanos;
  int32_t offset;
  if (!ReadTimeOfDay(text, &pos, &nanos) || !ReadOffset(text, pos, &offset)) return bad();
  int64_t local_seconds = DaysFromCivil(year, month, day) * 86400 + nanos / 1'000'000'000;
  return TimestampTz{local_seconds - offset, static_cast<int32_t>(nanos % 1'000'000'000), offset};
}

absl::StatusOr<TimeTz> ParseZonedTime(std::string_view text) {
  size_t pos = 0;
  int64_t nanos;
  int32_t offset;
  if (!ReadTimeOfDay(text, &pos, &nanos) || !ReadOffset(text, pos, &offset)) {
    return absl::InvalidArgumentError(
        internal::Cat("invalid ZonedTime '", text.substr(0, 64), "'"));
  }
  return TimeTz{nanos, offset};
}

bool ParseUuid(std::string_view text, Uuid* out) {
  if (text.size() != 36) return false;
  size_t j = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    int hi = 0, lo = 0;
    for (int k = 0; k < 2; ++k) {
      char c = text[i + k];
      int v = IsDigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                   : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (v < 0) return false;
      (k == 0 ? hi : lo) = v;
    }
    out->bytes[j++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return true;
}

}  // namespace cdcflow::debezium
