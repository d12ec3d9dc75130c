#pragma once
// Strong id types for the cluster's wire vocabulary, so a vertex id cannot be passed
// where a subtask index is expected. Plain, copyable, hashable values.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace cdcflow {

template <typename Tag, typename Rep>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(Rep value) : value_(std::move(value)) {}
  const Rep& value() const { return value_; }
  friend auto operator<=>(const StrongId&, const StrongId&) = default;
  friend bool operator==(const StrongId&, const StrongId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const StrongId& id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  Rep value_{};
};

struct JobIdTag {};
struct VertexIdTag {};
struct SubtaskIndexTag {};
struct TaskManagerIdTag {};

// A job's id: 32 lowercase hex digits, as Flink prints them.
using JobId = StrongId<JobIdTag, std::string>;
// A chain of the execution plan (a job vertex after chaining).
using VertexId = StrongId<VertexIdTag, int32_t>;
using SubtaskIndex = StrongId<SubtaskIndexTag, int32_t>;
using TaskManagerId = StrongId<TaskManagerIdTag, std::string>;

// A random 32-hex-digit id.
std::string RandomHexId();
inline JobId NewJobId() { return JobId(RandomHexId()); }
inline TaskManagerId NewTaskManagerId() { return TaskManagerId(RandomHexId()); }

// SHA-256 of `bytes` as 64 lowercase hex digits (plugins are cached by it).
std::string Sha256Hex(std::string_view bytes);

// The one conversion between gRPC's and absl's error spaces (codes map one to one).
absl::Status FromGrpc(const grpc::Status& status);
grpc::Status ToGrpc(const absl::Status& status);

}  // namespace cdcflow
