// cdcflow decode [FILE|-] [--format text|json] [--value-schema F] [--key-schema F]
// cdcflow decode --topic T --bootstrap-servers B [--from earliest|latest] [--follow]
//                [--max-messages N] [...]
//
// Reads Debezium events, one Kafka message a line: either the value alone (one
// JSON value a line) or `key<TAB>value` (an empty value is a tombstone); or
// straight from a Kafka topic (all partitions; by default from the earliest
// offset to the end of the topic as it is when the end is reached). Prints
// one changelog row a line in the stable text form `+I[101, scooter, 3.14]`, or
// with --format json one JSON object a line. Truncate and message events print
// as `TRUNCATE <prefix>.<schema>.<table>` / `MESSAGE <prefix> <msg-prefix> <content>`.
// A line that does not decode is reported on stderr as `line N: reason` (from
// Kafka: `topic/partition@offset: reason`); the others are still decoded and the
// exit code is 1.
#include "cli/decode_command.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "connectors/debezium/decoder.h"
#include "connectors/kafka/kafka_config.h"
#include "connectors/kafka/kafka_consumer.h"
#include "nlohmann/json.hpp"

namespace cdcflow::cli {
namespace {

struct DecodeOptions {
  std::string input = "-";
  std::string format = "text";
  std::string value_schema;
  std::string key_schema;
  std::string topic_name = "cdcflow-decode";
  // Kafka input
  std::string topic;
  std::string bootstrap_servers;
  std::string from = "earliest";
  bool follow = false;
  int64_t max_messages = 0;  // 0: no limit
};

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

nlohmann::ordered_json ValueJson(const Value& v) {
  switch (v.type()) {
    case ValueType::kNull: return nullptr;
    case ValueType::kBool: return v.as_bool();
    case ValueType::kInt32: return v.as_int32();
    case ValueType::kInt64: return v.as_int64();
    case ValueType::kFloat64:
      if (std::isfinite(v.as_float64())) return v.as_float64();
      return v.ToString();
    case ValueType::kUnavailable: return nlohmann::ordered_json{{"unavailable", true}};
    default: return v.ToString();  // exact text: decimals, times, UUIDs, bytes as hex, JSON text
  }
}

std::string Hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

void Print(const debezium::Event& e, bool json, std::ostream& os) {
  using debezium::EventKind;
  if (e.kind == EventKind::kTombstone) return;
  if (!json) {
    if (e.kind == EventKind::kTruncate) {
      os << "TRUNCATE " << e.SourceTableName() << "\n";
    } else if (e.kind == EventKind::kMessage) {
      os << "MESSAGE " << e.source.name << " " << e.message_prefix << " " << Hex(e.message_content)
         << "\n";
    } else {
      for (const Row& r : e.rows) os << r.ToString() << "\n";
    }
    return;
  }
  auto dump = [&](const nlohmann::ordered_json& j) {
    os << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  };
  if (e.kind == EventKind::kTruncate) {
    dump({{"control", "TRUNCATE"}, {"table", e.SourceTableName()}});
    return;
  }
  if (e.kind == EventKind::kMessage) {
    dump({{"control", "MESSAGE"},
          {"name", e.source.name},
          {"prefix", e.message_prefix},
          {"content", Hex(e.message_content)}});
    return;
  }
  for (const Row& r : e.rows) {
    nlohmann::ordered_json row = nlohmann::ordered_json::object();
    for (size_t i = 0; i < r.fields.size(); ++i) {
      std::string name = e.value_schema != nullptr && i < e.value_schema->size()
                             ? e.value_schema->fields()[i].name
                             : "f" + std::to_string(i);
      row[name] = ValueJson(r.fields[i]);
    }
    dump({{"kind", std::string(RowKindShortString(r.kind))}, {"row", std::move(row)}});
  }
}

int RunKafka(const DecodeOptions& opts, debezium::Decoder& decoder, bool json) {
  if (opts.topic.empty() || opts.bootstrap_servers.empty()) {
    std::cerr << "decode: --topic and --bootstrap-servers go together\n";
    return 2;
  }
  if (opts.from != "earliest" && opts.from != "latest") {
    std::cerr << "decode: --from must be earliest or latest\n";
    return 2;
  }
  kafka::KafkaSourceConfig config;
  config.bootstrap_servers = opts.bootstrap_servers;
  config.topics = {opts.topic};
  config.group_id = "cdcflow-decode";
  config.start_mode = opts.from == "latest" ? kafka::StartMode::kLatest : kafka::StartMode::kEarliest;
  if (absl::Status s = config.Validate(); !s.ok()) {
    std::cerr << "decode: " << s.message() << "\n";
    return 2;
  }
  auto consumer = kafka::KafkaConsumer::Create(config, /*subtask_index=*/0, /*parallelism=*/1);
  if (!consumer.ok()) {
    std::cerr << "decode: " << consumer.status().message() << "\n";
    return 2;
  }
  debezium::Event event;
  kafka::MessageBatch batch;
  int64_t seen = 0;
  int errors = 0;
  while (opts.max_messages == 0 || seen < opts.max_messages) {
    if (absl::Status s = (*consumer)->Poll(&batch); !s.ok()) {
      std::cerr << "decode: " << s.message() << "\n";
      return 1;
    }
    if (batch.empty()) {
      if (opts.follow) continue;
      auto end = (*consumer)->ReachedEnd(/*timeout_ms=*/10000);
      if (!end.ok()) {
        std::cerr << "decode: " << end.status().message() << "\n";
        return 1;
      }
      if (*end) break;
      continue;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (opts.max_messages != 0 && seen >= opts.max_messages) break;
      ++seen;
      kafka::KafkaMessage m = batch[i];
      absl::Status s = decoder.Decode(opts.topic_name, m.key(), m.value(), &event);
      if (!s.ok()) {
        std::cerr << m.topic() << "/" << m.partition() << "@" << m.offset() << ": " << s.message()
                  << "\n";
        ++errors;
        continue;
      }
      Print(event, json, std::cout);
    }
    batch.Clear();
  }
  std::cout.flush();
  if (errors > 0) {
    std::cerr << "decode: " << errors << " of " << seen << " messages failed\n";
    return 1;
  }
  return 0;
}

int Run(const DecodeOptions& opts) {
  if (opts.format != "text" && opts.format != "json") {
    std::cerr << "decode: --format must be text or json\n";
    return 2;
  }
  debezium::Decoder decoder;
  for (auto [path, is_key] : {std::pair{opts.value_schema, false}, std::pair{opts.key_schema, true}}) {
    if (path.empty()) continue;
    std::string text;
    if (!ReadFile(path, &text)) {
      std::cerr << "decode: cannot read schema file " << path << "\n";
      return 2;
    }
    absl::Status s = is_key ? decoder.SetKeySchema(opts.topic_name, text)
                            : decoder.SetValueSchema(opts.topic_name, text);
    if (!s.ok()) {
      std::cerr << "decode: " << path << ": " << s.message() << "\n";
      return 2;
    }
  }
  const bool json = opts.format == "json";
  if (!opts.topic.empty() || !opts.bootstrap_servers.empty()) {
    return RunKafka(opts, decoder, json);
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (opts.input != "-") {
    file.open(opts.input, std::ios::binary);
    if (!file) {
      std::cerr << "decode: cannot open " << opts.input << "\n";
      return 2;
    }
    in = &file;
  }
  debezium::Event event;
  int errors = 0;
  int64_t line_no = 0;
  std::string line;
  while (std::getline(*in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string_view key, value = line;
    if (size_t tab = line.find('\t'); tab != std::string::npos) {
      key = std::string_view(line).substr(0, tab);
      value = std::string_view(line).substr(tab + 1);
    } else if (line.find_first_not_of(" \t") == std::string::npos) {
      continue;  // blank line in value-per-line input
    }
    absl::Status s = decoder.Decode(opts.topic_name, key, value, &event);
    if (!s.ok()) {
      std::cerr << "line " << line_no << ": " << s.message() << "\n";
      ++errors;
      continue;
    }
    Print(event, json, std::cout);
  }
  std::cout.flush();
  if (errors > 0) {
    std::cerr << "decode: " << errors << " of " << line_no << " lines failed\n";
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterDecodeCommand(CLI::App& app, CommandContext& context) {
  auto opts = std::make_shared<DecodeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "decode", "Decode Debezium events (one message a line: value, or key<TAB>value) to changelog rows");
  cmd->add_option("input", opts->input, "File to read, '-' for stdin")->capture_default_str();
  cmd->add_option("--format", opts->format, "Output form: text or json")->capture_default_str();
  cmd->add_option("--value-schema", opts->value_schema,
                  "Connect schema JSON (or a schemas-on message) for schemas-off values");
  cmd->add_option("--key-schema", opts->key_schema,
                  "Connect schema JSON (or a schemas-on key) for schemas-off keys");
  cmd->add_option("--topic", opts->topic, "Read this Kafka topic (all partitions) instead of a file");
  cmd->add_option("--bootstrap-servers", opts->bootstrap_servers, "Kafka bootstrap servers for --topic");
  cmd->add_option("--from", opts->from, "Where to start in the topic: earliest or latest")
      ->capture_default_str();
  cmd->add_flag("--follow", opts->follow, "Keep reading new messages instead of stopping at the end");
  cmd->add_option("--max-messages", opts->max_messages, "Stop after this many messages (0: no limit)");
  cmd->callback([opts, &context] {
    // Schemas supplied on the command line apply to the topic read.
    if (!opts->topic.empty()) opts->topic_name = opts->topic;
    context.exit_code = Run(*opts);
  });
}

}  // namespace cdcflow::cli
