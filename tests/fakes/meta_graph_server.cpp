// SPDX-License-Identifier: MIT
// Limits and state rules are written here again from Meta's documents, never
// by calling multivio's code: sharing them would let one bug pass on both sides.
#include "tests/fakes/meta_graph_server.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include "tests/fakes/media_samples.hpp"

namespace multivio::fakes {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::system_clock;
using namespace std::chrono_literals;

Json graph_error(int code, std::string message, int subcode = 0, std::string type = "OAuthException") {
  Json e = {{"message", std::move(message)}, {"type", std::move(type)}, {"code", code}, {"fbtrace_id", "AfakeTrace"}};
  if (subcode != 0) e["error_subcode"] = subcode;
  return {{"error", e}};
}

Json missing(const std::string& name) {
  return graph_error(100, "(#100) The parameter " + name + " is required", 0, "GraphMethodException");
}

// Threads counts emoji as their UTF-8 bytes; other code points count one.
std::size_t threads_length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    n += len == 4 ? 4 : 1;
    i += len;
  }
  return n;
}

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

std::optional<std::string> MetaGraphServer::Received::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return std::nullopt;
}

struct MetaGraphServer::Impl {
  Flavor flavor;
  httplib::Server server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mutex;
  std::vector<Received> log;
  std::map<std::string, std::deque<Reply>> scripted;

  std::string user_id = "17841400000000001";
  std::string username = "fake_creator";
  std::string client_id = "meta-app";
  std::string client_secret = "meta-secret";
  struct Token {
    Clock::time_point issued;
    Clock::time_point expires;
    bool long_lived = true;
    bool revoked = false;
  };
  std::map<std::string, Token> tokens;
  std::map<std::string, std::string> codes;  // code -> redirect_uri
  int processing_polls = 2;
  std::string fail_next;
  bool expire_next = false;
  int throttled = 0;
  std::vector<Container> containers;
  std::map<std::string, int> polls_left;
  std::map<std::string, std::string> end_state;  // container -> ERROR/EXPIRED after processing
  std::map<std::string, std::string> error_text;
  std::vector<Media> media;
  long long next_id = 18'000'000'000'000'001;
  int counter = 0;

  struct Answer {
    int status = 200;
    Json body;
  };

  bool instagram() const { return flavor == Flavor::instagram; }
  std::string version() const { return instagram() ? "v24.0" : "v1.0"; }
  std::string new_id() { return std::to_string(next_id++); }
  std::string new_token(const char* kind) { return "issued-" + std::string(kind) + "-" + std::to_string(++counter); }

  Container* container(const std::string& id) {
    for (auto& c : containers) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }
  const Media* find_media(const std::string& id) const {
    for (const auto& m : media) {
      if (m.id == id) return &m;
    }
    return nullptr;
  }

