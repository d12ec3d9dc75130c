#include "connectors/elasticsearch/elasticsearch_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cdcflow::elasticsearch {
namespace {

using ::testing::HasSubstr;

ElasticsearchOptions Minimal() {
  return {{"hosts", "http://127.0.0.1:9200/"}, {"index", "orders"}, {"key.fields", "order_id"}};
}

TEST(ElasticsearchConfigTest, DefaultsAndRequiredKeys) {
  auto c = ElasticsearchSinkConfig::Parse(Minimal());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->url, "http://127.0.0.1:9200");
  EXPECT_EQ(c->key_fields, std::vector<std::string>{"order_id"});
  EXPECT_EQ(c->max_actions, 1000);
  EXPECT_EQ(c->max_bytes, 5 << 20);
  EXPECT_EQ(c->flush_interval_ms, 1000);
  EXPECT_EQ(c->failure_handler, FailureHandler::kFail);
  EXPECT_EQ(c->version_type, VersionType::kExternal);
  EXPECT_TRUE(c->decimals_as_strings);
  for (const char* key : {"hosts", "index", "key.fields"}) {
    auto options = Minimal();
    options.erase(key);
    auto bad = ElasticsearchSinkConfig::Parse(options);
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_THAT(bad.status().message(), HasSubstr(key));
  }
}

TEST(ElasticsearchConfigTest, ParsesEveryOption) {
  auto options = Minimal();
  options["key.fields"] = "a, b";
  options["document-id.key-delimiter"] = "|";
  options["version.field"] = "lsn";
  options["version.type"] = "external_gte";
  options["sink.bulk-flush.max-actions"] = "50";
  options["sink.bulk-flush.max-size"] = "2mb";
  options["sink.bulk-flush.interval"] = "0";
  options["sink.bulk-flush.backoff.max-retries"] = "4";
  options["sink.bulk-flush.backoff.delay"] = "5";
  options["sink.bulk-flush.backoff.max-delay"] = "50";
  options["sink.failure-handler"] = "dead-letter";
  options["sink.dead-letter.path"] = "/tmp/dl";
  options["sink.refresh"] = "wait_for";
  options["username"] = "u";
  options["password"] = "p";
  options["tls.ca-file"] = "/ca.pem";
  options["tls.insecure"] = "true";
  options["index.create"] = "false";
  options["format.decimal"] = "number";
  auto c = ElasticsearchSinkConfig::Parse(options);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->key_fields, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c->key_delimiter, "|");
  EXPECT_EQ(c->version_field, "lsn");
  EXPECT_EQ(c->version_type, VersionType::kExternalGte);
  EXPECT_EQ(c->max_actions, 50);
  EXPECT_EQ(c->max_bytes, 2 << 20);
  EXPECT_EQ(c->flush_interval_ms, 0);
  EXPECT_EQ(c->max_retries, 4);
  EXPECT_EQ(c->backoff_initial_ms, 5);
  EXPECT_EQ(c->backoff_max_ms, 50);
  EXPECT_EQ(c->failure_handler, FailureHandler::kDeadLetter);
  EXPECT_EQ(c->dead_letter_path, "/tmp/dl");
  EXPECT_EQ(c->refresh, "wait_for");
  EXPECT_EQ(c->username, "u");
  EXPECT_EQ(c->tls_ca_file, "/ca.pem");
  EXPECT_TRUE(c->tls_insecure);
  EXPECT_FALSE(c->create_index);
  EXPECT_FALSE(c->decimals_as_strings);
}

TEST(ElasticsearchConfigTest, RejectsBadValuesNamingTheKey) {
  std::vector<std::pair<std::string, std::string>> bad = {
      {"sink.bulk-flush.max-actions", "0"}, {"sink.bulk-flush.max-size", "lots"},
      {"tls.insecure", "yes"},              {"version.type", "internal"},
      {"sink.failure-handler", "ignore"},   {"hosts", "127.0.0.1:9200"},
      {"index", "Orders"},                  {"no.such.key", "1"},
      {"username", "only-user"}};
  for (const auto& [key, value] : bad) {
    auto options = Minimal();
    options[key] = value;
    auto c = ElasticsearchSinkConfig::Parse(options);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_THAT(c.status().message(), HasSubstr(key == "username" ? "password" : key)) << key;
  }
}

TEST(ElasticsearchConfigTest, FromJobArgsTakesThePrefixedKeys) {
  auto args = JobArgs::Parse({"es.hosts=https://localhost:9200", "es.index=enriched_orders",
                              "es.key.fields=order_id", "kafka.topic=x"});
  ASSERT_TRUE(args.ok());
  auto c = ElasticsearchSinkConfig::FromJobArgs(*args);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->url, "https://localhost:9200");
  EXPECT_EQ(c->index, "enriched_orders");
}

}  // namespace
}  // namespace cdcflow::elasticsearch
