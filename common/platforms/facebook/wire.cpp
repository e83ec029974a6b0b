// SPDX-License-Identifier: MIT
#include "common/platforms/facebook/wire.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace multivio::platforms::facebook {

namespace {

using Json = nlohmann::json;

Json parse_object(std::string_view body, std::string_view what) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_object()) throw Error(ErrorKind::permanent, "facebook: " + std::string(what) + " is not a JSON object");
  return j;
}

std::string string_field(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  // Graph documents ids as strings but some SDKs and answers send numbers.
  if (it->is_number_integer() || it->is_number_unsigned()) return std::to_string(it->get<long long>());
  return {};
}

int int_field(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int>();
  if (it->is_string()) {
    try {
      return std::stoi(it->get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

std::string quoted_name(std::string_view name) {
  // RFC 7578: quotes and line breaks would end the header early.
  std::string out(name);
  for (char& c : out) {
    if (c == '"' || c == '\r' || c == '\n' || c == '\\') c = '_';
  }
  return out;
}

void add_field(std::string& body, std::string_view dash, std::string_view name, std::string_view value) {
  body += std::string(dash) + "\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"\r\n\r\n";
  body += value;
  body += "\r\n";
}

}  // namespace

std::string feed_body(const FeedParams& params) {
  Json j = Json::object();
  if (!params.message.empty()) j["message"] = params.message;
  if (!params.link.empty()) j["link"] = params.link;
  if (!params.attached_media.empty()) {
    Json media = Json::array();
    for (const auto& id : params.attached_media) media.push_back({{"media_fbid", id}});
    j["attached_media"] = std::move(media);
  }
  return j.dump();
}

namespace {

// The file as the last part, `source`, and the closing boundary.
Multipart with_source(std::string body, const std::string& dash, std::string_view boundary,
                      const std::string& file_name, const std::string& mime_type, std::string_view bytes) {
  body += dash + "\r\nContent-Disposition: form-data; name=\"source\"; filename=\"" + quoted_name(file_name) +
          "\"\r\nContent-Type: " + mime_type + "\r\n\r\n";
  body += bytes;
  body += "\r\n" + dash + "--\r\n";
  return {"multipart/form-data; boundary=" + std::string(boundary), std::move(body)};
}

}  // namespace

Multipart photo_body(const PhotoParams& params, std::string_view boundary) {
  const std::string dash = "--" + std::string(boundary);
  std::string body;
  body.reserve(params.bytes.size() + params.message.size() + 512);
  if (!params.message.empty()) add_field(body, dash, "message", params.message);
  if (!params.published) add_field(body, dash, "published", "false");
  return with_source(std::move(body), dash, boundary, params.file_name, params.mime_type, params.bytes);
}

Multipart video_body(const VideoParams& params, std::string_view boundary) {
  const std::string dash = "--" + std::string(boundary);
  std::string body;
  body.reserve(params.bytes.size() + params.description.size() + 512);
  if (!params.description.empty()) add_field(body, dash, "description", params.description);
  return with_source(std::move(body), dash, boundary, params.file_name, params.mime_type, params.bytes);
}

std::string parse_id(std::string_view body) {
  const Json j = parse_object(body, "the answer");
  std::string id = string_field(j, "id");
  if (id.empty()) throw Error(ErrorKind::permanent, "facebook: the answer has no id");
  return id;
}

PhotoResult parse_photo(std::string_view body) {
  const Json j = parse_object(body, "the photo answer");
  PhotoResult r{string_field(j, "id"), string_field(j, "post_id")};
  if (r.id.empty()) throw Error(ErrorKind::permanent, "facebook: the photo answer has no id");
  return r;
}

std::vector<Page> parse_pages(std::string_view body) {
  const Json j = parse_object(body, "the list of Pages");
  std::vector<Page> out;
  const auto data = j.find("data");
  if (data == j.end() || !data->is_array()) throw Error(ErrorKind::permanent, "facebook: the list of Pages has no data");
  for (const auto& item : *data) {
    if (!item.is_object()) continue;
    Page p{string_field(item, "id"), string_field(item, "name"), string_field(item, "access_token"), {}};
    if (p.id.empty()) continue;
    if (auto t = item.find("tasks"); t != item.end() && t->is_array()) {
      for (const auto& task : *t) {
        if (task.is_string()) p.tasks.push_back(task.get<std::string>());
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

Page parse_page(std::string_view body) {
  const Json j = parse_object(body, "the Page");
  Page p{string_field(j, "id"), string_field(j, "name"), string_field(j, "access_token"), {}};
  if (p.id.empty()) throw Error(ErrorKind::permanent, "facebook: the Page has no id");
  return p;
}

std::vector<Post> parse_posts(std::string_view body) {
  const Json j = parse_object(body, "the list of posts");
  std::vector<Post> out;
  const auto data = j.find("data");
  if (data == j.end() || !data->is_array()) throw Error(ErrorKind::permanent, "facebook: the list of posts has no data");
  for (const auto& item : *data) {
    if (!item.is_object()) continue;
    Post p{string_field(item, "id"), string_field(item, "message"), string_field(item, "permalink_url"), {}};
    if (p.id.empty()) continue;
    p.created_time = parse_time(string_field(item, "created_time"));
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<model::Timestamp> parse_time(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, consumed = 0;
  const std::string t(text);
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(t).substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  }
  int offset_minutes = 0;
  if (rest == "Z" || rest.empty()) {
    offset_minutes = 0;
  } else if (rest.front() == '+' || rest.front() == '-') {
    std::string digits;
    for (char c : rest.substr(1)) {
      if (c >= '0' && c <= '9') digits += c;
      else if (c != ':') return std::nullopt;
    }
    if (digits.size() != 4) return std::nullopt;
    offset_minutes = std::stoi(digits.substr(0, 2)) * 60 + std::stoi(digits.substr(2));
    if (rest.front() == '-') offset_minutes = -offset_minutes;
  } else {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const auto at = sys_days{date} + hours{h} + minutes{mi} + seconds{s} - minutes{offset_minutes};
  return time_point_cast<milliseconds>(at);
}

std::string post_url(std::string_view post_id) { return "https://www.facebook.com/" + std::string(post_id); }

LongLivedToken parse_long_lived(std::string_view body, std::chrono::system_clock::time_point now) {
  const Json j = parse_object(body, "the token answer");
  LongLivedToken t{string_field(j, "access_token"), std::nullopt};
  if (t.access_token.empty()) throw Error(ErrorKind::permanent, "facebook: the token answer has no access_token");
  if (const int expires_in = int_field(j, "expires_in"); expires_in > 0) {
    t.expires_at = std::chrono::floor<std::chrono::seconds>(now) + std::chrono::seconds{expires_in};
  }
  return t;
}

}  // namespace multivio::platforms::facebook
