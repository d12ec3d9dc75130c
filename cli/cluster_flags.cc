#include "cli/cluster_flags.h"

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cdcflow::cli {

CLI::Option* AddJobManagerOption(CLI::App* app, std::string* address) {
  *address = kDefaultJobManager;
  return AddFlag(app, "jobmanager", address, "The job manager's address, HOST:PORT");
}

void AddConfigOption(CLI::App* app, std::string* path) {
  app->add_option("--config", *path,
                  "Read flags from FILE: 'flag = value' lines, '#' comments; flags and "
                  "CDCFLOW_* variables take precedence");
}

bool ApplyConfigFile(CLI::App* app, const std::string& path) {
  if (path.empty()) return true;
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cdcflow " << app->get_name() << ": cannot read config file " << path << "\n";
    return false;
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text.front() == '#') continue;
    size_t eq = text.find('=');
    const std::string where = absl::StrCat(path, ":", number);
    if (eq == absl::string_view::npos) {
      std::cerr << "cdcflow " << app->get_name() << ": " << where
                << ": expected 'flag = value', got '" << text << "'\n";
      return false;
    }
    std::string key(absl::StripAsciiWhitespace(text.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(text.substr(eq + 1)));
    CLI::Option* opt = key == "config" ? nullptr : app->get_option_no_throw("--" + key);
    if (opt == nullptr) {
      std::cerr << "cdcflow " << app->get_name() << ": " << where << ": unknown flag '" << key
                << "'\n";
      return false;
    }
    if (opt->count() > 0) continue;  // given as a flag or through the environment
    try {
      opt->add_result(value);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      std::cerr << "cdcflow " << app->get_name() << ": " << where << ": " << key << ": "
                << e.what() << "\n";
      return false;
    }
  }
  return true;
}

std::unique_ptr<v1::JobManagerService::Stub> NewJobManagerStub(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  return v1::JobManagerService::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

std::unique_ptr<grpc::ClientContext> NewContext(int timeout_seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(timeout_seconds)));
  // A job manager with --auth-token wants it on submit/cancel/savepoint.
  if (const char* token = std::getenv("CDCFLOW_AUTH_TOKEN"); token != nullptr && *token != 0) {
    context->AddMetadata("authorization", std::string("Bearer ") + token);
  }
  return context;
}

int PrintRpcError(std::string_view what, const std::string& address, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    std::cerr << "cdcflow: " << what << ": cannot reach the job manager at " << address << " ("
              << status.error_message() << ")\n";
  } else {
    std::cerr << "cdcflow: " << what << ": " << status.error_message() << "\n";
  }
  return 1;
}

}  // namespace cdcflow::cli
