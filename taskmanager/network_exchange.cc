#include "taskmanager/network_exchange.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/ids.h"
#include "runtime/exchange/topology.h"
#include "runtime/record/row_codec.h"

namespace cdcflow::taskmanager {

std::shared_ptr<grpc::Channel> ChannelPool::Get(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto& channel = channels_[address];
  if (!channel) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  return channel;
}

void EncodeBatchMessage(const RowBatch& batch, std::string* out) {
  out->clear();
  record::EncodeRowBatch(batch.rows(), batch.timestamps(), out);
}

absl::Status DecodeBatchMessage(std::string_view data, RowBatch* batch) {
  std::vector<Row> rows;
  std::vector<int64_t> timestamps;
  absl::Status s = record::DecodeRowBatch(data, &rows, &timestamps);
  if (!s.ok()) return s;
  batch->clear();
  batch->reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) batch->Append(std::move(rows[i]), timestamps[i]);
  return absl::OkStatus();
}

// The producer end of one remote channel. Task-thread only (plus Cancel from the
// owner, through the tracked ClientContext).
class NetworkExchange::RemoteWriter final : public exchange::BatchWriter {
 public:
  RemoteWriter(NetworkExchange* owner, std::shared_ptr<grpc::Channel> channel, v1::ChannelId id,
               std::string address, std::shared_ptr<metrics::Counter> bytes_out)
      : owner_(owner),
        stub_(v1::TaskManagerService::NewStub(std::move(channel))),
        id_(std::move(id)),
        address_(std::move(address)),
        bytes_out_(std::move(bytes_out)) {}

  ~RemoteWriter() override {
    if (stream_ != nullptr && !finished_) {
      context_.TryCancel();
      stream_->Finish();
    }
    if (tracked_) owner_->Untrack(&context_);
  }

  absl::Status Write(exchange::ChannelMessage message) override {
    if (finished_) return status_;
    if (stream_ == nullptr) {
      if (!owner_->Track(&context_)) return absl::CancelledError("exchange cancelled");
      tracked_ = true;
      stream_ = stub_->ExchangeBatches(&context_);
      v1::ExchangeMessage header;
      *header.mutable_channel() = id_;
      if (!stream_->Write(header)) return Fail();
    }
    msg_.Clear();
    switch (message.kind) {
      case exchange::MessageKind::kBatch:
        EncodeBatchMessage(message.batch, msg_.mutable_batch());
        if (bytes_out_ != nullptr) bytes_out_->Increment(msg_.batch().size());
        break;
      case exchange::MessageKind::kWatermark:
        msg_.set_watermark(message.value);
        break;
      case exchange::MessageKind::kEndOfStream:
        msg_.set_end_of_data(true);
        break;
      case exchange::MessageKind::kBarrier:
        msg_.set_barrier(message.value);
        break;
    }
    while (credits_ == 0) {
      v1::ExchangeCredit credit;
      if (!stream_->Read(&credit)) return Fail();
      if (!credit.error().empty()) {
        context_.TryCancel();
        Fail();
        status_ = absl::UnavailableError(absl::StrCat(Describe(), ": ", credit.error()));
        return status_;
      }
      credits_ += credit.credits();
    }
    --credits_;
    if (!stream_->Write(msg_)) return Fail();
    if (message.kind == exchange::MessageKind::kEndOfStream) {
      stream_->WritesDone();
      v1::ExchangeCredit ignored;
      while (stream_->Read(&ignored)) {
      }
      grpc::Status s = stream_->Finish();
      finished_ = true;
      status_ = s.ok() ? absl::FailedPreconditionError(Describe() + ": already ended")
                       : Translate(s);
      return s.ok() ? absl::OkStatus() : status_;
    }
    return absl::OkStatus();
  }

 private:
  std::string Describe() const {
    return absl::StrCat("channel edge ", id_.edge_id(), " subtask ", id_.producer_subtask(),
                        " -> ", id_.consumer_subtask(), " at ", address_);
  }
  absl::Status Translate(const grpc::Status& s) {
    if (owner_->cancelled()) return absl::CancelledError("exchange cancelled");
    return absl::UnavailableError(absl::StrCat(Describe(), " lost: ", s.error_message()));
  }
  absl::Status Fail() {
    grpc::Status s = stream_->Finish();
    finished_ = true;
    status_ = Translate(s);
    return status_;
  }

