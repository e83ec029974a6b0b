// SPDX-License-Identifier: MIT
#include "common/platforms/bearer_session.hpp"

#include <spdlog/spdlog.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/oauth/form.hpp"
#include "common/platforms/settings.hpp"

namespace multivio::platforms {

namespace {

using Json = nlohmann::json;
using std::chrono::system_clock;

}  // namespace

BearerSession::BearerSession(http::Client& http, const config::Config& config, std::string context,
                             const Json& secrets, SaveSecrets save, BearerPolicy policy)
    : http_(http),
      config_(config),
      context_(std::move(context)),
      secrets_(secrets.is_object() ? secrets : Json::object()),
      save_(std::move(save)),
      policy_(std::move(policy)) {
  if (json_string(secrets_, "access_token").empty()) {
    throw_auth(context_ + ": no access token is stored; " + policy_.relink);
  }
}

bool BearerSession::can_refresh() const { return !json_string(secrets_, "refresh_token").empty(); }

std::optional<std::chrono::sys_seconds> BearerSession::expires_at() const {
  // Secrets given by hand at `account add` may carry the number as text.
  const auto n = json_integer(secrets_, "expires_at", NumericText::accept);
  if (!n) return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::seconds{*n}};
}

http::Request BearerSession::request(std::string method, std::string url) const {
  http::Request req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.connect_timeout = config_.daemon.connect_timeout;
  req.total_timeout = config_.daemon.http_timeout;
  return req;
}

http::Response BearerSession::send(http::Request req, const std::string& context, bool authorize) {
  ensure_fresh();
  http::Response resp = transmit(req, context, authorize);
  const bool refused = policy_.refused ? policy_.refused(resp) : resp.status == 401;
  if (refused && authorize && !refreshed_ && can_refresh()) {
    spdlog::debug("{}: access token refused (HTTP {}), refreshing it once", context_, resp.status);
    refresh();
    resp = transmit(req, context, authorize);
  }
  return resp;
}

void BearerSession::refresh() {
  if (!can_refresh()) {
    throw_auth(context_ + ": the access token has expired and no refresh token is stored; " + policy_.relink);
  }
  Refreshed answer;
  try {
    answer = policy_.refresh(secrets_);
  } catch (const oauth::AuthError& e) {
    Error error(ErrorKind::auth, e.relink_required ? context_ + ": " + policy_.refresh_refused + ": " + policy_.relink
                                                   : std::string(e.what()));
    error.http_status = e.http_status;
    throw error;
  }
  oauth::TokenSet old;
  old.access_token = json_string(secrets_, "access_token");
  old.refresh_token = json_string(secrets_, "refresh_token");
  old.scope = json_string(secrets_, "scope");
  // An answer without a refresh token keeps the old one (Google, LinkedIn);
  // one with a new token replaces it (TikTok rotates).
  const oauth::TokenSet merged = oauth::merge_refreshed(old, std::move(answer.tokens));
  // A lifetime no longer given is unknown, not the old one.
  secrets_.erase("expires_at");
  secrets_.erase("issued_at");
  secrets_.update(token_secrets(merged));
  secrets_.update(answer.extra);
  persist();
  refreshed_ = true;
}

void BearerSession::update(const Json& fields) {
  secrets_.update(fields);
  persist();
}

void BearerSession::ensure_fresh() {
  if (refreshed_) return;
  const auto at = expires_at();
  if (!at) return;
  const auto now = system_clock::now();
  if (now + policy_.refresh_margin < *at) return;
  if (can_refresh()) {
    refresh();
  } else if (*at <= now) {
    // No request can succeed: say so instead of collecting a refusal.
    throw_auth(context_ + ": the access token expired " + days_from_now(*at) + " and no refresh token is stored; " +
               policy_.relink);
  }
}

http::Response BearerSession::transmit(http::Request& req, const std::string& context, bool authorize) {
  std::erase_if(req.headers, [](const auto& h) { return oauth::ascii_lower(h.first) == "authorization"; });
  if (authorize) req.headers.emplace_back("Authorization", "Bearer " + json_string(secrets_, "access_token"));
  try {
    return http_.send(req);
  } catch (const Error& e) {
    throw e.with_prefix(context);
  }
}

void BearerSession::persist() const {
  if (save_) save_(secrets_);
}

oauth::OAuth2Config form_auth_client(const config::Config& config, std::string authorize_url, std::string token_url,
                                     std::string client_id, std::string client_secret, std::string context) {
  oauth::OAuth2Config c;
  c.authorize_url = std::move(authorize_url);
  c.token_url = std::move(token_url);
  c.client_id = std::move(client_id);
  c.client_secret = std::move(client_secret);
  c.client_auth = oauth::ClientAuth::body;
  c.connect_timeout = config.daemon.connect_timeout;
  c.total_timeout = config.daemon.http_timeout;
  c.context = std::move(context);
  return c;
}

std::string days_from_now(system_clock::time_point at) {
  const auto now = system_clock::now();
  const bool future = at >= now;
  const auto days = std::chrono::floor<std::chrono::days>(future ? at - now : now - at).count();
  const std::string span = days == 0 ? "less than a day" : std::to_string(days) + (days == 1 ? " day" : " days");
  return future ? "in " + span : span + " ago";
}

}  // namespace multivio::platforms
