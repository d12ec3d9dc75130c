#include "connectors/kafka/kafka_consumer.h"

#include <algorithm>
#include <regex>

#include "absl/strings/str_cat.h"

namespace cdcflow::kafka {

std::vector<KafkaHeader> KafkaMessage::headers() const {
  std::vector<KafkaHeader> out;
  rd_kafka_headers_t* hdrs = nullptr;
  // The headers stay owned by the message.
  if (rd_kafka_message_headers(m_, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                     RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    KafkaHeader h;
    h.name = name;
    h.has_value = value != nullptr;
    if (value != nullptr) h.value = std::string_view(static_cast<const char*>(value), size);
    out.push_back(h);
  }
  return out;
}

size_t MessageBatch::ByteSize() const {
  size_t n = 0;
  for (const rd_kafka_message_t* m : messages_) n += m->len + m->key_len;
  return n;
}

void MessageBatch::Clear() {
  for (rd_kafka_message_t* m : messages_) rd_kafka_message_destroy(m);
  messages_.clear();
}

absl::StatusOr<std::vector<std::pair<std::string, int>>> ResolveTopics(
    const KafkaClient& client, const KafkaSourceConfig& config) {
  std::vector<std::pair<std::string, int>> out;
  if (!config.topic_pattern.empty()) {
    std::regex re(config.topic_pattern);  // validated by the config
    auto all = client.ListTopics(config.metadata_timeout_ms);
    if (!all.ok()) return all.status();
    for (auto& [name, count] : *all) {
      if (std::regex_match(name, re) && count > 0) out.emplace_back(name, count);
    }
    if (out.empty()) {
      return absl::NotFoundError(
          absl::StrCat("kafka source: no topic matches pattern '", config.topic_pattern, "'"));
    }
  } else {
    // Names are looked up in the all-topics listing: asking for one topic by
    // name would make brokers with auto.create.topics.enable create it.
    auto all = client.ListTopics(config.metadata_timeout_ms);
    if (!all.ok()) return all.status();
    for (const std::string& topic : config.topics) {
      auto it = std::find_if(all->begin(), all->end(),
                             [&](const auto& t) { return t.first == topic; });
      if (it == all->end() || it->second == 0) {
        return absl::NotFoundError(
            absl::StrCat("kafka source: topic '", topic, "' does not exist"));
      }
      out.push_back(*it);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// Replaces the logical offsets (or timestamps) in `list` by concrete offsets
// with one ListOffsets round; `what` names the lookup in errors.
absl::Status ListOffsets(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* list, int timeout_ms,
                         absl::string_view what) {
  if (list->cnt == 0) return absl::OkStatus();
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaErrorToStatus(err, absl::StrCat("kafka source: looking up ", what, " offsets"));
  }
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = list->elems[i];
    if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaErrorToStatus(p.err, absl::StrCat("kafka source: looking up ", what,
                                                    " offset of ", p.topic, "[", p.partition,
                                                    "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(
    const KafkaSourceConfig& config, int subtask_index, int parallelism,
    const KafkaPositions* restored) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (parallelism < 1 || subtask_index < 0 || subtask_index >= parallelism) {
    return absl::InvalidArgumentError(absl::StrCat("kafka source: subtask ", subtask_index,
                                                   " of parallelism ", parallelism));
  }
  auto client = KafkaClient::Create(RD_KAFKA_CONSUMER, config.ToConsumerSettings());
  if (!client.ok()) return client.status();
  std::unique_ptr<KafkaConsumer> consumer(new KafkaConsumer(
      std::move(*client), config.max_batch_records, config.max_batch_wait_ms,
      config.read_ahead_bytes));

  auto topics = ResolveTopics(*consumer->client_, config);
  if (!topics.ok()) return topics.status();
  for (const auto& [topic, count] : *topics) {
    for (int32_t p = 0; p < count; ++p) {
      if (AssignSubtask(topic, p, parallelism) == subtask_index) {
        consumer->assignment_.push_back(TopicPartition{topic, p});
      }
    }
  }

  return Start(config, std::move(consumer), restored);
}

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::CreateForPartitions(
    const KafkaSourceConfig& config, std::vector<TopicPartition> partitions,
    const KafkaPositions* restored) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  auto client = KafkaClient::Create(RD_KAFKA_CONSUMER, config.ToConsumerSettings());
  if (!client.ok()) return client.status();
  std::unique_ptr<KafkaConsumer> consumer(new KafkaConsumer(
      std::move(*client), config.max_batch_records, config.max_batch_wait_ms,
      config.read_ahead_bytes));
  std::sort(partitions.begin(), partitions.end());
  partitions.erase(std::unique(partitions.begin(), partitions.end()), partitions.end());
  if (!partitions.empty()) {
    auto all = consumer->client_->ListTopics(config.metadata_timeout_ms);
    if (!all.ok()) return all.status();
    for (const TopicPartition& tp : partitions) {
      auto it = std::find_if(all->begin(), all->end(),
                             [&](const auto& t) { return t.first == tp.topic; });
      if (it == all->end() || tp.partition < 0 || tp.partition >= it->second) {
        return absl::NotFoundError(absl::StrCat("kafka source: partition ", tp.partition,
                                                " of topic '", tp.topic, "' does not exist"));
      }
    }
  }
  consumer->assignment_ = std::move(partitions);
  return Start(config, std::move(consumer), restored);
}

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Start(
    const KafkaSourceConfig& config, std::unique_ptr<KafkaConsumer> consumer,
    const KafkaPositions* restored) {
  rd_kafka_t* rk = consumer->client_->get();
  // Start offsets: restored, given, or looked up (earliest/latest/timestamp)
  // so that every position is concrete from the start: a checkpoint taken
  // before the first record must not record "latest".
  std::vector<int64_t> start(consumer->assignment_.size(), -1);
  PartitionListPtr earliest = NewPartitionList(1), latest = NewPartitionList(1),
                   by_time = NewPartitionList(1);
  for (size_t i = 0; i < consumer->assignment_.size(); ++i) {
    const TopicPartition& tp = consumer->assignment_[i];
    int64_t restored_offset = restored != nullptr ? restored->Get(tp) : -1;
    if (restored != nullptr) {
      if (restored_offset >= 0) {
        start[i] = restored_offset;
      } else {
        rd_kafka_topic_partition_list_add(earliest.get(), tp.topic.c_str(), tp.partition)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
      }
      continue;
    }
    switch (config.start_mode) {
      case StartMode::kEarliest:
        rd_kafka_topic_partition_list_add(earliest.get(), tp.topic.c_str(), tp.partition)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
        break;
      case StartMode::kLatest:
        rd_kafka_topic_partition_list_add(latest.get(), tp.topic.c_str(), tp.partition)->offset =
            RD_KAFKA_OFFSET_END;
        break;
      case StartMode::kTimestamp:
        rd_kafka_topic_partition_list_add(by_time.get(), tp.topic.c_str(), tp.partition)->offset =
            config.start_timestamp_ms;
        break;
      case StartMode::kSpecificOffsets: {
        auto it = config.start_offsets.find(tp);
        if (it != config.start_offsets.end()) {
          start[i] = it->second;
        } else {
          rd_kafka_topic_partition_list_add(earliest.get(), tp.topic.c_str(), tp.partition)
              ->offset = RD_KAFKA_OFFSET_BEGINNING;
        }
        break;
      }
    }
  }
  int timeout = config.metadata_timeout_ms;
  if (absl::Status s = ListOffsets(rk, by_time.get(), timeout, "timestamp"); !s.ok()) return s;
  // No record at or after the timestamp: start at the end.
  for (int i = 0; i < by_time->cnt; ++i) {
    if (by_time->elems[i].offset < 0) {
      rd_kafka_topic_partition_list_add(latest.get(), by_time->elems[i].topic,
                                        by_time->elems[i].partition)
          ->offset = RD_KAFKA_OFFSET_END;
    }
  }
  if (absl::Status s = ListOffsets(rk, earliest.get(), timeout, "earliest"); !s.ok()) return s;
  if (absl::Status s = ListOffsets(rk, latest.get(), timeout, "latest"); !s.ok()) return s;
  auto fill = [&](const rd_kafka_topic_partition_list_t* list) {
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = list->elems[i];
      if (p.offset < 0) continue;
      TopicPartition tp{p.topic, p.partition};
      auto it = std::lower_bound(consumer->assignment_.begin(), consumer->assignment_.end(), tp);
      start[it - consumer->assignment_.begin()] = p.offset;
    }
  };
  fill(by_time.get());
  fill(earliest.get());
  fill(latest.get());

  PartitionListPtr assign = NewPartitionList(static_cast<int>(consumer->assignment_.size()));
  for (size_t i = 0; i < consumer->assignment_.size(); ++i) {
    const TopicPartition& tp = consumer->assignment_[i];
    if (start[i] < 0) {
      return absl::InternalError(absl::StrCat("kafka source: no start offset resolved for ",
                                              tp.topic, "[", tp.partition, "]"));
    }
    if (consumer->topics_.empty() ||
        rd_kafka_topic_name(consumer->topics_.back().get()) != tp.topic) {
      consumer->topics_.emplace_back(rd_kafka_topic_new(rk, tp.topic.c_str(), nullptr));
    }
    consumer->states_.push_back(PartitionState{tp, consumer->topics_.back().get(), start[i]});
    rd_kafka_topic_partition_list_add(assign.get(), tp.topic.c_str(), tp.partition)->offset =
        start[i];
  }
  rd_kafka_poll_set_consumer(rk);  // errors arrive as messages on the consumer queue
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, assign.get()); err) {
    return KafkaErrorToStatus(err, "kafka source: assigning partitions");
  }
  consumer->queue_.reset(rd_kafka_queue_get_consumer(rk));
  return consumer;
}

absl::Status KafkaConsumer::AddPartitions(std::vector<TopicPartition> partitions,
                                          int timeout_ms) {
  std::sort(partitions.begin(), partitions.end());
  partitions.erase(std::unique(partitions.begin(), partitions.end()), partitions.end());
  partitions.erase(std::remove_if(partitions.begin(), partitions.end(),
                                  [&](const TopicPartition& tp) {
                                    return std::binary_search(assignment_.begin(),
                                                              assignment_.end(), tp);
                                  }),
                   partitions.end());
  if (partitions.empty()) return absl::OkStatus();
  rd_kafka_t* rk = client_->get();
  PartitionListPtr earliest = NewPartitionList(static_cast<int>(partitions.size()));
  for (const TopicPartition& tp : partitions) {
    rd_kafka_topic_partition_list_add(earliest.get(), tp.topic.c_str(), tp.partition)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  if (absl::Status s = ListOffsets(rk, earliest.get(), timeout_ms, "earliest"); !s.ok()) return s;
  for (int i = 0; i < earliest->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = earliest->elems[i];
    if (p.offset < 0) {
      return absl::InternalError(absl::StrCat("kafka source: no start offset resolved for ",
                                              p.topic, "[", p.partition, "]"));
    }
    rd_kafka_topic_t* rkt = nullptr;
    for (const TopicPtr& t : topics_) {
      if (std::string_view(rd_kafka_topic_name(t.get())) == p.topic) rkt = t.get();
    }
    if (rkt == nullptr) {
      topics_.emplace_back(rd_kafka_topic_new(rk, p.topic, nullptr));
      rkt = topics_.back().get();
    }
    states_.push_back(PartitionState{TopicPartition{p.topic, p.partition}, rkt, p.offset});
  }
  last_state_ = nullptr;  // states_ may have moved
  // Without a group subscription librdkafka allows adding to a manual assignment.
  if (rd_kafka_error_t* error = rd_kafka_incremental_assign(rk, earliest.get())) {
    absl::Status s = KafkaErrorToStatus(rd_kafka_error_code(error),
                                        absl::StrCat("kafka source: adding partitions: ",
                                                     rd_kafka_error_string(error)));
    rd_kafka_error_destroy(error);
    states_.resize(states_.size() - partitions.size());
    return s;
  }
  assignment_.insert(assignment_.end(), partitions.begin(), partitions.end());
  std::sort(assignment_.begin(), assignment_.end());
  return absl::OkStatus();
}

KafkaConsumer::~KafkaConsumer() {
  for (rd_kafka_message_t* m : ahead_) rd_kafka_message_destroy(m);
  ahead_.clear();
  if (client_ != nullptr) rd_kafka_assign(client_->get(), nullptr);
  queue_.reset();
  topics_.clear();
}

KafkaConsumer::PartitionState* KafkaConsumer::StateFor(const rd_kafka_message_t* m) {
  if (last_state_ != nullptr && last_state_->rkt == m->rkt &&
      last_state_->tp.partition == m->partition) {
    return last_state_;
  }
  for (PartitionState& s : states_) {
    if (s.rkt == m->rkt && s.tp.partition == m->partition) return last_state_ = &s;
  }
  return nullptr;
}

absl::Status KafkaConsumer::MessageError(const rd_kafka_message_t* m) {
  std::string where =
      m->rkt != nullptr
          ? absl::StrCat("kafka source: topic '", rd_kafka_topic_name(m->rkt), "' partition ",
                         m->partition, " offset ", m->offset)
          : std::string("kafka source");
  absl::Status status = KafkaErrorToStatus(
      m->err, absl::StrCat(where, ": ",
                           m->payload ? absl::string_view(static_cast<const char*>(m->payload),
                                                          m->len)
                                      : absl::string_view()));
  return status;
}

void KafkaConsumer::Wakeup() {
  woken_.store(true, std::memory_order_release);
  if (queue_ != nullptr) rd_kafka_queue_yield(queue_.get());
}

namespace {
constexpr int kMaxWakeRequests = 4;
constexpr int kWakeRequestTimeoutMs = 100;

int64_t MessageBytes(const rd_kafka_message_t* m) {
  return static_cast<int64_t>(m->len + m->key_len);
}
}  // namespace

rd_kafka_message_t* KafkaConsumer::WaitForRecord(int max_wait_ms) {
  if (max_wait_ms <= 0 || woken_.exchange(false, std::memory_order_acq_rel)) return nullptr;
  return rd_kafka_consume_queue(queue_.get(), max_wait_ms);
}

bool KafkaConsumer::TakeFetched() {
  rd_kafka_message_t* taken[1024];
  for (;;) {
    const ssize_t n = rd_kafka_consume_batch_queue(queue_.get(), 0, taken, std::size(taken));
    if (n < 0) return false;
    for (ssize_t i = 0; i < n; ++i) {
      ahead_.push_back(taken[i]);
      ahead_bytes_ += MessageBytes(taken[i]);
    }
    if (static_cast<size_t>(n) < std::size(taken)) return true;
  }
}

void KafkaConsumer::AdjustFetching() {
  rd_kafka_t* rk = client_->get();
  // Right after TakeFetched: librdkafka's queue was just emptied (a pause makes it drop
  // what is queued), and a take of a full librdkafka queue (it may have stopped
  // fetching, see kSourceReadAheadBytes) always pauses, so that the resume wakes it.
  if (paused_ == nullptr && ahead_bytes_ >= read_ahead_limit_ && !assignment_.empty()) {
    PartitionListPtr list = NewPartitionList(static_cast<int>(assignment_.size()));
    for (const TopicPartition& tp : assignment_) {
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
    }
    // Per-partition errors (a partition not assigned) cannot happen: these are ours.
    (void)rd_kafka_pause_partitions(rk, list.get());
    paused_ = std::move(list);
  } else if (paused_ != nullptr && ahead_bytes_ <= read_ahead_limit_ / 4) {
    (void)rd_kafka_resume_partitions(rk, paused_.get());
    // librdkafka handles the resume on its main thread and does not wake the broker
    // thread that fetches: that one looks again when something else wakes it, or after
    // a second. A request to the partition's leader wakes it now; the watermark query
    // is the cheapest (one small round trip). A few partitions are enough: the leaders
    // of a subtask's partitions are usually few.
    for (int i = 0; i < paused_->cnt && i < kMaxWakeRequests; ++i) {
      int64_t low = -1, high = -1;
      (void)rd_kafka_query_watermark_offsets(rk, paused_->elems[i].topic,
                                             paused_->elems[i].partition, &low, &high,
                                             kWakeRequestTimeoutMs);
    }
    paused_.reset();
  }
}

absl::Status KafkaConsumer::Poll(MessageBatch* batch, int max_records, int max_wait_ms) {
  batch->Clear();
  if (queue_ == nullptr || max_records <= 0) return absl::OkStatus();
  std::vector<rd_kafka_message_t*>& msgs = batch->messages_;
  ssize_t n = 0;
  if (read_ahead_limit_ <= 0) {  // straight from librdkafka's queue
    msgs.resize(static_cast<size_t>(max_records));
    n = rd_kafka_consume_batch_queue(queue_.get(), 0, msgs.data(), msgs.size());
    if (n == 0) {
      rd_kafka_message_t* first = WaitForRecord(max_wait_ms);
      if (first != nullptr) {
        msgs[0] = first;
        n = 1 + rd_kafka_consume_batch_queue(queue_.get(), 0, msgs.data() + 1, msgs.size() - 1);
      }
    }
  } else {
    bool ok = TakeFetched();
    if (ok && ahead_.empty()) {
      rd_kafka_message_t* first = WaitForRecord(max_wait_ms);
      if (first != nullptr) {
        ahead_.push_back(first);
        ahead_bytes_ += MessageBytes(first);
        ok = TakeFetched();
      }
    }
    AdjustFetching();  // pause when full
    const size_t take = std::min(ahead_.size(), static_cast<size_t>(max_records));
    msgs.assign(ahead_.begin(), ahead_.begin() + static_cast<ptrdiff_t>(take));
    ahead_.erase(ahead_.begin(), ahead_.begin() + static_cast<ptrdiff_t>(take));
    for (rd_kafka_message_t* m : msgs) ahead_bytes_ -= MessageBytes(m);
    n = static_cast<ssize_t>(take);
    AdjustFetching();  // resume when low
    if (!ok && n == 0) n = -1;
  }
  if (n < 0) {
    msgs.clear();
    return KafkaErrorToStatus(rd_kafka_last_error(), "kafka source: polling");
  }
  msgs.resize(static_cast<size_t>(n));

  // Drop error events from the batch; keep the first hard error to return.
  absl::Status error;
  size_t kept = 0;
  for (size_t i = 0; i < msgs.size(); ++i) {
    rd_kafka_message_t* m = msgs[i];
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_resp_err_t err = m->err;
      absl::Status s = MessageError(m);
      rd_kafka_message_destroy(m);
      if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF || absl::IsUnavailable(s) ||
          absl::IsDeadlineExceeded(s)) {
        continue;  // librdkafka reconnects and refetches by itself
      }
      if (error.ok()) error = s;
      continue;
    }
    PartitionState* state = StateFor(m);
    if (state == nullptr) {  // a stale record of a partition no longer assigned
      rd_kafka_message_destroy(m);
      continue;
    }
    state->next_offset = m->offset + 1;
    msgs[kept++] = m;
  }
  msgs.resize(kept);
  if (!error.ok()) return error;
  return client_->FatalError();
}

