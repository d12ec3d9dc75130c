// `cdcflow decode --topic` reads a topic of librdkafka's mock cluster (loopback,
// in this process) and prints the same rows as for the fixture file.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "connectors/kafka/tests/mock_kafka.h"
#include "gtest/gtest.h"

namespace cdcflow::debezium {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `command`, returns its stdout and sets `*status` to the exit status.
std::string RunCommand(const std::string& command, int* status) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

std::string Cdcflow() { return CDCFLOW_CLI_BINARY; }

TEST(DecodeKafkaTest, ReadsATopicToItsEndAndPrintsItsRows) {
  const std::string topic = "mssql.inventory.dbo.products";
  kafka::testing::MockKafka mock;
  mock.CreateTopic(topic, 1);
  std::istringstream lines(ReadAll(std::string(CDCFLOW_DEBEZIUM_TESTDATA) +
                                   "/sqlserver_products.schemas-on.tsv"));
  int produced = 0;
  for (std::string line; std::getline(lines, line);) {
    size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos);
    kafka::testing::TestRecord r;
    r.topic = topic;
    r.key = line.substr(0, tab);
    r.value = line.substr(tab + 1);
    r.null_value = r.value.empty();  // the tombstone
    ASSERT_TRUE(mock.Produce(r));
    ++produced;
  }
  ASSERT_EQ(produced, 8);
  int status = -1;
  std::string out = RunCommand(Cdcflow() + " decode --topic " + topic + " --bootstrap-servers " +
                            mock.bootstrap(),
                        &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, ReadAll(std::string(CDCFLOW_DEBEZIUM_TESTDATA) + "/sqlserver_products.rows"));

  // --max-messages stops early; bad messages name topic, partition and offset.
  out = RunCommand(Cdcflow() + " decode --max-messages 1 --topic " + topic + " --bootstrap-servers " +
                mock.bootstrap(),
            &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  kafka::testing::TestRecord bad;
  bad.topic = topic;
  bad.value = R"({"op":"c","after":[1]})";
  ASSERT_TRUE(mock.Produce(bad));
  out = RunCommand(Cdcflow() + " decode --topic " + topic + " --bootstrap-servers " + mock.bootstrap() +
                " 2>&1 >/dev/null",
            &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find(topic + "/0@8: after: expected object, got array"), std::string::npos) << out;
}

}  // namespace
}  // namespace cdcflow::debezium
