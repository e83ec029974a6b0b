// SPDX-License-Identifier: MIT
// Per-network text length rules. Where each number comes from:
//
//   x          twitter-text config v3 (scale 100, default weight 200, four
//              weight-100 ranges, emoji parsing on, URLs 23, max 280) and its
//              conformance suite (conformance/tests/validate.yml), which the
//              unit tests replay. Text is NFC-normalised first; U+FFFE, U+FEFF
//              and U+FFFF make a post invalid.
//   mastodon   Mastodon's StatusLengthValidator: every http(s) URL counts 23,
//              "@user@domain" counts as "@user", and the rest is counted in
//              grapheme clusters (each_grapheme_cluster), limit 500 unless the
//              instance configures another (configuration.statuses.max_characters).
//   bluesky    app.bsky.feed.post lexicon: text maxGraphemes 300, maxLength
//              3000 (UTF-8 bytes). Both limits apply.
//   threads    Threads API: 500 characters, emoji counted as their UTF-8 bytes;
//              at most 5 distinct links per post (rejected since 2025-12-22).
//   linkedin   Posts API commentary: 3000 characters.
//   facebook   Page feed posts: 63206 characters.
//   instagram  Caption: 2200 characters. Hashtags: Instagram announced
//              (2025-12-19, rolled out gradually) a cap of 5 per post or reel,
//              down from 30; the lower number is used so a scheduled post is
//              not refused at publish time.
//   tiktok     Video post title (the caption): 2200 UTF-16 code units.
//   youtube    The API has no text posts: a post's text becomes the video
//              description, which allows 5000 bytes and no '<' or '>'. The
//              100-character title is the adapter's business.
//   discord    Message content: 2000 characters (code points).
//   slack      Message text: 40000 characters (code points).
//
// Where a vendor says "characters" without saying what it counts, code points
// are counted.
#include "common/text/rules.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <set>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "common/text/text.hpp"

namespace multivio::text {

namespace {

constexpr std::size_t npos = static_cast<std::size_t>(-1);

// ---------------------------------------------------------------------------
// Code points

struct CodePoint {
  char32_t value = 0;
  std::size_t begin = 0;  // byte offsets into the decoded text
  std::size_t end = 0;
};

using CodePoints = std::vector<CodePoint>;

// Ill-formed bytes decode one at a time as U+FFFD so offsets stay exact.
CodePoints decode(std::string_view s) {
  CodePoints out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = utf8_sequence_length(s.substr(i));
    if (n == 0) {
      out.push_back({0xFFFD, i, i + 1});
      ++i;
      continue;
    }
    utf8proc_int32_t cp = 0xFFFD;
    utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i), static_cast<utf8proc_ssize_t>(n), &cp);
    out.push_back({static_cast<char32_t>(cp), i, i + n});
    i += n;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  std::array<utf8proc_uint8_t, 4> buf{};
  const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf.data());
  out.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
}

