// SPDX-License-Identifier: MIT
// The chunk rules, title length and envelope are written here again from
// TikTok's documents, never by calling multivio's own planner: sharing it
// would let one bug pass on both sides.
#include "tests/fakes/tiktok_server.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include "tests/fakes/media_samples.hpp"

namespace multivio::fakes {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kMB = 1024 * 1024;
constexpr const char* kScopes = "user.info.basic,video.publish";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Video titles are measured in UTF-16 code units: four-byte UTF-8 sequences
// (outside the BMP) count two.
std::size_t utf16_units(std::string_view s) {
  std::size_t n = 0;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c & 0xC0) != 0x80) n += c >= 0xF0 ? 2 : 1;
  }
  return n;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> json_u64(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer() || it->get<long long>() < 0) return std::nullopt;
  return it->get<std::uint64_t>();
}

// The media transfer guide's rules; empty when the plan follows them.
std::string chunk_problem(std::uint64_t size, std::uint64_t chunk, std::uint64_t count) {
  if (size == 0) return "video_size must be positive";
  if (size < 5 * kMB) {
    if (chunk != size || count != 1) return "a video under 5 MB is uploaded whole: chunk_size = video_size, 1 chunk";
    return {};
  }
  if (chunk < 5 * kMB || chunk > 64 * kMB) return "chunk_size must be 5-64 MB";
  if (chunk > size) return "chunk_size exceeds video_size";
  if (count != size / chunk) return "total_chunk_count must be video_size / chunk_size rounded down";
  if (count < 1 || count > 1000) return "total_chunk_count must be 1-1000";
  if (size > 64 * kMB && count < 2) return "a video over 64 MB must be uploaded in chunks";
  if (size - (count - 1) * chunk > 128 * kMB) return "the final chunk may be at most 128 MB";
  return {};
}

}  // namespace

std::optional<std::string> TikTokServer::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

TikTokServer::Reply TikTokServer::rate_limited() {
  return Reply{429,
               Json{{"data", Json::object()},
                    {"error",
                     {{"code", "rate_limit_exceeded"},
                      {"message", "API rate limit was exceeded, please try again later."},
                      {"log_id", "fake-log-429"}}}}
                   .dump(),
               {}};
}

std::string TikTokServer::mp4(std::int64_t duration_ms, std::size_t size) {
  std::string out = sample_mp4(duration_ms, size);
  if (out.size() != size) throw std::invalid_argument("tiktok fake: an MP4 needs at least " + std::to_string(out.size()) + " bytes");
  return out;
}

