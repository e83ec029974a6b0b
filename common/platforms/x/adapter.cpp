// SPDX-License-Identifier: MIT
#include "common/platforms/x/adapter.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include <spdlog/spdlog.h>

#include "common/config/config.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/oauth/form.hpp"
#include "common/oauth/oauth1.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/platforms/settings.hpp"
#include "common/platforms/x/wire.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"
#include "common/text/thread.hpp"

namespace multivio::platforms::x {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using namespace std::chrono_literals;
using std::chrono::system_clock;

// X access tokens live two hours; refreshing this early keeps a request that
// starts just before expiry from failing halfway through a thread.
constexpr auto k_refresh_margin = 5min;
constexpr auto k_default_media_timeout = 10min;
constexpr auto k_default_check_after = 5s;  // processing_info without check_after_secs
constexpr auto k_max_check_after = 60s;
constexpr std::size_t k_max_chunk_bytes = 5 * 1024 * 1024;
constexpr std::size_t k_reconcile_window = 100;  // max_results of GET /2/users/:id/tweets
constexpr const char* k_relink = "re-link it with 'multivio account add x --oauth'";

// platforms.x from the config, defaults filled in.
struct Settings {
  std::string api_base;
  std::string auth_base;
  std::string upload_base;
  std::string client_id;
  std::string client_secret;
  std::optional<bool> thread_counter;
  std::size_t chunk_bytes = k_default_chunk_bytes;
  std::chrono::milliseconds media_timeout = k_default_media_timeout;
};

std::optional<bool> parse_bool(std::string_view value) {
  std::string v(text::trim(value));
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return std::nullopt;
}

Settings settings_of(const config::Config& config) {
  const SettingsReader r(config, "x");
  Settings s;
  s.api_base = r.url("api_base", k_default_api_base);
  s.auth_base = r.url("auth_base", k_default_auth_base);
  s.upload_base = r.url("upload_base", s.api_base);
  s.client_id = r.string("client_id");
  s.client_secret = r.client_secret();
  if (const std::string v = r.string("thread_counter"); !v.empty()) {
    s.thread_counter = parse_bool(v);
    if (!s.thread_counter) throw_usage("platforms.x.thread_counter: '" + v + "' is not true or false");
  }
  s.chunk_bytes = r.size("upload_chunk_bytes", 1, k_max_chunk_bytes, k_default_chunk_bytes);
  s.media_timeout = r.duration("media_timeout", k_default_media_timeout);
  return s;
}

bool is_oauth1(const Json& secrets) { return !json_string(secrets, "consumer_key").empty(); }

std::string describe(const Json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

bool valid_handle(std::string_view h) {
  return !h.empty() && h.size() <= 15 && std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string read_bytes(const std::string& path, const std::string& context) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::validation, context + ": cannot read media file '" + path + "'");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string read_head(const std::string& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string head(n, '\0');
  in.read(head.data(), static_cast<std::streamsize>(n));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
  return head;
}

std::string file_name(const std::string& path) { return fs::path(path).filename().string(); }

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(separator)) + item;
  return out;
}


// "; parts 1-2 are live (ids 17, 18) and a retry continues after them"
std::string live_parts_note(const std::vector<std::string>& ids) {
  if (ids.empty()) return "; no part is live yet";
  const std::string range = ids.size() == 1 ? "part 1 is" : "parts 1-" + std::to_string(ids.size()) + " are";
  return "; " + range + " live (" + join(ids, ", ") + ") and a retry continues after them";
}

