// SPDX-License-Identifier: MIT
#include "common/app/tokens.hpp"

#include <algorithm>

#include "common/app/users.hpp"
#include "common/config/config.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"

namespace multivio::app {
namespace {

constexpr std::string_view kPrefix = "mvt_";

// base64url without padding: the token travels in headers and shells, where
// '+', '/' and '=' need quoting.
std::string base64url(std::string_view bytes) {
  std::string out = crypto::base64_encode(bytes);
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  out.erase(std::find(out.begin(), out.end(), '='), out.end());
  return out;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::vector<std::string> parse_scopes(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string scope = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (scope.empty()) continue;
    if (std::find(kScopes.begin(), kScopes.end(), scope) == kScopes.end()) {
      std::string known;
      for (const auto s : kScopes) known += (known.empty() ? "" : ", ") + std::string(s);
      throw_usage("unknown scope '" + scope + "' (known: " + known + ")");
    }
    if (std::find(out.begin(), out.end(), scope) == out.end()) out.push_back(scope);
  }
  return out;
}

std::string hash_token(std::string_view secret) { return crypto::sha256_hex(secret); }

CreatedToken create_token(Context& ctx, const NewTokenRequest& request) {
  std::vector<std::string> scopes;
  for (const auto& s : request.scopes) {
    for (auto& one : parse_scopes(s)) {
      if (std::find(scopes.begin(), scopes.end(), one) == scopes.end()) scopes.push_back(std::move(one));
    }
  }
  if (scopes.empty()) throw_usage("a token needs at least one --scope");
  const auto now = ctx.clock().now();
  std::optional<model::Timestamp> expires;
  if (request.expires) {
    const auto in = config::parse_duration(*request.expires);
    if (in.count() <= 0) throw_usage("--expires must be a positive duration such as 30d or 12h");
    expires = now + in;
  }
  const store::User user = resolve_user(ctx, request.user);
  CreatedToken out;
  out.secret = std::string(kPrefix) + base64url(crypto::random_bytes(32));
  store::ApiToken token;
  token.user_id = user.id;
  token.name = request.name;
  token.hash = hash_token(out.secret);
  token.scopes = std::move(scopes);
  token.created_at = now;
  token.expires_at = expires;
  out.token = ctx.store().add_token(token);
  return out;
}

std::vector<store::ApiToken> list_tokens(Context& ctx, const std::optional<std::string>& user) {
  std::optional<std::int64_t> id;
  if (user) id = resolve_user(ctx, *user).id;
  return ctx.store().list_tokens(id);
}

void revoke_token(Context& ctx, std::int64_t id) { ctx.store().revoke_token(id, ctx.clock().now()); }

store::ApiToken verify_token(store::Store& store, std::string_view secret, model::Timestamp now) {
  const auto refuse = [] { throw_auth("invalid, expired or revoked API token"); };
  if (!secret.starts_with(kPrefix) || secret.size() > 128) refuse();
  const std::string hash = hash_token(secret);
  auto token = store.find_token_by_hash(hash);
  // The lookup is by an index, so its timing depends on the hash; the hash
  // of a 256-bit random secret tells an attacker nothing useful. The final
  // comparison is constant-time all the same (DESIGN §8).
  if (!token || !crypto::constant_time_equal(token->hash, hash)) refuse();
  if (token->revoked_at || (token->expires_at && *token->expires_at <= now)) refuse();
  return *token;
}

bool has_scope(const store::ApiToken& token, std::string_view scope) {
  return std::any_of(token.scopes.begin(), token.scopes.end(),
                     [&](const std::string& s) { return s == scope || s == "admin"; });
}

nlohmann::json to_json(const store::ApiToken& token, model::Timestamp now) {
  const auto time = [](const std::optional<model::Timestamp>& t) {
    return t ? nlohmann::json(model::format_utc(*t)) : nlohmann::json();
  };
  std::string state = "active";
  if (token.revoked_at) {
    state = "revoked";
  } else if (token.expires_at && *token.expires_at <= now) {
    state = "expired";
  }
  return {{"id", token.id},
          {"user_id", token.user_id},
          {"name", token.name},
          {"scopes", token.scopes},
          {"state", state},
          {"created_at", model::format_utc(token.created_at)},
          {"expires_at", time(token.expires_at)},
          {"revoked_at", time(token.revoked_at)},
          {"last_used_at", time(token.last_used_at)}};
}

}  // namespace multivio::app
