#pragma once
// Typed column values of cdcflow's record model.
//
// A Value is one column of a changelog row. It keeps the exact value that the
// source produced: decimals at any precision, timestamps to the nanosecond, UUIDs
// as 16 bytes. Values are plain, copyable, movable data with no shared ownership;
// they are not thread-safe to mutate concurrently (like std::string).

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"
#include "cdcflow/export.h"

namespace cdcflow {

// The type of a Value. The numeric order is part of the binary encoding: never
// renumber, only append.
enum class ValueType : uint8_t {
  kNull = 0,
  kBool = 1,
  kInt32 = 2,
  kInt64 = 3,
  kFloat64 = 4,
  kDecimal = 5,
  kString = 6,
  kBytes = 7,
  kDate = 8,         // days since 1970-01-01
  kTime = 9,         // nanoseconds since midnight
  kTimeTz = 10,      // time of day with a UTC offset
  kTimestamp = 11,   // naive (no zone) date and time, nanosecond precision
  kTimestampTz = 12, // an instant with the UTC offset it was written with
  kUuid = 13,
  kJson = 14,        // JSON text, kept as written
  kUnavailable = 15, // a column the source did not send (Debezium's unchanged TOAST placeholder)
};

// "null", "bool", "int32", ... "unavailable" (the enumerator without the k, snake_case).
CDCFLOW_API std::string_view ValueTypeName(ValueType type);

// An exact decimal number: unscaled * 10^-scale. Nothing is rounded.
// The unscaled value lives in an __int128 (the fast path, every value of up to 38
// digits) whenever it fits a signed 128-bit integer, and only otherwise in a
// big-endian magnitude. This form is canonical (a value that fits is always small),
// so equality is field-wise: two decimals are equal when their scale and unscaled
// value are equal (1.10 and 1.1 differ, as in a NUMERIC column with its scale).
class CDCFLOW_API Decimal {
 public:
  Decimal() = default;
  Decimal(const Decimal& other)
      : small_lo_(other.small_lo_), small_hi_(other.small_hi_), scale_(other.scale_),
        negative_(other.negative_),
        big_magnitude_(other.big_magnitude_ ? std::make_unique<std::string>(*other.big_magnitude_)
                                            : nullptr) {}
  Decimal(Decimal&&) noexcept = default;
  Decimal& operator=(const Decimal& other) {
    if (this != &other) *this = Decimal(other);
    return *this;
  }
  Decimal& operator=(Decimal&&) noexcept = default;
  ~Decimal() = default;

  static Decimal FromInt128(__int128 unscaled, int32_t scale);
  // `bytes` is a big-endian two's-complement integer of any length (Kafka
  // Connect's Decimal encoding).
  static Decimal FromTwosComplement(std::string_view bytes, int32_t scale);
  // Parses "-123.4500", "7", "+.5", "5."; exponents ("1e-3"), blanks, NaN and
  // empty text are refused (kInvalidArgument). The scale is the number of digits
  // after the point. Any number of digits.
  static absl::StatusOr<Decimal> Parse(std::string_view text);

  int32_t scale() const { return scale_; }
  bool negative() const { return negative_; }
  // True when the unscaled value fits the __int128 fast path.
  bool is_small() const { return big_magnitude_ == nullptr; }
  // Only valid when is_small().
  __int128 small_unscaled() const {
    return static_cast<__int128>((static_cast<unsigned __int128>(small_hi_) << 64) | small_lo_);
  }
  // The unscaled value as big-endian two's-complement bytes (minimal length).
  std::string ToTwosComplement() const;
  // An upper bound of ToTwosComplement().size(), without computing it.
  size_t twos_complement_size_bound() const {
    return is_small() ? 16 : big_magnitude_->size() + 1;
  }
  // Exact text with exactly scale() digits after the point, e.g. "-0.0100".
  std::string ToString() const;
  // A double approximation, for jobs that want one.
  double ToDouble() const;

