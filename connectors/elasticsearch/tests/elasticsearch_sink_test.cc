#include "connectors/elasticsearch/elasticsearch_sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "connectors/elasticsearch/tests/fake_es_server.h"
#include "runtime/api/registry_metric_group.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::elasticsearch {
namespace {

using testing::BulkAnswer;
using testing::CountActions;
using testing::FakeEsServer;
using ::testing::HasSubstr;

Schema OrderSchema() {
  return Schema{{Field{"order_id", ValueType::kInt64}, Field{"name", ValueType::kString},
                 Field{"price", ValueType::kDecimal}, Field{"ts", ValueType::kTimestamp}}};
}

Row Order(RowKind kind, int64_t id, std::string name, std::string price) {
  return Row{kind,
             {Value::Int64(id), Value::Str(std::move(name)), Value::Dec(*Decimal::Parse(price)),
              Value::TimestampOf(Timestamp{1706708700, 250000000})}};
}

struct Harness {
  FakeEsServer server;
  ElasticsearchSinkConfig config;
  ElasticsearchSinkOptions options;
  int64_t clock = 1000;
  std::vector<int64_t> sleeps;

  Harness() {
    config.url = server.url();
    config.index = "orders";
    config.key_fields = {"order_id"};
    config.max_retries = 3;
    config.backoff_initial_ms = 10;
    config.backoff_max_ms = 25;
    config.flush_interval_ms = 3600 * 1000;
    options.now_micros = [this] { return clock; };
    options.sleep_ms = [this](int64_t ms) { sleeps.push_back(ms); };
  }
  std::unique_ptr<ElasticsearchSink> Make(Schema schema = OrderSchema()) {
    auto sink = ElasticsearchSink::Create(config, schema, options);
    EXPECT_TRUE(sink.ok()) << sink.status();
    return sink.ok() ? std::move(*sink) : nullptr;
  }
};

TEST(ElasticsearchSinkTest, WritesNdjsonWithExternalVersionsAndSkipsUpdateBefore) {
  Harness h;
  h.server.set_index_exists(true);
  auto sink = h.Make();
  ASSERT_NE(sink, nullptr);
  ASSERT_TRUE(sink->WriteBatch({Order(RowKind::kInsert, 1, "Zoë \"A\"", "12.30"),
                                Order(RowKind::kUpdateBefore, 1, "Zoë \"A\"", "12.30"),
                                Order(RowKind::kUpdateAfter, 1, "B", "0.01"),
                                Order(RowKind::kDelete, 2, "C", "-5")})
                  .ok());
  EXPECT_EQ(h.server.bulk_bodies().size(), 0u);  // buffered
  auto state = sink->PrepareCommit(1);
  ASSERT_TRUE(state.ok()) << state.status();
  auto bodies = h.server.bulk_bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0],
            "{\"index\":{\"_id\":\"1\",\"version\":1000,\"version_type\":\"external\"}}\n"
            "{\"order_id\":1,\"name\":\"Zoë \\\"A\\\"\",\"price\":\"12.30\","
            "\"ts\":\"2024-01-31T13:45:00.25\"}\n"
            "{\"index\":{\"_id\":\"1\",\"version\":1001,\"version_type\":\"external\"}}\n"
            "{\"order_id\":1,\"name\":\"B\",\"price\":\"0.01\",\"ts\":\"2024-01-31T13:45:00.25\"}\n"
            "{\"delete\":{\"_id\":\"2\",\"version\":1002,\"version_type\":\"external\"}}\n");
  EXPECT_EQ(*state, "1002");
  auto reqs = h.server.requests();
  EXPECT_EQ(reqs.back().method, "POST");
  EXPECT_THAT(reqs.back().path, HasSubstr("/orders/_bulk"));
  EXPECT_EQ(reqs.back().content_type, "application/x-ndjson");
  EXPECT_EQ(sink->stats().indexed, 2);
  EXPECT_EQ(sink->stats().deleted, 1);
  EXPECT_EQ(sink->stats().skipped, 1);
}

