#pragma once
// `cdcflow decode`: prints the changelog rows of Debezium events, for debugging
// topics and for tests.

#include "cli/command.h"

namespace cdcflow::cli {

void RegisterDecodeCommand(CLI::App& app, CommandContext& context);

}  // namespace cdcflow::cli