// ---------------------------------------------------------------------------
// One account's credentials for the calls of one operation: signs or adds
// the Bearer token to each request, refreshes an OAuth 2.0 token that is
// about to expire (or was refused once) and persists the new secrets before
// they are used.
class Session {
 public:
  Session(http::Client& http, const config::Config& config, const Settings& settings, const model::Account& account,
          const Json& secrets, SaveSecrets save, bool may_refresh)
      : http_(http),
        config_(config),
        settings_(settings),
        secrets_(secrets.is_object() ? secrets : Json::object()),
        save_(std::move(save)),
        may_refresh_(may_refresh),
        context_(account.ref()) {
    oauth1_ = is_oauth1(secrets_);
    if (oauth1_) {
      creds_ = {json_string(secrets_, "consumer_key"), json_string(secrets_, "consumer_secret"),
                json_string(secrets_, "token"), json_string(secrets_, "token_secret")};
      if (creds_.consumer_secret.empty() || creds_.token.empty() || creds_.token_secret.empty()) {
        throw_auth(context_ + ": the OAuth 1.0a credentials are incomplete (consumer key and secret, token and "
                              "token secret); add the account again with --oauth1");
      }
      return;
    }
    if (json_string(secrets_, "access_token").empty()) {
      throw_auth(context_ + ": no access token is stored; " + k_relink);
    }
    // An expires_in given at `account add` counts from when the account was added.
    if (!secrets_.contains("expires_at")) {
      if (const auto in = json_integer(secrets_, "expires_in"); in && *in > 0) {
        const auto added = std::chrono::floor<std::chrono::seconds>(account.created_at);
        secrets_["expires_at"] = (added + std::chrono::seconds{*in}).time_since_epoch().count();
        secrets_.erase("expires_in");
        persist();
      }
    }
  }

  const Json& secrets() const { return secrets_; }
  const std::string& context() const { return context_; }
  bool oauth1() const { return oauth1_; }
  bool refreshed() const { return refreshed_; }

  std::optional<std::chrono::sys_seconds> expires_at() const {
    const auto at = json_integer(secrets_, "expires_at");
    if (!at) return std::nullopt;
    return std::chrono::sys_seconds{std::chrono::seconds{*at}};
  }

  http::Request request(std::string method, std::string url) const {
    http::Request req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.connect_timeout = config_.daemon.connect_timeout;
    req.total_timeout = config_.daemon.http_timeout;
    req.headers = {{"Accept", "application/json"}};
    return req;
  }

  http::Request json_request(std::string url, std::string body) const {
    http::Request req = request("POST", std::move(url));
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = std::move(body);
    return req;
  }

  /// Sends with credentials. A 401 to an OAuth 2.0 token is answered by one
  /// refresh and one resend: X did not act on a request it refused.
  http::Response send(http::Request req, const std::string& context) {
    ensure_fresh();
    http::Response resp = transmit(req, context);
    if (resp.status == 401 && !oauth1_ && !refreshed_ && can_refresh()) {
      spdlog::debug("{}: HTTP 401, refreshing the access token once", context_);
      refresh();
      resp = transmit(req, context);
    }
    return resp;
  }

  /// Refreshes the OAuth 2.0 token now and saves the new secrets.
  void refresh() {
    if (!may_refresh_) {
      throw_auth(context_ + ": the access token has expired and cannot be refreshed here; run 'multivio account "
                            "refresh " + context_ + "'");
    }
    const std::string refresh_token = json_string(secrets_, "refresh_token");
    if (refresh_token.empty()) {
      throw_auth(context_ + ": the access token has expired and no refresh token is stored; " + k_relink);
    }
    if (settings_.client_id.empty()) {
      throw_auth(context_ + ": cannot refresh the access token: set platforms.x.client_id (the app that issued it)");
    }
    oauth::TokenSet old;
    old.access_token = json_string(secrets_, "access_token");
    old.refresh_token = refresh_token;
    old.scope = json_string(secrets_, "scope");
    oauth::TokenSet fresh;
    try {
      fresh = oauth::refresh_access_token(http_, oauth_config(settings_, config_, context_), refresh_token,
                                          system_clock::now());
    } catch (const oauth::AuthError& e) {
      Error error(ErrorKind::auth, e.relink_required
                                       ? context_ + ": x refused the refresh token (expired, revoked or already "
                                                    "used): " + k_relink
                                       : std::string(e.what()));
      error.http_status = e.http_status;
      throw error;
    }
    const oauth::TokenSet merged = oauth::merge_refreshed(old, std::move(fresh));
    secrets_["access_token"] = merged.access_token;
    if (!merged.refresh_token.empty()) secrets_["refresh_token"] = merged.refresh_token;
    if (merged.expires_at) {
      secrets_["expires_at"] = merged.expires_at->time_since_epoch().count();
    } else {
      secrets_.erase("expires_at");
    }
    if (!merged.scope.empty()) secrets_["scope"] = merged.scope;
    secrets_.erase("expires_in");
    // Before the new token is used: X rotates refresh tokens, and the old one
    // is dead once the new one exists.
    persist();
    refreshed_ = true;
  }

