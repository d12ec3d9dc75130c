// PostgreSQL -> Debezium -> Kafka -> KafkaDebeziumSource against the services of
// the local_services fixture (connector cdcflow-orders; CDCFLOW_ORDERS_DSN and
// CDCFLOW_KAFKA_BOOTSTRAP come from the fixture's environment).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/kafka/kafka_source.h"

namespace cdcflow::kafka {
namespace {

std::string Bootstrap() {
  if (const char* b = std::getenv("CDCFLOW_KAFKA_BOOTSTRAP")) return b;
  const char* port = std::getenv("CDCFLOW_KAFKA_PORT");
  return std::string("127.0.0.1:") + (port ? port : "9092");
}

class NoContext : public RuntimeContext {
 public:
  std::string_view operator_name() const override { return "orders"; }
  int subtask_index() const override { return 0; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return 0; }
  JobArgs args_;
};

// PostgreSQL -> Debezium (connector cdcflow-orders of the local_services fixture,
// schemas on, decimal.handling.mode precise) -> Kafka -> KafkaDebeziumSource.
TEST(KafkaDebeziumIntegrationTest, PostgresChangesArriveWithExactlyTheValuesWritten) {
  const char* dsn = std::getenv("CDCFLOW_ORDERS_DSN");
  ASSERT_NE(dsn, nullptr) << "CDCFLOW_ORDERS_DSN is set by the local_services fixture";
  const int id = 700000000 + static_cast<int>(std::time(nullptr) % 100000000);
  std::string sql = absl::StrCat(
      "INSERT INTO orders (order_id, order_date, customer_name, price, product_id, order_status,"
      " created_at, order_uuid, details) VALUES (", id, ", '2026-03-04 05:06:07.891',"
      " 'Zoë Ørsted', 12345678.90, 105, false, '2026-03-04 05:06:07.123456+02',"
      " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"b\": 1, \"a\": [true, null, \"x\"]}');"
      " UPDATE orders SET price = 0.01, order_status = true, details = NULL,"
      " created_at = '1969-12-31 23:59:59.999999-09:30' WHERE order_id = ", id, ";"
      " DELETE FROM orders WHERE order_id = ", id, ";");
  std::string sql_file = ::testing::TempDir() + "kafka_debezium_it.sql";
  {
    std::FILE* f = std::fopen(sql_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(sql.c_str(), f);
    std::fclose(f);
  }
  std::string command =
      absl::StrCat("psql '", dsn, "' -q -v ON_ERROR_STOP=1 -f '", sql_file, "'");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  auto config = KafkaSourceConfig::Parse({{"bootstrap.servers", Bootstrap()},
                                          {"topics", "pg.public.orders"},
                                          {"scan.batch.max-wait-ms", "100"}});
  ASSERT_TRUE(config.ok());
  KafkaDebeziumSource source(*config);
  NoContext ctx;
  ASSERT_TRUE(source.Open(ctx).ok());
  absl::StatusOr<std::vector<SourceSplit>> splits;
  for (int i = 0; i < 60; ++i) {  // the connector creates the topic with its first event
    splits = source.EnumerateSplits(ctx);
    if (splits.ok()) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_TRUE(splits.ok()) << splits.status();
  ASSERT_TRUE(source.AssignSplits(*splits).ok());
  std::vector<std::string> rows;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (rows.size() < 4 && std::chrono::steady_clock::now() < deadline) {
    RowBatch out;
    auto polled = source.PollBatch(out, 1024);
    ASSERT_TRUE(polled.ok()) << polled.status();
    for (const Row& row : out.rows()) {
      if (row.fields.empty() || row.fields[0] != Value::Int32(id)) continue;
      if (row.kind == RowKind::kInsert) {
        EXPECT_EQ(row.fields[1].type(), ValueType::kTimestamp);
        EXPECT_EQ(row.fields[3].type(), ValueType::kDecimal);
        EXPECT_EQ(row.fields[6].type(), ValueType::kTimestampTz);
        EXPECT_EQ(row.fields[7].type(), ValueType::kUuid);
      }
      rows.push_back(row.ToString());
    }
  }
  std::string n = std::to_string(id);
  std::string before = "[" + n + ", 2026-03-04T05:06:07.891000000, Zoë Ørsted, 12345678.90, 105, "
                       "false, 2026-03-04T03:06:07.123456Z, A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11, "
                       "{\"a\": [true, null, \"x\"], \"b\": 1}]";
  std::string after = "[" + n + ", 2026-03-04T05:06:07.891000000, Zoë Ørsted, 0.01, 105, true, "
                      "1970-01-01T09:29:59.999999Z, A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11, null]";
  EXPECT_THAT(rows, ::testing::ElementsAre("+I" + before, "-U" + before, "+U" + after,
                                           "-D" + after));
  EXPECT_TRUE(source.Close().ok());
}

}  // namespace
}  // namespace cdcflow::kafka
