// SPDX-License-Identifier: MIT
// Counting, signature checks and rendering are written here again from X's
// documents, never by calling multivio's own rules: sharing them would let one
// bug pass on both sides. Signatures use the OAuth fake's derivation.
#include "tests/fakes/x_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/fakes/oauth_server.hpp"

namespace multivio::fakes {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::system_clock;
using Pairs = OAuthServer::Pairs;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

long long epoch(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// UTF-8 decoding, lenient: a malformed byte counts as one code point.
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    char32_t v = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < n && i + k < s.size(); ++k) {
      v = (v << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    out.push_back(v);
    i += n;
  }
  return out;
}

// twitter-text v3 as X documents it: code points in the light ranges count 1,
// every other one 2, every http(s) URL 23; the limit is 280.
std::size_t weighted_length(std::string_view text) {
  std::size_t n = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (starts_with_nocase(text.substr(i), "http://") || starts_with_nocase(text.substr(i), "https://")) {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      n += 23;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !starts_with_nocase(text.substr(j), "http://") &&
           !starts_with_nocase(text.substr(j), "https://")) {
      ++j;
    }
    for (const char32_t c : code_points(text.substr(i, j - i))) {
      const bool light = c <= 0x10FF || (c >= 0x2000 && c <= 0x200D) || (c >= 0x2010 && c <= 0x201F) ||
                         (c >= 0x2032 && c <= 0x2037);
      n += light ? 1 : 2;
    }
    i = j;
  }
  return n;
}

// The text as the API returns it: &, < and > as entities, every URL as a
// t.co link, and a t.co link for attached media at the end.
std::string rendered(std::string_view text, bool has_media, int& link_counter) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (starts_with_nocase(text.substr(i), "http://") || starts_with_nocase(text.substr(i), "https://")) {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      out += "https://t.co/l" + std::to_string(++link_counter);
      continue;
    }
    const char c = text[i++];
    out += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : std::string(1, c);
  }
  if (has_media) out += (out.empty() ? "" : " ") + std::string("https://t.co/m") + std::to_string(++link_counter);
  return out;
}

Json problem(int status, std::string title, std::string detail, std::string type = "about:blank") {
  return {{"title", std::move(title)}, {"detail", std::move(detail)}, {"type", std::move(type)}, {"status", status}};
}

Json invalid_request(const std::string& message) {
  Json p = problem(400, "Invalid Request", "One or more parameters to your request was invalid.",
                   "https://api.twitter.com/2/problems/invalid-request");
  p["errors"] = Json::array({{{"message", message}}});
  return p;
}

// RFC 5849 §3.5.1 Authorization header: OAuth k="v", ...
std::optional<Pairs> oauth_header(std::string_view value) {
  if (!starts_with_nocase(value, "OAuth ")) return std::nullopt;
  value.remove_prefix(6);
  Pairs out;
  while (true) {
    while (!value.empty() && (value.front() == ' ' || value.front() == ',')) value.remove_prefix(1);
    if (value.empty()) break;
    const auto eq = value.find("=\"");
    if (eq == std::string_view::npos) return std::nullopt;
    const auto close = value.find('"', eq + 2);
    if (close == std::string_view::npos) return std::nullopt;
    std::string decoded;
    const std::string_view raw = value.substr(eq + 2, close - eq - 2);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%' && i + 2 < raw.size() && std::isxdigit(static_cast<unsigned char>(raw[i + 1])) &&
          std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
        decoded += static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        decoded += raw[i];
      }
    }
    out.emplace_back(std::string(value.substr(0, eq)), decoded);
    value.remove_prefix(close + 1);
  }
  return out;
}

