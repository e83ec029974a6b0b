// SPDX-License-Identifier: MIT
// Sources for the wire facts used here: the atproto specs (TID, record key,
// datetime), the app.bsky.* and com.atproto.* lexicons, docs.bsky.app
// ("Links, mentions, and rich text"; rate limits) and the detection rules of
// the official client's rich-text helper, re-implemented (not copied).
#include "common/platforms/bluesky/wire.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "common/crypto/crypto.hpp"
#include "common/http/client.hpp"
#include "common/platforms/settings.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::bluesky {

namespace {

constexpr std::string_view k_base32_sortable = "234567abcdefghijklmnopqrstuvwxyz";
constexpr std::uint64_t k_max_timestamp_us = (std::uint64_t{1} << 53) - 1;

// ---- UTF-8 ------------------------------------------------------------------

struct Decoded {
  char32_t cp = 0;
  std::size_t len = 1;
};

// The code point at i; an ill-formed byte decodes as U+FFFD of length 1.
Decoded decode_at(std::string_view s, std::size_t i) {
  const std::size_t len = multivio::text::utf8_sequence_length(s.substr(i));
  if (len == 0) {
    return {0xFFFD, 1};
  }
  const auto b0 = static_cast<unsigned char>(s[i]);
  char32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1Fu) : len == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
  for (std::size_t k = 1; k < len; ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
  }
  return {cp, len};
}

// The code point that ends just before byte i (i > 0).
char32_t code_point_before(std::string_view s, std::size_t i) {
  std::size_t start = i - 1;
  while (start > 0 && i - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) {
    --start;
  }
  const Decoded d = decode_at(s, start);
  return start + d.len == i ? d.cp : 0xFFFD;
}

// JavaScript's \s.
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

// Soft hyphen, word joiner and zero-width characters end a hashtag.
bool is_zero_width(char32_t c) {
  return c == 0x00AD || c == 0x2060 || c == 0x200A || c == 0x200B || c == 0x200C || c == 0x200D || c == 0x20E2;
}

// Unicode P* categories over the blocks where hashtags meet punctuation.
bool is_punct(char32_t c) {
  if (c < 0x80) {
    constexpr std::string_view p = "!\"#%&'()*,-./:;?@[\\]_{}";
    return p.find(static_cast<char>(c)) != std::string_view::npos;
  }
  return c == 0xA1 || c == 0xA7 || c == 0xAB || c == 0xB6 || c == 0xB7 || c == 0xBB || c == 0xBF ||
         (c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x2043) || (c >= 0x2045 && c <= 0x2051) ||
         (c >= 0x2053 && c <= 0x205E) || (c >= 0x3001 && c <= 0x3003) || (c >= 0x3008 && c <= 0x3011) ||
         (c >= 0x3014 && c <= 0x301F) || c == 0x30FB || (c >= 0xFF01 && c <= 0xFF03) || (c >= 0xFF05 && c <= 0xFF0A) ||
         (c >= 0xFF0C && c <= 0xFF0F) || c == 0xFF1A || c == 0xFF1B || c == 0xFF1F || c == 0xFF20 ||
         (c >= 0xFF3B && c <= 0xFF3D) || c == 0xFF3F || c == 0xFF5B || c == 0xFF5D || (c >= 0xFF5F && c <= 0xFF65);
}

bool ascii_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), s.begin(), [](char p, char c) {
           return p == std::tolower(static_cast<unsigned char>(c));
         });
}

// ---- JSON helpers -----------------------------------------------------------

std::string excerpt(std::string_view body) {
  std::string out = multivio::text::valid_utf8(body) ? multivio::text::truncate_code_points(body, 200)
                                                     : std::string(body.substr(0, 200));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return std::string(multivio::text::trim(out));
}

std::optional<std::int64_t> digits(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::uint32_t be16(std::string_view b, std::size_t i) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[i])) << 8) | static_cast<unsigned char>(b[i + 1]);
}
std::uint32_t be32(std::string_view b, std::size_t i) { return (be16(b, i) << 16) | be16(b, i + 2); }
std::uint32_t le16(std::string_view b, std::size_t i) {
  return static_cast<unsigned char>(b[i]) | (static_cast<std::uint32_t>(static_cast<unsigned char>(b[i + 1])) << 8);
}
std::uint32_t le24(std::string_view b, std::size_t i) {
  return le16(b, i) | (static_cast<std::uint32_t>(static_cast<unsigned char>(b[i + 2])) << 16);
}
std::uint32_t le32(std::string_view b, std::size_t i) { return le16(b, i) | (le16(b, i + 2) << 16); }

}  // namespace

