#pragma once
// The receiving end of every channel into one task: a bounded multi-producer,
// single-consumer queue of ChannelMessages. Local writers push into it directly; a
// network receiver (the cluster's gRPC service) pushes decoded remote messages into it.

#include <condition_variable>
#include <deque>
#include <mutex>

#include "runtime/exchange/channel.h"

namespace cdcflow::exchange {

// Thread-safe. Capacity counts messages (batches), not rows: a batch is at most a few
// thousand rows, so memory per gate stays bounded by capacity x batch size.
class InputGate {
 public:
  InputGate(int32_t num_channels, size_t capacity);
  InputGate(const InputGate&) = delete;
  InputGate& operator=(const InputGate&) = delete;

  int32_t num_channels() const { return num_channels_; }
  // Blocks while the gate holds `capacity` messages. kCancelled after Cancel().
  absl::Status Push(ChannelMessage message);
  // The next message; false after `timeout` without one; kCancelled after Cancel().
  absl::StatusOr<bool> Pop(ChannelMessage* message, absl::Duration timeout);
  void Cancel();
  size_t size() const;

 private:
  const int32_t num_channels_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<ChannelMessage> queue_;
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

 private:
  InputGate* gate_;
};

}  // namespace cdcflow::exchange