std::string lookup(const Pairs& pairs, std::string_view name) {
  for (const auto& [k, v] : pairs) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace

std::optional<std::string> XServer::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

XServer::Reply XServer::rate_limited(std::chrono::seconds reset_in) {
  return Reply{429,
               problem(429, "Too Many Requests", "Too Many Requests").dump(),
               {{"x-rate-limit-limit", "100"},
                {"x-rate-limit-remaining", "0"},
                {"x-rate-limit-reset", std::to_string(epoch(Clock::now() + reset_in))}},
               {}};
}

struct XServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> stopping{false};
  OAuthServer* oauth = nullptr;

  mutable std::mutex mutex;
  std::vector<Received> log;
  std::vector<std::string> auth_log;
  std::map<std::string, std::deque<Reply>> scripted;

  User user{"1849000000000000001", "multivio_fake", "Multivio Fake"};
  std::set<std::string> static_tokens;
  struct Oauth1User {
    std::string consumer_secret, token_secret;
    User user;
  };
  std::map<std::pair<std::string, std::string>, Oauth1User> oauth1_users;  // (consumer key, token)
  std::set<std::tuple<std::string, std::string, std::string>> nonces;

  struct Window {
    int limit = 300;
    int remaining = 300;
    std::chrono::seconds length{900};
    Clock::time_point reset{};
  };
  std::map<std::string, Window> windows;
  std::map<std::string, Window> user_days;  // user id -> posts in 24 hours
  int daily_limit = 1000;
  std::chrono::seconds daily_length{86400};

  int processing_polls = 2;
  int check_after_secs = 1;
  std::string fail_next;
  std::size_t max_segment = 5 * 1024 * 1024;

  std::vector<Tweet> tweets;
  std::map<std::string, std::string> shown_text;  // tweet id -> text as the API renders it
  std::map<std::string, long long> created;       // tweet id -> epoch seconds
  std::vector<Media> media;
  std::map<std::string, int> polls_left;
  std::map<std::string, std::string> fail_message;
  long long next_id = 1'850'000'000'000'000'001;
  int link_counter = 0;

  struct Answer {
    Answer() = default;
    Answer(int s, Json b, HeaderList h = {}) : status(s), body(std::move(b)), headers(std::move(h)) {}
    int status = 200;
    Json body;
    HeaderList headers;
  };

  std::string new_id() { return std::to_string(next_id++); }

  Window& window(const std::string& route) {
    auto [it, inserted] = windows.try_emplace(route);
    if (inserted && route == "POST /2/tweets") it->second.limit = it->second.remaining = 100;
    Window& w = it->second;
    const auto now = Clock::now();
    if (w.reset <= now) {
      w.remaining = w.limit;
      w.reset = now + w.length;
    }
    return w;
  }

  Window& user_day(const std::string& user_id) {
    auto [it, inserted] = user_days.try_emplace(user_id);
    Window& w = it->second;
    if (inserted) {
      w.limit = w.remaining = daily_limit;
      w.length = daily_length;
    }
    if (w.reset <= Clock::now()) {
      w.remaining = w.limit;
      w.reset = Clock::now() + w.length;
    }
    return w;
  }

  static void add_window_headers(HeaderList& headers, const Window& w, const std::string& prefix) {
    const auto has = [&](const std::string& name) {
      return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
    };
    if (has(prefix + "remaining")) return;
    headers.emplace_back(prefix + "limit", std::to_string(w.limit));
    headers.emplace_back(prefix + "remaining", std::to_string(std::max(0, w.remaining)));
    headers.emplace_back(prefix + "reset", std::to_string(epoch(w.reset)));
  }

  // ---- Authentication ----

  std::optional<User> authenticate(const httplib::Request& req, const std::string& path, const std::string& query) {
    const std::string value = req.get_header_value("Authorization");
    const auto refuse = [&](std::string why) -> std::optional<User> {
      auth_log.push_back(req.method + " " + path + ": " + why);
      return std::nullopt;
    };
    if (starts_with_nocase(value, "Bearer ")) {
      const std::string token = value.substr(7);
      if (static_tokens.count(token) != 0) return user;
      if (oauth != nullptr && oauth->access_token_valid(token)) return user;
      return refuse("Bearer token unknown or expired");
    }
    if (starts_with_nocase(value, "OAuth ")) {
      const auto params = oauth_header(value);
      if (!params) return refuse("unparsable OAuth header");
      const std::string key = lookup(*params, "oauth_consumer_key");
      const std::string token = lookup(*params, "oauth_token");
      const auto found = oauth1_users.find({key, token});
      if (found == oauth1_users.end()) return refuse("unknown consumer key or token");
      if (lookup(*params, "oauth_signature_method") != "HMAC-SHA1") return refuse("signature method is not HMAC-SHA1");
      const std::string timestamp = lookup(*params, "oauth_timestamp");
      long long ts = 0;
      std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
      if (std::llabs(ts - epoch(Clock::now())) > 300) return refuse("timestamp outside the 300 s window");
      const std::string nonce = lookup(*params, "oauth_nonce");
      if (nonce.empty()) return refuse("no nonce");
      std::string host = req.get_header_value("Host");
      std::transform(host.begin(), host.end(), host.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      const bool form = starts_with_nocase(req.get_header_value("Content-Type"), "application/x-www-form-urlencoded");
      const auto base = oauth1_base_string(req.method, "http://" + host + path, query, *params,
                                           form ? std::string_view(req.body) : std::string_view{});
      if (!base) return refuse("malformed query or body");
      const std::string expected = oauth1_signature(*base, found->second.consumer_secret, found->second.token_secret);
      if (expected != lookup(*params, "oauth_signature")) return refuse("signature mismatch; base string " + *base);
      if (!nonces.emplace(key, timestamp, nonce).second) return refuse("nonce replayed");
      return found->second.user;
    }
    return refuse("no Authorization header");
  }

  // ---- Posts ----

  Answer create_tweet(const httplib::Request& req, const User& who) {
    const Json body = Json::parse(req.body, nullptr, false);
    if (!starts_with_nocase(req.get_header_value("Content-Type"), "application/json") || !body.is_object()) {
      return {400, invalid_request("the body must be a JSON object (Content-Type: application/json)"), {}};
    }
    static const std::set<std::string> known = {"text", "reply", "media", "quote_tweet_id", "poll",
                                                "reply_settings", "for_super_followers_only", "community_id",
                                                "nullcast", "direct_message_deep_link", "geo", "card_uri"};
    for (const auto& [key, value] : body.items()) {
      if (known.count(key) == 0) return {400, invalid_request("$." + key + " is not a valid property"), {}};
    }
    Tweet t;
    t.author_id = who.id;
    if (body.contains("text")) {
      if (!body["text"].is_string()) return {400, invalid_request("$.text must be a string"), {}};
      t.text = body["text"].get<std::string>();
    }
    if (body.contains("media")) {
      const Json& m = body["media"];
      if (!m.is_object() || !m.contains("media_ids") || !m["media_ids"].is_array()) {
        return {400, invalid_request("$.media.media_ids must be an array"), {}};
      }
      if (m["media_ids"].empty() || m["media_ids"].size() > 4) {
        return {400, invalid_request("$.media.media_ids must have 1 to 4 items"), {}};
      }
      std::set<std::string> categories;
      for (const auto& id : m["media_ids"]) {
        if (!id.is_string()) return {400, invalid_request("$.media.media_ids items must be strings"), {}};
        const auto it = std::find_if(media.begin(), media.end(), [&](const Media& x) { return x.id == id; });
        if (it == media.end() || it->owner_id != who.id) {
          return {400, invalid_request("Your media IDs are invalid."), {}};
        }
        if (it->state != "succeeded") {
          return {400, invalid_request("Media " + it->id + " is not ready (state " + it->state + ")"), {}};
        }
        categories.insert(it->category);
        t.media_ids.push_back(it->id);
      }
      if (categories.size() > 1 || (categories.count("tweet_image") == 0 && t.media_ids.size() > 1)) {
        return {400, invalid_request("Your media IDs are invalid: 4 images or 1 GIF or 1 video per post"), {}};
      }
    }
    if (t.text.find_first_not_of(" \t\r\n") == std::string::npos && t.media_ids.empty()) {
      return {400, invalid_request("$.text is required unless media is attached"), {}};
    }
    if (weighted_length(t.text) > 280) {
      return {400, invalid_request("Your Tweet text is too long. (" + std::to_string(weighted_length(t.text)) +
                                   " weighted characters)"), {}};
    }
    if (body.contains("reply")) {
      const Json& r = body["reply"];
      if (!r.is_object() || !r.contains("in_reply_to_tweet_id") || !r["in_reply_to_tweet_id"].is_string()) {
        return {400, invalid_request("$.reply.in_reply_to_tweet_id must be a string"), {}};
      }
      t.in_reply_to = r["in_reply_to_tweet_id"].get<std::string>();
      if (std::none_of(tweets.begin(), tweets.end(), [&](const Tweet& x) { return x.id == t.in_reply_to; })) {
        return {403, problem(403, "Forbidden",
                             "You attempted to reply to a Tweet that is deleted or not visible to you.")};
      }
    }
    if (std::any_of(tweets.begin(), tweets.end(),
                    [&](const Tweet& x) { return x.author_id == who.id && x.text == t.text && !t.text.empty(); })) {
      return {403, problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."), {}};
    }
    Window& day = user_day(who.id);
    if (day.remaining <= 0) {
      Answer a{429, problem(429, "Too Many Requests", "Too Many Requests"), {}};
      add_window_headers(a.headers, day, "x-user-limit-24hour-");
      return a;
    }
    --day.remaining;
    t.id = new_id();
    shown_text[t.id] = rendered(t.text, !t.media_ids.empty(), link_counter);
    created[t.id] = epoch(Clock::now());
    tweets.push_back(t);
    Answer a{201, {{"data", {{"id", t.id}, {"text", shown_text[t.id]}, {"edit_history_tweet_ids", {t.id}}}}}, {}};
    add_window_headers(a.headers, day, "x-user-limit-24hour-");
    return a;
  }

  Answer user_tweets(const httplib::Request& req, const std::string& id) {
    int max_results = 10;
    if (req.has_param("max_results")) {
      const std::string v = req.get_param_value("max_results");
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), max_results);
      if (ec != std::errc{} || end != v.data() + v.size() || max_results < 5 || max_results > 100) {
        return {400, invalid_request("The `max_results` query parameter value [" + v + "] is not between 5 and 100"),
                {}};
      }
    }
    std::set<std::string> fields;
    if (req.has_param("tweet.fields")) {
      std::string list = req.get_param_value("tweet.fields");
      for (std::size_t at = 0; at <= list.size();) {
        const auto comma = std::min(list.find(',', at), list.size());
        fields.insert(list.substr(at, comma - at));
        at = comma + 1;
      }
    }
    Json data = Json::array();
    for (auto it = tweets.rbegin(); it != tweets.rend() && static_cast<int>(data.size()) < max_results; ++it) {
      if (it->author_id != id) continue;
      Json t = {{"id", it->id}, {"text", shown_text[it->id]}, {"edit_history_tweet_ids", {it->id}}};
      if (fields.count("created_at") != 0) {
        const std::time_t secs = static_cast<std::time_t>(created[it->id]);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
        t["created_at"] = buf;
      }
      if (fields.count("attachments") != 0 && !it->media_ids.empty()) {
        Json keys = Json::array();
        for (const auto& id : it->media_ids) {
          const auto m = std::find_if(media.begin(), media.end(), [&](const Media& x) { return x.id == id; });
          keys.push_back((m != media.end() && m->category == "tweet_image" ? "3_" : "7_") + id);
        }
        t["attachments"] = {{"media_keys", keys}};
      }
      if (fields.count("referenced_tweets") != 0 && !it->in_reply_to.empty()) {
        t["referenced_tweets"] = Json::array({{{"type", "replied_to"}, {"id", it->in_reply_to}}});
      }
      data.push_back(std::move(t));
    }
    Json meta = {{"result_count", data.size()}};
    if (data.empty()) return {200, {{"meta", meta}}, {}};
    meta["newest_id"] = data.front()["id"];
    meta["oldest_id"] = data.back()["id"];
    return {200, {{"data", data}, {"meta", meta}}, {}};
  }

  // ---- Media ----

  Media* owned_media(const std::string& id, const User& who) {
    const auto it = std::find_if(media.begin(), media.end(), [&](const Media& m) { return m.id == id; });
    return it == media.end() || it->owner_id != who.id ? nullptr : &*it;
  }

  Json media_data(const Media& m) const {
    Json d = {{"id", m.id}, {"media_key", (m.category == "tweet_image" ? "3_" : "7_") + m.id},
              {"size", m.total_bytes}, {"expires_after_secs", 86400}};
    if (m.state == "pending" || m.state == "in_progress" || m.state == "failed" ||
        (m.state == "succeeded" && m.category != "tweet_image")) {
      Json info = {{"state", m.state}};
      if (m.state == "pending" || m.state == "in_progress") info["check_after_secs"] = check_after_secs;
      info["progress_percent"] = m.state == "succeeded" ? 100 : m.state == "in_progress" ? 50 : 0;
      if (m.state == "failed") {
        info["error"] = {{"code", 1}, {"name", "InvalidMedia"}, {"message", fail_message.at(m.id)}};
      }
      d["processing_info"] = info;
    }
    return d;
  }

  Answer initialize(const httplib::Request& req, const User& who) {
    const Json body = Json::parse(req.body, nullptr, false);
    if (!starts_with_nocase(req.get_header_value("Content-Type"), "application/json") || !body.is_object()) {
      return {400, invalid_request("the body must be a JSON object"), {}};
    }
    Media m;
    m.owner_id = who.id;
    if (!body.contains("media_type") || !body["media_type"].is_string()) {
      return {400, invalid_request("$.media_type is required")};
    }
    m.media_type = body["media_type"].get<std::string>();
    static const std::set<std::string> types = {"image/jpeg", "image/png", "image/webp", "image/gif", "video/mp4",
                                                "video/quicktime"};
    if (types.count(m.media_type) == 0) return {400, invalid_request("unsupported media_type " + m.media_type)};
    if (!body.contains("total_bytes") || !body["total_bytes"].is_number_unsigned() || body["total_bytes"] == 0) {
      return {400, invalid_request("$.total_bytes must be a positive integer")};
    }
    m.total_bytes = body["total_bytes"].get<std::size_t>();
    m.category = body.value("media_category", "");
    const std::string expected = m.media_type == "image/gif"          ? "tweet_gif"
                                 : m.media_type.starts_with("video/") ? "tweet_video"
                                                                      : "tweet_image";
    if (m.category != expected && !(m.media_type == "image/gif" && m.category == "tweet_image")) {
      return {400, invalid_request("media_category " + m.category + " does not fit media_type " + m.media_type)};
    }
    m.id = new_id();
    m.state = "uploading";
    media.push_back(m);
    return {200, {{"data", {{"id", m.id}, {"media_key", "3_" + m.id}, {"expires_after_secs", 86400}}}}};
  }

  Answer append(const httplib::Request& req, const User& who, const std::string& id) {
    Media* m = owned_media(id, who);
    if (m == nullptr) return {400, invalid_request("media_id " + id + " is not a valid upload")};
    if (m->state != "uploading") return {400, invalid_request("media " + id + " is already finalized")};
    if (!req.is_multipart_form_data() || !req.has_file("segment_index") || !req.has_file("media")) {
      return {400, invalid_request("append needs multipart fields segment_index and media")};
    }
    const std::string index_text = req.get_file_value("segment_index").content;
    std::size_t index = 0;
    const auto [end, ec] = std::from_chars(index_text.data(), index_text.data() + index_text.size(), index);
    if (ec != std::errc{} || end != index_text.data() + index_text.size() || index != m->segments.size()) {
      return {400, invalid_request("segment_index " + index_text + " is out of order (expected " +
                                   std::to_string(m->segments.size()) + ")")};
    }
    const std::string& chunk = req.get_file_value("media").content;
    if (chunk.empty() || chunk.size() > max_segment) {
      return {400, invalid_request("segment of " + std::to_string(chunk.size()) + " bytes (allowed 1 to " +
                                   std::to_string(max_segment) + ")")};
    }
    if (m->received_bytes + chunk.size() > m->total_bytes) {
      return {400, invalid_request("more bytes than total_bytes " + std::to_string(m->total_bytes))};
    }
    m->segments.push_back(chunk.size());
    m->received_bytes += chunk.size();
    return {200, {{"data", {{"expires_at", epoch(Clock::now()) + 86400}}}}};
  }

  Answer finalize(const User& who, const std::string& id) {
    Media* m = owned_media(id, who);
    if (m == nullptr) return {400, invalid_request("media_id " + id + " is not a valid upload")};
    if (m->state != "uploading") return {400, invalid_request("media " + id + " is already finalized")};
    if (m->received_bytes != m->total_bytes) {
      return {400, invalid_request("File size mismatch: received " + std::to_string(m->received_bytes) + " of " +
                                   std::to_string(m->total_bytes) + " bytes")};
    }
    if (m->category == "tweet_image") {
      m->state = "succeeded";
    } else {
      m->state = "pending";
      polls_left[m->id] = processing_polls;
      if (!fail_next.empty()) fail_message[m->id] = std::exchange(fail_next, {});
    }
    return {200, {{"data", media_data(*m)}}};
  }

  Answer status(const httplib::Request& req, const User& who) {
    if (req.get_param_value("command") != "STATUS") return {400, invalid_request("command must be STATUS")};
    Media* m = owned_media(req.get_param_value("media_id"), who);
    if (m == nullptr) return {400, invalid_request("media_id is not a valid upload")};
    if (m->state == "pending" || m->state == "in_progress") {
      int& left = polls_left[m->id];
      if (--left > 0) {
        m->state = "in_progress";
      } else {
        m->state = fail_message.count(m->id) != 0 ? "failed" : "succeeded";
      }
    }
    return {200, {{"data", media_data(*m)}}};
  }

  Answer metadata(const httplib::Request& req, const User& who) {
    const Json body = Json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("id") || !body["id"].is_string()) {
      return {400, invalid_request("$.id is required")};
    }
    Media* m = owned_media(body["id"].get<std::string>(), who);
    if (m == nullptr) return {400, invalid_request("$.id is not your media")};
    const Json* text = nullptr;
    if (body.contains("metadata") && body["metadata"].is_object() && body["metadata"].contains("alt_text") &&
        body["metadata"]["alt_text"].is_object() && body["metadata"]["alt_text"].contains("text")) {
      text = &body["metadata"]["alt_text"]["text"];
    }
    if (text == nullptr || !text->is_string()) return {400, invalid_request("$.metadata.alt_text.text is required")};
    if (code_points(text->get<std::string>()).size() > 1000) {
      return {400, invalid_request("$.metadata.alt_text.text is longer than 1000 characters")};
    }
    m->alt_text = text->get<std::string>();
    return {200, {{"data", {{"id", m->id}, {"associated_metadata", {{"alt_text", {{"text", m->alt_text}}}}}}}}};
  }

  // ---- Dispatch ----

  // The route pattern for a path: ids become ":id".
  static std::string route_of(const std::string& method, const std::string& path) {
    static const std::string upload = "/2/media/upload/";
    if (path.starts_with(upload)) {
      const std::string rest = path.substr(upload.size());
      const auto slash = rest.find('/');
      if (rest == "initialize") return method + " /2/media/upload/initialize";
      if (slash != std::string::npos) return method + " /2/media/upload/:id" + rest.substr(slash);
    }
    if (path.starts_with("/2/users/") && path.ends_with("/tweets")) return method + " /2/users/:id/tweets";
    return method + " " + path;
  }

  Answer route(const httplib::Request& req, const std::string& key, const std::string& path, const User& who) {
    if (key == "POST /2/tweets") return create_tweet(req, who);
    if (key == "GET /2/users/me") {
      return {200, {{"data", {{"id", who.id}, {"username", who.username}, {"name", who.name}}}}};
    }
    if (key == "GET /2/users/:id/tweets") {
      return user_tweets(req, path.substr(9, path.size() - 9 - 7));
    }
    if (key == "POST /2/media/upload/initialize") return initialize(req, who);
    const auto id_of = [&] {
      const std::string rest = path.substr(std::string("/2/media/upload/").size());
      return rest.substr(0, rest.find('/'));
    };
    if (key == "POST /2/media/upload/:id/append") return append(req, who, id_of());
    if (key == "POST /2/media/upload/:id/finalize") return finalize(who, id_of());
    if (key == "GET /2/media/upload") return status(req, who);
    if (key == "POST /2/media/upload") {
      return {400, invalid_request("command= uploads are gone; use /2/media/upload/initialize, append, finalize")};
    }
    if (key == "POST /2/media/metadata") return metadata(req, who);
    return {404, problem(404, "Not Found Error", "Could not find " + path,
                         "https://api.twitter.com/2/problems/resource-not-found")};
  }

  // POST /2/oauth2/token: forwarded to the OAuth fake, which owns the tokens.
  void token(const httplib::Request& req, httplib::Response& res) {
    if (oauth == nullptr) {
      res.status = 404;
      res.set_content(problem(404, "Not Found Error", "no token endpoint in this fake").dump(), "application/json");
      return;
    }
    httplib::Client client("127.0.0.1", oauth->port());
    httplib::Headers headers;
    if (req.has_header("Authorization")) headers.emplace("Authorization", req.get_header_value("Authorization"));
    const auto answer = client.Post("/token", headers, req.body, req.get_header_value("Content-Type"));
    if (!answer) {
      res.status = 502;
      return;
    }
    res.status = answer->status;
    res.set_content(answer->body, answer->get_header_value("Content-Type"));
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    const auto q = req.target.find('?');
    const std::string query = q == std::string::npos ? std::string() : req.target.substr(q + 1);
    const std::string key = route_of(req.method, path);
    Received rec{req.method, path, key, req.target, {}, req.body, 0};
    for (const auto& [k, v] : req.headers) rec.headers.emplace_back(k, v);

    if (key == "GET /i/oauth2/authorize" && oauth != nullptr) {
      // x.com's consent page is the OAuth fake's: send the browser there.
      res.set_redirect(oauth->authorize_url() + (query.empty() ? "" : "?" + query));
      rec.status = res.status;
      std::lock_guard lock(mutex);
      log.push_back(std::move(rec));
      return;
    }
    if (key == "POST /2/oauth2/token") {
      token(req, res);
      rec.status = res.status;
      std::lock_guard lock(mutex);
      log.push_back(std::move(rec));
      return;
    }

    Answer answer;
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard lock(mutex);
      std::optional<Reply> reply;
      if (auto it = scripted.find(key); it != scripted.end() && !it->second.empty()) {
        reply = std::move(it->second.front());
        it->second.pop_front();
      }
      Window& w = window(key);
      if (reply && reply->status != 0) {
        answer.status = reply->status;
        answer.body = Json::parse(reply->body, nullptr, false);
        if (answer.body.is_discarded()) answer.body = reply->body;
        answer.headers = reply->headers;
      } else if (w.remaining <= 0) {
        answer = {429, problem(429, "Too Many Requests", "Too Many Requests"), {}};
      } else {
        --w.remaining;
        if (reply) delay = reply->delay;
        if (const auto who = authenticate(req, path, query)) {
          answer = route(req, key, path, *who);
        } else {
          answer = {401, problem(401, "Unauthorized", "Unauthorized"), {}};
        }
      }
      add_window_headers(answer.headers, w, "x-rate-limit-");
      rec.status = answer.status;
      log.push_back(std::move(rec));
    }
    const auto until = std::chrono::steady_clock::now() + delay;
    while (!stopping && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    res.status = answer.status;
    for (const auto& [k, v] : answer.headers) res.set_header(k, v);
    const bool is_problem = answer.status >= 400 && answer.body.is_object() && answer.body.contains("title");
    res.set_content(answer.body.is_string() ? answer.body.get<std::string>() : answer.body.dump(),
                    is_problem ? "application/problem+json" : "application/json");
  }
};

