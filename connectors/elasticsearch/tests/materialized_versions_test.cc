// The upsert materializer's per-key versions used as the sink's external versions
// (UpsertMaterializerSpec::append_version + `version.field`), against the fake
// cluster enforcing external versioning: re-sent batches and replays never put an
// older document over a newer one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connectors/elasticsearch/elasticsearch_sink.h"
#include "connectors/elasticsearch/tests/fake_es_server.h"
#include "runtime/operators/changelog_join.h"

namespace cdcflow::elasticsearch {
namespace {

using testing::FakeEsServer;

class Context : public RuntimeContext {
 public:
  std::string_view operator_name() const override { return "materialize"; }
  int subtask_index() const override { return 0; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return now_ms; }
  JobArgs args_;
  int64_t now_ms = 0;
};

Row R(RowKind kind, int64_t id, std::string name) {
  return Row{kind, {Value::Int64(id), Value::Str(std::move(name))}};
}

// Materializes `changes` and returns its output rows (with the version column).
std::vector<Row> Materialize(Operator& op, std::vector<Row> changes) {
  RowBatch in;
  for (Row& r : changes) in.Append(std::move(r));
  RowBatch out_batch;
  Collector out(&out_batch);
  EXPECT_TRUE(op.ProcessBatch(0, in, out).ok());
  return std::vector<Row>(out_batch.rows().begin(), out_batch.rows().end());
}

TEST(MaterializedVersionsTest, ResentAndReplayedBatchesNeverOverwriteNewerDocuments) {
  FakeEsServer server;
  server.set_index_exists(true);
  server.set_enforce_versions(true);
  ElasticsearchSinkConfig config;
  config.url = server.url();
  config.index = "orders";
  config.key_fields = {"order_id"};
  config.version_field = "version";
  config.flush_interval_ms = 3600 * 1000;
  Schema schema{{Field{"order_id", ValueType::kInt64}, Field{"name", ValueType::kString},
                 Field{"version", ValueType::kInt64}}};
  auto sink = ElasticsearchSink::Create(config, schema, {});
  ASSERT_TRUE(sink.ok()) << sink.status();

  UpsertMaterializerSpec spec{{0}};
  spec.append_version = true;
  Context ctx;
  ctx.now_ms = 1000;
  operators::UpsertMaterializerOperator first(spec);
  ASSERT_TRUE(first.Open(ctx).ok());
  const std::vector<Row> early = Materialize(first, {R(RowKind::kInsert, 1, "a"),
                                                     R(RowKind::kInsert, 2, "x")});
  ASSERT_TRUE((*sink)->WriteBatch(early).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  // A join's update: the new row first, the old one retracted after it.
  const std::vector<Row> late =
      Materialize(first, {R(RowKind::kUpdateAfter, 1, "b"), R(RowKind::kUpdateBefore, 1, "a"),
                          R(RowKind::kDelete, 2, "x")});
  ASSERT_TRUE((*sink)->WriteBatch(late).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  auto docs = server.documents();
  EXPECT_THAT(docs["1"].source, ::testing::HasSubstr("\"name\":\"b\""));
  EXPECT_EQ(docs["2"].source, "");
  const int64_t newest = docs["1"].version;

  // The early batch re-sent (a retry after a lost answer, or a sink replaying what it
  // wrote before its last checkpoint): refused, nothing changes.
  ASSERT_TRUE((*sink)->WriteBatch(early).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ((*sink)->stats().version_conflicts, 2);
  EXPECT_THAT(server.documents()["1"].source, ::testing::HasSubstr("\"name\":\"b\""));
  EXPECT_EQ(server.documents()["1"].version, newest);
  EXPECT_EQ(server.documents()["2"].source, "");

  // A restarted attempt that replays the input from an older checkpoint (here: from
  // the beginning) writes above everything the failed attempt wrote and ends at the
  // same documents.
  ctx.now_ms = 2000;
  operators::UpsertMaterializerOperator second(spec);
  ASSERT_TRUE(second.Open(ctx).ok());
  std::vector<Row> replay = Materialize(second, {R(RowKind::kInsert, 1, "a"),
                                                 R(RowKind::kInsert, 2, "x")});
  for (const Row& r : replay) EXPECT_GT(r.fields[2].as_int64(), newest);
  ASSERT_TRUE((*sink)->WriteBatch(replay).ok());
  replay = Materialize(second, {R(RowKind::kUpdateAfter, 1, "b"), R(RowKind::kUpdateBefore, 1, "a"),
                                R(RowKind::kDelete, 2, "x")});
  ASSERT_TRUE((*sink)->WriteBatch(replay).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_THAT(server.documents()["1"].source, ::testing::HasSubstr("\"name\":\"b\""));
  EXPECT_GT(server.documents()["1"].version, newest);
  EXPECT_EQ(server.documents()["2"].source, "");
  // ... and the failed attempt's late writes arriving now are refused.
  ASSERT_TRUE((*sink)->WriteBatch(late).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_THAT(server.documents()["1"].source, ::testing::HasSubstr("\"name\":\"b\""));
  EXPECT_EQ(server.documents()["2"].source, "");
}

}  // namespace
}  // namespace cdcflow::elasticsearch
