// SPDX-License-Identifier: MIT
#include "tests/fakes/mastodon_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <set>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <nlohmann/json.hpp>

namespace multivio::fakes {

namespace {

using Json = nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// The instance's length rule, written independently of common/text: code
// points, with every http(s):// URL (up to the next whitespace, minus
// trailing punctuation) counted as `per_url`.
std::size_t instance_length(std::string_view text, std::size_t per_url) {
  std::size_t n = 0, i = 0;
  while (i < text.size()) {
    if (starts_with_nocase(text.substr(i), "http://") || starts_with_nocase(text.substr(i), "https://")) {
      std::size_t end = i;
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
      while (end > i && std::string_view(".,;:!?)'\"").find(text[end - 1]) != std::string_view::npos) --end;
      n += per_url;
      i = end;
      continue;
    }
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
    ++i;
  }
  return n;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Plain text as Mastodon renders it: paragraphs on blank lines, <br /> for
// single line breaks.
std::string to_html(std::string_view text) {
  std::string out = "<p>";
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 2) == "\n\n") {
      out += "</p><p>";
      while (i < text.size() && text[i] == '\n') ++i;
      continue;
    }
    if (text[i] == '\n') {
      out += "<br />";
    } else {
      out += html_escape(text.substr(i, 1));
    }
    ++i;
  }
  return out + "</p>";
}

Json error_body(std::string_view message) { return Json{{"error", message}}; }

}  // namespace

std::optional<std::string> MastodonServer::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

