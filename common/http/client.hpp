// SPDX-License-Identifier: MIT
// The one HTTP client every network call goes through (adapters, AI, notify).
// Timeouts are always set, redirects are off unless asked for, and failures
// are classified so the state machine can tell retry from give-up.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace multivio::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{30'000};
  bool follow_redirects = false;
};

struct Response {
  int status = 0;
  Headers headers;  // in arrival order; names as sent by the server
  std::string body;
  std::chrono::milliseconds elapsed{0};

  /// Case-insensitive lookup of the last header with this name.
  std::optional<std::string> header(std::string_view name) const;
  bool ok() const noexcept { return status >= 200 && status < 300; }
};

/// Thread affinity: one Client per thread (a curl easy handle is reused).
class Client {
 public:
  virtual ~Client() = default;
  /// Returns any HTTP response, whatever its status. Throws Error(transient)
  /// on transport failures; sets outcome_unknown when the request may have
  /// been received (timeout or reset after sending), not when the connection
  /// was never made.
  virtual Response send(const Request& request) = 0;

  /// Called with each piece of a streamed body as it arrives. `head` has the
  /// final response's status and headers (body empty); they are complete
  /// before the first call. Throwing aborts the transfer.
  using BodySink = std::function<void(const Response& head, std::string_view chunk)>;

  /// Like send(), but hands the body to `on_body` in pieces as they arrive
  /// (server-sent events, long downloads) instead of collecting it: the
  /// returned Response has status, headers and elapsed, and an empty body.
  /// An exception thrown by `on_body` aborts the transfer and propagates
  /// unchanged. Transport failures, including one after part of the body was
  /// delivered, throw Error(transient) as send() does. total_timeout covers
  /// the whole transfer. The default implementation calls send() and hands
  /// the body over in one piece (for test doubles).
  virtual Response send_streaming(const Request& request, const BodySink& on_body);
};

std::unique_ptr<Client> make_client();

/// Turns a non-2xx response into an Error: 429 and 5xx transient (with
/// retry_after from Retry-After), 401/403 auth, other 4xx permanent. The
/// message is "<context>: HTTP <status>: <short body excerpt>".
Error classify(const Response& response, std::string_view context);

/// Retry-After as delta-seconds or an HTTP-date relative to now; nullopt when
/// unparseable. Negative results clamp to zero.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

/// The URL with userinfo and query string values replaced by "***", for logs.
std::string redact_url(std::string_view url);

}  // namespace multivio::http
