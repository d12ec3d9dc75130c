#include "connectors/kafka/kafka_config.h"

#include <algorithm>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cdcflow::kafka {
namespace {

constexpr absl::string_view kPropertiesPrefix = "properties.";

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

template <typename Int>
absl::Status ParseInt(const std::string& key, const std::string& text, Int min, Int* out) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < static_cast<int64_t>(min) ||
      v > static_cast<int64_t>(std::numeric_limits<Int>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka option '", key, "': expected an integer >= ", min, ", got '", text, "'"));
  }
  *out = static_cast<Int>(v);
  return absl::OkStatus();
}

absl::Status ParseSpecificOffsets(const std::string& text,
                                  std::map<TopicPartition, int64_t>* out) {
  for (const std::string& item : SplitList(text)) {
    // topic names may not contain ':', so the last two ':' split the item.
    std::vector<std::string> parts = absl::StrSplit(item, ':');
    int32_t partition = 0;
    int64_t offset = 0;
    if (parts.size() != 3 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &partition) ||
        partition < 0 || !absl::SimpleAtoi(parts[2], &offset) || offset < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka option 'scan.startup.specific-offsets': item '", item,
                       "' is not topic:partition:offset"));
    }
    (*out)[TopicPartition{parts[0], partition}] = offset;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<KafkaSourceConfig> KafkaSourceConfig::Parse(const KafkaOptions& options) {
  KafkaSourceConfig c;
  for (const auto& [key, value] : options) {
    absl::Status s;
    if (key == "bootstrap.servers") {
      c.bootstrap_servers = value;
    } else if (key == "topics" || key == "topic") {
      c.topics = SplitList(value);
    } else if (key == "topic-pattern") {
      c.topic_pattern = value;
    } else if (key == "group.id") {
      c.group_id = value;
    } else if (key == "scan.startup.mode") {
      if (value == "earliest-offset" || value == "earliest") {
        c.start_mode = StartMode::kEarliest;
      } else if (value == "latest-offset" || value == "latest") {
        c.start_mode = StartMode::kLatest;
      } else if (value == "timestamp") {
        c.start_mode = StartMode::kTimestamp;
      } else if (value == "specific-offsets") {
        c.start_mode = StartMode::kSpecificOffsets;
      } else {
        s = absl::InvalidArgumentError(absl::StrCat(
            "kafka option 'scan.startup.mode': '", value,
            "' is not one of earliest-offset, latest-offset, timestamp, specific-offsets"));
      }
    } else if (key == "scan.startup.timestamp-millis") {
      s = ParseInt<int64_t>(key, value, 0, &c.start_timestamp_ms);
    } else if (key == "scan.startup.specific-offsets") {
      s = ParseSpecificOffsets(value, &c.start_offsets);
    } else if (key == "scan.batch.max-records") {
      s = ParseInt<int>(key, value, 1, &c.max_batch_records);
    } else if (key == "scan.batch.max-wait-ms") {
      s = ParseInt<int>(key, value, 0, &c.max_batch_wait_ms);
    } else if (key == "scan.read-ahead.bytes") {
      s = ParseInt<int64_t>(key, value, 0, &c.read_ahead_bytes);
    } else if (key == "scan.partition-discovery.interval-ms") {
      s = ParseInt<int64_t>(key, value, 0, &c.partition_discovery_interval_ms);
    } else if (key == "metadata.timeout-ms") {
      s = ParseInt<int>(key, value, 1, &c.metadata_timeout_ms);
    } else if (key == "dead-letter.policy") {
      if (value == "fail") {
        c.dead_letter_policy = DeadLetterPolicy::kFail;
      } else if (value == "dead-letter") {
        c.dead_letter_policy = DeadLetterPolicy::kDeadLetter;
      } else {
        s = absl::InvalidArgumentError(absl::StrCat(
            "kafka option 'dead-letter.policy': '", value, "' is not one of fail, dead-letter"));
      }
    } else if (key == "debezium.source-position") {
      if (value == "true" || value == "false") {
        c.append_source_position = value == "true";
      } else {
        s = absl::InvalidArgumentError(absl::StrCat(
            "kafka option 'debezium.source-position': '", value, "' is not true or false"));
      }
    } else if (key == "dead-letter.topic") {
      c.dead_letter_topic = value;
    } else if (absl::StartsWith(key, kPropertiesPrefix)) {
      c.properties.emplace_back(key.substr(kPropertiesPrefix.size()), value);
    } else {
      s = absl::InvalidArgumentError(absl::StrCat("unknown kafka source option '", key, "'"));
    }
    if (!s.ok()) return s;
  }
  if (absl::Status s = c.Validate(); !s.ok()) return s;
  return c;
}

