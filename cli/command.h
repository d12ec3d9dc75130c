#pragma once
// How a verb of the `cdcflow` command plugs in: each verb lives in its own
// <verb>_command.cc and exposes one Register function that adds a CLI11
// subcommand. The callback stores the process exit code in `exit_code`.

#include "CLI/CLI.hpp"

namespace cdcflow::cli {

struct CommandContext {
  int exit_code = 0;
};

}  // namespace cdcflow::cli
