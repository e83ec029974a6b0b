// SPDX-License-Identifier: MIT
#include "common/platforms/x/wire.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/text/rules.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::x {

namespace {

using Json = nlohmann::json;
using namespace std::chrono;

constexpr std::size_t k_mb = 1024 * 1024;

[[noreturn]] void unexpected(std::string_view what, std::string_view body) {
  throw Error(ErrorKind::permanent,
              "unexpected " + std::string(what) + " from x: " + text::truncate_code_points(body, 200));
}

Json parse_object(std::string_view body, std::string_view what) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) unexpected(what, body);
  return j;
}

// Ids are strings in v2, but a number is read as its digits rather than lost.
std::string string_field(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  return {};
}

const Json* object_field(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_object() ? &*it : nullptr;
}

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::optional<long long> integer_header(const http::Response& r, std::string_view name) {
  const auto value = r.header(name);
  if (!value) return std::nullopt;
  const std::string_view v = text::trim(*value);
  long long n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size()) return std::nullopt;
  return n;
}

std::optional<sys_seconds> epoch_header(const http::Response& r, std::string_view name) {
  const auto n = integer_header(r, name);
  if (!n || *n <= 0) return std::nullopt;
  return sys_seconds{seconds{*n}};
}

// "2022-10-27T17:39:32.000Z", the one form v2 writes created_at in.
std::optional<model::Timestamp> parse_created_at(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  const std::string copy(text);
  const int n = std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &s, &ms);
  if (n < 6) return std::nullopt;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  return time_point_cast<milliseconds>(sys_days{date} + hours{h} + minutes{mi} + seconds{s}) + milliseconds{ms};
}

Tweet tweet_from(const Json& j) {
  Tweet t;
  t.id = string_field(j, "id");
  t.text = string_field(j, "text");
  if (const auto it = j.find("referenced_tweets"); it != j.end() && it->is_array()) {
    for (const auto& ref : *it) {
      if (ref.is_object() && string_field(ref, "type") == "replied_to") t.replied_to = string_field(ref, "id");
    }
  }
  if (const Json* attachments = object_field(j, "attachments")) {
    const auto keys = attachments->find("media_keys");
    t.has_media = keys != attachments->end() && keys->is_array() && !keys->empty();
  }
  if (const std::string created = string_field(j, "created_at"); !created.empty()) {
    t.created_at = parse_created_at(created);
  }
  return t;
}

}  // namespace

MediaType sniff_media(std::string_view b) {
  MediaType t;
  if (b.size() >= 3 && b.substr(0, 3) == "\xFF\xD8\xFF") {
    t = {MediaKind::image, "image/jpeg", "tweet_image", 5 * k_mb};
  } else if (b.size() >= 8 && b.substr(0, 8) == "\x89PNG\r\n\x1A\n") {
    t = {MediaKind::image, "image/png", "tweet_image", 5 * k_mb};
  } else if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") {
    t = {MediaKind::image, "image/webp", "tweet_image", 5 * k_mb};
  } else if (b.size() >= 6 && (b.substr(0, 6) == "GIF87a" || b.substr(0, 6) == "GIF89a")) {
    // X takes every GIF as tweet_gif (one per post, up to 15 MB).
    t = {MediaKind::gif, "image/gif", "tweet_gif", 15 * k_mb};
  } else if (b.size() >= 12 && b.substr(4, 4) == "ftyp") {
    // ISO base media: the brand says QuickTime or MP4.
    const bool quicktime = b.substr(8, 4) == "qt  ";
    t = {MediaKind::video, quicktime ? "video/quicktime" : "video/mp4", "tweet_video", 512 * k_mb};
  }
  return t;
}

std::string tweet_body(const TweetParams& p) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!p.text.empty()) j["text"] = p.text;
  if (!p.in_reply_to.empty()) j["reply"] = {{"in_reply_to_tweet_id", p.in_reply_to}};
  if (!p.media_ids.empty()) j["media"] = {{"media_ids", p.media_ids}};
  return dump(j);
}

std::string initialize_body(const MediaType& type, std::size_t total_bytes) {
  nlohmann::ordered_json j;
  j["media_type"] = type.mime;
  j["total_bytes"] = total_bytes;
  j["media_category"] = type.category;
  return dump(j);
}

std::string metadata_body(std::string_view media_id, std::string_view alt_text) {
  nlohmann::ordered_json j;
  j["id"] = media_id;
  j["metadata"] = {{"alt_text", {{"text", alt_text}}}};
  return dump(j);
}

Multipart append_body(std::size_t segment_index, std::string_view chunk, std::string_view boundary) {
  const std::string dash = "--" + std::string(boundary);
  std::string body;
  body.reserve(chunk.size() + 400);
  body += dash + "\r\nContent-Disposition: form-data; name=\"segment_index\"\r\n\r\n";
  body += std::to_string(segment_index) + "\r\n";
  body += dash + "\r\nContent-Disposition: form-data; name=\"media\"; filename=\"blob\"\r\n";
  body += "Content-Type: application/octet-stream\r\n\r\n";
  body += chunk;
  body += "\r\n" + dash + "--\r\n";
  return {"multipart/form-data; boundary=" + std::string(boundary), std::move(body)};
}

