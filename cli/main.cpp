// SPDX-License-Identifier: MIT
// Entry point of `multivio`. Everything lives in cli::run; this last-resort
// handler only exists so that nothing ever escapes as a stack trace.
#include <cstdio>
#include <exception>

#include "cli/cli.hpp"

int main(int argc, char** argv) try {
  return multivio::cli::run(argc, argv);
} catch (const std::exception& e) {
  std::fprintf(stderr, "multivio: error: internal: %s\n", e.what());
  return 1;
} catch (...) {
  std::fprintf(stderr, "multivio: error: internal: unknown exception\n");
  return 1;
}
