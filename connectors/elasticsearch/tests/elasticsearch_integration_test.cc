// Against the real OpenSearch node of the local_services fixture (label integration;
// CDCFLOW_OPENSEARCH_URL comes from tests/integration/with_services_env.sh).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "connectors/elasticsearch/elasticsearch_client.h"
#include "connectors/elasticsearch/elasticsearch_sink.h"
#include "nlohmann/json.hpp"

namespace cdcflow::elasticsearch {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

std::string Url() {
  const char* url = std::getenv("CDCFLOW_OPENSEARCH_URL");
  return url == nullptr ? "" : url;
}

Schema OrderSchema() {
  return Schema{{Field{"order_id", ValueType::kInt64}, Field{"customer", ValueType::kString},
                 Field{"price", ValueType::kDecimal}, Field{"ts", ValueType::kTimestamp},
                 Field{"arrived", ValueType::kBool}, Field{"day", ValueType::kDate}}};
}

Row Order(RowKind kind, int64_t id, std::string customer, std::string price, int32_t nanos = 0) {
  return Row{kind,
             {Value::Int64(id), Value::Str(std::move(customer)),
              Value::Dec(*Decimal::Parse(price)), Value::TimestampOf(Timestamp{1706708700, nanos}),
              Value::Bool(id % 2 == 0), Value::DateOf(Date{19753})}};
}

class ElasticsearchIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Url().empty()) << "CDCFLOW_OPENSEARCH_URL is not set: run through ctest "
                                   "(the local_services fixture starts OpenSearch)";
    auto client = HttpClient::Create(HttpClientOptions{.base_url = Url()});
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
    index_ = absl::StrCat("cdcflow_es_sink_it_", getpid());
    ASSERT_TRUE(client_->Send("DELETE", "/" + index_).ok());
    config_.url = Url();
    config_.index = index_;
    config_.key_fields = {"order_id"};
    config_.refresh = "wait_for";
    config_.max_retries = 2;
    config_.backoff_initial_ms = 50;
  }
  void TearDown() override {
    if (client_) (void)client_->Send("DELETE", "/" + index_);
  }

  // The document's _source and _version, or a null json when it does not exist.
  std::pair<json, int64_t> Get(int64_t id) {
    auto r = client_->Send("GET", absl::StrCat("/", index_, "/_doc/", id));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->status == 404) return {json(), 0};
    EXPECT_EQ(r->status, 200) << r->body;
    json doc = json::parse(r->body);
    return {doc["_source"], doc["_version"].get<int64_t>()};
  }

  std::unique_ptr<HttpClient> client_;
  std::string index_;
  ElasticsearchSinkConfig config_;
};

TEST_F(ElasticsearchIntegrationTest, UpsertsDeletesAndExactDocuments) {
  auto sink = ElasticsearchSink::Create(config_, OrderSchema());
  ASSERT_TRUE(sink.ok()) << sink.status();
  // The index was created with the derived mapping.
  auto mapping = client_->SendOk("GET", absl::StrCat("/", index_, "/_mapping"));
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  json props = json::parse(mapping->body)[index_]["mappings"]["properties"];
  EXPECT_EQ(props["order_id"]["type"], "long");
  EXPECT_EQ(props["customer"]["type"], "keyword");
  EXPECT_EQ(props["price"]["type"], "keyword");
  EXPECT_EQ(props["ts"]["type"], "date");
  EXPECT_EQ(props["arrived"]["type"], "boolean");
  EXPECT_EQ(props["day"]["type"], "date");

  ASSERT_TRUE((*sink)->WriteBatch({Order(RowKind::kInsert, 1, "Zoë", "12.30"),
                                   Order(RowKind::kInsert, 2, "Bob", "0.01"),
                                   Order(RowKind::kUpdateBefore, 1, "Zoë", "12.30"),
                                   Order(RowKind::kUpdateAfter, 1, "Zoë \"Z\"", "99.990",
                                         123456789),
                                   Order(RowKind::kInsert, 3, "Cy", "-1.5")})
                  .ok());
  ASSERT_TRUE((*sink)->WriteBatch({Order(RowKind::kDelete, 2, "Bob", "0.01")}).ok());
  ASSERT_TRUE((*sink)->PrepareCommit(1).ok());
  EXPECT_EQ((*sink)->stats().indexed, 4);  // +I 1, +I 2, +U 1, +I 3
  EXPECT_EQ((*sink)->stats().deleted, 1);
  EXPECT_EQ((*sink)->stats().skipped, 1);

  auto [doc1, version1] = Get(1);
  EXPECT_EQ(doc1, json::parse(R"({"order_id":1,"customer":"Zoë \"Z\"","price":"99.990",)"
                              R"("ts":"2024-01-31T13:45:00.123456789","arrived":false,)"
                              R"("day":"2024-01-31"})"));
  auto [doc3, version3] = Get(3);
  EXPECT_EQ(doc3["price"], "-1.5");
  EXPECT_EQ(doc3["ts"], "2024-01-31T13:45:00");
  EXPECT_GT(version3, version1);  // written later by the same sink
  EXPECT_TRUE(Get(2).first.is_null());

  // Searchable by the exact decimal text and by the timestamp.
  auto found = client_->SendOk(
      "POST", absl::StrCat("/", index_, "/_search"),
      R"({"query":{"bool":{"filter":[{"term":{"price":"99.990"}},)"
      R"({"range":{"ts":{"gte":"2024-01-31T13:45:00.100"}}}]}}})");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(json::parse(found->body)["hits"]["total"]["value"], 1);
}

