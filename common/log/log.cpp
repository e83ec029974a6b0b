// SPDX-License-Identifier: MIT
#include "common/log/log.hpp"

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <set>

#include "common/error.hpp"
#include "common/text/text.hpp"

namespace multivio::log {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_key(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  }
  return true;
}

// Only integers that fit in int64 and have no leading zero: JSON forbids "007"
// and many consumers lose precision past 2^53 anyway, so those stay strings.
bool is_json_integer(std::string_view v) {
  if (!v.empty() && v[0] == '-') v.remove_prefix(1);
  if (v.empty() || v.size() > 18 || (v[0] == '0' && v.size() > 1)) return false;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string utc_millis(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(tp);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string program) : program_(std::move(program)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string line = format_json_line(program_, std::string_view(level.data(), level.size()), msg.time,
                                              std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(program_); }

 private:
  std::string program_;
};

spdlog::level::level_enum parse_level(const std::string& level) {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn" || level == "warning") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "off") return spdlog::level::off;
  throw_usage("unknown log level '" + level + "': use trace, debug, info, warn, error or off");
}

}  // namespace

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  while (!s.empty()) {
    const auto c = static_cast<unsigned char>(s[0]);
    if (c >= 0x80) {
      const std::size_t n = text::utf8_sequence_length(s);
      if (n == 0) {
        out += "\\ufffd";
        s.remove_prefix(1);
      } else {
        out.append(s.substr(0, n));
        s.remove_prefix(n);
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    s.remove_prefix(1);
  }
  return out;
}

std::string format_json_line(std::string_view program, std::string_view level,
                             std::chrono::system_clock::time_point ts, std::string_view msg) {
  std::string out = "{\"ts\":\"" + utc_millis(ts) + "\",\"level\":\"" + json_escape(level) + "\",\"program\":\"" +
                    json_escape(program) + "\",\"msg\":\"" + json_escape(msg) + "\"";
  std::set<std::string_view> seen{"ts", "level", "program", "msg"};
  std::size_t i = 0;
  while (i < msg.size()) {
    while (i < msg.size() && is_space(msg[i])) ++i;
    const std::size_t start = i;
    while (i < msg.size() && !is_space(msg[i])) ++i;
    const std::string_view token = msg.substr(start, i - start);
    const auto eq = token.find('=');
    if (eq == std::string_view::npos || eq + 1 == token.size()) continue;
    const std::string_view key = token.substr(0, eq);
    const std::string_view value = token.substr(eq + 1);
    if (!is_key(key) || !seen.insert(key).second) continue;
    out += ",\"";
    out += key;
    out += "\":";
    if (is_json_integer(value)) {
      out += value;
    } else {
      out += '"' + json_escape(value) + '"';
    }
  }
  out += '}';
  return out;
}

void setup(std::string_view program, const std::string& level, const std::string& format) {
  const auto lvl = parse_level(level);
  bool json = false;
  if (format == "json") {
    json = true;
  } else if (format == "auto") {
    json = ::isatty(STDERR_FILENO) == 0;
  } else if (format != "text") {
    throw_usage("unknown log format '" + format + "': use auto, text or json");
  }

  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(std::string(program), std::move(sink));
  if (json) {
    logger->set_formatter(std::make_unique<JsonFormatter>(std::string(program)));
  } else {
    logger->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%d %H:%M:%S.%e %n %l %v"));
  }
  logger->set_level(lvl);
  // One line per event even when stderr is a pipe to a collector.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace multivio::log