  friend bool operator==(const Decimal& a, const Decimal& b) {
    if (a.scale_ != b.scale_ || a.negative_ != b.negative_ || a.small_lo_ != b.small_lo_ ||
        a.small_hi_ != b.small_hi_ || a.is_small() != b.is_small()) {
      return false;
    }
    return a.is_small() || *a.big_magnitude_ == *b.big_magnitude_;
  }

 private:
  // `magnitude` big-endian unsigned, any length (leading zeros allowed); picks the
  // canonical form.
  static Decimal FromSignMagnitude(bool negative, std::string_view magnitude, int32_t scale);

  // The signed unscaled value when is_small(), in two halves: an __int128 member would
  // align the Decimal, and so every Value, to 16 bytes (a Value is 40 bytes, not 80).
  uint64_t small_lo_ = 0;
  uint64_t small_hi_ = 0;
  int32_t scale_ = 0;
  bool negative_ = false;  // the sign in both forms (false for zero)
  // Big-endian unsigned magnitude without leading zero bytes, only for values that
  // do not fit a signed __int128 (then the small value is 0); null otherwise. Behind a
  // pointer: the rare big decimal pays an allocation, every other Value 24 bytes less.
  std::unique_ptr<std::string> big_magnitude_;
};

struct Date {
  int32_t days = 0;  // since 1970-01-01
  friend bool operator==(const Date&, const Date&) = default;
};
struct Time {
  int64_t nanos = 0;  // since midnight
  friend bool operator==(const Time&, const Time&) = default;
};
struct TimeTz {
  int64_t nanos = 0;          // since midnight, local to the offset
  int32_t offset_seconds = 0; // east of UTC
  friend bool operator==(const TimeTz&, const TimeTz&) = default;
};
struct Timestamp {
  int64_t seconds = 0;  // since 1970-01-01T00:00:00 (no zone)
  int32_t nanos = 0;    // 0..999'999'999
  friend bool operator==(const Timestamp&, const Timestamp&) = default;
};
struct TimestampTz {
  int64_t seconds = 0;         // of the instant, since the UTC epoch
  int32_t nanos = 0;           // 0..999'999'999
  int32_t offset_seconds = 0;  // the offset it was written with (Debezium writes UTC: 0)
  friend bool operator==(const TimestampTz&, const TimestampTz&) = default;
};
struct Uuid {
  std::array<uint8_t, 16> bytes{};
  friend bool operator==(const Uuid&, const Uuid&) = default;
};
// Wrappers that keep string-like types apart in the variant.
struct String {
  std::string value;
  friend bool operator==(const String&, const String&) = default;
};
struct Bytes {
  std::string value;
  friend bool operator==(const Bytes&, const Bytes&) = default;
};
struct Json {
  std::string value;
  friend bool operator==(const Json&, const Json&) = default;
};
struct Unavailable {
  friend bool operator==(const Unavailable&, const Unavailable&) = default;
};

// One column value. The variant index equals the ValueType.
class CDCFLOW_API Value {
 public:
  using Storage = std::variant<std::monostate, bool, int32_t, int64_t, double, Decimal, String,
                               Bytes, Date, Time, TimeTz, Timestamp, TimestampTz, Uuid, Json,
                               Unavailable>;