// s with every ill-formed byte replaced by U+FFFD.
std::string sanitize(std::string_view s) {
  if (valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (const auto& cp : decode(s)) {
    if (cp.value == 0xFFFD && cp.end - cp.begin == 1) {
      append_utf8(out, 0xFFFD);
    } else {
      out.append(s.substr(cp.begin, cp.end - cp.begin));
    }
  }
  return out;
}

// NFC of valid UTF-8 (utf8proc_map with an explicit length, so NULs survive).
std::string nfc(std::string_view s) {
  if (s.empty()) return {};
  utf8proc_uint8_t* dst = nullptr;
  const auto* src = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  const auto n = utf8proc_map(src, static_cast<utf8proc_ssize_t>(s.size()), &dst,
                              static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
  if (n < 0 || dst == nullptr) {
    std::free(dst);
    return std::string(s);
  }
  std::string out(reinterpret_cast<const char*>(dst), static_cast<std::size_t>(n));
  std::free(dst);
  return out;
}

bool ascii_alpha(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool ascii_alnum(char32_t c) { return ascii_alpha(c) || ascii_digit(c); }
char32_t ascii_lower(char32_t c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

utf8proc_category_t category(char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)); }

bool letter(char32_t c) {
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}

// Letters, marks and numbers.
bool alnum_or_mark(char32_t c) {
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO;
}

// Ruby/Onigmo [[:word:]]: letters, marks, numbers and connector punctuation.
bool word_char(char32_t c) { return alnum_or_mark(c) || category(c) == UTF8PROC_CATEGORY_PC; }

// Unicode White_Space.
bool white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool extended_pictographic(char32_t c) {
  const auto* property = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
  return property->boundclass == UTF8PROC_BOUNDCLASS_EXTENDED_PICTOGRAPHIC;
}

bool regional_indicator(char32_t c) { return c >= 0x1F1E6 && c <= 0x1F1FF; }

std::size_t utf8_bytes(const CodePoints& cps, std::size_t b, std::size_t e) {
  return b < e ? cps[e - 1].end - cps[b].begin : 0;
}

// ---------------------------------------------------------------------------
// Grapheme clusters and emoji

// Calls f(first, last) for each extended grapheme cluster of cps[b, e).
template <class F>
void for_each_cluster(const CodePoints& cps, std::size_t b, std::size_t e, F&& f) {
  if (b >= e) return;
  utf8proc_int32_t state = 0;
  std::size_t start = b;
  for (std::size_t i = b + 1; i < e; ++i) {
    if (utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(cps[i - 1].value),
                                         static_cast<utf8proc_int32_t>(cps[i].value), &state)) {
      f(start, i);
      start = i;
    }
  }
  f(start, e);
}

std::size_t count_clusters(const CodePoints& cps, std::size_t b, std::size_t e) {
  std::size_t n = 0;
  for_each_cluster(cps, b, e, [&](std::size_t, std::size_t) { ++n; });
  return n;
}

// Whether a grapheme cluster is one emoji the way twitter-text's emoji grammar
// sees it: pictographs with their skin tones, ZWJ sequences and tags, flags
// (regional indicator pairs), keycaps, and anything pictographic with VS16.
// Bare (c), (R) and TM stay text; VS15 (text presentation) is never an emoji.
bool emoji_cluster(const CodePoints& cps, std::size_t b, std::size_t e) {
  bool keycap = false;
  for (std::size_t i = b; i < e; ++i) {
    if (cps[i].value == 0xFE0E) return false;
    if (cps[i].value == 0x20E3) keycap = true;
  }
  const char32_t first = cps[b].value;
  if (regional_indicator(first)) return true;
  if (keycap && (ascii_digit(first) || first == '#' || first == '*')) return true;
  if (!extended_pictographic(first)) return false;
  if (e - b == 1 && (first == 0xA9 || first == 0xAE || first == 0x2122)) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Top-level domains. Country codes are IANA's (as twitter-text ships them,
// internationalised ones included); generic ones are a selection of the
// common ones. URLs with a scheme also accept any other alphabetic TLD.

constexpr std::string_view kCountryTlds[] = {
    "ac", "ad", "ae", "af", "ag", "ai", "al", "am", "an", "ao", "aq", "ar", "as", "at", "au", "aw", "ax", "az",
    "ba", "bb", "bd", "be", "bf", "bg", "bh", "bi", "bj", "bl", "bm", "bn", "bo", "bq", "br", "bs", "bt", "bv",
    "bw", "by", "bz", "ca", "cc", "cd", "cf", "cg", "ch", "ci", "ck", "cl", "cm", "cn", "co", "cr", "cu", "cv",
    "cw", "cx", "cy", "cz", "de", "dj", "dk", "dm", "do", "dz", "ec", "ee", "eg", "eh", "er", "es", "et", "eu",
    "fi", "fj", "fk", "fm", "fo", "fr", "ga", "gb", "gd", "ge", "gf", "gg", "gh", "gi", "gl", "gm", "gn", "gp",
    "gq", "gr", "gs", "gt", "gu", "gw", "gy", "hk", "hm", "hn", "hr", "ht", "hu", "id", "ie", "il", "im", "in",
    "io", "iq", "ir", "is", "it", "je", "jm", "jo", "jp", "ke", "kg", "kh", "ki", "km", "kn", "kp", "kr", "kw",
    "ky", "kz", "la", "lb", "lc", "li", "lk", "lr", "ls", "lt", "lu", "lv", "ly", "ma", "mc", "md", "me", "mf",
    "mg", "mh", "mk", "ml", "mm", "mn", "mo", "mp", "mq", "mr", "ms", "mt", "mu", "mv", "mw", "mx", "my", "mz",
    "na", "nc", "ne", "nf", "ng", "ni", "nl", "no", "np", "nr", "nu", "nz", "om", "pa", "pe", "pf", "pg", "ph",
    "pk", "pl", "pm", "pn", "pr", "ps", "pt", "pw", "py", "qa", "re", "ro", "rs", "ru", "rw", "sa", "sb", "sc",
    "sd", "se", "sg", "sh", "si", "sj", "sk", "sl", "sm", "sn", "so", "sr", "ss", "st", "su", "sv", "sx", "sy",
    "sz", "tc", "td", "tf", "tg", "th", "tj", "tk", "tl", "tm", "tn", "to", "tp", "tr", "tt", "tv", "tw", "tz",
    "ua", "ug", "uk", "um", "us", "uy", "uz", "va", "vc", "ve", "vg", "vi", "vn", "vu", "wf", "ws", "ye", "yt",
    "za", "zm", "zw",
    // internationalised country codes
    "한국", "香港", "澳門", "新加坡", "台灣", "台湾", "中國", "中国", "გე", "ລາວ", "ไทย", "ලංකා", "ഭാരതം", "ಭಾರತ", "భారత్",
    "சிங்கப்பூர்", "இலங்கை", "இந்தியா", "ଭାରତ", "ભારત", "ਭਾਰਤ", "ভাৰত", "ভারত", "বাংলা", "भारत", "پاکستان", "مصر",
    "قطر", "فلسطين", "عمان", "عراق", "سورية", "سودان", "تونس", "بھارت", "ایران", "امارات", "المغرب", "السعودية",
    "الجزائر", "البحرين", "الاردن", "հայ", "қаз", "укр", "срб", "рф", "мон", "мкд", "бел", "бг", "ελ",
};

constexpr std::string_view kGenericTlds[] = {
    "academy", "aero", "africa", "agency", "amsterdam", "app", "art", "asia", "audio", "auto", "bar", "bayern",
    "beer", "berlin", "best", "bike", "bio", "biz", "blog", "blue", "book", "boston", "brussels", "build",
    "business", "buzz", "cafe", "camera", "camp", "capital", "cards", "care", "careers", "cash", "cat", "center",
    "chat", "cheap", "church", "city", "click", "clinic", "cloud", "club", "codes", "coffee", "com", "community",
    "company", "computer", "consulting", "cool", "coop", "crypto", "dance", "data", "date", "dating", "deals",
    "design", "dev", "diet", "digital", "direct", "directory", "discount", "dog", "domains", "download", "earth",
    "eco", "edu", "education", "email", "energy", "engineering", "enterprises", "equipment", "estate", "events",
    "exchange", "expert", "express", "faith", "family", "fan", "farm", "fashion", "film", "finance", "fit",
    "fitness", "flights", "foo", "food", "football", "foundation", "free", "fun", "fund", "furniture", "futbol",
    "gallery", "game", "games", "garden", "gay", "gift", "gifts", "gives", "glass", "global", "gmbh", "gold",
    "golf", "gov", "graphics", "green", "group", "guide", "guru", "hamburg", "health", "help", "hiphop", "hockey",
    "holdings", "holiday", "home", "homes", "horse", "host", "hosting", "house", "how", "inc", "industries",
    "info", "ink", "institute", "insure", "int", "international", "investments", "jetzt", "jewelry", "jobs", "kim",
    "kitchen", "koeln", "land", "lat", "law", "lawyer", "lgbt", "life", "lighting", "limited", "link", "live",
    "llc", "loan", "loans", "lol", "london", "love", "ltd", "luxury", "management", "market", "marketing", "mba",
    "media", "memorial", "men", "menu", "miami", "mil", "mobi", "moda", "moe", "mom", "money", "mov", "movie",
    "museum", "music", "name", "navy", "net", "network", "news", "nexus", "ngo", "ninja", "nrw", "nyc", "one",
    "ong", "onl", "online", "ooo", "org", "page", "paris", "partners", "parts", "party", "pet", "photo",
    "photography", "photos", "pics", "pictures", "pink", "pizza", "place", "plus", "poker", "post", "press", "pro",
    "productions", "promo", "properties", "pub", "quebec", "quest", "radio", "realestate", "recipes", "red",
    "rehab", "reise", "rentals", "repair", "report", "rest", "restaurant", "review", "reviews", "rich", "rip",
    "rocks", "rodeo", "run", "sale", "salon", "sarl", "school", "science", "scot", "services", "shoes", "shop",
    "shopping", "show", "singles", "site", "ski", "soccer", "social", "software", "solar", "solutions", "space",
    "sport", "store", "stream", "studio", "style", "supply", "support", "surf", "systems", "tattoo", "tax", "taxi",
    "team", "tech", "technology", "tel", "tennis", "theater", "tips", "today", "tokyo", "tools", "top", "tours",
    "town", "toys", "trade", "training", "travel", "tube", "university", "uno", "vacations", "vegas", "ventures",
    "vet", "video", "villas", "vin", "vip", "vision", "vodka", "vote", "voyage", "wales", "watch", "webcam",
    "website", "wedding", "wien", "wiki", "win", "wine", "work", "works", "world", "xxx", "xyz", "yoga", "zip",
    "zone", "zuerich",
};

const std::set<std::string, std::less<>>& tld_set() {
  static const std::set<std::string, std::less<>> set = [] {
    std::set<std::string, std::less<>> s;
    for (auto t : kCountryTlds) s.emplace(t);
    for (auto t : kGenericTlds) s.emplace(t);
    return s;
  }();
  return set;
}

std::size_t longest_ascii_tld() {
  static const std::size_t n = [] {
    std::size_t m = 0;
    for (auto t : kGenericTlds) m = std::max(m, t.size());
    return m;
  }();
  return n;
}

// Lower-cased UTF-8 of cps[b, e).
std::string lower_utf8(const CodePoints& cps, std::size_t b, std::size_t e) {
  std::string out;
  for (std::size_t i = b; i < e; ++i) {
    append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cps[i].value))));
  }
  return out;
}