struct TikTokServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mutex;
  std::vector<Received> log;
  std::map<std::string, std::deque<Reply>> scripted;
  User user;
  Creator creator;
  std::string client_key;
  std::string client_secret;
  struct Token {
    std::string scope;
    Clock::time_point expires;
  };
  std::map<std::string, Token> access_tokens;
  std::set<std::string> live_refresh_tokens;
  std::set<std::string> dead_refresh_tokens;
  int issued = 0;
  int processing_polls = 2;
  int post_id_delay = 0;
  std::string next_failure;
  bool unaudited = false;
  struct Window {
    int limit = 0;
    int used = 0;
    Clock::time_point start{};
  };
  std::map<std::string, int> limits{{"POST /v2/post/publish/video/init/", 6},
                                    {"POST /v2/post/publish/status/fetch/", 30}};
  std::map<std::pair<std::string, std::string>, Window> windows;  // (route, token)
  struct State {
    Video video;
    std::string upload_token;
    int polls_left = 0;
    int id_polls_left = 0;
    std::string failure;
  };
  std::vector<State> videos;

  std::string log_id() { return "fake-log-" + std::to_string(log.size() + 1); }

  void envelope(httplib::Response& r, Received& rec, int status, const Json& data, std::string code = "ok",
                std::string message = "") {
    rec.status = status;
    rec.code = code;
    r.status = status;
    const Json body = {{"data", data},
                       {"error", {{"code", std::move(code)}, {"message", std::move(message)}, {"log_id", log_id()}}}};
    r.set_content(body.dump(), "application/json");
  }

  void fail(httplib::Response& r, Received& rec, int status, std::string code, std::string message) {
    envelope(r, rec, status, Json::object(), std::move(code), std::move(message));
  }

  // The token's scopes, or nullopt after answering 401.
  std::optional<std::string> bearer(const httplib::Request& q, httplib::Response& r, Received& rec) {
    const std::string auth = q.get_header_value("Authorization");
    if (auth.size() > 7 && iequals(auth.substr(0, 7), "Bearer ")) {
      const auto it = access_tokens.find(auth.substr(7));
      if (it != access_tokens.end() && Clock::now() < it->second.expires) return it->second.scope;
    }
    fail(r, rec, 401, "access_token_invalid", "The access token is invalid or not found in the request.");
    return std::nullopt;
  }

  bool has_scope(const std::string& scopes, std::string_view wanted) const {
    std::string_view rest = scopes;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      if (rest.substr(0, comma) == wanted) return true;
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    return false;
  }

  // A JSON body with the documented Content-Type, or nullopt after answering.
  std::optional<Json> json_body(const httplib::Request& q, httplib::Response& r, Received& rec, bool may_be_empty) {
    const std::string type = q.get_header_value("Content-Type");
    if (type.rfind("application/json", 0) != 0) {
      fail(r, rec, 400, "invalid_params", "Content-Type must be application/json; charset=UTF-8");
      return std::nullopt;
    }
    if (q.body.empty() && may_be_empty) return Json::object();
    Json body = Json::parse(q.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      fail(r, rec, 400, "invalid_params", "The request body is not a JSON object.");
      return std::nullopt;
    }
    return body;
  }

  bool rate_limited(const std::string& route, const std::string& token, httplib::Response& r, Received& rec) {
    const auto limit = limits.find(route);
    if (limit == limits.end()) return false;
    Window& w = windows[{route, token}];
    const auto now = Clock::now();
    if (now - w.start >= std::chrono::minutes{1}) w = {limit->second, 0, now};
    if (w.used >= limit->second) {
      rec.status = 429;
      rec.code = "rate_limit_exceeded";
      const Reply reply = TikTokServer::rate_limited();
      r.status = 429;
      r.set_content(reply.body, "application/json");
      return true;
    }
    ++w.used;
    return false;
  }

  Tokens issue(std::chrono::seconds lifetime) {
    ++issued;
    Tokens t{"act.fake" + std::to_string(issued), "rft.fake" + std::to_string(issued)};
    access_tokens[t.access_token] = {kScopes, Clock::now() + lifetime};
    live_refresh_tokens.insert(t.refresh_token);
    return t;
  }

  void token(const httplib::Request& q, httplib::Response& r, Received& rec) {
    const auto oauth_error = [&](int status, const char* error, const char* description) {
      rec.status = status;
      rec.code = error;
      r.status = status;
      r.set_content(Json{{"error", error}, {"error_description", description}, {"log_id", log_id()}}.dump(),
                    "application/json");
    };
    if (q.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) != 0) {
      return oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.");
    }
    httplib::Params form;
    httplib::detail::parse_query_text(q.body, form);
    const auto get = [&](const char* key) {
      const auto it = form.find(key);
      return it != form.end() ? it->second : std::string();
    };
    if (get("client_key").empty() || get("client_key") != client_key || get("client_secret") != client_secret) {
      return oauth_error(401, "invalid_client", "Client key or secret is invalid.");
    }
    if (get("grant_type") != "refresh_token") {
      return oauth_error(400, "unsupported_grant_type", "Only refresh_token is supported by this fake.");
    }
    const std::string refresh = get("refresh_token");
    if (!live_refresh_tokens.contains(refresh)) {
      return oauth_error(400, "invalid_grant", dead_refresh_tokens.contains(refresh)
                                                   ? "Refresh token was already used."
                                                   : "Refresh token is invalid or expired.");
    }
    // Rotation: the old refresh token dies the moment a new one exists.
    live_refresh_tokens.erase(refresh);
    dead_refresh_tokens.insert(refresh);
    const Tokens t = issue(std::chrono::seconds{7200});
    rec.status = 200;
    rec.code = "ok";
    r.status = 200;
    r.set_content(Json{{"open_id", user.open_id},
                       {"scope", kScopes},
                       {"access_token", t.access_token},
                       {"expires_in", 7200},
                       {"refresh_token", t.refresh_token},
                       {"refresh_expires_in", 15552000},
                       {"token_type", "Bearer"}}
                      .dump(),
                  "application/json");
  }

  void user_info(const httplib::Request& q, httplib::Response& r, Received& rec, const std::string& scopes) {
    if (!has_scope(scopes, "user.info.basic")) {
      return fail(r, rec, 403, "scope_not_authorized", "The user did not authorize the scope user.info.basic.");
    }
    const std::string fields = q.get_param_value("fields");
    if (fields.empty()) return fail(r, rec, 400, "invalid_params", "fields is required.");
    Json u = Json::object();
    std::string_view rest = fields;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string field(rest.substr(0, comma));
      if (field == "open_id") {
        u["open_id"] = user.open_id;
      } else if (field == "username") {
        u["username"] = user.username;
      } else if (field == "display_name") {
        u["display_name"] = user.display_name;
      } else {
        return fail(r, rec, 400, "invalid_params", "Unknown field " + field + ".");
      }
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    envelope(r, rec, 200, {{"user", u}});
  }

  void creator_info(httplib::Response& r, Received& rec) {
    envelope(r, rec, 200,
             {{"creator_avatar_url", "https://p16.example/avatar.jpeg"},
              {"creator_username", user.username},
              {"creator_nickname", user.display_name},
              {"privacy_level_options", creator.privacy_level_options},
              {"comment_disabled", creator.comment_disabled},
              {"duet_disabled", creator.duet_disabled},
              {"stitch_disabled", creator.stitch_disabled},
              {"max_video_post_duration_sec", creator.max_video_post_duration_sec}});
  }

  void init(const Json& body, httplib::Response& r, Received& rec) {
    const auto post = body.find("post_info");
    const auto source = body.find("source_info");
    if (post == body.end() || !post->is_object() || source == body.end() || !source->is_object()) {
      return fail(r, rec, 400, "invalid_params", "post_info and source_info are required.");
    }
    const auto level = post->find("privacy_level");
    if (level == post->end() || !level->is_string()) {
      return fail(r, rec, 400, "invalid_params", "post_info.privacy_level is required.");
    }
    const auto& options = creator.privacy_level_options;
    if (std::find(options.begin(), options.end(), level->get<std::string>()) == options.end()) {
      return fail(r, rec, 400, "privacy_level_option_mismatch",
                  "privacy_level is not one of the creator's privacy_level_options.");
    }
    if (unaudited && *level != "SELF_ONLY") {
      return fail(r, rec, 403, "unaudited_client_can_only_post_to_private_accounts",
                  "Unaudited clients can only post to private accounts.");
    }
    const std::string title = post->value("title", std::string());
    if (utf16_units(title) > 2200) return fail(r, rec, 400, "invalid_params", "The title is too long.");
    for (const char* flag : {"disable_comment", "disable_duet", "disable_stitch"}) {
      if (post->contains(flag) && !(*post)[flag].is_boolean()) {
        return fail(r, rec, 400, "invalid_params", std::string(flag) + " must be a boolean.");
      }
    }
    if (source->value("source", std::string()) != "FILE_UPLOAD") {
      return fail(r, rec, 400, "invalid_params", "source must be FILE_UPLOAD (PULL_FROM_URL needs a verified domain).");
    }
    const auto size = json_u64(*source, "video_size");
    const auto chunk = json_u64(*source, "chunk_size");
    const auto count = json_u64(*source, "total_chunk_count");
    if (!size || !chunk || !count) {
      return fail(r, rec, 400, "invalid_params", "video_size, chunk_size and total_chunk_count are required.");
    }
    if (const std::string problem = chunk_problem(*size, *chunk, *count); !problem.empty()) {
      return fail(r, rec, 400, "invalid_params", "The chunk size is invalid: " + problem + ".");
    }
    State s;
    s.video.publish_id = "v_pub_file~v2-1." + std::to_string(7300000000000000000ULL + videos.size() + 1);
    s.video.title = title;
    s.video.privacy_level = *level;
    s.video.disable_comment = post->value("disable_comment", false);
    s.video.disable_duet = post->value("disable_duet", false);
    s.video.disable_stitch = post->value("disable_stitch", false);
    s.video.video_size = *size;
    s.video.chunk_size = *chunk;
    s.video.total_chunk_count = *count;
    s.video.status = "PROCESSING_UPLOAD";
    s.upload_token = "up" + std::to_string(videos.size() + 1) + "x" + std::to_string(issued);
    const std::string id = std::to_string(videos.size());
    videos.push_back(std::move(s));
    envelope(r, rec, 200,
             {{"publish_id", videos.back().video.publish_id},
              {"upload_url", "http://127.0.0.1:" + std::to_string(port) + "/upload/?upload_id=" + id +
                                 "&upload_token=" + videos.back().upload_token}});
  }

  void put_chunk(const httplib::Request& q, httplib::Response& r, Received& rec) {
    const auto id = to_u64(q.get_param_value("upload_id"));
    if (!id || *id >= videos.size() || q.get_param_value("upload_token") != videos[*id].upload_token) {
      return fail(r, rec, 404, "invalid_params", "Unknown upload.");
    }
    State& s = videos[*id];
    Video& v = s.video;
    if (v.status != "PROCESSING_UPLOAD") return fail(r, rec, 400, "invalid_params", "The upload is complete.");
    const std::string type = q.get_header_value("Content-Type");
    if (type != "video/mp4" && type != "video/quicktime" && type != "video/webm") {
      return fail(r, rec, 400, "invalid_params", "Content-Type must be video/mp4, video/quicktime or video/webm.");
    }
    // "bytes FIRST-LAST/TOTAL"
    const std::string range = q.get_header_value("Content-Range");
    const auto dash = range.find('-');
    const auto slash = range.find('/');
    if (range.rfind("bytes ", 0) != 0 || dash == std::string::npos || slash == std::string::npos || slash < dash) {
      return fail(r, rec, 400, "invalid_params", "Content-Range must be bytes FIRST-LAST/TOTAL.");
    }
    const auto first = to_u64(std::string_view(range).substr(6, dash - 6));
    const auto last = to_u64(std::string_view(range).substr(dash + 1, slash - dash - 1));
    const auto total = to_u64(std::string_view(range).substr(slash + 1));
    if (!first || !last || !total || *last < *first) {
      return fail(r, rec, 400, "invalid_params", "Content-Range must be bytes FIRST-LAST/TOTAL.");
    }
    if (*total != v.video_size) return fail(r, rec, 400, "invalid_params", "Content-Range total is not video_size.");
    if (*first != v.bytes.size()) return fail(r, rec, 400, "invalid_params", "Chunks must be uploaded in order.");
    if (*last - *first + 1 != q.body.size()) {
      return fail(r, rec, 400, "invalid_params", "Content-Range does not match the body size.");
    }
    const std::uint64_t index = *first / v.chunk_size;
    const std::uint64_t expected =
        index + 1 == v.total_chunk_count ? v.video_size - index * v.chunk_size : v.chunk_size;
    if (*first % v.chunk_size != 0 || index >= v.total_chunk_count || q.body.size() != expected) {
      return fail(r, rec, 400, "invalid_params", "The chunk does not match chunk_size and total_chunk_count.");
    }
    v.bytes += q.body;
    v.content_types.push_back(type);
    rec.status = v.bytes.size() == v.video_size ? 201 : 206;
    rec.code = "ok";
    r.status = rec.status;
    if (v.bytes.size() == v.video_size) {
      v.status = "PROCESSING_DOWNLOAD";
      s.polls_left = processing_polls;
      s.id_polls_left = post_id_delay;
      s.failure = std::exchange(next_failure, std::string());
    }
  }

  void status(const Json& body, httplib::Response& r, Received& rec) {
    const std::string publish_id = body.value("publish_id", std::string());
    const auto it = std::find_if(videos.begin(), videos.end(),
                                 [&](const State& s) { return s.video.publish_id == publish_id; });
    if (it == videos.end()) return fail(r, rec, 400, "invalid_params", "publish_id is invalid.");
    Video& v = it->video;
    if (v.status == "PROCESSING_DOWNLOAD") {
      if (it->polls_left > 0) {
        --it->polls_left;
      } else if (!it->failure.empty()) {
        v.status = "FAILED";
      } else {
        v.status = "PUBLISH_COMPLETE";
      }
    }
    Json data = {{"status", v.status}, {"uploaded_bytes", v.bytes.size()}};
    if (v.status == "FAILED") data["fail_reason"] = it->failure;
    if (v.status == "PUBLISH_COMPLETE") {
      if (it->id_polls_left > 0) {
        --it->id_polls_left;
      } else {
        if (v.post_id.empty()) v.post_id = std::to_string(7400000000000000000ULL + (it - videos.begin()) + 1);
        // Sent as a number, as TikTok's example shows.
        data["publicaly_available_post_id"] = Json::array({std::stoull(v.post_id)});
      }
    }
    envelope(r, rec, 200, data);
  }

  void handle(const httplib::Request& q, httplib::Response& r) {
    std::lock_guard lock(mutex);
    Received rec;
    rec.method = q.method;
    rec.route = q.method + " " + q.path;
    rec.target = q.target;
    for (const auto& [k, v] : q.headers) rec.headers.emplace_back(k, v);
    rec.body_size = q.body.size();
    if (q.path != "/upload/") rec.body = q.body;
    handle_route(q, r, rec);
    log.push_back(std::move(rec));
  }

  void handle_route(const httplib::Request& q, httplib::Response& r, Received& rec) {
    if (auto s = scripted.find(rec.route); s != scripted.end() && !s->second.empty()) {
      const Reply reply = s->second.front();
      s->second.pop_front();
      rec.status = reply.status;
      r.status = reply.status;
      for (const auto& [k, v] : reply.headers) r.set_header(k, v);
      r.set_content(reply.body, "application/json");
      return;
    }
    if (rec.route == "POST /v2/oauth/token/") return token(q, r, rec);
    if (rec.route == "PUT /upload/") return put_chunk(q, r, rec);
    const bool known = rec.route == "GET /v2/user/info/" || rec.route == "POST /v2/post/publish/creator_info/query/" ||
                       rec.route == "POST /v2/post/publish/video/init/" ||
                       rec.route == "POST /v2/post/publish/status/fetch/";
    if (!known) return fail(r, rec, 404, "invalid_params", "No such endpoint: " + rec.route);
    const auto scopes = bearer(q, r, rec);
    if (!scopes) return;
    if (rate_limited(rec.route, q.get_header_value("Authorization"), r, rec)) return;
    if (rec.route == "GET /v2/user/info/") return user_info(q, r, rec, *scopes);
    if (!has_scope(*scopes, "video.publish")) {
      return fail(r, rec, 403, "scope_not_authorized", "The user did not authorize the scope video.publish.");
    }
    const auto body = json_body(q, r, rec, rec.route == "POST /v2/post/publish/creator_info/query/");
    if (!body) return;
    if (rec.route == "POST /v2/post/publish/creator_info/query/") return creator_info(r, rec);
    if (rec.route == "POST /v2/post/publish/video/init/") return init(*body, r, rec);
    return status(*body, r, rec);
  }
};

