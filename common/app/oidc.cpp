// SPDX-License-Identifier: MIT
#include "common/app/oidc.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/app/tokens.hpp"
#include "common/app/users.hpp"
#include "common/error.hpp"

namespace multivio::app {
namespace {

oauth::JwksCache::Options jwks_options(const config::OidcConfig& config) {
  if (config.audience.empty()) {
    throw_usage("auth.oidc.issuer needs auth.oidc.audience (the `aud` your tokens carry, e.g. a Firebase project id)");
  }
  if (config.jwks_file.empty() == config.jwks_url.empty()) {
    throw_usage("auth.oidc.issuer needs exactly one of auth.oidc.jwks_file and auth.oidc.jwks_url");
  }
  oauth::JwksCache::Options options;
  options.file = config.jwks_file;
  options.url = config.jwks_url;
  return options;
}

void add_words(std::string_view text, std::vector<std::string>& out) {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = std::min(text.find(' ', at), text.size());
    if (end > at) out.emplace_back(text.substr(at, end - at));
    at = end + 1;
  }
}

}  // namespace

OidcVerifier::OidcVerifier(const config::OidcConfig& config, std::unique_ptr<http::Client> client)
    : policy_{config.issuer, config.audience, std::chrono::duration_cast<std::chrono::seconds>(config.leeway)},
      auto_create_(config.auto_create),
      jwks_(jwks_options(config), std::move(client)) {}

nlohmann::json OidcVerifier::verify(std::string_view token, std::chrono::system_clock::time_point now) {
  return oauth::verify_jwt(token, [this](const oauth::Jws& jws) { return jwks_.find(jws); }, policy_, now);
}

std::vector<std::string> oidc_scopes(const nlohmann::json& claims) {
  std::vector<std::string> granted;
  bool claimed = false;
  for (const char* name : {"scope", "scp"}) {
    const auto it = claims.find(name);
    if (it == claims.end()) continue;
    claimed = true;
    if (it->is_string()) add_words(it->get<std::string>(), granted);
    if (it->is_array()) {
      for (const auto& entry : *it) {
        if (entry.is_string()) granted.push_back(entry.get<std::string>());
      }
    }
  }
  std::vector<std::string> scopes;
  for (const auto scope : kScopes) {
    const bool wanted = claimed ? std::find(granted.begin(), granted.end(), scope) != granted.end() : scope != "admin";
    if (wanted) scopes.emplace_back(scope);
  }
  return scopes;
}

OidcIdentity oidc_identity(Context& ctx, const nlohmann::json& claims, bool auto_create) {
  const auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get<std::string>().empty()) {
    throw_auth("the JWT names no subject (sub)");
  }
  const std::string name = sub->get<std::string>();
  auto& store = ctx.store();
  std::optional<store::User> user = store.find_user(name);
  if (!user && auto_create) {
    try {
      user = add_user(ctx, name);
      spdlog::info("oidc: created user id={} for a new identity", user->id);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::usage) throw;
      // Either another request created it a moment ago, or `sub` cannot be
      // a user name (the same rules as `multivio user add`).
      user = store.find_user(name);
      if (!user) throw_auth("the JWT's subject cannot be a multivio user name (letters, digits, '.', '_', '-')");
    }
  }
  if (!user) throw_auth("no multivio user for this identity");
  return {*user, oidc_scopes(claims)};
}

}  // namespace multivio::app
