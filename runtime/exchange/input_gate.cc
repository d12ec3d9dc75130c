#include "runtime/exchange/input_gate.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "absl/strings/str_cat.h"

namespace cdcflow::exchange {

namespace {

// Control messages (barriers, watermarks, end of stream) go before any batch.
constexpr int64_t kControl = std::numeric_limits<int64_t>::min();
// A batch without a timestamp (or an empty one) has no place in time: round-robin.
constexpr int64_t kUntimed = std::numeric_limits<int64_t>::max();

// The time Pop orders a message by: a batch's first row's timestamp, or the two above.
int64_t OrderTime(const ChannelMessage& m) {
  if (m.kind != MessageKind::kBatch) return kControl;
  if (m.batch.empty() || m.batch.timestamp(0) == kNoTimestamp) return kUntimed;
  return m.batch.timestamp(0);
}

}  // namespace

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
  const int64_t time = OrderTime(message);
  std::unique_lock<std::mutex> lock(mu_);
  not_full_[c].wait(lock, [&] { return cancelled_ || queues_[c].size() < channel_capacity_; });
  if (cancelled_) return absl::CancelledError("exchange cancelled");
  queues_[c].push_back(Queued{std::move(message), time});
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
  // In round-robin order from next_: the oldest timed batch. A control message or an
  // untimed batch is taken where round-robin reaches it first (kUntimed is never older
  // than a timed batch, so neither kind can starve the other).
  int32_t chosen = -1;
  int64_t best = 0;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t c = (next_ + i) % n;
    if (blocked_[c] || queues_[c].empty()) continue;
    const int64_t time = queues_[c].front().time;
    if (chosen < 0 || time < best) {
      chosen = c;
      best = time;
    }
    if (best == kControl || best == kUntimed) break;
  }
  if (chosen < 0) return false;  // unreachable while available_ counts correctly
  *message = std::move(queues_[chosen].front().message);
  queues_[chosen].pop_front();
  --available_;
  --total_;
  next_ = (chosen + 1) % n;  // round-robin among equal times
  lock.unlock();
  not_full_[chosen].notify_one();
  return true;
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
