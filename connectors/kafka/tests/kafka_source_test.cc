#include "connectors/kafka/kafka_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "connectors/kafka/tests/mock_kafka.h"
#include "runtime/api/registry_metric_group.h"

namespace cdcflow::kafka {
namespace {

using ::cdcflow::kafka::testing::MockKafka;
using ::cdcflow::kafka::testing::PollRecords;
using ::cdcflow::kafka::testing::TestRecord;
using ::testing::HasSubstr;

class FakeContext : public RuntimeContext {
 public:
  std::string_view operator_name() const override { return "kafka-source"; }
  int subtask_index() const override { return 0; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return 0; }
  JobArgs args_;
};

// Debezium PostgreSQL events with schemas.enable=false.
std::string Envelope(const char* op, const std::string& before, const std::string& after) {
  return "{\"before\":" + before + ",\"after\":" + after +
         ",\"source\":{\"version\":\"2.7.3.Final\",\"connector\":\"postgresql\",\"name\":"
         "\"dbserver1\",\"ts_ms\":1732500000000,\"snapshot\":\"false\",\"db\":\"shop\","
         "\"schema\":\"public\",\"table\":\"orders\",\"txId\":7,\"lsn\":100},\"op\":\"" +
         op + "\",\"ts_ms\":1732500000001}";
}
std::string OrderJson(int id, const char* status) {
  return "{\"id\":" + std::to_string(id) + ",\"status\":\"" + status + "\"}";
}
std::string Key(int id) { return "{\"id\":" + std::to_string(id) + "}"; }

class KafkaDebeziumSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_.CreateTopic("dbserver1.public.orders", 2);
    kafka_.CreateTopic("dlq", 1);
  }
  void Produce(int32_t partition, const std::string& key, const std::string& value,
               bool tombstone = false) {
    ASSERT_TRUE(kafka_.Produce(TestRecord{.topic = "dbserver1.public.orders",
                                          .partition = partition, .key = key, .value = value,
                                          .null_value = tombstone,
                                          .timestamp_ms = 1732500000000}));
  }
  std::unique_ptr<KafkaDebeziumSource> Open(KafkaOptions extra = {}) {
    KafkaOptions options = kafka_.SourceOptions("dbserver1.public.orders");
    for (auto& [k, v] : extra) options[k] = v;
    auto config = KafkaSourceConfig::Parse(options);
    EXPECT_TRUE(config.ok()) << config.status();
    auto source = std::make_unique<KafkaDebeziumSource>(*config);
    EXPECT_TRUE(source->Open(ctx_).ok());
    auto splits = source->EnumerateSplits(ctx_);
    EXPECT_TRUE(splits.ok()) << splits.status();
    EXPECT_TRUE(source->AssignSplits(*splits).ok());
    return source;
  }
  // Polls until `rows` rows arrived (or an error / timeout).
  absl::StatusOr<RowBatch> PollRows(KafkaDebeziumSource& source, size_t rows,
                                    int max_polls = 200) {
    RowBatch all;
    for (int i = 0; i < max_polls && all.size() < rows; ++i) {
      RowBatch out;
      auto result = source.PollBatch(out, 64);
      if (!result.ok()) return result.status();
      for (size_t j = 0; j < out.size(); ++j) all.Append(out.row(j), out.timestamp(j));
    }
    return all;
  }

  MockKafka kafka_;
  FakeContext ctx_;
};

TEST_F(KafkaDebeziumSourceTest, EnumeratesOneSplitPerPartition) {
  auto source = Open();
  auto splits = source->EnumerateSplits(ctx_);
  ASSERT_TRUE(splits.ok());
  ASSERT_EQ(splits->size(), 2u);
  EXPECT_EQ((*splits)[0].id, "dbserver1.public.orders:0");
  EXPECT_EQ((*splits)[1].id, "dbserver1.public.orders:1");
  auto tp = ParseSplitId("a:b:3");
  ASSERT_TRUE(tp.ok());
  EXPECT_EQ(*tp, (TopicPartition{"a:b", 3}));
  EXPECT_FALSE(ParseSplitId("nopartition").ok());
}

