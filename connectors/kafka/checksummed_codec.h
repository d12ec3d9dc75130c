#pragma once
// The binary encoding of the Kafka connector's checkpoint state (the source's
// KafkaPositions, the exactly-once sink's KafkaSinkState): little-endian integers,
// length-prefixed strings, and a CRC-32 (IEEE) of everything before it at the end.
// Each format keeps its own magic, version and layout; these are the pieces they share.

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"

namespace cdcflow::kafka::codec {

// CRC-32 (IEEE 802.3, reflected, as zlib's crc32).
uint32_t Crc32(std::string_view data);

// Appends `v` in little-endian order.
template <typename T>
void Put(std::string* out, T v) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  for (size_t i = 0; i < sizeof(T); ++i) out->push_back(static_cast<char>((u >> (8 * i)) & 0xFF));
}

// A uint32 length, then the bytes.
void PutString(std::string* out, std::string_view s);

// Reads what Put/PutString wrote. Running out of data is DATA_LOSS "<what>: truncated
// at byte <pos> reading <field>".
class Reader {
 public:
  // `what` names the format in errors ("kafka positions"); it must outlive the reader.
  Reader(std::string_view data, std::string_view what) : data_(data), what_(what) {}

  template <typename T>
  absl::Status Get(std::string_view field, T* v) {
    if (data_.size() - pos_ < sizeof(T)) return Truncated(field);
    using U = std::make_unsigned_t<T>;
    U u = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      u |= static_cast<U>(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += sizeof(T);
    *v = static_cast<T>(u);
    return absl::OkStatus();
  }
  // `n` bytes (a view into the data).
  absl::Status Bytes(std::string_view field, size_t n, std::string_view* v);
  // A uint32 length, then the bytes.
  absl::Status String(std::string_view field, std::string* v);

  size_t pos() const { return pos_; }
  bool done() const { return pos_ == data_.size(); }

 private:
  absl::Status Truncated(std::string_view field) const;

  std::string_view data_;
  std::string_view what_;
  size_t pos_ = 0;
};

}  // namespace cdcflow::kafka::codec
