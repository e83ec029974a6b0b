// SPDX-License-Identifier: MIT
#include "common/schedule/when.hpp"

#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace multivio::schedule {

namespace {

using date::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::string_view kForms =
    "use ISO 8601 (2026-12-01T09:00), 'now', 'in 90m', 'tomorrow 09:00' or 'mon 9:00'";

[[noreturn]] void unreadable(std::string_view text) {
  throw_usage("cannot read time '" + std::string(text) + "': " + std::string(kForms));
}

[[noreturn]] void out_of_range(std::string_view text, std::string_view what) {
  throw_usage("cannot read time '" + std::string(text) + "': " + std::string(what));
}

const date::time_zone* find_zone(const std::string& zone) {
  try {
    return date::locate_zone(zone);
  } catch (const std::exception&) {
    throw_usage("unknown time zone '" + zone + "'");
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    std::size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// A cursor over the (lowercased) input; every reader leaves pos unchanged on failure.
struct Scanner {
  std::string_view s;
  std::size_t pos = 0;

  bool done() const { return pos == s.size(); }
  bool lit(char c) {
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  void skip_ws() {
    while (pos < s.size() && is_space(s[pos])) ++pos;
  }
  std::optional<long long> digits(std::size_t min, std::size_t max) {
    std::size_t n = 0;
    long long v = 0;
    while (n < max && pos + n < s.size() && std::isdigit(static_cast<unsigned char>(s[pos + n]))) {
      v = v * 10 + (s[pos + n] - '0');
      ++n;
    }
    if (n < min) return std::nullopt;
    pos += n;
    return v;
  }
};

struct TimeOfDay {
  int h = 0, m = 0, s = 0;
};

// H:MM or HH:MM, optional :SS. Syntax errors return nullopt; impossible values throw.
std::optional<TimeOfDay> read_time_of_day(Scanner& sc, std::string_view text) {
  auto h = sc.digits(1, 2);
  if (!h || !sc.lit(':')) return std::nullopt;
  auto m = sc.digits(2, 2);
  if (!m) return std::nullopt;
  long long s = 0;
  if (sc.lit(':')) {
    auto sec = sc.digits(2, 2);
    if (!sec) return std::nullopt;
    s = *sec;
  }
  if (*h > 23 || *m > 59 || s > 59) {
    out_of_range(text, "the time of day is out of range (00:00 to 23:59:59)");
  }
  return TimeOfDay{static_cast<int>(*h), static_cast<int>(*m), static_cast<int>(s)};
}

seconds to_duration(const TimeOfDay& t) { return hours{t.h} + minutes{t.m} + seconds{t.s}; }

std::string format_offset(seconds offset) {
  char sign = offset < seconds{0} ? '-' : '+';
  const int total = static_cast<int>(std::chrono::abs(offset).count() / 60);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", sign, total / 60, total % 60);
  return buf;
}

std::string describe(date::local_seconds lt) {
  bool whole_minute = (lt.time_since_epoch() % minutes{1}) == seconds{0};
  return date::format(whole_minute ? "%Y-%m-%d %H:%M" : "%Y-%m-%d %H:%M:%S", lt);
}

// Wall-clock time in tz to an instant, refusing times the zone skips or repeats.
// Messages name the zone as the user wrote it: a link such as US/Eastern resolves to another name.
Timestamp resolve_local(date::local_seconds lt, const date::time_zone* tz, std::string_view zone) {
  auto info = tz->get_info(lt);
  switch (info.result) {
    case date::local_info::unique:
      return Timestamp{std::chrono::duration_cast<milliseconds>(lt.time_since_epoch() - info.first.offset)};
    case date::local_info::nonexistent:
      throw_usage(describe(lt) + " does not exist in " + std::string(zone) + " (clocks skip forward)");
    case date::local_info::ambiguous: {
      auto a = std::min(info.first.offset, info.second.offset);
      auto b = std::max(info.first.offset, info.second.offset);
      throw_usage(describe(lt) + " is ambiguous in " + std::string(zone) +
                  " (clocks go back); add an offset such as " + format_offset(a) + " or " + format_offset(b));
    }
  }
  throw_usage("cannot resolve " + describe(lt) + " in " + std::string(zone));
}

date::local_days local_today(Timestamp now, const date::time_zone* tz) {
  return date::floor<days>(date::make_zoned(tz, now).get_local_time());
}

// "45s", "90 m", "2 hours" after the leading "in".
std::optional<Timestamp> parse_relative(std::string_view rest, Timestamp now) {
  Scanner sc{rest};
  sc.skip_ws();
  auto n = sc.digits(1, 9);
  if (!n) return std::nullopt;
  sc.skip_ws();
  std::string_view unit = rest.substr(sc.pos);
  struct Unit {
    std::string_view name;
    milliseconds size;
  };
  static constexpr std::array<Unit, 18> units{{
      {"s", seconds{1}}, {"sec", seconds{1}}, {"secs", seconds{1}}, {"second", seconds{1}},
      {"seconds", seconds{1}}, {"m", minutes{1}}, {"min", minutes{1}}, {"mins", minutes{1}},
      {"minute", minutes{1}}, {"minutes", minutes{1}}, {"h", hours{1}}, {"hr", hours{1}},
      {"hrs", hours{1}}, {"hour", hours{1}}, {"hours", hours{1}}, {"d", days{1}},
      {"day", days{1}}, {"days", days{1}},
  }};
  for (const auto& u : units) {
    if (u.name == unit) return now + u.size * *n;
  }
  return std::nullopt;
}

std::optional<date::weekday> weekday_named(std::string_view word) {
  static constexpr std::array<std::pair<std::string_view, unsigned>, 18> names{{
      {"sun", 0}, {"sunday", 0}, {"mon", 1}, {"monday", 1}, {"tue", 2}, {"tues", 2},
      {"tuesday", 2}, {"wed", 3}, {"wednesday", 3}, {"thu", 4}, {"thur", 4}, {"thurs", 4},
      {"thursday", 4}, {"fri", 5}, {"friday", 5}, {"sat", 6}, {"saturday", 6}, {"weds", 3},
  }};
  for (const auto& [name, n] : names) {
    if (name == word) return date::weekday{n};
  }
  return std::nullopt;
}

// "today|tomorrow|<weekday> [at] H:MM[:SS]"; nullopt when the words don't fit.
std::optional<Timestamp> parse_day_form(const std::vector<std::string_view>& words, Timestamp now,
                                        const date::time_zone* tz, std::string_view zone, std::string_view text) {
  if (words.size() != 2 && !(words.size() == 3 && words[1] == "at")) return std::nullopt;
  std::string_view day = words.front();
  auto wd = weekday_named(day);
  if (day != "today" && day != "tomorrow" && !wd) return std::nullopt;
  Scanner sc{words.back()};
  auto tod = read_time_of_day(sc, text);
  if (!tod || !sc.done()) return std::nullopt;
  auto today = local_today(now, tz);
  if (day == "today") return resolve_local(today + to_duration(*tod), tz, zone);
  if (day == "tomorrow") return resolve_local(today + days{1} + to_duration(*tod), tz, zone);

  auto local_now = date::floor<seconds>(date::make_zoned(tz, now).get_local_time());
  // Eight days so that a weekday equal to today, with the time already past, lands a week on.
  for (int i = 0; i < 8; ++i) {
    auto d = today + days{i};
    if (date::weekday{d} != *wd) continue;
    auto lt = d + to_duration(*tod);
    if (lt <= local_now) continue;  // also keeps a past gap/overlap today from raising
    auto t = resolve_local(lt, tz, zone);
    if (t > now) return t;
  }
  return std::nullopt;
}

std::optional<Timestamp> parse_iso(std::string_view s, const date::time_zone* tz, std::string_view zone,
                                   std::string_view text) {
  Scanner sc{s};
  auto y = sc.digits(4, 4);
  if (!y || !sc.lit('-')) return std::nullopt;
  auto mo = sc.digits(2, 2);
  if (!mo || !sc.lit('-')) return std::nullopt;
  auto d = sc.digits(2, 2);
  if (!d) return std::nullopt;
  if (!sc.lit('t')) {
    if (sc.done() || !is_space(s[sc.pos])) return std::nullopt;
    sc.skip_ws();
  }
  auto tod = read_time_of_day(sc, text);
  if (!tod) return std::nullopt;
  milliseconds frac{0};
  if (sc.lit('.')) {
    std::size_t start = sc.pos;
    if (!sc.digits(1, 9)) return std::nullopt;
    std::string_view f = s.substr(start, sc.pos - start);
    int ms = 0;
    for (std::size_t i = 0; i < 3; ++i) ms = ms * 10 + (i < f.size() ? f[i] - '0' : 0);
    frac = milliseconds{ms};
  }
  sc.skip_ws();
  std::optional<minutes> offset;
  if (sc.lit('z')) {
    offset = minutes{0};
  } else if (sc.pos < s.size() && (s[sc.pos] == '+' || s[sc.pos] == '-')) {
    bool negative = s[sc.pos] == '-';
    ++sc.pos;
    auto oh = sc.digits(2, 2);
    if (!oh) return std::nullopt;
    long long om = 0;
    bool colon = sc.lit(':');
    if (auto v = sc.digits(2, 2)) {
      om = *v;
    } else if (colon) {
      return std::nullopt;
    }
    if (*oh > 18 || om > 59) out_of_range(text, "the UTC offset is out of range");
    offset = minutes{(*oh * 60 + om) * (negative ? -1 : 1)};
  }
  if (!sc.done()) return std::nullopt;

  date::year_month_day ymd{date::year{static_cast<int>(*y)}, date::month{static_cast<unsigned>(*mo)},
                           date::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) {
    out_of_range(text, std::string(s.substr(0, 10)) + " is not a valid date");
  }
  auto lt = date::local_days{ymd} + to_duration(*tod);
  if (offset) {
    // An explicit offset pins the instant, so gaps and overlaps need no check.
    return Timestamp{std::chrono::duration_cast<milliseconds>(lt.time_since_epoch() - *offset) + frac};
  }
  return resolve_local(lt, tz, zone) + frac;
}

}  // namespace

Timestamp parse_when(std::string_view text, Timestamp now, const std::string& zone) {
  const date::time_zone* tz = find_zone(zone);
  std::string s = lower(text);
  auto words = split_ws(s);
  if (words.empty()) unreadable(text);

  if (words.size() == 1 && words[0] == "now") return now;
  if (words[0] == "in") {
    std::string_view rest = std::string_view(s).substr(static_cast<std::size_t>(words[0].data() - s.data()) + 2);
    if (auto t = parse_relative(rest, now)) return *t;
    unreadable(text);
  }
  if (auto t = parse_day_form(words, now, tz, zone, text)) return *t;

  std::string_view trimmed(words.front().data(),
                           static_cast<std::size_t>(words.back().data() + words.back().size() - words.front().data()));
  if (auto t = parse_iso(trimmed, tz, zone, text)) return *t;
  unreadable(text);
}

void check_zone(const std::string& zone) {
  // Loading the time zone database walks all of /usr/share/zoneinfo; UTC,
  // the common case in scripts and CI, does not need it.
  if (zone == "UTC") return;
  find_zone(zone);
}

std::string effective_zone(const std::string& flag, const std::string& config_zone,
                           const std::optional<std::string>& tz_env) {
  if (!flag.empty()) return flag;
  if (!config_zone.empty()) return config_zone;
  if (tz_env && !tz_env->empty()) {
    std::string tz = (*tz_env)[0] == ':' ? tz_env->substr(1) : *tz_env;
    // TZ may name a tzfile path (TZ=:/etc/localtime); the zone name is what follows zoneinfo/.
    if (!tz.empty() && tz[0] == '/') {
      std::error_code ec;
      auto real = std::filesystem::canonical(tz, ec);
      std::string path = ec ? tz : real.string();
      if (auto at = path.rfind("zoneinfo/"); at != std::string::npos) return path.substr(at + 9);
    }
    if (!tz.empty()) return tz;
  }
  return "UTC";
}

std::string format_local(Timestamp t, const std::string& zone) {
  return date::format("%Y-%m-%d %H:%M:%S %Z", date::make_zoned(find_zone(zone), date::floor<seconds>(t)));
}

}  // namespace multivio::schedule