std::string MastodonServer::iso_time(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(ms);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{ms - days};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

MastodonServer::Reply MastodonServer::rate_limited(std::chrono::seconds reset_in) {
  return Reply{429,
               R"({"error":"Too many requests"})",
               {{"X-RateLimit-Limit", "300"},
                {"X-RateLimit-Remaining", "0"},
                {"X-RateLimit-Reset", iso_time(std::chrono::system_clock::now() + reset_in)}},
               {}};
}

struct MastodonServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<Received> log;
  std::map<std::string, std::deque<Reply>> scripted;
  std::string token = "test-token";
  std::set<std::string> issued;  // tokens from POST /oauth/token

  // OAuth: apps registered by clients, and codes the consent page issued.
  struct App {
    std::string client_id, client_secret, redirect_uri;
    std::set<std::string> scopes;
  };
  struct Grant {
    std::string client_id, redirect_uri, challenge, scope;
    bool used = false;
  };
  std::vector<App> apps;
  std::map<std::string, Grant> codes;
  std::size_t max_characters = 500;
  std::size_t max_media = 4;
  std::size_t per_url = 23;
  int processing_polls = 0;
  int remaining = 300;  // X-RateLimit-Remaining, counting down

  std::vector<Status> statuses;
  std::map<std::string, std::size_t> by_key;  // Idempotency-Key -> index in statuses
  std::vector<Media> media;
  long long next_id = 110'000'000'000'000'001;  // snowflake-sized, like real ids

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }

  void stall(std::chrono::milliseconds total) const {
    const auto until = std::chrono::steady_clock::now() + total;
    while (!stopping && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds{10}, until - std::chrono::steady_clock::now()));
    }
  }

  Json account_json() const {
    return {{"id", "1"},
            {"username", "alice"},
            {"acct", "alice"},
            {"display_name", "Alice"},
            {"url", base() + "/@alice"},
            {"created_at", "2024-01-01T00:00:00.000Z"}};
  }

  Json media_json(const Media& m) const {
    const bool done = m.polls_left <= 0;
    return {{"id", m.id},
            {"type", m.content_type.starts_with("video/") ? "video"
                     : m.content_type.starts_with("audio/") ? "audio"
                                                            : "image"},
            {"url", done ? Json(base() + "/system/media/" + m.id + "/original") : Json(nullptr)},
            {"preview_url", base() + "/system/media/" + m.id + "/small"},
            {"remote_url", nullptr},
            {"description", m.description.empty() ? Json(nullptr) : Json(m.description)},
            {"blurhash", nullptr}};
  }

  Json status_json(const Status& s) const {
    Json attachments = Json::array();
    for (const auto& id : s.media_ids) {
      for (const auto& m : media) {
        if (m.id == id) attachments.push_back(media_json(m));
      }
    }
    return {{"id", s.id},
            {"created_at", created.at(s.id)},
            {"in_reply_to_id", s.in_reply_to_id.empty() ? Json(nullptr) : Json(s.in_reply_to_id)},
            {"in_reply_to_account_id", s.in_reply_to_id.empty() ? Json(nullptr) : Json("1")},
            {"sensitive", !s.spoiler_text.empty()},
            {"spoiler_text", s.spoiler_text},
            {"visibility", s.visibility},
            {"language", s.language.empty() ? Json(nullptr) : Json(s.language)},
            {"uri", base() + "/users/alice/statuses/" + s.id},
            {"url", s.url},
            {"replies_count", 0},
            {"reblogs_count", 0},
            {"favourites_count", 0},
            {"content", to_html(s.text)},
            {"reblog", nullptr},
            {"account", account_json()},
            {"media_attachments", attachments},
            {"mentions", Json::array()},
            {"tags", Json::array()},
            {"emojis", Json::array()},
            {"card", nullptr},
            {"poll", nullptr}};
  }
  std::map<std::string, std::string> created;  // status id -> created_at

  struct Answer {
    int status = 200;
    std::string body;
    HeaderList headers;
    std::chrono::milliseconds delay{0};
  };

  static Answer json(int status, const Json& body) { return {status, body.dump(), {}, {}}; }

  bool authorized(const httplib::Request& req) const {
    const std::string value = req.get_header_value("Authorization");
    if (!starts_with_nocase(value, "Bearer ")) return false;
    const std::string presented = value.substr(7);
    return presented == token || issued.count(presented) > 0;
  }

  static std::string random_token(std::size_t bytes) {
    std::string raw(bytes, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
    return base64url(raw);
  }

  static std::string base64url(std::string_view raw) {
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
    out.resize(static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return out;
  }

  static std::set<std::string> scope_set(std::string_view scopes) {
    std::set<std::string> out;
    while (!scopes.empty()) {
      const auto cut = scopes.find_first_of(" +");
      if (cut != 0) out.emplace(scopes.substr(0, cut));
      if (cut == std::string_view::npos) break;
      scopes = scopes.substr(cut + 1);
    }
    return out;
  }

  const App* app_by_id(const std::string& client_id) const {
    for (const auto& a : apps) {
      if (a.client_id == client_id) return &a;
    }
    return nullptr;
  }

  static Answer oauth_error(int status, const std::string& error, const std::string& description) {
    return json(status, {{"error", error}, {"error_description", description}});
  }

  // POST /api/v1/apps (public): client_name, redirect_uris and scopes.
  Answer register_app(const httplib::Request& req) {
    const Json p = params_of(req);
    const std::string name = str(p, "client_name");
    const std::string redirect = str(p, "redirect_uris");
    if (name.empty()) return json(422, error_body("Validation failed: Application name can't be blank"));
    if (redirect.empty() || !(redirect.starts_with("http") || redirect == "urn:ietf:wg:oauth:2.0:oob")) {
      return json(422, error_body("Validation failed: Redirect URI must be an absolute URI."));
    }
    App app{random_token(24), random_token(32), redirect, scope_set(str(p, "scopes"))};
    if (app.scopes.empty()) app.scopes = {"read"};
    apps.push_back(app);
    std::string scopes;
    for (const auto& sc : app.scopes) scopes += (scopes.empty() ? "" : " ") + sc;
    return json(200, {{"id", std::to_string(apps.size())},
                      {"name", name},
                      {"redirect_uri", redirect},
                      {"redirect_uris", Json::array({redirect})},
                      {"scopes", Json::array()},
                      {"client_id", app.client_id},
                      {"client_secret", app.client_secret}});
  }

  // GET /oauth/authorize: checks the request like Mastodon's consent page
  // and answers as if the user clicked "Authorize" (302 back with a code).
  Answer authorize(const httplib::Request& req) {
    if (req.get_param_value("response_type") != "code") {
      return oauth_error(400, "unsupported_response_type", "response_type must be code");
    }
    const App* app = app_by_id(req.get_param_value("client_id"));
    if (app == nullptr) return oauth_error(401, "invalid_client", "Client authentication failed");
    const std::string redirect = req.get_param_value("redirect_uri");
    if (redirect != app->redirect_uri) return oauth_error(400, "invalid_redirect_uri", "redirect_uri is not registered");
    const std::string scope = req.get_param_value("scope");
    for (const auto& sc : scope_set(scope)) {
      if (app->scopes.count(sc) == 0) return oauth_error(400, "invalid_scope", "scope " + sc + " not registered");
    }
    const std::string method = req.get_param_value("code_challenge_method");
    const std::string challenge = req.get_param_value("code_challenge");
    if (!challenge.empty() && method != "S256") {
      return oauth_error(400, "invalid_request", "code_challenge_method must be S256");
    }
    const std::string code = random_token(24);
    codes[code] = Grant{app->client_id, redirect, challenge, scope, false};
    std::string location = redirect + "?code=" + code;
    if (const std::string state = req.get_param_value("state"); !state.empty()) {
      location += "&state=" + httplib::detail::encode_query_param(state);
    }
    return {302, "", {{"Location", location}}, {}};
  }

  // POST /oauth/token, authorization_code grant: client credentials in the
  // body, single-use code bound to client, redirect URI and PKCE challenge.
  Answer token_grant(const httplib::Request& req) {
    const Json p = params_of(req);
    if (str(p, "grant_type") != "authorization_code") {
      return oauth_error(400, "unsupported_grant_type", "only authorization_code here");
    }
    const App* app = app_by_id(str(p, "client_id"));
    if (app == nullptr || str(p, "client_secret") != app->client_secret) {
      return oauth_error(401, "invalid_client", "Client authentication failed");
    }
    auto it = codes.find(str(p, "code"));
    if (it == codes.end() || it->second.used || it->second.client_id != app->client_id) {
      return oauth_error(400, "invalid_grant", "The provided authorization grant is invalid");
    }
    it->second.used = true;
    if (str(p, "redirect_uri") != it->second.redirect_uri) {
      return oauth_error(400, "invalid_grant", "redirect_uri does not match");
    }
    if (!it->second.challenge.empty()) {
      const std::string verifier = str(p, "code_verifier");
      unsigned char digest[SHA256_DIGEST_LENGTH];
      SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
      if (verifier.empty() || base64url(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest)) !=
                                  it->second.challenge) {
        return oauth_error(400, "invalid_grant", "code_verifier does not match the code_challenge");
      }
    }
    const std::string access = random_token(32);
    issued.insert(access);
    return json(200, {{"access_token", access},
                      {"token_type", "Bearer"},
                      {"scope", it->second.scope},
                      {"created_at", std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count()}});
  }

  // Request parameters from a JSON body, a form body or the query string.
  static Json params_of(const httplib::Request& req) {
    const std::string type = req.get_header_value("Content-Type");
    if (starts_with_nocase(type, "application/json")) {
      Json j = Json::parse(req.body, nullptr, false);
      return j.is_object() ? j : Json();
    }
    Json j = Json::object();
    for (const auto& [k, v] : req.params) {
      if (k.ends_with("[]")) {
        j[k.substr(0, k.size() - 2)].push_back(v);
      } else {
        j[k] = v;
      }
    }
    return j;
  }

  static std::string str(const Json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  }

  Answer create_status(const httplib::Request& req) {
    const Json p = params_of(req);
    if (p.is_null()) return json(400, error_body("Invalid JSON body"));
    const std::string key = req.get_header_value("Idempotency-Key");
    if (!key.empty()) {
      // Mastodon keeps the key (per account) and answers a repeat with the
      // status the first request created, without creating another.
      if (auto it = by_key.find(key); it != by_key.end()) return json(200, status_json(statuses[it->second]));
    }
    Status s;
    s.text = str(p, "status");
    s.spoiler_text = str(p, "spoiler_text");
    s.visibility = p.contains("visibility") ? str(p, "visibility") : "public";
    s.language = str(p, "language");
    s.in_reply_to_id = str(p, "in_reply_to_id");
    if (auto it = p.find("media_ids"); it != p.end()) {
      if (!it->is_array()) return json(422, error_body("Validation failed: media_ids must be an array"));
      for (const auto& id : *it) {
        if (!id.is_string()) return json(422, error_body("Validation failed: media_ids must be strings"));
        s.media_ids.push_back(id.get<std::string>());
      }
    }
    if (!s.in_reply_to_id.empty() &&
        std::none_of(statuses.begin(), statuses.end(), [&](const Status& x) { return x.id == s.in_reply_to_id; })) {
      return json(404, error_body("The post you are trying to reply to does not appear to exist."));
    }
    if (s.media_ids.size() > max_media) {
      return json(422, error_body("Cannot attach more than " + std::to_string(max_media) + " files"));
    }
    std::vector<Media*> attach;
    for (const auto& id : s.media_ids) {
      auto it = std::find_if(media.begin(), media.end(), [&](const Media& m) { return m.id == id; });
      if (it == media.end() || it->attached) continue;  // Mastodon drops ids it does not own
      if (it->polls_left > 0) {
        return json(422, error_body("Cannot attach files that have not finished processing. Try again in a moment!"));
      }
      attach.push_back(&*it);
    }
    if (std::string(s.text).find_first_not_of(" \t\r\n") == std::string::npos && attach.empty()) {
      return json(422, error_body("Validation failed: Text can't be blank"));
    }
    if (s.visibility != "public" && s.visibility != "unlisted" && s.visibility != "private" &&
        s.visibility != "direct") {
      return json(422, error_body("Validation failed: Visibility is not included in the list"));
    }
    if (instance_length(s.spoiler_text, per_url) + instance_length(s.text, per_url) > max_characters) {
      return json(422, error_body("Validation failed: Text character limit of " + std::to_string(max_characters) +
                                  " exceeded"));
    }
    for (Media* m : attach) m->attached = true;
    s.media_ids.clear();
    for (Media* m : attach) s.media_ids.push_back(m->id);
    s.id = std::to_string(next_id++);
    s.url = base() + "/@alice/" + s.id;
    s.idempotency_key = key;
    created[s.id] = iso_time(std::chrono::system_clock::now());
    statuses.push_back(s);
    if (!key.empty()) by_key[key] = statuses.size() - 1;
    return json(200, status_json(statuses.back()));
  }

  Answer upload_media(const httplib::Request& req) {
    if (!req.is_multipart_form_data() || !req.has_file("file")) {
      return json(422, error_body("Validation failed: File can't be blank"));
    }
    const auto file = req.get_file_value("file");
    if (!file.content_type.starts_with("image/") && !file.content_type.starts_with("video/") &&
        !file.content_type.starts_with("audio/")) {
      return json(422, error_body("Validation failed: File content type is invalid, File is invalid"));
    }
    Media m;
    m.id = std::to_string(next_id++);
    m.file_name = file.filename;
    m.content_type = file.content_type;
    m.size = file.content.size();
    if (req.has_file("description")) m.description = req.get_file_value("description").content;
    m.polls_left = processing_polls;
    media.push_back(m);
    return json(processing_polls > 0 ? 202 : 200, media_json(media.back()));
  }

  Answer get_media(const std::string& id) {
    auto it = std::find_if(media.begin(), media.end(), [&](const Media& m) { return m.id == id; });
    if (it == media.end()) return json(404, error_body("Record not found"));
    if (it->polls_left > 0) {
      --it->polls_left;
      return {206, "", {}, {}};
    }
    return json(200, media_json(*it));
  }

  Answer account_statuses(const httplib::Request& req, const std::string& id) {
    if (id != "1") return json(404, error_body("Record not found"));
    std::size_t limit = 20;
    if (req.has_param("limit")) limit = std::clamp<std::size_t>(std::stoul(req.get_param_value("limit")), 1, 40);
    Json out = Json::array();
    for (auto it = statuses.rbegin(); it != statuses.rend() && out.size() < limit; ++it) {
      out.push_back(status_json(*it));
    }
    return json(200, out);
  }

  Answer instance() const {
    return json(200, {{"domain", "127.0.0.1"},
                      {"title", "multivio test instance"},
                      {"version", "4.3.0"},
                      {"configuration",
                       {{"urls", {{"streaming", "ws://127.0.0.1"}}},
                        {"statuses",
                         {{"max_characters", max_characters},
                          {"max_media_attachments", max_media},
                          {"characters_reserved_per_url", per_url}}},
                        {"media_attachments",
                         {{"supported_mime_types", {"image/jpeg", "image/png", "image/gif", "video/mp4"}},
                          {"image_size_limit", 16777216},
                          {"video_size_limit", 103809024}}}}}});
  }

  Answer route(const httplib::Request& req, const std::string& key) {
    if (key == "GET /api/v2/instance") return instance();  // public
    if (key == "POST /api/v1/apps") return register_app(req);
    if (key == "GET /oauth/authorize") return authorize(req);
    if (key == "POST /oauth/token") return token_grant(req);
    if (!authorized(req)) return json(401, error_body("The access token is invalid"));
    if (key == "POST /api/v1/statuses") return create_status(req);
    if (key == "POST /api/v2/media") return upload_media(req);
    if (key == "GET /api/v1/accounts/verify_credentials") return json(200, account_json());
    if (req.method == "GET" && req.path.starts_with("/api/v1/media/")) {
      return get_media(req.path.substr(std::string_view("/api/v1/media/").size()));
    }
    const std::string_view prefix = "/api/v1/accounts/";
    if (req.method == "GET" && req.path.starts_with(prefix) && req.path.ends_with("/statuses")) {
      return account_statuses(req, req.path.substr(prefix.size(), req.path.size() - prefix.size() - 9));
    }
    return json(404, error_body("Not found"));
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    Received rec;
    rec.method = req.method;
    rec.path = req.path;
    rec.target = req.target;
    for (const auto& [k, v] : req.headers) rec.headers.emplace_back(k, v);
    rec.body = req.body;
    rec.time = std::chrono::system_clock::now();
    const std::string key = req.method + " " + req.path;

    Answer answer;
    {
      std::lock_guard lock(mutex);
      std::optional<Reply> reply;
      if (auto it = scripted.find(key); it != scripted.end() && !it->second.empty()) {
        reply = std::move(it->second.front());
        it->second.pop_front();
      }
      if (reply && reply->status != 0) {
        answer = {reply->status, reply->body, reply->headers, reply->delay};
      } else {
        answer = route(req, key);
        if (reply) answer.delay = reply->delay;
      }
      remaining = std::max(0, remaining - 1);
      rec.status = answer.status;
      log.push_back(std::move(rec));
    }
    changed.notify_all();

    stall(answer.delay);
    res.status = answer.status;
    bool has_limit = false;
    for (const auto& [k, v] : answer.headers) {
      has_limit = has_limit || iequals(k, "X-RateLimit-Reset");
      res.set_header(k, v);
    }
    if (!has_limit) {
      // Mastodon sends the limit it is closest to on every API answer.
      res.set_header("X-RateLimit-Limit", "300");
      res.set_header("X-RateLimit-Remaining", std::to_string(remaining));
      res.set_header("X-RateLimit-Reset", iso_time(std::chrono::system_clock::now() + std::chrono::minutes{5}));
    }
    if (!answer.body.empty() || answer.status != 206) {
      res.set_content(answer.body, Json::accept(answer.body) ? "application/json; charset=utf-8" : "text/plain");
    }
  }
};

