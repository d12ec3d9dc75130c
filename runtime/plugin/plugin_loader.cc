#include "runtime/plugin/plugin_loader.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace cdcflow::plugin {

namespace {
std::string DlError() {
  const char* e = dlerror();
  return e == nullptr ? "unknown dlopen error" : e;
}
}  // namespace

absl::StatusOr<std::unique_ptr<JobPlugin>> JobPlugin::Open(const std::string& path) {
  return OpenInternal(path, /*remove_file=*/false);
}

absl::StatusOr<std::unique_ptr<JobPlugin>> JobPlugin::OpenBytes(std::string_view bytes,
                                                                const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create plugin directory ", directory, ": ", ec.message()));
  }
  std::string path = absl::StrCat(directory, "/job-XXXXXX.so");
  int fd = mkstemps(path.data(), 3);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create a plugin file in ", directory, ": ", std::strerror(errno)));
  }
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      unlink(path.c_str());
      return absl::UnavailableError(absl::StrCat("cannot write plugin file ", path, ": ",
                                                 std::strerror(err)));
    }
    written += static_cast<size_t>(n);
  }
  close(fd);
  auto plugin = OpenInternal(path, /*remove_file=*/true);
  if (!plugin.ok()) unlink(path.c_str());
  return plugin;
}

absl::StatusOr<std::unique_ptr<JobPlugin>> JobPlugin::OpenInternal(const std::string& path,
                                                                   bool remove_file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("job plugin ", path, ": no such file"));
  }
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("job plugin ", path, " is not a loadable shared object: ", DlError()));
  }
  std::unique_ptr<JobPlugin> plugin(new JobPlugin());
  plugin->path_ = path;
  plugin->handle_ = handle;
  plugin->remove_file_ = remove_file;

  dlerror();
  void* sym = dlsym(handle, CDCFLOW_JOB_ENTRY_SYMBOL);
  if (sym == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "job plugin ", path, " does not export ", CDCFLOW_JOB_ENTRY_SYMBOL,
        " (is CDCFLOW_JOB(build) missing?)"));
  }
  auto entry = reinterpret_cast<cdcflow_job_entry_fn>(sym);
  const cdcflow_job_descriptor* descriptor = nullptr;
  try {
    descriptor = entry();
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("job plugin ", path, ": entry point threw: ", e.what()));
  } catch (...) {
    return absl::InvalidArgumentError(
        absl::StrCat("job plugin ", path, ": entry point threw a non-standard exception"));
  }
  if (descriptor == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("job plugin ", path, ": entry point returned no descriptor"));
  }
  // The ABI version is read before anything else in the descriptor is trusted.
  if (descriptor->abi_version != kSupportedAbiVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job plugin ", path, " has ABI version ", descriptor->abi_version,
        ", this runtime supports version ", kSupportedAbiVersion,
        ": rebuild the job against this SDK"));
  }
  if (descriptor->build == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("job plugin ", path, ": descriptor has no build function"));
  }
  plugin->descriptor_ = descriptor;
  plugin->abi_version_ = descriptor->abi_version;
  return plugin;
}

JobPlugin::~JobPlugin() {
  if (handle_ != nullptr) dlclose(handle_);
  if (remove_file_) unlink(path_.c_str());
}

absl::StatusOr<graph::LogicalGraph> JobPlugin::Build(const JobArgs& args,
                                                     int default_parallelism) const {
  JobBuilder builder(args, default_parallelism);
  char error[2048] = {0};
  int rc;
  try {
    rc = descriptor_->build(&builder, error, sizeof(error));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("job plugin ", path_, ": build function threw: ", e.what()));
  } catch (...) {
    return absl::InvalidArgumentError(
        absl::StrCat("job plugin ", path_, ": build function threw a non-standard exception"));
  }
  if (rc != 0) {
    error[sizeof(error) - 1] = '\0';
    return absl::InvalidArgumentError(
        absl::StrCat("job plugin ", path_, ": build function failed: ", error));
  }
  auto graph = graph::Finalize(builder);
  if (!graph.ok()) {
    return absl::Status(graph.status().code(),
                        absl::StrCat("job plugin ", path_, ": invalid job graph: ",
                                     graph.status().message()));
  }
  return graph;
}

absl::StatusOr<std::string> ReadPluginFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read job plugin ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace cdcflow::plugin
