// SPDX-License-Identifier: MIT
#include "common/oauth/oauth1.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"

namespace multivio::oauth {

namespace {

bool iequals(std::string_view a, std::string_view b) { return ascii_lower(a) == ascii_lower(b); }

std::string_view query_of(std::string_view url) {
  const auto q = url.find('?');
  if (q == std::string_view::npos) {
    return {};
  }
  std::string_view query = url.substr(q + 1);
  return query.substr(0, query.find('#'));
}

bool is_form_content_type(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return iequals(value, "application/x-www-form-urlencoded");
}

// Posts a signed, empty-bodied request and returns the form-encoded answer.
Params post_signed(http::Client& http, const Oauth1Server& server, const std::string& url,
                   const Oauth1Credentials& credentials, const Oauth1Options& options, std::string_view step) {
  http::Request request = form_post(url, {}, server.connect_timeout, server.total_timeout);
  sign(request, credentials, options);
  const std::string context = server.context + ": " + std::string(step);
  const http::Response response = send_with_context(http, request, context);
  if (!response.ok()) {
    throw http::classify(response, context);
  }
  auto params = parse_form(response.body);
  if (!params) {
    throw_permanent(context + ": answer is not form-encoded: " + body_excerpt(response.body));
  }
  return *params;
}

}  // namespace

std::string base_string_uri(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    throw_usage("OAuth 1.0a: not an absolute URL: " + http::redact_url(url));
  }
  const std::string scheme = ascii_lower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    throw_usage("OAuth 1.0a: only http and https URLs can be signed: " + http::redact_url(url));
  }
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("?#"));
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);  // userinfo is not part of the base string URI
  }
  std::string host(authority);
  // The port is dropped when it is the scheme's default (§3.4.1.2); an IPv6
  // literal's colons are inside brackets.
  const auto colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    const std::string port = host.substr(colon + 1);
    if (port.empty() || (scheme == "http" && port == "80") || (scheme == "https" && port == "443")) {
      host.resize(colon);
    }
  }
  if (host.empty()) {
    throw_usage("OAuth 1.0a: URL has no host: " + http::redact_url(url));
  }
  return scheme + "://" + ascii_lower(host) + path;
}

Params collect_parameters(std::string_view url, const Params& oauth_params, std::string_view form_body) {
  Params out;
  auto query = parse_form(query_of(url));
  if (!query) {
    throw_usage("OAuth 1.0a: malformed percent-escape in the query of " + http::redact_url(url));
  }
  auto body = parse_form(form_body);
  if (!body) {
    throw_usage("OAuth 1.0a: malformed percent-escape in the form body");
  }
  // oauth_signature is never signed; "realm" is skipped only as a header
  // parameter (a query parameter of that name is signed like any other).
  const auto add = [&out](const Params& source, bool header) {
    for (const auto& [name, value] : source) {
      if (name != "oauth_signature" && !(header && name == "realm")) {
        out.emplace_back(name, value);
      }
    }
  };
  add(*query, false);
  add(oauth_params, true);
  add(*body, false);
  return out;
}

std::string normalize_parameters(const Params& params) {
  Params encoded;
  encoded.reserve(params.size());
  for (const auto& [name, value] : params) {
    encoded.emplace_back(percent_encode(name), percent_encode(value));
  }
  // std::pair compares by name first, then value, as plain byte strings.
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) {
      out += '&';
    }
    out += name + "=" + value;
  }
  return out;
}

std::string signature_base_string(std::string_view method, std::string_view url, const Params& params) {
  std::string verb(method);
  std::transform(verb.begin(), verb.end(), verb.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return verb + "&" + percent_encode(base_string_uri(url)) + "&" + percent_encode(normalize_parameters(params));
}

std::string hmac_sha1_signature(std::string_view base_string, std::string_view consumer_secret,
                                std::string_view token_secret) {
  const std::string key = percent_encode(consumer_secret) + "&" + percent_encode(token_secret);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(base_string.data()), base_string.size(), digest,
           &length) == nullptr) {
    throw_permanent("OAuth 1.0a: HMAC-SHA1 failed");
  }
  return crypto::base64_encode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string authorization_header(const Params& params) {
  std::string out = "OAuth ";
  bool first = true;
  for (const auto& [name, value] : params) {
    if (!name.starts_with("oauth_")) {
      continue;
    }
    if (!first) {
      out += ", ";
    }
    first = false;
    out += percent_encode(name) + "=\"" + percent_encode(value) + "\"";
  }
  return out;
}

