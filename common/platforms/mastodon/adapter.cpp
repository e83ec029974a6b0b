// SPDX-License-Identifier: MIT
#include "common/platforms/mastodon/adapter.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/config/config.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/platforms/mastodon/wire.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"
#include "common/text/thread.hpp"

namespace multivio::platforms::mastodon {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t k_max_recent = 40;  // the statuses endpoint's own cap
// Reading the instance's limits is a convenience: never wait long for it.
constexpr std::chrono::milliseconds k_instance_timeout = 10s;
// Media poll: first wait, then doubling up to the cap.
constexpr std::chrono::milliseconds k_poll_first = 200ms;
constexpr std::chrono::milliseconds k_poll_max = 2s;

bool is_visibility(std::string_view v) {
  return std::find(std::begin(k_visibilities), std::end(k_visibilities), v) != std::end(k_visibilities);
}

// ISO 639 code, optionally with a region ("en", "fil", "pt-BR").
bool is_language(std::string_view v) {
  const auto dash = v.find('-');
  const std::string_view code = v.substr(0, dash);
  if (code.size() < 2 || code.size() > 3) return false;
  if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= 'a' && c <= 'z'; })) return false;
  if (dash == std::string_view::npos) return true;
  const std::string_view region = v.substr(dash + 1);
  return !region.empty() && region.size() <= 8 &&
         std::all_of(region.begin(), region.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

std::string describe(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

// Enough to post with media and to ask who the account is; nothing more.
constexpr const char* k_scopes = "write:statuses write:media read:accounts";

std::string account_string(const model::Account& a, const char* key, std::string fallback = {}) {
  if (!a.options.is_object()) return fallback;
  auto it = a.options.find(key);
  return it != a.options.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::string instance_of(const model::Account& account) {
  const std::string instance = account_string(account, "instance");
  if (instance.empty()) {
    throw Error(ErrorKind::permanent, account.ref() + ": account has no 'instance'; add it again with --instance URL");
  }
  return instance;
}

std::string token_of(const model::Account& account, const nlohmann::json& secrets) {
  if (secrets.is_object()) {
    auto it = secrets.find("access_token");
    if (it != secrets.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      return it->get<std::string>();
    }
  }
  throw Error(ErrorKind::auth, account.ref() + ": no access token stored; re-link the account with "
                                               "'multivio account add mastodon --instance URL --access-token TOKEN'");
}

// What the instance counts: graphemes, @user@domain as @user, and every
// http(s) URL as characters_reserved_per_url (text::mastodon_length uses
// Mastodon's default of 23, corrected here for instances that differ).
std::size_t status_length(std::string_view text, const InstanceLimits& limits) {
  std::size_t n = text::mastodon_length(text);
  if (limits.characters_reserved_per_url != 23) {
    for (const auto& span : text::find_urls(text)) {
      const std::string_view url = text.substr(span.begin, span.end - span.begin);
      auto lower_starts = [&](std::string_view p) {
        return url.size() >= p.size() && std::equal(p.begin(), p.end(), url.begin(), [](char a, char b) {
                 return a == std::tolower(static_cast<unsigned char>(b));
               });
      };
      if (lower_starts("http://") || lower_starts("https://")) n = n - 23 + limits.characters_reserved_per_url;
    }
  }
  return n;
}

std::string read_media(const std::string& path, const std::string& context) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::permanent, context + ": cannot read media file " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::permanent, context + ": cannot read media file " + path);
  return std::move(bytes).str();
}

class MastodonAdapter final : public Adapter {
 public:
  explicit MastodonAdapter(const Context& context) : ctx_(context) {}

  std::string_view name() const override { return "mastodon"; }

  Capabilities capabilities(const model::Account* account) const override {
    const InstanceLimits limits = account != nullptr ? limits_for(*account) : InstanceLimits{};
    Capabilities c;
    c.max_length = limits.max_characters;
    c.length_unit = "characters";
    c.media = true;
    c.threads = true;
    c.idempotency_key = true;  // POST /api/v1/statuses honours Idempotency-Key
    c.find_recent = true;
    c.needs_credentials = true;
    return c;
  }

  void configure_account(nlohmann::json& options) const override {
    check_option_keys("mastodon", options, {"instance", "visibility", "language", "cw", "thread", "thread_counter"});
    if (!options.contains("instance") || !options["instance"].is_string()) {
      throw_usage("mastodon: option 'instance' is required (--instance https://mastodon.social)");
    }
    options["instance"] = normalize_instance(options["instance"].get<std::string>());
    if (!options.contains("visibility")) options["visibility"] = "public";
    if (!options["visibility"].is_string() || !is_visibility(options["visibility"].get<std::string>())) {
      throw_usage("mastodon: visibility '" + describe(options["visibility"]) +
                  "' is not one of public, unlisted, private, direct");
    }
    if (options.contains("language") &&
        (!options["language"].is_string() || !is_language(options["language"].get<std::string>()))) {
      throw_usage("mastodon: language '" + describe(options["language"]) +
                  "' is not an ISO 639 code (e.g. en, de, pt-BR)");
    }
    if (options.contains("cw") &&
        (!options["cw"].is_string() || text::trim(options["cw"].get<std::string>()).empty())) {
      throw_usage("mastodon: cw must be a non-empty text (the content warning)");
    }
    if (options.contains("thread") &&
        (!options["thread"].is_string() || (options["thread"] != "auto" && options["thread"] != "never"))) {
      throw_usage("mastodon: thread '" + describe(options["thread"]) + "' is not one of auto, never");
    }
    if (options.contains("thread_counter") && !options["thread_counter"].is_boolean()) {
      throw_usage("mastodon: thread_counter must be true or false");
    }
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>& media,
                            const model::Account* account, const nlohmann::json& options) const override {
    const InstanceLimits limits = account != nullptr ? limits_for(*account) : InstanceLimits{};
    const std::string cw = option_string(options, account, "cw");
    const bool thread = option_string(options, account, "thread", "never") == "auto";
    const bool counter = option_bool(options, account, "thread_counter", true);

    // Invalid UTF-8 and empty text come from the shared rules; the length is
    // the instance's own.
    const text::LengthReport base = text::measure("mastodon", text, std::numeric_limits<std::size_t>::max());
    ValidationReport r;
    r.limit = limits.max_characters;
    r.length = base.length;
    for (const auto& p : base.problems) {
      if (p == "text is empty" && !media.empty()) continue;  // a media-only status is fine
      r.problems.push_back(p);
    }
    if (!text::valid_utf8(text)) return r;

    r.length = status_length(text, limits);
    const std::size_t cw_length = text::mastodon_length(cw);
    if (cw_length >= limits.max_characters) {
      r.problems.push_back("content warning is " + std::to_string(cw_length) + " characters; mastodon allows " +
                           std::to_string(limits.max_characters) + " for warning and text together");
    } else if (r.length + cw_length > limits.max_characters) {
      if (thread) {
        try {
          r.parts = static_cast<int>(split(text, limits, cw_length, counter).size());
        } catch (const Error& e) {
          r.problems.emplace_back(e.what());
        }
      } else {
        r.problems.push_back("text is " + std::to_string(r.length) + " characters" +
                             (cw.empty() ? "" : " plus " + std::to_string(cw_length) + " of content warning") +
                             "; mastodon allows " + std::to_string(limits.max_characters));
      }
    }

    if (media.size() > limits.max_media_attachments) {
      r.problems.push_back(std::to_string(media.size()) + " media files; mastodon allows " +
                           std::to_string(limits.max_media_attachments) + " per status");
    }
    for (const auto& m : media) {
      if (mime_type_for(m) == "application/octet-stream") {
        r.problems.push_back("media '" + std::filesystem::path(m).filename().string() +
                             "': unknown file type (mastodon needs an image, video or audio file)");
      }
    }
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    const std::string context = request.account.ref();
    const std::string instance = instance_of(request.account);
    const std::string token = token_of(request.account, request.secrets);
    const std::vector<std::string> parts = plan(request);

    // Parts live from earlier attempts (recorded as each landed) are not
    // sent again: the thread continues after the last of them. Within about
    // an hour the per-part Idempotency-Key (the target's key + ":" + part
    // number) would also dedupe them; the record makes it hold after that.
    PublishResult result;
    std::string previous;
    std::size_t first = 0;
    if (parts.size() > 1 && !request.target.remote_ids.empty() && request.target.remote_ids.size() < parts.size()) {
      result.remote_ids = request.target.remote_ids;
      previous = result.remote_ids.back();
      first = result.remote_ids.size();
    }

    std::vector<std::string> media_ids;
    if (first == 0) {
      for (std::size_t m = 0; m < request.post.media.size(); ++m) {
        media_ids.push_back(upload(instance, token, request.post.media[m], alt_text(request.post, m), context));
      }
    }

    for (std::size_t i = first; i < parts.size(); ++i) {
      StatusParams params = status_params(request, parts[i]);
      params.in_reply_to_id = previous;
      if (i == 0) params.media_ids = media_ids;
      const std::string key = parts.size() == 1 ? request.idempotency_key
                                                : request.idempotency_key + ":" + std::to_string(i + 1);
      const std::string part_context =
          parts.size() == 1 ? context : context + ": thread part " + std::to_string(i + 1) + "/" +
                                            std::to_string(parts.size());
      http::Response resp;
      try {
        resp = send(status_request(instance, token, key, params), part_context);
        if (!resp.ok()) throw classify(resp, part_context, std::chrono::system_clock::now());
      } catch (const Error& e) {
        throw i == 0 ? e : with_published(e, result.remote_ids);
      }
      Status status;
      try {
        status = parse_status(resp.body);
      } catch (const Error& e) {
        // The status exists but its id is unreadable: repeating the call with
        // the same key gets it back, so this is worth a retry.
        Error unknown(ErrorKind::transient, part_context + ": " + e.what());
        unknown.outcome_unknown = true;
        unknown.http_status = resp.status;
        throw i == 0 ? unknown : with_published(unknown, result.remote_ids);
      }
      result.remote_ids.push_back(status.id);
      if (i == 0) result.remote_url = !status.url.empty() ? status.url : status.uri;
      result.http_status = resp.status;
      previous = status.id;
      if (parts.size() > 1 && request.record_parts) request.record_parts(result.remote_ids);
    }
    return result;
  }

  Preview preview(const PublishRequest& request) const override {
    const std::string instance = instance_of(request.account);
    const std::vector<std::string> parts = plan(request);
    StatusParams params = status_params(request, parts.front());
    // Media ids exist only after the uploads; name the files instead.
    for (const auto& path : request.post.media) {
      params.media_ids.push_back("<id of uploaded " + std::filesystem::path(path).filename().string() + ">");
    }
    const std::string key =
        parts.size() == 1 ? request.idempotency_key : request.idempotency_key + ":1";
    const http::Request req = status_request(instance, "***", key, params);
    return Preview{req.method, http::redact_url(req.url), req.headers, req.body};
  }

  AccountCheck check_account(const model::Account& account, const nlohmann::json& secrets,
                             const SaveSecrets&) override {
    const std::string context = account.ref();
    const std::string instance = instance_of(account);
    const Credentials who = verify_credentials(instance, token_of(account, secrets), context);
    AccountCheck check;
    check.handle = handle_of(who, instance);
    check.scopes = split_scopes(secrets);
    const InstanceLimits limits = limits_for(account);
    check.detail = "instance " + instance + ", " + std::to_string(limits.max_characters) + " characters per status";
    return check;
  }

  // Mastodon apps are registered per instance, by the client itself: once
  // per instance and redirect URI, then reused from the stash.
  std::optional<OAuth2Link> oauth2_link(const nlohmann::json& options, const std::string& redirect_uri,
                                        LinkStash& stash) override {
    const std::string instance = options.value("instance", "");
    if (instance.empty()) throw_usage("mastodon: --oauth needs --instance URL");
    const std::string stash_key = "mastodon-app " + instance + " " + redirect_uri;
    AppRegistration app;
    if (auto kept = stash.get(stash_key); kept && kept->is_object()) {
      app.client_id = kept->value("client_id", "");
      app.client_secret = kept->value("client_secret", "");
    }
    if (app.client_id.empty()) {
      http::Request req;
      req.method = "POST";
      req.url = instance + "/api/v1/apps";
      req.connect_timeout = ctx_.config.daemon.connect_timeout;
      req.total_timeout = ctx_.config.daemon.http_timeout;
      req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
      req.body = app_body("multivio", redirect_uri, k_scopes, "");
      const std::string context = "mastodon: registering the app at " + instance;
      const http::Response resp = send(req, context);
      if (!resp.ok()) throw classify(resp, context, std::chrono::system_clock::now());
      app = parse_app(resp.body);
      stash.put(stash_key, {{"client_id", app.client_id}, {"client_secret", app.client_secret}});
    }
    OAuth2Link link;
    link.config.authorize_url = instance + "/oauth/authorize";
    link.config.token_url = instance + "/oauth/token";
    link.config.client_id = app.client_id;
    link.config.client_secret = app.client_secret;
    link.config.client_auth = oauth::ClientAuth::body;
    link.config.connect_timeout = ctx_.config.daemon.connect_timeout;
    link.config.total_timeout = ctx_.config.daemon.http_timeout;
    for (std::string_view rest = k_scopes; !rest.empty();) {
      const auto space = rest.find(' ');
      link.scopes.emplace_back(rest.substr(0, space));
      rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    }
    link.secrets = {{"client_id", app.client_id}, {"client_secret", app.client_secret}};
    return link;
  }

  nlohmann::json secrets_from_tokens(const oauth::TokenSet& tokens, const nlohmann::json& options,
                                     std::string& handle) override {
    const std::string instance = options.value("instance", "");
    handle = handle_of(verify_credentials(instance, tokens.access_token, "mastodon"), instance);
    return token_secrets(tokens);
  }

  std::vector<RemotePost> find_recent(const model::Account& account, const nlohmann::json& secrets,
                                      std::size_t limit) override {
    const std::string context = account.ref();
    const std::string instance = instance_of(account);
    const std::string token = token_of(account, secrets);
    http::Request who = get(instance + "/api/v1/accounts/verify_credentials", token);
    http::Response resp = send(who, context);
    if (!resp.ok()) throw classify(resp, context, std::chrono::system_clock::now());
    const std::string id = parse_account_id(resp.body);

    const std::size_t n = std::clamp<std::size_t>(limit, 1, k_max_recent);
    resp = send(get(instance + "/api/v1/accounts/" + id + "/statuses?limit=" + std::to_string(n), token), context);
    if (!resp.ok()) throw classify(resp, context, std::chrono::system_clock::now());
    std::vector<RemotePost> out;
    for (const auto& s : parse_statuses(resp.body)) {
      RemotePost p;
      p.id = s.id;
      p.text = html_to_text(s.content);
      p.url = !s.url.empty() ? s.url : s.uri;
      if (s.created_at) p.created_at = *s.created_at;
      out.push_back(std::move(p));
      if (out.size() == limit) break;
    }
    return out;
  }

 private:
  // The texts to post: the text itself, or its thread parts when it is too
  // long and threading is on. Throws Error(validation) otherwise.
  std::vector<std::string> plan(const PublishRequest& r) const {
    const InstanceLimits limits = limits_for(r.account);
    const std::string cw = layered_string(r, "cw");
    const std::size_t cw_length = text::mastodon_length(cw);
    if (cw_length < limits.max_characters && status_length(r.text, limits) + cw_length <= limits.max_characters) {
      return {r.text};
    }
    if (layered_string(r, "thread", "never") != "auto") {
      throw Error(ErrorKind::validation,
                  r.account.ref() + ": text is " + std::to_string(status_length(r.text, limits)) +
                      " characters; mastodon allows " + std::to_string(limits.max_characters) +
                      (cw.empty() ? "" : " including the content warning") + " (thread: auto splits it)");
    }
    if (cw_length >= limits.max_characters) {
      throw Error(ErrorKind::validation, r.account.ref() + ": the content warning leaves no room for text");
    }
    try {
      return split(r.text, limits, cw_length, layered_bool(r, "thread_counter", true));
    } catch (const Error& e) {
      throw e.with_prefix(r.account.ref());
    }
  }

  static std::vector<std::string> split(std::string_view text, const InstanceLimits& limits, std::size_t cw_length,
                                        bool counter) {
    const auto fits = [&](std::string_view part) {
      return status_length(part, limits) + cw_length <= limits.max_characters;
    };
    return text::split_thread(text, fits, text::ThreadOptions{counter});
  }

  static StatusParams status_params(const PublishRequest& r, const std::string& text) {
    StatusParams p;
    p.status = text;
    p.visibility = layered_string(r, "visibility", "public");
    p.language = layered_string(r, "language");
    p.spoiler_text = layered_string(r, "cw");
    return p;
  }

  http::Request status_request(const std::string& instance, const std::string& token, const std::string& key,
                               const StatusParams& params) const {
    http::Request req = base_request("POST", instance + "/api/v1/statuses", token);
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Idempotency-Key", key);
    req.body = status_body(params);
    return req;
  }

  Credentials verify_credentials(const std::string& instance, const std::string& token,
                                 const std::string& context) const {
    const http::Response resp = send(get(instance + "/api/v1/accounts/verify_credentials", token), context);
    if (!resp.ok()) throw classify(resp, context, std::chrono::system_clock::now());
    return parse_credentials(resp.body);
  }

  // "@alice@mastodon.social": how people mention the account anywhere.
  static std::string handle_of(const Credentials& who, const std::string& instance) {
    std::string host = instance.substr(instance.find("://") + 3);
    return "@" + who.username + "@" + host;
  }

  static std::vector<std::string> split_scopes(const nlohmann::json& secrets) {
    std::vector<std::string> out;
    if (!secrets.is_object() || !secrets.contains("scope") || !secrets["scope"].is_string()) return out;
    std::string_view rest = secrets["scope"].get_ref<const std::string&>();
    while (!rest.empty()) {
      const auto space = rest.find(' ');
      if (space != 0) out.emplace_back(rest.substr(0, space));
      if (space == std::string_view::npos) break;
      rest = rest.substr(space + 1);
    }
    return out;
  }

  http::Request get(const std::string& url, const std::string& token) const {
    return base_request("GET", url, token);
  }

  http::Request base_request(std::string method, std::string url, const std::string& token) const {
    http::Request req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.connect_timeout = ctx_.config.daemon.connect_timeout;
    req.total_timeout = ctx_.config.daemon.http_timeout;
    req.headers = {{"Authorization", "Bearer " + token}, {"Accept", "application/json"}};
    return req;
  }

  http::Response send(const http::Request& req, const std::string& context) const {
    try {
      return ctx_.http.send(req);
    } catch (const Error& e) {
      throw e.with_prefix(context);
    }
  }

  // Uploads one file and waits until the instance has processed it.
  std::string upload(const std::string& instance, const std::string& token, const std::string& path,
                     const std::string& description, const std::string& context) {
    const std::string file_name = std::filesystem::path(path).filename().string();
    const std::string media_context = context + ": media " + file_name;
    const std::string bytes = read_media(path, media_context);
    const Multipart form = media_body(file_name, mime_type_for(path), bytes, description,
                                      "multivio-" + crypto::random_hex(16));
    http::Request req = base_request("POST", instance + "/api/v2/media", token);
    req.headers.emplace_back("Content-Type", form.content_type);
    req.body = form.body;
    // An upload is not idempotent, but a repeated one only leaves an
    // unattached file behind, which the instance deletes on its own.
    http::Response resp = send(req, media_context);
    if (!resp.ok()) throw classify(resp, media_context, std::chrono::system_clock::now());
    Media media = parse_media(resp.body);
    if (resp.status == 200 && media.processed()) return media.id;

    // 202: the full-size file is processed in the background. Poll
    // GET /api/v1/media/:id (206 while processing, 200 with a url when done)
    // for at most twice the HTTP timeout, at least a minute.
    const auto budget = std::max<std::chrono::milliseconds>(60s, 2 * ctx_.config.daemon.http_timeout);
    const auto deadline = std::chrono::steady_clock::now() + budget;
    auto wait = k_poll_first;
    for (;;) {
      if (std::chrono::steady_clock::now() + wait > deadline) {
        throw Error(ErrorKind::transient,
                    media_context + ": still processing after " +
                        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(budget).count()) + " s");
      }
      std::this_thread::sleep_for(wait);
      wait = std::min(wait * 2, k_poll_max);
      resp = send(get(instance + "/api/v1/media/" + media.id, token), media_context);
      if (resp.status == 206) continue;
      if (!resp.ok()) throw classify(resp, media_context, std::chrono::system_clock::now());
      media = parse_media(resp.body);
      if (media.processed()) return media.id;
    }
  }

  // A later thread part failed: the earlier ones are live, and the message
  // says so, since the target will not show them as published.
  static Error with_published(const Error& e, const std::vector<std::string>& ids) {
    std::string joined;
    for (const auto& id : ids) joined += (joined.empty() ? "" : ", ") + id;
    return e.with_suffix(" (already published: status " + joined + ")");
  }

  // The instance's limits, asked once per adapter and instance. Failure to
  // ask is not an error: the defaults are used and the instance still
  // validates what it receives.
  InstanceLimits limits_for(const model::Account& account) const {
    const std::string instance = account_string(account, "instance");
    if (instance.empty()) return {};
    std::lock_guard lock(mutex_);
    if (auto it = limits_.find(instance); it != limits_.end()) return it->second;
    InstanceLimits limits;
    try {
      http::Request req;
      req.url = instance + "/api/v2/instance";
      req.headers = {{"Accept", "application/json"}};
      req.connect_timeout = std::min(ctx_.config.daemon.connect_timeout, k_instance_timeout);
      req.total_timeout = std::min(ctx_.config.daemon.http_timeout, k_instance_timeout);
      const http::Response resp = ctx_.http.send(req);
      if (resp.ok()) {
        limits = parse_instance(resp.body);
      } else {
        spdlog::debug("{}: GET /api/v2/instance: HTTP {}; using default limits", account.ref(), resp.status);
      }
    } catch (const std::exception& e) {
      spdlog::debug("{}: GET /api/v2/instance: {}; using default limits", account.ref(), e.what());
    }
    limits_.emplace(instance, limits);
    return limits;
  }

  Context ctx_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, InstanceLimits> limits_;
};

}  // namespace

std::unique_ptr<Adapter> make_adapter(const Context& context) { return std::make_unique<MastodonAdapter>(context); }

}  // namespace multivio::platforms::mastodon