  Value() = default;  // null
  // Constructs the alternative of index I (== its ValueType) in place, e.g.
  // Value(std::in_place_index<6>, String{std::move(text)}) for a string without extra
  // moves. (String, Bytes and Json are aggregates: brace-initialise them, since clang
  // before 16 has no parenthesised aggregate initialisation.)
  template <size_t I, typename... Args>
  explicit Value(std::in_place_index_t<I> index, Args&&... args)
      : storage_(index, std::forward<Args>(args)...) {}
  static Value Null() { return Value(); }
  static Value Bool(bool v) { return Value(std::in_place_index<1>, v); }
  static Value Int32(int32_t v) { return Value(std::in_place_index<2>, v); }
  static Value Int64(int64_t v) { return Value(std::in_place_index<3>, v); }
  static Value Float64(double v) { return Value(std::in_place_index<4>, v); }
  static Value Dec(Decimal v) { return Value(std::in_place_index<5>, std::move(v)); }
  static Value Str(std::string v) { return Value(std::in_place_index<6>, String{std::move(v)}); }
  static Value Bin(std::string v) { return Value(std::in_place_index<7>, Bytes{std::move(v)}); }
  static Value DateOf(Date v) { return Value(std::in_place_index<8>, v); }
  static Value TimeOf(Time v) { return Value(std::in_place_index<9>, v); }
  static Value TimeTzOf(TimeTz v) { return Value(std::in_place_index<10>, v); }
  static Value TimestampOf(Timestamp v) { return Value(std::in_place_index<11>, v); }
  static Value TimestampTzOf(TimestampTz v) { return Value(std::in_place_index<12>, v); }
  static Value UuidOf(Uuid v) { return Value(std::in_place_index<13>, v); }
  static Value JsonOf(std::string v) { return Value(std::in_place_index<14>, Json{std::move(v)}); }
  static Value UnavailableMarker() { return Value(std::in_place_index<15>, Unavailable{}); }

  ValueType type() const { return static_cast<ValueType>(storage_.index()); }
  bool is_null() const { return storage_.index() == 0; }

  // Typed accessors: the caller checks type() first (a mismatch is a programmer error).
  bool as_bool() const { return std::get<1>(storage_); }
  int32_t as_int32() const { return std::get<2>(storage_); }
  int64_t as_int64() const { return std::get<3>(storage_); }
  double as_float64() const { return std::get<4>(storage_); }
  const Decimal& as_decimal() const { return std::get<5>(storage_); }
  const std::string& as_string() const { return std::get<6>(storage_).value; }
  const std::string& as_bytes() const { return std::get<7>(storage_).value; }
  Date as_date() const { return std::get<8>(storage_); }
  Time as_time() const { return std::get<9>(storage_); }
  TimeTz as_time_tz() const { return std::get<10>(storage_); }
  Timestamp as_timestamp() const { return std::get<11>(storage_); }
  TimestampTz as_timestamp_tz() const { return std::get<12>(storage_); }
  const Uuid& as_uuid() const { return std::get<13>(storage_); }
  const std::string& as_json() const { return std::get<14>(storage_).value; }

  const Storage& storage() const { return storage_; }

  // Make this a kString / kBytes / kJson value holding `text`. When the value
  // already is of that type its string buffer is reused (no allocation once the
  // capacity suffices): for decoders that refill the same rows batch after batch.
  void SetString(std::string_view text) { SetText<6, String>(text); }
  void SetBytes(std::string_view bytes) { SetText<7, Bytes>(bytes); }
  void SetJson(std::string_view json) { SetText<14, Json>(json); }

  // The value in the stable text form used by `cdcflow decode` and tests:
  // null, true, 42, 1.5, -0.0100, text as is, bytes as hex (\x0a0b), dates
  // YYYY-MM-DD, times HH:MM:SS.fffffffff, timestamps YYYY-MM-DDTHH:MM:SS.fffffffff,
  // instants in ISO-8601 with offset (Z for UTC), UUID upper-case canonical,
  // JSON as written, and __debezium_unavailable_value for kUnavailable.
  std::string ToString() const;

  friend bool operator==(const Value& a, const Value& b) { return a.storage_ == b.storage_; }

  // A 64-bit hash of the value, stable across processes and releases (used for
  // key-group assignment, so it must never change): XXH64 (seed 0) over a canonical
  // byte form of the value. Equal values hash equally; int32 and int64 holding the
  // same number hash equally too (so join keys of either width meet), as do 0.0
  // and -0.0.
  uint64_t StableHash() const;

 private:
  template <size_t I, typename T>
  void SetText(std::string_view text) {
    if (T* t = std::get_if<I>(&storage_)) {
      t->value.assign(text.data(), text.size());
    } else {
      storage_.template emplace<I>(T{std::string(text)});
    }
  }

  Storage storage_;
};

}  // namespace cdcflow
