#include "runtime/task/keyed_process_operator.h"

namespace cdcflow::task {

KeyedProcessOperator::KeyedProcessOperator(std::unique_ptr<KeyedProcessFunction> fn,
                                           const KeySelector* key,
                                           std::unique_ptr<state::KeyedStateBackend> state)
    : fn_(std::move(fn)), key_(key), state_(std::move(state)) {}

absl::Status KeyedProcessOperator::Open(RuntimeContext& ctx) {
  ctx_ = &ctx;
  return fn_->Open(*this);
}

absl::Status KeyedProcessOperator::ProcessBatch(int, RowBatch& batch, Collector& out) {
  absl::Status s = key_->SelectKeys(batch, &keys_);
  if (!s.ok()) return s;
  hashes_.resize(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) hashes_[i] = KeyHash(keys_[i]);
  s = state_->Prefetch(keys_, hashes_);
  if (!s.ok()) return s;
  for (size_t i = 0; i < batch.size(); ++i) {
    current_key_ = &keys_[i];
    state_->SetCurrentKey(keys_[i], hashes_[i]);
    timestamp_ = batch.timestamp(i);
    s = fn_->ProcessElement(batch.mutable_row(i), *this, out);
    if (!s.ok()) return s;
  }
  return state_->status();
}

absl::Status KeyedProcessOperator::FireTimers(int64_t until, TimeDomain domain, Collector& out) {
  // Timers registered while firing (at or before `until`) fire in this call too.
  int64_t time = 0;
  while (state_->PopTimer(domain, until, &time, &timer_key_)) {
    current_key_ = &timer_key_;
    state_->SetCurrentKey(timer_key_);
    timestamp_ = time;
    absl::Status s = fn_->OnTimer(time, domain, *this, out);
    if (!s.ok()) return s;
  }
  return state_->status();
}

absl::Status KeyedProcessOperator::ProcessWatermark(int64_t watermark, Collector& out) {
  watermark_ = watermark;
  return FireTimers(watermark, TimeDomain::kEventTime, out);
}

int64_t KeyedProcessOperator::NextProcessingTime() const {
  return state_->NextTimer(TimeDomain::kProcessingTime);
}

absl::Status KeyedProcessOperator::OnProcessingTime(int64_t now_ms, Collector& out) {
  return FireTimers(now_ms, TimeDomain::kProcessingTime, out);
}

absl::Status KeyedProcessOperator::Close() { return fn_->Close(); }

}  // namespace cdcflow::task
