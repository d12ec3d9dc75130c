#include "connectors/kafka/kafka_positions.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "connectors/kafka/checksummed_codec.h"

namespace cdcflow::kafka {
namespace {

constexpr std::string_view kMagic = "CKP";
constexpr uint8_t kVersion = 1;

using codec::Crc32;
using codec::Put;

// Reads a KafkaPositions snapshot.
class Reader : public codec::Reader {
 public:
  explicit Reader(std::string_view data) : codec::Reader(data, "kafka positions") {}
};

}  // namespace

int64_t KafkaPositions::Get(const TopicPartition& tp) const {
  auto it = offsets_.find(tp);
  return it == offsets_.end() ? -1 : it->second;
}

void KafkaPositions::Merge(const KafkaPositions& other) {
  for (const auto& [tp, offset] : other.offsets_) offsets_[tp] = offset;
}

std::string KafkaPositions::Serialize() const {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kVersion));
  Put<uint32_t>(&out, static_cast<uint32_t>(offsets_.size()));
  for (const auto& [tp, offset] : offsets_) {
    Put<uint16_t>(&out, static_cast<uint16_t>(tp.topic.size()));  // Kafka caps names at 249
    out.append(tp.topic);
    Put<int32_t>(&out, tp.partition);
    Put<int64_t>(&out, offset);
  }
  Put<uint32_t>(&out, Crc32(out));
  return out;
}

absl::StatusOr<KafkaPositions> KafkaPositions::Deserialize(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + 1 + 4 + 4) {
    return absl::DataLossError(
        absl::StrCat("kafka positions: ", bytes.size(), " bytes is too short for a header"));
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError("kafka positions: bad magic (not a Kafka source snapshot)");
  }
  uint8_t version = static_cast<uint8_t>(bytes[kMagic.size()]);
  if (version != kVersion) {
    return absl::DataLossError(
        absl::StrCat("kafka positions: unknown format version ", static_cast<int>(version)));
  }
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  Reader crc_reader(bytes.substr(bytes.size() - 4));
  uint32_t stored_crc = 0;
  (void)crc_reader.Get("checksum", &stored_crc);
  if (stored_crc != Crc32(body)) {
    return absl::DataLossError("kafka positions: checksum mismatch (corrupt snapshot)");
  }
  Reader r(body.substr(kMagic.size() + 1));
  uint32_t count = 0;
  if (absl::Status s = r.Get("entry count", &count); !s.ok()) return s;
  KafkaPositions positions;
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t len = 0;
    std::string_view topic;
    int32_t partition = 0;
    int64_t offset = 0;
    std::string field = absl::StrCat("entry ", i);
    if (absl::Status s = r.Get(field + " topic length", &len); !s.ok()) return s;
    if (absl::Status s = r.Bytes(field + " topic", len, &topic); !s.ok()) return s;
    if (absl::Status s = r.Get(field + " partition", &partition); !s.ok()) return s;
    if (absl::Status s = r.Get(field + " offset", &offset); !s.ok()) return s;
    if (topic.empty() || partition < 0 || offset < 0) {
      return absl::DataLossError(absl::StrCat("kafka positions: ", field, " is invalid (topic '",
                                              std::string(topic), "', partition ", partition, ", offset ",
                                              offset, ")"));
    }
    positions.offsets_[TopicPartition{std::string(topic), partition}] = offset;
  }
  if (r.pos() != body.size() - kMagic.size() - 1) {
    return absl::DataLossError("kafka positions: trailing bytes after the last entry");
  }
  return positions;
}

int AssignSubtask(std::string_view topic, int32_t partition, int parallelism) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across processes and releases
  for (unsigned char c : topic) {
    h ^= c;
    h *= 1099511628211ull;
  }
  uint64_t start = h % static_cast<uint64_t>(parallelism);
  return static_cast<int>((start + static_cast<uint64_t>(partition)) %
                          static_cast<uint64_t>(parallelism));
}

}  // namespace cdcflow::kafka
