// SPDX-License-Identifier: MIT
// Post JSON written straight into a string. `post list --json` over
// thousands of posts spent most of its time building, printing and freeing
// an nlohmann DOM; this writes the same bytes (keys sorted, as nlohmann's
// std::map objects print them) without one. model_json_test compares it
// with dump(to_json(p), 2) byte for byte.
#include <charconv>

#include "common/model/model.hpp"

namespace multivio::model {
namespace {

constexpr auto k_replace = nlohmann::json::error_handler_t::replace;

// Strict RFC 3629, like nlohmann's decoder: what fails here goes through
// nlohmann, which replaces bad bytes exactly as dump() does.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c == 0xE0) {
      n = 2, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      n = 2;
    } else if (c == 0xED) {
      n = 2, hi = 0x9F;
    } else if (c == 0xF0) {
      n = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = 3;
    } else if (c == 0xF4) {
      n = 3, hi = 0x8F;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto b = static_cast<unsigned char>(s[i + k]);
      const unsigned first_lo = k == 1 ? lo : 0x80, first_hi = k == 1 ? hi : 0xBF;
      if (b < first_lo || b > first_hi) return false;
    }
    i += n + 1;
  }
  return true;
}

void string_value(std::string& out, std::string_view s) {
  if (!valid_utf8(s)) {
    out += nlohmann::json(std::string(s)).dump(-1, ' ', false, k_replace);
    return;
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += k_hex[c >> 4];
          out += k_hex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void integer(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Pretty: dump(2)'s newlines and indentation; compact: dump(-1)'s nothing.
struct Style {
  bool pretty = true;
  void newline(std::string& out, int depth) const {
    if (!pretty) return;
    out += '\n';
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
  }
};

// Members of one object, printed in the order given (callers list them sorted).
class Object {
 public:
  Object(std::string& out, int depth, Style style) : out_(out), depth_(depth), style_(style) { out_ += '{'; }
  std::string& key(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    style_.newline(out_, depth_ + 1);
    out_ += '"';
    out_ += name;  // our own names: nothing to escape
    out_ += style_.pretty ? "\": " : "\":";
    return out_;
  }
  void close() {
    style_.newline(out_, depth_);
    out_ += '}';
  }
  int inner() const { return depth_ + 1; }

 private:
  std::string& out_;
  int depth_;
  Style style_;
  bool first_ = true;
};

void strings(std::string& out, const std::vector<std::string>& items, int depth, Style style) {
  if (items.empty()) {
    out += "[]";
    return;
  }
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    style.newline(out, depth + 1);
    string_value(out, items[i]);
  }
  style.newline(out, depth);
  out += ']';
}

// Arbitrary JSON (options): nlohmann's own text, its lines shifted to depth.
void any(std::string& out, const nlohmann::json& j, int depth, Style style) {
  if (j.is_object() && j.empty()) {
    out += "{}";
    return;
  }
  if (!style.pretty) {
    out += j.dump(-1, ' ', false, k_replace);
    return;
  }
  const std::string text = j.dump(2, ' ', false, k_replace);
  for (const char c : text) {
    out += c;
    if (c == '\n') out.append(static_cast<std::size_t>(depth) * 2, ' ');
  }
}

void optional_time(std::string& out, const std::optional<Timestamp>& t) {
  if (t) {
    string_value(out, format_utc(*t));
  } else {
    out += "null";
  }
}

void target_json(std::string& out, const Target& t, int depth, Style style) {
  Object o(out, depth, style);
  string_value(o.key("account"), t.account_ref);
  integer(o.key("account_id"), t.account_id);
  integer(o.key("attempts"), t.attempts);
  string_value(o.key("error"), t.error);
  integer(o.key("id"), t.id);
  optional_time(o.key("next_attempt_at"), t.next_attempt_at);
  any(o.key("options"), t.options, o.inner(), style);
  string_value(o.key("platform"), t.platform);
  optional_time(o.key("published_at"), t.published_at);
  strings(o.key("remote_ids"), t.remote_ids, o.inner(), style);
  string_value(o.key("remote_url"), t.remote_url);
  string_value(o.key("status"), to_string(t.status));
  if (t.variant) {
    string_value(o.key("variant"), *t.variant);
  } else {
    o.key("variant") += "null";
  }
  o.close();
}

}  // namespace

void append_json(std::string& out, const Post& p, const JsonOptions& options) {
  const Style style{options.pretty};
  Object o(out, options.depth, style);
  string_value(o.key("created_at"), format_utc(p.created_at));
  integer(o.key("id"), p.id);
  const std::string_view key = options.key ? std::string_view(*options.key) : std::string_view(p.key);
  if (p.key.empty()) {
    o.key("key") += "null";
  } else {
    string_value(o.key("key"), key);
  }
  strings(o.key("media"), p.media, o.inner(), style);
  any(o.key("options"), p.options, o.inner(), style);
  optional_time(o.key("scheduled_at"), p.scheduled_at);
  string_value(o.key("status"), to_string(p.status()));
  strings(o.key("tags"), p.tags, o.inner(), style);
  std::string& targets = o.key("targets");
  if (p.targets.empty()) {
    targets += "[]";
  } else {
    targets += '[';
    for (std::size_t i = 0; i < p.targets.size(); ++i) {
      if (i > 0) out += ',';
      style.newline(out, o.inner() + 1);
      target_json(out, p.targets[i], o.inner() + 1, style);
    }
    style.newline(out, o.inner());
    out += ']';
  }
  string_value(o.key("text"), p.text);
  string_value(o.key("timezone"), p.timezone);
  string_value(o.key("updated_at"), format_utc(p.updated_at));
  o.close();
}

std::string posts_json(const std::vector<Post>& posts) {
  std::string out;
  if (posts.empty()) return "[]";
  out.reserve(posts.size() * 900);
  out += "[\n";
  for (std::size_t i = 0; i < posts.size(); ++i) {
    out += "  ";
    append_json(out, posts[i], JsonOptions{true, 1, std::nullopt});
    out += i + 1 < posts.size() ? ",\n" : "\n";
  }
  out += ']';
  return out;
}

}  // namespace multivio::model
