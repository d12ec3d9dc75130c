#include "connectors/kafka/kafka_positions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cdcflow::kafka {
namespace {

KafkaPositions Sample() {
  KafkaPositions p;
  p.Set({"dbserver1.inventory.orders", 0}, 0);
  p.Set({"dbserver1.inventory.orders", 7}, 123456789012345);
  p.Set({"t", 2}, 42);
  return p;
}

TEST(KafkaPositionsTest, RoundTrips) {
  KafkaPositions p = Sample();
  auto back = KafkaPositions::Deserialize(p.Serialize());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, p);
  EXPECT_EQ(back->Get({"t", 2}), 42);
  EXPECT_EQ(back->Get({"t", 3}), -1);
  auto empty = KafkaPositions::Deserialize(KafkaPositions().Serialize());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(KafkaPositionsTest, EveryTruncationIsDataLoss) {
  std::string bytes = Sample().Serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = KafkaPositions::Deserialize(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  }
}

TEST(KafkaPositionsTest, EveryBitFlipIsDetected) {
  std::string bytes = Sample().Serialize();
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string corrupt = bytes;
      corrupt[i] = static_cast<char>(corrupt[i] ^ (1 << bit));
      auto r = KafkaPositions::Deserialize(corrupt);
      ASSERT_FALSE(r.ok()) << "flip at byte " << i << " bit " << bit << " accepted";
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    }
  }
}

TEST(KafkaPositionsTest, NamesTheProblem) {
  std::string bytes = Sample().Serialize();
  EXPECT_THAT(KafkaPositions::Deserialize(std::string("XYZ\x01\0\0\0\0\0\0\0\0", 12)).status().ToString(),
              ::testing::HasSubstr("magic"));
  std::string v2 = bytes;
  v2[3] = 2;
  EXPECT_THAT(KafkaPositions::Deserialize(v2).status().ToString(),
              ::testing::HasSubstr("version 2"));
  EXPECT_THAT(KafkaPositions::Deserialize(bytes + "x").status().ToString(),
              ::testing::HasSubstr("checksum"));
}

TEST(KafkaPositionsTest, MergeUnionsSubtasks) {
  KafkaPositions a, b;
  a.Set({"t", 0}, 5);
  b.Set({"t", 1}, 9);
  a.Merge(b);
  EXPECT_EQ(a.Get({"t", 0}), 5);
  EXPECT_EQ(a.Get({"t", 1}), 9);
}

}  // namespace
}  // namespace cdcflow::kafka
