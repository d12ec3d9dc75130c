#pragma once
// Loads job plugins (`.so` files built with cdcflow_job) and runs their build function.
//
// Every failure is an absl::Status naming the plugin file; the process stays up:
//   - not a loadable shared object (or unresolved symbols)    -> kInvalidArgument
//   - no `cdcflow_job_entry` symbol                            -> kInvalidArgument
//   - an ABI version this runtime does not know                -> kFailedPrecondition
//   - the entry point or build function throws / fails         -> kInvalidArgument / its code
// The plugin is opened with RTLD_NOW | RTLD_LOCAL: its own symbols stay private, and its
// references to the SDK resolve against the host executable (linked with
// ENABLE_EXPORTS, see cdcflow_host in cmake/cdcflow.cmake).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "cdcflow/job_args.h"
#include "cdcflow/plugin.h"
#include "runtime/graph/logical_graph.h"

namespace cdcflow::plugin {

// The ABI versions this runtime can load.
inline constexpr uint32_t kSupportedAbiVersion = CDCFLOW_JOB_ABI_VERSION;

// An opened plugin. The graphs built from it hold code of the plugin (factories, key
// selectors, operator vtables): destroy every graph and every operator created from
// it before the JobPlugin. Build may be called from several threads at once only if
// the plugin's build function allows it; the runtime calls it from one thread.
class JobPlugin {
 public:
  static absl::StatusOr<std::unique_ptr<JobPlugin>> Open(const std::string& path);
  // Writes `bytes` (a plugin file shipped by the job manager) to a fresh file under
  // `directory` (created if missing), opens it, and removes the file when destroyed.
  static absl::StatusOr<std::unique_ptr<JobPlugin>> OpenBytes(std::string_view bytes,
                                                              const std::string& directory);
  ~JobPlugin();
  JobPlugin(const JobPlugin&) = delete;
  JobPlugin& operator=(const JobPlugin&) = delete;

  // Runs the build function with `args` and the default parallelism, then checks the
  // graph (graph::Finalize).
  absl::StatusOr<graph::LogicalGraph> Build(const JobArgs& args, int default_parallelism) const;

  const std::string& path() const { return path_; }
  uint32_t abi_version() const { return abi_version_; }

 private:
  JobPlugin() = default;
  static absl::StatusOr<std::unique_ptr<JobPlugin>> OpenInternal(const std::string& path,
                                                                 bool remove_file);

  std::string path_;
  void* handle_ = nullptr;
  const cdcflow_job_descriptor* descriptor_ = nullptr;
  uint32_t abi_version_ = 0;
  bool remove_file_ = false;
};

// Reads a whole file (the CLI ships plugin bytes to the job manager).
absl::StatusOr<std::string> ReadPluginFile(const std::string& path);

}  // namespace cdcflow::plugin
