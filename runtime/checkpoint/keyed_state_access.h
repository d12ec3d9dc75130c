#pragma once
// Internal (not SDK): how built-in operators (runtime/operators: changelog join, upsert
// materializer) reach the task's keyed state backend, so that their state is
// checkpointed, restored and rescaled with the task. The task's RuntimeContext
// implements KeyedStateAccess for operator vertices; an operator asks in Open:
//
//   if (auto* access = checkpoint::GetKeyedStateAccess(ctx)) state_ = *access->KeyedBackend();
//
// and falls back to a private in-memory backend when the context has none (tests).

#include "absl/status/statusor.h"
#include "cdcflow/operator.h"
#include "runtime/state/keyed_state_backend.h"

namespace cdcflow::checkpoint {

class KeyedStateAccess {
 public:
  virtual ~KeyedStateAccess() = default;
  // The keyed backend of this vertex's subtask (RocksDB when the task has a state dir,
  // else memory), created on first call with this subtask's key-group range and already
  // restored from the checkpoint the task started from. Owned by the task; valid until
  // the operator is closed. Task thread only.
  virtual absl::StatusOr<state::KeyedStateBackend*> KeyedBackend() = 0;
};

// The access `ctx` offers, or nullptr (a context that is not the runtime's task).
inline KeyedStateAccess* GetKeyedStateAccess(RuntimeContext& ctx) {
  return dynamic_cast<KeyedStateAccess*>(&ctx);
}

}  // namespace cdcflow::checkpoint