TEST(ElasticsearchSinkTest, CompositeKeyAndDecimalAsNumber) {
  Harness h;
  h.server.set_index_exists(true);
  h.config.key_fields = {"order_id", "name"};
  h.config.key_delimiter = "|";
  h.config.decimals_as_strings = false;
  h.config.version_type = VersionType::kExternalGte;
  auto sink = h.Make();
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 7, "x", "1.50")).ok());
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(h.server.bulk_bodies().at(0),
            "{\"index\":{\"_id\":\"7|x\",\"version\":1000,\"version_type\":\"external_gte\"}}\n"
            "{\"order_id\":7,\"name\":\"x\",\"price\":1.50,\"ts\":\"2024-01-31T13:45:00.25\"}\n");
}

TEST(ElasticsearchSinkTest, VersionsFollowTheClockAndNeverGoBackAcrossRestarts) {
  Harness h;
  h.server.set_index_exists(true);
  auto sink = h.Make();
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, "a", "1")).ok());
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, "b", "1")).ok());
  h.clock = 5000;  // the clock moved ahead of the counter
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, "c", "1")).ok());
  auto state = sink->PrepareCommit(1);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, "5000");
  // A restart whose clock is behind: the restored counter is the floor.
  h.clock = 10;
  auto again = h.Make();
  ASSERT_TRUE(again->RestoreState(*state).ok());
  ASSERT_TRUE(again->Write(Order(RowKind::kDelete, 1, "c", "1")).ok());
  ASSERT_TRUE(again->Flush().ok());
  auto bodies = h.server.bulk_bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_THAT(bodies[0], HasSubstr("\"version\":1000,"));
  EXPECT_THAT(bodies[0], HasSubstr("\"version\":1001,"));
  EXPECT_THAT(bodies[0], HasSubstr("\"version\":5000,"));
  EXPECT_THAT(bodies[1], HasSubstr("\"version\":5001,"));
  EXPECT_FALSE(again->RestoreState("12x").ok());
}

TEST(ElasticsearchSinkTest, VersionFromAFieldOrACallback) {
  Harness h;
  h.server.set_index_exists(true);
  Schema schema{{Field{"id", ValueType::kString}, Field{"lsn", ValueType::kInt64}}};
  h.config.key_fields = {"id"};
  h.config.version_field = "lsn";
  auto sink = h.Make(schema);
  ASSERT_TRUE(sink->Write(Row{RowKind::kInsert, {Value::Str("k"), Value::Int64(42)}}).ok());
  auto bad = sink->Write(Row{RowKind::kInsert, {Value::Str("k"), Value::Null()}});
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("lsn"));
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_THAT(h.server.bulk_bodies().at(0), HasSubstr("{\"_id\":\"k\",\"version\":42,"));

  h.options.version_fn = [](const Row& row) -> absl::StatusOr<int64_t> {
    return row.fields[1].as_int64() * 10;
  };
  auto cb = h.Make(schema);
  ASSERT_TRUE(cb->Write(Row{RowKind::kInsert, {Value::Str("k"), Value::Int64(43)}}).ok());
  ASSERT_TRUE(cb->Flush().ok());
  EXPECT_THAT(h.server.bulk_bodies().at(1), HasSubstr("\"version\":430,"));

  h.config.version_field = "name_missing";
  h.options.version_fn = nullptr;
  auto missing = ElasticsearchSink::Create(h.config, schema, h.options);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ElasticsearchSinkTest, CreatesTheIndexWithADerivedMappingWhenMissing) {
  Harness h;
  Schema schema{{Field{"id", ValueType::kInt64}, Field{"name", ValueType::kString},
                 Field{"price", ValueType::kDecimal}, Field{"ts", ValueType::kTimestampTz},
                 Field{"day", ValueType::kDate}, Field{"ok", ValueType::kBool},
                 Field{"qty", ValueType::kInt32}, Field{"w", ValueType::kFloat64}}};
  h.config.key_fields = {"id"};
  h.config.index_settings = R"({"number_of_shards":1})";
  auto sink = h.Make(schema);
  ASSERT_NE(sink, nullptr);
  auto reqs = h.server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "HEAD");
  EXPECT_EQ(reqs[1].method, "PUT");
  EXPECT_EQ(reqs[1].path, "/orders");
  EXPECT_EQ(reqs[1].body,
            R"({"settings":{"number_of_shards":1},"mappings":{"dynamic":true,"properties":{)"
            R"("id":{"type":"long"},"name":{"type":"keyword","ignore_above":8191},)"
            R"("price":{"type":"keyword"},)"
            R"("ts":{"type":"date","format":"strict_date_optional_time"},)"
            R"("day":{"type":"date","format":"strict_date"},"ok":{"type":"boolean"},)"
            R"("qty":{"type":"long"},"w":{"type":"double"}}}})");
  // Exists now: a second sink only looks.
  auto second = h.Make(schema);
  EXPECT_EQ(h.server.requests().size(), 3u);
  // An explicit mapping wins.
  FakeEsServer other;
  h.config.url = other.url();
  h.config.index_mapping = R"({"properties":{"id":{"type":"keyword"}}})";
  h.config.index_settings.clear();
  auto third = h.Make(schema);
  EXPECT_EQ(other.requests().at(1).body, R"({"mappings":{"properties":{"id":{"type":"keyword"}}}})");
}