TikTokServer::TikTokServer() : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  const auto handler = [&impl](const httplib::Request& q, httplib::Response& r) { impl.handle(q, r); };
  impl.server.Get(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.Put(".*", handler);
  impl.server.set_keep_alive_timeout(1);
  impl.server.set_payload_max_length(200 * kMB);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("tiktok fake: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

TikTokServer::~TikTokServer() { stop(); }

void TikTokServer::stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

std::string TikTokServer::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }
int TikTokServer::port() const { return impl_->port; }

void TikTokServer::set_user(User user) {
  std::lock_guard lock(impl_->mutex);
  impl_->user = std::move(user);
}

void TikTokServer::set_creator(Creator creator) {
  std::lock_guard lock(impl_->mutex);
  impl_->creator = std::move(creator);
}

void TikTokServer::add_access_token(std::string token, std::string scope) {
  std::lock_guard lock(impl_->mutex);
  impl_->access_tokens[std::move(token)] = {std::move(scope), Clock::now() + std::chrono::hours{2}};
}

void TikTokServer::set_client(std::string client_key, std::string client_secret) {
  std::lock_guard lock(impl_->mutex);
  impl_->client_key = std::move(client_key);
  impl_->client_secret = std::move(client_secret);
}

TikTokServer::Tokens TikTokServer::issue_tokens(std::chrono::seconds expires_in) {
  std::lock_guard lock(impl_->mutex);
  return impl_->issue(expires_in);
}

void TikTokServer::expire_access_tokens() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [token, t] : impl_->access_tokens) t.expires = Clock::now();
}

