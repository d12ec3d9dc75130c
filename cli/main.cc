// The `cdcflow` command line: every process role and user verb lives behind it.
// Verbs register themselves from their own files (see command.h).
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "cli/cluster_commands.h"
#include "cli/command.h"
#include "cli/run_command.h"
#include "cli/decode_command.h"
#include "cli/version.h"

int main(int argc, char** argv) {
  CLI::App app{"cdcflow: a distributed stream engine for change-data-capture pipelines"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("cdcflow ") + CDCFLOW_VERSION);
  cdcflow::cli::CommandContext context;
  // Verb registrations go here, one line each, e.g.
  //   cdcflow::cli::RegisterDecodeCommand(app, context);
  cdcflow::cli::RegisterRunCommand(app, context);
  cdcflow::cli::RegisterDecodeCommand(app, context);
  cdcflow::cli::RegisterJobmanagerCommand(app, context);
  cdcflow::cli::RegisterTaskmanagerCommand(app, context);
  cdcflow::cli::RegisterListCommand(app, context);
  cdcflow::cli::RegisterStatusCommand(app, context);
  cdcflow::cli::RegisterCancelCommand(app, context);
  cdcflow::cli::RegisterSavepointCommand(app, context);
  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
  }
  return context.exit_code;
}
