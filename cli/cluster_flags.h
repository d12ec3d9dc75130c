#pragma once
// What the cluster verbs (jobmanager, taskmanager, run --jobmanager, list, status,
// cancel) share: the job manager address option, configuration files, a client stub.
//
// Configuration, highest precedence first: command-line flags, environment variables
// (CDCFLOW_<FLAG>, e.g. CDCFLOW_JOBMANAGER, CDCFLOW_SLOTS, CDCFLOW_HEARTBEAT_TIMEOUT_MS),
// then the file given with `--config FILE`: one `flag = value` per line with the long
// flag name without dashes, `#` comments, e.g.
//     jobmanager = 127.0.0.1:6123
//     slots = 4

#include <memory>
#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "grpcpp/grpcpp.h"
#include "proto/job_manager.grpc.pb.h"

namespace cdcflow::cli {

inline constexpr char kDefaultJobManager[] = "localhost:6123";

// Adds `--jobmanager HOST:PORT` (env CDCFLOW_JOBMANAGER, default localhost:6123).
CLI::Option* AddJobManagerOption(CLI::App* app, std::string* address);
// Adds `--config FILE` to a verb (see above); `path` receives the file name.
void AddConfigOption(CLI::App* app, std::string* path);
// Call first in a verb's callback: sets every option of `app` that neither a flag nor
// the environment set from the file `path` (nothing when empty). On error (unreadable
// file, malformed line, unknown flag, bad value) prints it naming the file and line and
// returns false; the verb should then exit with code 2.
bool ApplyConfigFile(CLI::App* app, const std::string& path);
// Adds `--NAME VALUE` with env CDCFLOW_NAME (upper case, '-' -> '_').
template <typename T>
CLI::Option* AddFlag(CLI::App* app, const std::string& name, T* value, const std::string& help) {
  std::string env = "CDCFLOW_";
  for (char c : name) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return app->add_option("--" + name, *value, help)->envname(env)->capture_default_str();
}

std::unique_ptr<v1::JobManagerService::Stub> NewJobManagerStub(const std::string& address);
// A client context with a deadline, and the job manager's token from CDCFLOW_AUTH_TOKEN
// (as "authorization: Bearer <token>" metadata) when that is set.
std::unique_ptr<grpc::ClientContext> NewContext(int timeout_seconds = 10);
// Prints "cdcflow: <what>: <error>" to stderr; returns the exit code (1).
int PrintRpcError(std::string_view what, const std::string& address, const grpc::Status& status);

}  // namespace cdcflow::cli
