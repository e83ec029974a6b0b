// SPDX-License-Identifier: MIT
// Logging setup for both programs: spdlog to stderr, human lines on a
// terminal and JSON lines otherwise. Messages carry ids as key=value pairs
// ("published post=12 target=30 attempt=41"); the JSON form lifts those pairs
// into fields. Secrets must never be passed to a log call: use redacted URLs.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace multivio::log {

/// level: trace|debug|info|warn|error|off; format: auto|text|json.
/// Throws Error(usage) for an unknown level or format.
void setup(std::string_view program, const std::string& level, const std::string& format);

/// Escapes s as the inside of a JSON string. Invalid UTF-8 bytes become U+FFFD
/// so that every line stays parseable.
std::string json_escape(std::string_view s);

/// One JSON log line (no trailing newline), as the json format writes it:
/// {"ts":"...Z","level":..,"program":..,"msg":..} plus every key=value token of
/// msg (key [a-z_]+) as a field; integers become numbers, the first of a
/// repeated key wins, and the four fixed fields are never overridden.
std::string format_json_line(std::string_view program, std::string_view level,
                             std::chrono::system_clock::time_point ts, std::string_view msg);

}  // namespace multivio::log
