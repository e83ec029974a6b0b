// SPDX-License-Identifier: MIT
// An OpenAI-compatible chat completions server on 127.0.0.1 that answers the
// way xAI's does (platform-apis.md §10, §11): flat {"code","error"} error
// bodies, 400 for a wrong key, 401 for a missing Authorization header, 404 for
// an unknown model, 422 for a malformed body; SSE streams with comment
// keep-alives, an optional usage-only chunk and "data: [DONE]". Replies come
// from a script, so tests can break streams, split them at awkward bytes,
// rate-limit or stall. Thread-safe; serves from construction to stop().
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace multivio::fakes {

class OpenAiServer {
 public:
  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  struct Reply {
    enum Kind {
      completion,    // 200: a chat.completion, or an SSE stream when the request asked for one
      broken,        // stream only: role and content chunks, then the connection drops (no finish, no [DONE])
      stream_error,  // stream only: content chunks, then an error payload (see error_event), then close
      rate_limited,  // 429 {"code":"resource-exhausted",...} with Retry-After: retry_after (when >= 0)
      server_error,  // `status` (500 unless set otherwise) with a flat error body
      unauthorized,  // 401 as for a missing key
      error,         // `status` with {"code": code, "error": message}
      raw,           // `status` with `body` verbatim as `content_type` (malformed replies)
    };
    Kind kind = completion;

    std::string text = "Hello from the fake model.";
    std::string finish_reason = "stop";
    long long prompt_tokens = 17;
    long long completion_tokens = 6;

    // Streams: the text goes out in deltas of `delta_chars` code points.
    std::size_t delta_chars = 4;
    /// Byte offsets into the whole SSE stream where it is cut into separately
    /// written pieces (sorted, deduplicated). Empty: one piece per event.
    std::vector<std::size_t> splits;
    std::chrono::milliseconds piece_delay{3};  // pause between pieces, so they arrive apart
    bool keep_alive = false;      // a ": keep-alive" comment before every event
    bool crlf = false;            // CRLF line endings instead of LF
    bool send_usage = true;       // usage chunk when the request set stream_options.include_usage
    bool clean_close = false;     // broken: end the chunked body properly instead of dropping the connection
    bool error_event = false;     // stream_error: "event: error" + data instead of data {"error":...}

    int status = 0;               // server_error (default 500), error, raw
    std::string code;             // error
    std::string message;          // error, stream_error, server_error
    std::string body;             // raw
    std::string content_type = "application/json";  // raw
    int retry_after = 1;          // rate_limited: seconds; < 0: no Retry-After header
    HeaderList headers;           // extra response headers
    std::chrono::milliseconds delay{0};  // stall before the first byte of the reply
  };

  struct Received {
    std::string method;
    std::string path;
    HeaderList headers;
    std::string body;
    nlohmann::json json;  // the parsed body; null when it was not JSON
    int status = 0;       // status answered
    bool accepted = false;  // passed the checks and got a scripted reply
    std::string reject_reason;

    /// Case-insensitive lookup of the first header with this name.
    std::optional<std::string> header(std::string_view name) const;
  };

  /// Binds 127.0.0.1 on a free port. Requests must carry
  /// "Authorization: Bearer <api_key>" and name `model`. Throws
  /// std::runtime_error when no socket can be bound (tests GTEST_SKIP then).
  explicit OpenAiServer(std::string api_key = "xai-test-key-0123456789", std::string model = "grok-test");
  ~OpenAiServer();
  OpenAiServer(const OpenAiServer&) = delete;
  OpenAiServer& operator=(const OpenAiServer&) = delete;

  /// Stops serving and joins the server thread; stalled replies are cut short.
  void stop();

  std::string base_url() const;  // "http://127.0.0.1:PORT/v1" (also served without /v1)
  int port() const;
  const std::string& api_key() const;
  const std::string& model() const;

  /// Replies used in order by accepted requests, then the default.
  void script(std::vector<Reply> replies);
  void set_default(Reply reply);

  std::vector<Received> received() const;
  std::size_t count() const;
  /// True once at least n requests were received, false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

  /// The SSE stream a completion reply sends (exposed so tests can pick
  /// split offsets, e.g. inside an emoji). `id` and `created` are fixed here.
  static std::string stream_for(const Reply& reply, const std::string& model, bool include_usage);
  /// The non-streaming JSON body of a completion reply.
  static std::string completion_for(const Reply& reply, const std::string& model);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