  NetworkExchange* owner_;
  std::unique_ptr<v1::TaskManagerService::Stub> stub_;
  v1::ChannelId id_;
  std::string address_;
  std::shared_ptr<metrics::Counter> bytes_out_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ExchangeMessage, v1::ExchangeCredit>> stream_;
  v1::ExchangeMessage msg_;
  int credits_ = 0;
  bool tracked_ = false;
  bool finished_ = false;
  absl::Status status_;
};

NetworkExchange::NetworkExchange(std::string job_id, int attempt, const graph::JobGraphSpec& spec,
                                 const graph::ExecutionPlan& plan,
                                 std::vector<std::vector<Location>> locations, std::string self,
                                 ChannelPool* pool, NetworkExchangeOptions options)
    : job_id_(std::move(job_id)),
      attempt_(attempt),
      spec_(spec),
      plan_(plan),
      locations_(std::move(locations)),
      self_(std::move(self)),
      pool_(pool),
      options_(options) {
  gates_.resize(plan_.chains.size());
  for (size_t c = 0; c < plan_.chains.size(); ++c) {
    gates_[c].resize(plan_.chains[c].parallelism);
    for (int s = 0; s < plan_.chains[c].parallelism; ++s) {
      if (!IsLocal(static_cast<int32_t>(c), s)) continue;
      int32_t n = static_cast<int32_t>(
          exchange::InputChannels(spec_, plan_, static_cast<int32_t>(c), s).size());
      gates_[c][s] = std::make_unique<exchange::InputGate>(
          n, std::max<size_t>(2, options_.messages_per_channel * std::max(1, n)));
    }
  }
}

NetworkExchange::~NetworkExchange() = default;

bool NetworkExchange::IsLocal(int32_t chain, int32_t subtask) const {
  return chain >= 0 && chain < static_cast<int32_t>(locations_.size()) && subtask >= 0 &&
         subtask < static_cast<int32_t>(locations_[chain].size()) &&
         locations_[chain][subtask].task_manager_id == self_;
}

exchange::InputGate* NetworkExchange::GateOf(int32_t chain, int32_t subtask) {
  if (chain < 0 || chain >= static_cast<int32_t>(gates_.size())) return nullptr;
  if (subtask < 0 || subtask >= static_cast<int32_t>(gates_[chain].size())) return nullptr;
  return gates_[chain][subtask].get();
}

bool NetworkExchange::cancelled() {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

absl::StatusOr<std::unique_ptr<exchange::BatchReader>> NetworkExchange::OpenReader(
    const exchange::TaskId& consumer) {
  exchange::InputGate* gate = GateOf(consumer.chain, consumer.subtask);
  if (gate == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("task ", consumer.chain, "/", consumer.subtask,
                                                   " does not run on task manager ", self_));
  }
  return std::make_unique<exchange::GateReader>(gate);
}

absl::StatusOr<std::unique_ptr<exchange::BatchWriter>> NetworkExchange::OpenWriter(
    const exchange::ChannelId& id, const exchange::TaskId& consumer, int32_t gate_channel) {
  if (exchange::InputGate* gate = GateOf(consumer.chain, consumer.subtask)) {
    return std::make_unique<exchange::LocalBatchWriter>(gate, gate_channel);
  }
  if (consumer.chain < 0 || consumer.chain >= static_cast<int32_t>(locations_.size()) ||
      consumer.subtask < 0 ||
      consumer.subtask >= static_cast<int32_t>(locations_[consumer.chain].size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("no location for task ", consumer.chain, "/", consumer.subtask));
  }
  const Location& where = locations_[consumer.chain][consumer.subtask];
  v1::ChannelId wire;
  wire.set_job_id(job_id_);
  wire.set_attempt(attempt_);
  wire.set_edge_id(id.edge);
  wire.set_producer_subtask(id.producer_subtask);
  wire.set_consumer_subtask(id.consumer_subtask);
  wire.set_consumer_vertex(consumer.chain);
  wire.set_gate_channel(gate_channel);
  return std::make_unique<RemoteWriter>(this, pool_->Get(where.address), std::move(wire),
                                        where.address,
                                        ByteCounter(id.edge, id.producer_subtask, /*out=*/true));
}