  /// The user's numeric id (needed to list posts), asked once and saved.
  std::string user_id() {
    if (std::string id = json_string(secrets_, "user_id"); !id.empty()) return id;
    who_am_i();
    return json_string(secrets_, "user_id");
  }

  User who_am_i() {
    const std::string context = context_ + ": GET /2/users/me";
    const http::Response resp = send(request("GET", settings_.api_base + "/2/users/me"), context);
    if (!resp.ok()) throw classify(resp, context, system_clock::now());
    User user = parse_user(resp.body);
    if (json_string(secrets_, "user_id") != user.id || json_string(secrets_, "username") != user.username) {
      secrets_["user_id"] = user.id;
      if (!user.username.empty()) secrets_["username"] = user.username;
      persist();
    }
    return user;
  }

  static oauth::OAuth2Config oauth_config(const Settings& settings, const config::Config& config,
                                          const std::string& context) {
    oauth::OAuth2Config c;
    c.authorize_url = settings.auth_base + "/i/oauth2/authorize";
    c.token_url = settings.api_base + "/2/oauth2/token";
    c.client_id = settings.client_id;
    c.client_secret = settings.client_secret;
    c.client_auth = oauth::ClientAuth::basic;  // only used with a secret (a confidential client)
    c.connect_timeout = config.daemon.connect_timeout;
    c.total_timeout = config.daemon.http_timeout;
    c.context = context;
    return c;
  }

 private:
  bool can_refresh() const { return !json_string(secrets_, "refresh_token").empty(); }

  void ensure_fresh() {
    if (oauth1_ || refreshed_) return;
    const auto at = expires_at();
    if (!at || system_clock::now() + k_refresh_margin < *at) return;
    if (!can_refresh() && system_clock::now() < *at) return;  // still valid, nothing better to do
    refresh();
  }

  void authorize(http::Request& req) const {
    if (oauth1_) {
      oauth::sign(req, creds_);
      return;
    }
    std::erase_if(req.headers, [](const auto& h) { return text::trim(h.first) == "Authorization"; });
    req.headers.emplace_back("Authorization", "Bearer " + json_string(secrets_, "access_token"));
  }

  http::Response transmit(http::Request& req, const std::string& context) {
    authorize(req);
    try {
      return http_.send(req);
    } catch (const Error& e) {
      throw e.with_prefix(context);
    }
  }

  void persist() const {
    if (save_) save_(secrets_);
  }

  http::Client& http_;
  const config::Config& config_;
  const Settings& settings_;
  Json secrets_;
  SaveSecrets save_;
  bool may_refresh_;
  std::string context_;
  bool oauth1_ = false;
  bool refreshed_ = false;
  oauth::Oauth1Credentials creds_;
};

// ---------------------------------------------------------------------------

class XAdapter final : public Adapter {
 public:
  XAdapter(const Context& context, Sleeper sleeper)
      : ctx_(context), settings_(settings_of(context.config)), sleep_(std::move(sleeper)) {}

  std::string_view name() const override { return "x"; }

  Capabilities capabilities(const model::Account*) const override {
    Capabilities c;
    c.max_length = 280;
    c.length_unit = "weighted characters";
    c.media = true;
    c.threads = true;
    c.idempotency_key = false;  // X has none: an unknown outcome is reconciled instead
    c.find_recent = true;
    c.needs_credentials = true;
    return c;
  }

