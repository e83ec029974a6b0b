// SPDX-License-Identifier: MIT
#include "common/platforms/settings.hpp"

#include <charconv>
#include <utility>

#include "common/error.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms {

SettingsReader::SettingsReader(const config::Config& config, std::string_view platform, config::EnvLookup env)
    : platform_(platform), env_(std::move(env)) {
  if (const auto found = config.platforms.find(platform_); found != config.platforms.end()) section_ = found->second;
}

std::string SettingsReader::string(std::string_view key, std::string_view fallback) const {
  if (const auto it = section_.find(std::string(key)); it != section_.end()) {
    std::string v(text::trim(it->second));
    if (!v.empty()) return v;
  }
  return std::string(fallback);
}

std::string SettingsReader::url(std::string_view key, std::string_view fallback) const {
  return without_trailing_slash(string(key, fallback));
}

std::string SettingsReader::client_secret() const {
  if (std::string s = string("client_secret"); !s.empty()) return s;
  const std::string var = string("client_secret_env");
  if (var.empty() || !env_) return {};
  return env_(var).value_or("");
}

std::uint64_t SettingsReader::size(std::string_view key, std::uint64_t min, std::uint64_t max,
                                   std::uint64_t fallback) const {
  const std::string v = string(key);
  if (v.empty()) return fallback;
  const auto n = parse_unsigned(v);
  if (!n || *n < min || *n > max) {
    throw_usage("platforms." + platform_ + "." + std::string(key) + ": '" + v + "' is not a size from " +
                std::to_string(min) + " to " + std::to_string(max) + " bytes");
  }
  return *n;
}

std::chrono::milliseconds SettingsReader::duration(std::string_view key, std::chrono::milliseconds fallback) const {
  const std::string v = string(key);
  return v.empty() ? fallback : config::parse_duration(v);
}

std::string without_trailing_slash(std::string url) {
  while (url.ends_with('/')) url.pop_back();
  return url;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

std::string json_string(const nlohmann::json& j, std::string_view key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<long long> json_integer(const nlohmann::json& j, std::string_view key, NumericText text) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<long long>();
  if (text == NumericText::accept && it->is_string()) {
    const std::string& v = it->get_ref<const std::string&>();
    long long n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (!v.empty() && ec == std::errc{} && end == v.data() + v.size()) return n;
  }
  return std::nullopt;
}

}  // namespace multivio::platforms
