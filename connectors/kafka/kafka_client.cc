#include "connectors/kafka/kafka_client.h"

#include "absl/strings/str_cat.h"

namespace cdcflow::kafka {
namespace {

absl::StatusCode CodeFor(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return absl::StatusCode::kOk;
    // Local, transient: the client retries or the caller should.
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
      return absl::StatusCode::kUnavailable;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return absl::StatusCode::kDeadlineExceeded;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PROTOCOL:
    case RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED:
    case RD_KAFKA_RESP_ERR__INVALID_TYPE:
    case RD_KAFKA_RESP_ERR__UNKNOWN_GROUP:
    case RD_KAFKA_RESP_ERR__VALUE_DESERIALIZATION:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
      return absl::StatusCode::kInvalidArgument;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__NOENT:
      return absl::StatusCode::kNotFound;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
      return absl::StatusCode::kPermissionDenied;
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__BAD_COMPRESSION:
    case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
      return absl::StatusCode::kDataLoss;
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR__INCONSISTENT:
      return absl::StatusCode::kAborted;
    case RD_KAFKA_RESP_ERR__STATE:
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

absl::Status KafkaErrorToStatus(rd_kafka_resp_err_t err, absl::string_view context) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::Status(CodeFor(err),
                      absl::StrCat(context, ": ", rd_kafka_err2str(err), " (",
                                   rd_kafka_err2name(err), ")"));
}

absl::Status KafkaErrorToStatus(rd_kafka_error_t* error, absl::string_view context) {
  if (error == nullptr) return absl::OkStatus();
  rd_kafka_resp_err_t err = rd_kafka_error_code(error);
  absl::StatusCode code = rd_kafka_error_is_retriable(error) ? absl::StatusCode::kUnavailable
                          : rd_kafka_error_is_fatal(error)   ? absl::StatusCode::kAborted
                                                             : CodeFor(err);
  std::string message = absl::StrCat(context, ": ", rd_kafka_error_string(error), " (",
                                     rd_kafka_error_name(error), ")");
  rd_kafka_error_destroy(error);
  if (code == absl::StatusCode::kOk) code = absl::StatusCode::kInternal;
  return absl::Status(code, message);
}

void KafkaHandleDeleter::operator()(rd_kafka_t* rk) const {
  if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER) rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

absl::StatusOr<std::unique_ptr<KafkaClient>> KafkaClient::Create(
    rd_kafka_type_t type, const KafkaSettings& settings,
    void (*configure)(rd_kafka_conf_t* conf, void* opaque), void* opaque) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(
          absl::StrCat("kafka setting '", key, "'='", value, "': ", errstr));
    }
  }
  if (configure != nullptr) configure(conf, opaque);
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new only takes ownership on success
    return absl::InvalidArgumentError(absl::StrCat("creating kafka client: ", errstr));
  }
  return std::unique_ptr<KafkaClient>(new KafkaClient(rk, type));
}

KafkaClient::~KafkaClient() = default;

absl::StatusOr<MetadataPtr> KafkaClient::Metadata(const rd_kafka_topic_t* topic,
                                                  int timeout_ms) const {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), topic == nullptr ? 1 : 0,
                                              const_cast<rd_kafka_topic_t*>(topic), &md,
                                              timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaErrorToStatus(err, "kafka metadata request");
  return MetadataPtr(md);
}

absl::StatusOr<std::vector<std::pair<std::string, int>>> KafkaClient::ListTopics(
    int timeout_ms) const {
  auto md = Metadata(nullptr, timeout_ms);
  if (!md.ok()) return md.status();
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 0; i < (*md)->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = (*md)->topics[i];
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    topics.emplace_back(t.topic, t.partition_cnt);
  }
  return topics;
}

absl::StatusOr<int> KafkaClient::PartitionCount(const std::string& topic, int timeout_ms) const {
  // From the all-topics listing: a metadata request naming the topic would make
  // a broker with auto.create.topics.enable create it.
  auto topics = ListTopics(timeout_ms);
  if (!topics.ok()) return topics.status();
  for (const auto& [name, count] : *topics) {
    if (name == topic && count > 0) return count;
  }
  return absl::NotFoundError(absl::StrCat("kafka topic '", topic, "' does not exist"));
}

namespace {

// Waits for the one admin result event on `queue` and returns its topic result.
absl::Status AdminTopicResult(rd_kafka_queue_t* queue, int timeout_ms, bool create,
                              const std::string& topic) {
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, timeout_ms + 1000);
  if (event == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat("kafka admin: no answer for topic '", topic,
                                                    "'"));
  }
  absl::Status status;
  if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = KafkaErrorToStatus(rd_kafka_event_error(event),
                                absl::StrCat("kafka admin: topic '", topic, "'"));
  } else {
    const rd_kafka_topic_result_t** results = nullptr;
    size_t n = 0;
    if (create) {
      results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &n);
    } else {
      results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event), &n);
    }
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        status = absl::AlreadyExistsError(absl::StrCat("kafka topic '", topic, "' exists"));
      } else if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* why = rd_kafka_topic_result_error_string(results[i]);
        status = KafkaErrorToStatus(err, absl::StrCat("kafka admin: topic '", topic, "': ",
                                                      why ? why : ""));
      }
    }
  }
  rd_kafka_event_destroy(event);
  return status;
}

}  // namespace

absl::Status KafkaClient::CreateTopic(const std::string& topic, int partitions, int timeout_ms,
                                      int replication_factor) {
  char errstr[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, replication_factor,
                                                  errstr, sizeof(errstr));
  if (nt == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka topic '", topic, "': ", errstr));
  }
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_ANY);
  rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, errstr, sizeof(errstr));
  rd_kafka_CreateTopics(rk_.get(), &nt, 1, options, queue.get());
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(nt);
  return AdminTopicResult(queue.get(), timeout_ms, /*create=*/true, topic);
}

absl::Status KafkaClient::DeleteTopic(const std::string& topic, int timeout_ms) {
  rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(topic.c_str());
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  char errstr[512];
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_ANY);
  rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, errstr, sizeof(errstr));
  rd_kafka_DeleteTopics(rk_.get(), &dt, 1, options, queue.get());
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_DeleteTopic_destroy(dt);
  return AdminTopicResult(queue.get(), timeout_ms, /*create=*/false, topic);
}

absl::Status KafkaClient::FatalError() const {
  char errstr[512];
  rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_.get(), errstr, sizeof(errstr));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat("kafka fatal error: ", errstr, " (",
                                         rd_kafka_err2name(err), ")"));
}

}  // namespace cdcflow::kafka