bool known_tld(const CodePoints& cps, std::size_t b, std::size_t e) {
  return tld_set().contains(lower_utf8(cps, b, e));
}

// Length of the RFC 3492 (punycode) encoding of a label, without "xn--".
std::size_t punycode_length(const std::vector<char32_t>& input) {
  constexpr std::uint64_t base = 36, tmin = 1, tmax = 26, skew = 38, damp = 700;
  if (input.size() > 1000) return npos;  // far past any label limit; avoids overflow
  auto adapt = [&](std::uint64_t delta, std::uint64_t points, bool first) {
    delta = first ? delta / damp : delta / 2;
    delta += delta / points;
    std::uint64_t k = 0;
    while (delta > ((base - tmin) * tmax) / 2) {
      delta /= base - tmin;
      k += base;
    }
    return k + (base - tmin + 1) * delta / (delta + skew);
  };
  std::size_t out = 0;
  std::uint64_t basic = 0;
  for (char32_t c : input) {
    if (c < 0x80) ++basic;
  }
  out = basic + (basic > 0 ? 1 : 0);
  std::uint64_t n = 0x80, delta = 0, bias = 72, h = basic;
  while (h < input.size()) {
    std::uint64_t m = UINT64_MAX;
    for (char32_t c : input) {
      if (c >= n) m = std::min<std::uint64_t>(m, c);
    }
    delta += (m - n) * (h + 1);
    n = m;
    for (char32_t c : input) {
      if (c < n) ++delta;
      if (c == n) {
        std::uint64_t q = delta;
        for (std::uint64_t k = base;; k += base) {
          const std::uint64_t t = k <= bias ? tmin : (k >= bias + tmax ? tmax : k - bias);
          if (q < t) break;
          ++out;
          q = (q - t) / (base - t);
        }
        ++out;
        bias = adapt(delta, h + 1, h == basic);
        delta = 0;
        ++h;
      }
    }
    ++delta;
    ++n;
  }
  return out;
}

