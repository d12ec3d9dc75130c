#pragma once
// The receiving end of every channel into one task: a bounded multi-producer,
// single-consumer queue of ChannelMessages. Local writers push into it directly; a
// network receiver (the cluster's gRPC service) pushes decoded remote messages into it.

#include <condition_variable>
#include <deque>
#include <memory>
#include <vector>
#include <mutex>

#include "runtime/exchange/channel.h"

namespace cdcflow::exchange {

// Thread-safe. Capacity counts messages (batches), not rows: a batch is at most a few
// thousand rows, so memory per gate stays bounded by capacity x batch size. Each
// channel has its own queue of capacity / num_channels messages (at least 1), so that a
// channel blocked for barrier alignment backpressures its own producer only. Messages
// of one channel come out in order.
//
// Across channels the gate merges by time (Kafka Streams' timestamp synchronization):
// of the channels with a message ready, Pop serves the one whose front batch starts
// with the oldest timestamp (ties round-robin, so a busy channel cannot starve the
// others). Control messages go first; batches without a timestamp are served in
// round-robin order, neither before nor after timed ones. Nothing waits for a channel
// that has nothing ready. When a task's inputs are all backlogged (a catch-up),
// an input that runs ahead in time fills its queues and backpressures its producers
// until the others catch up: changes that happened together (an order and its shipment,
// one transaction in two topics) reach a join together, while the other side's state
// for their key is still in its cache, instead of minutes of backlog apart.
class InputGate {
 public:
  InputGate(int32_t num_channels, size_t capacity);
  InputGate(const InputGate&) = delete;
  InputGate& operator=(const InputGate&) = delete;

  int32_t num_channels() const { return num_channels_; }
  // Blocks while the message's channel holds its share of the capacity. kCancelled
  // after Cancel(), kInvalidArgument for a channel outside [0, num_channels).
  absl::Status Push(ChannelMessage message);
  // The next message of an unblocked channel; false after `timeout` without one;
  // kCancelled after Cancel().
  absl::StatusOr<bool> Pop(ChannelMessage* message, absl::Duration timeout);
  // Stops (or resumes) delivering `channel`'s messages (barrier alignment).
  void SetBlocked(int32_t channel, bool blocked);
  void Cancel();
  size_t size() const;

 private:
  const int32_t num_channels_;
  const size_t channel_capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::unique_ptr<std::condition_variable[]> not_full_;  // per channel
  // A queued message and the time Pop orders it by (OrderTime).
  struct Queued {
    ChannelMessage message;
    int64_t time;
  };
  std::vector<std::deque<Queued>> queues_;
  std::vector<bool> blocked_;
  size_t available_ = 0;  // messages in unblocked channels
  size_t total_ = 0;
  int32_t next_ = 0;      // round-robin start among equal times
  bool cancelled_ = false;
};

// A BatchWriter that pushes into a gate in the same process.
class LocalBatchWriter final : public BatchWriter {
 public:
  LocalBatchWriter(InputGate* gate, int32_t gate_channel) : gate_(gate), channel_(gate_channel) {}
  absl::Status Write(ChannelMessage message) override {
    message.channel = channel_;
    return gate_->Push(std::move(message));
  }

 private:
  InputGate* gate_;  // not owned; outlives the writer
  int32_t channel_;
};

// A BatchReader over a gate (not owned).
class GateReader final : public BatchReader {
 public:
  explicit GateReader(InputGate* gate) : gate_(gate) {}
  int32_t num_channels() const override { return gate_->num_channels(); }
  absl::StatusOr<bool> Read(ChannelMessage* message, absl::Duration timeout) override {
    return gate_->Pop(message, timeout);
  }
  bool SetChannelBlocked(int32_t channel, bool blocked) override {
    gate_->SetBlocked(channel, blocked);
    return true;
  }

 private:
  InputGate* gate_;
};

}  // namespace cdcflow::exchange