Tweet parse_created_tweet(std::string_view body) {
  const Json j = parse_object(body, "create post response");
  const Json* data = object_field(j, "data");
  if (data == nullptr) unexpected("create post response (no data)", body);
  Tweet t = tweet_from(*data);
  if (t.id.empty()) unexpected("create post response (no data.id)", body);
  return t;
}

std::vector<Tweet> parse_tweets(std::string_view body) {
  const Json j = parse_object(body, "posts response");
  std::vector<Tweet> out;
  const auto it = j.find("data");
  if (it == j.end()) return out;  // meta.result_count 0
  if (!it->is_array()) unexpected("posts response (data is not a list)", body);
  for (const auto& item : *it) {
    if (!item.is_object()) continue;
    Tweet t = tweet_from(item);
    if (!t.id.empty()) out.push_back(std::move(t));
  }
  return out;
}

User parse_user(std::string_view body) {
  const Json j = parse_object(body, "user response");
  const Json* data = object_field(j, "data");
  if (data == nullptr) unexpected("user response (no data)", body);
  User u{string_field(*data, "id"), string_field(*data, "username"), string_field(*data, "name")};
  if (u.id.empty()) unexpected("user response (no data.id)", body);
  return u;
}

UploadedMedia parse_media(std::string_view body, std::string_view fallback_id) {
  const Json j = parse_object(body, "media response");
  const Json* data = object_field(j, "data");
  if (data == nullptr) unexpected("media response (no data)", body);
  UploadedMedia m;
  m.id = string_field(*data, "id");
  if (m.id.empty()) m.id = string_field(*data, "media_id_string");
  if (m.id.empty()) m.id = fallback_id;
  if (m.id.empty()) unexpected("media response (no data.id)", body);
  if (const Json* info = object_field(*data, "processing_info")) {
    Processing p;
    p.state = string_field(*info, "state");
    if (const auto it = info->find("check_after_secs"); it != info->end() && it->is_number()) {
      p.check_after = seconds{std::max<long long>(0, it->get<long long>())};
    }
    if (const auto it = info->find("progress_percent"); it != info->end() && it->is_number()) {
      p.progress_percent = it->get<int>();
    }
    if (const Json* error = object_field(*info, "error")) {
      p.error = string_field(*error, "message");
      if (p.error.empty()) p.error = string_field(*error, "name");
    }
    m.processing = std::move(p);
  }
  return m;
}

std::optional<sys_seconds> RateLimit::exhausted_until() const {
  std::optional<sys_seconds> until;
  const auto consider = [&](const std::optional<long long>& left, const std::optional<sys_seconds>& at) {
    if (left && *left <= 0 && at) until = until ? std::max(*until, *at) : *at;
  };
  consider(remaining, reset);
  consider(user_day_remaining, user_day_reset);
  consider(app_day_remaining, app_day_reset);
  return until;
}

std::string RateLimit::exhausted_window() const {
  const auto until = exhausted_until();
  if (!until) return {};
  if (user_day_remaining && *user_day_remaining <= 0 && user_day_reset == until) return "the user's 24-hour limit";
  if (app_day_remaining && *app_day_remaining <= 0 && app_day_reset == until) return "the app's 24-hour limit";
  return "the 15-minute rate limit";
}

RateLimit parse_rate_limit(const http::Response& r) {
  RateLimit l;
  l.remaining = integer_header(r, "x-rate-limit-remaining");
  l.reset = epoch_header(r, "x-rate-limit-reset");
  l.user_day_remaining = integer_header(r, "x-user-limit-24hour-remaining");
  l.user_day_reset = epoch_header(r, "x-user-limit-24hour-reset");
  l.app_day_remaining = integer_header(r, "x-app-limit-24hour-remaining");
  l.app_day_reset = epoch_header(r, "x-app-limit-24hour-reset");
  return l;
}

std::optional<Problem> parse_problem(std::string_view body) {
  const Json j = Json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  Problem p;
  p.title = string_field(j, "title");
  p.detail = string_field(j, "detail");
  p.type = string_field(j, "type");
  if (const auto it = j.find("errors"); it != j.end() && it->is_array()) {
    for (const auto& e : *it) {
      if (!e.is_object()) continue;
      std::string message = string_field(e, "message");
      if (message.empty()) message = string_field(e, "detail");
      if (!message.empty() && message != p.detail) p.messages.push_back(std::move(message));
    }
  }
  if (p.title.empty() && p.detail.empty() && p.messages.empty()) return std::nullopt;
  return p;
}