TEST(ElasticsearchSinkTest, RetriesTheWholeRequestOn429And5xxWithBackoff) {
  Harness h;
  h.server.set_index_exists(true);
  auto sink = h.Make();
  h.server.Script({429, R"({"error":"too many"})", {}});
  h.server.Script({503, R"({"error":"unavailable"})", {}});
  h.server.Script({500, R"({"error":"boom"})", {}});
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, "a", "1")).ok());
  ASSERT_TRUE(sink->Flush().ok());
  auto bodies = h.server.bulk_bodies();
  ASSERT_EQ(bodies.size(), 4u);
  for (const auto& b : bodies) EXPECT_EQ(b, bodies[0]);  // same versions: retries are harmless
  EXPECT_EQ(h.sleeps, (std::vector<int64_t>{10, 20, 25}));
  EXPECT_EQ(sink->stats().retries, 3);
  EXPECT_EQ(sink->stats().indexed, 1);
}

TEST(ElasticsearchSinkTest, GivesUpAfterMaxRetriesAndKeepsTheRows) {
  Harness h;
  h.server.set_index_exists(true);
  h.config.max_retries = 2;
  auto sink = h.Make();
  for (int i = 0; i < 3; ++i) h.server.Script({502, "bad gateway", {}});
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, "a", "1")).ok());
  absl::Status st = sink->Flush();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("HTTP 502"));
  EXPECT_THAT(st.message(), HasSubstr("after 2 retries"));
  EXPECT_EQ(sink->buffered_rows(), 1u);
  EXPECT_TRUE(sink->Flush().ok());  // the cluster is back
  EXPECT_EQ(sink->buffered_rows(), 0u);
}

TEST(ElasticsearchSinkTest, NonRetryableHttpErrorFailsAtOnce) {
  Harness h;
  h.server.set_index_exists(true);
  auto sink = h.Make();
  h.server.Script({400, R"({"error":"illegal_argument_exception"})", {}});
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, "a", "1")).ok());
  absl::Status st = sink->Flush();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("illegal_argument_exception"));
  EXPECT_EQ(h.server.bulk_bodies().size(), 1u);
}

TEST(ElasticsearchSinkTest, ConnectionRefusedIsUnavailableAfterRetries) {
  Harness h;
  {
    FakeEsServer gone;
    h.config.url = gone.url();
  }
  h.config.create_index = false;
  h.config.connect_timeout_ms = 2000;
  auto sink = h.Make();
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, "a", "1")).ok());
  absl::Status st = sink->Flush();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(h.sleeps.size(), 3u);
}

TEST(ElasticsearchSinkTest, RetriesOnlyTheItemsThatFailedWithRetryableStatus) {
  Harness h;
  h.server.set_index_exists(true);
  auto sink = h.Make();
  h.server.Script({200, "", {201, 429, 503}});
  ASSERT_TRUE(sink->WriteBatch({Order(RowKind::kInsert, 1, "a", "1"),
                                Order(RowKind::kInsert, 2, "b", "2"),
                                Order(RowKind::kDelete, 3, "c", "3")})
                  .ok());
  ASSERT_TRUE(sink->Flush().ok());
  auto bodies = h.server.bulk_bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(CountActions(bodies[0]), 3);
  EXPECT_EQ(bodies[1],
            "{\"index\":{\"_id\":\"2\",\"version\":1001,\"version_type\":\"external\"}}\n"
            "{\"order_id\":2,\"name\":\"b\",\"price\":\"2\",\"ts\":\"2024-01-31T13:45:00.25\"}\n"
            "{\"delete\":{\"_id\":\"3\",\"version\":1002,\"version_type\":\"external\"}}\n");
  EXPECT_EQ(sink->stats().indexed, 2);
  EXPECT_EQ(sink->stats().deleted, 1);
  EXPECT_EQ(sink->stats().retries, 2);
}

