// SPDX-License-Identifier: MIT
// The protocol checks are written here from Google's documents, never by
// calling multivio's YouTube wire code: sharing it would let one bug pass on
// both sides.
#include "tests/fakes/youtube_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/fakes/oauth_server.hpp"
#include "tests/fakes/media_samples.hpp"

namespace multivio::fakes {

namespace {

using Json = nlohmann::json;
constexpr std::uint64_t k_granularity = 256 * 1024;
constexpr const char* k_insert = "/upload/youtube/v3/videos";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return n;
}

// Google's error envelope.
Json envelope(int code, const std::string& message, const std::string& reason, const std::string& domain = "global") {
  return {{"error",
           {{"code", code},
            {"message", message},
            {"errors", Json::array({{{"message", message}, {"domain", domain}, {"reason", reason}}})}}}};
}

std::size_t utf8_chars(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// "Content-Range: bytes A-B/N" or "bytes */N".
struct ContentRange {
  bool query = false;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t total = 0;
};
std::optional<ContentRange> parse_content_range(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  const auto slash = v.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  ContentRange r;
  const auto total = number(v.substr(slash + 1));
  if (!total) return std::nullopt;
  r.total = *total;
  const std::string_view span = v.substr(0, slash);
  if (span == "*") {
    r.query = true;
    return r;
  }
  const auto dash = span.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto first = number(span.substr(0, dash));
  const auto last = number(span.substr(dash + 1));
  if (!first || !last || *last < *first) return std::nullopt;
  r.first = *first;
  r.last = *last;
  return r;
}

std::string query_param(const std::string& query, std::string_view name) {
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string() : std::string(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

std::optional<std::string> YouTubeServer::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

struct YouTubeServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  OAuthServer* oauth = nullptr;

  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  bool released = false;
  int stalled_now = 0;

  std::set<std::string> tokens;
  std::string channel_id = "UCfakeChannel000000000001";
  std::string channel_title = "Multivio Fake";

  struct Session {
    std::string id;
    Json metadata;
    std::string mime;
    std::uint64_t size = 0;
    std::string bytes;
    bool gone = false;
    std::string video_id;  // set once complete
  };
  std::vector<Session> sessions;
  int created = 0;
  std::vector<Video> videos;
  std::uint64_t received_bytes = 0;
  std::vector<Received> log;
  std::vector<std::string> refused;

  std::optional<Fault> fault;
  int fault_percent = 0;
  int fault_count = 0;
  std::uint64_t short_by = 0;
  int short_count = 0;
  bool quota_exceeded = false;
  int next_id = 1;

  struct Answer {
    int status = 200;
    Json body;
    HeaderList headers;
    bool drop = false;
    bool stall = false;
  };

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }

  Answer refuse(int status, const std::string& message, const std::string& reason, const std::string& domain = "global") {
    refused.push_back(std::to_string(status) + " " + reason + ": " + message);
    return {status, envelope(status, message, reason, domain), {}};
  }

  bool authorized(const httplib::Request& req) {
    const std::string value = req.get_header_value("Authorization");
    if (value.size() <= 7 || !iequals(value.substr(0, 7), "Bearer ")) return false;
    const std::string token = value.substr(7);
    return tokens.count(token) != 0 || (oauth != nullptr && oauth->access_token_valid(token));
  }

  Session* session(const std::string& id) {
    for (auto& s : sessions) {
      if (s.id == id) return &s;
    }
    return nullptr;
  }

  Json video_json(const Video& v) const {
    Json snippet = {{"title", v.title}, {"description", v.description}, {"channelId", v.channel_id}};
    if (!v.tags.empty()) snippet["tags"] = v.tags;
    if (!v.category_id.empty()) snippet["categoryId"] = v.category_id;
    Json status = {{"uploadStatus", "uploaded"}, {"privacyStatus", v.privacy}, {"selfDeclaredMadeForKids", v.made_for_kids}};
    if (!v.publish_at.empty()) status["publishAt"] = v.publish_at;
    return {{"kind", "youtube#video"}, {"id", v.id}, {"snippet", snippet}, {"status", status}};
  }

  // The video resource's rules as Google states them; a refusal or nullopt.
  std::optional<Answer> check_metadata(const Json& body) {
    if (!body.is_object() || !body.contains("snippet") || !body["snippet"].is_object()) {
      return refuse(400, "The request metadata must contain a snippet.", "invalidVideoMetadata");
    }
    const Json& snippet = body["snippet"];
    if (!snippet.contains("title") || !snippet["title"].is_string() || snippet["title"].get<std::string>().empty()) {
      return refuse(400, "The request metadata does not specify a valid video title.", "invalidTitle");
    }
    const std::string title = snippet["title"];
    if (utf8_chars(title) > 100 || title.find_first_of("<>") != std::string::npos) {
      return refuse(400, "The request metadata specifies an invalid video title.", "invalidTitle");
    }
    if (snippet.contains("description")) {
      if (!snippet["description"].is_string()) return refuse(400, "Invalid description.", "invalidDescription");
      const std::string d = snippet["description"];
      if (d.size() > 5000 || d.find_first_of("<>") != std::string::npos) {
        return refuse(400, "The request metadata specifies an invalid video description.", "invalidDescription");
      }
    }
    if (snippet.contains("tags")) {
      if (!snippet["tags"].is_array()) return refuse(400, "Invalid tags.", "invalidTags");
      std::size_t total = 0;
      for (const auto& t : snippet["tags"]) {
        if (!t.is_string()) return refuse(400, "Invalid tags.", "invalidTags");
        total += utf8_chars(t.get<std::string>()) + 1;
      }
      if (total > 501) return refuse(400, "The request metadata specifies invalid video keywords.", "invalidTags");
    }
    if (snippet.contains("categoryId")) {
      if (!snippet["categoryId"].is_string() || !number(snippet["categoryId"].get<std::string>())) {
        return refuse(400, "The video category ID is invalid.", "invalidCategoryId");
      }
    }
    if (!body.contains("status") || !body["status"].is_object()) return std::nullopt;  // defaults apply
    const Json& status = body["status"];
    std::string privacy = "public";  // the API's default when not given
    if (status.contains("privacyStatus")) {
      if (!status["privacyStatus"].is_string()) return refuse(400, "Invalid privacy status.", "invalidVideoMetadata");
      privacy = status["privacyStatus"];
      if (privacy != "private" && privacy != "unlisted" && privacy != "public") {
        return refuse(400, "Invalid privacy status.", "invalidVideoMetadata");
      }
    }
    if (status.contains("publishAt")) {
      const std::string at = status["publishAt"].is_string() ? status["publishAt"].get<std::string>() : "";
      const bool zoned = at.size() >= 20 && at[10] == 'T' && (at.back() == 'Z' || at[at.size() - 6] == '+' ||
                                                              at[at.size() - 6] == '-');
      if (!zoned) return refuse(400, "The publishAt time is invalid.", "invalidPublishAt");
      if (privacy != "private") {
        return refuse(400, "A scheduled publishing time needs privacyStatus private.", "invalidVideoMetadata");
      }
    }
    if (status.contains("selfDeclaredMadeForKids") && !status["selfDeclaredMadeForKids"].is_boolean()) {
      return refuse(400, "Invalid selfDeclaredMadeForKids.", "invalidVideoMetadata");
    }
    return std::nullopt;
  }

  Answer insert(const httplib::Request& req, const std::string& query) {
    if (query_param(query, "uploadType") != "resumable") {
      return refuse(400, "Only uploadType=resumable is served by this fake.", "badContent");
    }
    std::set<std::string> parts;
    std::string part_list = query_param(query, "part");
    for (std::size_t at; (at = part_list.find("%2C")) != std::string::npos || (at = part_list.find("%2c")) != std::string::npos;) {
      part_list.replace(at, 3, ",");
    }
    std::string_view rest = part_list;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      parts.emplace(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (parts.count("snippet") == 0 || parts.count("status") == 0) {
      return refuse(400, "'part' must name snippet and status to set them.", "invalidPart");
    }
    const std::string ct = req.get_header_value("Content-Type");
    if (ct.rfind("application/json", 0) != 0) {
      return refuse(400, "The metadata must be sent as application/json.", "badContent");
    }
    const auto size = number(req.get_header_value("X-Upload-Content-Length"));
    if (!size || *size == 0) return refuse(400, "X-Upload-Content-Length is missing or invalid.", "badContent");
    const std::string mime = req.get_header_value("X-Upload-Content-Type");
    if (mime.rfind("video/", 0) != 0 && mime != "application/octet-stream") {
      return refuse(400, "The media must be a video (X-Upload-Content-Type).", "invalidContentType");
    }
    const Json body = Json::parse(req.body, nullptr, false);
    if (auto bad = check_metadata(body)) return *bad;
    if (quota_exceeded) {
      return refuse(403,
                    "The request cannot be completed because you have exceeded your "
                    "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
                    "quotaExceeded", "youtube.quota");
    }
    ++created;
    Session s;
    s.id = "ADPyc" + std::to_string(1000 + next_id++) + "xQ";
    s.metadata = body;
    s.mime = mime;
    s.size = *size;
    const std::string uri = base() + k_insert + std::string("?uploadType=resumable&upload_id=") + s.id;
    sessions.push_back(std::move(s));
    return {200, nullptr, {{"Location", uri}}};
  }

  Answer finish(Session& s) {
    Video v;
    v.id = "vid" + std::to_string(next_id++) + "AbCd";
    v.channel_id = channel_id;
    const Json& snippet = s.metadata["snippet"];
    v.title = snippet.value("title", "");
    v.description = snippet.value("description", "");
    if (snippet.contains("tags")) v.tags = snippet["tags"].get<std::vector<std::string>>();
    v.category_id = snippet.value("categoryId", "");
    if (s.metadata.contains("status")) {
      const Json& status = s.metadata["status"];
      v.privacy = status.value("privacyStatus", "public");
      v.publish_at = status.value("publishAt", "");
      v.made_for_kids = status.value("selfDeclaredMadeForKids", false);
    } else {
      v.privacy = "public";
    }
    v.mime = s.mime;
    v.bytes = s.bytes;
    s.video_id = v.id;
    videos.push_back(v);
    return {201, video_json(v), {}};
  }

  Answer progress(const Session& s) {
    Answer a{308, nullptr, {}};
    if (!s.bytes.empty()) a.headers.emplace_back("Range", "bytes=0-" + std::to_string(s.bytes.size() - 1));
    return a;
  }

  Answer upload(const httplib::Request& req, const std::string& query) {
    Session* s = session(query_param(query, "upload_id"));
    if (s == nullptr || s->gone) return refuse(404, "The upload session was not found or has expired.", "notFound");
    const auto range = parse_content_range(req.get_header_value("Content-Range"));
    if (!range || range->total != s->size) {
      return refuse(400, "Content-Range is missing or does not match the upload's size.", "badContent");
    }
    if (!s->video_id.empty()) {
      const auto it = std::find_if(videos.begin(), videos.end(), [&](const Video& v) { return v.id == s->video_id; });
      return {200, video_json(*it), {}};
    }
    if (range->query) {
      if (!req.body.empty()) return refuse(400, "A status query has no body.", "badContent");
      return progress(*s);
    }
    received_bytes += req.body.size();
    const std::uint64_t length = range->last - range->first + 1;
    if (length != req.body.size()) return refuse(400, "Content-Range does not match the body's length.", "badContent");
    if (range->first != s->bytes.size()) {
      return refuse(400, "Content-Range starts at byte " + std::to_string(range->first) + "; the server holds " +
                             std::to_string(s->bytes.size()) + " bytes.",
                    "badContent");
    }
    if (range->last >= s->size) return refuse(400, "Content-Range goes past the upload's size.", "badContent");
    const bool final_chunk = range->last + 1 == s->size;
    if (!final_chunk && length % k_granularity != 0) {
      return refuse(400, "Chunks other than the last must be a multiple of 256 KiB.", "badContent");
    }
    const std::uint64_t mark = s->size * static_cast<std::uint64_t>(fault_percent) / 100;
    if (fault && fault_count > 0 && range->last + 1 > mark) {
      --fault_count;
      Answer a;
      if (*fault == Fault::error) return refuse(503, "Backend Error", "backendError");
      // The bytes that arrived before the connection broke are kept.
      if (mark > range->first) s->bytes.append(req.body, 0, mark - range->first);
      a.drop = *fault == Fault::drop;
      a.stall = *fault == Fault::stall;
      return a;
    }
    std::uint64_t keep = length;
    if (!final_chunk && short_count > 0 && short_by < length) {
      --short_count;
      keep = length - short_by;
    }
    s->bytes.append(req.body, 0, keep);
    if (s->bytes.size() == s->size) return finish(*s);
    return progress(*s);
  }

  Answer channels(const std::string& query) {
    if (query_param(query, "mine") != "true") return refuse(400, "This fake serves mine=true only.", "missingRequiredParameter");
    if (query_param(query, "part").find("snippet") == std::string::npos) {
      return refuse(400, "'part' must name snippet.", "invalidPart");
    }
    return {200,
            {{"kind", "youtube#channelListResponse"},
             {"items", Json::array({{{"kind", "youtube#channel"},
                                     {"id", channel_id},
                                     {"snippet", {{"title", channel_title}}}}})}},
            {}};
  }

  void forward_token(const httplib::Request& req, httplib::Response& res) {
    httplib::Client client("127.0.0.1", oauth->port());
    const auto answer = client.Post("/token", req.body, req.get_header_value("Content-Type"));
    if (!answer) {
      res.status = 502;
      return;
    }
    res.status = answer->status;
    res.set_content(answer->body, answer->get_header_value("Content-Type"));
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    const auto q = req.target.find('?');
    const std::string path = req.target.substr(0, q);
    const std::string query = q == std::string::npos ? std::string() : req.target.substr(q + 1);
    Received rec{req.method, path, req.target, {}, req.body.size(), 0};
    for (const auto& [k, v] : req.headers) rec.headers.emplace_back(k, v);

    const bool consent = oauth != nullptr && req.method == "GET" && path == "/o/oauth2/v2/auth";
    const bool token = oauth != nullptr && req.method == "POST" && path == "/token";
    if (consent) res.set_redirect(oauth->authorize_url() + (query.empty() ? "" : "?" + query));
    if (token) forward_token(req, res);
    if (consent || token) {
      rec.status = res.status;
      std::lock_guard lock(mutex);
      log.push_back(std::move(rec));
      return;
    }

    Answer answer;
    {
      std::unique_lock lock(mutex);
      if (!authorized(req)) {
        answer = refuse(401, "Request had invalid authentication credentials.", "authError");
      } else if (req.method == "POST" && path == k_insert) {
        answer = insert(req, query);
      } else if (req.method == "PUT" && path == k_insert) {
        answer = upload(req, query);
      } else if (req.method == "GET" && path == "/youtube/v3/channels") {
        answer = channels(query);
      } else {
        answer = refuse(404, "Not Found", "notFound");
      }
      rec.status = answer.drop || answer.stall ? 0 : answer.status;
      log.push_back(std::move(rec));
      if (answer.stall) {
        ++stalled_now;
        wake.wait(lock, [&] { return stopping || released; });
        --stalled_now;
      }
    }
    if (answer.drop || answer.stall) {
      // Headers may go out, but the body never completes: the client sees
      // the connection break before any answer it could act on.
      res.status = 503;
      res.set_chunked_content_provider("application/json", [](std::size_t, httplib::DataSink&) { return false; });
      return;
    }
    res.status = answer.status;
    for (const auto& [k, v] : answer.headers) res.set_header(k, v);
    if (!answer.body.is_null()) res.set_content(answer.body.dump(), "application/json; charset=UTF-8");
  }
};

YouTubeServer::YouTubeServer(OAuthServer* oauth) : impl_(std::make_unique<Impl>()) {
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
  if (impl.port <= 0) throw std::runtime_error("youtube fake: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

YouTubeServer::~YouTubeServer() { stop(); }

void YouTubeServer::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

std::string YouTubeServer::base_url() const { return impl_->base(); }
int YouTubeServer::port() const { return impl_->port; }

void YouTubeServer::add_access_token(std::string token) {
  std::lock_guard lock(impl_->mutex);
  impl_->tokens.insert(std::move(token));
}

void YouTubeServer::expire_access_token(const std::string& token) {
  std::lock_guard lock(impl_->mutex);
  impl_->tokens.erase(token);
}

void YouTubeServer::set_channel(std::string id, std::string title) {
  std::lock_guard lock(impl_->mutex);
  impl_->channel_id = std::move(id);
  impl_->channel_title = std::move(title);
}

void YouTubeServer::fault_at(Fault fault, int percent, int count) {
  std::lock_guard lock(impl_->mutex);
  impl_->fault = fault;
  impl_->fault_percent = std::clamp(percent, 0, 100);
  impl_->fault_count = count;
  impl_->released = false;
}

void YouTubeServer::release() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->released = true;
  }
  impl_->wake.notify_all();
}

bool YouTubeServer::stalled() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stalled_now > 0;
}

void YouTubeServer::confirm_short(std::uint64_t short_by, int count) {
  std::lock_guard lock(impl_->mutex);
  impl_->short_by = short_by;
  impl_->short_count = count;
}

void YouTubeServer::set_quota_exceeded(bool exceeded) {
  std::lock_guard lock(impl_->mutex);
  impl_->quota_exceeded = exceeded;
}

void YouTubeServer::expire_sessions() {
  std::lock_guard lock(impl_->mutex);
  for (auto& s : impl_->sessions) s.gone = true;
}

std::string YouTubeServer::add_session(const std::string& metadata_json, std::uint64_t size, std::string prefix,
                                       std::string mime) {
  std::lock_guard lock(impl_->mutex);
  Impl::Session s;
  s.id = "ADPyc" + std::to_string(1000 + impl_->next_id++) + "pre";
  s.metadata = Json::parse(metadata_json);
  s.mime = std::move(mime);
  s.size = size;
  s.bytes = std::move(prefix);
  impl_->sessions.push_back(s);
  return impl_->base() + k_insert + "?uploadType=resumable&upload_id=" + s.id;
}

std::vector<YouTubeServer::Video> YouTubeServer::videos() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->videos;
}

std::uint64_t YouTubeServer::bytes_received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received_bytes;
}

int YouTubeServer::sessions_created() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->created;
}

std::vector<std::uint64_t> YouTubeServer::session_bytes() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::uint64_t> out;
  for (const auto& s : impl_->sessions) out.push_back(s.bytes.size());
  return out;
}

std::vector<YouTubeServer::Received> YouTubeServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::vector<std::string> YouTubeServer::refusals() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->refused;
}


std::string sample_mp4(std::size_t total_bytes, std::uint32_t duration_s) {
  return sample_mp4(static_cast<std::int64_t>(duration_s) * 1000, total_bytes);
}

}  // namespace multivio::fakes
