// SPDX-License-Identifier: MIT
#include "common/platforms/mastodon/wire.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

#include "common/text/text.hpp"

namespace multivio::platforms::mastodon {

namespace {

using Json = nlohmann::json;

[[noreturn]] void unexpected(std::string_view what, std::string_view body) {
  std::string excerpt = text::truncate_code_points(body, 120);
  std::replace(excerpt.begin(), excerpt.end(), '\n', ' ');
  throw Error(ErrorKind::permanent, "mastodon: unexpected " + std::string(what) + ": " +
                                        (excerpt.empty() ? std::string("(empty body)") : excerpt));
}

Json parse_object(std::string_view body, std::string_view what) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) unexpected(what, body);
  return j;
}

std::string string_field(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  // Ids are strings in the API, but a fork or an old server may send numbers.
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  return {};
}

std::size_t positive_or(const Json& j, const char* key, std::size_t fallback) {
  const auto it = j.find(key);
  if (it != j.end() && it->is_number_unsigned() && it->get<std::size_t>() > 0) return it->get<std::size_t>();
  return fallback;
}

Status status_from(const Json& j, std::string_view body) {
  Status s;
  s.id = string_field(j, "id");
  if (s.id.empty()) unexpected("status (no id)", body);
  s.url = string_field(j, "url");
  s.uri = string_field(j, "uri");
  s.content = string_field(j, "content");
  s.in_reply_to_id = string_field(j, "in_reply_to_id");
  s.created_at = parse_time(string_field(j, "created_at"));
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <typename T>
bool read_number(std::string_view s, std::size_t& pos, std::size_t digits, T& out) {
  if (pos + digits > s.size()) return false;
  const auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + digits, out);
  if (ec != std::errc{} || p != s.data() + pos + digits) return false;
  pos += digits;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// "&amp;" and friends, "&#39;", "&#x1F600;" at html[i] ('&'); returns the
// bytes consumed (0 when it is not a reference we know).
std::size_t decode_reference(std::string_view html, std::size_t i, std::string& out) {
  const auto semi = html.find(';', i);
  if (semi == std::string_view::npos || semi - i > 10) return 0;
  const std::string_view name = html.substr(i + 1, semi - i - 1);
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> named{
      {{"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", "\u00A0"}}};
  for (const auto& [n, v] : named) {
    if (name == n) {
      out += v;
      return semi - i + 1;
    }
  }
  if (name.size() >= 2 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string_view digits = name.substr(hex ? 2 : 1);
    std::uint32_t cp = 0;
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
    if (ec != std::errc{} || p != digits.data() + digits.size() || cp == 0 || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return 0;
    }
    append_utf8(out, cp);
    return semi - i + 1;
  }
  return 0;
}

[[noreturn]] void bad_instance(std::string_view input, const std::string& why) {
  throw_usage("mastodon: instance '" + http::redact_url(input) + "' " + why);
}

bool loopback_host(std::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host.starts_with("127.");
}

}  // namespace

InstanceLimits parse_instance(std::string_view body) {
  const Json j = parse_object(body, "instance response");
  InstanceLimits limits;
  const auto config = j.find("configuration");
  if (config == j.end() || !config->is_object()) return limits;
  const auto statuses = config->find("statuses");
  if (statuses == config->end() || !statuses->is_object()) return limits;
  limits.max_characters = positive_or(*statuses, "max_characters", limits.max_characters);
  limits.max_media_attachments = positive_or(*statuses, "max_media_attachments", limits.max_media_attachments);
  limits.characters_reserved_per_url =
      positive_or(*statuses, "characters_reserved_per_url", limits.characters_reserved_per_url);
  return limits;
}

Status parse_status(std::string_view body) { return status_from(parse_object(body, "status response"), body); }

std::vector<Status> parse_statuses(std::string_view body) {
  const Json j = Json::parse(body, nullptr, false);
  if (!j.is_array()) unexpected("statuses response", body);
  std::vector<Status> out;
  for (const auto& item : j) {
    if (!item.is_object()) unexpected("statuses response", body);
    out.push_back(status_from(item, body));
  }
  return out;
}

Media parse_media(std::string_view body) {
  const Json j = parse_object(body, "media response");
  Media m;
  m.id = string_field(j, "id");
  if (m.id.empty()) unexpected("media response (no id)", body);
  m.url = string_field(j, "url");
  return m;
}

std::string parse_account_id(std::string_view body) {
  const Json j = parse_object(body, "account response");
  std::string id = string_field(j, "id");
  if (id.empty()) unexpected("account response (no id)", body);
  return id;
}

