// keyed_sum: a word-count-like keyed aggregation with a hash shuffle: a running sum and
// count per key in keyed value state. Two sources:
//
// source=generator (the default):
//   generator (records rows: key "k<i % keys>", value i)
//     --hash by key--> sum (emits [key, sum, count] when input ends)
//     --> file sink (output=DIR) or stdout
//   Arguments: records (default 1000000), keys (default 100), output (a directory;
//   stdout when absent), rate (rows per second per subtask, default 0: unthrottled; a
//   throttled job runs long enough to lose a task manager mid-way).
//
// source=kafka (exactly-once recovery from Kafka to Kafka, built so that a lost or
// duplicated input shows in its committed output):
//   Kafka source (Debezium JSON, schemas off: {"after":{"id","k","v"},"op":"c"})
//     --hash by k--> sum (emits a row per input) --> exactly-once Kafka sink
//     (changelog-json, keyed by k, a transaction per checkpoint)
//   - Every input row is (id int64, k string, v int64); ids are unique.
//   - The sum emits [k, id, sum, count, inst] per input: the key's running sum of v and
//     count of rows including this one, and `inst`, a token new in every instance of
//     the sum function (so a reader can tell which attempt produced a row).
//   So, with exactly-once recovery, a read_committed consumer of the output sees every
//   input id exactly once, per key every count 1..n exactly once, and sum(c) - sum(c-1)
//   equal to the v of the row with count c.
//   Arguments: brokers, input (topic), output (topic), txn_prefix (default: output),
//   group (default: output); source.<option> / sink.<option> go to the connectors.
//   The plugin then needs a host that serves cdcflow/connectors.h (the cdcflow binary).
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cdcflow/connectors.h"
#include "cdcflow/job.h"
#include "cdcflow/plugin.h"

namespace {

using cdcflow::Collector;
using cdcflow::KeyedContext;
using cdcflow::KeyedProcessFunction;
using cdcflow::KeyedRuntimeContext;
using cdcflow::KeyedValueState;
using cdcflow::Row;
using cdcflow::TimeDomain;
using cdcflow::Value;
using cdcflow::ValueType;

// The columns of a Kafka input row.
constexpr int kId = 0, kKey = 1, kValue = 2;

// The running sum of an int64 column and the count of rows, per key.
class SumPerKey final : public KeyedProcessFunction {
 public:
  enum class Emit {
    // Input [key, v]; emits [key, sum, count] once per key, when event time ends (the
    // bounded input is exhausted).
    kAtEnd,
    // Input (id int64, k string, v int64); emits [k, id, sum, count, inst] per row.
    kEveryRow,
  };
  explicit SumPerKey(Emit emit) : emit_(emit) {}

  absl::Status Open(KeyedRuntimeContext& ctx) override {
    auto sum_state = ctx.GetValueState("sum");
    if (!sum_state.ok()) return sum_state.status();
    sum_ = *sum_state;
    auto count_state = ctx.GetValueState("count");
    if (!count_state.ok()) return count_state.status();
    count_ = *count_state;
    if (emit_ == Emit::kEveryRow) {
      std::random_device rd;
      inst_ = absl::StrCat(ctx.subtask_index(), ".", rd(), rd());
    }
    return absl::OkStatus();
  }

  absl::Status ProcessElement(Row& row, KeyedContext& ctx, Collector& out) override {
    // The Kafka columns come from the first event (schemas off): check them, never guess.
    if (emit_ == Emit::kEveryRow &&
        (row.fields.size() != 3 || row.fields[kId].type() != ValueType::kInt64 ||
         row.fields[kKey].type() != ValueType::kString ||
         row.fields[kValue].type() != ValueType::kInt64)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "keyed_sum: expected a row (id int64, k string, v int64), got ", row.ToString()));
    }
    const Value& v = row.fields[emit_ == Emit::kEveryRow ? kValue : 1];
    const Value* sum = sum_->Get();
    const int64_t s = v.as_int64() + (sum == nullptr ? 0 : sum->as_int64());
    const int64_t c = 1 + (sum == nullptr ? 0 : count_->Get()->as_int64());
    const bool first = sum == nullptr;
    sum_->Put(Value::Int64(s));
    count_->Put(Value::Int64(c));
    if (emit_ == Emit::kAtEnd) {
      if (first) ctx.RegisterEventTimeTimer(cdcflow::kMaxWatermark);
      return absl::OkStatus();
    }
    Row result;
    result.fields = {ctx.current_key().fields[0], row.fields[kId], Value::Int64(s),
                     Value::Int64(c), Value::Str(inst_)};
    out.Emit(std::move(result));
    return absl::OkStatus();
  }

  absl::Status OnTimer(int64_t, TimeDomain, KeyedContext& ctx, Collector& out) override {
    Row row;
    row.fields = {ctx.current_key().fields[0], *sum_->Get(), *count_->Get()};
    out.Emit(std::move(row));
    return absl::OkStatus();
  }

 private:
  const Emit emit_;
  KeyedValueState* sum_ = nullptr;
  KeyedValueState* count_ = nullptr;
  std::string inst_;
};