  void configure_account(nlohmann::json& options) const override {
    check_option_keys("x", options, {"handle", "thread", "thread_counter"});
    if (options.contains("handle")) {
      std::string handle = options["handle"].is_string() ? options["handle"].get<std::string>() : std::string();
      if (handle.starts_with('@')) handle.erase(0, 1);
      if (!valid_handle(handle)) {
        throw_usage("x: handle '" + describe(options["handle"]) + "' is not an X username (1-15 letters, digits, _)");
      }
      options["handle"] = handle;
    }
    if (options.contains("thread") &&
        (!options["thread"].is_string() || (options["thread"] != "auto" && options["thread"] != "never"))) {
      throw_usage("x: thread '" + describe(options["thread"]) + "' is not one of auto, never");
    }
    if (options.contains("thread_counter") && !options["thread_counter"].is_boolean()) {
      throw_usage("x: thread_counter must be true or false");
    }
  }

  void move_secret_options(nlohmann::json&, nlohmann::json& secrets) const override {
    if (!secrets.is_object()) return;
    // A lifetime is only meaningful with the moment it was given: keep the moment.
    if (const auto in = json_integer(secrets, "expires_in"); in && !secrets.contains("expires_at")) {
      if (*in > 0) {
        const auto now = std::chrono::floor<std::chrono::seconds>(system_clock::now());
        secrets["expires_at"] = (now + std::chrono::seconds{*in}).time_since_epoch().count();
      }
      secrets.erase("expires_in");
    }
    if (is_oauth1(secrets)) {
      std::vector<std::string> missing;
      for (const char* key : {"consumer_secret", "token", "token_secret"}) {
        if (json_string(secrets, key).empty()) missing.emplace_back(key);
      }
      if (!missing.empty()) throw_usage("x: OAuth 1.0a credentials need " + join(missing, ", ") + " as well");
    }
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>& media,
                            const model::Account* account, const nlohmann::json& options) const override {
    // Every rule but the length, which a thread may resolve.
    const text::LengthReport base = text::measure("x", text, std::numeric_limits<std::size_t>::max());
    ValidationReport r;
    r.limit = 280;
    r.length = base.length;
    for (const auto& p : base.problems) {
      if (p == "text is empty" && !media.empty()) continue;  // a media-only post is fine
      r.problems.push_back(p);
    }
    if (text::valid_utf8(text) && r.length > r.limit) {
      if (thread_auto(options, account) && !text::trim(text).empty()) {
        try {
          r.parts = static_cast<int>(split(text, counter(options, account)).size());
        } catch (const Error& e) {
          r.problems.emplace_back(e.what());
        }
      } else {
        r.problems.push_back(text::measure("x", text).problems.back());
      }
    }
    validate_media(media, options, r);
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    const std::vector<std::string> parts = plan(request);
    Session session(ctx_.http, ctx_.config, settings_, request.account, request.secrets, request.save_secrets, true);
    const std::string& context = session.context();

    std::vector<std::string> ids = request.target.remote_ids;
    PublishResult result;
    result.http_status = 201;
    if (ids.size() >= parts.size()) {
      // An earlier attempt published every part and then lost its answer.
      result.remote_ids = ids;
      result.remote_url = post_url(username_of(request.account, session.secrets()), ids.front());
      return result;
    }

    // Media goes on the first part; a continued thread has it already.
    std::vector<std::string> media_ids;
    if (ids.empty()) {
      for (std::size_t i = 0; i < request.post.media.size(); ++i) {
        media_ids.push_back(upload(session, request.post.media[i], alt_text(request.post, i)));
      }
    }

    const bool thread = parts.size() > 1;
    for (std::size_t i = ids.size(); i < parts.size(); ++i) {
      const std::string part_context =
          thread ? context + ": thread part " + std::to_string(i + 1) + " of " + std::to_string(parts.size())
                 : context;
      TweetParams params;
      params.text = parts[i];
      params.in_reply_to = ids.empty() ? std::string() : ids.back();
      if (i == 0) params.media_ids = media_ids;

      http::Response resp;
      try {
        resp = session.send(session.json_request(settings_.api_base + "/2/tweets", tweet_body(params)), part_context);
      } catch (const Error& e) {
        throw thread ? e.with_suffix(live_parts_note(ids)) : e;
      }
      std::string id;
      if (resp.ok()) {
        try {
          id = parse_created_tweet(resp.body).id;
        } catch (const Error& e) {
          // The post exists but its id is unreadable: like a lost answer.
          Error unknown(ErrorKind::transient, part_context + ": " + e.what());
          unknown.outcome_unknown = true;
          unknown.http_status = resp.status;
          throw thread ? unknown.with_suffix(live_parts_note(ids)) : unknown;
        }
        result.http_status = resp.status;
      } else if (is_duplicate(resp) && request.after_unknown && i == request.target.remote_ids.size()) {
        // The attempt before this one sent this part and never heard back: the
        // refusal says it landed. Only the first part sent now can be that one.
        id = reconcile(session, parts[i], params.in_reply_to, part_context);
        if (id.empty()) throw classify_part(resp, part_context, thread, ids);
        spdlog::info("{}: x refused a duplicate after an unknown outcome; found the earlier post {}", part_context,
                     id);
        result.http_status = 200;
      } else {
        throw classify_part(resp, part_context, thread, ids);
      }
      ids.push_back(id);
      if (request.record_parts) request.record_parts(ids);

      // Do not start a part X will refuse: stop with the reset time instead.
      if (i + 1 < parts.size()) {
        const RateLimit limit = parse_rate_limit(resp);
        if (const auto until = limit.exhausted_until(); until && *until > system_clock::now()) {
          const auto wait = std::chrono::ceil<std::chrono::seconds>(*until - system_clock::now());
          Error error(ErrorKind::transient, context + ": thread part " + std::to_string(i + 2) + " of " +
                                                std::to_string(parts.size()) + " not sent: " +
                                                limit.exhausted_window() + " is spent for " +
                                                std::to_string(wait.count()) + " s" + live_parts_note(ids));
          error.retry_after = wait;
          throw error;
        }
      }
    }
    result.remote_ids = ids;
    result.remote_url = post_url(username_of(request.account, session.secrets()), ids.front());
    return result;
  }