// ---- Record keys ------------------------------------------------------------

std::string encode_tid(std::uint64_t value) {
  value &= ~(std::uint64_t{1} << 63);
  std::string out(13, '2');
  for (std::size_t i = 13; i-- > 0;) {
    out[i] = k_base32_sortable[value & 0x1F];
    value >>= 5;
  }
  return out;
}

std::optional<std::uint64_t> decode_tid(std::string_view tid) {
  if (tid.size() != 13) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < tid.size(); ++i) {
    const auto k = k_base32_sortable.find(tid[i]);
    if (k == std::string_view::npos) return std::nullopt;
    // 13 digits carry 65 bits: the first may use only 4, and the top one of
    // the 64 is always 0.
    if (i == 0 && k > 15) return std::nullopt;
    value = (value << 5) | k;
  }
  return value;
}

bool is_tid(std::string_view tid) { return decode_tid(tid).has_value(); }

std::string rkey_for(std::string_view key, model::Timestamp anchor) {
  const std::string h = crypto::sha256(key);
  auto u16 = [&](std::size_t i) {
    return (static_cast<unsigned>(static_cast<unsigned char>(h[i])) << 8) | static_cast<unsigned char>(h[i + 1]);
  };
  const std::int64_t ms = std::max<std::int64_t>(0, model::to_millis(anchor));
  const std::uint64_t us = (static_cast<std::uint64_t>(ms) * 1000 + u16(0) % 1000) & k_max_timestamp_us;
  const std::uint64_t clock_id = u16(2) & 0x3FF;
  return encode_tid((us << 10) | clock_id);
}

// ---- Sessions ---------------------------------------------------------------

Session parse_session(std::string_view body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  Session s{json_string(j, "accessJwt"), json_string(j, "refreshJwt"), json_string(j, "did"), json_string(j, "handle")};
  if (s.access_jwt.empty() || s.refresh_jwt.empty() || !s.did.starts_with("did:")) {
    throw Error(ErrorKind::permanent, "session response without accessJwt, refreshJwt and did: " + excerpt(body));
  }
  return s;
}

std::optional<std::chrono::sys_seconds> jwt_expiry(std::string_view jwt) {
  const auto first = jwt.find('.');
  const auto second = first == std::string_view::npos ? first : jwt.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  std::string payload(jwt.substr(first + 1, second - first - 1));
  std::replace(payload.begin(), payload.end(), '-', '+');
  std::replace(payload.begin(), payload.end(), '_', '/');
  while (payload.size() % 4 != 0) payload.push_back('=');
  try {
    const auto j = nlohmann::json::parse(crypto::base64_decode(payload), nullptr, false);
    if (j.is_object() && j.contains("exp") && j["exp"].is_number_integer()) {
      return std::chrono::sys_seconds{std::chrono::seconds{j["exp"].get<std::int64_t>()}};
    }
  } catch (const Error&) {
  }
  return std::nullopt;
}

// ---- Errors -----------------------------------------------------------------

XrpcError parse_error(std::string_view body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  return {json_string(j, "error"), json_string(j, "message")};
}

bool is_expired_token(const http::Response& response) {
  return response.status == 400 && parse_error(response.body).name == "ExpiredToken";
}

