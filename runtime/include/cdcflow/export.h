#pragma once
// Symbol visibility for the SDK. Job plugins build with -fvisibility=hidden; SDK
// classes and functions are implemented in the host process (the `cdcflow` binary or
// a test binary linked with ENABLE_EXPORTS) and must keep default visibility so a
// plugin's references, vtables and type_info resolve to the host's single copy.
#define CDCFLOW_API __attribute__((visibility("default")))
