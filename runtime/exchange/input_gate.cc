#include "runtime/exchange/input_gate.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"

namespace cdcflow::exchange {

InputGate::InputGate(int32_t num_channels, size_t capacity)
    : num_channels_(num_channels),
      channel_capacity_(std::max<size_t>(1, capacity / static_cast<size_t>(std::max(1, num_channels)))),
      not_full_(new std::condition_variable[std::max(1, num_channels)]),
      queues_(std::max(1, num_channels)),
      blocked_(std::max(1, num_channels), false) {}

absl::Status InputGate::Push(ChannelMessage message) {
  const int32_t c = message.channel;
  if (c < 0 || c >= static_cast<int32_t>(queues_.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("message for channel ", c, " of a gate with ", num_channels_, " channels"));
  }
  std::unique_lock<std::mutex> lock(mu_);
  not_full_[c].wait(lock, [&] { return cancelled_ || queues_[c].size() < channel_capacity_; });
  if (cancelled_) return absl::CancelledError("exchange cancelled");
  queues_[c].push_back(std::move(message));
  ++total_;
  const bool deliverable = !blocked_[c];
  if (deliverable) ++available_;
  lock.unlock();
  if (deliverable) not_empty_.notify_one();
  return absl::OkStatus();
}

absl::StatusOr<bool> InputGate::Pop(ChannelMessage* message, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto ready = [this] { return cancelled_ || available_ > 0; };
  if (timeout == absl::InfiniteDuration()) {
    not_empty_.wait(lock, ready);
  } else if (!not_empty_.wait_for(lock, absl::ToChronoNanoseconds(timeout), ready)) {
    return false;
  }
  if (cancelled_) return absl::CancelledError("exchange cancelled");
  const int32_t n = static_cast<int32_t>(queues_.size());
  for (int32_t i = 0; i < n; ++i) {
    const int32_t c = (next_ + i) % n;
    if (blocked_[c] || queues_[c].empty()) continue;
    *message = std::move(queues_[c].front());
    queues_[c].pop_front();
    --available_;
    --total_;
    next_ = (c + 1) % n;  // round-robin: a busy channel cannot starve the others
    lock.unlock();
    not_full_[c].notify_one();
    return true;
  }
  return false;  // unreachable while available_ counts correctly
}

void InputGate::SetBlocked(int32_t channel, bool blocked) {
  if (channel < 0 || channel >= static_cast<int32_t>(queues_.size())) return;
  std::unique_lock<std::mutex> lock(mu_);
  if (blocked_[channel] == blocked) return;
  blocked_[channel] = blocked;
  if (blocked) {
    available_ -= queues_[channel].size();
  } else {
    available_ += queues_[channel].size();
    const bool wake = available_ > 0;
    lock.unlock();
    if (wake) not_empty_.notify_one();
  }
}

void InputGate::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  not_empty_.notify_all();
  for (size_t c = 0; c < queues_.size(); ++c) not_full_[c].notify_all();
}

size_t InputGate::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

}  // namespace cdcflow::exchange