absl::Status KafkaSourceConfig::Validate() const {
  if (bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka source: 'bootstrap.servers' is required");
  }
  if (topics.empty() == topic_pattern.empty()) {
    return absl::InvalidArgumentError(
        "kafka source: exactly one of 'topics' and 'topic-pattern' must be given");
  }
  for (const std::string& t : topics) {
    if (t.empty() || t.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("kafka source: bad topic name '", t, "'"));
    }
  }
  if (!topic_pattern.empty()) {
    try {
      std::regex re(topic_pattern);
    } catch (const std::regex_error& e) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kafka source: 'topic-pattern' '", topic_pattern, "' is not a valid regex: ", e.what()));
    }
  }
  if (group_id.empty()) return absl::InvalidArgumentError("kafka source: 'group.id' is empty");
  if (start_mode == StartMode::kTimestamp && start_timestamp_ms <= 0) {
    return absl::InvalidArgumentError(
        "kafka source: scan.startup.mode 'timestamp' needs 'scan.startup.timestamp-millis' > 0");
  }
  if (start_mode == StartMode::kSpecificOffsets && start_offsets.empty()) {
    return absl::InvalidArgumentError(
        "kafka source: scan.startup.mode 'specific-offsets' needs "
        "'scan.startup.specific-offsets'");
  }
  if (max_batch_records < 1 || max_batch_wait_ms < 0) {
    return absl::InvalidArgumentError("kafka source: batch size must be >= 1 and wait >= 0");
  }
  if (dead_letter_policy == DeadLetterPolicy::kDeadLetter && dead_letter_topic.empty()) {
    return absl::InvalidArgumentError(
        "kafka source: 'dead-letter.policy' dead-letter needs 'dead-letter.topic'");
  }
  return absl::OkStatus();
}

KafkaSettings KafkaSourceConfig::ToConsumerSettings() const {
  KafkaSettings s = {
      {"bootstrap.servers", bootstrap_servers},
      {"group.id", group_id},
      {"client.id", "cdcflow-source"},
      // cdcflow's checkpoints own the offsets; commits would only be for monitoring.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      // A checkpointed offset that retention deleted is data loss: fail, don't skip.
      {"auto.offset.reset", "error"},
      {"topic.metadata.refresh.interval.ms", "30000"},
      // Bounded prefetch (librdkafka's defaults let one consumer hold 64 MiB of fetched
      // messages, and a fetch response up to 50 MiB): see kSourceReadAheadBytes. Not more
      // than the read-ahead, so that taking a full librdkafka queue always pauses (and the
      // resume wakes the fetcher that stopped on it).
      {"queued.max.messages.kbytes",
       absl::StrCat(read_ahead_bytes > 0 ? std::max<int64_t>(1, read_ahead_bytes >> 10)
                                         : kSourcePrefetchKbytes)},
      {"fetch.max.bytes", absl::StrCat(kSourceFetchMaxBytes)},
  };
  s.insert(s.end(), properties.begin(), properties.end());
  return s;
}

KafkaSettings KafkaSourceConfig::ToDeadLetterProducerSettings() const {
  KafkaSettings s = {
      {"bootstrap.servers", bootstrap_servers},
      {"client.id", "cdcflow-dead-letter"},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "5"},
  };
  // Only security/connection properties make sense for both; pass those that
  // are not consumer-only. librdkafka warns about but accepts misplaced ones.
  for (const auto& [key, value] : properties) {
    if (absl::StartsWith(key, "security.") || absl::StartsWith(key, "sasl.") ||
        absl::StartsWith(key, "ssl.") || key == "test.mock.num.brokers") {
      s.emplace_back(key, value);
    }
  }
  return s;
}

