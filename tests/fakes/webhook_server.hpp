// SPDX-License-Identifier: MIT
// A webhook receiver on 127.0.0.1 for tests: behaves like a strict real
// receiver (POST only, JSON only, optional Stripe-style signature check),
// records every request and answers from a script. Thread-safe; the server
// runs on its own threads from construction until destruction.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multivio::fakes {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class WebhookServer {
 public:
  /// Requests served at once (one per thread; a keep-alive connection holds
  /// its thread): enough for three daemons of 8 workers and more.
  static constexpr int kThreads = 64;

  struct Reply {
    int status = 200;
    std::string body = "ok";
    HeaderList headers;  // Content-Type defaults to JSON when body parses as JSON, else text
    std::chrono::milliseconds delay{0};  // stall before answering
  };

  struct Received {
    std::string method;
    std::string path;    // without the query string
    std::string target;  // path and query as sent
    HeaderList headers;
    std::string body;
    std::chrono::system_clock::time_point time;
    bool accepted = true;    // false when a receiver check rejected it
    int status = 0;          // status answered
    std::string reject_reason;

    /// Case-insensitive lookup of the first header with this name.
    std::optional<std::string> header(std::string_view name) const;
  };

  /// Binds 127.0.0.1 on a free port and starts serving. Throws
  /// std::runtime_error when no socket can be bound (tests GTEST_SKIP then).
  WebhookServer();
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  /// Stops serving and joins the server thread; stalled replies are cut short.
  void stop();

  std::string base_url() const;  // "http://127.0.0.1:PORT"
  int port() const;

  /// Replies used in order by accepted requests, then the default.
  void script(std::vector<Reply> replies);
  void set_default(Reply reply);
  /// Extra delay before every reply.
  void set_latency(std::chrono::milliseconds latency);
  /// Requires a valid "X-Multivio-Signature: t=<unix>,v1=<hex hmac>" header
  /// (HMAC-SHA256 of "<t>.<body>") with t within 300 s; 401 otherwise.
  void require_signature(std::string secret);

  std::vector<Received> received() const;
  std::size_t count() const;
  /// True once at least n requests were received, false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Verifies a Stripe-style signature header value; exposed for tests.
bool verify_signature(std::string_view header, std::string_view body, std::string_view secret,
                      std::chrono::system_clock::time_point now, std::chrono::seconds tolerance);

}  // namespace multivio::fakes