// ---------------------------------------------------------------------------
// URL finder

struct Label {
  std::size_t b = 0, e = 0;  // code point indices
};

class UrlFinder {
 public:
  explicit UrlFinder(const CodePoints& cps) : c_(cps), n_(cps.size()) {}

  // Spans as code point index ranges.
  std::vector<std::pair<std::size_t, std::size_t>> find() const {
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    std::size_t i = 0;
    while (i < n_) {
      std::size_t end = npos;
      if (scheme_may_start(i)) {
        const std::size_t after = match_scheme(i);
        if (after != npos) end = with_scheme(after);
      }
      if (end == npos && bare_may_start(i)) end = without_scheme(i);
      if (end != npos) {
        spans.emplace_back(i, end);
        i = end;
      } else {
        ++i;
      }
    }
    return spans;
  }

 private:
  const CodePoints& c_;
  std::size_t n_;

  char32_t at(std::size_t i) const { return i < n_ ? c_[i].value : 0; }

  static bool blocks_start(char32_t p) {
    return ascii_alnum(p) || p == '@' || p == 0xFF20 || p == '#' || p == 0xFF03 || p == '$';
  }
  bool scheme_may_start(std::size_t i) const { return i == 0 || !blocks_start(c_[i - 1].value); }
  bool bare_may_start(std::size_t i) const {
    if (!ascii_alnum(c_[i].value)) return false;
    if (i == 0) return true;
    const char32_t p = c_[i - 1].value;
    return !blocks_start(p) && p != '.' && p != '-' && p != '_' && p != '/';
  }

  // Index after "http://" or "https://" (any case) at i, or npos.
  std::size_t match_scheme(std::size_t i) const {
    static constexpr std::string_view http = "http";
    for (std::size_t k = 0; k < http.size(); ++k) {
      if (ascii_lower(at(i + k)) != static_cast<char32_t>(http[k])) return npos;
    }
    std::size_t j = i + http.size();
    if (ascii_lower(at(j)) == 's') ++j;
    if (at(j) == ':' && at(j + 1) == '/' && at(j + 2) == '/') return j + 3;
    return npos;
  }

  static bool label_char(char32_t ch, bool unicode) {
    if (ch < 0x80) return ascii_alnum(ch) || ch == '-' || ch == '_';
    if (!unicode || white_space(ch)) return false;
    const auto cat = category(ch);
    // Anything but punctuation, separators and controls/format characters.
    return cat != UTF8PROC_CATEGORY_CN && !(cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO) &&
           cat < UTF8PROC_CATEGORY_ZS;
  }

  std::vector<Label> labels_from(std::size_t p, bool unicode) const {
    std::vector<Label> out;
    while (p < n_) {
      std::size_t q = p;
      while (q < n_ && label_char(c_[q].value, unicode)) ++q;
      if (q == p) break;
      out.push_back({p, q});
      if (at(q) == '.' && q + 1 < n_ && label_char(c_[q + 1].value, unicode)) {
        p = q + 1;
        continue;
      }
      break;
    }
    return out;
  }

