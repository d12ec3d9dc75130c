// A test job for exactly-once recovery from Kafka to Kafka in the cluster, built so
// that a lost or duplicated input shows in its committed output:
//
//   Kafka source (Debezium JSON, schemas off: {"after":{"id","k","v"},"op":"c"})
//     --hash by k--> per-key running sum --> exactly-once Kafka sink (changelog-json)
//
// - Every input row is (id int64, k string, v int64); ids are unique.
// - The sum emits one row per input: [k, id, sum, count, inst]: the key's running sum
//   of v and count of rows including this one, and `inst`, a token new in every
//   instance of the sum function (so a reader can tell which attempt produced a row).
// - The sink writes transactionally (a transaction per checkpoint), keyed by k.
//
// So, with exactly-once recovery, a read_committed consumer of the output sees every
// input id exactly once, per key every count 1..n exactly once, and sum(c) - sum(c-1)
// equal to the v of the row with count c.
//
// Arguments: brokers, input (topic), output (topic), txn_prefix (default: output),
// group (default: output); source.<option> / sink.<option> go to the connectors.
#include <memory>
#include <random>
#include <string>

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
using cdcflow::Value;
using cdcflow::ValueType;

constexpr int kId = 0, kKey = 1, kValue = 2;

class RunningSum final : public KeyedProcessFunction {
 public:
  absl::Status Open(KeyedRuntimeContext& ctx) override {
    auto sum = ctx.GetValueState("sum");
    if (!sum.ok()) return sum.status();
    sum_ = *sum;
    auto count = ctx.GetValueState("count");
    if (!count.ok()) return count.status();
    count_ = *count;
    std::random_device rd;
    inst_ = absl::StrCat(ctx.subtask_index(), ".", rd(), rd());
    return absl::OkStatus();
  }

  absl::Status ProcessElement(Row& row, KeyedContext& ctx, Collector& out) override {
    // The columns come from the first event (schemas off): check them, never guess.
    if (row.fields.size() != 3 || row.fields[kId].type() != ValueType::kInt64 ||
        row.fields[kKey].type() != ValueType::kString ||
        row.fields[kValue].type() != ValueType::kInt64) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka_sum: expected a row (id int64, k string, v int64), got ",
                       row.ToString()));
    }
    const Value* sum = sum_->Get();
    const int64_t s = row.fields[kValue].as_int64() + (sum == nullptr ? 0 : sum->as_int64());
    const int64_t c = 1 + (sum == nullptr ? 0 : count_->Get()->as_int64());
    sum_->Put(Value::Int64(s));
    count_->Put(Value::Int64(c));
    Row result;
    result.fields = {ctx.current_key().fields[0], row.fields[kId], Value::Int64(s),
                     Value::Int64(c), Value::Str(inst_)};
    out.Emit(std::move(result));
    return absl::OkStatus();
  }

 private:
  KeyedValueState* sum_ = nullptr;
  KeyedValueState* count_ = nullptr;
  std::string inst_;
};

absl::Status Build(cdcflow::JobBuilder& job) {
  const cdcflow::JobArgs& args = job.args();
  const std::string brokers = args.Get("brokers");
  const std::string input = args.Get("input");
  const std::string output = args.Get("output");
  if (brokers.empty() || input.empty() || output.empty()) {
    return absl::InvalidArgumentError(
        "kafka_sum: brokers=HOST:PORT, input=TOPIC and output=TOPIC are required");
  }
  job.SetJobName("kafka_sum");

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
      .Process("sum", [] { return std::make_unique<RunningSum>(); })
      .SinkTo("out", *std::move(out));
  return absl::OkStatus();
}

}  // namespace

CDCFLOW_JOB(Build)