Credentials parse_credentials(std::string_view body) {
  const Json j = parse_object(body, "account response");
  Credentials c{string_field(j, "id"), string_field(j, "username"), string_field(j, "url")};
  if (c.id.empty()) unexpected("account response (no id)", body);
  return c;
}

std::string app_body(std::string_view client_name, std::string_view redirect_uri, std::string_view scopes,
                     std::string_view website) {
  nlohmann::ordered_json j;
  j["client_name"] = client_name;
  j["redirect_uris"] = redirect_uri;
  j["scopes"] = scopes;
  if (!website.empty()) j["website"] = website;
  return j.dump();
}

AppRegistration parse_app(std::string_view body) {
  const Json j = parse_object(body, "app registration");
  AppRegistration app{string_field(j, "client_id"), string_field(j, "client_secret")};
  if (app.client_id.empty() || app.client_secret.empty()) {
    unexpected("app registration (no client_id or client_secret)", body);
  }
  return app;
}

std::string status_body(const StatusParams& p) {
  nlohmann::ordered_json j;  // a stable field order keeps previews and tests readable
  j["status"] = p.status;
  if (!p.visibility.empty()) j["visibility"] = p.visibility;
  if (!p.language.empty()) j["language"] = p.language;
  if (!p.spoiler_text.empty()) j["spoiler_text"] = p.spoiler_text;
  if (!p.in_reply_to_id.empty()) j["in_reply_to_id"] = p.in_reply_to_id;
  if (!p.media_ids.empty()) j["media_ids"] = p.media_ids;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Multipart media_body(std::string_view file_name, std::string_view mime_type, std::string_view bytes,
                     std::string_view description, std::string_view boundary) {
  // RFC 7578: the file name is a quoted-string; quotes and line breaks in it
  // would end the header early, so they are replaced.
  std::string name(file_name);
  for (char& c : name) {
    if (c == '"' || c == '\r' || c == '\n' || c == '\\') c = '_';
  }
  const std::string dash = "--" + std::string(boundary);
  std::string body;
  body.reserve(bytes.size() + description.size() + 512);
  body += dash + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name + "\"\r\n";
  body += "Content-Type: " + std::string(mime_type) + "\r\n\r\n";
  body += bytes;
  body += "\r\n";
  if (!description.empty()) {
    body += dash + "\r\nContent-Disposition: form-data; name=\"description\"\r\n";
    body += "Content-Type: text/plain; charset=utf-8\r\n\r\n";
    body += description;
    body += "\r\n";
  }
  body += dash + "--\r\n";
  return {"multipart/form-data; boundary=" + std::string(boundary), std::move(body)};
}

std::string mime_type_for(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> types{{
      {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"png", "image/png"},   {"gif", "image/gif"},
      {"webp", "image/webp"}, {"avif", "image/avif"}, {"heic", "image/heic"}, {"mp4", "video/mp4"},
      {"m4v", "video/mp4"},  {"mov", "video/quicktime"}, {"webm", "video/webm"}, {"mp3", "audio/mpeg"},
      {"ogg", "audio/ogg"},  {"oga", "audio/ogg"},    {"wav", "audio/wav"},   {"flac", "audio/flac"},
  }};
  const auto slash = path.find_last_of('/');
  const std::string_view file = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const auto dot = file.find_last_of('.');
  if (dot != std::string_view::npos) {
    const std::string ext = lower(file.substr(dot + 1));
    for (const auto& [e, type] : types) {
      if (ext == e) return std::string(type);
    }
  }
  return "application/octet-stream";
}

std::string error_message(std::string_view body) {
  const Json j = Json::parse(body, nullptr, false);
  if (!j.is_object()) return {};
  std::string message = string_field(j, "error");
  const std::string description = string_field(j, "error_description");
  if (!description.empty() && description != message) {
    message += (message.empty() ? "" : ": ") + description;
  }
  return message;
}

Error classify(const http::Response& response, std::string_view context, std::chrono::system_clock::time_point now) {
  Error base = http::classify(response, context);
  const int status = response.status;
  const std::string message = error_message(response.body);

  ErrorKind kind = base.kind();
  std::string text = std::string(context) + ": HTTP " + std::to_string(status);
  if (!message.empty()) {
    text += ": " + text::truncate_code_points(message, 300);
  } else if (const std::string raw(base.what()); raw.size() > text.size()) {
    text = raw;  // no Mastodon error object: keep classify's body excerpt
  }
  if (status == 422 && message.starts_with("Validation failed")) {
    kind = ErrorKind::validation;
  } else if (status == 401) {
    text += " (the access token was rejected: re-link the account with 'multivio account add mastodon "
            "--instance URL --access-token TOKEN')";
  } else if (status == 403) {
    text += " (the token may lack the write:statuses and write:media scopes)";
  }

  Error error(kind, std::move(text));
  error.http_status = status;
  error.retry_after = base.retry_after;
  if (status == 429) {
    // Mastodon says when the window reopens as a time, not a delay.
    if (const auto reset = response.header("X-RateLimit-Reset")) {
      if (const auto at = parse_time(text::trim(*reset))) {
        const auto delta = std::max(std::chrono::seconds{0}, std::chrono::ceil<std::chrono::seconds>(*at - now));
        error.retry_after = error.retry_after ? std::max(*error.retry_after, delta) : delta;
      }
    }
  }
  return error;
}

std::optional<model::Timestamp> parse_time(std::string_view s) {
  using namespace std::chrono;
  std::size_t pos = 0;
  int y = 0;
  unsigned mo = 0, d = 0;
  int h = 0, mi = 0, sec = 0;
  if (!read_number(s, pos, 4, y) || !expect(s, pos, '-') || !read_number(s, pos, 2, mo) || !expect(s, pos, '-') ||
      !read_number(s, pos, 2, d)) {
    return std::nullopt;
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return std::nullopt;
  ++pos;
  if (!read_number(s, pos, 2, h) || !expect(s, pos, ':') || !read_number(s, pos, 2, mi) || !expect(s, pos, ':') ||
      !read_number(s, pos, 2, sec)) {
    return std::nullopt;
  }
  milliseconds fraction{0};
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    int scale = 100, ms = 0;
    const std::size_t begin = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == begin) return std::nullopt;
    fraction = milliseconds{ms};
  }
  minutes offset{0};
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!read_number(s, pos, 2, oh)) return std::nullopt;
    if (pos < s.size() && s[pos] == ':') ++pos;
    if (!read_number(s, pos, 2, om)) return std::nullopt;
    offset = minutes{sign * (oh * 60 + om)};
  } else {
    return std::nullopt;  // a time without a zone is ambiguous
  }
  if (pos != s.size()) return std::nullopt;
  const year_month_day date{year{y}, month{mo}, day{d}};
  if (!date.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  return time_point_cast<milliseconds>(sys_days{date} + hours{h} + minutes{mi} + seconds{sec}) + fraction - offset;
}