  bool valid_label(std::size_t b, std::size_t e, bool allow_underscore) const {
    if (b >= e) return false;
    const char32_t first = c_[b].value, last = c_[e - 1].value;
    if (first == '-' || last == '-' || first == '_' || last == '_') return false;
    bool ascii = true;
    for (std::size_t i = b; i < e; ++i) {
      if (c_[i].value == '_' && !allow_underscore) return false;
      if (c_[i].value >= 0x80) ascii = false;
    }
    if (ascii) return e - b <= 63;
    // An internationalised label must fit DNS's 63 bytes once encoded as
    // "xn--" + punycode; one that already claims to be encoded is malformed.
    if (e - b >= 4 && ascii_lower(c_[b].value) == 'x' && ascii_lower(c_[b + 1].value) == 'n' &&
        c_[b + 2].value == '-' && c_[b + 3].value == '-') {
      return false;
    }
    std::vector<char32_t> lowered;
    for (std::size_t i = b; i < e; ++i) {
      lowered.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c_[i].value))));
    }
    const std::size_t encoded = punycode_length(lowered);
    return encoded != npos && encoded + 4 <= 63;
  }

  // Labels[0..k] form a host whose last label ends at tld_end. Underscores
  // only in subdomains.
  bool valid_host(const std::vector<Label>& labels, std::size_t k, std::size_t tld_end) const {
    for (std::size_t j = 0; j <= k; ++j) {
      const std::size_t e = j == k ? tld_end : labels[j].e;
      if (!valid_label(labels[j].b, e, j + 1 < k)) return false;
    }
    return true;
  }

  // Length of the longest known ASCII TLD that starts label l and is followed
  // by something other than an ASCII letter, digit or underscore
  // ("example.comだよね", "domain.com-and-more"), or 0.
  std::size_t tld_prefix(const Label& l) const {
    const std::size_t len = l.e - l.b;
    for (std::size_t k = std::min(len - 1, longest_ascii_tld()); k >= 2; --k) {
      const char32_t next = c_[l.b + k].value;
      if (ascii_alnum(next) || next == '_') continue;
      bool ascii = true;
      for (std::size_t i = l.b; i < l.b + k; ++i) ascii = ascii && ascii_alpha(c_[i].value);
      if (ascii && known_tld(c_, l.b, l.b + k)) return k;
    }
    return 0;
  }

  bool alphabetic_tld(const Label& l) const {
    bool all_ascii = true, all_letters = true;
    for (std::size_t i = l.b; i < l.e; ++i) {
      const char32_t ch = c_[i].value;
      if (ch < 0x80) {
        all_letters = all_letters && ascii_alpha(ch);
      } else {
        all_ascii = false;
        all_letters = all_letters && (letter(ch) || category(ch) == UTF8PROC_CATEGORY_MN ||
                                      category(ch) == UTF8PROC_CATEGORY_MC);
      }
    }
    if (!all_letters) return false;
    if (all_ascii) return l.e - l.b >= 2;
    for (std::size_t i = l.b; i < l.e; ++i) {
      if (c_[i].value < 0x80) return false;  // mixed scripts: not a TLD
    }
    return true;
  }

  // End (code point index) of the domain name in labels, or npos. Picks the
  // last label that is a known TLD; else a known TLD that begins a label and
  // is cut off by a character foreign to ASCII labels; else (with a scheme)
  // any alphabetic last label.
  std::size_t domain_end(const std::vector<Label>& labels, bool scheme) const {
    if (labels.size() < 2) return npos;
    for (std::size_t k = labels.size() - 1; k >= 1; --k) {
      if (known_tld(c_, labels[k].b, labels[k].e)) {
        return valid_host(labels, k, labels[k].e) ? labels[k].e : npos;
      }
    }
    for (std::size_t k = labels.size() - 1; k >= 1; --k) {
      const std::size_t len = tld_prefix(labels[k]);
      if (len > 0) return valid_host(labels, k, labels[k].b + len) ? labels[k].b + len : npos;
    }
    if (scheme && alphabetic_tld(labels.back())) {
      const std::size_t k = labels.size() - 1;
      return valid_host(labels, k, labels[k].e) ? labels[k].e : npos;
    }
    return npos;
  }

  std::size_t ipv4_end(const std::vector<Label>& labels) const {
    if (labels.size() != 4) return npos;
    for (const auto& l : labels) {
      if (l.e - l.b > 3) return npos;
      unsigned value = 0;
      for (std::size_t i = l.b; i < l.e; ++i) {
        if (!ascii_digit(c_[i].value)) return npos;
        value = value * 10 + static_cast<unsigned>(c_[i].value - '0');
      }
      if (value > 255 || (l.e - l.b > 1 && c_[l.b].value == '0')) return npos;
    }
    return labels.back().e;
  }

  std::size_t ipv6_end(std::size_t p) const {
    if (at(p) != '[') return npos;
    std::size_t q = p + 1, colons = 0;
    auto hex_digit = [](char32_t ch) { return ascii_digit(ch) || (ascii_lower(ch) >= 'a' && ascii_lower(ch) <= 'f'); };
    while (q < n_ && (hex_digit(c_[q].value) || c_[q].value == ':' || c_[q].value == '.')) {
      if (c_[q].value == ':') ++colons;
      ++q;
    }
    return (at(q) == ']' && colons >= 2) ? q + 1 : npos;
  }

  // Non-ASCII characters twitter-text allows in a path: Latin with accents,
  // combining marks, Cyrillic, and the en dash.
  static bool path_char(char32_t ch) {
    if (ch < 0x80) {
      if (ch <= 0x20 || ch == 0x7F) return false;
      constexpr std::string_view excluded = "\"<>\\^`{}";
      return excluded.find(static_cast<char>(ch)) == std::string_view::npos;
    }
    return (ch >= 0xC0 && ch <= 0x24F && ch != 0xD7 && ch != 0xF7) || (ch >= 0x253 && ch <= 0x2BB) ||
           (ch >= 0x300 && ch <= 0x36F) || (ch >= 0x400 && ch <= 0x4FF) || (ch >= 0x1E00 && ch <= 0x1EFF) ||
           ch == 0x2013;
  }

  // Port, path, query and fragment after a host ending at q.
  std::size_t rest_of_url(std::size_t q) const {
    if (at(q) == '@') return npos;  // user@host: an address, not a URL
    if (at(q) == ':' && ascii_digit(at(q + 1)) && at(q + 1) != '0') {
      q += 2;
      while (ascii_digit(at(q))) ++q;
    }
    if (at(q) != '/' && at(q) != '?' && at(q) != '#') return q;
    const std::size_t path_start = q;
    while (q < n_ && path_char(c_[q].value)) ++q;
    // Trailing punctuation ends a sentence, not a URL; closing brackets stay
    // when the URL opened them ("Primer_(film)").
    constexpr std::string_view trailing = ".,:;!?'\")]}";
    constexpr std::string_view opening = "([{", closing = ")]}";
    std::array<std::size_t, 3> opens{}, closes{};
    for (std::size_t i = path_start; i < q; ++i) {
      if (c_[i].value >= 0x80) continue;
      const auto ch = static_cast<char>(c_[i].value);
      if (const auto k = opening.find(ch); k != std::string_view::npos) ++opens[k];
      if (const auto k = closing.find(ch); k != std::string_view::npos) ++closes[k];
    }
    while (q > path_start) {
      const char32_t last = c_[q - 1].value;
      if (last >= 0x80 || trailing.find(static_cast<char>(last)) == std::string_view::npos) break;
      if (const auto k = closing.find(static_cast<char>(last)); k != std::string_view::npos) {
        if (opens[k] >= closes[k]) break;
        --closes[k];
      }
      --q;
    }
    return q;
  }

  std::size_t with_scheme(std::size_t p) const {
    // Optional user info ("user:password@").
    std::size_t q = p;
    constexpr std::string_view userinfo = "-._~!$&'()*+,;=:%";
    auto userinfo_char = [&](char32_t ch) {
      return ascii_alnum(ch) || (ch < 0x80 && userinfo.find(static_cast<char>(ch)) != std::string_view::npos);
    };
    while (q < n_ && userinfo_char(c_[q].value)) ++q;
    if (q > p && at(q) == '@' && q + 1 < n_) p = q + 1;

    std::size_t host_end = ipv6_end(p);
    if (host_end == npos) {
      const auto labels = labels_from(p, true);
      host_end = ipv4_end(labels);
      if (host_end == npos) host_end = domain_end(labels, true);
    }
    if (host_end == npos) return npos;
    return rest_of_url(host_end);
  }

  std::size_t without_scheme(std::size_t p) const {
    const std::size_t host_end = domain_end(labels_from(p, false), false);
    if (host_end == npos) return npos;
    return rest_of_url(host_end);
  }
};

