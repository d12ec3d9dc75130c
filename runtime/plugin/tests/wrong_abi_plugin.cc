// Exports the entry point with an ABI version no runtime knows.
#include "cdcflow/plugin.h"

namespace {
int NeverCalled(void*, char*, size_t) { __builtin_trap(); }
}  // namespace

extern "C" __attribute__((visibility("default"))) const cdcflow_job_descriptor* cdcflow_job_entry() {
  static const cdcflow_job_descriptor kDescriptor = {999u, 0u, "future-sdk", &NeverCalled};
  return &kDescriptor;
}
