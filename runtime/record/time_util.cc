#include "runtime/record/time_util.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace cdcflow::record {

// Howard Hinnant's civil-calendar algorithms (public domain), widened to int64.
int64_t DaysFromCivil(int64_t year, int month, int day) {
  const int64_t y = year - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return CivilDate{yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

bool IsLeapYear(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[month - 1];
}

Timestamp TimestampFromEpochMillis(int64_t millis) {
  return Timestamp{FloorDiv(millis, 1000), static_cast<int32_t>(FloorMod(millis, 1000) * 1'000'000)};
}
Timestamp TimestampFromEpochMicros(int64_t micros) {
  return Timestamp{FloorDiv(micros, 1'000'000),
                   static_cast<int32_t>(FloorMod(micros, 1'000'000) * 1000)};
}
Timestamp TimestampFromEpochNanos(int64_t nanos) {
  return Timestamp{FloorDiv(nanos, kNanosPerSecond),
                   static_cast<int32_t>(FloorMod(nanos, kNanosPerSecond))};
}

namespace {

// A cursor over the text being parsed; every failure names the whole text.
class Cursor {
 public:
  Cursor(std::string_view text, std::string_view what) : text_(text), what_(what) {}

  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  size_t pos() const { return pos_; }
  std::string_view rest() const { return text_.substr(pos_); }
  bool Consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // Exactly `n` digits.
  bool Digits(int n, int64_t* value) {
    int64_t v = 0;
    for (int i = 0; i < n; ++i) {
      char c = peek();
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
      ++pos_;
    }
    *value = v;
    return true;
  }
  // Between min and max digits, greedily; returns the count read (0 on failure).
  int DigitsRange(int min, int max, int64_t* value) {
    int64_t v = 0;
    int n = 0;
    while (n < max) {
      char c = peek();
      if (c < '0' || c > '9') break;
      v = v * 10 + (c - '0');
      ++pos_;
      ++n;
    }
    if (n < min) return 0;
    *value = v;
    return n;
  }
  absl::Status Error(std::string_view expected) const {
    // (Debian's absl has its own string_view: spell the conversions out.)
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ", absl::string_view(what_.data(), what_.size()), " '",
        absl::string_view(text_.data(), text_.size()), "': expected ",
        absl::string_view(expected.data(), expected.size()), " at character ", pos_));
  }

 private:
  std::string_view text_;
  std::string_view what_;
  size_t pos_ = 0;
};

absl::StatusOr<int64_t> ParseDate(Cursor& c) {
  bool negative = false;
  bool signed_year = false;
  if (c.Consume('-')) {
    negative = true;
    signed_year = true;
  } else if (c.Consume('+')) {
    signed_year = true;
  }
  int64_t year = 0;
  int n = c.DigitsRange(4, 9, &year);
  if (n == 0) return c.Error("a year of at least four digits");
  if (n > 4 && !signed_year) return c.Error("a sign before a year of more than four digits");
  if (negative) year = -year;
  int64_t month = 0, day = 0;
  if (!c.Consume('-') || !c.Digits(2, &month)) return c.Error("-MM");
  if (month < 1 || month > 12) return c.Error("a month 01..12");
  if (!c.Consume('-') || !c.Digits(2, &day)) return c.Error("-DD");
  if (day < 1 || day > DaysInMonth(year, static_cast<int>(month))) {
    return c.Error("a day that exists in that month");
  }
  return DaysFromCivil(year, static_cast<int>(month), static_cast<int>(day));
}

absl::StatusOr<int64_t> ParseTime(Cursor& c) {
  int64_t h = 0, m = 0, s = 0, frac = 0;
  if (!c.Digits(2, &h) || h > 23) return c.Error("an hour 00..23");
  if (!c.Consume(':') || !c.Digits(2, &m) || m > 59) return c.Error(":MM (00..59)");
  if (c.Consume(':')) {
    if (!c.Digits(2, &s) || s > 59) return c.Error("seconds 00..59");
    if (c.Consume('.') || c.Consume(',')) {
      int n = c.DigitsRange(1, 9, &frac);
      if (n == 0) return c.Error("1 to 9 fractional digits");
      for (int i = n; i < 9; ++i) frac *= 10;
      if (c.peek() >= '0' && c.peek() <= '9') return c.Error("at most 9 fractional digits");
    }
  }
  return ((h * 60 + m) * 60 + s) * kNanosPerSecond + frac;
}

absl::StatusOr<int32_t> ParseOffset(Cursor& c) {
  if (c.Consume('Z') || c.Consume('z')) return 0;
  int sign = 0;
  if (c.Consume('+')) {
    sign = 1;
  } else if (c.Consume('-')) {
    sign = -1;
  } else {
    return c.Error("an offset (Z, +HH:MM or -HH:MM)");
  }
  int64_t h = 0, m = 0, s = 0;
  if (!c.Digits(2, &h)) return c.Error("offset hours HH");
  if (c.Consume(':')) {
    if (!c.Digits(2, &m)) return c.Error("offset minutes MM");
    if (c.Consume(':') && !c.Digits(2, &s)) return c.Error("offset seconds SS");
  } else if (!c.done()) {
    if (!c.Digits(2, &m)) return c.Error("offset minutes MM");
    if (!c.done() && !c.Digits(2, &s)) return c.Error("offset seconds SS");
  }
  if (m > 59 || s > 59) return c.Error("offset minutes and seconds 00..59");
  const int64_t total = h * 3600 + m * 60 + s;
  if (total > kMaxOffsetSeconds) return c.Error("an offset within +-18:00");
  return static_cast<int32_t>(sign * total);
}

absl::Status ExpectEnd(const Cursor& c) {
  if (!c.done()) return c.Error("the end of the text");
  return absl::OkStatus();
}

// Shared by the local and offset date-time forms.
absl::StatusOr<Timestamp> ParseLocalDateTime(Cursor& c) {
  absl::StatusOr<int64_t> days = ParseDate(c);
  if (!days.ok()) return days.status();
  if (!c.Consume('T') && !c.Consume('t') && !c.Consume(' ')) return c.Error("'T'");
  absl::StatusOr<int64_t> nanos = ParseTime(c);
  if (!nanos.ok()) return nanos.status();
  return Timestamp{*days * kSecondsPerDay + *nanos / kNanosPerSecond,
                   static_cast<int32_t>(*nanos % kNanosPerSecond)};
}

}  // namespace