  Preview preview(const PublishRequest& request) const override {
    std::vector<std::string> parts{request.text};
    try {
      parts = plan(request);
    } catch (const Error&) {
      // Shown whole; validation reports why it cannot go out.
    }
    TweetParams params;
    params.text = parts.front();
    for (const auto& path : request.post.media) params.media_ids.push_back("<id of uploaded " + file_name(path) + ">");
    if (!request.target.remote_ids.empty() && request.target.remote_ids.size() < parts.size()) {
      params.text = parts[request.target.remote_ids.size()];
      params.in_reply_to = request.target.remote_ids.back();
      params.media_ids.clear();
    }
    Preview p;
    p.method = "POST";
    p.url = settings_.api_base + "/2/tweets";
    p.headers = {{"Accept", "application/json"},
                 {"Content-Type", "application/json"},
                 {"Authorization", is_oauth1(request.secrets) ? "OAuth ***" : "Bearer ***"}};
    p.body = tweet_body(params);
    return p;
  }

  std::optional<nlohmann::json> refresh(const model::Account& account, const nlohmann::json& secrets) override {
    if (is_oauth1(secrets)) return std::nullopt;  // OAuth 1.0a tokens do not expire
    Session session(ctx_.http, ctx_.config, settings_, account, secrets, {}, true);
    if (json_string(session.secrets(), "refresh_token").empty()) {
      const auto at = session.expires_at();
      if (at && *at <= system_clock::now()) {
        throw_auth(account.ref() + ": the access token has expired and no refresh token is stored; " + k_relink);
      }
      return std::nullopt;
    }
    session.refresh();
    return session.secrets();
  }

  std::vector<RemotePost> find_recent(const model::Account& account, const nlohmann::json& secrets,
                                      std::size_t limit) override {
    // No way to persist a rotated refresh token from here: never refresh.
    Session session(ctx_.http, ctx_.config, settings_, account, secrets, {}, false);
    std::vector<RemotePost> out;
    for (auto& t : recent(session, std::clamp<std::size_t>(limit, 1, k_reconcile_window))) {
      RemotePost p;
      p.url = post_url(username_of(account, session.secrets()), t.id);
      p.id = std::move(t.id);
      p.text = display_text(t.text, t.has_media);
      if (t.created_at) p.created_at = *t.created_at;
      out.push_back(std::move(p));
      if (out.size() == limit) break;
    }
    return out;
  }