TEST_F(KafkaDebeziumSourceTest, DecodesChangesIntoChangelogRows) {
  Produce(0, Key(1), Envelope("c", "null", OrderJson(1, "NEW")));
  Produce(0, Key(1), Envelope("u", OrderJson(1, "NEW"), OrderJson(1, "PAID")));
  Produce(0, Key(1), Envelope("d", OrderJson(1, "PAID"), "null"));
  Produce(0, Key(1), "", /*tombstone=*/true);
  auto source = Open();
  KafkaSourceStats last;
  source->SetStatsListener([&](const KafkaSourceStats& s) { last = s; }, /*interval_ms=*/0);
  auto rows = PollRows(*source, 4);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ(rows->row(0).kind, RowKind::kInsert);
  EXPECT_EQ(rows->row(1).kind, RowKind::kUpdateBefore);
  EXPECT_EQ(rows->row(2).kind, RowKind::kUpdateAfter);
  EXPECT_EQ(rows->row(3).kind, RowKind::kDelete);
  EXPECT_EQ(rows->row(2).fields[0], Value::Int64(1));
  EXPECT_EQ(rows->row(2).fields[1], Value::Str("PAID"));
  EXPECT_EQ(rows->timestamp(0), 1732500000000);
  // Nothing more (the tombstone made no row); the positions cover all 4 records.
  auto more = PollRows(*source, 1, 5);
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->size(), 0u);
  auto snapshot = source->SnapshotPosition(1);
  ASSERT_TRUE(snapshot.ok());
  auto positions = KafkaPositions::Deserialize(*snapshot);
  ASSERT_TRUE(positions.ok());
  EXPECT_EQ(positions->Get({"dbserver1.public.orders", 0}), 4);
  EXPECT_EQ(positions->Get({"dbserver1.public.orders", 1}), 0);
  EXPECT_EQ(last.records, 4);
  ASSERT_EQ(last.partitions.size(), 2u);
  EXPECT_EQ(last.partitions[0].next_offset, 4);
  EXPECT_EQ(last.partitions[0].lag, 0);
  EXPECT_TRUE(source->NotifyCheckpointComplete(1).ok());
  EXPECT_TRUE(source->NotifyCheckpointComplete(99).ok());  // unknown: nothing to commit
  EXPECT_TRUE(source->Close().ok());
}

TEST_F(KafkaDebeziumSourceTest, BadRecordFailsTheTaskNamingWhere) {
  Produce(1, Key(1), Envelope("c", "null", OrderJson(1, "NEW")));
  Produce(1, Key(2), "{\"before\":null,\"after\":");  // truncated JSON
  auto source = Open();
  auto rows = PollRows(*source, 10);
  ASSERT_FALSE(rows.ok());
  EXPECT_THAT(rows.status().ToString(),
              HasSubstr("topic 'dbserver1.public.orders' partition 1 offset 1"));
  EXPECT_EQ(source->dead_letters(), 0);
}

TEST_F(KafkaDebeziumSourceTest, BadRecordGoesToTheDeadLetterTopicAndTheJobGoesOn) {
  Produce(1, Key(1), Envelope("c", "null", OrderJson(1, "NEW")));
  Produce(1, Key(2), "not json at all");
  Produce(1, Key(3), Envelope("c", "null", OrderJson(3, "NEW")));
  auto source =
      Open({{"dead-letter.policy", "dead-letter"}, {"dead-letter.topic", "dlq"}});
  auto rows = PollRows(*source, 2);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->row(1).fields[0], Value::Int64(3));
  EXPECT_EQ(source->dead_letters(), 1);
  ASSERT_TRUE(source->SnapshotPosition(1).ok());  // flushes the dead letters

  auto dlq_config = KafkaSourceConfig::Parse(kafka_.SourceOptions("dlq"));
  ASSERT_TRUE(dlq_config.ok());
  auto dlq = KafkaConsumer::Create(*dlq_config, 0, 1);
  ASSERT_TRUE(dlq.ok());
  auto letters = PollRecords(**dlq, 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].key, Key(2));
  EXPECT_EQ(letters[0].value, "not json at all");
  EXPECT_THAT(letters[0].headers, ::testing::Contains(::testing::Pair("cdcflow.dlq.offset", "1")));
}

