#pragma once
// Exact conversions of Debezium / Kafka Connect wire encodings to cdcflow values:
// strict base64, civil dates, ISO-8601 zoned timestamps and times. All functions
// are pure and thread-safe. They return a short reason on bad input; the caller
// prefixes the field path.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "cdcflow/value.h"

namespace cdcflow::debezium {

// Decodes standard base64 (RFC 4648, '+' '/', '=' padding required as Kafka
// Connect's JsonConverter writes it) into `out` (cleared first). False on any
// character outside the alphabet, bad padding or a length not a multiple of 4.
bool Base64Decode(std::string_view in, std::string* out);
// The inverse, used by tests and the test encoder.
std::string Base64Encode(std::string_view in);

// Days since 1970-01-01 of a proleptic Gregorian date (any year).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

// Splits a count of `units_per_second` units since the epoch into floor seconds
// and a non-negative nanosecond remainder. `units_per_second` is 1000, 1e6 or 1e9.
Timestamp TimestampFromUnits(int64_t units, int64_t units_per_second);

// Parses io.debezium.time.ZonedTimestamp text as Debezium writes it
// (ISO_OFFSET_DATE_TIME): `[+-]YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM[:SS])`.
// The result keeps the written offset; `seconds` is the UTC instant.
absl::StatusOr<TimestampTz> ParseZonedTimestamp(std::string_view text);
// Parses io.debezium.time.ZonedTime text: `HH:MM:SS[.f{1,9}](Z|+HH:MM[:SS])`.
absl::StatusOr<TimeTz> ParseZonedTime(std::string_view text);
// Parses a canonical 36-character UUID (either case).
bool ParseUuid(std::string_view text, Uuid* out);

}  // namespace cdcflow::debezium