  AccountCheck check_account(const model::Account& account, const nlohmann::json& secrets,
                             const SaveSecrets& save) override {
    Session session(ctx_.http, ctx_.config, settings_, account, secrets, save, true);
    const User user = session.who_am_i();
    AccountCheck check;
    check.handle = user.username;
    if (const auto at = session.expires_at()) {
      check.expires_at = std::chrono::time_point_cast<std::chrono::milliseconds>(*at);
    }
    const std::string scopes = json_string(session.secrets(), "scope");
    std::string_view scope = scopes;
    while (!scope.empty()) {
      const auto space = scope.find(' ');
      if (space != 0) check.scopes.emplace_back(scope.substr(0, space));
      scope = space == std::string_view::npos ? std::string_view{} : scope.substr(space + 1);
    }
    check.detail = "user id " + user.id + (user.name.empty() ? "" : " (" + user.name + ")") + "; " +
                   (session.oauth1() ? "OAuth 1.0a user token" : "OAuth 2.0 user token") +
                   (session.refreshed() ? ", refreshed now" : "");
    return check;
  }

  std::optional<OAuth2Link> oauth2_link(const nlohmann::json&, const std::string&, LinkStash&) override {
    if (settings_.client_id.empty()) {
      throw_usage("x: linking with --oauth needs the client id of your X app: set platforms.x.client_id in the "
                  "config (and platforms.x.client_secret for a confidential client)");
    }
    OAuth2Link link;
    link.config = Session::oauth_config(settings_, ctx_.config, "x");
    for (const auto scope : k_scopes) link.scopes.emplace_back(scope);
    return link;
  }

  nlohmann::json secrets_from_tokens(const oauth::TokenSet& tokens, const nlohmann::json&,
                                     std::string& handle) override {
    Json secrets = token_secrets(tokens);
    model::Account linking;
    linking.platform = "x";
    linking.name = "(linking)";
    Session session(ctx_.http, ctx_.config, settings_, linking, secrets, {}, false);
    const User user = session.who_am_i();
    secrets = session.secrets();
    handle = user.username;
    return secrets;
  }

  std::optional<oauth::Oauth1Server> oauth1_server(const nlohmann::json&) const override {
    oauth::Oauth1Server server;
    server.base_url = settings_.api_base;
    server.connect_timeout = ctx_.config.daemon.connect_timeout;
    server.total_timeout = ctx_.config.daemon.http_timeout;
    server.context = "x";
    return server;
  }

 private:
  static bool thread_auto(const Json& options, const model::Account* account) {
    return option_string(options, account, "thread", "never") == "auto";
  }

  bool counter(const Json& options, const model::Account* account) const {
    return option_bool(options, account, "thread_counter", settings_.thread_counter.value_or(true));
  }

  static std::vector<std::string> split(std::string_view text, bool counter) {
    return text::split_thread(text, [](std::string_view part) { return text::measure("x", part).ok(); },
                              text::ThreadOptions{counter});
  }

  // The texts to post: the text, or its thread parts when it is too long and
  // threading is on. Throws Error(validation) otherwise.
  std::vector<std::string> plan(const PublishRequest& r) const {
    const text::LengthReport m = text::measure("x", r.text);
    if (m.length <= m.limit || !text::valid_utf8(r.text)) return {r.text};
    if (layered_string(r, "thread", "never") != "auto") {
      throw Error(ErrorKind::validation, r.account.ref() + ": text is " + std::to_string(m.length) +
                                             " weighted characters; x allows 280 (thread: auto splits it)");
    }
    const bool with_counter = layered_bool(r, "thread_counter", settings_.thread_counter.value_or(true));
    try {
      return split(r.text, with_counter);
    } catch (const Error& e) {
      throw e.with_prefix(r.account.ref());
    }
  }