absl::StatusOr<int32_t> ParseIsoDate(std::string_view text) {
  Cursor c(text, "date");
  absl::StatusOr<int64_t> days = ParseDate(c);
  if (!days.ok()) return days.status();
  if (absl::Status s = ExpectEnd(c); !s.ok()) return s;
  if (*days < INT32_MIN || *days > INT32_MAX) return c.Error("a date within +-5.8 million years");
  return static_cast<int32_t>(*days);
}

absl::StatusOr<int64_t> ParseIsoTime(std::string_view text) {
  Cursor c(text, "time");
  absl::StatusOr<int64_t> nanos = ParseTime(c);
  if (!nanos.ok()) return nanos.status();
  if (absl::Status s = ExpectEnd(c); !s.ok()) return s;
  return *nanos;
}

absl::StatusOr<int32_t> ParseIsoOffset(std::string_view text) {
  Cursor c(text, "UTC offset");
  absl::StatusOr<int32_t> offset = ParseOffset(c);
  if (!offset.ok()) return offset.status();
  if (absl::Status s = ExpectEnd(c); !s.ok()) return s;
  return *offset;
}

absl::StatusOr<TimestampTz> ParseIsoOffsetDateTime(std::string_view text) {
  Cursor c(text, "timestamp with offset");
  absl::StatusOr<Timestamp> local = ParseLocalDateTime(c);
  if (!local.ok()) return local.status();
  absl::StatusOr<int32_t> offset = ParseOffset(c);
  if (!offset.ok()) return offset.status();
  if (absl::Status s = ExpectEnd(c); !s.ok()) return s;
  return TimestampTz{local->seconds - *offset, local->nanos, *offset};
}

absl::StatusOr<Timestamp> ParseIsoLocalDateTime(std::string_view text) {
  Cursor c(text, "timestamp");
  absl::StatusOr<Timestamp> local = ParseLocalDateTime(c);
  if (!local.ok()) return local.status();
  if (absl::Status s = ExpectEnd(c); !s.ok()) return s;
  return *local;
}

absl::StatusOr<TimeTz> ParseIsoOffsetTime(std::string_view text) {
  Cursor c(text, "time with offset");
  absl::StatusOr<int64_t> nanos = ParseTime(c);
  if (!nanos.ok()) return nanos.status();
  absl::StatusOr<int32_t> offset = ParseOffset(c);
  if (!offset.ok()) return offset.status();
  if (absl::Status s = ExpectEnd(c); !s.ok()) return s;
  return TimeTz{*nanos, *offset};
}

namespace {

void AppendPadded(int64_t v, int width, std::string* out) {
  char buf[24];
  int n = 0;
  uint64_t u = static_cast<uint64_t>(v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  for (int i = n; i < width; ++i) out->push_back('0');
  while (n > 0) out->push_back(buf[--n]);
}

void AppendHms(int64_t secs, std::string* out) {
  AppendPadded(secs / 3600, 2, out);
  out->push_back(':');
  AppendPadded(secs / 60 % 60, 2, out);
  out->push_back(':');
  AppendPadded(secs % 60, 2, out);
}

}  // namespace

void AppendIsoDate(int64_t days, std::string* out) {
  const CivilDate d = CivilFromDays(days);
  if (d.year < 0) {
    out->push_back('-');
    AppendPadded(-d.year, 4, out);
  } else {
    if (d.year > 9999) out->push_back('+');
    AppendPadded(d.year, 4, out);
  }
  out->push_back('-');
  AppendPadded(d.month, 2, out);
  out->push_back('-');
  AppendPadded(d.day, 2, out);
}

void AppendTimeNanos9(int64_t nanos_of_day, std::string* out) {
  nanos_of_day = FloorMod(nanos_of_day, kNanosPerDay);
  AppendHms(nanos_of_day / kNanosPerSecond, out);
  out->push_back('.');
  AppendPadded(nanos_of_day % kNanosPerSecond, 9, out);
}

void AppendTimeTrimmed(int64_t nanos_of_day, std::string* out) {
  nanos_of_day = FloorMod(nanos_of_day, kNanosPerDay);
  AppendHms(nanos_of_day / kNanosPerSecond, out);
  int64_t frac = nanos_of_day % kNanosPerSecond;
  if (frac == 0) return;
  int digits = 9;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  out->push_back('.');
  AppendPadded(frac, digits, out);
}

void AppendOffset(int32_t offset_seconds, std::string* out) {
  if (offset_seconds == 0) {
    out->push_back('Z');
    return;
  }
  out->push_back(offset_seconds < 0 ? '-' : '+');
  const int64_t abs = offset_seconds < 0 ? -static_cast<int64_t>(offset_seconds) : offset_seconds;
  AppendPadded(abs / 3600, 2, out);
  out->push_back(':');
  AppendPadded(abs / 60 % 60, 2, out);
  if (abs % 60 != 0) {
    out->push_back(':');
    AppendPadded(abs % 60, 2, out);
  }
}

}  // namespace cdcflow::record
