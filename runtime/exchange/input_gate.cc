#include "runtime/exchange/input_gate.h"

#include <chrono>

namespace cdcflow::exchange {

InputGate::InputGate(int32_t num_channels, size_t capacity)
    : num_channels_(num_channels), capacity_(capacity < 1 ? 1 : capacity) {}

absl::Status InputGate::Push(ChannelMessage message) {
  std::unique_lock<std::mutex> lock(mu_);
  not_full_.wait(lock, [this] { return cancelled_ || queue_.size() < capacity_; });
  if (cancelled_) return absl::CancelledError("exchange cancelled");
  queue_.push_back(std::move(message));
  lock.unlock();
  not_empty_.notify_one();
  return absl::OkStatus();
}

absl::StatusOr<bool> InputGate::Pop(ChannelMessage* message, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto ready = [this] { return cancelled_ || !queue_.empty(); };
  if (timeout == absl::InfiniteDuration()) {
    not_empty_.wait(lock, ready);
  } else if (!not_empty_.wait_for(lock, absl::ToChronoNanoseconds(timeout), ready)) {
    return false;
  }
  if (cancelled_) return absl::CancelledError("exchange cancelled");
  *message = std::move(queue_.front());
  queue_.pop_front();
  lock.unlock();
  not_full_.notify_one();
  return true;
}

void InputGate::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
}

size_t InputGate::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace cdcflow::exchange
