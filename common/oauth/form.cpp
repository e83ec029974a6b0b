// SPDX-License-Identifier: MIT
#include "common/oauth/form.hpp"

#include <algorithm>
#include <cctype>

#include "common/error.hpp"

namespace multivio::oauth {

namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {  // needs two hex digits after '%'
        return std::nullopt;
      }
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      out += static_cast<char>((hi << 4) | lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string form_encode(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) {
      out += '&';
    }
    out += percent_encode(name);
    out += '=';
    out += percent_encode(value);
  }
  return out;
}

std::optional<Params> parse_form(std::string_view text) {
  Params out;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view piece = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (piece.empty()) {
      continue;
    }
    const auto eq = piece.find('=');
    auto name = percent_decode(piece.substr(0, eq), true);
    auto value =
        eq == std::string_view::npos ? std::optional<std::string>{""} : percent_decode(piece.substr(eq + 1), true);
    if (!name || !value) {
      return std::nullopt;
    }
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::optional<std::string> find_param(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) {
      return v;
    }
  }
  return std::nullopt;
}

std::string append_query(std::string_view url, const Params& params) {
  std::string out(url);
  if (params.empty()) {
    return out;
  }
  // A fragment never reaches the server, so the query goes before it.
  std::string fragment;
  if (const auto hash = out.find('#'); hash != std::string::npos) {
    fragment = out.substr(hash);
    out.resize(hash);
  }
  if (out.find('?') == std::string::npos) {
    out += '?';
  } else if (out.back() != '?' && out.back() != '&') {
    out += '&';
  }
  out += form_encode(params);
  return out + fragment;
}

http::Request form_post(std::string url, const Params& form, std::chrono::milliseconds connect_timeout,
                        std::chrono::milliseconds total_timeout) {
  http::Request request;
  request.method = "POST";
  request.url = std::move(url);
  request.connect_timeout = connect_timeout;
  request.total_timeout = total_timeout;
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.body = form_encode(form);
  return request;
}

http::Response send_with_context(http::Client& http, const http::Request& request, std::string_view context) {
  try {
    return http.send(request);
  } catch (const Error& e) {
    throw e.with_prefix(context);
  }
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string body_excerpt(std::string_view body) {
  std::string out(body.substr(0, 200));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

}  // namespace multivio::oauth
