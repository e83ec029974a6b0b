// SPDX-License-Identifier: MIT
// Logging setup for both programs: spdlog to stderr, human lines on a
// terminal and JSON lines otherwise. Messages carry ids as key=value pairs
// ("published post=12 target=30 attempt=41"); the JSON form lifts those pairs
// into fields. Secrets must never be passed to a log call: use redacted URLs.
#pragma once

#include <string>
#include <string_view>

namespace multivio::log {

/// level: trace|debug|info|warn|error|off; format: auto|text|json.
/// Throws Error(usage) for an unknown level or format.
void setup(std::string_view program, const std::string& level, const std::string& format);

/// Escapes s as the inside of a JSON string.
std::string json_escape(std::string_view s);

}  // namespace multivio::log
