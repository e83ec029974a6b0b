// SPDX-License-Identifier: MIT
// OAuth 1.0a (RFC 5849) HMAC-SHA1 request signing, and the PIN ("oob") flow
// that turns consumer credentials into a user's token credentials (X).
// Pure functions except the three flow calls, which go through http::Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/http/client.hpp"
#include "common/oauth/form.hpp"

namespace multivio::oauth {

/// Consumer (app) credentials plus, once linked, the user's token credentials.
/// token and token_secret are empty when requesting temporary credentials.
struct Oauth1Credentials {
  std::string consumer_key;
  std::string consumer_secret;
  std::string token;
  std::string token_secret;
};

/// Per-request protocol values. Empty nonce → 16 random bytes as hex; no
/// timestamp → the system clock. Tests fix both to reproduce known signatures.
struct Oauth1Options {
  std::string nonce;
  std::optional<std::int64_t> timestamp;
  /// Further protocol parameters signed and sent in the header, e.g.
  /// {"oauth_callback", "oob"} or {"oauth_verifier", PIN}. Names must start with "oauth_".
  Params extra;
};

// ---- The signature, step by step (RFC 5849 §3.4) ----

/// §3.4.1.2: scheme and host lowercased, default port dropped, no query or
/// fragment ("https://api.x.com/2/tweets"). Throws Error(usage) for a URL that
/// is not absolute http(s).
std::string base_string_uri(std::string_view url);

/// §3.4.1.3.1: the decoded query parameters of `url`, then `oauth_params`, then
/// the decoded pairs of `form_body` (pass it only for a single-part
/// application/x-www-form-urlencoded body). oauth_signature is left out, and
/// realm when it is one of `oauth_params` (a header parameter). Throws Error(usage) on a malformed percent-escape.
Params collect_parameters(std::string_view url, const Params& oauth_params, std::string_view form_body);

/// §3.4.1.3.2: every name and value percent-encoded, sorted by name then
/// value (byte order), joined as "n=v&n=v".
std::string normalize_parameters(const Params& params);

/// §3.4.1.1: METHOD&enc(base string URI)&enc(normalized parameters).
/// `params` are the raw (decoded) values from collect_parameters().
std::string signature_base_string(std::string_view method, std::string_view url, const Params& params);

/// §3.4.2: base64(HMAC-SHA1(key = enc(consumer_secret) "&" enc(token_secret), base_string)).
std::string hmac_sha1_signature(std::string_view base_string, std::string_view consumer_secret,
                                std::string_view token_secret);

/// §3.5.1: `OAuth name="value", ...` with the oauth_* pairs of `params` (others
/// are skipped), names and values percent-encoded, in the order given.
std::string authorization_header(const Params& params);

// ---- Signing a request ----

/// The oauth_* protocol parameters for one request, with oauth_signature
/// computed over `method`, `url` (its query included) and `form_body`.
Params sign_parameters(std::string_view method, std::string_view url, std::string_view form_body,
                       const Oauth1Credentials& credentials, const Oauth1Options& options = {});

/// The Authorization header value for one request (see sign_parameters()).
std::string sign(std::string_view method, std::string_view url, std::string_view form_body,
                 const Oauth1Credentials& credentials, const Oauth1Options& options = {});

/// Sets the Authorization header of `request`, replacing any. The body is
/// signed when the request's Content-Type is application/x-www-form-urlencoded
/// (JSON and multipart bodies are not part of an OAuth 1.0a signature).
void sign(http::Request& request, const Oauth1Credentials& credentials, const Oauth1Options& options = {});

// ---- PIN (out-of-band) flow ----

/// Where the three flow endpoints live: base_url + "/oauth/request_token",
/// authorize_base (base_url when empty) + "/oauth/authorize", base_url +
/// "/oauth/access_token". Both configurable so tests can use a fake.
struct Oauth1Server {
  std::string base_url = "https://api.x.com";
  std::string authorize_base;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{30'000};
  std::string context = "oauth1";  // prefixes error messages, e.g. "x"
};

/// Temporary credentials (the "request token") of RFC 5849 §2.1.
struct TemporaryCredentials {
  std::string token;
  std::string token_secret;
};

/// The user's token credentials (§2.3) plus what X returns about the user.
struct TokenCredentials {
  std::string token;
  std::string token_secret;
  std::string user_id;      // X: numeric id; empty when the server sends none
  std::string screen_name;  // X: handle without "@"
};

/// POST request_token signed with the consumer credentials and
/// oauth_callback (default "oob", which makes the server show a PIN).
/// Throws Error from http::classify() on a non-2xx answer (401 auth, 429/5xx
/// transient), Error(permanent) when the answer lacks the token or
/// oauth_callback_confirmed=true.
TemporaryCredentials request_temporary_credentials(http::Client& http, const Oauth1Server& server,
                                                   std::string_view consumer_key, std::string_view consumer_secret,
                                                   std::string_view callback = "oob",
                                                   const Oauth1Options& options = {});

/// The page the user opens to approve the app and read the PIN.
std::string authorize_url(const Oauth1Server& server, std::string_view temporary_token);

/// POST access_token signed with the consumer and temporary credentials and
/// oauth_verifier = the PIN. A refused PIN is Error(auth) saying so.
TokenCredentials request_token_credentials(http::Client& http, const Oauth1Server& server,
                                           std::string_view consumer_key, std::string_view consumer_secret,
                                           const TemporaryCredentials& temporary, std::string_view verifier,
                                           const Oauth1Options& options = {});

}  // namespace multivio::oauth
