#include "cli/cluster_flags.h"

#include <cstdlib>
#include <iostream>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cdcflow::cli {

CLI::Option* AddJobManagerOption(CLI::App* app, std::string* address) {
  *address = kDefaultJobManager;
  return AddFlag(app, "jobmanager", address, "The job manager's address, HOST:PORT");
}

void AddConfigOption(CLI::App* app) {
  app->set_config("--config", "", "Read flags from FILE: 'flag = value' lines, '#' comments");
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
