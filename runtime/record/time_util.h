#pragma once
// Civil calendar and ISO-8601 helpers shared by the record model (text forms) and the
// decoders (Debezium's Date, MicroTimestamp, ZonedTimestamp, ZonedTime ...). Internal:
// not part of the SDK. All functions are pure and thread-safe. The calendar is the
// proleptic Gregorian one (as java.time uses), for any year representable in int64 days.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "cdcflow/value.h"

namespace cdcflow::record {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;
inline constexpr int64_t kSecondsPerDay = 86'400;
inline constexpr int64_t kNanosPerDay = kSecondsPerDay * kNanosPerSecond;
// java.time's ZoneOffset range.
inline constexpr int32_t kMaxOffsetSeconds = 18 * 3600;

struct CivilDate {
  int64_t year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  friend bool operator==(const CivilDate&, const CivilDate&) = default;
};

// Days since 1970-01-01 of a valid civil date (negative before the epoch).
int64_t DaysFromCivil(int64_t year, int month, int day);
CivilDate CivilFromDays(int64_t days);
bool IsLeapYear(int64_t year);
int DaysInMonth(int64_t year, int month);

// Floor division and modulo (the remainder has the divisor's sign), for splitting
// epoch counts before 1970 into (seconds, nanos) with 0 <= nanos < 1e9.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
inline int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

// Kafka Connect / Debezium epoch encodings into the record model's types.
Timestamp TimestampFromEpochMillis(int64_t millis);
Timestamp TimestampFromEpochMicros(int64_t micros);
Timestamp TimestampFromEpochNanos(int64_t nanos);
// Time of day from a count since midnight; values outside one day are refused by
// the callers that care (Debezium never sends them).
inline Time TimeFromMillis(int64_t millis) { return Time{millis * 1'000'000}; }
inline Time TimeFromMicros(int64_t micros) { return Time{micros * 1'000}; }

// ISO-8601 parsing (the forms java.time prints and Debezium sends). Errors are
// kInvalidArgument naming the text and what was expected.
//   date:   [+-]YYYY-MM-DD (years beyond 9999 need a sign, as in java.time)
//   time:   HH:MM[:SS[.f{1,9}]]
//   offset: Z | +HH | +HH:MM | +HHMM | +HH:MM:SS (also '-')
absl::StatusOr<int32_t> ParseIsoDate(std::string_view text);          // -> days since epoch
absl::StatusOr<int64_t> ParseIsoTime(std::string_view text);          // -> nanos of day
absl::StatusOr<int32_t> ParseIsoOffset(std::string_view text);        // -> seconds east of UTC
// "2026-11-20T08:15:30.1234567Z", "2026-11-20T10:15:30+02:00" (a space may replace T).
absl::StatusOr<TimestampTz> ParseIsoOffsetDateTime(std::string_view text);
// "2026-11-20T08:15:30.123" (no offset).
absl::StatusOr<Timestamp> ParseIsoLocalDateTime(std::string_view text);
// "08:15:30.123Z", "10:15:30+02:00".
absl::StatusOr<TimeTz> ParseIsoOffsetTime(std::string_view text);

// Text forms (appending to *out).
void AppendIsoDate(int64_t days, std::string* out);  // YYYY-MM-DD, +YYYYY / -YYYY outside 0..9999
// HH:MM:SS.fffffffff (always nine fractional digits).
void AppendTimeNanos9(int64_t nanos_of_day, std::string* out);
// HH:MM:SS[.f...] with trailing fractional zeros trimmed (java.time's ISO formatters).
void AppendTimeTrimmed(int64_t nanos_of_day, std::string* out);
// Z | +HH:MM | +HH:MM:SS
void AppendOffset(int32_t offset_seconds, std::string* out);

}  // namespace cdcflow::record
