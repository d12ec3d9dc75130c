#pragma once
// The Attempt that runs deployed tasks with the runtime: loads the job's plugin (once
// per content hash per process), rebuilds the job graph from the job's arguments,
// checks it equals the submitted topology, and runs each task (runtime/task) on its
// own thread over the NetworkExchange.

#include <memory>

#include "absl/status/statusor.h"
#include "taskmanager/attempt.h"
#include "runtime/task/task.h"
#include "taskmanager/network_exchange.h"

namespace cdcflow::taskmanager {

// `pool` must outlive the attempt. `task_options`: every task's options, notably
// state_dir (where keyed subtasks keep RocksDB state; in memory when empty) and the
// state memory budgets (state_cache_bytes, state_memory_bytes).
absl::StatusOr<std::unique_ptr<Attempt>> NewRuntimeAttempt(AttemptContext context,
                                                           ChannelPool* pool,
                                                           NetworkExchangeOptions options,
                                                           const task::TaskOptions& task_options = {});

}  // namespace cdcflow::taskmanager