absl::Status BuildGenerator(cdcflow::JobBuilder& job) {
  absl::StatusOr<int64_t> records = job.args().GetInt("records", 1'000'000);
  if (!records.ok()) return records.status();
  absl::StatusOr<int64_t> keys = job.args().GetInt("keys", 100);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<int64_t> rate = job.args().GetInt("rate", 0);
  if (!rate.ok()) return rate.status();
  if (*records < 0 || *keys < 1 || *rate < 0) {
    return absl::InvalidArgumentError(
        "keyed_sum: records must be >= 0, keys >= 1 and rate >= 0 (0: unthrottled)");
  }
  const int64_t k = *keys;
  const int64_t parallelism = job.default_parallelism();
  // Throttled: every 10th row of a subtask sleeps for 10 rows' worth of time.
  const bool throttled = *rate > 0;
  const auto pause = std::chrono::microseconds(throttled ? 10'000'000 / *rate : 0);
  job.SetJobName("keyed_sum");
  cdcflow::Stream sums =
      job.Source("numbers", cdcflow::Generator(*records,
                                               [k, parallelism, throttled, pause](int64_t i) {
                                                 if (throttled && (i / parallelism) % 10 == 0) {
                                                   std::this_thread::sleep_for(pause);
                                                 }
                                                 Row row;
                                                 row.fields = {Value::Str("k" + std::to_string(i % k)),
                                                               Value::Int64(i)};
                                                 return row;
                                               }))
          .KeyBy({0})
          .Process("sum", [] { return std::make_unique<SumPerKey>(SumPerKey::Emit::kAtEnd); });
  const std::string output = job.args().Get("output");
  sums.SinkTo("out", output.empty() ? cdcflow::StdoutSink() : cdcflow::FileSink(output));
  return absl::OkStatus();
}

absl::Status BuildKafka(cdcflow::JobBuilder& job) {
  const cdcflow::JobArgs& args = job.args();
  const std::string brokers = args.Get("brokers");
  const std::string input = args.Get("input");
  const std::string output = args.Get("output");
  if (brokers.empty() || input.empty() || output.empty()) {
    return absl::InvalidArgumentError(
        "keyed_sum source=kafka: brokers=HOST:PORT, input=TOPIC and output=TOPIC are required");
  }
  job.SetJobName("keyed_sum");

  cdcflow::KafkaSourceSpec source;
  source.bootstrap_servers = brokers;
  source.topics = {input};
  source.group_id = args.Get("group", output);
  source.startup_mode = "earliest-offset";
  source.options = cdcflow::OptionsFromArgs(args, "source.");
  absl::StatusOr<cdcflow::SourceFactory> in = cdcflow::KafkaDebeziumSource(source);
  if (!in.ok()) return in.status();

  cdcflow::KafkaSinkSpec sink;
  sink.bootstrap_servers = brokers;
  sink.topic = output;
  sink.format = "changelog-json";
  sink.key_fields = {"k"};
  sink.schema = cdcflow::Schema{{cdcflow::Field{"k", ValueType::kString},
                                 cdcflow::Field{"id", ValueType::kInt64},
                                 cdcflow::Field{"sum", ValueType::kInt64},
                                 cdcflow::Field{"count", ValueType::kInt64},
                                 cdcflow::Field{"inst", ValueType::kString}}};
  sink.options = {{"sink.delivery-guarantee", "exactly-once"},
                  {"sink.transactional-id-prefix", args.Get("txn_prefix", output)}};
  for (const auto& [key, value] : cdcflow::OptionsFromArgs(args, "sink.")) {
    sink.options["sink." + key] = value;
  }
  absl::StatusOr<cdcflow::SinkFactory> out = cdcflow::KafkaSink(sink);
  if (!out.ok()) return out.status();

  job.Source("in", *std::move(in))
      .KeyBy({kKey})
      .Process("sum", [] { return std::make_unique<SumPerKey>(SumPerKey::Emit::kEveryRow); })
      .SinkTo("out", *std::move(out));
  return absl::OkStatus();
}

absl::Status Build(cdcflow::JobBuilder& job) {
  const std::string source = job.args().Get("source", "generator");
  if (source == "generator") return BuildGenerator(job);
  if (source == "kafka") return BuildKafka(job);
  return absl::InvalidArgumentError(
      absl::StrCat("keyed_sum: source must be generator or kafka, got '", source, "'"));
}

}  // namespace

CDCFLOW_JOB(Build)
