// SPDX-License-Identifier: MIT
// REST API tokens (`multivio token create|list|revoke` and the listener's
// Bearer check). A token is "mvt_" + 32 random bytes in base64url; only its
// SHA-256 hex is stored, and the clear text is returned exactly once.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/app/context.hpp"

namespace multivio::app {

/// Every scope a token can carry. `admin` grants all of them.
inline constexpr std::array<std::string_view, 6> kScopes{"accounts:read", "accounts:write", "posts:read",
                                                        "posts:write",   "ai",             "admin"};

struct NewTokenRequest {
  std::string user;                    // user ref (id or name)
  std::vector<std::string> scopes;     // at least one of kScopes
  std::optional<std::string> expires;  // duration from now ("30d", "12h"); none: never
  std::string name;                    // a label for `token list`
};

struct CreatedToken {
  store::ApiToken token;
  std::string secret;  // the clear token; shown once, never stored or logged
};

/// Throws Error(usage) for an unknown scope, a bad duration or no scope;
/// Error(not_found) for an unknown user.
CreatedToken create_token(Context& ctx, const NewTokenRequest& request);
/// Every token, or only those of the user `user` names.
std::vector<store::ApiToken> list_tokens(Context& ctx, const std::optional<std::string>& user);
void revoke_token(Context& ctx, std::int64_t id);

/// "a,b, c" -> {"a","b","c"}, each checked against kScopes (Error(usage)),
/// duplicates dropped.
std::vector<std::string> parse_scopes(std::string_view list);
/// The stored form of a clear token: lowercase SHA-256 hex.
std::string hash_token(std::string_view secret);
/// The token whose hash matches `secret`, if it is neither revoked nor
/// expired at `now`; Error(auth) otherwise, with one message for every cause
/// so a caller learns nothing about which tokens exist.
store::ApiToken verify_token(store::Store& store, std::string_view secret, model::Timestamp now);
/// Whether the token carries `scope` (or admin).
bool has_scope(const store::ApiToken& token, std::string_view scope);

/// Never includes the hash.
nlohmann::json to_json(const store::ApiToken& token, model::Timestamp now);

}  // namespace multivio::app