  // Fetches a staged URL the way Meta's crawler would, but only from loopback.
  std::optional<std::string> fetch(const std::string& url, std::string& why) {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      why = "not an http(s) URL";
      return std::nullopt;
    }
    const std::string loop = "http://127.0.0.1:";
    if (!url.starts_with(loop)) return std::string();  // never leaves the machine: accepted unread
    const auto slash = url.find('/', loop.size());
    const std::string host = url.substr(0, slash);
    const std::string path = slash == std::string::npos ? "/" : url.substr(slash);
    httplib::Client client(host);
    client.set_connection_timeout(2);
    client.set_read_timeout(5);
    auto res = client.Get(path);
    if (!res || res->status != 200 || res->body.empty()) {
      why = res ? "HTTP " + std::to_string(res->status) : "connection failed";
      return std::nullopt;
    }
    return res->body;
  }

  Answer token_error(const std::string& token) {
    const auto it = tokens.find(token);
    if (token.empty()) return {400, graph_error(190, "An active access token must be used to query information")};
    if (it == tokens.end()) return {400, graph_error(190, "Invalid OAuth access token - Cannot parse access token")};
    if (it->second.revoked) {
      return {400, graph_error(190, "Error validating access token: The session has been invalidated", 460)};
    }
    if (Clock::now() >= it->second.expires) {
      return {400, graph_error(190, "Error validating access token: Session has expired", 463)};
    }
    return {0, {}};
  }

  Answer handle(const std::string& method, const std::vector<std::string>& seg, const httplib::Params& in,
                std::string& route) {
    std::map<std::string, std::string> p;
    for (const auto& [k, v] : in) p[k] = v;
    const auto get = [&](const char* k) {
      const auto it = p.find(k);
      return it == p.end() ? std::string() : it->second;
    };
    const std::string exchange = instagram() ? "ig_exchange_token" : "th_exchange_token";
    const std::string refresh = instagram() ? "ig_refresh_token" : "th_refresh_token";

    if (method == "POST" && seg == std::vector<std::string>{"oauth", "access_token"}) {
      route = "POST /oauth/access_token";
      for (const char* k : {"client_id", "client_secret", "grant_type", "redirect_uri", "code"}) {
        if (get(k).empty()) return {400, graph_error(100, std::string("Missing required parameter: ") + k)};
      }
      if (get("client_id") != client_id || get("client_secret") != client_secret) {
        return {400, graph_error(101, "Error validating client secret.")};
      }
      const auto code = codes.find(get("code"));
      if (get("grant_type") != "authorization_code" || code == codes.end() || code->second != get("redirect_uri")) {
        return {400, graph_error(100, "Invalid authorization code", 36007)};
      }
      codes.erase(code);
      const std::string t = new_token("short");
      tokens[t] = {Clock::now(), Clock::now() + 1h, false, false};
      Json body = {{"access_token", t}, {"user_id", user_id}};
      if (instagram()) body["permissions"] = "instagram_business_basic,instagram_business_content_publish";
      return {200, body};
    }
    if (method == "GET" && seg.size() == 1 && (seg[0] == "access_token" || seg[0] == "refresh_access_token")) {
      const bool is_exchange = seg[0] == "access_token";
      route = "GET /" + seg[0];
      const std::string t = get("access_token");
      if (Answer bad = token_error(t); bad.status != 0) return bad;
      Token& old = tokens[t];
      if (is_exchange) {
        if (get("grant_type") != exchange) return {400, graph_error(100, "Unsupported grant_type")};
        if (get("client_secret") != client_secret) return {400, graph_error(101, "Error validating client secret.")};
        if (old.long_lived) return {400, graph_error(100, "Only short-lived tokens can be exchanged")};
      } else {
        if (get("grant_type") != refresh) return {400, graph_error(100, "Unsupported grant_type")};
        if (!old.long_lived) return {400, graph_error(190, "Short-lived tokens cannot be refreshed")};
        if (Clock::now() - old.issued < 24h) {
          return {400, graph_error(190, "The access token must be at least 24 hours old to be refreshed")};
        }
      }
      const std::string fresh = new_token("long");
      tokens[fresh] = {Clock::now(), Clock::now() + 24h * 60, true, false};
      return {200, {{"access_token", fresh}, {"token_type", "bearer"}, {"expires_in", 5184000}}};
    }

    if (seg.empty() || seg[0] != version()) {
      route = method + " /?";
      return {400, graph_error(2635, "Unknown or missing API version", 0, "GraphMethodException")};
    }
    const std::vector<std::string> rest(seg.begin() + 1, seg.end());
    if (rest.empty()) return {400, graph_error(100, "Unknown path", 0, "GraphMethodException")};
    const std::string create_edge = instagram() ? "media" : "threads";
    const std::string publish_edge = instagram() ? "media_publish" : "threads_publish";
    if (rest.size() == 1) route = method + (rest[0] == "me" ? " /me" : " /:id");
    if (rest.size() == 2) route = method + " /:user/" + rest[1];

    if (Answer bad = token_error(get("access_token")); bad.status != 0) return bad;
    if (throttled > 0) {
      --throttled;
      return {400, graph_error(4, "(#4) Application request limit reached", 0, "OAuthException")};
    }

    if (method == "GET" && rest.size() == 1 && rest[0] == "me") {
      if (instagram()) return {200, {{"id", "app-scoped-" + user_id}, {"user_id", user_id}, {"username", username}}};
      return {200, {{"id", user_id}, {"username", username}}};
    }
    if (rest.size() == 2 && rest[0] != user_id && rest[0] != "me") {
      return {400, graph_error(100, "Unsupported request: object '" + rest[0] + "' is not this user", 33,
                               "GraphMethodException")};
    }
    if (method == "POST" && rest.size() == 2 && rest[1] == create_edge) return create(p);
    if (method == "POST" && rest.size() == 2 && rest[1] == publish_edge) return publish(get("creation_id"));
    if (method == "GET" && rest.size() == 2 && rest[1] == create_edge) {
      Json data = Json::array();
      for (auto it = media.rbegin(); it != media.rend(); ++it) {
        data.push_back({{"id", it->id},
                        {instagram() ? "caption" : "text", it->text},
                        {"permalink", it->permalink},
                        {"timestamp", "2026-11-26T04:00:00+0000"}});
      }
      return {200, {{"data", data}}};
    }
    if (method == "GET" && rest.size() == 1) return read(rest[0], get("fields"));
    return {400, graph_error(100, "Unsupported " + method + " request", 0, "GraphMethodException")};
  }

  Answer create(std::map<std::string, std::string>& p) {
    Container c;
    c.id = new_id();
    c.owner = user_id;
    c.media_type = p.count("media_type") ? p["media_type"] : "";
    c.carousel_item = p["is_carousel_item"] == "true";
    c.text = instagram() ? p["caption"] : p["text"];
    c.reply_to = p["reply_to_id"];
    c.alt_text = p["alt_text"];
    if (instagram()) {
      if (c.media_type.empty()) c.media_type = "IMAGE";
      if (code_points(c.text) > 2200) return {400, graph_error(100, "The caption is too long", 2207025)};
      if (c.carousel_item && !c.text.empty()) {
        return {400, graph_error(100, "Carousel items take no caption", 0, "GraphMethodException")};
      }
      if (c.media_type == "REELS" && c.carousel_item) {
        return {400, graph_error(100, "Carousel items use media_type VIDEO", 0, "GraphMethodException")};
      }
    } else {
      if (c.media_type.empty()) return {400, missing("media_type")};
      if (threads_length(c.text) > 500) return {400, graph_error(100, "The text is over 500 characters")};
      if (c.media_type == "TEXT" && c.text.empty()) return {400, missing("text")};
      if (!c.reply_to.empty()) {
        if (find_media(c.reply_to) == nullptr) {
          return {400, graph_error(100, "Invalid reply_to_id: the post does not exist", 4279009)};
        }
      }
    }
    const bool image = c.media_type == "IMAGE";
    const bool video = c.media_type == "VIDEO" || c.media_type == "REELS";
    if (c.media_type == "CAROUSEL") {
      std::string ids = p["children"];
      if (ids.empty()) return {400, missing("children")};
      for (std::size_t start = 0; start <= ids.size();) {
        const auto comma = ids.find(',', start);
        c.children.push_back(ids.substr(start, comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      const std::size_t max = instagram() ? 10 : 20;
      if (c.children.size() < 2 || c.children.size() > max) {
        return {400, graph_error(100, "A carousel takes 2 to " + std::to_string(max) + " children")};
      }
      for (const auto& id : c.children) {
        const Container* child = container(id);
        if (child == nullptr || !child->carousel_item || child->owner != user_id) {
          return {400, graph_error(100, "Child " + id + " is not a carousel item of this user")};
        }
        if (child->status != "FINISHED") {
          return {400, graph_error(9007, "Child " + id + " is not ready", 2207027, "OAuthException")};
        }
      }
    } else if (image || video) {
      const char* field = image ? "image_url" : "video_url";
      c.url = p[field];
      if (c.url.empty()) return {400, missing(field)};
      std::string why;
      const auto bytes = fetch(c.url, why);
      if (!bytes) {
        return {400, graph_error(9004, "Media download has failed.: " + why, instagram() ? 2207052 : 0)};
      }
      c.fetched_bytes = bytes->size();
      if (instagram() && image && !bytes->empty() && bytes->rfind("\xFF\xD8", 0) != 0) {
        return {400, graph_error(9004, "Only JPEG images are supported", 2207026)};
      }
    } else if (!(c.media_type == "TEXT" && !instagram())) {
      return {400, graph_error(100, "Unsupported media_type " + c.media_type, 0, "GraphMethodException")};
    }
    c.status = "IN_PROGRESS";
    polls_left[c.id] = c.media_type == "TEXT" ? 0 : processing_polls;
    if (!fail_next.empty()) {
      end_state[c.id] = "ERROR";
      error_text[c.id] = std::move(fail_next);
      fail_next.clear();
    } else if (expire_next) {
      end_state[c.id] = "EXPIRED";
      expire_next = false;
    }
    containers.push_back(c);
    return {200, {{"id", c.id}}};
  }

  void advance(Container& c) {
    if (c.status != "IN_PROGRESS") return;
    if (polls_left[c.id] > 0) {
      --polls_left[c.id];
      return;
    }
    const auto it = end_state.find(c.id);
    c.status = it == end_state.end() ? "FINISHED" : it->second;
  }

  Answer read(const std::string& id, const std::string& fields) {
    if (const Media* m = find_media(id)) {
      return {200, {{"id", m->id}, {"permalink", m->permalink}}};
    }
    Container* c = container(id);
    if (c == nullptr || c->owner != user_id) {
      return {400, graph_error(100,
                               "Unsupported get request. Object with ID '" + id +
                                   "' does not exist, cannot be loaded due to missing permissions, or does not "
                                   "support this operation",
                               33, "GraphMethodException")};
    }
    const std::string wanted = instagram() ? "status_code" : "status";
    if (fields.find(wanted) == std::string::npos) return {200, {{"id", c->id}}};
    advance(*c);
    Json body = {{"id", c->id}, {wanted, c->status}};
    if (c->status == "ERROR") {
      if (instagram()) {
        body["status"] = "Error: " + error_text[c->id];
      } else {
        body["error_message"] = error_text[c->id];
      }
    }
    return {200, body};
  }

  Answer publish(const std::string& creation_id) {
    if (creation_id.empty()) return {400, missing("creation_id")};
    Container* c = container(creation_id);
    if (c == nullptr || c->owner != user_id || c->carousel_item) {
      return {400, graph_error(100, "Invalid creation_id " + creation_id, 0, "GraphMethodException")};
    }
    if (c->status == "PUBLISHED") {
      return {400, graph_error(9007, "The media has already been published", 2207006, "OAuthException")};
    }
    if (c->status == "EXPIRED") return {400, graph_error(9007, "The media container has expired", 2207008)};
    if (c->status != "FINISHED") {
      return {400, graph_error(9007, "Media ID is not available: the media is not ready for publishing", 2207027)};
    }
    Media m;
    m.id = new_id();
    m.container_id = c->id;
    m.media_type = c->media_type;
    m.text = c->text;
    m.reply_to = c->reply_to;
    m.children = c->children;
    m.permalink = (instagram() ? "https://www.instagram.com/p/" : "https://www.threads.net/@" + username + "/post/") +
                  m.id;
    c->status = "PUBLISHED";
    c->media_id = m.id;
    media.push_back(m);
    return {200, {{"id", m.id}}};
  }

  void serve(const httplib::Request& q, httplib::Response& r) {
    std::vector<std::string> seg;
    for (std::size_t start = 1; start < q.path.size();) {
      const auto slash = q.path.find('/', start);
      seg.push_back(q.path.substr(start, slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    httplib::Params params = q.params;
    if (q.method == "POST" && q.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded")) {
      httplib::Params form;
      httplib::detail::parse_query_text(q.body, form);
      params.insert(form.begin(), form.end());
    }
    Received rec;
    rec.method = q.method;
    rec.target = q.target;
    for (const auto& kv : params) rec.params.emplace_back(kv.first, kv.second);

    std::chrono::milliseconds delay{0};
    Answer answer;
    {
      std::lock_guard lock(mutex);
      std::string route;
      // Work out the route first so scripts can match it.
      answer = handle_scripted(q.method, seg, params, route, delay);
      rec.route = route;
      rec.status = answer.status;
      log.push_back(rec);
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    r.status = answer.status;
    r.set_content(answer.body.dump(), "application/json");
  }

  Answer handle_scripted(const std::string& method, const std::vector<std::string>& seg, const httplib::Params& params,
                         std::string& route, std::chrono::milliseconds& delay) {
    std::string probe;
    route_of(method, seg, probe);
    if (auto it = scripted.find(probe); it != scripted.end() && !it->second.empty()) {
      const Reply reply = it->second.front();
      it->second.pop_front();
      if (reply.status != 0) {
        route = probe;
        return {reply.status, Json::parse(reply.body, nullptr, false)};
      }
      delay = reply.delay;
    }
    return handle(method, seg, params, route);
  }

  void route_of(const std::string& method, const std::vector<std::string>& seg, std::string& route) const {
    if (seg.size() == 2 && seg[0] == "oauth") {
      route = method + " /oauth/" + seg[1];
    } else if (seg.size() == 1) {
      route = method + " /" + seg[0];
    } else if (seg.size() == 2) {
      route = method + (seg[1] == "me" ? " /me" : " /:id");
    } else if (seg.size() == 3) {
      route = method + " /:user/" + seg[2];
    }
  }
};

MetaGraphServer::MetaGraphServer(Flavor flavor) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.flavor = flavor;
  const auto handler = [&impl](const httplib::Request& q, httplib::Response& r) { impl.serve(q, r); };
  impl.server.Get(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.set_keep_alive_timeout(1);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("meta graph fake: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

MetaGraphServer::~MetaGraphServer() { stop(); }

void MetaGraphServer::stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

std::string MetaGraphServer::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }
std::string MetaGraphServer::api_version() const { return impl_->version(); }

void MetaGraphServer::set_user(std::string id, std::string username) {
  std::lock_guard lock(impl_->mutex);
  impl_->user_id = std::move(id);
  impl_->username = std::move(username);
}

void MetaGraphServer::add_token(std::string token, std::chrono::seconds age, std::chrono::seconds lifetime) {
  std::lock_guard lock(impl_->mutex);
  const auto issued = Clock::now() - age;
  impl_->tokens[std::move(token)] = {issued, issued + lifetime, true, false};
}

void MetaGraphServer::revoke_token(const std::string& token) {
  std::lock_guard lock(impl_->mutex);
  impl_->tokens[token].revoked = true;
}

void MetaGraphServer::set_app(std::string client_id, std::string client_secret) {
  std::lock_guard lock(impl_->mutex);
  impl_->client_id = std::move(client_id);
  impl_->client_secret = std::move(client_secret);
}

std::string MetaGraphServer::issue_code(const std::string& redirect_uri) {
  std::lock_guard lock(impl_->mutex);
  const std::string code = "code-" + std::to_string(++impl_->counter);
  impl_->codes[code] = redirect_uri;
  return code;
}

void MetaGraphServer::set_processing_polls(int polls) {
  std::lock_guard lock(impl_->mutex);
  impl_->processing_polls = polls;
}

void MetaGraphServer::finish_processing() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [id, left] : impl_->polls_left) left = 0;
}

void MetaGraphServer::fail_next_container(std::string message) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail_next = std::move(message);
}

void MetaGraphServer::expire_next_container() {
  std::lock_guard lock(impl_->mutex);
  impl_->expire_next = true;
}

void MetaGraphServer::rate_limit_next(int n) {
  std::lock_guard lock(impl_->mutex);
  impl_->throttled = n;
}

void MetaGraphServer::script(std::string route, std::vector<Reply> replies) {
  std::lock_guard lock(impl_->mutex);
  auto& queue = impl_->scripted[std::move(route)];
  queue.insert(queue.end(), replies.begin(), replies.end());
}

std::vector<MetaGraphServer::Received> MetaGraphServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t MetaGraphServer::count(std::string_view route) const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(
      std::count_if(impl_->log.begin(), impl_->log.end(), [&](const Received& r) { return r.route == route; }));
}

std::vector<MetaGraphServer::Container> MetaGraphServer::containers() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->containers;
}

std::vector<MetaGraphServer::Media> MetaGraphServer::published() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->media;
}

std::vector<std::string> MetaGraphServer::tokens() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::string> out;
  for (const auto& [token, t] : impl_->tokens) {
    if (!t.revoked) out.push_back(token);
  }
  return out;
}

