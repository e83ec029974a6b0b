// SPDX-License-Identifier: MIT
// Written from Meta's Graph API documents (Pages API, page/feed, page/photos,
// Facebook Login manual flow, long-lived tokens, error handling), never by
// calling multivio's own wire code: sharing it would let one bug pass on both
// sides.
#include "tests/fakes/facebook_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

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

std::string base64url(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string random_token(std::string_view prefix) {
  std::string raw(24, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  return std::string(prefix) + base64url(raw);
}

Json envelope(int code, int subcode, const std::string& message) {
  // Graph labels token problems OAuthException and most others too; the
  // code, not the type, is what clients branch on.
  Json e = {{"message", message},
            {"type", code == 190 || code == 102 || code == 104 ? "OAuthException" : "GraphMethodException"},
            {"code", code},
            {"fbtrace_id", "AbCdEfGh" + std::to_string(code)}};
  if (subcode != 0) e["error_subcode"] = subcode;
  return {{"error", e}};
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+0000", &tm);
  return buf;
}

bool looks_like_image(std::string_view b) {
  return b.starts_with("\x89PNG\r\n\x1A\n") || b.starts_with("\xFF\xD8\xFF") || b.starts_with("GIF87a") ||
         b.starts_with("GIF89a");
}

}  // namespace

std::optional<std::string> FacebookServer::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

FacebookServer::Reply FacebookServer::graph_error(int http_status, int code, int subcode, std::string message) {
  return Reply{http_status, envelope(code, subcode, message).dump(), {}, {}};
}

FacebookServer::Reply FacebookServer::rate_limited(int minutes) {
  Reply r = graph_error(400, 32, 0, "(#32) Page request limit reached");
  const Json usage = {{"1111",
                       Json::array({{{"type", "pages"},
                                     {"call_count", 100},
                                     {"total_cputime", 30},
                                     {"total_time", 40},
                                     {"estimated_time_to_regain_access", minutes}}})}};
  r.headers.emplace_back("X-Business-Use-Case-Usage", usage.dump());
  return r;
}

struct FacebookServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mutex;
  std::vector<Received> log;
  std::map<std::string, std::deque<Reply>> scripted;

  std::string version = "v23.0";
  std::string client_id = "fb-app-id";
  std::string client_secret = "fb-app-secret";
  std::vector<Page> page_list{{"1111", "Multivio Cafe"}, {"2222", "Multivio Books"}};

  enum class Kind { user_short, user_long, page_short, page_long };
  struct Token {
    Kind kind;
    std::string page_id;  // page tokens
    bool expired = false;
  };
  std::map<std::string, Token> tokens;

  struct Code {
    std::string redirect_uri;
    std::string challenge;
    bool used = false;
  };
  std::map<std::string, Code> codes;
  std::vector<Authorize> authorizations;

  std::vector<Post> post_list;
  std::vector<std::string> post_times;  // by index of post_list
  std::vector<Photo> photo_list;
  std::vector<Video> video_list;
  long long next_id = 100000000001;

  struct Answer {
    int status = 200;
    std::string body;
    HeaderList headers;
    std::chrono::milliseconds delay{0};
  };

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }

  static Answer json(int status, const Json& body) { return {status, body.dump(), {}, {}}; }
  static Answer error(int status, int code, int subcode, const std::string& message) {
    return json(status, envelope(code, subcode, message));
  }

  const Page* page_by_id(const std::string& id) const {
    for (const auto& p : page_list) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }

  std::string new_token(Kind kind, std::string page_id = {}) {
    const char* prefix = kind == Kind::user_short ? "EAAs" : kind == Kind::user_long ? "EAAl" : "EAAp";
    std::string t = random_token(prefix);
    tokens[t] = Token{kind, std::move(page_id), false};
    return t;
  }

  // Parameters from a JSON body, a form body, multipart text fields and the
  // query string, in that order of precedence.
  static Json params_of(const httplib::Request& req) {
    Json j = Json::object();
    for (const auto& [k, v] : req.params) j[k] = v;  // query and urlencoded form
    if (req.is_multipart_form_data()) {
      for (const auto& [name, file] : req.files) {
        if (file.filename.empty()) j[name] = file.content;
      }
    }
    if (starts_with_nocase(req.get_header_value("Content-Type"), "application/json")) {
      Json body = Json::parse(req.body, nullptr, false);
      if (!body.is_object()) return Json();
      for (auto& [k, v] : body.items()) j[k] = v;
    }
    return j;
  }

  static std::string str(const Json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  }

  static std::string presented_token(const httplib::Request& req, const Json& params) {
    const std::string auth = req.get_header_value("Authorization");
    if (starts_with_nocase(auth, "Bearer ")) return auth.substr(7);
    if (starts_with_nocase(auth, "OAuth ")) return auth.substr(6);
    return str(params, "access_token");
  }

  // nullptr with `refusal` set when the token is missing, unknown or expired.
  const Token* authenticate(const httplib::Request& req, const Json& params, Answer& refusal) const {
    const std::string t = presented_token(req, params);
    if (t.empty()) {
      refusal = error(400, 104, 0, "An access token is required to request this resource.");
      return nullptr;
    }
    const auto it = tokens.find(t);
    if (it == tokens.end()) {
      refusal = error(400, 190, 0, "Invalid OAuth access token - Cannot parse access token");
      return nullptr;
    }
    if (it->second.expired) {
      refusal = error(400, 190, 463, "Error validating access token: Session has expired.");
      return nullptr;
    }
    return &it->second;
  }

  static bool is_user(const Token& t) { return t.kind == Kind::user_short || t.kind == Kind::user_long; }

  // GET /{v}/dialog/oauth: checks the request as the Login dialog does and
  // answers as if the person approved every permission.
  Answer dialog(const httplib::Request& req) {
    Authorize a{req.get_param_value("client_id"), req.get_param_value("redirect_uri"), req.get_param_value("scope"),
                req.get_param_value("state"), req.get_param_value("code_challenge")};
    authorizations.push_back(a);
    if (a.client_id != client_id) return error(400, 101, 0, "Error validating application. Invalid application ID.");
    if (!a.redirect_uri.starts_with("http://127.0.0.1:") && !a.redirect_uri.starts_with("http://localhost:")) {
      return error(400, 191, 0, "The redirect_uri is not whitelisted in the app's Valid OAuth Redirect URIs.");
    }
    std::set<std::string> granted;
    for (std::size_t at = 0; at <= a.scope.size();) {
      const auto comma = std::min(a.scope.find(',', at), a.scope.size());
      if (comma > at) granted.insert(a.scope.substr(at, comma - at));
      at = comma + 1;
    }
    for (const char* needed : {"pages_show_list", "pages_manage_posts"}) {
      if (granted.count(needed) == 0) {
        return error(400, 100, 0, std::string("Invalid Scopes: the dialog did not ask for ") + needed);
      }
    }
    if (!a.code_challenge.empty() && req.get_param_value("code_challenge_method") != "S256") {
      return error(400, 100, 0, "code_challenge_method must be S256");
    }
    const std::string code = random_token("AQ");
    codes[code] = Code{a.redirect_uri, a.code_challenge, false};
    std::string location = a.redirect_uri + (a.redirect_uri.find('?') == std::string::npos ? "?" : "&") +
                           "code=" + code;
    if (!a.state.empty()) location += "&state=" + httplib::detail::encode_query_param(a.state);
    location += "#_=_";  // Facebook appends a fragment to every redirect
    return {302, "", {{"Location", location}}, {}};
  }

  // /{v}/oauth/access_token, GET or POST: the code exchange or fb_exchange_token.
  Answer access_token(const httplib::Request& req) {
    const Json p = params_of(req);
    if (str(p, "client_id") != client_id) {
      return error(400, 101, 0, "Error validating application. Invalid application ID.");
    }
    if (str(p, "client_secret") != client_secret) return error(400, 1, 0, "Error validating client secret.");
    if (str(p, "grant_type") == "fb_exchange_token") {
      const auto it = tokens.find(str(p, "fb_exchange_token"));
      if (it == tokens.end() || !is_user(it->second) || it->second.expired) {
        return error(400, 190, 0, "Invalid OAuth access token - Cannot parse access token");
      }
      return json(200, {{"access_token", new_token(Kind::user_long)},
                        {"token_type", "bearer"},
                        {"expires_in", 5183944}});
    }
    const auto it = codes.find(str(p, "code"));
    if (it == codes.end()) return error(400, 100, 36007, "Invalid verification code format.");
    if (it->second.used) return error(400, 100, 36009, "This authorization code has been used.");
    it->second.used = true;
    if (str(p, "redirect_uri") != it->second.redirect_uri) {
      return error(400, 100, 36008,
                   "Error validating verification code. Please make sure your redirect_uri is identical to the one "
                   "you used in the OAuth dialog request");
    }
    if (!it->second.challenge.empty()) {
      const std::string verifier = str(p, "code_verifier");
      unsigned char digest[SHA256_DIGEST_LENGTH];
      SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
      if (base64url(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest)) != it->second.challenge) {
        return error(400, 100, 0, "Invalid code verifier");
      }
    }
    return json(200, {{"access_token", new_token(Kind::user_short)}, {"token_type", "bearer"}, {"expires_in", 5183}});
  }

  Answer me_accounts(const Token& who) {
    if (!is_user(who)) {
      return error(400, 100, 0, "(#100) Tried accessing nonexisting field (accounts) on node type (Page)");
    }
    Json data = Json::array();
    for (const auto& p : page_list) {
      data.push_back({{"id", p.id},
                      {"name", p.name},
                      {"category", "Cafe"},
                      {"tasks", {"ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"}},
                      {"access_token", new_token(who.kind == Kind::user_long ? Kind::page_long : Kind::page_short,
                                                 p.id)}});
    }
    return json(200, {{"data", data}, {"paging", {{"cursors", {{"before", "QVFIUk"}, {"after", "QVFIUl"}}}}}});
  }

  Answer page_node(const std::string& page_id, const Token& who) {
    const Page* page = page_by_id(page_id);
    if (page == nullptr || (!is_user(who) && who.page_id != page_id)) {
      return error(400, 100, 33,
                   "Unsupported get request. Object with ID '" + page_id +
                       "' does not exist, cannot be loaded due to missing permissions, or does not support this "
                       "operation.");
    }
    return json(200, {{"id", page->id}, {"name", page->name}});
  }

  // Publishing needs the Page's own token: a user token is the classic mistake.
  std::optional<Answer> check_page_token(const std::string& page_id, const Token& who) const {
    if (page_by_id(page_id) == nullptr) {
      return error(400, 100, 33, "Unsupported post request. Object with ID '" + page_id + "' does not exist.");
    }
    if (is_user(who) || who.page_id != page_id) {
      return error(403, 200, 0,
                   "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an "
                   "admin with sufficient administrative permission");
    }
    return std::nullopt;
  }

  std::string add(Post post) {
    post.id = post.page_id + "_" + std::to_string(next_id++);
    post_list.push_back(post);
    post_times.push_back(iso_time(std::chrono::system_clock::now()));
    return post_list.back().id;
  }

  Answer feed(const httplib::Request& req, const std::string& page_id, const Token& who) {
    if (auto refused = check_page_token(page_id, who)) return *refused;
    const Json p = params_of(req);
    if (p.is_null()) return error(400, 100, 0, "(#100) Invalid JSON body");
    Post post;
    post.page_id = page_id;
    post.message = str(p, "message");
    post.link = str(p, "link");
    if (!post.link.empty() && !post.link.starts_with("http://") && !post.link.starts_with("https://")) {
      return error(400, 100, 0, "(#100) The parameter link must be a valid URL");
    }
    Json attached = p.contains("attached_media") ? p["attached_media"] : Json();
    if (attached.is_string()) attached = Json::parse(attached.get<std::string>(), nullptr, false);
    std::vector<Photo*> photos;
    if (!attached.is_null()) {
      if (!attached.is_array()) return error(400, 100, 0, "(#100) param attached_media must be an array");
      for (std::size_t i = 0; i < attached.size(); ++i) {
        const std::string fbid = attached[i].is_object() ? str(attached[i], "media_fbid") : std::string();
        auto it = std::find_if(photo_list.begin(), photo_list.end(), [&](const Photo& ph) { return ph.id == fbid; });
        if (it == photo_list.end() || it->page_id != page_id || it->published || it->attached) {
          return error(400, 100, 0,
                       "(#100) param attached_media[" + std::to_string(i) + "] must be an unpublished photo id");
        }
        photos.push_back(&*it);
      }
    }
    if (post.message.empty() && post.link.empty() && photos.empty()) {
      return error(400, 100, 0, "(#100) Missing message or attachment");
    }
    if (!post.message.empty()) {
      for (auto it = post_list.rbegin(); it != post_list.rend(); ++it) {
        if (it->page_id != page_id) continue;
        if (it->message == post.message) return error(400, 506, 1455006, "Duplicate status message");
        break;  // only the Page's latest post counts
      }
    }
    for (Photo* ph : photos) {
      ph->attached = true;
      post.photo_ids.push_back(ph->id);
    }
    return json(200, {{"id", add(std::move(post))}});
  }

  Answer photos(const httplib::Request& req, const std::string& page_id, const Token& who) {
    if (auto refused = check_page_token(page_id, who)) return *refused;
    if (!req.is_multipart_form_data() || !req.has_file("source") || req.get_file_value("source").filename.empty()) {
      return error(400, 324, 0, "(#324) Requires upload file");
    }
    const auto file = req.get_file_value("source");
    if (!starts_with_nocase(file.content_type, "image/") || !looks_like_image(file.content)) {
      return error(400, 324, 0, "(#324) Missing or invalid image file");
    }
    if (file.content.size() > 4 * 1024 * 1024) return error(400, 100, 0, "(#100) The image is larger than 4 MB");
    const Json p = params_of(req);
    const std::string published = str(p, "published");
    if (!published.empty() && published != "true" && published != "false") {
      return error(400, 100, 0, "(#100) param published must be a boolean");
    }
    Photo photo;
    photo.id = std::to_string(next_id++);
    photo.page_id = page_id;
    photo.file_name = file.filename;
    photo.content_type = file.content_type;
    photo.bytes = file.content.size();
    photo.published = published != "false";
    photo_list.push_back(photo);
    if (!photo.published) return json(200, {{"id", photo.id}});
    Post post;
    post.page_id = page_id;
    post.message = str(p, "message");
    post.photo_ids = {photo.id};
    return json(200, {{"id", photo.id}, {"post_id", add(std::move(post))}});
  }

  // Graph's non-resumable video upload: the file as `source` (1 GB at most),
  // the post text as `description`; the answer is the video's id.
  Answer videos(const httplib::Request& req, const std::string& page_id, const Token& who) {
    if (auto refused = check_page_token(page_id, who)) return *refused;
    if (!req.is_multipart_form_data() || !req.has_file("source") || req.get_file_value("source").filename.empty()) {
      return error(400, 390, 0, "(#390) There was a problem uploading your video file. Please try again.");
    }
    const auto file = req.get_file_value("source");
    if (!starts_with_nocase(file.content_type, "video/") || file.content.size() < 12 ||
        file.content.compare(4, 4, "ftyp") != 0) {
      return error(400, 352, 0, "(#352) Sorry, the video file you selected is in a format that we don't support.");
    }
    if (req.has_param("message")) return error(400, 100, 0, "(#100) Param message is not valid for videos; use description");
    Video video;
    video.id = std::to_string(next_id++);
    video.page_id = page_id;
    video.file_name = file.filename;
    video.content_type = file.content_type;
    video.bytes = file.content;
    if (req.has_file("description")) video.description = req.get_file_value("description").content;
    Post post;
    post.page_id = page_id;
    post.message = video.description;
    post.video_id = video.id;
    add(std::move(post));
    video_list.push_back(video);
    return json(200, {{"id", video.id}});
  }

  Answer page_posts(const httplib::Request& req, const std::string& page_id, const Token& who) {
    if (page_by_id(page_id) == nullptr || (!is_user(who) && who.page_id != page_id)) {
      return error(400, 100, 33, "Unsupported get request. Object with ID '" + page_id + "' does not exist.");
    }
    std::size_t limit = 25;
    if (req.has_param("limit")) limit = std::clamp<std::size_t>(std::stoul(req.get_param_value("limit")), 1, 100);
    Json data = Json::array();
    for (std::size_t i = post_list.size(); i-- > 0 && data.size() < limit;) {
      const Post& p = post_list[i];
      if (p.page_id != page_id) continue;
      Json item = {{"id", p.id},
                   {"created_time", post_times[i]},
                   {"permalink_url", "https://www.facebook.com/" + p.page_id + "/posts/" +
                                         p.id.substr(p.id.find('_') + 1)}};
      if (!p.message.empty()) item["message"] = p.message;  // Graph leaves the field out when empty
      data.push_back(item);
    }
    return json(200, {{"data", data}});
  }

  // "POST /:page/feed" from "/v23.0/1111/feed"; the version is checked first.
  std::string route_of(const httplib::Request& req, std::string& version_seen, std::vector<std::string>& parts) {
    std::string_view path = req.path;
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    while (!path.empty()) {
      const auto slash = path.find('/');
      parts.emplace_back(path.substr(0, slash));
      if (slash == std::string_view::npos) break;
      path.remove_prefix(slash + 1);
    }
    if (!parts.empty() && parts.front().starts_with("v")) {
      version_seen = parts.front();
      parts.erase(parts.begin());
    }
    std::string route = req.method + " ";
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const bool numeric = !parts[i].empty() && std::all_of(parts[i].begin(), parts[i].end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      });
      route += "/" + (i == 0 && numeric ? std::string(":page") : parts[i]);
    }
    return route;
  }

  Answer dispatch(const httplib::Request& req, const std::string& route, const std::string& version_seen,
                  const std::vector<std::string>& parts) {
    if (version_seen != version) {
      return error(400, 2635, 0, "Unknown or unsupported API version '" + version_seen + "'; this fake serves " +
                                     version);
    }
    if (route == "GET /dialog/oauth") return dialog(req);
    if (route == "GET /oauth/access_token" || route == "POST /oauth/access_token") return access_token(req);
    const Json params = params_of(req);
    Answer refusal;
    const Token* who = authenticate(req, params, refusal);
    if (who == nullptr) return refusal;
    if (route == "GET /me/accounts") return me_accounts(*who);
    if (route == "GET /:page") return page_node(parts[0], *who);
    if (route == "POST /:page/feed") return feed(req, parts[0], *who);
    if (route == "POST /:page/photos") return photos(req, parts[0], *who);
    if (route == "POST /:page/videos") return videos(req, parts[0], *who);
    if (route == "GET /:page/posts") return page_posts(req, parts[0], *who);
    return error(400, 100, 0, "Unknown path components: " + req.path);
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    Received rec;
    rec.method = req.method;
    rec.path = req.path;
    rec.target = req.target;
    for (const auto& [k, v] : req.headers) rec.headers.emplace_back(k, v);
    rec.body = req.body;
    std::string version_seen;
    std::vector<std::string> parts;
    rec.route = route_of(req, version_seen, parts);

    Answer answer;
    {
      std::lock_guard lock(mutex);
      std::optional<Reply> reply;
      if (auto it = scripted.find(rec.route); it != scripted.end() && !it->second.empty()) {
        reply = std::move(it->second.front());
        it->second.pop_front();
      }
      if (reply && reply->status != 0) {
        answer = {reply->status, reply->body, reply->headers, reply->delay};
      } else {
        answer = dispatch(req, rec.route, version_seen, parts);
        if (reply) answer.delay = reply->delay;
      }
      rec.status = answer.status;
      log.push_back(std::move(rec));
    }
    if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
    res.status = answer.status;
    for (const auto& [k, v] : answer.headers) res.set_header(k, v);
    res.set_header("X-App-Usage", R"({"call_count":1,"total_cputime":1,"total_time":1})");
    if (!answer.body.empty()) res.set_content(answer.body, "application/json; charset=UTF-8");
  }
};

