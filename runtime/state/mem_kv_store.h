#pragma once
// KvStore in memory (ordered maps), for tests and the in-memory backend. Its
// checkpoint is one file, `memstate.bin`, in the checkpoint directory:
//   "CDCMEM1\n" | varint spaces | per space: varint len, name, varint entries,
//   entries as (varint len, key, varint len, value) | "CDCMEND\n"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/state/kv_store.h"

namespace cdcflow::state {

class MemKvStore final : public KvStore {
 public:
  static constexpr char kFileName[] = "memstate.bin";

  MemKvStore() = default;
  // Reads a checkpoint directory written by Checkpoint.
  static absl::StatusOr<std::unique_ptr<MemKvStore>> Load(const std::string& dir);

  absl::StatusOr<int> OpenSpace(std::string_view name) override;
  std::vector<std::string> SpaceNames() const override;
  absl::Status MultiGet(int space, std::span<const std::string> keys,
                        std::vector<std::optional<std::string>>* values) override;
  absl::Status Scan(int space, std::string_view begin, std::string_view end,
                    absl::FunctionRef<void(std::string_view, std::string_view)> fn) override;
  absl::Status ScanPrefix(int space, std::string_view prefix,
                          absl::FunctionRef<void(std::string_view, std::string_view)> fn) override;
  std::unique_ptr<KvWriteBatch> NewWriteBatch() override;
  absl::Status Write(KvWriteBatch& batch) override;
  absl::Status Checkpoint(const std::string& dir) override;

  size_t NumKeys() const;

 private:
  using Map = std::map<std::string, std::string, std::less<>>;
  std::vector<std::pair<std::string, Map>> spaces_;
};

}  // namespace cdcflow::state