Error classify_xrpc(const http::Response& response, std::string_view context,
                    std::chrono::system_clock::time_point now) {
  const int status = response.status;
  const XrpcError x = parse_error(response.body);
  std::string message = std::string(context) + ": HTTP " + std::to_string(status);
  if (!x.name.empty()) {
    message += " " + x.name;
    if (!x.message.empty()) message += ": " + excerpt(x.message);
  } else if (const std::string e = excerpt(response.body); !e.empty()) {
    message += ": " + e;
  }

  ErrorKind kind = ErrorKind::permanent;
  const auto& n = x.name;
  if (status == 429 || status == 408 || status >= 500) {
    kind = ErrorKind::transient;
  } else if (status == 401 || status == 403 ||
             (status == 400 && (n == "ExpiredToken" || n == "InvalidToken" || n == "AuthMissing" ||
                                n == "AuthRequired" || n == "AuthenticationRequired"))) {
    kind = ErrorKind::auth;
  } else if (status == 413 || (status == 400 && (n == "BlobTooLarge" || n == "InvalidRecord"))) {
    kind = ErrorKind::validation;
  }
  Error error(kind, std::move(message));
  error.http_status = status;

  if (kind == ErrorKind::transient) {
    std::optional<std::chrono::seconds> wait;
    if (auto v = response.header("Retry-After")) {
      wait = http::parse_retry_after(*v, now);
    }
    // RateLimit-Reset is the unix second the window reopens. The PDS sends it
    // on every answer, but it only says when to come back when the window is
    // spent (429): on a 5xx it would turn a short back-off into a wait for
    // the end of an hourly or daily window.
    if (auto v = response.header("RateLimit-Reset"); v && status == 429) {
      if (auto reset = digits(*v)) {
        const auto at = std::chrono::sys_seconds{std::chrono::seconds{*reset}};
        const auto delta = std::max(std::chrono::seconds{0}, std::chrono::ceil<std::chrono::seconds>(at - now));
        wait = wait ? std::max(*wait, delta) : delta;
      }
    }
    error.retry_after = wait;
  }
  return error;
}

// ---- Records ----------------------------------------------------------------

StrongRef parse_strong_ref(std::string_view body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  StrongRef r{json_string(j, "uri"), json_string(j, "cid")};
  if (!r.uri.starts_with("at://") || r.cid.empty()) {
    throw Error(ErrorKind::permanent, "record response without uri and cid: " + excerpt(body));
  }
  return r;
}

std::string rkey_of(std::string_view at_uri) {
  const auto slash = at_uri.rfind('/');
  return std::string(slash == std::string_view::npos ? at_uri : at_uri.substr(slash + 1));
}

std::string post_url(std::string_view handle, std::string_view rkey) {
  return "https://bsky.app/profile/" + std::string(handle) + "/post/" + std::string(rkey);
}

Json parse_blob(std::string_view body) {
  auto j = Json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("blob") || !j["blob"].is_object() || !j["blob"].contains("ref")) {
    throw Error(ErrorKind::permanent, "uploadBlob response without a blob: " + excerpt(body));
  }
  return j["blob"];
}

std::vector<RemotePost> parse_records(std::string_view body, std::string_view handle) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  std::vector<RemotePost> out;
  if (!j.is_object() || !j.contains("records") || !j["records"].is_array()) return out;
  for (const auto& r : j["records"]) {
    const std::string uri = json_string(r, "uri");
    if (!uri.starts_with("at://") || !r.contains("value") || !r["value"].is_object()) continue;
    RemotePost p;
    p.id = uri;
    p.text = json_string(r["value"], "text");
    p.url = post_url(handle, rkey_of(uri));
    if (auto t = parse_datetime(json_string(r["value"], "createdAt"))) p.created_at = *t;
    out.push_back(std::move(p));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const RemotePost& a, const RemotePost& b) { return a.created_at > b.created_at; });
  return out;
}

std::string format_datetime(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(ms);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{ms - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

std::optional<model::Timestamp> parse_datetime(std::string_view s) {
  auto num = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || *h > 23 || *mi > 59 || *se > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{*y}, std::chrono::month{static_cast<unsigned>(*mo)},
                                        std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  std::size_t i = 19;
  int millis = 0;
  if (i < s.size() && s[i] == '.') {
    std::size_t k = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == k) return std::nullopt;
    for (std::size_t p = k; p < k + 3; ++p) millis = millis * 10 + (p < i ? s[p] - '0' : 0);
  }
  std::chrono::minutes offset{0};
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    const auto oh = num(i + 1, 2), om = num(i + 4, 2);
    if (!oh || !om) return std::nullopt;
    offset = std::chrono::hours{*oh} + std::chrono::minutes{*om};
    if (s[i] == '-') offset = -offset;
    i += 6;
  } else {
    return std::nullopt;  // atproto requires a zone
  }
  if (i != s.size()) return std::nullopt;
  const auto t = std::chrono::sys_days{ymd} + std::chrono::hours{*h} + std::chrono::minutes{*mi} +
                 std::chrono::seconds{*se} + std::chrono::milliseconds{millis} - offset;
  return std::chrono::time_point_cast<std::chrono::milliseconds>(t);
}