absl::StatusOr<KafkaSinkConfig> KafkaSinkConfig::Parse(const KafkaOptions& options) {
  KafkaSinkConfig c;
  for (const auto& [key, value] : options) {
    absl::Status s;
    if (key == "bootstrap.servers") {
      c.bootstrap_servers = value;
    } else if (key == "topic") {
      c.topic = value;
    } else if (key == "format") {
      if (value == "debezium-json") {
        c.format = SinkFormat::kDebeziumJson;
      } else if (value == "changelog-json") {
        c.format = SinkFormat::kChangelogJson;
      } else if (value == "upsert-json") {
        c.format = SinkFormat::kUpsertJson;
      } else {
        s = absl::InvalidArgumentError(
            absl::StrCat("kafka option 'format': '", value,
                         "' is not one of debezium-json, changelog-json, upsert-json"));
      }
    } else if (key == "key.fields") {
      c.key_fields = SplitList(value);
    } else if (key == "sink.linger-ms") {
      s = ParseInt<int>(key, value, 0, &c.linger_ms);
    } else if (key == "sink.batch-num-messages") {
      s = ParseInt<int>(key, value, 1, &c.batch_num_messages);
    } else if (key == "sink.delivery-timeout-ms") {
      s = ParseInt<int>(key, value, 1, &c.delivery_timeout_ms);
    } else if (key == "sink.flush-timeout-ms") {
      s = ParseInt<int>(key, value, 1, &c.flush_timeout_ms);
    } else if (key == "sink.delivery-guarantee") {
      if (value == "at-least-once") {
        c.delivery = DeliveryGuarantee::kAtLeastOnce;
      } else if (value == "exactly-once") {
        c.delivery = DeliveryGuarantee::kExactlyOnce;
      } else {
        s = absl::InvalidArgumentError(
            absl::StrCat("kafka option 'sink.delivery-guarantee': '", value,
                         "' is not one of at-least-once, exactly-once"));
      }
    } else if (key == "sink.transactional-id-prefix") {
      c.transactional_id_prefix = value;
    } else if (key == "sink.transaction.pool-size") {
      s = ParseInt<int>(key, value, 2, &c.transaction_pool_size);
    } else if (key == "sink.transaction.timeout-ms") {
      s = ParseInt<int>(key, value, 1000, &c.transaction_timeout_ms);
    } else if (absl::StartsWith(key, kPropertiesPrefix)) {
      c.properties.emplace_back(key.substr(kPropertiesPrefix.size()), value);
    } else {
      s = absl::InvalidArgumentError(absl::StrCat("unknown kafka sink option '", key, "'"));
    }
    if (!s.ok()) return s;
  }
  if (absl::Status s = c.Validate(); !s.ok()) return s;
  return c;
}

absl::Status KafkaSinkConfig::Validate() const {
  if (bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka sink: 'bootstrap.servers' is required");
  }
  if (topic.empty()) return absl::InvalidArgumentError("kafka sink: 'topic' is required");
  if (format == SinkFormat::kUpsertJson && key_fields.empty()) {
    return absl::InvalidArgumentError(
        "kafka sink: format 'upsert-json' needs 'key.fields' (the primary key)");
  }
  for (const auto& [key, value] : properties) {
    if (key == "enable.idempotence" && value != "true") {
      return absl::InvalidArgumentError(
          "kafka sink: 'properties.enable.idempotence' must stay true (duplicates on retry)");
    }
    if (key == "transactional.id" || key == "transaction.timeout.ms") {
      return absl::InvalidArgumentError(absl::StrCat(
          "kafka sink: 'properties.", key,
          "' is managed by the sink: use 'sink.delivery-guarantee' = exactly-once with "
          "'sink.transactional-id-prefix' / 'sink.transaction.timeout-ms'"));
    }
  }
  if (exactly_once()) {
    if (transactional_id_prefix.empty()) {
      return absl::InvalidArgumentError(
          "kafka sink: 'sink.delivery-guarantee' exactly-once needs "
          "'sink.transactional-id-prefix' (unique per job and sink: two jobs sharing it fence "
          "each other's transactions)");
    }
    if (transaction_pool_size < 2) {
      return absl::InvalidArgumentError("kafka sink: 'sink.transaction.pool-size' must be >= 2");
    }
  }
  return absl::OkStatus();
}

KafkaSettings KafkaSinkConfig::ToProducerSettings(const std::string& transactional_id) const {
  KafkaSettings s = {
      {"bootstrap.servers", bootstrap_servers},
      {"client.id", "cdcflow-sink"},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", std::to_string(linger_ms)},
      {"batch.num.messages", std::to_string(batch_num_messages)},
      // librdkafka refuses a transactional producer whose delivery timeout exceeds the
      // transaction timeout (and a record outliving its transaction is useless anyway).
      {"delivery.timeout.ms",
       std::to_string(transactional_id.empty()
                          ? delivery_timeout_ms
                          : std::min(delivery_timeout_ms, transaction_timeout_ms))},
  };
  if (!transactional_id.empty()) {
    s.emplace_back("transactional.id", transactional_id);
    s.emplace_back("transaction.timeout.ms", std::to_string(transaction_timeout_ms));
  }
  s.insert(s.end(), properties.begin(), properties.end());
  return s;
}

KafkaSettings KafkaSinkConfig::ToRecoveryConsumerSettings(const std::string& group_id,
                                                          bool read_committed) const {
  KafkaSettings s = {
      {"bootstrap.servers", bootstrap_servers},
      {"client.id", "cdcflow-sink-recovery"},
      {"group.id", group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "error"},
      // librdkafka sends OffsetFetch with require_stable when read_committed.
      {"isolation.level", read_committed ? "read_committed" : "read_uncommitted"},
  };
  for (const auto& [key, value] : properties) {
    if (absl::StartsWith(key, "security.") || absl::StartsWith(key, "sasl.") ||
        absl::StartsWith(key, "ssl.") || key == "test.mock.num.brokers" || key == "log_level" ||
        key == "debug") {
      s.emplace_back(key, value);
    }
  }
  return s;
}

}  // namespace cdcflow::kafka