std::string jpeg_bytes(int width, int height, std::size_t size) {
  std::string b = sample_jpeg(static_cast<std::uint32_t>(width), static_cast<std::uint32_t>(height));
  b.resize(b.size() - 2);  // the end marker goes back after the padding
  while (b.size() + 2 < size) b += static_cast<char>('a' + b.size() % 26);
  return b + "\xFF\xD9";
}

std::string mp4_bytes(unsigned seconds, std::size_t size) {
  return sample_mp4(static_cast<std::int64_t>(seconds) * 1000, size);
}

struct FileServer::Impl {
  std::filesystem::path root;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  mutable std::mutex mutex;
  std::vector<std::string> requested;
};

FileServer::FileServer(std::string root) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.root = std::filesystem::weakly_canonical(root);
  impl.server.Get(".*", [&impl](const httplib::Request& q, httplib::Response& r) {
    {
      std::lock_guard lock(impl.mutex);
      impl.requested.push_back(q.path);
    }
    const auto file = std::filesystem::weakly_canonical(impl.root / q.path.substr(1));
    const auto relative = file.lexically_relative(impl.root);
    std::ifstream in(file, std::ios::binary);
    if (relative.empty() || *relative.begin() == ".." || !std::filesystem::is_regular_file(file) || !in) {
      r.status = 404;
      return;
    }
    r.set_content(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()),
                  "application/octet-stream");
  });
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("file server: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

FileServer::~FileServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string FileServer::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

std::vector<std::string> FileServer::requested() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requested;
}

}  // namespace multivio::fakes
