// SPDX-License-Identifier: MIT
// Reading a network's `platforms.NAME` config section and the fields of its
// stored secrets the same way in every adapter, so defaults, trimming and the
// usage messages for bad values agree across networks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/config/config.hpp"

namespace multivio::platforms {

/// One network's `platforms.NAME` section. Values are trimmed; an empty value
/// counts as unset, so the fallback applies.
class SettingsReader {
 public:
  SettingsReader(const config::Config& config, std::string_view platform,
                 config::EnvLookup env = config::process_env);

  std::string string(std::string_view key, std::string_view fallback = {}) const;
  /// string() without trailing slashes, ready to have paths appended.
  std::string url(std::string_view key, std::string_view fallback) const;
  /// client_secret, else the environment variable client_secret_env names
  /// (kept out of the config file); empty when neither gives one.
  std::string client_secret() const;
  /// A byte count from `min` to `max`; anything else is a usage error
  /// "platforms.NAME.KEY: 'v' is not a size from MIN to MAX bytes".
  std::uint64_t size(std::string_view key, std::uint64_t min, std::uint64_t max, std::uint64_t fallback) const;
  /// A duration in config syntax ("90s", "10m"); config::parse_duration's errors.
  std::chrono::milliseconds duration(std::string_view key, std::chrono::milliseconds fallback) const;

 private:
  std::string platform_;
  std::map<std::string, std::string> section_;  // a copy: readers may outlive a temporary Config
  config::EnvLookup env_;
};

/// Trailing slashes removed.
std::string without_trailing_slash(std::string url);

/// All of `text` as a non-negative decimal number, or nothing.
std::optional<std::uint64_t> parse_unsigned(std::string_view text);

/// j[key] when j is an object and the field is a string, else "".
std::string json_string(const nlohmann::json& j, std::string_view key);

/// Whether json_integer takes "123" for 123: secrets typed in by hand at
/// `account add` carry numbers as text.
enum class NumericText { reject, accept };

/// j[key] when j is an object and the field is an integer (or, with
/// NumericText::accept, a string holding only one), else nothing.
std::optional<long long> json_integer(const nlohmann::json& j, std::string_view key,
                                      NumericText text = NumericText::accept);

}  // namespace multivio::platforms
