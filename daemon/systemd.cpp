// SPDX-License-Identifier: MIT
#include "daemon/systemd.hpp"

#include <ctime>
#include <string>

#ifdef MULTIVIO_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace multivio::daemon::systemd {
namespace {

void notify([[maybe_unused]] const std::string& state) {
#ifdef MULTIVIO_HAVE_SYSTEMD
  sd_notify(0, state.c_str());
#endif
}

}  // namespace

void ready(const std::string& status) { notify("READY=1\nSTATUS=" + status); }
void stopping() { notify("STOPPING=1\nSTATUS=stopping: finishing in-flight calls"); }
void status(const std::string& status) { notify("STATUS=" + status); }
void watchdog() { notify("WATCHDOG=1"); }

void reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

std::optional<std::chrono::milliseconds> watchdog_interval() {
#ifdef MULTIVIO_HAVE_SYSTEMD
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    return std::chrono::milliseconds(usec / 2000);
  }
#endif
  return std::nullopt;
}

}  // namespace multivio::daemon::systemd