FacebookServer::FacebookServer() : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  auto handler = [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); };
  impl.server.Get(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.Delete(".*", handler);
  impl.server.set_keep_alive_timeout(1);
  impl.server.set_tcp_nodelay(true);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("facebook fake: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

FacebookServer::~FacebookServer() { stop(); }

void FacebookServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

std::string FacebookServer::base_url() const { return impl_->base(); }
int FacebookServer::port() const { return impl_->port; }

void FacebookServer::set_version(std::string version) {
  std::lock_guard lock(impl_->mutex);
  impl_->version = std::move(version);
}

void FacebookServer::set_app(std::string client_id, std::string client_secret) {
  std::lock_guard lock(impl_->mutex);
  impl_->client_id = std::move(client_id);
  impl_->client_secret = std::move(client_secret);
}

std::vector<FacebookServer::Page> FacebookServer::pages() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->page_list;
}

std::string FacebookServer::issue_user_token(bool long_lived) {
  std::lock_guard lock(impl_->mutex);
  return impl_->new_token(long_lived ? Impl::Kind::user_long : Impl::Kind::user_short);
}

std::string FacebookServer::issue_page_token(const std::string& page_id) {
  std::lock_guard lock(impl_->mutex);
  return impl_->new_token(Impl::Kind::page_long, page_id);
}

bool FacebookServer::is_long_lived_page_token(const std::string& token) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->tokens.find(token);
  return it != impl_->tokens.end() && it->second.kind == Impl::Kind::page_long;
}

void FacebookServer::expire_tokens() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [t, token] : impl_->tokens) token.expired = true;
}

void FacebookServer::script(std::string route, std::vector<Reply> replies) {
  std::lock_guard lock(impl_->mutex);
  auto& queue = impl_->scripted[std::move(route)];
  queue.assign(std::make_move_iterator(replies.begin()), std::make_move_iterator(replies.end()));
}

std::string FacebookServer::add_post(const std::string& page_id, std::string message) {
  std::lock_guard lock(impl_->mutex);
  Post post;
  post.page_id = page_id;
  post.message = std::move(message);
  return impl_->add(std::move(post));
}

std::vector<FacebookServer::Received> FacebookServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t FacebookServer::count(std::string_view route) const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(
      std::count_if(impl_->log.begin(), impl_->log.end(), [&](const Received& r) { return r.route == route; }));
}

std::vector<FacebookServer::Post> FacebookServer::posts() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->post_list;
}

std::vector<FacebookServer::Photo> FacebookServer::photos() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->photo_list;
}

std::vector<FacebookServer::Video> FacebookServer::videos() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->video_list;
}

std::vector<FacebookServer::Authorize> FacebookServer::authorize_requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->authorizations;
}

}  // namespace multivio::fakes
