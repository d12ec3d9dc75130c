#include "runtime/exchange/edge_output.h"

#include "absl/time/clock.h"
#include "runtime/exchange/key_groups.h"

namespace cdcflow::exchange {

EdgeOutput::EdgeOutput(Partitioning partitioning, int32_t max_parallelism, const KeySelector* key,
                       std::vector<std::unique_ptr<BatchWriter>> writers,
                       EdgeOutputOptions options)
    : partitioning_(partitioning),
      max_parallelism_(max_parallelism),
      key_(key),
      writers_(std::move(writers)),
      options_(options),
      pending_(writers_.size()) {}

absl::Status EdgeOutput::Write(size_t channel, ChannelMessage message) {
  const int64_t start = absl::GetCurrentTimeNanos();
  absl::Status s = writers_[channel]->Write(std::move(message));
  blocked_ns_ += absl::GetCurrentTimeNanos() - start;
  return s;
}

absl::Status EdgeOutput::SendPending(size_t channel) {
  RowBatch& p = pending_[channel];
  if (p.empty()) return absl::OkStatus();
  rows_sent_ += static_cast<int64_t>(p.size());
  RowBatch out(options_.target_batch_rows);
  std::swap(out, p);
  return Write(channel, ChannelMessage::Batch(std::move(out)));
}

absl::Status EdgeOutput::Emit(RowBatch& batch) {
  const size_t n = batch.size();
  if (n == 0) return absl::OkStatus();
  const size_t channels = writers_.size();
  switch (partitioning_) {
    case Partitioning::kHash: {
      hashes_.resize(n);
      absl::Status s = key_->HashKeys(batch, hashes_.data());
      if (!s.ok()) return s;
      const int32_t parallelism = static_cast<int32_t>(channels);
      for (size_t i = 0; i < n; ++i) {
        const int32_t target = SubtaskForKeyGroup(KeyGroupForHash(hashes_[i], max_parallelism_),
                                                  parallelism, max_parallelism_);
        RowBatch& p = pending_[target];
        if (p.empty()) p.reserve(options_.target_batch_rows);
        p.Append(std::move(batch.mutable_row(i)), batch.timestamp(i));
        if (p.size() >= options_.target_batch_rows) {
          s = SendPending(target);
          if (!s.ok()) return s;
        }
      }
      break;
    }
    case Partitioning::kBroadcast: {
      for (size_t c = 0; c < channels; ++c) {
        absl::Status s = SendPending(c);  // keep per-channel order
        if (!s.ok()) return s;
        rows_sent_ += static_cast<int64_t>(n);
        RowBatch copy = c + 1 == channels ? std::move(batch) : batch.Clone();
        s = Write(c, ChannelMessage::Batch(std::move(copy)));
        if (!s.ok()) return s;
      }
      batch.clear();
      return absl::OkStatus();
    }
    case Partitioning::kRebalance:
    case Partitioning::kForward:
    default: {
      // Whole batches: round-robin for rebalance, the one channel for forward.
      size_t c = partitioning_ == Partitioning::kRebalance ? next_channel_++ % channels : 0;
      absl::Status s = SendPending(c);
      if (!s.ok()) return s;
      rows_sent_ += static_cast<int64_t>(n);
      s = Write(c, ChannelMessage::Batch(std::move(batch)));
      batch = RowBatch();
      return s;
    }
  }
  batch.clear();
  return absl::OkStatus();
}

absl::Status EdgeOutput::Flush() {
  for (size_t c = 0; c < pending_.size(); ++c) {
    absl::Status s = SendPending(c);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status EdgeOutput::EmitWatermark(int64_t watermark) {
  absl::Status s = Flush();
  for (size_t c = 0; s.ok() && c < writers_.size(); ++c) {
    s = Write(c, ChannelMessage::Watermark(watermark));
  }
  return s;
}

absl::Status EdgeOutput::EmitEndOfStream() {
  absl::Status s = Flush();
  for (size_t c = 0; s.ok() && c < writers_.size(); ++c) {
    s = Write(c, ChannelMessage::EndOfStream());
  }
  return s;
}

absl::Status EdgeOutput::EmitBarrier(int64_t checkpoint_id) {
  absl::Status s = Flush();
  for (size_t c = 0; s.ok() && c < writers_.size(); ++c) {
    s = Write(c, ChannelMessage::Barrier(checkpoint_id));
  }
  return s;
}

}  // namespace cdcflow::exchange