TEST_F(KafkaDebeziumSourceTest, RestoresFromItsSnapshotWithoutDuplicates) {
  for (int i = 0; i < 10; ++i) Produce(i % 2, Key(i), Envelope("c", "null", OrderJson(i, "NEW")));
  std::string snapshot;
  std::set<int64_t> seen;
  {
    auto source = Open();
    auto rows = PollRows(*source, 3);
    ASSERT_TRUE(rows.ok());
    for (const Row& r : rows->rows()) seen.insert(r.fields[0].as_int64());
    auto s = source->SnapshotPosition(1);
    ASSERT_TRUE(s.ok());
    snapshot = *s;
  }
  auto config = KafkaSourceConfig::Parse(kafka_.SourceOptions("dbserver1.public.orders"));
  ASSERT_TRUE(config.ok());
  KafkaDebeziumSource source(*config);
  ASSERT_TRUE(source.Open(ctx_).ok());
  auto splits = source.EnumerateSplits(ctx_);
  ASSERT_TRUE(splits.ok());
  ASSERT_TRUE(source.AssignSplits(*splits).ok());
  ASSERT_TRUE(source.RestorePosition(snapshot).ok());
  auto rows = PollRows(source, 10 - seen.size());
  ASSERT_TRUE(rows.ok());
  for (const Row& r : rows->rows()) {
    EXPECT_TRUE(seen.insert(r.fields[0].as_int64()).second) << r.fields[0].as_int64();
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_FALSE(source.RestorePosition("garbage").ok());
}

// Debezium truncate (t) and message (m) events are no rows: the job's handler
// sees them with their position, they are counted, and a handler error fails the
// task naming where.
TEST_F(KafkaDebeziumSourceTest, ControlEventsReachTheHandlerAndAreCounted) {
  Produce(0, Key(1), Envelope("c", "null", OrderJson(1, "NEW")));
  Produce(0, "", Envelope("t", "null", "null"));
  Produce(0, "",
          "{\"op\":\"m\",\"ts_ms\":1,\"source\":{\"connector\":\"postgresql\",\"name\":"
          "\"dbserver1\",\"lsn\":5},\"message\":{\"prefix\":\"audit\",\"content\":\"aGVsbG8=\"}}");
  Produce(0, Key(2), Envelope("c", "null", OrderJson(2, "NEW")));
  std::vector<KafkaControlEvent> seen;
  auto source = Open();
  source->SetControlEventHandler([&](const KafkaControlEvent& e) {
    seen.push_back(e);
    return absl::OkStatus();
  });
  auto rows = PollRows(*source, 2);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->row(1).fields[0], Value::Int64(2));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind, debezium::EventKind::kTruncate);
  EXPECT_EQ(seen[0].topic, "dbserver1.public.orders");
  EXPECT_EQ(seen[0].partition, 0);
  EXPECT_EQ(seen[0].offset, 1);
  EXPECT_EQ(seen[0].timestamp_ms, 1732500000000);
  EXPECT_EQ(seen[0].table, "dbserver1.public.orders");
  EXPECT_EQ(seen[0].source.lsn, 100);
  EXPECT_EQ(seen[1].kind, debezium::EventKind::kMessage);
  EXPECT_EQ(seen[1].offset, 2);
  EXPECT_EQ(seen[1].message_prefix, "audit");
  EXPECT_EQ(seen[1].message_content, "hello");
  EXPECT_EQ(source->control_events(), 2);

  // Without a handler they are logged and counted, and reading goes on.
  auto unhandled = Open();
  auto all = PollRows(*unhandled, 2);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(unhandled->control_events(), 2);

  // A handler that refuses truncates fails the task with the position.
  auto strict = Open();
  strict->SetControlEventHandler([](const KafkaControlEvent& e) {
    return e.kind == debezium::EventKind::kTruncate
               ? absl::FailedPreconditionError("truncate of " + e.table + " not supported")
               : absl::OkStatus();
  });
  auto failed = PollRows(*strict, 10);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(failed.status().ToString(),
              HasSubstr("truncate) at topic 'dbserver1.public.orders' partition 0 offset 1: "
                        "truncate of dbserver1.public.orders not supported"));
}

