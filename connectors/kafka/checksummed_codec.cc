#include "connectors/kafka/checksummed_codec.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace cdcflow::kafka::codec {

uint32_t Crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char ch : data) crc = table[(crc ^ ch) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

void PutString(std::string* out, std::string_view s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

absl::Status Reader::Bytes(std::string_view field, size_t n, std::string_view* v) {
  if (data_.size() - pos_ < n) return Truncated(field);
  *v = data_.substr(pos_, n);
  pos_ += n;
  return absl::OkStatus();
}

absl::Status Reader::String(std::string_view field, std::string* v) {
  uint32_t n = 0;
  if (absl::Status s = Get(field, &n); !s.ok()) return s;
  std::string_view bytes;
  if (absl::Status s = Bytes(field, n, &bytes); !s.ok()) return s;
  v->assign(bytes);
  return absl::OkStatus();
}

absl::Status Reader::Truncated(std::string_view field) const {
  return absl::DataLossError(absl::StrCat(absl::string_view(what_.data(), what_.size()),
                                          ": truncated at byte ", pos_, " reading ",
                                          absl::string_view(field.data(), field.size())));
}

}  // namespace cdcflow::kafka::codec
