#pragma once
// The plugin ABI: how a job `.so` hands its build function to the runtime.
//
// A job defines `absl::Status Build(cdcflow::JobBuilder&)` and writes CDCFLOW_JOB(Build)
// once, at namespace scope. That exports the one C symbol `cdcflow_job_entry`, which
// returns a static descriptor. The loader (runtime/plugin) resolves the symbol, reads
// abi_version and refuses a version it does not know *before* calling anything else.
//
// ABI version N covers the layout of this descriptor and of every SDK class a plugin
// touches (JobBuilder, Stream, RowBatch, Row, Value, ...). Bump kCdcflowJobAbiVersion
// whenever one of them changes incompatibly.
//   1: first release.
//   2: RuntimeContext::metrics() (a new virtual), cdcflow/connectors.h specs.
//   3: Value is 40 bytes (Decimal's big magnitude behind a pointer, no 16-byte alignment).

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "absl/status/status.h"
#include "cdcflow/export.h"

namespace cdcflow {
class JobBuilder;
}  // namespace cdcflow

#define CDCFLOW_JOB_ABI_VERSION 3u
#define CDCFLOW_JOB_ENTRY_SYMBOL "cdcflow_job_entry"

extern "C" {

// The build function's C signature: `builder` is a cdcflow::JobBuilder*. Returns 0 on
// success; otherwise writes a NUL-terminated message into `error` (at most
// `error_size` bytes) and returns non-zero. Must not throw.
typedef int (*cdcflow_build_fn)(void* builder, char* error, size_t error_size);

struct cdcflow_job_descriptor {
  uint32_t abi_version;  // CDCFLOW_JOB_ABI_VERSION the plugin was built with
  uint32_t reserved;     // 0
  const char* sdk_version;
  cdcflow_build_fn build;
};

typedef const struct cdcflow_job_descriptor* (*cdcflow_job_entry_fn)(void);

}  // extern "C"

namespace cdcflow::plugin_internal {

// Runs a job's build function behind the C boundary: converts a non-OK status or an
// exception into the error buffer.
template <absl::Status (*kBuild)(::cdcflow::JobBuilder&)>
int RunBuild(void* builder, char* error, size_t error_size) noexcept {
  std::string message;
  try {
    absl::Status status = kBuild(*static_cast<::cdcflow::JobBuilder*>(builder));
    if (status.ok()) return 0;
    message = status.ToString();
  } catch (const std::exception& e) {
    message = std::string("build function threw: ") + e.what();
  } catch (...) {
    message = "build function threw a non-standard exception";
  }
  if (error != nullptr && error_size > 0) {
    size_t n = message.size() < error_size - 1 ? message.size() : error_size - 1;
    message.copy(error, n);
    error[n] = '\0';
  }
  return 1;
}

}  // namespace cdcflow::plugin_internal

// Exports the job's entry point. `build_fn` is `absl::Status build_fn(cdcflow::JobBuilder&)`.
#define CDCFLOW_JOB(build_fn)                                                           \
  extern "C" __attribute__((visibility("default"))) const struct cdcflow_job_descriptor* \
  cdcflow_job_entry(void) {                                                             \
    static const struct cdcflow_job_descriptor kDescriptor = {                          \
        CDCFLOW_JOB_ABI_VERSION, 0u, "cdcflow-sdk",                                     \
        &::cdcflow::plugin_internal::RunBuild<&build_fn>};                              \
    return &kDescriptor;                                                                \
  }