TEST(ElasticsearchSinkTest, ItemsStillFailingAfterMaxRetriesFailTheSink) {
  Harness h;
  h.server.set_index_exists(true);
  h.config.max_retries = 1;
  auto sink = h.Make();
  h.server.Script({200, "", {429}});
  h.server.Script({200, "", {429}});
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, "a", "1")).ok());
  absl::Status st = sink->Flush();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("es_rejected_execution_exception"));
  EXPECT_EQ(h.server.bulk_bodies().size(), 2u);
}

TEST(ElasticsearchSinkTest, VersionConflictsAreCountedNotFailed) {
  Harness h;
  h.server.set_index_exists(true);
  auto sink = h.Make();
  h.server.Script({200, "", {409, 201, 404}});
  ASSERT_TRUE(sink->WriteBatch({Order(RowKind::kInsert, 1, "a", "1"),
                                Order(RowKind::kInsert, 2, "b", "2"),
                                Order(RowKind::kDelete, 3, "c", "3")})
                  .ok());
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(sink->stats().version_conflicts, 1);
  EXPECT_EQ(sink->stats().indexed, 1);
  EXPECT_EQ(sink->stats().deleted, 1);  // a delete of a missing document is done
  EXPECT_EQ(h.server.bulk_bodies().size(), 1u);
}

TEST(ElasticsearchSinkTest, RefusedItemFailsTheSinkWithTheReason) {
  Harness h;
  h.server.set_index_exists(true);
  auto sink = h.Make();
  h.server.Script({200, "", {201, 400}});
  ASSERT_TRUE(sink->WriteBatch({Order(RowKind::kInsert, 1, "a", "1"),
                                Order(RowKind::kInsert, 2, "b", "2")})
                  .ok());
  absl::Status st = sink->Flush();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("id '2'"));
  EXPECT_THAT(st.message(), HasSubstr("mapper_parsing_exception"));
}

TEST(ElasticsearchSinkTest, RefusedItemGoesToTheDeadLetterCallback) {
  Harness h;
  h.server.set_index_exists(true);
  h.config.failure_handler = FailureHandler::kDeadLetter;
  std::vector<DeadLetter> letters;
  h.options.dead_letter_fn = [&](const DeadLetter& l) {
    letters.push_back(l);
    return absl::OkStatus();
  };
  auto sink = h.Make();
  h.server.Script({200, "", {400, 201}});
  ASSERT_TRUE(sink->WriteBatch({Order(RowKind::kInsert, 1, "a", "1"),
                                Order(RowKind::kInsert, 2, "b", "2")})
                  .ok());
  ASSERT_TRUE(sink->Flush().ok());
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].id, "1");
  EXPECT_EQ(letters[0].status, 400);
  EXPECT_EQ(letters[0].action, "index");
  EXPECT_THAT(letters[0].reason, HasSubstr("mapper_parsing_exception"));
  EXPECT_THAT(letters[0].document, HasSubstr("\"order_id\":1"));
  EXPECT_EQ(sink->stats().dead_letters, 1);
  EXPECT_EQ(sink->stats().indexed, 1);
  // A row the sink itself cannot write (null key) is a dead letter too.
  ASSERT_TRUE(sink->Write(Row{RowKind::kInsert,
                              {Value::Null(), Value::Str("n"), Value::Dec(*Decimal::Parse("1")),
                               Value::Null()}})
                  .ok());
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[1].status, 0);
  EXPECT_THAT(letters[1].reason, HasSubstr("key field 'order_id' is null"));
}

