#include "connectors/kafka/dead_letter.h"

#include "absl/strings/str_cat.h"

namespace cdcflow::kafka {

absl::StatusOr<std::unique_ptr<DeadLetterHandler>> DeadLetterHandler::Create(
    const KafkaSourceConfig& config) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  std::unique_ptr<DeadLetterHandler> handler(
      new DeadLetterHandler(config.dead_letter_policy, config.dead_letter_topic));
  if (config.dead_letter_policy == DeadLetterPolicy::kDeadLetter) {
    auto producer = KafkaProducer::Create(config.ToDeadLetterProducerSettings());
    if (!producer.ok()) return producer.status();
    handler->producer_ = std::move(*producer);
    handler->topic_ = handler->producer_->Topic(handler->topic_name_);
  }
  return handler;
}

absl::Status DeadLetterHandler::Handle(const KafkaMessage& message, const absl::Status& reason) {
  std::string where = absl::StrCat("topic '", absl::string_view(message.topic().data(),
                                                                 message.topic().size()),
                                   "' partition ", message.partition(), " offset ",
                                   message.offset());
  if (policy_ == DeadLetterPolicy::kFail) {
    absl::StatusCode code =
        reason.ok() ? absl::StatusCode::kInvalidArgument : reason.code();
    return absl::Status(code, absl::StrCat("kafka source: bad record at ", where, ": ",
                                           reason.message()));
  }
  HeadersPtr headers(rd_kafka_headers_new(8));
  for (const KafkaHeader& h : message.headers()) {
    rd_kafka_header_add(headers.get(), h.name.data(), static_cast<ssize_t>(h.name.size()),
                        h.has_value ? h.value.data() : nullptr,
                        static_cast<ssize_t>(h.value.size()));
  }
  auto add = [&](const char* name, const std::string& value) {
    rd_kafka_header_add(headers.get(), name, -1, value.data(), static_cast<ssize_t>(value.size()));
  };
  add(kDlqErrorHeader, std::string(reason.message()));
  add(kDlqTopicHeader, std::string(message.topic()));
  add(kDlqPartitionHeader, std::to_string(message.partition()));
  add(kDlqOffsetHeader, std::to_string(message.offset()));
  add(kDlqTimestampHeader, std::to_string(message.timestamp_ms()));
  const rd_kafka_message_t* m = message.raw();
  absl::Status s = producer_->Produce(
      topic_, RD_KAFKA_PARTITION_UA, static_cast<const char*>(m->key), m->key_len,
      static_cast<const char*>(m->payload), m->len, std::move(headers));
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("kafka source: writing the bad record at ", where,
                                               " to dead-letter topic '", topic_name_,
                                               "': ", s.message()));
  }
  ++dead_letters_;
  return absl::OkStatus();
}

absl::Status DeadLetterHandler::Flush(int timeout_ms) {
  if (producer_ == nullptr) return absl::OkStatus();
  return producer_->Flush(timeout_ms);
}

}  // namespace cdcflow::kafka
