// SPDX-License-Identifier: MIT
// OAuth 2.0 authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636):
// the authorization URL, the code exchange, refresh, token responses and the
// classification of token endpoint errors. Network calls go through http::Client.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/client.hpp"
#include "common/oauth/form.hpp"

namespace multivio::oauth {

/// How the client proves itself at the token endpoint (RFC 6749 §2.3.1).
enum class ClientAuth {
  body,   // client_id (and client_secret when set) as form parameters
  basic,  // Authorization: Basic base64(enc(client_id) ":" enc(client_secret)); client_id also in the body
};

/// One network's OAuth 2.0 client registration and endpoints. Every URL is
/// configurable so the flow can run against a fake or a self-hosted server.
struct OAuth2Config {
  std::string authorize_url;  // e.g. "https://x.com/i/oauth2/authorize"
  std::string token_url;      // e.g. "https://api.x.com/2/oauth2/token"
  std::string client_id;
  std::string client_secret;  // empty for a public client (then ClientAuth::basic falls back to body)
  // The parameter that carries client_id in the authorization URL and token
  // requests: TikTok calls it "client_key".
  std::string client_id_param = "client_id";
  ClientAuth client_auth = ClientAuth::body;
  std::string scope_separator = " ";  // X, Mastodon: " "; some networks use ","
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{30'000};
  std::string context = "oauth";  // prefixes error messages, e.g. "x" or "mastodon:main"
};

/// What the authorization URL asks for.
struct AuthorizationRequest {
  std::string redirect_uri;
  std::vector<std::string> scopes;
  std::string state;           // from make_state(); omitted when empty
  std::string code_challenge;  // from make_pkce(); sent with code_challenge_method=S256 when set
  Params extra;                // network-specific additions, e.g. {"force_login", "true"}
};

/// Tokens as the client keeps them.
struct TokenSet {
  std::string access_token;
  /// May be empty: a refresh answer without one means "keep the old one"
  /// (see merge_refreshed()); a code exchange without one means the grant
  /// cannot be refreshed (X without offline.access, Mastodon).
  std::string refresh_token;
  /// now + expires_in; nullopt when the server gave no lifetime (Mastodon tokens do not expire).
  std::optional<std::chrono::sys_seconds> expires_at;
  std::string scope;       // as granted, separated as the server sends it
  std::string token_type;  // "bearer" / "Bearer"
};

/// The TokenSet to persist after a refresh: `fresh`, except that an empty
/// refresh token, scope or token type keeps the old value (RFC 6749 §6: the
/// server MAY issue a new refresh token; when it does the old one is dead).
/// A refresh token is never overwritten with an empty one.
TokenSet merge_refreshed(const TokenSet& old, TokenSet fresh);

/// authorize_url + response_type=code, client_id, redirect_uri, scope (joined
/// with scope_separator), state, code_challenge, code_challenge_method=S256,
/// then `extra`, all percent-encoded.
std::string authorization_url(const OAuth2Config& config, const AuthorizationRequest& request);

/// grant_type=authorization_code with the code, redirect_uri (exactly as in
/// the authorization URL) and the PKCE verifier. Throws as throw_token_error().
TokenSet exchange_code(http::Client& http, const OAuth2Config& config, std::string_view code,
                       std::string_view redirect_uri, std::string_view code_verifier,
                       std::chrono::system_clock::time_point now);

/// grant_type=refresh_token. The answer may carry a new refresh token (X and
/// TikTok rotate them): persist merge_refreshed(old, answer) in the same
/// transaction as the new access token. Throws as throw_token_error(); an
/// empty refresh_token is an AuthError with relink_required.
TokenSet refresh_access_token(http::Client& http, const OAuth2Config& config, std::string_view refresh_token,
                              std::chrono::system_clock::time_point now);

/// Parses a 2xx token response body (RFC 6749 §5.1). Throws Error(permanent)
/// when it is not JSON or has no access_token.
TokenSet parse_token_response(std::string_view body, std::chrono::system_clock::time_point now);

/// Throws the error a non-2xx token endpoint answer means (RFC 6749 §5.2):
/// - 429, 408, 5xx: Error(transient) with retry_after (refresh again later);
/// - invalid_grant, invalid_token, or X's invalid_request "Value passed for the
///   token was invalid": AuthError{relink_required = true}, message "... re-link";
/// - invalid_client, unauthorized_client, or 401/403 without a body code:
///   AuthError{relink_required = false} (the client registration is wrong:
///   check client id, secret and client_auth);
/// - anything else: Error(permanent).
/// The message is "<context>: <what>: HTTP <status>: <error>: <description>".
[[noreturn]] void throw_token_error(const http::Response& response, std::string_view context);

}  // namespace multivio::oauth