TEST(ElasticsearchSinkTest, RefusedItemGoesToTheDeadLetterFile) {
  Harness h;
  h.server.set_index_exists(true);
  h.config.failure_handler = FailureHandler::kDeadLetter;
  const std::string path = cdcflow::testing::NewScratchPath("es_dead_letters.ndjson");
  h.config.dead_letter_path = path;
  auto sink = h.Make();
  h.server.Script({200, "", {200, 400}});
  ASSERT_TRUE(sink->WriteBatch({Order(RowKind::kInsert, 1, "a", "1"),
                                Order(RowKind::kDelete, 2, "b", "2")})
                  .ok());
  ASSERT_TRUE(sink->PrepareCommit(3).ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(),
              HasSubstr(R"({"index":"orders","id":"2","action":"delete","version":1001,)"
                        R"("status":400,"reason":")"));
  EXPECT_THAT(text.str(), HasSubstr(R"(,"document":null})"));
  h.config.dead_letter_path.clear();
  EXPECT_FALSE(ElasticsearchSink::Create(h.config, OrderSchema(), {}).ok());
}

TEST(ElasticsearchSinkTest, UnavailableColumnIsRefusedNotWritten) {
  Harness h;
  h.server.set_index_exists(true);
  auto sink = h.Make();
  Row row = Order(RowKind::kUpdateAfter, 1, "a", "1");
  row.fields[1] = Value::UnavailableMarker();
  absl::Status st = sink->Write(row);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("column 'name' is unavailable"));
  EXPECT_EQ(sink->buffered_rows(), 0u);
}

TEST(ElasticsearchSinkTest, FlushesByCount) {
  Harness h;
  h.server.set_index_exists(true);
  h.config.max_actions = 3;
  auto sink = h.Make();
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, i, "a", "1")).ok());
  auto bodies = h.server.bulk_bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(CountActions(bodies[0]), 3);
  EXPECT_EQ(CountActions(bodies[1]), 3);
  EXPECT_EQ(sink->buffered_rows(), 1u);
  ASSERT_TRUE(sink->Finish().ok());
  EXPECT_EQ(CountActions(h.server.bulk_bodies().at(2)), 1);
}

TEST(ElasticsearchSinkTest, FlushesByBytes) {
  Harness h;
  h.server.set_index_exists(true);
  h.config.max_bytes = 1000;
  auto sink = h.Make();
  std::string big(400, 'x');
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, big, "1")).ok());
  EXPECT_EQ(h.server.bulk_bodies().size(), 0u);
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 2, big, "1")).ok());
  ASSERT_EQ(h.server.bulk_bodies().size(), 1u);
  EXPECT_EQ(CountActions(h.server.bulk_bodies()[0]), 2);
}

TEST(ElasticsearchSinkTest, FlushesByInterval) {
  Harness h;
  h.server.set_index_exists(true);
  h.config.flush_interval_ms = 0;  // every WriteBatch sends what it buffered
  auto sink = h.Make();
  ASSERT_TRUE(sink->WriteBatch({Order(RowKind::kInsert, 1, "a", "1"),
                                Order(RowKind::kInsert, 2, "a", "1")})
                  .ok());
  ASSERT_EQ(h.server.bulk_bodies().size(), 1u);
  EXPECT_EQ(CountActions(h.server.bulk_bodies()[0]), 2);

  h.config.flush_interval_ms = 3600 * 1000;  // far away: waits for a checkpoint
  auto slow = h.Make();
  ASSERT_TRUE(slow->WriteBatch({Order(RowKind::kInsert, 3, "a", "1")}).ok());
  EXPECT_EQ(h.server.bulk_bodies().size(), 1u);
  EXPECT_EQ(slow->buffered_rows(), 1u);
  ASSERT_TRUE(slow->PrepareCommit(1).ok());
  EXPECT_EQ(h.server.bulk_bodies().size(), 2u);
}

TEST(ElasticsearchSinkTest, BasicAuthHeader) {
  Harness h;
  h.server.set_index_exists(true);
  h.config.username = "elastic";
  h.config.password = "s3cret";
  auto sink = h.Make();
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, "a", "1")).ok());
  ASSERT_TRUE(sink->Flush().ok());
  // base64("elastic:s3cret")
  EXPECT_EQ(h.server.requests().back().authorization, "Basic ZWxhc3RpYzpzM2NyZXQ=");
}

TEST(ElasticsearchSinkTest, RefreshParameter) {
  Harness h;
  h.server.set_index_exists(true);
  h.config.refresh = "wait_for";
  auto sink = h.Make();
  ASSERT_TRUE(sink->Write(Order(RowKind::kInsert, 1, "a", "1")).ok());
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_THAT(h.server.requests().back().path, HasSubstr("refresh=wait_for"));
}

