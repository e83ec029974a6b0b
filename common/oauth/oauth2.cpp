// SPDX-License-Identifier: MIT
#include "common/oauth/oauth2.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/oauth/pkce.hpp"

namespace multivio::oauth {

namespace {

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += separator;
    }
    out += item;
  }
  return out;
}

// A JSON string member, or a number's text (some servers send expires_in as "7200").
std::string string_member(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return {};
}

std::optional<long long> seconds_member(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer() || it->is_number_unsigned()) return it->get<long long>();
  if (it->is_number_float()) return static_cast<long long>(it->get<double>());
  if (it->is_string()) {
    const std::string text = it->get<std::string>();
    if (!text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); }) &&
        text.size() < 12) {
      return std::stoll(text);
    }
  }
  return std::nullopt;
}

TokenSet post_token_request(http::Client& http, const OAuth2Config& config, Params form, std::string_view step,
                            std::chrono::system_clock::time_point now) {
  // client_id always travels in the body: public clients need it there, and
  // RFC 6749 §3.2.1 lets confidential ones send it too (X's docs list it).
  form.emplace_back(config.client_id_param, config.client_id);
  const bool basic = !config.client_secret.empty() && config.client_auth == ClientAuth::basic;
  if (!config.client_secret.empty() && !basic) {
    form.emplace_back("client_secret", config.client_secret);
  }
  http::Request request = form_post(config.token_url, form, config.connect_timeout, config.total_timeout);
  request.headers.emplace_back("Accept", "application/json");
  if (basic) {
    // §2.3.1: each half is form-urlencoded before the Basic encoding, so a
    // secret with ":" or "%" survives the server's decoding.
    request.headers.emplace_back("Authorization",
                                 "Basic " + crypto::base64_encode(percent_encode(config.client_id) + ":" +
                                                                  percent_encode(config.client_secret)));
  }

  // A transport failure is transient already. Retrying a refresh later with
  // the same refresh token is safe unless the server rotated it, in which case
  // the next answer is invalid_grant and the user re-links.
  const std::string context = config.context + ": " + std::string(step);
  const http::Response response = send_with_context(http, request, context);
  if (!response.ok()) {
    throw_token_error(response, context);
  }
  try {
    return parse_token_response(response.body, now);
  } catch (const Error& e) {
    throw e.with_prefix(context);
  }
}

}  // namespace

TokenSet merge_refreshed(const TokenSet& old, TokenSet fresh) {
  if (fresh.refresh_token.empty()) {
    fresh.refresh_token = old.refresh_token;
  }
  if (fresh.scope.empty()) {
    fresh.scope = old.scope;  // §5.1: scope may be omitted when unchanged
  }
  if (fresh.token_type.empty()) {
    fresh.token_type = old.token_type;
  }
  return fresh;
}

std::string authorization_url(const OAuth2Config& config, const AuthorizationRequest& request) {
  Params params{{"response_type", "code"}, {config.client_id_param, config.client_id}};
  if (!request.redirect_uri.empty()) {
    params.emplace_back("redirect_uri", request.redirect_uri);
  }
  if (!request.scopes.empty()) {
    params.emplace_back("scope", join(request.scopes, config.scope_separator));
  }
  if (!request.state.empty()) {
    params.emplace_back("state", request.state);
  }
  if (!request.code_challenge.empty()) {
    params.emplace_back("code_challenge", request.code_challenge);
    params.emplace_back("code_challenge_method", std::string(kChallengeMethod));
  }
  params.insert(params.end(), request.extra.begin(), request.extra.end());
  return append_query(config.authorize_url, params);
}

TokenSet exchange_code(http::Client& http, const OAuth2Config& config, std::string_view code,
                       std::string_view redirect_uri, std::string_view code_verifier,
                       std::chrono::system_clock::time_point now) {
  if (code.empty()) {
    throw_usage(config.context + ": the authorization code is empty");
  }
  Params form{{"grant_type", "authorization_code"}, {"code", std::string(code)}};
  if (!redirect_uri.empty()) {
    form.emplace_back("redirect_uri", std::string(redirect_uri));
  }
  if (!code_verifier.empty()) {
    form.emplace_back("code_verifier", std::string(code_verifier));
  }
  return post_token_request(http, config, std::move(form), "code exchange", now);
}

TokenSet refresh_access_token(http::Client& http, const OAuth2Config& config, std::string_view refresh_token,
                              std::chrono::system_clock::time_point now) {
  if (refresh_token.empty()) {
    throw AuthError(config.context + ": no refresh token is stored; re-link the account", "", true);
  }
  Params form{{"grant_type", "refresh_token"}, {"refresh_token", std::string(refresh_token)}};
  return post_token_request(http, config, std::move(form), "token refresh", now);
}

TokenSet parse_token_response(std::string_view body, std::chrono::system_clock::time_point now) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw_permanent("token response is not a JSON object: " + body_excerpt(body));
  }
  TokenSet out;
  out.access_token = string_member(j, "access_token");
  if (out.access_token.empty()) {
    throw_permanent("token response has no access_token");
  }
  out.refresh_token = string_member(j, "refresh_token");
  out.scope = string_member(j, "scope");
  out.token_type = string_member(j, "token_type");
  if (const auto expires_in = seconds_member(j, "expires_in"); expires_in && *expires_in > 0) {
    out.expires_at = std::chrono::floor<std::chrono::seconds>(now) + std::chrono::seconds{*expires_in};
  }
  return out;
}

void throw_token_error(const http::Response& response, std::string_view context) {
  const int status = response.status;
  // Rate limits and server trouble say nothing about the grant: retry later.
  if (status == 429 || status == 408 || status >= 500) {
    throw http::classify(response, context);
  }

  std::string code;
  std::string description;
  const nlohmann::json j = nlohmann::json::parse(response.body, nullptr, false);
  if (j.is_object()) {
    code = string_member(j, "error");
    description = string_member(j, "error_description");
  }
  std::string detail = std::string(context) + ": HTTP " + std::to_string(status);
  if (!code.empty()) {
    detail += ": " + code;
    if (!description.empty()) {
      detail += ": " + description;
    }
  } else if (const std::string text = body_excerpt(response.body); !text.empty()) {
    detail += ": " + text;
  }

  // X answers a dead refresh token or code with invalid_request and "Value
  // passed for the token was invalid." instead of invalid_grant [3p: client
  // issue trackers]; only that wording is read as a dead grant.
  const std::string lowered = ascii_lower(description);
  const bool x_dead_grant = code == "invalid_request" && lowered.find("was invalid") != std::string::npos &&
                            (lowered.find("token") != std::string::npos || lowered.find("code") != std::string::npos);
  if (code == "invalid_grant" || code == "invalid_token" || x_dead_grant) {
    AuthError error(detail + "; the grant is expired, revoked or already used: re-link the account", code, true);
    error.http_status = status;
    throw error;
  }
  // Relinking would not help here: the app's own registration is refused
  // (X answers a missing Basic header with unauthorized_client).
  if (code == "invalid_client" || code == "unauthorized_client" || (code.empty() && (status == 401 || status == 403))) {
    AuthError error(detail + "; check the client id, client secret and client authentication method", code, false);
    error.http_status = status;
    throw error;
  }
  Error error(ErrorKind::permanent, detail);
  error.http_status = status;
  throw error;
}

}  // namespace multivio::oauth
