// SPDX-License-Identifier: MIT
#include "common/platforms/platform.hpp"

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

}  // namespace multivio::platforms
