#pragma once
// The cluster verbs: one Register function per verb, each in <verb>_command.cc.

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace cdcflow::cli {

void RegisterJobmanagerCommand(CLI::App& app, CommandContext& context);
void RegisterTaskmanagerCommand(CLI::App& app, CommandContext& context);
void RegisterListCommand(CLI::App& app, CommandContext& context);
void RegisterStatusCommand(CLI::App& app, CommandContext& context);
void RegisterCancelCommand(CLI::App& app, CommandContext& context);
void RegisterSavepointCommand(CLI::App& app, CommandContext& context);

}  // namespace cdcflow::cli