// ---- Facets -----------------------------------------------------------------

bool is_handle(std::string_view handle) {
  if (handle.empty() || handle.size() > 253) return false;
  std::size_t labels = 0;
  std::string_view last;
  std::string_view rest = handle;
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) { return ascii_alnum(c) || c == '-'; })) return false;
    ++labels;
    last = label;
    if (dot == std::string_view::npos) break;
    rest = rest.substr(dot + 1);
  }
  return labels >= 2 && std::isalpha(static_cast<unsigned char>(last.front())) != 0;
}

std::vector<FacetSpan> find_facets(std::string_view text) {
  std::vector<FacetSpan> found;
  const auto urls = multivio::text::find_urls(text);
  for (const auto& u : urls) {
    const std::string_view s = text.substr(u.begin, u.end - u.begin);
    const bool scheme = starts_with_nocase(s, "http://") || starts_with_nocase(s, "https://");
    found.push_back({FacetKind::link, u.begin, u.end, scheme ? std::string(s) : "https://" + std::string(s)});
  }
  auto in_url = [&](std::size_t b, std::size_t e) {
    return std::any_of(urls.begin(), urls.end(), [&](const auto& u) { return b < u.end && u.begin < e; });
  };

  for (std::size_t i = 0; i < text.size();) {
    const Decoded d = decode_at(text, i);
    const char32_t before = i == 0 ? U' ' : code_point_before(text, i);
    if (d.cp == '@' && (is_space(before) || before == '(')) {
      // Mentions: ASCII handle characters, ending on a letter or digit.
      std::size_t j = i + 1;
      while (j < text.size() && (ascii_alnum(text[j]) || text[j] == '.' || text[j] == '-')) ++j;
      while (j > i + 1 && !ascii_alnum(text[j - 1])) --j;
      const std::string_view handle = text.substr(i + 1, j - i - 1);
      const bool glued = j < text.size() && text[j] == '_';  // "@a.b_c" is not a handle followed by "_c"
      if (!glued && is_handle(handle) && !in_url(i, j)) {
        found.push_back({FacetKind::mention, i, j, std::string(handle)});
      }
      i = j > i + 1 ? j : i + 1;
      continue;
    }
    if ((d.cp == '#' || d.cp == 0xFF03) && is_space(before)) {
      const std::size_t tag_start = i + d.len;
      if (tag_start < text.size() && decode_at(text, tag_start).cp == 0xFE0F) {  // keycap "#️⃣"
        i = tag_start;
        continue;
      }
      std::size_t j = tag_start;
      while (j < text.size()) {
        const Decoded c = decode_at(text, j);
        if (is_space(c.cp) || is_zero_width(c.cp)) break;
        j += c.len;
      }
      const std::size_t scan_end = j;
      while (j > tag_start && is_punct(code_point_before(text, j))) {
        std::size_t k = j - 1;
        while (k > tag_start && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) --k;
        j = k;
      }
      const std::string_view tag = text.substr(tag_start, j - tag_start);
      bool meaningful = false;
      for (std::size_t k = 0; k < tag.size();) {
        const Decoded c = decode_at(tag, k);
        meaningful = meaningful || !((c.cp >= '0' && c.cp <= '9') || is_punct(c.cp));
        k += c.len;
      }
      if (meaningful && tag.size() <= 640 && multivio::text::graphemes(tag) <= 64 && !in_url(i, j)) {
        found.push_back({FacetKind::tag, i, j, std::string(tag)});
      }
      i = scan_end > i ? scan_end : i + d.len;
      continue;
    }
    i += d.len;
  }

  std::stable_sort(found.begin(), found.end(),
                   [](const FacetSpan& a, const FacetSpan& b) { return a.byte_start < b.byte_start; });
  std::vector<FacetSpan> out;
  for (auto& f : found) {
    if (!out.empty() && f.byte_start < out.back().byte_end) continue;
    out.push_back(std::move(f));
  }
  return out;
}