TEST_F(ElasticsearchIntegrationTest, StaleReplayDoesNotOverwriteANewerDocument) {
  Schema schema = OrderSchema();
  schema.fields.push_back(Field{"lsn", ValueType::kInt64});
  config_.version_field = "lsn";
  auto sink = ElasticsearchSink::Create(config_, schema);
  ASSERT_TRUE(sink.ok()) << sink.status();
  auto with_lsn = [](Row row, int64_t lsn) {
    row.fields.push_back(Value::Int64(lsn));
    return row;
  };
  ASSERT_TRUE((*sink)->WriteBatch({with_lsn(Order(RowKind::kInsert, 7, "new", "2.00"), 200),
                                   with_lsn(Order(RowKind::kInsert, 8, "gone", "1"), 300),
                                   with_lsn(Order(RowKind::kDelete, 8, "gone", "1"), 310)})
                  .ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  // A replay after recovery: older positions for both documents.
  ASSERT_TRUE((*sink)->WriteBatch({with_lsn(Order(RowKind::kInsert, 7, "old", "1.00"), 100),
                                   with_lsn(Order(RowKind::kUpdateAfter, 7, "same", "1"), 200),
                                   with_lsn(Order(RowKind::kInsert, 8, "gone", "1"), 300)})
                  .ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ((*sink)->stats().version_conflicts, 3);
  auto [doc, version] = Get(7);
  EXPECT_EQ(doc["customer"], "new");
  EXPECT_EQ(doc["price"], "2.00");
  EXPECT_EQ(version, 200);
  EXPECT_TRUE(Get(8).first.is_null());  // the delete's tombstone version wins

  // The sink's own counter: a restarted sink never goes below what was written.
  config_.version_field.clear();
  int64_t clock = 5'000'000;
  ElasticsearchSinkOptions options;
  options.now_micros = [&clock] { return clock; };
  auto first = ElasticsearchSink::Create(config_, OrderSchema(), options);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Write(Order(RowKind::kInsert, 9, "newest", "3")).ok());
  auto state = (*first)->PrepareCommit(1);
  ASSERT_TRUE(state.ok());
  clock = 4'000'000;  // a stale writer (clock behind): refused
  auto stale = ElasticsearchSink::Create(config_, OrderSchema(), options);
  ASSERT_TRUE((*stale)->Write(Order(RowKind::kInsert, 9, "stale", "3")).ok());
  ASSERT_TRUE((*stale)->Flush().ok());
  EXPECT_EQ((*stale)->stats().version_conflicts, 1);
  EXPECT_EQ(Get(9).first["customer"], "newest");
  auto restored = ElasticsearchSink::Create(config_, OrderSchema(), options);  // same clock
  ASSERT_TRUE((*restored)->RestoreState(*state).ok());
  ASSERT_TRUE((*restored)->Write(Order(RowKind::kUpdateAfter, 9, "after restart", "4")).ok());
  ASSERT_TRUE((*restored)->Flush().ok());
  EXPECT_EQ((*restored)->stats().version_conflicts, 0);
  auto [doc9, version9] = Get(9);
  EXPECT_EQ(doc9["customer"], "after restart");
  EXPECT_EQ(version9, 5'000'001);
}

TEST_F(ElasticsearchIntegrationTest, ExplicitMappingAndDeadLetters) {
  // "customer" as long: a name is refused by the cluster for good.
  config_.index_mapping = R"({"properties":{"customer":{"type":"long"}}})";
  config_.index_settings = R"({"number_of_shards":1,"number_of_replicas":0})";
  config_.failure_handler = FailureHandler::kDeadLetter;
  std::vector<DeadLetter> letters;
  ElasticsearchSinkOptions options;
  options.dead_letter_fn = [&](const DeadLetter& l) {
    letters.push_back(l);
    return absl::OkStatus();
  };
  auto sink = ElasticsearchSink::Create(config_, OrderSchema(), options);
  ASSERT_TRUE(sink.ok()) << sink.status();
  auto mapping = client_->SendOk("GET", absl::StrCat("/", index_, "/_mapping"));
  ASSERT_TRUE(mapping.ok());
  EXPECT_EQ(json::parse(mapping->body)[index_]["mappings"]["properties"]["customer"]["type"],
            "long");
  ASSERT_TRUE((*sink)->WriteBatch({Order(RowKind::kInsert, 1, "42", "1"),
                                   Order(RowKind::kInsert, 2, "not a number", "1")})
                  .ok());
  ASSERT_TRUE((*sink)->PrepareCommit(1).ok());
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].id, "2");
  EXPECT_EQ(letters[0].status, 400);
  EXPECT_THAT(letters[0].reason, HasSubstr("parsing"));
  EXPECT_EQ(Get(1).first["customer"], "42");
  EXPECT_TRUE(Get(2).first.is_null());

  // The same refusal under the default handler fails the sink with the reason.
  config_.failure_handler = FailureHandler::kFail;
  auto strict = ElasticsearchSink::Create(config_, OrderSchema());
  ASSERT_TRUE(strict.ok());
  ASSERT_TRUE((*strict)->Write(Order(RowKind::kInsert, 3, "nope", "1")).ok());
  absl::Status st = (*strict)->Flush();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("id '3'"));
}

}  // namespace
}  // namespace cdcflow::elasticsearch