std::vector<std::pair<std::size_t, std::size_t>> url_spans(const CodePoints& cps) { return UrlFinder(cps).find(); }

bool starts_with_scheme(const CodePoints& cps, std::size_t b) {
  auto at = [&](std::size_t k) -> char32_t { return k < cps.size() ? ascii_lower(cps[k].value) : 0; };
  if (at(b) != 'h' || at(b + 1) != 't' || at(b + 2) != 't' || at(b + 3) != 'p') return false;
  std::size_t j = b + 4;
  if (at(j) == 's') ++j;
  return at(j) == ':' && at(j + 1) == '/' && at(j + 2) == '/';
}

// ---------------------------------------------------------------------------
// Per-network measures

std::size_t x_weight(char32_t c) {
  if (c <= 4351 || (c >= 8192 && c <= 8205) || (c >= 8208 && c <= 8223) || (c >= 8242 && c <= 8247)) return 100;
  return 200;
}

std::size_t x_segment_weight(const CodePoints& cps, std::size_t b, std::size_t e) {
  std::size_t weight = 0;
  for_each_cluster(cps, b, e, [&](std::size_t first, std::size_t last) {
    if (emoji_cluster(cps, first, last)) {
      weight += 200;
    } else {
      for (std::size_t i = first; i < last; ++i) weight += x_weight(cps[i].value);
    }
  });
  return weight;
}

// Sum of per-segment values over cps, with every URL span worth url_value.
template <class Segment>
std::size_t sum_around(const CodePoints& cps, const std::vector<std::pair<std::size_t, std::size_t>>& spans,
                       std::size_t url_value, Segment&& segment) {
  std::size_t total = 0, pos = 0;
  for (const auto& [b, e] : spans) {
    total += segment(pos, b) + url_value;
    pos = e;
  }
  return total + segment(pos, cps.size());
}

std::size_t x_weighted(const CodePoints& cps) {
  return sum_around(cps, url_spans(cps), 23 * 100,
                    [&](std::size_t b, std::size_t e) { return x_segment_weight(cps, b, e); }) /
         100;
}

bool username_char(char32_t c) { return ascii_alnum(c) || c == '_'; }

