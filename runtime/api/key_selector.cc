#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cdcflow/operator.h"

namespace cdcflow {

namespace {
constexpr uint64_t kFoldSeed = 0xcbf29ce484222325ULL;   // FNV-1a offset basis
constexpr uint64_t kFoldPrime = 0x100000001b3ULL;        // FNV-1a prime
inline uint64_t Fold(uint64_t h, uint64_t field_hash) { return (h ^ field_hash) * kFoldPrime; }
}  // namespace

uint64_t KeyHash(const Key& key) {
  if (key.fields.size() == 1) return key.fields[0].StableHash();
  uint64_t h = kFoldSeed;
  for (const Value& v : key.fields) h = Fold(h, v.StableHash());
  return h;
}

absl::Status KeySelector::HashKeys(const RowBatch& batch, uint64_t* hashes) const {
  std::vector<Key> keys;
  absl::Status status = SelectKeys(batch, &keys);
  if (!status.ok()) return status;
  for (size_t i = 0; i < keys.size(); ++i) hashes[i] = KeyHash(keys[i]);
  return absl::OkStatus();
}

namespace {
absl::Status FieldOutOfRange(const Row& row, int field) {
  return absl::InvalidArgumentError(absl::StrCat("key field ", field, " is out of range for row ",
                                                 row.ToString(), " with ", row.fields.size(),
                                                 " fields"));
}
}  // namespace

absl::Status FieldKeySelector::SelectKeys(const RowBatch& batch, std::vector<Key>* keys) const {
  keys->resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Row& row = batch.row(i);
    Key& key = (*keys)[i];
    key.fields.resize(fields_.size());
    for (size_t f = 0; f < fields_.size(); ++f) {
      int idx = fields_[f];
      if (idx < 0 || static_cast<size_t>(idx) >= row.fields.size()) return FieldOutOfRange(row, idx);
      key.fields[f] = row.fields[idx];
    }
  }
  return absl::OkStatus();
}

absl::Status FieldKeySelector::HashKeys(const RowBatch& batch, uint64_t* hashes) const {
  const size_t n = batch.size();
  if (fields_.size() == 1) {
    const int idx = fields_[0];
    for (size_t i = 0; i < n; ++i) {
      const Row& row = batch.row(i);
      if (idx < 0 || static_cast<size_t>(idx) >= row.fields.size()) return FieldOutOfRange(row, idx);
      hashes[i] = row.fields[idx].StableHash();
    }
    return absl::OkStatus();
  }
  for (size_t i = 0; i < n; ++i) {
    const Row& row = batch.row(i);
    uint64_t h = kFoldSeed;
    for (int idx : fields_) {
      if (idx < 0 || static_cast<size_t>(idx) >= row.fields.size()) return FieldOutOfRange(row, idx);
      h = Fold(h, row.fields[idx].StableHash());
    }
    hashes[i] = h;
  }
  return absl::OkStatus();
}

std::string FieldKeySelector::Describe() const {
  return absl::StrCat("fields[", absl::StrJoin(fields_, ","), "]");
}

// Out-of-line destructors anchor the vtables and type_info in the host.
RuntimeContext::~RuntimeContext() = default;
Operator::~Operator() = default;
KeySelector::~KeySelector() = default;
KeyedValueState::~KeyedValueState() = default;
KeyedContext::~KeyedContext() = default;
KeyedProcessFunction::~KeyedProcessFunction() = default;

}  // namespace cdcflow