std::shared_ptr<metrics::Counter> NetworkExchange::ByteCounter(int32_t edge, int32_t subtask,
                                                               bool out) const {
  if (options_.registry == nullptr || edge < 0 ||
      edge >= static_cast<int32_t>(spec_.edges.size())) {
    return nullptr;
  }
  const graph::EdgeSpec& e = spec_.edges[edge];
  metrics::SubtaskMetrics m = metrics::SubtaskMetrics::Create(
      *options_.registry, job_id_, spec_.vertices[out ? e.source : e.target].name, subtask);
  return out ? m.bytes_out : m.bytes_in;
}

bool NetworkExchange::Track(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  open_streams_.push_back(context);
  return true;
}

void NetworkExchange::Untrack(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  open_streams_.erase(std::remove(open_streams_.begin(), open_streams_.end(), context),
                      open_streams_.end());
}

void NetworkExchange::Cancel() {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return;
  cancelled_ = true;
  for (auto& chain : gates_) {
    for (auto& gate : chain) {
      if (gate) gate->Cancel();
    }
  }
  for (grpc::ClientContext* c : open_streams_) c->TryCancel();
  for (grpc::ServerContext* c : served_) c->TryCancel();
}

grpc::Status NetworkExchange::Serve(
    grpc::ServerContext* context, const v1::ChannelId& channel,
    grpc::ServerReaderWriterInterface<v1::ExchangeCredit, v1::ExchangeMessage>* stream) {
  exchange::InputGate* gate = GateOf(channel.consumer_vertex(), channel.consumer_subtask());
  auto refuse = [&](grpc::StatusCode code, const std::string& why) {
    v1::ExchangeCredit error;
    error.set_error(why);
    stream->Write(error);
    return grpc::Status(code, why);
  };
  if (gate == nullptr) {
    return refuse(grpc::StatusCode::FAILED_PRECONDITION,
                  absl::StrCat("task ", channel.consumer_vertex(), "/", channel.consumer_subtask(),
                               " of job ", job_id_, " attempt ", attempt_,
                               " does not run on task manager ", self_));
  }
  if (channel.gate_channel() < 0 || channel.gate_channel() >= gate->num_channels()) {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("gate channel ", channel.gate_channel(), " out of range [0, ",
                               gate->num_channels(), ")"));
  }
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return grpc::Status(grpc::StatusCode::CANCELLED, "exchange cancelled");
    served_.push_back(context);
  }
  auto untrack = [&] {
    absl::MutexLock lock(&mu_);
    served_.erase(std::remove(served_.begin(), served_.end(), context), served_.end());
  };
  v1::ExchangeCredit credit;
  credit.set_credits(options_.credits_per_channel);
  stream->Write(credit);
  credit.set_credits(1);
  v1::ExchangeMessage msg;
  grpc::Status result = grpc::Status::OK;
  const std::shared_ptr<metrics::Counter> bytes_in =
      ByteCounter(channel.edge_id(), channel.consumer_subtask(), /*out=*/false);
  while (stream->Read(&msg)) {
    exchange::ChannelMessage m;
    if (!msg.batch().empty()) {
      if (bytes_in != nullptr) bytes_in->Increment(msg.batch().size());
      absl::Status decoded = DecodeBatchMessage(msg.batch(), &m.batch);
      if (!decoded.ok()) {
        result = refuse(grpc::StatusCode::DATA_LOSS,
                        absl::StrCat("edge ", channel.edge_id(), " subtask ",
                                     channel.producer_subtask(), " -> ", channel.consumer_subtask(),
                                     ": ", decoded.message()));
        break;
      }
    } else if (msg.has_watermark()) {
      m = exchange::ChannelMessage::Watermark(msg.watermark());
    } else if (msg.has_barrier()) {
      m.kind = exchange::MessageKind::kBarrier;
      m.value = msg.barrier();
    } else if (msg.end_of_data()) {
      m = exchange::ChannelMessage::EndOfStream();
    } else {
      continue;
    }
    m.channel = channel.gate_channel();
    if (!gate->Push(std::move(m)).ok()) {
      result = grpc::Status(grpc::StatusCode::CANCELLED, "exchange cancelled");
      break;
    }
    if (!msg.end_of_data()) stream->Write(credit);
  }
  untrack();
  return result;
}

}  // namespace cdcflow::taskmanager