std::string html_to_text(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  std::size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      const auto close = html.find('>', i);
      if (close == std::string_view::npos) break;  // a cut-off tag: drop it
      std::string_view tag = html.substr(i + 1, close - i - 1);
      const bool closing = !tag.empty() && tag.front() == '/';
      if (closing) tag.remove_prefix(1);
      const auto name_end = tag.find_first_of(" \t\r\n/");
      const std::string name = lower(tag.substr(0, name_end));
      if (name == "br") {
        out += '\n';
      } else if (name == "p" && !closing && !out.empty()) {
        // Paragraphs: a blank line between them, none before the first.
        while (!out.empty() && out.back() == '\n') out.pop_back();
        out += "\n\n";
      }
      i = close + 1;
      continue;
    }
    if (c == '&') {
      if (const std::size_t n = decode_reference(html, i, out); n > 0) {
        i += n;
        continue;
      }
    }
    out += c;
    ++i;
  }
  return std::string(text::trim(out));
}

std::string normalize_instance(std::string_view input) {
  std::string url(text::trim(input));
  if (url.empty()) throw_usage("mastodon: option 'instance' is empty (--instance https://mastodon.social)");
  if (url.find("://") == std::string::npos) url = "https://" + url;
  const auto scheme_end = url.find("://");
  const std::string scheme = lower(std::string_view(url).substr(0, scheme_end));
  std::string rest = url.substr(scheme_end + 3);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto path_start = rest.find('/');
  const std::string host_port = lower(std::string_view(rest).substr(0, path_start));
  const std::string path = path_start == std::string::npos ? std::string() : rest.substr(path_start);
  const auto bad = [&](const std::string& why) { bad_instance(input, why); };
  if (scheme != "https" && scheme != "http") bad("must be an https:// URL");
  if (host_port.empty() || host_port.find_first_of("@?# \t") != std::string::npos) {
    bad("must be a URL with a host and nothing else, e.g. https://mastodon.social");
  }
  if (path.find_first_of("?#") != std::string::npos || path.find_first_of(" \t") != std::string::npos) {
    bad("must not carry a query or fragment");
  }
  std::string host = host_port;
  if (host.empty() || host.front() != '[') {
    host = host.substr(0, host.find(':'));
  } else {
    host = host.substr(0, host.find(']') + 1);
  }
  if (scheme == "http" && !loopback_host(host)) {
    bad("must use https:// (http:// is accepted only for 127.0.0.1 and localhost)");
  }
  return scheme + "://" + host_port + path;
}

}  // namespace multivio::platforms::mastodon
