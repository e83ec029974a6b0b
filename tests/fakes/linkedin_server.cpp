// SPDX-License-Identifier: MIT
// Little-text parsing and the schema checks are written here again from
// LinkedIn's documents, never by calling multivio's wire layer: sharing it
// would let one bug pass on both sides.
#include "tests/fakes/linkedin_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/fakes/oauth_server.hpp"
#include "tests/fakes/media_samples.hpp"

namespace multivio::fakes {

namespace {

using Json = nlohmann::json;

constexpr std::string_view k_reserved = "\\|{}@[]()<>#*_~";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

Json envelope(int status, std::string code, long long service_code, std::string message) {
  Json j = {{"status", status}, {"serviceErrorCode", service_code}, {"message", std::move(message)}};
  if (!code.empty()) j["code"] = std::move(code);
  return j;
}

Json schema_error(const std::string& field, const std::string& what) {
  return envelope(422, "", 100, "ERROR :: " + field + " :: " + what);
}

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string decode_path(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> LinkedInServer::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

struct LinkedInServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  OAuthServer* oauth = nullptr;

  mutable std::mutex mutex;
  std::vector<Received> log;
  std::vector<std::string> refusal_log;

  Member member{"yC6fQv2Lh8", "Ada Fake"};
  std::set<std::string> static_tokens;
  std::set<std::string> accepted;  // tokens that worked once: refused later as expired, not unknown
  std::map<std::string, std::string> organizations;  // id -> name
  std::string oldest_version = "202501";
  std::size_t part_bytes = 4 * 1024 * 1024;
  int processing_polls = 1;
  std::string fail_next;
  int rate_limited = 0;

  std::vector<Post> posts;
  std::vector<Image> images;
  std::vector<Video> videos;
  long long next_id = 7'300'000'000'000'000'001;

  struct Answer {
    int status = 200;
    Json body;  // null: empty body
    HeaderList headers;
  };

  std::string new_id() { return std::to_string(next_id++); }
  std::string person() const { return "urn:li:person:" + member.sub; }

  // ---- Checks every /rest/ and /v2/ call goes through ----

  std::optional<Answer> authenticate(const httplib::Request& req, const std::string& what) {
    const std::string value = req.get_header_value("Authorization");
    const auto refuse = [&](Answer a, std::string why) -> std::optional<Answer> {
      refusal_log.push_back(what + ": " + why);
      return a;
    };
    if (value.size() < 7 || !iequals(value.substr(0, 7), "Bearer ")) {
      return refuse({401, envelope(401, "", 401, "Empty oauth2_access_token"), {}}, "no Bearer token");
    }
    const std::string token = value.substr(7);
    if (static_tokens.count(token) != 0 || (oauth != nullptr && oauth->access_token_valid(token))) {
      accepted.insert(token);
      return std::nullopt;
    }
    if (accepted.count(token) != 0) {
      return refuse({401, envelope(401, "EXPIRED_ACCESS_TOKEN", 65601, "The token used in the request has expired"),
                     {}},
                    "expired token");
    }
    return refuse({401, envelope(401, "INVALID_ACCESS_TOKEN", 65600, "Invalid access token"), {}}, "unknown token");
  }

  std::optional<Answer> check_versioned(const httplib::Request& req, const std::string& what) {
    const std::string version = req.get_header_value("LinkedIn-Version");
    if (version.empty()) {
      refusal_log.push_back(what + ": no LinkedIn-Version");
      return Answer{400,
                    envelope(400, "VERSION_MISSING", 0,
                             "A version must be present. Please specify a version by adding the LinkedIn-Version "
                             "header."),
                    {}};
    }
    const bool well_formed = version.size() >= 6 && std::all_of(version.begin(), version.begin() + 6, [](char c) {
                               return std::isdigit(static_cast<unsigned char>(c)) != 0;
                             });
    if (!well_formed || version.substr(0, 6) < oldest_version) {
      refusal_log.push_back(what + ": version " + version + " not served");
      return Answer{426, envelope(426, "NONEXISTENT_VERSION", 0, "Requested version " + version + " is not active"),
                    {}};
    }
    if (req.get_header_value("X-Restli-Protocol-Version") != "2.0.0") {
      refusal_log.push_back(what + ": no X-Restli-Protocol-Version 2.0.0");
      return Answer{400, envelope(400, "ILLEGAL_ARGUMENT", 0, "X-Restli-Protocol-Version: 2.0.0 is required"), {}};
    }
    return std::nullopt;
  }

  // May the member act as this author (themselves, or a page they administer)?
  bool may_act_as(const std::string& author) const {
    if (author == person()) return true;
    const std::string prefix = "urn:li:organization:";
    return author.starts_with(prefix) && organizations.count(author.substr(prefix.size())) != 0;
  }

  static Answer denied(const std::string& author) {
    return {403, envelope(403, "ACCESS_DENIED", 100, "Not enough permissions to act as " + author), {}};
  }

  static std::optional<Json> json_body(const httplib::Request& req) {
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) return std::nullopt;
    Json j = Json::parse(req.body, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    return j;
  }

  static Answer bad_json() {
    return {400, envelope(400, "ILLEGAL_ARGUMENT", 0, "Unable to parse the request body as JSON"), {}};
  }

  // ---- Posts ----

  // Little text: a reserved character stands for itself only after a backslash.
  static std::optional<std::string> unescape(const std::string& commentary, std::string& problem) {
    std::string out;
    for (std::size_t i = 0; i < commentary.size(); ++i) {
      const char c = commentary[i];
      if (c == '\\') {
        if (i + 1 < commentary.size() && k_reserved.find(commentary[i + 1]) != std::string_view::npos) {
          out += commentary[++i];
          continue;
        }
        problem = "unescaped '\\' at byte " + std::to_string(i);
        return std::nullopt;
      }
      if (k_reserved.find(c) != std::string_view::npos) {
        problem = std::string("unescaped '") + c + "' at byte " + std::to_string(i) + " (little text format)";
        return std::nullopt;
      }
      out += c;
    }
    return out;
  }

  Answer media_ref(const Json& m, const std::string& field, const std::string& author, Post& post, bool images_only) {
    if (!m.is_object() || !m.contains("id") || !m["id"].is_string()) return {422, schema_error(field + "/id", "missing"), {}};
    static const std::set<std::string> known = {"id", "altText", "title"};
    for (const auto& [key, value] : m.items()) {
      if (known.count(key) == 0) return {422, schema_error(field + "/" + key, "unrecognized field"), {}};
    }
    const std::string id = m["id"].get<std::string>();
    std::string owner, status;
    if (const auto it = std::find_if(images.begin(), images.end(), [&](const Image& x) { return x.urn == id; });
        it != images.end()) {
      owner = it->owner;
      status = it->status;
    } else if (const auto v = std::find_if(videos.begin(), videos.end(), [&](const Video& x) { return x.urn == id; });
               v != videos.end() && !images_only) {
      owner = v->owner;
      status = v->status;
    } else {
      return {422, schema_error(field + "/id", "media " + id + " does not exist"), {}};
    }
    if (owner != author) return {403, envelope(403, "ACCESS_DENIED", 100, "Media " + id + " is not owned by the author"), {}};
    if (status != "AVAILABLE") return {422, schema_error(field + "/id", "media " + id + " is " + status), {}};
    post.media.push_back(id);
    post.alt_texts.push_back(m.contains("altText") && m["altText"].is_string() ? m["altText"].get<std::string>() : "");
    return {201, nullptr, {}};
  }

  Answer create_post(const httplib::Request& req) {
    const auto parsed = json_body(req);
    if (!parsed) return bad_json();
    const Json& body = *parsed;
    static const std::set<std::string> known = {"author",         "commentary", "visibility",
                                                "distribution",   "content",    "lifecycleState",
                                                "isReshareDisabledByAuthor", "contentLandingPage",
                                                "contentCallToActionLabel"};
    for (const auto& [key, value] : body.items()) {
      if (known.count(key) == 0) return {422, schema_error("/" + key, "unrecognized field found but not allowed"), {}};
    }
    for (const char* key : {"author", "commentary", "visibility", "lifecycleState"}) {
      if (!body.contains(key) || !body[key].is_string()) {
        return {422, schema_error(std::string("/") + key, "field is required and must be a string"), {}};
      }
    }
    Post post;
    post.author = body["author"].get<std::string>();
    post.commentary = body["commentary"].get<std::string>();
    post.visibility = body["visibility"].get<std::string>();
    static const std::set<std::string> visibilities = {"PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"};
    if (visibilities.count(post.visibility) == 0) return {422, schema_error("/visibility", "unknown value"), {}};
    if (body["lifecycleState"] != "PUBLISHED") {
      return {422, schema_error("/lifecycleState", "only PUBLISHED posts can be created"), {}};
    }
    const Json* dist = body.contains("distribution") ? &body["distribution"] : nullptr;
    if (dist == nullptr || !dist->is_object() || !dist->contains("feedDistribution") ||
        !(*dist)["feedDistribution"].is_string()) {
      return {422, schema_error("/distribution/feedDistribution", "field is required"), {}};
    }
    const std::string feed = (*dist)["feedDistribution"].get<std::string>();
    if (feed != "MAIN_FEED" && feed != "NONE") return {422, schema_error("/distribution/feedDistribution", "unknown value"), {}};
    for (const char* key : {"targetEntities", "thirdPartyDistributionChannels"}) {
      if (dist->contains(key) && !(*dist)[key].is_array()) {
        return {422, schema_error(std::string("/distribution/") + key, "must be an array"), {}};
      }
    }
    if (!post.author.starts_with("urn:li:person:") && !post.author.starts_with("urn:li:organization:")) {
      return {422, schema_error("/author", "is not a person or organization URN"), {}};
    }
    if (!may_act_as(post.author)) return denied(post.author);
    std::string problem;
    const auto text = unescape(post.commentary, problem);
    if (!text) return {422, schema_error("/commentary", problem), {}};
    post.text = *text;
    if (code_points(post.text) > 3000) return {422, schema_error("/commentary", "length exceeds 3000"), {}};
    if (body.contains("content")) {
      const Json& content = body["content"];
      if (!content.is_object() || content.size() != 1) {
        return {422, schema_error("/content", "exactly one of media, multiImage"), {}};
      }
      if (content.contains("media")) {
        Answer a = media_ref(content["media"], "/content/media", post.author, post, false);
        if (a.status != 201) return a;
      } else if (content.contains("multiImage")) {
        const Json& mi = content["multiImage"];
        if (!mi.is_object() || !mi.contains("images") || !mi["images"].is_array() || mi["images"].size() < 2 ||
            mi["images"].size() > 20) {
          return {422, schema_error("/content/multiImage/images", "must hold 2 to 20 images"), {}};
        }
        for (std::size_t i = 0; i < mi["images"].size(); ++i) {
          Answer a = media_ref(mi["images"][i], "/content/multiImage/images/" + std::to_string(i), post.author, post,
                               true);
          if (a.status != 201) return a;
        }
      } else {
        return {422, schema_error("/content", "unsupported content type"), {}};
      }
    } else if (post.text.find_first_not_of(" \t\r\n") == std::string::npos) {
      return {422, schema_error("/commentary", "an empty post needs content"), {}};
    }
    if (rate_limited > 0) {
      --rate_limited;
      return {429,
              envelope(429, "", 101, "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."),
              {}};
    }
    post.urn = (post.media.empty() ? "urn:li:share:" : "urn:li:ugcPost:") + new_id();
    posts.push_back(post);
    return {201, nullptr, {{"x-restli-id", post.urn}}};
  }

  // ---- Images ----

  // The initializeUploadRequest of an Images or Videos API call, or the
  // refusal: an owner is required and must be one the member may act as.
  std::optional<Answer> init_request(const httplib::Request& req, Json& out) const {
    const auto body = json_body(req);
    if (!body) return bad_json();
    out = body->value("initializeUploadRequest", Json());
    if (!out.is_object() || !out.contains("owner") || !out["owner"].is_string()) {
      return Answer{422, schema_error("/initializeUploadRequest/owner", "field is required"), {}};
    }
    if (!may_act_as(out["owner"].get<std::string>())) return denied(out["owner"].get<std::string>());
    return std::nullopt;
  }

  Answer image_init(const httplib::Request& req) {
    Json r;
    if (auto refused = init_request(req, r)) return *refused;
    const std::string owner = r["owner"].get<std::string>();
    Image image{"urn:li:image:D4E" + new_id(), owner, 0, "WAITING_UPLOAD"};
    images.push_back(image);
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/upload/image/" + std::to_string(images.size() - 1);
    return {200,
            {{"value", {{"uploadUrlExpiresAt", 1'900'000'000'000LL}, {"uploadUrl", url}, {"image", image.urn}}}},
            {}};
  }

  Answer image_put(const httplib::Request& req, std::size_t index) {
    if (index >= images.size()) return {404, envelope(404, "", 0, "no such upload"), {}};
    if (req.body.empty()) return {400, envelope(400, "", 0, "empty upload"), {}};
    images[index].bytes = req.body.size();
    images[index].status = "AVAILABLE";
    return {201, nullptr, {}};
  }

  // ---- Videos ----

  Answer video_init(const httplib::Request& req) {
    Json r;
    if (auto refused = init_request(req, r)) return *refused;
    if (!r.contains("fileSizeBytes") || !r["fileSizeBytes"].is_number_unsigned() || r["fileSizeBytes"] == 0) {
      return {422, schema_error("/initializeUploadRequest/fileSizeBytes", "field is required"), {}};
    }
    const std::string owner = r["owner"].get<std::string>();
    Video v;
    v.urn = "urn:li:video:C5F" + new_id();
    v.owner = owner;
    v.size = r["fileSizeBytes"].get<std::size_t>();
    v.status = "WAITING_UPLOAD";
    const std::size_t parts = (v.size + part_bytes - 1) / part_bytes;
    v.upload_token = parts > 1 ? "tok" + new_id() : "";
    v.part_sizes.assign(parts, 0);
    v.etags.assign(parts, "");
    Json instructions = Json::array();
    for (std::size_t i = 0; i < parts; ++i) {
      const std::size_t first = i * part_bytes;
      const std::size_t last = std::min(v.size, first + part_bytes) - 1;
      instructions.push_back({{"uploadUrl", "http://127.0.0.1:" + std::to_string(port) + "/upload/video/" +
                                                std::to_string(videos.size()) + "/" + std::to_string(i)},
                              {"firstByte", first},
                              {"lastByte", last}});
    }
    videos.push_back(v);
    return {200,
            {{"value",
              {{"uploadUrlsExpireAt", 1'900'000'000'000LL},
               {"video", v.urn},
               {"uploadInstructions", instructions},
               {"uploadToken", v.upload_token}}}},
            {}};
  }

  Answer video_put(const httplib::Request& req, std::size_t index, std::size_t part) {
    if (index >= videos.size() || part >= videos[index].part_sizes.size()) {
      return {404, envelope(404, "", 0, "no such upload"), {}};
    }
    Video& v = videos[index];
    const std::size_t first = part * part_bytes;
    const std::size_t expected = std::min(v.size, first + part_bytes) - first;
    if (req.body.size() != expected) {
      return {400, envelope(400, "", 0, "part " + std::to_string(part) + " must be " + std::to_string(expected) +
                                            " bytes, got " + std::to_string(req.body.size())),
              {}};
    }
    v.part_sizes[part] = req.body.size();
    v.etags[part] = "/ambry-video/signedId/" + new_id();
    return {200, nullptr, {{"ETag", v.etags[part]}}};
  }

  Answer video_finalize(const httplib::Request& req) {
    const auto body = json_body(req);
    if (!body) return bad_json();
    const Json& r = body->value("finalizeUploadRequest", Json());
    if (!r.is_object() || !r.contains("video") || !r["video"].is_string() || !r.contains("uploadToken") ||
        !r["uploadToken"].is_string() || !r.contains("uploadedPartIds") || !r["uploadedPartIds"].is_array()) {
      return {422, schema_error("/finalizeUploadRequest", "video, uploadToken and uploadedPartIds are required"), {}};
    }
    const auto it = std::find_if(videos.begin(), videos.end(), [&](const Video& v) { return v.urn == r["video"]; });
    if (it == videos.end()) return {404, envelope(404, "", 0, "no such video"), {}};
    if (!may_act_as(it->owner)) return denied(it->owner);
    if (r["uploadToken"] != it->upload_token) return {400, envelope(400, "", 0, "uploadToken does not match"), {}};
    if (std::find(it->part_sizes.begin(), it->part_sizes.end(), 0u) != it->part_sizes.end()) {
      return {400, envelope(400, "", 0, "not every part was uploaded"), {}};
    }
    if (r["uploadedPartIds"] != Json(it->etags)) {
      return {400, envelope(400, "", 0, "uploadedPartIds do not match the ETags of the parts, in order"), {}};
    }
    it->polls_left = processing_polls;
    it->status = processing_polls > 0 ? "PROCESSING" : "AVAILABLE";
    if (!fail_next.empty()) {
      it->failure = std::exchange(fail_next, "");
      if (processing_polls == 0) it->status = "PROCESSING_FAILED";
    }
    return {200, nullptr, {}};
  }

  Answer video_status(const std::string& urn) {
    const auto it = std::find_if(videos.begin(), videos.end(), [&](const Video& v) { return v.urn == urn; });
    if (it == videos.end()) return {404, envelope(404, "", 0, "no such video " + urn), {}};
    if (!may_act_as(it->owner)) return denied(it->owner);
    Json j = {{"id", it->urn}, {"owner", it->owner}, {"status", it->status}};
    if (it->status == "PROCESSING_FAILED") j["processingFailureReason"] = it->failure;
    // Processing advances as the client looks: the next poll sees the result.
    if (it->status == "PROCESSING" && --it->polls_left <= 0) {
      it->status = it->failure.empty() ? "AVAILABLE" : "PROCESSING_FAILED";
    }
    return {200, j, {}};
  }

  // ---- Dispatch ----

  static std::string route_of(const std::string& method, const std::string& path, const std::string& query) {
    if (path.starts_with("/upload/image/")) return method + " /upload/image/:id";
    if (path.starts_with("/upload/video/")) return method + " /upload/video/:id/:part";
    if (path.starts_with("/rest/videos/")) return method + " /rest/videos/:urn";
    if (path.starts_with("/rest/organizations/")) return method + " /rest/organizations/:id";
    if (!query.empty() && query.starts_with("action=")) return method + " " + path + "?" + query;
    return method + " " + path;
  }

  Answer route(const httplib::Request& req, const std::string& key, const std::string& path) {
    if (key == "GET /v2/userinfo") {
      if (auto refused = authenticate(req, key)) return *refused;
      const auto space = member.name.find(' ');
      return {200,
              {{"sub", member.sub},
               {"name", member.name},
               {"given_name", member.name.substr(0, space)},
               {"family_name", space == std::string::npos ? "" : member.name.substr(space + 1)},
               {"locale", {{"country", "US"}, {"language", "en"}}},
               {"email_verified", true}},
              {}};
    }
    if (key.starts_with("PUT /upload/video/")) {
      // Pre-signed: the URL is the credential.
      const std::string rest = path.substr(std::string("/upload/video/").size());
      const auto slash = rest.find('/');
      if (slash == std::string::npos) return {404, envelope(404, "", 0, "no such upload"), {}};
      return video_put(req, std::stoul(rest.substr(0, slash)), std::stoul(rest.substr(slash + 1)));
    }
    if (auto refused = authenticate(req, key)) return *refused;
    if (key.starts_with("PUT /upload/image/")) {
      return image_put(req, std::stoul(path.substr(std::string("/upload/image/").size())));
    }
    if (!path.starts_with("/rest/")) return {404, envelope(404, "", 0, "Not Found"), {}};
    if (auto refused = check_versioned(req, key)) return *refused;
    if (key == "POST /rest/posts") return create_post(req);
    if (key == "POST /rest/images?action=initializeUpload") return image_init(req);
    if (key == "POST /rest/videos?action=initializeUpload") return video_init(req);
    if (key == "POST /rest/videos?action=finalizeUpload") return video_finalize(req);
    if (key == "GET /rest/videos/:urn") return video_status(decode_path(path.substr(std::string("/rest/videos/").size())));
    if (key == "GET /rest/organizations/:id") {
      const std::string id = path.substr(std::string("/rest/organizations/").size());
      const auto it = organizations.find(id);
      if (it == organizations.end()) return denied("urn:li:organization:" + id);
      return {200, {{"id", std::stoll(id)}, {"localizedName", it->second}, {"vanityName", "fake-page"}}, {}};
    }
    return {404, envelope(404, "", 0, "No resource found for " + key), {}};
  }

  // The OAuth endpoints: LinkedIn's paths, the OAuth fake's logic.
  bool oauth_route(const httplib::Request& req, httplib::Response& res, const std::string& path,
                   const std::string& query) {
    if (oauth == nullptr) return false;
    if (req.method == "GET" && path == "/oauth/v2/authorization") {
      res.set_redirect(oauth->authorize_url() + (query.empty() ? "" : "?" + query));
      return true;
    }
    if (req.method == "POST" && path == "/oauth/v2/accessToken") {
      httplib::Client client("127.0.0.1", oauth->port());
      httplib::Headers headers;
      if (req.has_header("Authorization")) headers.emplace("Authorization", req.get_header_value("Authorization"));
      const auto answer = client.Post("/token", headers, req.body, req.get_header_value("Content-Type"));
      if (!answer) {
        res.status = 502;
        return true;
      }
      res.status = answer->status;
      res.set_content(answer->body, answer->get_header_value("Content-Type"));
      return true;
    }
    return false;
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    const auto q = req.target.find('?');
    const std::string path = req.target.substr(0, q);
    const std::string query = q == std::string::npos ? std::string() : req.target.substr(q + 1);
    const std::string key = route_of(req.method, path, query);
    Received rec{req.method, path, key, {}, req.body, 0};
    for (const auto& [k, v] : req.headers) rec.headers.emplace_back(k, v);

    if (oauth_route(req, res, path, query)) {
      rec.status = res.status;
      std::lock_guard lock(mutex);
      log.push_back(std::move(rec));
      return;
    }
    std::lock_guard lock(mutex);
    Answer answer = route(req, key, path);
    rec.status = answer.status;
    log.push_back(std::move(rec));
    res.status = answer.status;
    for (const auto& [k, v] : answer.headers) res.set_header(k, v);
    if (!answer.body.is_null()) res.set_content(answer.body.dump(), "application/json");
  }
};

LinkedInServer::LinkedInServer(OAuthServer* oauth) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.oauth = oauth;
  const auto handler = [&impl](const httplib::Request& q, httplib::Response& r) { impl.handle(q, r); };
  impl.server.Get(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.Put(".*", handler);
  impl.server.set_keep_alive_timeout(1);
  impl.server.set_tcp_nodelay(true);
  impl.server.set_payload_max_length(64 * 1024 * 1024);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("linkedin fake: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

LinkedInServer::~LinkedInServer() { stop(); }

void LinkedInServer::stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

std::string LinkedInServer::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }
int LinkedInServer::port() const { return impl_->port; }

void LinkedInServer::set_member(Member member) {
  std::lock_guard lock(impl_->mutex);
  impl_->member = std::move(member);
}

void LinkedInServer::add_access_token(std::string token) {
  std::lock_guard lock(impl_->mutex);
  impl_->static_tokens.insert(std::move(token));
}

void LinkedInServer::add_organization(std::string id, std::string name) {
  std::lock_guard lock(impl_->mutex);
  impl_->organizations[std::move(id)] = std::move(name);
}

void LinkedInServer::set_oldest_version(std::string yyyymm) {
  std::lock_guard lock(impl_->mutex);
  impl_->oldest_version = std::move(yyyymm);
}

void LinkedInServer::set_video_part_bytes(std::size_t bytes) {
  std::lock_guard lock(impl_->mutex);
  impl_->part_bytes = bytes;
}

void LinkedInServer::set_processing_polls(int polls) {
  std::lock_guard lock(impl_->mutex);
  impl_->processing_polls = polls;
}

void LinkedInServer::fail_next_processing(std::string reason) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail_next = std::move(reason);
}

void LinkedInServer::set_rate_limited(int count) {
  std::lock_guard lock(impl_->mutex);
  impl_->rate_limited = count;
}

void LinkedInServer::expire_tokens() {
  std::lock_guard lock(impl_->mutex);
  for (const auto& t : impl_->static_tokens) impl_->accepted.insert(t);
  impl_->static_tokens.clear();
  if (impl_->oauth != nullptr) impl_->oauth->expire_access_tokens();
}

std::string LinkedInServer::png_file(std::size_t size) {
  std::string b = sample_png(800, 600);
  while (b.size() < size) b += static_cast<char>('a' + b.size() % 26);
  return b;
}

std::string LinkedInServer::mp4_file(std::uint32_t seconds, std::size_t size) {
  return sample_mp4(static_cast<std::int64_t>(seconds) * 1000, size);
}

std::vector<LinkedInServer::Received> LinkedInServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t LinkedInServer::count(std::string_view route) const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(
      std::count_if(impl_->log.begin(), impl_->log.end(), [&](const Received& r) { return r.route == route; }));
}

std::vector<LinkedInServer::Post> LinkedInServer::posts() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->posts;
}

std::vector<LinkedInServer::Image> LinkedInServer::images() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->images;
}

std::vector<LinkedInServer::Video> LinkedInServer::videos() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->videos;
}

std::vector<std::string> LinkedInServer::refusals() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->refusal_log;
}

}  // namespace multivio::fakes
