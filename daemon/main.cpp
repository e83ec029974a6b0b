// SPDX-License-Identifier: MIT
#include <cstdio>
#include <exception>

#include "daemon/daemon.hpp"

int main(int argc, char** argv) try {
  return multivio::daemon::run(argc, argv);
} catch (const std::exception& e) {
  std::fprintf(stderr, "multiviod: error: internal: %s\n", e.what());
  return 1;
}