size_t KafkaConsumer::buffered() const {
  return ahead_.size() + (queue_ == nullptr ? 0 : rd_kafka_queue_length(queue_.get()));
}

KafkaPositions KafkaConsumer::Positions() const {
  KafkaPositions p;
  for (const PartitionState& s : states_) p.Set(s.tp, s.next_offset);
  return p;
}

std::vector<PartitionStats> KafkaConsumer::Stats() const {
  std::vector<PartitionStats> out;
  out.reserve(states_.size());
  for (const PartitionState& s : states_) {
    PartitionStats st;
    st.partition = s.tp;
    st.next_offset = s.next_offset;
    int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(client_->get(), s.tp.topic.c_str(), s.tp.partition, &low,
                                       &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        high >= 0) {
      st.high_watermark = high;
      st.lag = std::max<int64_t>(0, high - s.next_offset);
    }
    out.push_back(st);
  }
  return out;
}

void KafkaConsumer::CommitForMonitoring(const KafkaPositions& positions) {
  if (positions.empty()) return;
  PartitionListPtr list = NewPartitionList(static_cast<int>(positions.offsets().size()));
  for (const auto& [tp, offset] : positions.offsets()) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = offset;
  }
  (void)rd_kafka_commit(client_->get(), list.get(), /*async=*/1);
}

absl::StatusOr<bool> KafkaConsumer::ReachedEnd(int timeout_ms) {
  for (const PartitionState& s : states_) {
    int64_t low = -1, high = -1;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        client_->get(), s.tp.topic.c_str(), s.tp.partition, &low, &high, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaErrorToStatus(err, absl::StrCat("kafka source: watermarks of ", s.tp.topic,
                                                  "[", s.tp.partition, "]"));
    }
    if (s.next_offset < high) return false;
  }
  return true;
}

}  // namespace cdcflow::kafka