std::string problem_sentence(const Problem& p) {
  std::string out = !p.detail.empty() ? p.detail : p.title;
  std::string extra;
  for (const auto& m : p.messages) extra += (extra.empty() ? "" : "; ") + m;
  if (out.empty()) return extra;
  if (!extra.empty()) out += (out.ends_with('.') ? " " : ": ") + extra;
  return out;
}

bool is_duplicate(const http::Response& response) {
  if (response.status != 403) return false;
  const auto p = parse_problem(response.body);
  if (!p) return false;
  const auto mentions = [](const std::string& s) {
    std::string lower(s);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find("duplicate content") != std::string::npos;
  };
  return mentions(p->detail) || mentions(p->title) || std::any_of(p->messages.begin(), p->messages.end(), mentions);
}

Error classify(const http::Response& response, std::string_view context, system_clock::time_point now) {
  const Error base = http::classify(response, context);
  const int status = response.status;
  const auto problem = parse_problem(response.body);
  std::string text = std::string(context) + ": HTTP " + std::to_string(status);
  if (problem) {
    if (const std::string sentence = problem_sentence(*problem); !sentence.empty()) {
      text += ": " + text::truncate_code_points(sentence, 300);
    }
  } else if (const std::string raw(base.what()); raw.size() > text.size()) {
    text = raw;  // not an error object: keep classify's body excerpt
  }

  ErrorKind kind = base.kind();
  const RateLimit limit = parse_rate_limit(response);
  const auto spent_until = limit.exhausted_until();
  std::optional<seconds> retry_after = base.retry_after;
  // A 403 with a spent window is the older form of "over the daily limit"; a
  // duplicate that happened to use up the window is still a duplicate.
  if (status == 429 || (status == 403 && spent_until && !is_duplicate(response))) {
    kind = ErrorKind::transient;
    if (spent_until) {
      const auto wait = std::max(seconds{0}, ceil<seconds>(*spent_until - now));
      retry_after = retry_after ? std::max(*retry_after, wait) : wait;
      text += " (" + limit.exhausted_window() + " is spent; it resets in " + std::to_string(wait.count()) + " s)";
    } else if (const auto reset = limit.reset) {
      // A 429 without remaining 0 (a burst limit): the window's reset still says when.
      const auto wait = std::max(seconds{0}, ceil<seconds>(*reset - now));
      retry_after = retry_after ? std::max(*retry_after, wait) : wait;
    }
  } else if (status == 401) {
    text += " (the credentials were rejected: re-link the account with 'multivio account add x --oauth')";
  } else if (is_duplicate(response)) {
    kind = ErrorKind::permanent;
    text += " (duplicate: x refuses a text this account already posted)";
  } else if (status == 400 && problem && problem->type.ends_with("/invalid-request")) {
    kind = ErrorKind::validation;
  } else if (status == 403 && problem && (problem_sentence(*problem).find("deleted") != std::string::npos ||
                                         problem_sentence(*problem).find("not visible") != std::string::npos)) {
    kind = ErrorKind::permanent;  // replying to a deleted or hidden post: the credentials are fine
  }

  Error error(kind, std::move(text));
  error.http_status = status;
  error.retry_after = retry_after;
  return error;
}

std::string post_url(std::string_view username, std::string_view id) {
  if (username.empty()) return std::string(k_default_auth_base) + "/i/web/status/" + std::string(id);
  return std::string(k_default_auth_base) + "/" + std::string(username) + "/status/" + std::string(id);
}

std::string display_text(std::string_view in, bool has_media) {
  std::string decoded;
  for (std::size_t i = 0; i < in.size();) {
    if (in.substr(i, 5) == "&amp;") {
      decoded += '&';
      i += 5;
    } else if (in.substr(i, 4) == "&lt;") {
      decoded += '<';
      i += 4;
    } else if (in.substr(i, 4) == "&gt;") {
      decoded += '>';
      i += 4;
    } else {
      decoded += in[i++];
    }
  }
  if (has_media) {
    const auto urls = text::find_urls(decoded);
    if (!urls.empty() && text::trim(std::string_view(decoded).substr(urls.back().end)).empty()) {
      decoded.resize(urls.back().begin);
      while (!decoded.empty() && std::isspace(static_cast<unsigned char>(decoded.back()))) decoded.pop_back();
    }
  }
  return decoded;
}

std::string comparable_text(std::string_view in) {
  // URLs are dropped: X returns every one of them as a t.co link.
  const std::string decoded = display_text(in, false);
  std::string without_urls;
  std::size_t at = 0;
  for (const auto& span : text::find_urls(decoded)) {
    without_urls.append(decoded, at, span.begin - at);
    without_urls += ' ';
    at = span.end;
  }
  without_urls.append(decoded, at, std::string::npos);
  std::string out;
  bool space = false;
  for (const char c : without_urls) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace multivio::platforms::x