MastodonServer::MastodonServer() : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  auto handler = [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); };
  impl.server.Get(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.Put(".*", handler);
  impl.server.Delete(".*", handler);
  impl.server.set_keep_alive_timeout(1);
  impl.server.set_tcp_nodelay(true);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("mastodon fake: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

MastodonServer::~MastodonServer() { stop(); }

void MastodonServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping = true;
  impl_->server.stop();
  impl_->thread.join();
}

std::string MastodonServer::base_url() const { return impl_->base(); }
int MastodonServer::port() const { return impl_->port; }

std::size_t MastodonServer::apps_registered() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->apps.size();
}

std::vector<std::string> MastodonServer::issued_tokens() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->issued.begin(), impl_->issued.end()};
}

void MastodonServer::set_access_token(std::string token) {
  std::lock_guard lock(impl_->mutex);
  impl_->token = std::move(token);
}

void MastodonServer::set_max_characters(std::size_t n) {
  std::lock_guard lock(impl_->mutex);
  impl_->max_characters = n;
}

void MastodonServer::set_max_media_attachments(std::size_t n) {
  std::lock_guard lock(impl_->mutex);
  impl_->max_media = n;
}

void MastodonServer::set_characters_reserved_per_url(std::size_t n) {
  std::lock_guard lock(impl_->mutex);
  impl_->per_url = n;
}

void MastodonServer::set_media_processing_polls(int n) {
  std::lock_guard lock(impl_->mutex);
  impl_->processing_polls = n;
}

void MastodonServer::script(std::string route, std::vector<Reply> replies) {
  std::lock_guard lock(impl_->mutex);
  auto& queue = impl_->scripted[std::move(route)];
  queue.assign(std::make_move_iterator(replies.begin()), std::make_move_iterator(replies.end()));
}

std::vector<MastodonServer::Received> MastodonServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t MastodonServer::count(std::string_view route) const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(std::count_if(impl_->log.begin(), impl_->log.end(), [&](const Received& r) {
    return r.method + " " + r.path == route;
  }));
}

std::vector<MastodonServer::Status> MastodonServer::statuses() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->statuses;
}

std::vector<MastodonServer::Media> MastodonServer::media() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->media;
}

bool MastodonServer::wait_for_statuses(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->statuses.size() >= n; });
}

}  // namespace multivio::fakes
