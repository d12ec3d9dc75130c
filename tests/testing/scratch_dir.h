#pragma once
// Scratch paths for tests that write files. Every path lies under one directory that
// mkdtemp made for this test process and that is removed when the process exits.
//
// Why not "<TempDir>/<name>_<pid>": pids repeat (pid_max is 32768 on small machines, and
// a CI run's builds spawn more processes than that), /tmp outlives a run, and a path such
// as "<dir>_cp" that a test derived but never removed was then found already there by a
// later process with the same pid (a checkpoint into it failed in CI).

#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace cdcflow::testing {

// A path that does not exist yet ("<root>/<tag>_<n>"): the caller creates it, or derives
// siblings from it ("<path>_cp"), all inside the process's own root.
inline std::string NewScratchPath(std::string_view tag) {
  struct Root {
    std::string path;
    Root() {
      // Normal form (TempDir() ends in '/'): some tests compare the paths they get back.
      std::string pattern =
          (std::filesystem::path(::testing::TempDir()) / "cdcflow_test_XXXXXX")
              .lexically_normal()
              .string();
      if (mkdtemp(pattern.data()) == nullptr) {
        std::perror(pattern.c_str());
        std::abort();  // no test here can run without a directory of its own
      }
      path = std::move(pattern);
    }
    ~Root() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static Root root;  // created on first use, removed at exit
  static std::atomic<int> counter{0};
  return absl::StrCat(root.path, "/", absl::string_view(tag.data(), tag.size()), "_",
                      counter++);
}

// NewScratchPath, created (empty).
inline std::string NewScratchDir(std::string_view tag) {
  std::string dir = NewScratchPath(tag);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace cdcflow::testing
