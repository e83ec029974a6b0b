// SPDX-License-Identifier: MIT
// One account's OAuth 2.0 bearer tokens for the calls of one operation, shared
// by the adapters of networks that publish with them (YouTube, LinkedIn,
// TikTok). What differs between networks (the refresh call, how a refused
// token looks, how early to refresh) is passed in as a Policy.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/http/client.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/platforms/platform.hpp"

namespace multivio::config {
struct Config;
}

namespace multivio::platforms {

/// What a network's refresh call got from its token endpoint.
struct Refreshed {
  oauth::TokenSet tokens;  // merged with the stored ones by the session (oauth::merge_refreshed)
  /// Other fields of the answer to store with the tokens (TikTok's open_id).
  nlohmann::json extra = nlohmann::json::object();
};

struct BearerPolicy {
  /// "re-link it with 'multivio account add NETWORK --oauth'": ends every
  /// message that only linking again can answer.
  std::string relink;
  /// Refresh this long before the stored expiry, so that a long upload
  /// started just before it does not fail halfway.
  std::chrono::milliseconds refresh_margin{std::chrono::minutes{5}};
  /// Required. Trades the stored refresh token (never empty when called) for
  /// new tokens. An oauth::AuthError with relink_required becomes
  /// "<context>: <refresh_refused>: <relink>"; other errors pass unchanged.
  std::function<Refreshed(const nlohmann::json& secrets)> refresh;
  /// E.g. "Google refused the refresh token (expired or revoked)".
  std::string refresh_refused;
  /// Whether an answer means the access token was refused (the network did
  /// not act on the request, so sending it again is safe). Empty: HTTP 401.
  std::function<bool(const http::Response&)> refused;
};

/// Adds the Bearer token, refreshes it within refresh_margin of its expiry
/// and once after a refused answer (then never again in this session, so a
/// token the network keeps refusing cannot loop), and saves new secrets
/// through SaveSecrets before they are used: a rotated refresh token is dead
/// the moment the network answers, so it must be stored first.
class BearerSession {
 public:
  /// `context` (the account's ref) prefixes every message. Throws
  /// Error(auth) when no access token is stored.
  BearerSession(http::Client& http, const config::Config& config, std::string context, const nlohmann::json& secrets,
                SaveSecrets save, BearerPolicy policy);

  const nlohmann::json& secrets() const { return secrets_; }
  const std::string& context() const { return context_; }
  bool refreshed() const { return refreshed_; }
  bool can_refresh() const;
  std::optional<std::chrono::sys_seconds> expires_at() const;

  /// A request with the configured connect and total timeouts.
  http::Request request(std::string method, std::string url) const;

  /// Sends `req` with the Bearer token (`authorize` false: pre-signed upload
  /// URLs, which refuse a second credential). Errors name `context`.
  http::Response send(http::Request req, const std::string& context, bool authorize = true);

  /// Refreshes now and saves the new secrets. Throws Error(auth) with the
  /// re-link hint when no refresh token is stored.
  void refresh();

  /// Merges `fields` into the secrets and saves them at once (a channel id or
  /// user id learned from the network).
  void update(const nlohmann::json& fields);

 private:
  void ensure_fresh();
  http::Response transmit(http::Request& req, const std::string& context, bool authorize);
  void persist() const;

  http::Client& http_;
  const config::Config& config_;
  std::string context_;
  nlohmann::json secrets_;
  SaveSecrets save_;
  BearerPolicy policy_;
  bool refreshed_ = false;
};

/// A client registration that proves itself with client_id and
/// client_secret as form fields (Google, LinkedIn), with the configured
/// timeouts, for linking and refreshing.
oauth::OAuth2Config form_auth_client(const config::Config& config, std::string authorize_url, std::string token_url,
                                     std::string client_id, std::string client_secret, std::string context);

/// "in 3 days" / "3 days ago", for expiry messages.
std::string days_from_now(std::chrono::system_clock::time_point at);

}  // namespace multivio::platforms
