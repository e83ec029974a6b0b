// SPDX-License-Identifier: MIT
#include "common/platforms/youtube/wire.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/platforms/settings.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::youtube {

namespace {

using Json = nlohmann::json;
using namespace std::chrono;

[[noreturn]] void unexpected(std::string_view what, std::string_view body) {
  throw Error(ErrorKind::permanent,
              "unexpected " + std::string(what) + " from youtube: " + text::truncate_code_points(body, 200));
}

bool has_angle_brackets(std::string_view s) { return s.find_first_of("<>") != std::string_view::npos; }

std::optional<std::uint64_t> digits(std::string_view s) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return n;
}

// The instants DST begins and ends in the US Pacific zone in `y` (Energy
// Policy Act of 2005 rules, in force since 2007): 02:00 PST = 10:00 UTC and
// 02:00 PDT = 09:00 UTC.
bool pacific_dst(sys_seconds t) {
  const year y = year_month_day{floor<days>(t)}.year();
  const sys_seconds begins = sys_days{y / March / Sunday[2]} + hours{10};
  const sys_seconds ends = sys_days{y / November / Sunday[1]} + hours{9};
  return t >= begins && t < ends;
}

seconds pacific_offset(sys_seconds t) { return pacific_dst(t) ? hours{-7} : hours{-8}; }

}  // namespace

std::string video_body(const VideoMetadata& m) {
  nlohmann::ordered_json snippet;
  snippet["title"] = m.title;
  snippet["description"] = m.description;
  if (!m.tags.empty()) snippet["tags"] = m.tags;
  if (!m.category_id.empty()) snippet["categoryId"] = m.category_id;
  nlohmann::ordered_json status;
  status["privacyStatus"] = m.privacy;
  if (!m.publish_at.empty()) status["publishAt"] = m.publish_at;
  status["selfDeclaredMadeForKids"] = m.made_for_kids;
  nlohmann::ordered_json body;
  body["snippet"] = std::move(snippet);
  body["status"] = std::move(status);
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

TitleAndDescription split_text(std::string_view text) {
  const auto newline = text.find('\n');
  TitleAndDescription out;
  out.title = std::string(text::trim(text.substr(0, newline)));
  if (newline != std::string_view::npos) out.description = std::string(text::trim(text.substr(newline + 1)));
  return out;
}

std::vector<std::string> text_problems(const TitleAndDescription& t) {
  std::vector<std::string> problems;
  if (!text::valid_utf8(t.title) || !text::valid_utf8(t.description)) {
    problems.emplace_back("text is not valid UTF-8");
    return problems;
  }
  if (t.title.empty()) {
    problems.emplace_back("title is empty; youtube needs one (the first line of the text)");
  } else if (const std::size_t n = text::code_points(t.title); n > k_max_title) {
    problems.push_back("title (the first line) is " + std::to_string(n) + " characters; youtube allows 100");
  }
  if (has_angle_brackets(t.title)) problems.emplace_back("title contains '<' or '>', which youtube does not allow");
  if (t.description.size() > k_max_description) {
    problems.push_back("description is " + std::to_string(t.description.size()) + " bytes; youtube allows 5000");
  }
  if (has_angle_brackets(t.description)) {
    problems.emplace_back("description contains '<' or '>', which youtube does not allow");
  }
  return problems;
}

std::vector<std::string> parse_tags(const Json& value) {
  std::vector<std::string> raw;
  if (value.is_string()) {
    std::string_view rest = value.get_ref<const std::string&>();
    while (true) {
      const auto comma = rest.find(',');
      raw.emplace_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  } else if (value.is_array()) {
    for (const auto& tag : value) {
      if (!tag.is_string()) throw Error(ErrorKind::validation, "tags must be strings, not " + tag.dump());
      raw.push_back(tag.get<std::string>());
    }
  } else if (!value.is_null()) {
    throw Error(ErrorKind::validation, "tags must be a list or a comma-separated string, not " + value.dump());
  }
  std::vector<std::string> tags;
  for (const auto& tag : raw) {
    if (const auto t = text::trim(tag); !t.empty()) tags.emplace_back(t);
  }
  return tags;
}

std::vector<std::string> tag_problems(const std::vector<std::string>& tags) {
  std::vector<std::string> problems;
  std::size_t total = 0;
  for (const auto& tag : tags) {
    // YouTube counts a tag with a space as if it were quoted: two more characters.
    total += text::code_points(tag) + (tag.find(' ') != std::string::npos ? 2 : 0);
    if (has_angle_brackets(tag)) problems.push_back("tag '" + tag + "' contains '<' or '>'");
  }
  total += tags.empty() ? 0 : tags.size() - 1;  // the commas between them
  if (total > k_max_tags_total) {
    problems.push_back("tags are " + std::to_string(total) + " characters in all; youtube allows 500");
  }
  return problems;
}

bool is_rfc3339(std::string_view v) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  const auto digit_at = [&](std::size_t i) { return i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])); };
  const auto all_digits = [&](std::size_t from, std::size_t n) {
    for (std::size_t i = from; i < from + n; ++i) {
      if (!digit_at(i)) return false;
    }
    return true;
  };
  if (v.size() < 20 || !all_digits(0, 4) || v[4] != '-' || !all_digits(5, 2) || v[7] != '-' || !all_digits(8, 2) ||
      (v[10] != 'T' && v[10] != 't') || !all_digits(11, 2) || v[13] != ':' || !all_digits(14, 2) || v[16] != ':' ||
      !all_digits(17, 2)) {
    return false;
  }
  const auto number = [&](std::size_t from) { return (v[from] - '0') * 10 + (v[from + 1] - '0'); };
  const year_month_day date{year{std::stoi(std::string(v.substr(0, 4)))}, month(static_cast<unsigned>(number(5))),
                            day(static_cast<unsigned>(number(8)))};
  if (!date.ok() || number(11) > 23 || number(14) > 59 || number(17) > 60) return false;
  std::size_t i = 19;
  if (i < v.size() && v[i] == '.') {
    ++i;
    const std::size_t from = i;
    while (digit_at(i)) ++i;
    if (i == from) return false;
  }
  const std::string_view zone = v.substr(i);
  if (zone == "Z" || zone == "z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && all_digits(i + 1, 2) && zone[3] == ':' &&
         all_digits(i + 4, 2) && number(i + 1) <= 23 && number(i + 4) <= 59;
}

