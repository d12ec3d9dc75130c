#include <cmath>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "cdcflow/value.h"
#include "gtest/gtest.h"

namespace cdcflow {
namespace {

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }
std::string Unhex(const std::string& hex) { return absl::HexStringToBytes(hex); }

Decimal MustParse(std::string_view text) {
  absl::StatusOr<Decimal> d = Decimal::Parse(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status();
  return d.ok() ? *d : Decimal();
}

// Random digits with a non-zero first digit.
std::string RandomDigits(std::mt19937_64& rng, size_t n) {
  std::string s;
  s.push_back(static_cast<char>('1' + rng() % 9));
  while (s.size() < n) s.push_back(static_cast<char>('0' + rng() % 10));
  return s;
}

TEST(DecimalTest, ParsePrintsBackExactly) {
  for (std::string_view text :
       {"0", "1", "-1", "7", "-123.4500", "-0.0100", "0.00", "1.250", "99999999999999999999",
        "12345678901234567890123456789012345678", "-12345678901234567890123456789012345678",
        "0.000000000000000000000000000000000000000001"}) {
    EXPECT_EQ(MustParse(text).ToString(), text);
  }
}

TEST(DecimalTest, ParseNormalizesSignAndLeadingZeros) {
  EXPECT_EQ(MustParse("+5").ToString(), "5");
  EXPECT_EQ(MustParse("-0.00").ToString(), "0.00");
  EXPECT_FALSE(MustParse("-0.00").negative());
  EXPECT_EQ(MustParse("007.10").ToString(), "7.10");
  EXPECT_EQ(MustParse(".5").ToString(), "0.5");
  EXPECT_EQ(MustParse("5.").ToString(), "5");
  EXPECT_EQ(MustParse("5.").scale(), 0);
  EXPECT_EQ(MustParse("-0.0100").scale(), 4);
  EXPECT_EQ(MustParse("-0.0100").small_unscaled(), -100);
}

TEST(DecimalTest, ParseRefusesWhatIsNotADecimal) {
  for (std::string_view text : {"", "-", "+", ".", "1e3", "1E-3", " 1", "1 ", "1.2.3", "abc",
                                "NaN", "--1", "1-", "0x10", "1,5"}) {
    absl::StatusOr<Decimal> d = Decimal::Parse(text);
    EXPECT_FALSE(d.ok()) << "accepted '" << text << "'";
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(std::string(d.status().message()).find("invalid decimal"), std::string::npos);
    }
  }
}

TEST(DecimalTest, EveryScaleFrom0To40RoundTrips) {
  std::mt19937_64 rng(40);
  for (int scale = 0; scale <= 40; ++scale) {
    for (size_t int_digits : {size_t{1}, size_t{5}, size_t{20}, size_t{60}}) {
      for (bool negative : {false, true}) {
        std::string text = negative ? "-" : "";
        text += RandomDigits(rng, int_digits);
        if (scale > 0) text += "." + std::string(1, '0') + RandomDigits(rng, scale).substr(1);
        const Decimal d = MustParse(text);
        EXPECT_EQ(d.scale(), scale);
        EXPECT_EQ(d.negative(), negative);
        EXPECT_EQ(d.ToString(), text);
        const Decimal back = Decimal::FromTwosComplement(d.ToTwosComplement(), scale);
        EXPECT_EQ(back, d) << text;
        EXPECT_EQ(back.ToString(), text);
      }
    }
  }
}

TEST(DecimalTest, ThousandDigitValuesRoundTrip) {
  std::mt19937_64 rng(1000);
  for (int i = 0; i < 20; ++i) {
    std::string text = (i % 2 ? "-" : "") + RandomDigits(rng, 1000);
    if (i % 3 == 0) text.insert(text.size() - 300, ".");
    const Decimal d = MustParse(text);
    EXPECT_FALSE(d.is_small());
    EXPECT_EQ(d.ToString(), text);
    const std::string tc = d.ToTwosComplement();
    EXPECT_GE(tc.size(), 400u);  // 1000 digits need ~416 bytes
    EXPECT_LE(tc.size(), 420u);
    EXPECT_EQ(Decimal::FromTwosComplement(tc, d.scale()), d);
  }
}

TEST(DecimalTest, TwosComplementMatchesJavaBigInteger) {
  struct Case {
    std::string_view text;
    std::string hex;  // java.math.BigInteger.toByteArray()
  };
  for (const Case& c : std::initializer_list<Case>{
           {"0", "00"},
           {"1", "01"},
           {"-1", "ff"},
           {"127", "7f"},
           {"128", "0080"},
           {"-128", "80"},
           {"-129", "ff7f"},
           {"255", "00ff"},
           {"65536", "010000"},
           {"170141183460469231731687303715884105727", "7fffffffffffffffffffffffffffffff"},
           {"-170141183460469231731687303715884105728", "80000000000000000000000000000000"},
           {"170141183460469231731687303715884105728", "0080000000000000000000000000000000"},
           {"-170141183460469231731687303715884105729", "ff7fffffffffffffffffffffffffffffff"},
           {"10000000000000000000000000000000000000000", "1d6329f1c35ca4bfabb9f5610000000000"},
           {"-100000000000000000000000000000000000000000000000007",
            "bb93c4ea066d99782d3bfacb024a9bfffffffffff9"},
       }) {
    const Decimal d = MustParse(c.text);
    EXPECT_EQ(Hex(d.ToTwosComplement()), c.hex) << c.text;
    const Decimal back = Decimal::FromTwosComplement(Unhex(c.hex), 0);
    EXPECT_EQ(back, d) << c.text;
    EXPECT_EQ(back.ToString(), c.text);
  }
}

TEST(DecimalTest, SmallFormIsCanonical) {
  // Fits a signed __int128: small, whatever the input's length.
  EXPECT_TRUE(MustParse("170141183460469231731687303715884105727").is_small());
  EXPECT_TRUE(MustParse("-170141183460469231731687303715884105728").is_small());
  EXPECT_FALSE(MustParse("170141183460469231731687303715884105728").is_small());
  EXPECT_FALSE(MustParse("-170141183460469231731687303715884105729").is_small());
  EXPECT_TRUE(MustParse("0000000000000000000000000000000000000000000000000001.5").is_small());

  const Decimal padded = Decimal::FromTwosComplement(Unhex("0000000000000000000000000000000000000001"), 2);
  EXPECT_TRUE(padded.is_small());
  EXPECT_EQ(padded, Decimal::FromInt128(1, 2));
  const Decimal padded_negative =
      Decimal::FromTwosComplement(Unhex("ffffffffffffffffffffffffffffffffffffffff"), 2);
  EXPECT_TRUE(padded_negative.is_small());
  EXPECT_EQ(padded_negative, Decimal::FromInt128(-1, 2));
  EXPECT_EQ(Decimal::FromTwosComplement("", 3), Decimal::FromInt128(0, 3));

  // A big value reached by either path is the same value.
  const Decimal big = MustParse("-1234567890123456789012345678901234567890.12");
  const Decimal via_bytes = Decimal::FromTwosComplement("\xff" + big.ToTwosComplement(), 2);
  EXPECT_EQ(big, via_bytes);
  EXPECT_NE(big, MustParse("1234567890123456789012345678901234567890.12"));
  // Scale is part of the value.
  EXPECT_NE(MustParse("1.10"), MustParse("1.1"));
}

TEST(DecimalTest, FromInt128Extremes) {
  const __int128 min = static_cast<__int128>(static_cast<unsigned __int128>(1) << 127);
  const Decimal d = Decimal::FromInt128(min, 5);
  EXPECT_EQ(d.ToString(), "-1701411834604692317316873037158841.05728");
  EXPECT_EQ(Decimal::FromInt128(-5, 3).ToString(), "-0.005");
  EXPECT_EQ(Decimal::FromInt128(5, -3).ToString(), "5000");
  EXPECT_EQ(Decimal::FromInt128(0, -3).ToString(), "0");
}

TEST(DecimalTest, ToDouble) {
  EXPECT_EQ(MustParse("1.25").ToDouble(), 1.25);
  EXPECT_EQ(MustParse("-0.1").ToDouble(), -0.1);
  EXPECT_EQ(MustParse("123456789012345678901234567890.5").ToDouble(), 123456789012345678901234567890.5);
  EXPECT_EQ(MustParse("0.0000000000000000000000000000001").ToDouble(), 1e-31);
  EXPECT_EQ(MustParse("1" + std::string(400, '0')).ToDouble(), HUGE_VAL);
  EXPECT_EQ(MustParse("-1" + std::string(400, '0')).ToDouble(), -HUGE_VAL);
  EXPECT_EQ(MustParse("0." + std::string(400, '0') + "1").ToDouble(), 0.0);
  EXPECT_EQ(Decimal::FromInt128(7, -2).ToDouble(), 700.0);
}

TEST(DecimalTest, BigValuesAreDeepCopies) {
  const std::string text = "-1234567890123456789012345678901234567890.12";
  Decimal original = MustParse(text);
  ASSERT_FALSE(original.is_small());
  Decimal copy = original;  // copy construction
  Decimal assigned = MustParse("1.5");
  assigned = original;  // copy assignment over a small value
  Decimal moved = std::move(original);
  original = MustParse("2.25");  // reuse of a moved-from value
  EXPECT_EQ(copy.ToString(), text);
  EXPECT_EQ(assigned.ToString(), text);
  EXPECT_EQ(moved.ToString(), text);
  EXPECT_EQ(original.ToString(), "2.25");
  assigned = MustParse("-7");  // a small value over a big one
  EXPECT_TRUE(assigned.is_small());
  EXPECT_EQ(assigned.ToString(), "-7");
  EXPECT_EQ(copy, moved);
  EXPECT_NE(copy, assigned);
}

TEST(DecimalTest, ValuesStayCompact) {
  // Every column of every row is a Value: a 16-byte aligned Decimal made it 80 bytes.
  EXPECT_LE(sizeof(Decimal), 32u);
  EXPECT_LE(sizeof(Value), 40u);
  EXPECT_EQ(alignof(Value), 8u);
}

}  // namespace
}  // namespace cdcflow
