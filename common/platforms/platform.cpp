// SPDX-License-Identifier: MIT
#include "common/platforms/platform.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace multivio::platforms {

std::optional<nlohmann::json> Adapter::refresh(const model::Account&, const nlohmann::json&) {
  return std::nullopt;  // nothing expires
}

std::vector<RemotePost> Adapter::find_recent(const model::Account&, const nlohmann::json&, std::size_t) {
  return {};
}

nlohmann::json Preview::to_json() const {
  nlohmann::json h = nlohmann::json::object();
  for (const auto& [name, value] : headers) {
    h[name] = value;
  }
  // A JSON body is shown as JSON so --dry-run --json output stays one document.
  nlohmann::json b = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (b.is_discarded()) {
    b = body;
  }
  return {{"method", method}, {"url", url}, {"headers", std::move(h)}, {"body", std::move(b)}};
}

void Adapter::move_secret_options(nlohmann::json&, nlohmann::json&) const {}

void check_option_keys(std::string_view platform, nlohmann::json& options,
                       std::initializer_list<std::string_view> known) {
  const std::string name(platform);
  if (options.is_null()) options = nlohmann::json::object();
  if (!options.is_object()) throw_usage(name + ": account options must be an object");
  for (auto it = options.begin(); it != options.end();) {
    if (it->is_null()) {
      it = options.erase(it);
      continue;
    }
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      std::string list;
      for (const auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      throw_usage(name + ": unknown option '" + it.key() + "' (known: " + list + ")");
    }
    ++it;
  }
}

}  // namespace multivio::platforms