// Mastodon mention "@user@domain" at i: returns {end, length of "@user"} or
// {npos, 0}. Only remote mentions (with a domain) are reported.
std::pair<std::size_t, std::size_t> remote_mention(const CodePoints& cps, std::size_t i, std::size_t limit) {
  auto at = [&](std::size_t k) -> char32_t { return k < limit ? cps[k].value : 0; };
  if (at(i) != '@') return {npos, 0};
  if (i > 0) {
    const char32_t p = cps[i - 1].value;
    if (p == '=' || p == '/' || word_char(p)) return {npos, 0};
  }
  // [a-z0-9_]+ ([.-]+ [a-z0-9_]+)*
  std::size_t q = i + 1;
  if (!username_char(at(q))) return {npos, 0};
  while (username_char(at(q))) ++q;
  for (;;) {
    std::size_t r = q;
    while (at(r) == '.' || at(r) == '-') ++r;
    if (r == q || !username_char(at(r))) break;
    while (username_char(at(r))) ++r;
    q = r;
  }
  const std::size_t user_len = q - i;  // "@user"
  // @ [[:word:].-]+ ending in a word character
  if (at(q) != '@') return {npos, 0};
  std::size_t r = q + 1, last_word = npos;
  while (r < limit && (word_char(at(r)) || at(r) == '.' || at(r) == '-')) {
    if (word_char(at(r))) last_word = r;
    ++r;
  }
  if (last_word == npos) return {npos, 0};
  return {last_word + 1, user_len};
}

std::size_t mastodon_count(const CodePoints& cps) {
  auto spans = url_spans(cps);
  std::erase_if(spans, [&](const auto& s) { return !starts_with_scheme(cps, s.first); });
  auto segment = [&](std::size_t b, std::size_t e) {
    std::size_t total = 0, pos = b;
    for (std::size_t i = b; i < e; ++i) {
      const auto [end, len] = remote_mention(cps, i, e);
      if (end == npos) continue;
      total += count_clusters(cps, pos, i) + len;
      pos = end;
      i = end - 1;
    }
    return total + count_clusters(cps, pos, e);
  };
  return sum_around(cps, spans, 23, segment);
}

std::size_t threads_count(const CodePoints& cps) {
  std::size_t n = 0;
  for_each_cluster(cps, 0, cps.size(), [&](std::size_t b, std::size_t e) {
    n += emoji_cluster(cps, b, e) ? utf8_bytes(cps, b, e) : e - b;
  });
  return n;
}

std::size_t distinct_links(std::string_view text, const CodePoints& cps) {
  std::set<std::string, std::less<>> seen;
  for (const auto& [b, e] : url_spans(cps)) seen.emplace(text.substr(cps[b].begin, cps[e - 1].end - cps[b].begin));
  return seen.size();
}

// Hashtags: '#' (or the fullwidth one) not preceded by a word character or
// '&', then word characters with at least one that is not a digit; those
// inside URLs do not count.
std::size_t hashtags(const CodePoints& cps) {
  const auto spans = url_spans(cps);
  auto in_url = [&](std::size_t i) {  // spans are sorted and disjoint
    const auto it =
        std::upper_bound(spans.begin(), spans.end(), i, [](std::size_t v, const auto& s) { return v < s.first; });
    return it != spans.begin() && i < std::prev(it)->second;
  };
  std::size_t count = 0;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i].value;
    if (c != '#' && c != 0xFF03) continue;
    if (i > 0 && (word_char(cps[i - 1].value) || cps[i - 1].value == '&')) continue;
    std::size_t q = i + 1;
    bool non_digit = false;
    while (q < cps.size() && (word_char(cps[q].value) || cps[q].value == 0x200C || cps[q].value == 0x200D)) {
      if (!ascii_digit(cps[q].value) && category(cps[q].value) != UTF8PROC_CATEGORY_ND) non_digit = true;
      ++q;
    }
    if (q > i + 1 && non_digit && !in_url(i)) ++count;
    i = q - 1;
  }
  return count;
}

std::size_t utf16_units(const CodePoints& cps) {
  std::size_t n = 0;
  for (const auto& cp : cps) n += cp.value >= 0x10000 ? 2 : 1;
  return n;
}

// ---------------------------------------------------------------------------
// Network table

enum class Net { x, mastodon, bluesky, threads, linkedin, facebook, instagram, tiktok, youtube, discord, slack };

struct NetworkRule {
  std::string_view name;
  Net net;
  std::size_t limit;
  std::string_view unit;
};

constexpr std::array<NetworkRule, 11> kNetworks = {{
    {"x", Net::x, 280, "weighted characters"},
    {"mastodon", Net::mastodon, 500, "characters"},
    {"bluesky", Net::bluesky, 300, "graphemes"},
    {"threads", Net::threads, 500, "characters"},
    {"linkedin", Net::linkedin, 3000, "characters"},
    {"facebook", Net::facebook, 63206, "characters"},
    {"instagram", Net::instagram, 2200, "characters"},
    {"tiktok", Net::tiktok, 2200, "UTF-16 code units"},
    {"youtube", Net::youtube, 5000, "bytes"},
    {"discord", Net::discord, 2000, "characters"},
    {"slack", Net::slack, 40000, "characters"},
}};