Params sign_parameters(std::string_view method, std::string_view url, std::string_view form_body,
                       const Oauth1Credentials& credentials, const Oauth1Options& options) {
  if (credentials.consumer_key.empty()) {
    throw_auth("OAuth 1.0a: the consumer key is empty");
  }
  const std::int64_t timestamp =
      options.timestamp
          ? *options.timestamp
          : std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
  Params oauth{
      {"oauth_consumer_key", credentials.consumer_key},
      {"oauth_nonce", options.nonce.empty() ? crypto::random_hex(16) : options.nonce},
      {"oauth_signature_method", "HMAC-SHA1"},
      {"oauth_timestamp", std::to_string(timestamp)},
  };
  if (!credentials.token.empty()) {
    oauth.emplace_back("oauth_token", credentials.token);
  }
  oauth.emplace_back("oauth_version", "1.0");
  for (const auto& [name, value] : options.extra) {
    if (!name.starts_with("oauth_")) {
      throw_usage("OAuth 1.0a: extra protocol parameter '" + name + "' does not start with oauth_");
    }
    oauth.emplace_back(name, value);
  }
  const std::string base = signature_base_string(method, url, collect_parameters(url, oauth, form_body));
  oauth.emplace_back("oauth_signature",
                     hmac_sha1_signature(base, credentials.consumer_secret, credentials.token_secret));
  // Sorted by name, the order X's documentation shows; servers accept any.
  std::sort(oauth.begin(), oauth.end());
  return oauth;
}

std::string sign(std::string_view method, std::string_view url, std::string_view form_body,
                 const Oauth1Credentials& credentials, const Oauth1Options& options) {
  return authorization_header(sign_parameters(method, url, form_body, credentials, options));
}

void sign(http::Request& request, const Oauth1Credentials& credentials, const Oauth1Options& options) {
  bool form = false;
  for (const auto& [name, value] : request.headers) {
    form = form || (iequals(name, "Content-Type") && is_form_content_type(value));
  }
  const std::string header = sign(request.method, request.url,
                                  form ? std::string_view(request.body) : std::string_view{}, credentials, options);
  std::erase_if(request.headers, [](const auto& h) { return iequals(h.first, "Authorization"); });
  request.headers.emplace_back("Authorization", header);
}

TemporaryCredentials request_temporary_credentials(http::Client& http, const Oauth1Server& server,
                                                   std::string_view consumer_key, std::string_view consumer_secret,
                                                   std::string_view callback, const Oauth1Options& options) {
  Oauth1Options signed_options = options;
  signed_options.extra.emplace_back("oauth_callback", std::string(callback));
  const Oauth1Credentials consumer{std::string(consumer_key), std::string(consumer_secret), {}, {}};
  const Params answer =
      post_signed(http, server, server.base_url + "/oauth/request_token", consumer, signed_options, "request_token");

  TemporaryCredentials out;
  out.token = find_param(answer, "oauth_token").value_or("");
  out.token_secret = find_param(answer, "oauth_token_secret").value_or("");
  const std::string context = server.context + ": request_token";
  if (out.token.empty()) {
    throw_permanent(context + ": answer has no oauth_token");
  }
  // RFC 5849 §2.1: the server MUST confirm the callback; an answer without it
  // comes from an OAuth 1.0 (not 1.0a) server, whose flow is unsafe.
  if (find_param(answer, "oauth_callback_confirmed").value_or("") != "true") {
    throw_permanent(context + ": answer lacks oauth_callback_confirmed=true");
  }
  return out;
}

std::string authorize_url(const Oauth1Server& server, std::string_view temporary_token) {
  const std::string& base = server.authorize_base.empty() ? server.base_url : server.authorize_base;
  return append_query(base + "/oauth/authorize", {{"oauth_token", std::string(temporary_token)}});
}

TokenCredentials request_token_credentials(http::Client& http, const Oauth1Server& server,
                                           std::string_view consumer_key, std::string_view consumer_secret,
                                           const TemporaryCredentials& temporary, std::string_view verifier,
                                           const Oauth1Options& options) {
  std::string pin(verifier);
  // People paste PINs with stray spaces or a newline.
  pin.erase(std::remove_if(pin.begin(), pin.end(), [](unsigned char c) { return std::isspace(c) != 0; }), pin.end());
  if (pin.empty()) {
    throw_usage("the PIN is empty: paste the number the authorization page shows");
  }
  Oauth1Options signed_options = options;
  signed_options.extra.emplace_back("oauth_verifier", pin);
  const Oauth1Credentials credentials{std::string(consumer_key), std::string(consumer_secret), temporary.token,
                                      temporary.token_secret};
  Params answer;
  try {
    answer =
        post_signed(http, server, server.base_url + "/oauth/access_token", credentials, signed_options, "access_token");
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::auth) {
      Error refused(ErrorKind::auth,
                    std::string(e.what()) + " (the PIN was not accepted: it is single-use and expires; start again)");
      refused.http_status = e.http_status;
      throw refused;
    }
    throw;
  }
  TokenCredentials out;
  out.token = find_param(answer, "oauth_token").value_or("");
  out.token_secret = find_param(answer, "oauth_token_secret").value_or("");
  out.user_id = find_param(answer, "user_id").value_or("");
  out.screen_name = find_param(answer, "screen_name").value_or("");
  if (out.token.empty() || out.token_secret.empty()) {
    throw_permanent(server.context + ": access_token: answer lacks oauth_token or oauth_token_secret");
  }
  return out;
}

}  // namespace multivio::oauth
