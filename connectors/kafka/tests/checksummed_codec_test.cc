#include "connectors/kafka/checksummed_codec.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cdcflow::kafka::codec {
namespace {

TEST(ChecksummedCodecTest, Crc32IsTheIeeeChecksum) {
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // the standard check value
}

TEST(ChecksummedCodecTest, ReaderReadsWhatPutWrote) {
  std::string out;
  Put<uint8_t>(&out, 0xAB);
  Put<int32_t>(&out, -2);
  Put<int64_t>(&out, int64_t{1} << 40);
  PutString(&out, "topic");
  out.append("xyz");
  EXPECT_EQ(out.substr(0, 5), std::string("\xAB\xFE\xFF\xFF\xFF", 5)) << "little endian";

  Reader r(out, "test state");
  uint8_t a = 0;
  int32_t b = 0;
  int64_t c = 0;
  std::string s;
  std::string_view bytes;
  ASSERT_TRUE(r.Get("a", &a).ok());
  ASSERT_TRUE(r.Get("b", &b).ok());
  ASSERT_TRUE(r.Get("c", &c).ok());
  ASSERT_TRUE(r.String("s", &s).ok());
  EXPECT_FALSE(r.done());
  ASSERT_TRUE(r.Bytes("tail", 3, &bytes).ok());
  EXPECT_EQ(a, 0xAB);
  EXPECT_EQ(b, -2);
  EXPECT_EQ(c, int64_t{1} << 40);
  EXPECT_EQ(s, "topic");
  EXPECT_EQ(bytes, "xyz");
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.pos(), out.size());
}

TEST(ChecksummedCodecTest, RunningOutOfDataNamesTheFormatFieldAndByte) {
  std::string out;
  PutString(&out, "abcdef");
  out.resize(out.size() - 2);
  Reader r(out, "test state");
  std::string s;
  absl::Status status = r.String("topic", &s);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(), "test state: truncated at byte 4 reading topic");

  Reader empty("", "test state");
  int32_t v = 0;
  EXPECT_THAT(empty.Get("count", &v).message(),
              ::testing::HasSubstr("truncated at byte 0 reading count"));
}

}  // namespace
}  // namespace cdcflow::kafka::codec
