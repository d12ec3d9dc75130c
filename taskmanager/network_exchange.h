#pragma once
// The task manager's network stack: the exchange::ChannelFactory of one job attempt.
//
// Channels whose consumer runs in this process are local bounded queues (the runtime's
// InputGate). A channel to a consumer in another task manager is one ExchangeBatches
// gRPC stream, opened by the producer, with credit-based flow control: the receiver
// grants `credits_per_channel` credits up front and one more each time it has handed a
// message to the consumer's gate; the sender blocks when it holds none. So a slow
// consumer's full gate stops granting credits, its producers' Write blocks, and the
// backpressure reaches the sources, with at most credits_per_channel batches in flight
// per channel.
//
// Messages carry whole encoded row batches (runtime/record's batch encoding), never
// single rows.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "proto/task_manager.grpc.pb.h"
#include "runtime/exchange/channel.h"
#include "runtime/exchange/input_gate.h"
#include "runtime/graph/job_graph.h"
#include "runtime/metrics/standard_metrics.h"

namespace cdcflow::taskmanager {

// gRPC channels to other task managers, one per address, shared by every attempt.
// Thread-safe.
class ChannelPool {
 public:
  std::shared_ptr<grpc::Channel> Get(const std::string& address);

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

struct NetworkExchangeOptions {
  // Gate capacity per input channel, in messages, for local and remote channels alike.
  size_t messages_per_channel = 4;
  // Batches a remote sender may have in flight per channel.
  int credits_per_channel = 4;
  // Where the encoded bytes of remote channels are counted (cdcflow_task_bytes_out_total
  // of the producing vertex's subtask, _bytes_in_total of the consuming one); optional.
  // Local channels hand batches over without encoding them and count no bytes.
  metrics::MetricRegistry* registry = nullptr;
};

// Thread-safe. Must outlive every reader and writer it handed out and every stream it
// serves.
class NetworkExchange final : public exchange::ChannelFactory {
 public:
  struct Location {
    std::string task_manager_id;
    std::string address;
  };
  // `locations[chain][subtask]` says where each task of the attempt runs; this process
  // is `self` and gets gates for its own tasks only.
  NetworkExchange(std::string job_id, int attempt, const graph::JobGraphSpec& spec,
                  const graph::ExecutionPlan& plan, std::vector<std::vector<Location>> locations,
                  std::string self, ChannelPool* pool, NetworkExchangeOptions options = {});
  ~NetworkExchange() override;

  absl::StatusOr<std::unique_ptr<exchange::BatchReader>> OpenReader(
      const exchange::TaskId& consumer) override;
  absl::StatusOr<std::unique_ptr<exchange::BatchWriter>> OpenWriter(
      const exchange::ChannelId& id, const exchange::TaskId& consumer,
      int32_t gate_channel) override;
  void Cancel() override;

  // Receives one remote channel (the ExchangeBatches stream whose first message was
  // `first`) until its end of data, pushing into the consumer's gate.
  grpc::Status Serve(
      grpc::ServerContext* context, const v1::ChannelId& channel,
      grpc::ServerReaderWriterInterface<v1::ExchangeCredit, v1::ExchangeMessage>* stream);

 private:
  class RemoteWriter;
  exchange::InputGate* GateOf(int32_t chain, int32_t subtask);
  bool cancelled();
  bool IsLocal(int32_t chain, int32_t subtask) const;
  // The bytes counter of `edge`'s producing (out) or consuming (!out) vertex's
  // `subtask`; null without a registry or for an unknown edge.
  std::shared_ptr<metrics::Counter> ByteCounter(int32_t edge, int32_t subtask, bool out) const;
  // False once cancelled.
  bool Track(grpc::ClientContext* context);
  void Untrack(grpc::ClientContext* context);

  const std::string job_id_;
  const int attempt_;
  const graph::JobGraphSpec& spec_;
  const graph::ExecutionPlan& plan_;
  const std::vector<std::vector<Location>> locations_;
  const std::string self_;
  ChannelPool* const pool_;
  const NetworkExchangeOptions options_;
  // [chain][subtask]; null for tasks of other task managers.
  std::vector<std::vector<std::unique_ptr<exchange::InputGate>>> gates_;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<grpc::ClientContext*> open_streams_ ABSL_GUARDED_BY(mu_);
  std::vector<grpc::ServerContext*> served_ ABSL_GUARDED_BY(mu_);
};

// A row batch message in the wire encoding and back (kDataLoss naming the channel
// when it does not decode).
void EncodeBatchMessage(const RowBatch& batch, std::string* out);
absl::Status DecodeBatchMessage(std::string_view data, RowBatch* batch);

}  // namespace cdcflow::taskmanager
