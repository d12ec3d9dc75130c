#include "runtime/record/time_util.h"

#include "gtest/gtest.h"

namespace cdcflow::record {
namespace {

TEST(TimeUtilTest, CivilDaysRoundTrip) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2026, 11, 20), 20777);
  EXPECT_EQ(DaysFromCivil(0, 1, 1), -719528);
  EXPECT_EQ(CivilFromDays(-719529), (CivilDate{-1, 12, 31}));
  EXPECT_EQ(CivilFromDays(11016), (CivilDate{2000, 2, 29}));
  for (int64_t days = -3'000'000; days <= 3'000'000; days += 97) {
    const CivilDate d = CivilFromDays(days);
    ASSERT_EQ(DaysFromCivil(d.year, d.month, d.day), days);
    ASSERT_GE(d.day, 1);
    ASSERT_LE(d.day, DaysInMonth(d.year, d.month));
  }
}

TEST(TimeUtilTest, EpochCountsBeforeTheEpochFloor) {
  EXPECT_EQ(TimestampFromEpochMicros(-1), (Timestamp{-1, 999'999'000}));
  EXPECT_EQ(TimestampFromEpochMillis(-1500), (Timestamp{-2, 500'000'000}));
  EXPECT_EQ(TimestampFromEpochNanos(1'500'000'001), (Timestamp{1, 500'000'001}));
  EXPECT_EQ(TimestampFromEpochMicros(0), (Timestamp{0, 0}));
  EXPECT_EQ(TimeFromMicros(1), (Time{1000}));
}

TEST(TimeUtilTest, ParsesIsoForms) {
  EXPECT_EQ(*ParseIsoDate("2026-11-20"), 20777);
  EXPECT_EQ(*ParseIsoDate("1969-12-31"), -1);
  EXPECT_EQ(*ParseIsoDate("+10000-01-01"), DaysFromCivil(10000, 1, 1));
  EXPECT_EQ(*ParseIsoDate("-0001-12-31"), DaysFromCivil(-1, 12, 31));
  EXPECT_EQ(*ParseIsoTime("08:15"), (8 * 3600 + 15 * 60) * kNanosPerSecond);
  EXPECT_EQ(*ParseIsoTime("08:15:30.1234567"), (8 * 3600 + 15 * 60 + 30) * kNanosPerSecond + 123'456'700);
  EXPECT_EQ(*ParseIsoTime("23:59:59.999999999"), kNanosPerDay - 1);
  EXPECT_EQ(*ParseIsoOffset("Z"), 0);
  EXPECT_EQ(*ParseIsoOffset("+02:00"), 7200);
  EXPECT_EQ(*ParseIsoOffset("-0530"), -(5 * 3600 + 30 * 60));
  EXPECT_EQ(*ParseIsoOffset("+05"), 5 * 3600);
  EXPECT_EQ(*ParseIsoOffset("+01:02:03"), 3723);

  const TimestampTz z = *ParseIsoOffsetDateTime("2026-11-20T08:15:30.1234567Z");
  EXPECT_EQ(z, (TimestampTz{20777 * kSecondsPerDay + 8 * 3600 + 15 * 60 + 30, 123'456'700, 0}));
  const TimestampTz plus2 = *ParseIsoOffsetDateTime("2026-11-20T10:15:30.1234567+02:00");
  EXPECT_EQ(plus2.seconds, z.seconds);
  EXPECT_EQ(plus2.offset_seconds, 7200);
  EXPECT_EQ(*ParseIsoOffsetDateTime("1969-12-31 23:59:59.5Z"), (TimestampTz{-1, 500'000'000, 0}));
  EXPECT_EQ(*ParseIsoLocalDateTime("1970-01-02T00:00:00"), (Timestamp{86400, 0}));
  EXPECT_EQ(*ParseIsoOffsetTime("08:15:30.123Z"),
            (TimeTz{(8 * 3600 + 15 * 60 + 30) * kNanosPerSecond + 123'000'000, 0}));
  EXPECT_EQ(*ParseIsoOffsetTime("10:00:00-01:00"), (TimeTz{10 * 3600 * kNanosPerSecond, -3600}));
}

TEST(TimeUtilTest, RefusesMalformedText) {
  for (std::string_view bad : {"", "2026-13-01", "2026-02-29", "2026-1-01", "26-01-01",
                               "10000-01-01", "2026-01-01x", "2026/01/01"}) {
    absl::StatusOr<int32_t> d = ParseIsoDate(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_NE(std::string(d.status().message()).find(bad), std::string::npos);
    }
  }
  for (std::string_view bad : {"24:00", "12:60", "12:00:60", "12:00:00.", "12:00:00.1234567890", "1:00"}) {
    EXPECT_FALSE(ParseIsoTime(bad).ok()) << bad;
  }
  for (std::string_view bad : {"", "UTC", "+19:00", "+02:60", "02:00", "+2"}) {
    EXPECT_FALSE(ParseIsoOffset(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseIsoOffsetDateTime("2026-11-20T08:15:30").ok());
  EXPECT_FALSE(ParseIsoOffsetDateTime("2026-11-20T08:15:30ZZ").ok());
  EXPECT_FALSE(ParseIsoLocalDateTime("2026-11-20T08:15:30Z").ok());
}

TEST(TimeUtilTest, TextForms) {
  std::string s;
  AppendIsoDate(0, &s);
  EXPECT_EQ(s, "1970-01-01");
  s.clear();
  AppendIsoDate(DaysFromCivil(10000, 1, 1), &s);
  EXPECT_EQ(s, "+10000-01-01");
  s.clear();
  AppendIsoDate(DaysFromCivil(-1, 12, 31), &s);
  EXPECT_EQ(s, "-0001-12-31");
  s.clear();
  AppendIsoDate(DaysFromCivil(0, 1, 1), &s);
  EXPECT_EQ(s, "0000-01-01");
  s.clear();
  AppendTimeTrimmed(30 * kNanosPerSecond + 100'000'000, &s);
  EXPECT_EQ(s, "00:00:30.1");
  s.clear();
  AppendTimeNanos9(kNanosPerDay - 1, &s);
  EXPECT_EQ(s, "23:59:59.999999999");
  s.clear();
  AppendOffset(-(5 * 3600 + 30 * 60), &s);
  EXPECT_EQ(s, "-05:30");
  s.clear();
  AppendOffset(3723, &s);
  EXPECT_EQ(s, "+01:02:03");
}

}  // namespace
}  // namespace cdcflow::record
