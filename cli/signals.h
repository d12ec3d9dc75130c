#pragma once
// Shutdown on SIGINT/SIGTERM for the long-running verbs.

#include <functional>

namespace cdcflow::cli {

// Blocks SIGINT and SIGTERM in the calling thread (call before starting any thread, so
// every thread inherits the mask) and starts a thread that runs `on_signal` once when
// one arrives. Returns the signal number through `on_signal`'s argument.
void HandleTerminationSignals(std::function<void(int)> on_signal);

}  // namespace cdcflow::cli