class SubtaskContext : public FakeContext {
 public:
  SubtaskContext(int index, int parallelism) : index_(index), parallelism_(parallelism) {}
  int subtask_index() const override { return index_; }
  int parallelism() const override { return parallelism_; }

 private:
  int index_;
  int parallelism_;
};

// A running source picks up topics that start matching its pattern (and, by the
// same code, new partitions of its topics): each new partition is read by
// exactly one of the subtasks, from the earliest offset.
TEST_F(KafkaDebeziumSourceTest, DiscoversNewPartitionsAtRuntime) {
  kafka_.CreateTopic("disc.a", 3);
  KafkaOptions options = kafka_.SourceOptions("disc.a");
  options.erase("topics");
  options["topic-pattern"] = "disc\\..*";
  options["scan.partition-discovery.interval-ms"] = "50";
  options["scan.batch.max-wait-ms"] = "5";
  auto config = KafkaSourceConfig::Parse(options);
  ASSERT_TRUE(config.ok()) << config.status();
  std::vector<std::unique_ptr<SubtaskContext>> contexts;
  std::vector<std::unique_ptr<KafkaDebeziumSource>> sources;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<SubtaskContext>(i, 2));
    sources.push_back(std::make_unique<KafkaDebeziumSource>(*config));
    ASSERT_TRUE(sources[i]->Open(*contexts[i]).ok());
    auto splits = sources[i]->EnumerateSplits(*contexts[i]);
    ASSERT_TRUE(splits.ok()) << splits.status();
    ASSERT_EQ(splits->size(), 3u);
    std::vector<SourceSplit> mine;
    for (size_t s = 0; s < splits->size(); ++s) {
      if (static_cast<int>(s % 2) == i) mine.push_back((*splits)[s]);
    }
    ASSERT_TRUE(sources[i]->AssignSplits(mine).ok());
    RowBatch out;
    ASSERT_TRUE(sources[i]->PollBatch(out, 64).ok());  // starts the consumer
  }
  // A topic created while the job runs, with records already in it.
  kafka_.CreateTopic("disc.b", 4);
  for (int p = 0; p < 4; ++p) {
    ASSERT_TRUE(kafka_.Produce(TestRecord{.topic = "disc.b", .partition = p, .key = Key(p),
                                          .value = Envelope("c", "null", OrderJson(p, "NEW")),
                                          .timestamp_ms = 1732500000000}));
  }
  std::multiset<int64_t> ids;
  std::vector<size_t> per_source(2, 0);
  for (int round = 0; round < 400 && ids.size() < 4; ++round) {
    for (int i = 0; i < 2; ++i) {
      RowBatch out;
      auto r = sources[i]->PollBatch(out, 64);
      ASSERT_TRUE(r.ok()) << r.status();
      for (const Row& row : out.rows()) ids.insert(row.fields[0].as_int64());
      per_source[i] += out.size();
    }
  }
  EXPECT_EQ(ids, (std::multiset<int64_t>{0, 1, 2, 3}));
  // The four new partitions were split between the two subtasks, none read twice.
  size_t assigned = 0;
  for (int i = 0; i < 2; ++i) {
    for (const PartitionStats& st : sources[i]->Stats()) {
      if (st.partition.topic == "disc.b") {
        ++assigned;
        EXPECT_EQ(AssignSubtask("disc.b", st.partition.partition, 2), i);
      }
    }
  }
  EXPECT_EQ(assigned, 4u);
  // The positions of discovered partitions are checkpointed.
  auto snapshot = sources[0]->SnapshotPosition(1);
  ASSERT_TRUE(snapshot.ok());
  auto positions = KafkaPositions::Deserialize(*snapshot);
  ASSERT_TRUE(positions.ok());
  for (int p = 0; p < 4; ++p) {
    if (AssignSubtask("disc.b", p, 2) == 0) EXPECT_EQ(positions->Get({"disc.b", p}), 1) << p;
  }
  for (auto& s : sources) EXPECT_TRUE(s->Close().ok());
}

}  // namespace
}  // namespace cdcflow::kafka