  // Up to 4 images, or one GIF, or one video, each of a kind and size X takes;
  // alt texts within 1000 characters.
  static void validate_media(const std::vector<std::string>& media, const Json& options, ValidationReport& r) {
    std::vector<std::string> images;  // file names
    std::vector<std::pair<std::string, MediaKind>> singles;  // GIFs and videos: file name, kind
    for (const auto& path : media) {
      const std::string name = file_name(path);
      std::error_code ec;
      const auto size = fs::file_size(path, ec);
      if (ec) {
        r.problems.push_back("media '" + name + "': cannot read it (" + ec.message() + ")");
        continue;
      }
      const MediaType type = sniff_media(read_head(path, 16));
      if (type.kind == MediaKind::unknown) {
        r.problems.push_back("media '" + name + "' is not a JPEG, PNG, WebP, GIF, MP4 or MOV file, the kinds x takes");
        continue;
      }
      const char* what = type.kind == MediaKind::image ? "an image" : type.kind == MediaKind::gif ? "a GIF" : "a video";
      if (size > type.max_bytes) {
        r.problems.push_back("media '" + name + "' is " + std::to_string(size) + " bytes; x allows " +
                             std::to_string(type.max_bytes) + " for " + what);
      }
      if (type.kind == MediaKind::image) {
        images.push_back(name);
      } else {
        singles.emplace_back(name, type.kind);
      }
    }
    if (!singles.empty() && media.size() > 1) {
      r.problems.push_back("media '" + singles.front().first + "' is " +
                           (singles.front().second == MediaKind::gif ? "a GIF" : "a video") +
                           "; x allows one GIF or one video alone in a post, not with other media");
    } else if (images.size() > k_max_images) {
      const std::vector<std::string> extra(images.begin() + k_max_images, images.end());
      r.problems.push_back(std::to_string(images.size()) + " images; x allows at most 4 per post (one too many: '" +
                           join(extra, "', '") + "')");
    }
    if (const auto it = options.find("alt"); options.is_object() && it != options.end() && it->is_array()) {
      for (std::size_t i = 0; i < it->size() && i < media.size(); ++i) {
        const auto& alt = (*it)[i];
        if (alt.is_string() && text::code_points(alt.get_ref<const std::string&>()) > k_max_alt_text) {
          r.problems.push_back("alt text of '" + file_name(media[i]) + "' is " +
                               std::to_string(text::code_points(alt.get_ref<const std::string&>())) +
                               " characters; x allows 1000");
        }
      }
    }
  }

  static std::string username_of(const model::Account& account, const Json& secrets) {
    if (std::string u = json_string(secrets, "username"); !u.empty()) return u;
    std::string handle = account.handle;
    if (handle.empty() && account.options.is_object()) {
      if (const auto it = account.options.find("handle"); it != account.options.end() && it->is_string()) {
        handle = it->get<std::string>();
      }
    }
    if (handle.starts_with('@')) handle.erase(0, 1);
    return valid_handle(handle) ? handle : std::string();
  }

  static Error classify_part(const http::Response& resp, const std::string& context, bool thread,
                             const std::vector<std::string>& ids) {
    const Error e = classify(resp, context, system_clock::now());
    return thread ? e.with_suffix(live_parts_note(ids)) : e;
  }

  // The user's recent posts, newest first.
  std::vector<Tweet> recent(Session& session, std::size_t n) {
    const std::string user = session.user_id();
    const std::string context = session.context() + ": GET /2/users/:id/tweets";
    // max_results must be 5..100.
    const std::string url = settings_.api_base + "/2/users/" + oauth::percent_encode(user) + "/tweets?" +
                            oauth::form_encode({{"max_results", std::to_string(std::clamp<std::size_t>(n, 5, 100))},
                                                {"tweet.fields", "created_at,referenced_tweets,attachments"}});
    const http::Response resp = session.send(session.request("GET", url), context);
    if (!resp.ok()) throw classify(resp, context, system_clock::now());
    return parse_tweets(resp.body);
  }