TEST(ElasticsearchSinkTest, KeyFieldMustBeAColumn) {
  Harness h;
  h.config.key_fields = {"nope"};
  auto sink = ElasticsearchSink::Create(h.config, OrderSchema(), h.options);
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(sink.status().message(), HasSubstr("'nope'"));
}

// A context whose metrics() exports into a private registry, as a task's does.
class MetricsContext : public RuntimeContext {
 public:
  std::string_view operator_name() const override { return "es"; }
  int subtask_index() const override { return 0; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return 0; }
  MetricGroup& metrics() override { return group_; }
  std::string Render() const { return registry_.RenderPrometheus(); }

 private:
  JobArgs args_;
  metrics::MetricRegistry registry_;
  api::RegistryMetricGroup group_{&registry_, {{"job", "j"}, {"vertex", "es"}, {"subtask", "0"}}};
};

TEST(ElasticsearchSinkFunctionTest, PublishesRequestsConflictsAndErrorsAsMetrics) {
  Harness h;
  h.server.set_index_exists(true);
  MetricsContext ctx;
  ElasticsearchSinkFunction fn(h.config, OrderSchema(), h.options);
  ASSERT_TRUE(fn.Open(ctx).ok());
  h.server.Script({200, "", {409, 201, 404}});
  RowBatch batch;
  batch.Append(Order(RowKind::kInsert, 1, "a", "1"), 0);
  batch.Append(Order(RowKind::kInsert, 2, "b", "2"), 0);
  batch.Append(Order(RowKind::kDelete, 3, "c", "3"), 0);
  ASSERT_TRUE(fn.WriteBatch(batch).ok());
  ASSERT_TRUE(fn.PrepareCommit(1).ok());
  const std::string labels = "{job=\"j\",subtask=\"0\",vertex=\"es\"}";
  std::string text = ctx.Render();
  EXPECT_THAT(text, HasSubstr("cdcflow_es_sink_bulk_requests_total" + labels + " 1"));
  EXPECT_THAT(text, HasSubstr("cdcflow_es_sink_version_conflicts_total" + labels + " 1"));
  EXPECT_THAT(text, HasSubstr("cdcflow_es_sink_indexed_total" + labels + " 1"));
  EXPECT_THAT(text, HasSubstr("cdcflow_es_sink_deleted_total" + labels + " 1"));
  // A request the cluster refuses for good fails the sink and counts as an error.
  h.server.Script({400, "{\"error\":\"bad\"}", {}});
  RowBatch more;
  more.Append(Order(RowKind::kInsert, 4, "d", "4"), 0);
  ASSERT_TRUE(fn.WriteBatch(more).ok());
  EXPECT_FALSE(fn.Finish().ok());
  text = ctx.Render();
  EXPECT_THAT(text, HasSubstr("cdcflow_es_sink_bulk_requests_total" + labels + " 2"));
  EXPECT_THAT(text, HasSubstr(
                        "cdcflow_sink_errors_total{job=\"j\",sink=\"elasticsearch\",subtask=\"0\","
                        "vertex=\"es\"} 1"));
  // Both _bulk round trips are in the request latency histogram.
  EXPECT_THAT(text, HasSubstr(
                        "cdcflow_sink_request_seconds_count{job=\"j\",sink=\"elasticsearch\","
                        "subtask=\"0\",vertex=\"es\"} 2"));
  EXPECT_TRUE(fn.Close().ok());
}

TEST(HttpStatusToStatusTest, MapsRetryableAndPermanentErrors) {
  EXPECT_TRUE(HttpStatusToStatus(201, "POST", "/x", "").ok());
  EXPECT_EQ(HttpStatusToStatus(429, "POST", "/x", "").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(HttpStatusToStatus(503, "POST", "/x", "").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(HttpStatusToStatus(401, "POST", "/x", "").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(HttpStatusToStatus(403, "POST", "/x", "").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(HttpStatusToStatus(413, "POST", "/x", "").code(),
            absl::StatusCode::kResourceExhausted);
  absl::Status st = HttpStatusToStatus(400, "PUT", "/idx", "bad mapping");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("PUT /idx answered HTTP 400: bad mapping"));
}

}  // namespace
}  // namespace cdcflow::elasticsearch
