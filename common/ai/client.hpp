// SPDX-License-Identifier: MIT
// An OpenAI-compatible chat completions client (Grok by default; any server
// speaking the same API through ai.base_url). Goes through http::Client;
// streams through the SSE parser in sse.hpp.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace multivio::http {
class Client;
}

namespace multivio::ai {

struct Message {
  std::string role;  // system, user, assistant
  std::string content;
};

struct Usage {
  std::string model;
  long long prompt_tokens = 0;
  long long completion_tokens = 0;
  std::chrono::milliseconds latency{0};
};

struct ChatResult {
  std::string text;
  std::string finish_reason;
  Usage usage;
};

struct ChatOptions {
  std::string base_url = "https://api.x.ai/v1";
  std::string model = "grok-4";
  std::string api_key;  // never logged
  std::chrono::milliseconds timeout{60'000};
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  int max_retries = 3;  // for 429 and 5xx
  std::chrono::milliseconds retry_base{1'000};
  std::chrono::milliseconds retry_max{30'000};
  /// Waits between retries; empty: std::this_thread::sleep_for. Tests put a
  /// recorder here to check backoff and Retry-After without waiting.
  std::function<void(std::chrono::milliseconds)> sleep;
};

/// A stream that broke off after some text arrived: the text is kept.
class IncompleteStream : public Error {
 public:
  IncompleteStream(std::string message, std::string partial)
      : Error(ErrorKind::transient, std::move(message)), partial_text(std::move(partial)) {}
  std::string partial_text;
};

/// Thread affinity: one ChatClient per thread (like http::Client).
class ChatClient {
 public:
  ChatClient(http::Client& http, ChatOptions options);

  /// Non-streaming when on_delta is empty, streaming otherwise (on_delta gets
  /// each piece of text as it arrives, always whole UTF-8 sequences).
  /// Errors: Error(auth) for 401/403 and a rejected key (xAI answers 400
  /// "Incorrect API key"); 429/5xx retried with backoff and Retry-After, then
  /// Error(transient); a malformed body Error(permanent) naming the provider;
  /// IncompleteStream when a stream breaks off.
  ChatResult complete(const std::vector<Message>& messages,
                      const std::function<void(std::string_view)>& on_delta = {});

  const ChatOptions& options() const { return options_; }

 private:
  http::Client& http_;
  ChatOptions options_;
};

}  // namespace multivio::ai