  // The id of the post the lost attempt created: the same text (as X returns
  // it), replying to the same parent. Empty when none of the recent posts is it.
  std::string reconcile(Session& session, const std::string& text, const std::string& parent,
                        const std::string& context) {
    std::vector<Tweet> posts;
    try {
      posts = recent(session, k_reconcile_window);
    } catch (const Error& e) {
      throw e.with_prefix(context + ": looking for the duplicate among recent posts");
    }
    const std::string wanted = comparable_text(text);
    for (const auto& t : posts) {
      if (comparable_text(t.text) == wanted && (parent.empty() || t.replied_to == parent)) return t.id;
    }
    return {};
  }

  // Uploads one file (initialize, append, finalize, wait for processing) and
  // sets its alt text. Returns the media id.
  std::string upload(Session& session, const std::string& path, const std::string& alt) {
    const std::string context = session.context() + ": media " + file_name(path);
    const std::string bytes = read_bytes(path, context);
    const MediaType type = sniff_media(bytes);
    if (type.kind == MediaKind::unknown) {
      throw Error(ErrorKind::validation, context + ": not a JPEG, PNG, WebP, GIF, MP4 or MOV file");
    }
    const std::string base = settings_.upload_base + "/2/media/upload";
    const auto check = [&](const http::Response& resp, const char* step) {
      if (!resp.ok()) throw classify(resp, context + ": " + step, system_clock::now());
    };

    http::Response resp =
        session.send(session.json_request(base + "/initialize", initialize_body(type, bytes.size())), context);
    check(resp, "initialize");
    const std::string id = parse_media(resp.body).id;

    const std::string boundary = "multivio-" + crypto::random_hex(16);
    for (std::size_t offset = 0, segment = 0; offset < bytes.size(); offset += settings_.chunk_bytes, ++segment) {
      const Multipart form =
          append_body(segment, std::string_view(bytes).substr(offset, settings_.chunk_bytes), boundary);
      http::Request req = session.request("POST", base + "/" + id + "/append");
      req.headers.emplace_back("Content-Type", form.content_type);
      req.body = form.body;
      resp = session.send(std::move(req), context);
      check(resp, "append");
    }

    resp = session.send(session.request("POST", base + "/" + id + "/finalize"), context);
    check(resp, "finalize");
    wait_until_processed(session, parse_media(resp.body, id), context);

    if (!alt.empty()) {
      resp = session.send(session.json_request(settings_.upload_base + "/2/media/metadata", metadata_body(id, alt)),
                          context);
      check(resp, "alt text");
    }
    return id;
  }

  // Polls STATUS as processing_info asks (check_after_secs) until the media
  // succeeded, failed or the time for it is used up.
  void wait_until_processed(Session& session, UploadedMedia media, const std::string& context) {
    std::chrono::milliseconds waited{0};
    while (media.processing && media.processing->state != "succeeded") {
      const Processing& p = *media.processing;
      if (p.state == "failed") {
        throw Error(ErrorKind::validation,
                    context + ": x could not process it: " + (p.error.empty() ? "no reason given" : p.error));
      }
      std::chrono::milliseconds wait = p.check_after.count() > 0 ? p.check_after : k_default_check_after;
      wait = std::min<std::chrono::milliseconds>(wait, k_max_check_after);
      if (waited + wait > settings_.media_timeout) {
        throw Error(ErrorKind::transient,
                    context + ": still processing (" + p.state + ", " + std::to_string(p.progress_percent) +
                        "%) after " +
                        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(waited).count()) + " s");
      }
      sleep_(wait);
      waited += wait;
      const std::string url = settings_.upload_base + "/2/media/upload?" +
                              oauth::form_encode({{"command", "STATUS"}, {"media_id", media.id}});
      const http::Response resp = session.send(session.request("GET", url), context);
      if (!resp.ok()) throw classify(resp, context + ": status", system_clock::now());
      media = parse_media(resp.body, media.id);
    }
  }

  Context ctx_;
  Settings settings_;
  Sleeper sleep_;
};

}  // namespace

std::unique_ptr<Adapter> make_adapter(const Context& context) {
  return make_adapter_with_sleeper(context, real_sleep);
}

std::unique_ptr<Adapter> make_adapter_with_sleeper(const Context& context, Sleeper sleeper) {
  return std::make_unique<XAdapter>(context, std::move(sleeper));
}

}  // namespace multivio::platforms::x