bool GoogleError::has_reason(std::string_view reason) const {
  return std::any_of(errors.begin(), errors.end(), [&](const Reason& r) { return r.reason == reason; });
}

std::optional<GoogleError> parse_error(std::string_view body) {
  const Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const auto it = j.find("error");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  GoogleError e;
  if (const auto code = it->find("code"); code != it->end() && code->is_number_integer()) e.code = code->get<int>();
  e.message = json_string(*it, "message");
  if (const auto errors = it->find("errors"); errors != it->end() && errors->is_array()) {
    for (const auto& entry : *errors) {
      if (!entry.is_object()) continue;
      e.errors.push_back({json_string(entry, "reason"), json_string(entry, "domain"), json_string(entry, "message")});
    }
  }
  return e;
}

sys_seconds next_quota_reset(system_clock::time_point now) {
  const sys_seconds t = floor<seconds>(now);
  const sys_seconds local = t + pacific_offset(t);
  const sys_seconds next_midnight_local = floor<days>(local) + days{1};
  // Midnight is never inside a transition hour (02:00-03:00), so the offset
  // in force at the candidate instant is the one for that midnight.
  const sys_seconds guess = next_midnight_local - pacific_offset(t);
  return next_midnight_local - pacific_offset(guess);
}

Error classify(const http::Response& response, std::string_view context, system_clock::time_point now) {
  const Error base = http::classify(response, context);
  const int status = response.status;
  const auto envelope = parse_error(response.body);
  std::string text = std::string(context) + ": HTTP " + std::to_string(status);
  std::string reason;
  if (envelope) {
    if (!envelope->errors.empty()) reason = envelope->errors.front().reason;
    if (!envelope->message.empty()) text += ": " + text::truncate_code_points(envelope->message, 300);
    if (!reason.empty()) text += " (" + reason + ")";
  } else if (const std::string raw(base.what()); raw.size() > text.size()) {
    text = raw;
  }

  ErrorKind kind = base.kind();
  std::optional<seconds> retry_after = base.retry_after;
  const auto has = [&](std::string_view r) { return envelope && envelope->has_reason(r); };
  if (has("quotaExceeded") || has("dailyLimitExceeded")) {
    // Waiting out backoff would only spend attempts: the quota comes back at
    // the reset and not before.
    kind = ErrorKind::transient;
    retry_after = std::max(seconds{0}, ceil<seconds>(next_quota_reset(now) - now));
    text += "; the daily YouTube API quota is spent and resets at midnight Pacific Time, in " +
            std::to_string(retry_after->count()) + " s";
  } else if (has("rateLimitExceeded") || has("userRateLimitExceeded") || status == 429 || status >= 500) {
    kind = ErrorKind::transient;
  } else if (status == 401 || has("authError")) {
    kind = ErrorKind::auth;
    text += "; re-link the account with 'multivio account add youtube --oauth'";
  } else if (status == 403 && (has("insufficientPermissions") || has("forbidden"))) {
    kind = ErrorKind::auth;
    text += "; the account's token lacks the youtube.upload scope or the channel may not upload";
  } else if (status >= 400) {
    kind = ErrorKind::permanent;
  }
  Error error(kind, std::move(text));
  error.http_status = status;
  if (kind == ErrorKind::transient) error.retry_after = retry_after;
  return error;
}

std::optional<std::uint64_t> confirmed_bytes(const http::Response& response) {
  const auto range = response.header("Range");
  if (!range) return 0;
  std::string_view v = text::trim(*range);
  if (!v.starts_with("bytes=0-")) return std::nullopt;
  v.remove_prefix(8);
  const auto last = digits(v);
  if (!last) return std::nullopt;
  return *last + 1;
}

std::string content_range(std::optional<std::uint64_t> first, std::optional<std::uint64_t> last,
                          std::uint64_t total) {
  if (!first || !last) return "bytes */" + std::to_string(total);
  return "bytes " + std::to_string(*first) + "-" + std::to_string(*last) + "/" + std::to_string(total);
}

std::string parse_video_id(std::string_view body) {
  const Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) unexpected("video resource", body);
  std::string id = json_string(j, "id");
  if (id.empty()) unexpected("video resource without an id", body);
  return id;
}

Channel parse_channel(std::string_view body) {
  const Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) unexpected("channel list", body);
  const auto items = j.find("items");
  if (items == j.end() || !items->is_array() || items->empty() || !(*items)[0].is_object()) {
    throw Error(ErrorKind::auth, "this Google account has no YouTube channel; create one, then link it again");
  }
  const Json& item = (*items)[0];
  Channel c;
  c.id = json_string(item, "id");
  if (const auto snippet = item.find("snippet"); snippet != item.end() && snippet->is_object()) {
    c.title = json_string(*snippet, "title");
  }
  return c;
}

std::string watch_url(std::string_view id) { return "https://www.youtube.com/watch?v=" + std::string(id); }

}  // namespace multivio::platforms::youtube
