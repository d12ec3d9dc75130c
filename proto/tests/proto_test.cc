#include "proto/common.pb.h"
#include "proto/ids.h"
#include "proto/task_manager.pb.h"

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace cdcflow {
namespace {

TEST(IdsTest, RandomIdsAreHexAndDistinct) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = RandomHexId();
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    EXPECT_TRUE(seen.insert(id).second);
  }
}

TEST(IdsTest, StrongIdsCompareByValue) {
  EXPECT_EQ(VertexId(3), VertexId(3));
  EXPECT_LT(SubtaskIndex(1), SubtaskIndex(2));
  absl::flat_hash_set<JobId> jobs = {JobId("a"), JobId("a"), JobId("b")};
  EXPECT_EQ(jobs.size(), 2u);
}

TEST(IdsTest, StatusCodesMapBothWays) {
  absl::Status s = absl::UnavailableError("task manager gone");
  grpc::Status g = ToGrpc(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(FromGrpc(g), s);
  EXPECT_TRUE(FromGrpc(grpc::Status::OK).ok());
}

TEST(IdsTest, Sha256MatchesKnownDigest) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ProtoTest, ExchangeMessageRoundTrips) {
  v1::ExchangeMessage msg;
  msg.mutable_channel()->set_job_id("j");
  msg.mutable_channel()->set_edge_id(2);
  msg.set_batch(std::string("\x00\x01\x02", 3));
  msg.set_watermark(42);
  std::string wire = msg.SerializeAsString();
  v1::ExchangeMessage back;
  ASSERT_TRUE(back.ParseFromString(wire));
  EXPECT_EQ(back.channel().edge_id(), 2);
  EXPECT_EQ(back.batch().size(), 3u);
  ASSERT_TRUE(back.has_watermark());
  EXPECT_EQ(back.watermark(), 42);
  EXPECT_FALSE(back.ParseFromString(wire.substr(0, wire.size() - 1)));
}

}  // namespace
}  // namespace cdcflow