XServer::XServer(OAuthServer* oauth) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.oauth = oauth;
  const auto handler = [&impl](const httplib::Request& q, httplib::Response& r) { impl.handle(q, r); };
  impl.server.Get(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.set_keep_alive_timeout(1);
  impl.server.set_tcp_nodelay(true);
  impl.server.set_payload_max_length(64 * 1024 * 1024);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("x fake: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

XServer::~XServer() { stop(); }

void XServer::stop() {
  impl_->stopping = true;
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

std::string XServer::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }
int XServer::port() const { return impl_->port; }

void XServer::set_user(User user) {
  std::lock_guard lock(impl_->mutex);
  impl_->user = std::move(user);
}

void XServer::add_access_token(std::string token) {
  std::lock_guard lock(impl_->mutex);
  impl_->static_tokens.insert(std::move(token));
}

void XServer::add_oauth1_user(std::string consumer_key, std::string consumer_secret, std::string token,
                              std::string token_secret, User user) {
  std::lock_guard lock(impl_->mutex);
  impl_->oauth1_users[{std::move(consumer_key), std::move(token)}] =
      Impl::Oauth1User{std::move(consumer_secret), std::move(token_secret), std::move(user)};
}

void XServer::set_rate_limit(std::string route, int limit, std::chrono::seconds reset_in) {
  std::lock_guard lock(impl_->mutex);
  auto& w = impl_->windows[std::move(route)];
  w.limit = w.remaining = limit;
  w.length = reset_in;
  w.reset = Clock::now() + reset_in;
}

void XServer::set_user_daily_limit(int limit, std::chrono::seconds reset_in) {
  std::lock_guard lock(impl_->mutex);
  impl_->daily_limit = limit;
  impl_->daily_length = reset_in;
  impl_->user_days.clear();
}

void XServer::set_processing(int polls, int check_after_secs) {
  std::lock_guard lock(impl_->mutex);
  impl_->processing_polls = polls;
  impl_->check_after_secs = check_after_secs;
}

void XServer::fail_next_processing(std::string message) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail_next = std::move(message);
}

void XServer::set_max_segment_bytes(std::size_t bytes) {
  std::lock_guard lock(impl_->mutex);
  impl_->max_segment = bytes;
}

void XServer::script(std::string route, std::vector<Reply> replies) {
  std::lock_guard lock(impl_->mutex);
  auto& queue = impl_->scripted[std::move(route)];
  for (auto& r : replies) queue.push_back(std::move(r));
}

std::string XServer::add_tweet(std::string text, std::string author_id) {
  std::lock_guard lock(impl_->mutex);
  Tweet t;
  t.id = impl_->new_id();
  t.text = std::move(text);
  t.author_id = author_id.empty() ? impl_->user.id : std::move(author_id);
  impl_->shown_text[t.id] = rendered(t.text, false, impl_->link_counter);
  impl_->created[t.id] = epoch(Clock::now());
  impl_->tweets.push_back(t);
  return t.id;
}

std::vector<XServer::Received> XServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t XServer::count(std::string_view route) const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<std::size_t>(
      std::count_if(impl_->log.begin(), impl_->log.end(), [&](const Received& r) { return r.route == route; }));
}

std::vector<XServer::Tweet> XServer::tweets() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->tweets;
}

std::vector<XServer::Media> XServer::media() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->media;
}

std::vector<std::string> XServer::auth_failures() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->auth_log;
}

}  // namespace multivio::fakes
