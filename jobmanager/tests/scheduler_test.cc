#include "jobmanager/scheduler.h"

#include "absl/container/flat_hash_map.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cdcflow::jobmanager {
namespace {

using ::testing::ElementsAre;

absl::flat_hash_map<std::string, int> Count(const std::vector<std::string>& owners) {
  absl::flat_hash_map<std::string, int> n;
  for (const auto& o : owners) ++n[o];
  return n;
}

TEST(SchedulerTest, SpreadsSlicesEvenly) {
  auto owners = AssignSlices(4, {{"a", 4}, {"b", 4}});
  ASSERT_TRUE(owners.ok());
  EXPECT_THAT(*owners, ElementsAre("a", "b", "a", "b"));
}

TEST(SchedulerTest, SpreadsEvenlyEvenWhenFreeSlotsDiffer) {
  auto owners = AssignSlices(4, {{"a", 8}, {"b", 2}});
  ASSERT_TRUE(owners.ok());
  auto n = Count(*owners);
  EXPECT_EQ(n["a"], 2);
  EXPECT_EQ(n["b"], 2);
}

TEST(SchedulerTest, UsesRemainingSlotsWhenOneManagerIsFull) {
  auto owners = AssignSlices(5, {{"a", 4}, {"b", 1}, {"c", 0}});
  ASSERT_TRUE(owners.ok());
  auto n = Count(*owners);
  EXPECT_EQ(n["a"], 4);
  EXPECT_EQ(n["b"], 1);
  EXPECT_EQ(n.count("c"), 0u);
}

TEST(SchedulerTest, RefusesWhenTooFewSlots) {
  auto owners = AssignSlices(5, {{"a", 2}, {"b", 2}});
  EXPECT_EQ(owners.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(owners.status().message(), ::testing::HasSubstr("needs 5 slots, 4 are free"));
  EXPECT_FALSE(AssignSlices(1, {}).ok());
}

}  // namespace
}  // namespace cdcflow::jobmanager