constexpr std::size_t kBlueskyMaxBytes = 3000;
constexpr std::size_t kThreadsMaxLinks = 5;
constexpr std::size_t kInstagramMaxHashtags = 5;

const NetworkRule* find_rule(std::string_view network) {
  for (const auto& rule : kNetworks) {
    if (rule.name == network) return &rule;
  }
  return nullptr;
}

std::string too_many(std::size_t have, std::string_view what, std::string_view network, std::size_t allowed) {
  return "text has " + std::to_string(have) + " " + std::string(what) + "; " + std::string(network) + " allows " +
         std::to_string(allowed);
}

std::string too_long(std::size_t have, std::string_view unit, std::string_view network, std::size_t allowed) {
  return "text is " + std::to_string(have) + " " + std::string(unit) + "; " + std::string(network) + " allows " +
         std::to_string(allowed);
}

std::string hex(char32_t c) {
  static constexpr std::string_view digits = "0123456789ABCDEF";
  std::string out;
  for (int shift = c > 0xFFFF ? 20 : 12; shift >= 0; shift -= 4) out += digits[(c >> shift) & 0xF];
  return "U+" + out;
}

}  // namespace

bool has_rules(std::string_view network) { return find_rule(network) != nullptr; }

std::vector<std::string_view> networks_with_rules() {
  std::vector<std::string_view> out;
  for (const auto& rule : kNetworks) out.push_back(rule.name);
  return out;
}

std::size_t x_weighted_length(std::string_view text) { return x_weighted(decode(nfc(sanitize(text)))); }

std::size_t mastodon_length(std::string_view text) { return mastodon_count(decode(text)); }

std::size_t graphemes(std::string_view text) {
  const auto cps = decode(text);
  return count_clusters(cps, 0, cps.size());
}

std::vector<UrlSpan> find_urls(std::string_view text) {
  const auto cps = decode(text);
  std::vector<UrlSpan> out;
  for (const auto& [b, e] : url_spans(cps)) out.push_back({cps[b].begin, cps[e - 1].end});
  return out;
}

LengthReport measure(std::string_view network, std::string_view text, std::size_t limit_override) {
  const NetworkRule* rule = find_rule(network);
  if (rule == nullptr) {
    std::string known;
    for (const auto& r : kNetworks) known += (known.empty() ? "" : ", ") + std::string(r.name);
    throw_usage("no text rules for network '" + std::string(network) + "' (known: " + known + ")");
  }

  LengthReport report;
  if (!valid_utf8(text)) {
    report.length = text.size();
    report.unit = "bytes";
    report.problems.emplace_back("text is not valid UTF-8");
    return report;
  }

  report.unit = std::string(rule->unit);
  report.limit = limit_override > 0 ? limit_override : rule->limit;
  const auto cps = decode(text);
  if (std::all_of(cps.begin(), cps.end(), [](const CodePoint& c) { return white_space(c.value); })) {
    report.problems.emplace_back("text is empty");
  }

  switch (rule->net) {
    case Net::x: {
      const auto normalized = decode(nfc(text));
      report.length = x_weighted(normalized);
      for (const auto& c : normalized) {
        if (c.value == 0xFFFE || c.value == 0xFEFF || c.value == 0xFFFF) {
          report.problems.push_back("text contains " + hex(c.value) + ", which x does not accept");
          break;
        }
      }
      break;
    }
    case Net::mastodon:
      report.length = mastodon_count(cps);
      break;
    case Net::bluesky:
      report.length = count_clusters(cps, 0, cps.size());
      break;
    case Net::threads:
      report.length = threads_count(cps);
      break;
    case Net::tiktok:
      report.length = utf16_units(cps);
      break;
    case Net::youtube:
      // YouTube has no text posts; the text goes out as the video description.
      report.length = text.size();
      break;
    case Net::linkedin:
    case Net::facebook:
    case Net::instagram:
    case Net::discord:
    case Net::slack:
      report.length = cps.size();
      break;
  }

  if (report.length > report.limit) {
    report.problems.push_back(too_long(report.length, report.unit, rule->name, report.limit));
  }

  switch (rule->net) {
    case Net::bluesky:
      if (text.size() > kBlueskyMaxBytes) {
        report.problems.push_back(too_long(text.size(), "bytes", rule->name, kBlueskyMaxBytes));
      }
      break;
    case Net::threads:
      if (const auto links = distinct_links(text, cps); links > kThreadsMaxLinks) {
        report.problems.push_back(too_many(links, "links", rule->name, kThreadsMaxLinks));
      }
      break;
    case Net::instagram:
      if (const auto tags = hashtags(cps); tags > kInstagramMaxHashtags) {
        report.problems.push_back(too_many(tags, "hashtags", rule->name, kInstagramMaxHashtags));
      }
      break;
    case Net::youtube:
      if (text.find_first_of("<>") != std::string_view::npos) {
        report.problems.emplace_back("text contains '<' or '>', which youtube does not allow in a description");
      }
      break;
    default:
      break;
  }
  return report;
}

}  // namespace multivio::text
