#include "connectors/debezium/logical_types.h"

#include <vector>

#include "gtest/gtest.h"

namespace cdcflow::debezium {
namespace {

TEST(Base64Test, DecodesAndRejects) {
  std::string out;
  EXPECT_TRUE(Base64Decode("BOI=", &out));
  EXPECT_EQ(out, std::string("\x04\xE2", 2));
  EXPECT_TRUE(Base64Decode("", &out));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(Base64Decode("AA==", &out));
  EXPECT_EQ(out, std::string(1, '\0'));
  EXPECT_FALSE(Base64Decode("AA=", &out));    // length
  EXPECT_FALSE(Base64Decode("A===", &out));   // too much padding
  EXPECT_FALSE(Base64Decode("AA=A", &out));   // data after padding
  EXPECT_FALSE(Base64Decode("AA==AAAA", &out));
  EXPECT_FALSE(Base64Decode("AB$=", &out));   // alphabet
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x80", 3)}) {
    EXPECT_TRUE(Base64Decode(Base64Encode(s), &out));
    EXPECT_EQ(out, s);
  }
}

TEST(CivilTest, DaysFromCivil) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1999, 12, 31), 10956);
  EXPECT_EQ(DaysFromCivil(1969, 7, 20), -165);
  EXPECT_EQ(DaysFromCivil(2026, 1, 15), 20468);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
}

TEST(TimestampTest, FromUnitsFloorsNegatives) {
  EXPECT_EQ(TimestampFromUnits(-100, 1'000'000'000), (Timestamp{-1, 999'999'900}));
  EXPECT_EQ(TimestampFromUnits(-1, 1000), (Timestamp{-1, 999'000'000}));
  EXPECT_EQ(TimestampFromUnits(1'500'001, 1'000'000), (Timestamp{1, 500'001'000}));
  EXPECT_EQ(TimestampFromUnits(-1'000'000, 1'000'000), (Timestamp{-1, 0}));
}

TEST(ZonedTest, ParsesDebeziumForms) {
  auto t = ParseZonedTimestamp("2026-11-20T08:15:30.1234567Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds, 1795162530);
  EXPECT_EQ(t->nanos, 123456700);
  EXPECT_EQ(t->offset_seconds, 0);
  t = ParseZonedTimestamp("2026-11-20T10:15:30+02:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds, 1795162530);
  EXPECT_EQ(t->offset_seconds, 7200);
  t = ParseZonedTimestamp("1969-12-31T23:00:00-05:30");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds, -3600 + 5 * 3600 + 1800);
  EXPECT_EQ(t->offset_seconds, -19800);
  t = ParseZonedTimestamp("+10000-01-01T00:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds, DaysFromCivil(10000, 1, 1) * 86400);
  for (const char* bad : {"", "2026-11-20", "2026-11-20T08:15:30", "2026-13-01T00:00:00Z",
                          "2026-02-29T00:00:00Z", "2026-11-20T25:00:00Z",
                          "2026-11-20T08:15:30.1234567890Z", "2026-11-20T08:15:30.Z",
                          "2026-11-20T08:15:30+2", "2026-11-20T08:15:30Zjunk", "infinity"}) {
    EXPECT_FALSE(ParseZonedTimestamp(bad).ok()) << bad;
  }
  auto z = ParseZonedTime("08:15:30.5+01:00");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->nanos, (8 * 3600 + 15 * 60 + 30) * 1'000'000'000LL + 500'000'000);
  EXPECT_EQ(z->offset_seconds, 3600);
  EXPECT_FALSE(ParseZonedTime("08:15:30").ok());
}

TEST(UuidTest, Parses) {
  Uuid u;
  ASSERT_TRUE(ParseUuid("6F9619FF-8B86-D011-B42D-00C04FC964FF", &u));
  EXPECT_EQ(u.bytes[0], 0x6F);
  EXPECT_EQ(u.bytes[15], 0xFF);
  Uuid l;
  ASSERT_TRUE(ParseUuid("6f9619ff-8b86-d011-b42d-00c04fc964ff", &l));
  EXPECT_EQ(u, l);
  EXPECT_FALSE(ParseUuid("6F9619FF8B86-D011-B42D-00C04FC964FF0", &u));
  EXPECT_FALSE(ParseUuid("6F9619FF-8B86-D011-B42D-00C04FC964FG", &u));
}

}  // namespace
}  // namespace cdcflow::debezium
