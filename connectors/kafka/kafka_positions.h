#pragma once
// The source's checkpointable state: for each partition, the offset of the next
// record to read. Serialized into checkpoints and savepoints.
//
// Format (version 1), all integers little-endian:
//   "CKP" magic, u8 version=1, u32 entry count,
//   per entry: u16 topic length, topic bytes, i32 partition, i64 next offset,
//   u32 CRC-32 (IEEE) of every preceding byte.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "connectors/kafka/kafka_config.h"

namespace cdcflow::kafka {

class KafkaPositions {
 public:
  void Set(const TopicPartition& tp, int64_t next_offset) { offsets_[tp] = next_offset; }
  // The next offset of `tp`, or -1 when absent.
  int64_t Get(const TopicPartition& tp) const;
  const std::map<TopicPartition, int64_t>& offsets() const { return offsets_; }
  bool empty() const { return offsets_.empty(); }
  // Adds every entry of `other` (other wins on overlap): restoring a source
  // subtask merges the positions of all subtasks of the previous run.
  void Merge(const KafkaPositions& other);

  std::string Serialize() const;
  // kDataLoss naming the field for truncated, corrupt or unknown-version input.
  static absl::StatusOr<KafkaPositions> Deserialize(std::string_view bytes);

  friend bool operator==(const KafkaPositions&, const KafkaPositions&) = default;

 private:
  std::map<TopicPartition, int64_t> offsets_;
};

// The subtask (0..parallelism-1) that reads `partition` of `topic`. Stable
// across runs and independent of which other topics exist: partitions of one
// topic go round-robin starting at an index derived from a stable hash of the
// topic name (as Flink does), so adding partitions never moves existing ones.
int AssignSubtask(std::string_view topic, int32_t partition, int parallelism);

}  // namespace cdcflow::kafka
