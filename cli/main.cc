// The `cdcflow` command line: every process role and user verb lives behind it.
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "cli/version.h"

int main(int argc, char** argv) {
  CLI::App app{"cdcflow: a distributed stream engine for change-data-capture pipelines"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("cdcflow ") + CDCFLOW_VERSION);
  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
  }
  return 0;
}
