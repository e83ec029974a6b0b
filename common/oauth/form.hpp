// SPDX-License-Identifier: MIT
// Percent-encoding, form bodies and query strings: the text handling that
// OAuth 1.0a signing, OAuth 2.0 requests and the redirect parsers share.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/client.hpp"

namespace multivio::oauth {

/// Name/value pairs in order; names may repeat (OAuth 1.0a signs every copy).
using Params = std::vector<std::pair<std::string, std::string>>;

/// RFC 3986 §2.1 / RFC 5849 §3.6: every byte outside the unreserved set
/// (ALPHA, DIGIT, "-", ".", "_", "~") becomes %XX with uppercase hex. The input
/// is taken as UTF-8 bytes; a space is "%20", never "+".
std::string percent_encode(std::string_view text);

/// Decodes %XX escapes (either case); with plus_as_space, "+" is a space as in
/// application/x-www-form-urlencoded. nullopt on a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space);

/// "a=1&b=x%20y" with both names and values percent_encode()d. Servers decode
/// "%20" in a form body as they decode "+", so this serves bodies and queries.
std::string form_encode(const Params& params);

/// Splits "a=1&b=x+y" into decoded pairs (a piece without "=" has an empty
/// value; empty pieces are skipped). nullopt when an escape is malformed.
std::optional<Params> parse_form(std::string_view text);

/// The value of the first pair with this name.
std::optional<std::string> find_param(const Params& params, std::string_view name);

/// The URL with the pairs appended to its query string (after "?" or "&").
std::string append_query(std::string_view url, const Params& params);

/// A POST of `form` as application/x-www-form-urlencoded, with these timeouts.
http::Request form_post(std::string url, const Params& form, std::chrono::milliseconds connect_timeout,
                        std::chrono::milliseconds total_timeout);

/// http.send(request); a transport failure (Error(transient)) gets "<context>: "
/// before its message. Any HTTP status is returned.
http::Response send_with_context(http::Client& http, const http::Request& request, std::string_view context);

/// ASCII lowercase, for schemes, hosts, header names and error codes.
std::string ascii_lower(std::string_view text);

/// The first 200 bytes of a body on one line, for error messages.
std::string body_excerpt(std::string_view body);

}  // namespace multivio::oauth
