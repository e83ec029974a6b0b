// SPDX-License-Identifier: MIT
#include "common/notify/message.hpp"

#include <algorithm>
#include <array>
#include <ctime>

#include "common/crypto/crypto.hpp"
#include "common/http/smtp.hpp"
#include "common/text/text.hpp"

namespace multivio::notify {
namespace {

constexpr std::size_t kMaxMessageChars = 200;
constexpr std::size_t kDiscordLimit = 2000;  // characters in "content"
constexpr std::size_t kSlackLimit = 3900;    // Slack shortens longer "text" behind "Show more"
constexpr std::size_t kEmailLines = 50;

constexpr std::array<Event::Kind, 4> kKinds = {Event::Kind::target_failed, Event::Kind::target_unknown,
                                               Event::Kind::account_needs_relink, Event::Kind::overdue};

// One line of valid UTF-8 without control characters.
std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const std::size_t n = text::utf8_sequence_length(s);
    if (n == 0) {
      out += '?';
      s.remove_prefix(1);
      continue;
    }
    const auto c = static_cast<unsigned char>(s.front());
    if (n == 1 && (c < 0x20 || c == 0x7f)) {
      if (out.empty() || out.back() != ' ') out += ' ';  // "a\r\nb" -> "a b"
    } else {
      out.append(s.substr(0, n));
    }
    s.remove_prefix(n);
  }
  return std::string(text::trim(out));
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string kind_phrase(Event::Kind kind, std::size_t n) {
  switch (kind) {
    case Event::Kind::target_failed: return plural(n, "target failed", "targets failed");
    case Event::Kind::target_unknown: return plural(n, "target ended unknown", "targets ended unknown");
    case Event::Kind::account_needs_relink: return plural(n, "account needs re-linking", "accounts need re-linking");
    case Event::Kind::overdue: return plural(n, "target is overdue", "targets are overdue");
  }
  return plural(n, "event", "events");
}

std::string_view kind_label(Event::Kind kind) {
  switch (kind) {
    case Event::Kind::target_failed: return "failed";
    case Event::Kind::target_unknown: return "unknown";
    case Event::Kind::account_needs_relink: return "re-link needed";
    case Event::Kind::overdue: return "overdue";
  }
  return "event";
}

// Slack's three control characters (https://api.slack.com/reference/surfaces/formatting#escaping):
// without this, "<!channel>" in an error message would page everyone.
std::string slack_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

std::string header_value(std::string_view s) {
  std::string out(s);
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return out;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// RFC 2047 encoded words of at most 45 bytes of text each (75 characters
// encoded), folded onto continuation lines.
std::string encode_subject(const std::string& subject) {
  if (is_ascii(subject)) return subject;
  std::string out;
  std::string_view rest = subject;
  while (!rest.empty()) {
    std::size_t take = 0;
    while (take < rest.size()) {
      std::size_t n = text::utf8_sequence_length(rest.substr(take));
      if (n == 0) n = 1;
      if (take + n > 45) break;
      take += n;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + crypto::base64_encode(rest.substr(0, take)) + "?=";
    rest.remove_prefix(take);
  }
  return out;
}

std::string rfc5322_date(model::Timestamp t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace

std::string_view to_string(Event::Kind kind) noexcept {
  switch (kind) {
    case Event::Kind::target_failed: return "target_failed";
    case Event::Kind::target_unknown: return "target_unknown";
    case Event::Kind::account_needs_relink: return "account_needs_relink";
    case Event::Kind::overdue: return "overdue";
  }
  return "unknown_kind";
}

nlohmann::json to_json(const Event& event) {
  const auto id = [](std::int64_t v) { return v == 0 ? nlohmann::json(nullptr) : nlohmann::json(v); };
  return {
      {"kind", to_string(event.kind)},
      {"post_id", id(event.post_id)},
      {"target_id", id(event.target_id)},
      {"account", event.account},
      {"platform", event.platform},
      {"message", one_line(event.message)},
      {"at", model::format_utc(event.at)},
  };
}

std::string headline(const Batch& batch) {
  std::string out;
  for (const auto kind : kKinds) {
    const auto n = static_cast<std::size_t>(
        std::count_if(batch.events.begin(), batch.events.end(), [&](const Event& e) { return e.kind == kind; }));
    if (n == 0) continue;
    if (!out.empty()) out += ", ";
    out += kind_phrase(kind, n);
  }
  return out.empty() ? "no events" : out;
}

std::string event_line(const Event& event) {
  std::string line = "- " + std::string(kind_label(event.kind)) + ":";
  std::string subject;
  if (event.post_id != 0) subject += "post " + std::to_string(event.post_id);
  if (event.target_id != 0) subject += (subject.empty() ? "target " : ", target ") + std::to_string(event.target_id);
  const std::string where = one_line(event.account.empty() ? event.platform : event.account);
  if (!where.empty()) {
    if (event.kind == Event::Kind::account_needs_relink && subject.empty()) subject = "account " + where;
    else subject += (subject.empty() ? "on " : " on ") + where;
  }
  if (!subject.empty()) line += " " + subject;
  std::string message = one_line(event.message);
  if (text::code_points(message) > kMaxMessageChars) {
    message = text::truncate_code_points(message, kMaxMessageChars - 3) + "...";
  }
  if (!message.empty()) line += (subject.empty() ? " " : ": ") + message;
  line += " (" + model::format_utc(event.at) + ")";
  return line;
}

std::string render_text(const Batch& batch, std::size_t max_lines, std::size_t max_chars) {
  const std::string dropped =
      batch.dropped == 0 ? std::string()
                         : "\n(" + plural(batch.dropped, "older event was", "older events were") +
                               " dropped while notifications could not be delivered)";
  // Room for "\n... and 99999 more" and the dropped note when cut by size.
  const std::size_t reserve = 24 + text::code_points(dropped);
  std::string out = headline(batch) + ":";
  std::size_t used = text::code_points(out);
  std::size_t shown = 0;
  for (const auto& event : batch.events) {
    if (shown == max_lines) break;
    const std::string line = event_line(event);
    const std::size_t n = text::code_points(line) + 1;
    if (max_chars != 0 && used + n + reserve > max_chars) break;
    out += "\n" + line;
    used += n;
    ++shown;
  }
  if (shown < batch.events.size()) out += "\n... and " + std::to_string(batch.events.size() - shown) + " more";
  out += dropped;
  if (max_chars != 0 && text::code_points(out) > max_chars) out = text::truncate_code_points(out, max_chars);
  return out;
}

std::string webhook_body(std::string_view format, const Batch& batch) {
  if (format == "slack") {
    return nlohmann::json{{"text", slack_escape(render_text(batch, kEmailLines, kSlackLimit))}}.dump();
  }
  if (format == "discord") {
    // No @everyone, role or user pings from whatever an error message contains.
    return nlohmann::json{{"content", render_text(batch, kEmailLines, kDiscordLimit)},
                          {"allowed_mentions", {{"parse", nlohmann::json::array()}}}}
        .dump();
  }
  nlohmann::json events = nlohmann::json::array();
  for (const auto& event : batch.events) events.push_back(to_json(event));
  return nlohmann::json{{"summary", headline(batch)},
                        {"text", render_text(batch, kEmailLines)},
                        {"events", std::move(events)},
                        {"dropped", batch.dropped}}
      .dump();
}

std::string email_subject(std::string_view subject_prefix, const Batch& batch) {
  const std::string prefix = one_line(subject_prefix);
  return prefix.empty() ? headline(batch) : prefix + " " + headline(batch);
}

std::string email_text(const Batch& batch) {
  return render_text(batch, kEmailLines) + "\n\n-- \nSent by multivio.\n";
}

std::string compose_mime(const std::string& from, const std::vector<std::string>& to, const std::string& subject,
                         const std::string& text, model::Timestamp date) {
  std::string to_list;
  for (const auto& address : to) to_list += (to_list.empty() ? "" : ", ") + header_value(address);
  const std::string sender = http::mail_address(from);
  const auto at = sender.rfind('@');
  const std::string domain = at == std::string::npos ? "multivio.invalid" : sender.substr(at + 1);

  // Body with CRLF line ends; base64 only if a line would break SMTP's
  // 998-byte limit (event lines are far shorter).
  std::string body;
  bool long_line = false;
  std::size_t line_length = 0;
  for (const char c : text) {
    if (c == '\r') continue;
    if (c == '\n') {
      body += "\r\n";
      line_length = 0;
      continue;
    }
    body += c;
    long_line = long_line || ++line_length > 900;
  }
  if (!body.ends_with("\r\n")) body += "\r\n";
  std::string encoding = is_ascii(body) ? "7bit" : "8bit";
  if (long_line) {
    const std::string encoded = crypto::base64_encode(body);
    body.clear();
    for (std::size_t i = 0; i < encoded.size(); i += 76) body += encoded.substr(i, 76) + "\r\n";
    encoding = "base64";
  }

  std::string out;
  out += "Date: " + rfc5322_date(date) + "\r\n";
  out += "From: " + header_value(from) + "\r\n";
  out += "To: " + to_list + "\r\n";
  out += "Subject: " + encode_subject(header_value(subject)) + "\r\n";
  out += "Message-ID: <" + crypto::random_hex(12) + "@" + header_value(domain) + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: " + encoding + "\r\n";
  out += "Auto-Submitted: auto-generated\r\n";
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace multivio::notify
