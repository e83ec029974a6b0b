// SPDX-License-Identifier: MIT
// OIDC sign-in for the REST listener (`auth.oidc.*`): a bearer JWT from the
// configured issuer (e.g. a Firebase ID token) verified against its JWKS,
// and its `sub` mapped to the multivio user of that name.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/app/context.hpp"
#include "common/config/config.hpp"
#include "common/oauth/jwks.hpp"

namespace multivio::app {

/// A verified JWT as the listener uses it.
struct OidcIdentity {
  store::User user;
  std::vector<std::string> scopes;  // a subset of kScopes
};

/// Verifies bearer JWTs for one `auth.oidc` configuration. Thread-safe: the
/// listener's threads share one (and so its JWKS cache).
class OidcVerifier {
 public:
  /// Throws Error(usage) when OIDC is configured incompletely: an issuer
  /// needs an audience and exactly one of jwks_file and jwks_url. `client`
  /// fetches the JWKS URL (nullptr: a real one).
  explicit OidcVerifier(const config::OidcConfig& config, std::unique_ptr<http::Client> client = nullptr);

  /// The token's claims when it is a valid JWT for this issuer and audience
  /// at `now`; Error(auth) naming what is wrong otherwise, Error(transient)
  /// when the issuer's keys cannot be had.
  nlohmann::json verify(std::string_view token, std::chrono::system_clock::time_point now);

  bool auto_create() const { return auto_create_; }

 private:
  oauth::JwtPolicy policy_;
  bool auto_create_;
  oauth::JwksCache jwks_;
};

/// The scopes a JWT grants: those of its `scope` (space-separated) or `scp`
/// (an array or space-separated) claim that are multivio scopes; without
/// either claim every scope except admin.
std::vector<std::string> oidc_scopes(const nlohmann::json& claims);

/// The user whose name is the claims' `sub`, created first when
/// `auto_create` is set. Throws Error(auth) for a token without `sub`, for a
/// `sub` that is no valid user name, and "no multivio user for this
/// identity" when there is none to use.
OidcIdentity oidc_identity(Context& ctx, const nlohmann::json& claims, bool auto_create);

}  // namespace multivio::app
