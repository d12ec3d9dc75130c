#include "runtime/state/mem_kv_store.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace cdcflow::state {
namespace {

constexpr std::string_view kMagic = "CDCMEM1\n";
constexpr std::string_view kEndMagic = "CDCMEND\n";

class MemWriteBatch final : public KvWriteBatch {
 public:
  struct Op {
    int space;
    std::string key;
    std::optional<std::string> value;
  };
  void Put(int space, std::string_view key, std::string_view value) override {
    ops_.push_back(Op{space, std::string(key), std::string(value)});
  }
  void Delete(int space, std::string_view key) override {
    ops_.push_back(Op{space, std::string(key), std::nullopt});
  }
  size_t Count() const override { return ops_.size(); }
  std::vector<Op>& ops() { return ops_; }

 private:
  std::vector<Op> ops_;
};

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

// Bounds-checked reader over the checkpoint file.
class FileReader {
 public:
  FileReader(std::string_view data, std::string path) : data_(data), path_(std::move(path)) {}
  size_t pos() const { return pos_; }
  bool done() const { return pos_ == data_.size(); }
  absl::Status Error(std::string_view what) const {
    return absl::DataLossError(absl::StrCat("corrupt state snapshot ", path_, ": ",
                                            absl::string_view(what.data(), what.size()),
                                            " at byte offset ", pos_));
  }
  absl::Status Varint(uint64_t* v, std::string_view what) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return Error(absl::StrCat("truncated ", absl::string_view(what.data(), what.size())));
      const auto b = static_cast<uint8_t>(data_[pos_++]);
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return absl::OkStatus();
      }
    }
    return Error(absl::StrCat("overlong varint (", absl::string_view(what.data(), what.size()), ")"));
  }
  absl::Status String(std::string_view* s, std::string_view what) {
    uint64_t n;
    if (absl::Status st = Varint(&n, what); !st.ok()) return st;
    if (n > data_.size() - pos_) {
      return Error(absl::StrCat("truncated ", absl::string_view(what.data(), what.size()),
                                " (length ", n, ")"));
    }
    *s = data_.substr(pos_, n);
    pos_ += n;
    return absl::OkStatus();
  }
  absl::Status Expect(std::string_view magic, std::string_view what) {
    if (data_.substr(pos_, magic.size()) != magic) return Error(absl::StrCat("missing ", absl::string_view(what.data(), what.size())));
    pos_ += magic.size();
    return absl::OkStatus();
  }

 private:
  std::string_view data_;
  std::string path_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<int> MemKvStore::OpenSpace(std::string_view name) {
  for (size_t i = 0; i < spaces_.size(); ++i) {
    if (spaces_[i].first == name) return static_cast<int>(i);
  }
  spaces_.emplace_back(std::string(name), Map());
  return static_cast<int>(spaces_.size() - 1);
}

std::vector<std::string> MemKvStore::SpaceNames() const {
  std::vector<std::string> names;
  for (const auto& [name, map] : spaces_) names.push_back(name);
  return names;
}

absl::Status MemKvStore::MultiGet(int space, std::span<const std::string> keys,
                                  std::vector<std::optional<std::string>>* values) {
  const Map& map = spaces_.at(space).second;
  values->resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = map.find(keys[i]);
    if (it == map.end()) {
      (*values)[i].reset();
    } else {
      (*values)[i] = it->second;
    }
  }
  return absl::OkStatus();
}

absl::Status MemKvStore::Scan(int space, std::string_view begin, std::string_view end,
                              absl::FunctionRef<void(std::string_view, std::string_view)> fn) {
  const Map& map = spaces_.at(space).second;
  for (auto it = map.lower_bound(begin); it != map.end(); ++it) {
    if (!end.empty() && std::string_view(it->first) >= end) break;
    fn(it->first, it->second);
  }
  return absl::OkStatus();
}

absl::Status MemKvStore::ScanPrefix(
    int space, std::string_view prefix,
    absl::FunctionRef<void(std::string_view, std::string_view)> fn) {
  return Scan(space, prefix, PrefixSuccessor(prefix), fn);
}

std::unique_ptr<KvWriteBatch> MemKvStore::NewWriteBatch() {
  return std::make_unique<MemWriteBatch>();
}

absl::Status MemKvStore::Write(KvWriteBatch& batch) {
  for (MemWriteBatch::Op& op : static_cast<MemWriteBatch&>(batch).ops()) {
    Map& map = spaces_.at(op.space).second;
    if (op.value.has_value()) {
      map.insert_or_assign(std::move(op.key), std::move(*op.value));
    } else {
      auto it = map.find(op.key);
      if (it != map.end()) map.erase(it);
    }
  }
  static_cast<MemWriteBatch&>(batch).ops().clear();
  return absl::OkStatus();
}

absl::Status MemKvStore::Checkpoint(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return absl::AlreadyExistsError(absl::StrCat("checkpoint directory ", dir, " already exists"));
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const std::string tmp = dir + "/" + kFileName + ".tmp";
  {
    // Written through a bounded buffer: the store is the whole keyed state of a subtask,
    // and an encoded copy of it in memory would double that for the checkpoint's length.
    constexpr size_t kSpillBytes = 1 << 20;
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    std::string data(kMagic);
    auto spill = [&](size_t at_least) {
      if (data.size() < at_least) return;
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
      data.clear();
    };
    PutVarint(spaces_.size(), &data);
    for (const auto& [name, map] : spaces_) {
      PutString(name, &data);
      PutVarint(map.size(), &data);
      for (const auto& [k, v] : map) {
        PutString(k, &data);
        PutString(v, &data);
        spill(kSpillBytes);
      }
    }
    data.append(kEndMagic);
    spill(0);
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  std::filesystem::rename(tmp, dir + "/" + kFileName, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MemKvStore>> MemKvStore::Load(const std::string& dir) {
  const std::string path = dir + "/" + kFileName;
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("state snapshot ", path, " not found"));
  // One copy of the file in memory (a stringstream's str() would make two).
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  std::string data(size > 0 ? static_cast<size_t>(size) : 0, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (size < 0 || !in) return absl::DataLossError(absl::StrCat("cannot read state snapshot ", path));
  FileReader r(data, path);
  auto store = std::make_unique<MemKvStore>();
  if (absl::Status s = r.Expect(kMagic, "header"); !s.ok()) return s;
  uint64_t spaces;
  if (absl::Status s = r.Varint(&spaces, "space count"); !s.ok()) return s;
  for (uint64_t i = 0; i < spaces; ++i) {
    std::string_view name;
    if (absl::Status s = r.String(&name, "space name"); !s.ok()) return s;
    Map& map = store->spaces_.emplace_back(std::string(name), Map()).second;
    uint64_t entries;
    if (absl::Status s = r.Varint(&entries, "entry count"); !s.ok()) return s;
    for (uint64_t e = 0; e < entries; ++e) {
      std::string_view k, v;
      if (absl::Status s = r.String(&k, "key"); !s.ok()) return s;
      if (absl::Status s = r.String(&v, "value"); !s.ok()) return s;
      map.emplace_hint(map.end(), std::string(k), std::string(v));
    }
  }
  if (absl::Status s = r.Expect(kEndMagic, "end marker"); !s.ok()) return s;
  if (!r.done()) return r.Error("trailing bytes");
  return store;
}

size_t MemKvStore::NumKeys() const {
  size_t n = 0;
  for (const auto& [name, map] : spaces_) n += map.size();
  return n;
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    if (static_cast<uint8_t>(s.back()) != 0xff) {
      s.back() = static_cast<char>(static_cast<uint8_t>(s.back()) + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

}  // namespace cdcflow::state
