// SPDX-License-Identifier: MIT
// A fake authorization server on 127.0.0.1 that is as strict as a real one:
// OAuth 2.0 /authorize and /token (client authentication, exact redirect URI,
// PKCE S256, single-use codes, rotating refresh tokens with reuse detection)
// and OAuth 1.0a request_token / authorize / access_token plus a protected
// resource, whose HMAC-SHA1 signatures it verifies with its own derivation of
// the base string (it never calls the production signer). Thread-safe; the
// server runs on its own threads from construction until stop().
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multivio::fakes {

class OAuthServer {
 public:
  using Pairs = std::vector<std::pair<std::string, std::string>>;

  enum class ClientAuthMethod { any, basic, body };

  struct Client {
    std::string id;
    std::string secret;  // empty: a public client, which must not authenticate
    ClientAuthMethod auth = ClientAuthMethod::any;
    /// Exact matches. Empty: any http://127.0.0.1:<port>/<path> (RFC 8252 §7.3
    /// lets native apps vary the loopback port).
    std::vector<std::string> redirect_uris;
    bool require_pkce = true;
  };

  /// A canned answer for /token, used before any check (scripted failures).
  struct Reply {
    int status = 200;
    std::string body;
    Pairs headers;
  };

  /// What GET /authorize does after validating the request.
  enum class AuthorizeMode {
    consent_page,  // 200 with an HTML page; the test calls approve() or deny()
    approve,       // 302 straight back to redirect_uri with a code (the user clicked Allow)
    deny,          // 302 back with error=access_denied
  };

  struct AuthorizeRequest {
    Pairs params;  // decoded query, in order
    std::string client_id;
    std::string redirect_uri;
    std::string state;
    std::string scope;
    std::string code_challenge;
    std::string code_challenge_method;
  };

  struct TokenRequest {
    std::string grant_type;
    Pairs form;                 // decoded body
    std::string authorization;  // the Authorization header as sent
    int status = 0;             // answered
    std::string error;          // the RFC 6749 error code answered, if any
    std::string reason;         // why, in words (for test diagnostics)
  };

  /// One OAuth 1.0a signature check, kept for test diagnostics.
  struct Oauth1Check {
    std::string path;
    bool ok = false;
    std::string reason;
    std::string base_string;  // as the fake derived it
  };

  /// Binds 127.0.0.1 on a free port. Throws std::runtime_error when no socket
  /// can be bound (tests GTEST_SKIP then).
  OAuthServer();
  ~OAuthServer();
  OAuthServer(const OAuthServer&) = delete;
  OAuthServer& operator=(const OAuthServer&) = delete;
  void stop();

  std::string base_url() const;  // "http://127.0.0.1:PORT"
  int port() const;
  std::string authorize_url() const;  // base_url() + "/authorize"
  std::string token_url() const;      // base_url() + "/token"
  std::string userinfo_url() const;   // base_url() + "/userinfo": Bearer-protected

  // ---- OAuth 2.0 ----
  void add_client(Client client);
  void set_authorize_mode(AuthorizeMode mode);
  std::vector<AuthorizeRequest> authorize_requests() const;
  /// "Allow" on the latest consent page: issues a code bound to that request's
  /// client, redirect URI, challenge and scope, and returns the URL the browser
  /// is sent to (redirect_uri?code=...&state=...).
  std::string approve();
  /// "Deny" on the latest consent page: the error redirect URL.
  std::string deny();
  /// A code as approve() would issue, for tests that skip /authorize.
  std::string issue_code(const std::string& client_id, const std::string& redirect_uri,
                         const std::string& code_challenge, const std::string& scope = "");

  void set_expires_in(std::chrono::seconds lifetime);     // access tokens; default 7200 s
  void set_code_lifetime(std::chrono::seconds lifetime);  // default 600 s
  void set_issue_refresh_tokens(bool issue);              // default true
  /// true (default): each refresh returns a new refresh token and the old one
  /// dies; reusing a dead one revokes the whole family (OAuth 2.1 reuse
  /// detection). false: the refresh token stays valid and answers omit it.
  void set_rotate_refresh_tokens(bool rotate);
  void script_token_replies(std::vector<Reply> replies);
  std::vector<TokenRequest> token_requests() const;
  bool access_token_valid(std::string_view token) const;
  bool refresh_token_valid(std::string_view token) const;
  /// Every access token issued so far expires now (a 401 at /userinfo).
  void expire_access_tokens();

  // ---- OAuth 1.0a ----
  void add_consumer(std::string key, std::string secret);
  /// Token credentials as if the user had linked before.
  void add_oauth1_token(std::string consumer_key, std::string token, std::string secret, std::string user_id = "783214",
                        std::string screen_name = "fakeuser");
  /// The PIN the consent page shows for a temporary token (after GET /oauth/authorize).
  std::optional<std::string> oauth1_pin(std::string_view temporary_token) const;
  std::vector<Oauth1Check> oauth1_checks() const;
  /// Paths under which the protected OAuth 1.0a resource answers: /1.1/* and /2/*.
  std::string protected_url(std::string_view path = "/1.1/account/verify_credentials.json") const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The fake's own RFC 5849 §3.4.1 derivation, independent of common/oauth,
/// exposed so tests can check it against the published examples. `uri` is
/// the base string URI ("https://api.x.com/2/tweets"); `query` and
/// `form_body` are as sent (encoded); `protocol` holds the decoded header
/// parameters (oauth_signature and realm are skipped). nullopt when the query
/// or body has a malformed escape.
std::optional<std::string> oauth1_base_string(std::string_view method, std::string_view uri, std::string_view query,
                                              const OAuthServer::Pairs& protocol, std::string_view form_body);
/// base64(HMAC-SHA1(enc(consumer_secret) "&" enc(token_secret), base_string)).
std::string oauth1_signature(std::string_view base_string, std::string_view consumer_secret,
                             std::string_view token_secret);

}  // namespace multivio::fakes