namespace cdcflow::kafka {
namespace {

class MetricsContext : public RuntimeContext {
 public:
  std::string_view operator_name() const override { return "orders"; }
  int subtask_index() const override { return 0; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return 0; }
  MetricGroup& metrics() override { return group_; }
  std::string Render() const { return registry_.RenderPrometheus(); }

 private:
  JobArgs args_;
  cdcflow::metrics::MetricRegistry registry_;
  api::RegistryMetricGroup group_{&registry_,
                                  {{"job", "j"}, {"vertex", "orders"}, {"subtask", "0"}}};
};

TEST(KafkaSourceMetricsTest, LagOffsetsDeadLettersAndControlEventsAreExported) {
  MockKafka kafka;
  kafka.CreateTopic("dbserver1.public.orders", 2);
  kafka.CreateTopic("dlq", 1);
  auto produce = [&](int32_t partition, const std::string& key, const std::string& value) {
    ASSERT_TRUE(kafka.Produce(TestRecord{.topic = "dbserver1.public.orders",
                                         .partition = partition, .key = key, .value = value,
                                         .timestamp_ms = 1732500000000}));
  };
  for (int i = 0; i < 5; ++i) produce(0, Key(i), Envelope("c", "null", OrderJson(i, "NEW")));
  produce(1, Key(9), "{not json");
  KafkaOptions options = kafka.SourceOptions("dbserver1.public.orders");
  options["dead-letter.policy"] = "dead-letter";
  options["dead-letter.topic"] = "dlq";
  auto config = KafkaSourceConfig::Parse(options);
  ASSERT_TRUE(config.ok()) << config.status();
  MetricsContext ctx;
  KafkaDebeziumSource source(*config);
  ASSERT_TRUE(source.Open(ctx).ok());
  auto splits = source.EnumerateSplits(ctx);
  ASSERT_TRUE(splits.ok());
  ASSERT_TRUE(source.AssignSplits(*splits).ok());
  KafkaSourceStats last;
  source.SetStatsListener([&](const KafkaSourceStats& s) { last = s; }, /*interval_ms=*/0);
  size_t rows = 0;
  for (int i = 0; i < 200 && (rows < 5 || last.records < 6 || last.dead_letters < 1); ++i) {
    RowBatch out;
    auto r = source.PollBatch(out, 64);
    ASSERT_TRUE(r.ok()) << r.status();
    rows += out.size();
  }
  ASSERT_EQ(rows, 5u);
  // One more poll publishes what the last one read.
  RowBatch out;
  ASSERT_TRUE(source.PollBatch(out, 64).ok());
  const std::string text = ctx.Render();
  EXPECT_THAT(text, HasSubstr("cdcflow_kafka_source_records_total{job=\"j\",subtask=\"0\","
                              "vertex=\"orders\"} 6"));
  EXPECT_THAT(text, HasSubstr("cdcflow_kafka_source_dead_letters_total{job=\"j\",subtask=\"0\","
                              "vertex=\"orders\"} 1"));
  EXPECT_THAT(text, HasSubstr("cdcflow_kafka_source_offset{job=\"j\",partition=\"0\","
                              "subtask=\"0\",topic=\"dbserver1.public.orders\","
                              "vertex=\"orders\"} 5"));
  EXPECT_THAT(text, HasSubstr("cdcflow_kafka_source_lag_records{job=\"j\",partition=\"1\","
                              "subtask=\"0\",topic=\"dbserver1.public.orders\","
                              "vertex=\"orders\"} 0"));
  EXPECT_THAT(text, HasSubstr("cdcflow_kafka_source_control_events_total{"));
  EXPECT_TRUE(source.Close().ok());
}

}  // namespace
}  // namespace cdcflow::kafka