bool TikTokServer::refresh_token_valid(std::string_view token) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->live_refresh_tokens.contains(std::string(token));
}

void TikTokServer::set_processing_polls(int polls) {
  std::lock_guard lock(impl_->mutex);
  impl_->processing_polls = polls;
}

void TikTokServer::set_post_id_delay(int polls) {
  std::lock_guard lock(impl_->mutex);
  impl_->post_id_delay = polls;
}

void TikTokServer::fail_next(std::string fail_reason) {
  std::lock_guard lock(impl_->mutex);
  impl_->next_failure = std::move(fail_reason);
}

void TikTokServer::set_unaudited(bool unaudited) {
  std::lock_guard lock(impl_->mutex);
  impl_->unaudited = unaudited;
}

void TikTokServer::set_rate_limit(std::string route, int per_minute) {
  std::lock_guard lock(impl_->mutex);
  impl_->limits[std::move(route)] = per_minute;
}

void TikTokServer::script(std::string route, std::vector<Reply> replies) {
  std::lock_guard lock(impl_->mutex);
  auto& queue = impl_->scripted[std::move(route)];
  queue.insert(queue.end(), replies.begin(), replies.end());
}

std::vector<TikTokServer::Received> TikTokServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t TikTokServer::count(std::string_view route) const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(
      std::count_if(impl_->log.begin(), impl_->log.end(), [&](const Received& r) { return r.route == route; }));
}

std::vector<TikTokServer::Video> TikTokServer::videos() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<Video> out;
  for (const auto& s : impl_->videos) out.push_back(s.video);
  return out;
}

std::vector<TikTokServer::Video> TikTokServer::published() const {
  std::vector<Video> out;
  for (auto& v : videos()) {
    if (v.status == "PUBLISH_COMPLETE") out.push_back(std::move(v));
  }
  return out;
}

}  // namespace multivio::fakes
