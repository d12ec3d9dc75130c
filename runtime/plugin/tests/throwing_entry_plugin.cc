// An entry point that throws instead of returning its descriptor.
#include <stdexcept>

#include "cdcflow/plugin.h"

extern "C" __attribute__((visibility("default"))) const cdcflow_job_descriptor* cdcflow_job_entry() {
  throw std::runtime_error("entry exploded");
}
