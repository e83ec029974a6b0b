// SPDX-License-Identifier: MIT
// sd_notify wrappers; no-ops when built without libsystemd or when not run
// by systemd (NOTIFY_SOCKET unset).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace multivio::daemon::systemd {

void ready(const std::string& status);
void stopping();
void reloading();
void status(const std::string& status);
void watchdog();
/// Half the WatchdogSec interval when the watchdog is enabled for us.
std::optional<std::chrono::milliseconds> watchdog_interval();

}  // namespace multivio::daemon::systemd