Json facet_json(const FacetSpan& span, std::string_view did) {
  Json feature;
  switch (span.kind) {
    case FacetKind::link:
      feature = {{"$type", "app.bsky.richtext.facet#link"}, {"uri", span.value}};
      break;
    case FacetKind::mention:
      feature = {{"$type", "app.bsky.richtext.facet#mention"}, {"did", std::string(did)}};
      break;
    case FacetKind::tag:
      feature = {{"$type", "app.bsky.richtext.facet#tag"}, {"tag", span.value}};
      break;
  }
  return {{"index", {{"byteStart", span.byte_start}, {"byteEnd", span.byte_end}}},
          {"features", Json::array({std::move(feature)})}};
}

// ---- Images -----------------------------------------------------------------

std::string_view sniff_image(std::string_view b) {
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (b.size() >= 3 && b.substr(0, 3) == "\xFF\xD8\xFF") return "image/jpeg";
  if (b.size() >= 6 && (b.substr(0, 6) == "GIF87a" || b.substr(0, 6) == "GIF89a")) return "image/gif";
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return "image/webp";
  return {};
}

std::optional<std::pair<std::uint32_t, std::uint32_t>> image_dimensions(std::string_view b) {
  using Dims = std::pair<std::uint32_t, std::uint32_t>;
  auto valid = [](std::uint32_t w, std::uint32_t h) -> std::optional<Dims> {
    if (w == 0 || h == 0) return std::nullopt;
    return Dims{w, h};
  };
  const std::string_view type = sniff_image(b);
  if (type == "image/png") {
    if (b.size() < 24 || b.substr(12, 4) != "IHDR") return std::nullopt;
    return valid(be32(b, 16), be32(b, 20));
  }
  if (type == "image/gif") {
    if (b.size() < 10) return std::nullopt;
    return valid(le16(b, 6), le16(b, 8));
  }
  if (type == "image/jpeg") {
    std::size_t i = 2;
    while (i + 4 <= b.size()) {
      if (static_cast<unsigned char>(b[i]) != 0xFF) return std::nullopt;
      const auto marker = static_cast<unsigned char>(b[i + 1]);
      if (marker == 0xFF) {  // fill byte
        ++i;
        continue;
      }
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // no length
        i += 2;
        continue;
      }
      if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // end, or scan data before any frame header
      const std::uint32_t len = be16(b, i + 2);
      const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) {
        if (i + 9 > b.size()) return std::nullopt;
        return valid(be16(b, i + 7), be16(b, i + 5));
      }
      i += 2 + len;
    }
    return std::nullopt;
  }
  if (type == "image/webp") {
    if (b.size() < 30) return std::nullopt;
    const std::string_view chunk = b.substr(12, 4);
    if (chunk == "VP8X") return valid(1 + le24(b, 24), 1 + le24(b, 27));
    if (chunk == "VP8L" && static_cast<unsigned char>(b[20]) == 0x2F) {
      const std::uint32_t bits = le32(b, 21);
      return valid(1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF));
    }
    if (chunk == "VP8 " && b.substr(23, 3) == "\x9D\x01\x2A") {
      return valid(le16(b, 26) & 0x3FFF, le16(b, 28) & 0x3FFF);
    }
  }
  return std::nullopt;
}

// ---- The post record --------------------------------------------------------

Json make_record(const PostRecord& post) {
  Json r;
  r["$type"] = std::string(k_post_collection);
  r["text"] = post.text;
  r["createdAt"] = post.created_at;
  if (!post.langs.empty()) r["langs"] = post.langs;
  if (!post.facets.empty()) r["facets"] = post.facets;
  if (!post.embed.is_null()) r["embed"] = post.embed;
  if (post.root && post.parent) {
    r["reply"] = {{"root", {{"uri", post.root->uri}, {"cid", post.root->cid}}},
                  {"parent", {{"uri", post.parent->uri}, {"cid", post.parent->cid}}}};
  }
  return r;
}

Json create_record_body(std::string_view repo, std::string_view rkey, const Json& record) {
  return {{"repo", std::string(repo)},
          {"collection", std::string(k_post_collection)},
          {"rkey", std::string(rkey)},
          {"record", record}};
}

}  // namespace multivio::platforms::bluesky
