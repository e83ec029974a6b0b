// SPDX-License-Identifier: MIT
#include "common/ai/client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/ai/sse.hpp"
#include "common/http/client.hpp"

namespace multivio::ai {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::size_t k_max_error_body = 64u << 10;  // an error body larger than this is cut
constexpr std::size_t k_max_answer = 16u << 20;      // a chat answer larger than this is not an answer
constexpr milliseconds k_connect_timeout{10'000};
constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD

bool icontains(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != haystack.end();
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && icontains(s.substr(0, prefix.size()), prefix);
}

// One line for an error message: control characters become single spaces and
// the cut never splits a UTF-8 sequence.
std::string one_line(std::string_view text, std::size_t max = 300) {
  std::size_t end = std::min(text.size(), max);
  while (end < text.size() && end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  std::string out;
  for (char c : text.substr(0, end)) {
    const bool space = static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    if (space && (out.empty() || out.back() == ' ')) {
      continue;
    }
    out.push_back(space ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  if (end < text.size()) {
    out += "...";
  }
  return out;
}

// The provider's own words from an error body: xAI's flat {"code","error"},
// OpenAI's {"error":{"message"}}, or a bare {"message"}/{"detail"}; else the
// body itself, shortened.
std::string provider_message(std::string_view body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto it = j.find("error"); it != j.end()) {
      if (it->is_string()) {
        return one_line(it->get<std::string>());
      }
      if (it->is_object()) {
        if (auto m = it->find("message"); m != it->end() && m->is_string()) {
          return one_line(m->get<std::string>());
        }
      }
    }
    for (const char* key : {"message", "detail"}) {
      if (auto m = j.find(key); m != j.end() && m->is_string()) {
        return one_line(m->get<std::string>());
      }
    }
  }
  return one_line(body);
}

// xAI answers a wrong key with 400 "Incorrect API key provided: ..." rather
// than 401; OpenAI-compatible servers word it "Invalid API key" or similar.
bool mentions_rejected_key(std::string_view message) {
  return icontains(message, "api key") &&
         (icontains(message, "incorrect") || icontains(message, "invalid") || icontains(message, "missing"));
}

// The length of the longest prefix of s that ends on a UTF-8 sequence
// boundary: a lead byte whose continuation bytes have not all arrived is held
// back. Invalid bytes count as complete; they are not ours to repair here.
std::size_t complete_prefix(std::string_view s) {
  const std::size_t n = s.size();
  for (std::size_t back = 1; back <= std::min<std::size_t>(n, 4); ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) {
      continue;  // continuation byte: look further back for its lead
    }
    std::size_t need = 1;
    if ((c & 0xE0) == 0xC0) {
      need = 2;
    } else if ((c & 0xF0) == 0xE0) {
      need = 3;
    } else if ((c & 0xF8) == 0xF0) {
      need = 4;
    }
    return back < need ? n - back : n;
  }
  return n;
}

Usage parse_usage(const json& j, Usage usage) {
  if (!j.is_object()) {
    return usage;
  }
  auto number = [&](const char* key, long long& out) {
    if (auto it = j.find(key); it != j.end() && it->is_number_integer()) {
      out = it->get<long long>();
    }
  };
  number("prompt_tokens", usage.prompt_tokens);
  number("completion_tokens", usage.completion_tokens);
  return usage;
}

// What a single try ended with: an answer, or an error worth another try.
struct Outcome {
  std::optional<ChatResult> result;
  std::optional<Error> retry;
};

// Everything a streamed answer accumulates while the bytes come in.
struct Stream {
  SseParser parser;
  const std::function<void(std::string_view)>* on_delta = nullptr;
  bool head_seen = false;
  http::Response head;
  bool sse = true;          // a 2xx with Content-Type text/event-stream (or none)
  bool started = false;     // SSE bytes of a 2xx arrived
  bool own_error = false;   // the exception leaving send_streaming is ours, not the transport's
  std::string raw;          // the body when it is not an event stream (error JSON, plain completion)
  std::string text;         // handed out so far
  std::string pending;      // the start of a UTF-8 sequence still waiting for its end
  std::string finish_reason;
  std::string model;
  Usage usage;
  bool done = false;        // "data: [DONE]" seen

  void deliver(std::string_view piece) {
    pending.append(piece);
    const std::size_t cut = complete_prefix(pending);
    if (cut == 0) {
      return;
    }
    const std::string out = pending.substr(0, cut);
    pending.erase(0, cut);
    text += out;
    (*on_delta)(out);
  }

  // At the end of the stream a held-back fragment can only be broken UTF-8.
  void flush() {
    if (!pending.empty()) {
      pending.clear();
      text += k_replacement;
      (*on_delta)(k_replacement);
    }
  }
};

}  // namespace

ChatClient::ChatClient(http::Client& http, ChatOptions options) : http_(http), options_(std::move(options)) {}

ChatResult ChatClient::complete(const std::vector<Message>& messages,
                                const std::function<void(std::string_view)>& on_delta) {
  const auto started_at = Clock::now();
  std::string base = options_.base_url;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  // Errors name the provider by its URL (redacted: it may carry userinfo).
  const std::string ctx = "ai (" + http::redact_url(base) + ")";
  if (base.empty()) {
    throw_usage("ai: base_url is empty");
  }
  if (messages.empty()) {
    throw_usage(ctx + ": no messages to send");
  }
  const bool streaming = static_cast<bool>(on_delta);

  // The provider may echo the key in an error; it never reaches a message.
  auto scrub = [&](std::string text) {
    const std::string& key = options_.api_key;
    if (key.size() >= 4) {
      for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
        text.replace(at, key.size(), "***");
      }
    }
    return text;
  };

  auto malformed = [&](const std::string& what) {
    return Error(ErrorKind::permanent, ctx + ": malformed response: " + scrub(what));
  };

  // A non-2xx answer as the error the header promises: http::classify's
  // kinds, plus xAI's 400 for a wrong key counted as auth.
  auto response_error = [&](const http::Response& resp) {
    const std::string message = scrub(provider_message(resp.body));
    const std::string status_text = "HTTP " + std::to_string(resp.status);
    const Error classified = http::classify(resp, ctx);
    const bool auth = classified.kind() == ErrorKind::auth || (resp.status == 400 && mentions_rejected_key(message));
    Error error = auth ? Error(ErrorKind::auth,
                               ctx + ": credentials rejected: " + (message.empty() ? status_text : message))
                       : Error(classified.kind(), ctx + ": " + status_text + (message.empty() ? "" : ": " + message));
    error.http_status = resp.status;
    error.retry_after = classified.retry_after;
    return error;
  };

  // A transport failure before any answer arrived: worth retrying only when
  // the request never left (a retry after a timeout would pay twice and most
  // likely time out again).
  auto transport_outcome = [&](const Error& e) -> Outcome {
    Error prefixed = e.with_prefix(ctx);
    if (e.kind() == ErrorKind::transient && !e.outcome_unknown) {
      return {std::nullopt, std::move(prefixed)};
    }
    throw prefixed;
  };

  auto parse_completion = [&](std::string_view body) {
    const json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) {
      throw malformed("body is not JSON: " + one_line(body, 120));
    }
    if (!j.is_object()) {
      throw malformed("expected a JSON object, got " + one_line(body, 120));
    }
    if (auto err = j.find("error"); err != j.end() && !err->is_null()) {
      throw Error(ErrorKind::permanent, ctx + ": " + scrub(provider_message(body)));
    }
    const auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array() || choices->empty()) {
      throw malformed("no choices in " + one_line(body, 120));
    }
    const json& first = (*choices)[0];
    const auto message = first.is_object() ? first.find("message") : first.end();
    if (!first.is_object() || message == first.end() || !message->is_object()) {
      throw malformed("choices[0] has no message");
    }
    ChatResult result;
    if (auto content = message->find("content"); content != message->end() && !content->is_null()) {
      if (!content->is_string()) {
        throw malformed("choices[0].message.content is not a string");
      }
      result.text = content->get<std::string>();
    }
    if (auto reason = first.find("finish_reason"); reason != first.end() && reason->is_string()) {
      result.finish_reason = reason->get<std::string>();
    }
    result.usage.model = j.contains("model") && j["model"].is_string() ? j["model"].get<std::string>()
                                                                       : options_.model;
    result.usage = parse_usage(j.contains("usage") ? j["usage"] : json(), result.usage);
    return result;
  };

  json body = {{"model", options_.model}, {"messages", json::array()}, {"stream", streaming}};
  for (const auto& m : messages) {
    body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  }
  if (options_.temperature) {
    body["temperature"] = *options_.temperature;
  }
  if (options_.max_tokens) {
    body["max_tokens"] = *options_.max_tokens;
  }
  if (streaming) {
    body["stream_options"] = {{"include_usage", true}};
  }

  http::Request request;
  request.method = "POST";
  request.url = base + "/chat/completions";
  request.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  request.headers = {{"Content-Type", "application/json"},
                     {"Accept", streaming ? "text/event-stream" : "application/json"}};
  if (!options_.api_key.empty()) {
    // Local OpenAI-compatible servers often need no key; xAI answers 401.
    request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
  }
  request.total_timeout = options_.timeout;
  request.connect_timeout = std::min(options_.timeout, k_connect_timeout);

  auto plain_once = [&]() -> Outcome {
    http::Response resp;
    try {
      resp = http_.send(request);
    } catch (const Error& e) {
      return transport_outcome(e);
    }
    if (!resp.ok()) {
      Error error = response_error(resp);
      if (error.kind() == ErrorKind::transient) {
        return {std::nullopt, std::move(error)};
      }
      throw error;
    }
    return {parse_completion(resp.body), std::nullopt};
  };

  auto stream_once = [&]() -> Outcome {
    Stream st;
    st.on_delta = &on_delta;
    st.model = options_.model;
    st.usage.model = options_.model;

    auto incomplete = [&](const std::string& why) {
      return IncompleteStream(ctx + ": " + scrub(why), st.text);
    };

    auto on_event = [&](const SseEvent& ev) {
      if (st.done) {
        return;  // nothing after [DONE] counts
      }
      if (ev.event == "error") {
        throw incomplete("stream failed: " + provider_message(ev.data));
      }
      if (!ev.event.empty() && ev.event != "message") {
        return;  // named events other than errors are not part of a chat answer
      }
      if (ev.data.starts_with("[DONE]")) {
        st.done = true;
        return;
      }
      if (ev.data.empty()) {
        return;
      }
      const json j = json::parse(ev.data, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        throw malformed("stream event is not a JSON object: " + one_line(ev.data, 120));
      }
      if (auto err = j.find("error"); err != j.end() && !err->is_null()) {
        throw incomplete("stream failed: " + provider_message(ev.data));
      }
      if (auto m = j.find("model"); m != j.end() && m->is_string()) {
        st.model = m->get<std::string>();
      }
      if (auto u = j.find("usage"); u != j.end()) {
        st.usage = parse_usage(*u, st.usage);
      }
      const auto choices = j.find("choices");
      if (choices == j.end() || !choices->is_array()) {
        return;  // the usage-only chunk (some servers send "choices": null or none)
      }
      for (const json& choice : *choices) {
        if (!choice.is_object()) {
          continue;
        }
        if (auto index = choice.find("index");
            index != choice.end() && !(index->is_number_integer() && index->get<long long>() == 0)) {
          continue;  // only one answer was asked for
        }
        if (auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
          if (auto content = delta->find("content"); content != delta->end() && content->is_string()) {
            const auto& piece = content->get_ref<const std::string&>();
            if (st.text.size() + piece.size() > k_max_answer) {
              throw malformed("answer larger than " + std::to_string(k_max_answer >> 20) + " MiB");
            }
            if (!piece.empty()) {
              st.deliver(piece);
            }
          }
        }
        if (auto reason = choice.find("finish_reason"); reason != choice.end() && reason->is_string()) {
          st.finish_reason = reason->get<std::string>();
        }
      }
    };

    auto on_body = [&](const http::Response& head, std::string_view chunk) {
      if (!st.head_seen) {
        st.head_seen = true;
        st.head = head;
        const auto type = head.header("Content-Type");
        st.sse = head.ok() && (!type || istarts_with(*type, "text/event-stream"));
      }
      if (!st.sse) {
        // An error body, or a server that ignored "stream": collect it.
        if (st.raw.size() < (head.ok() ? k_max_answer : k_max_error_body)) {
          st.raw.append(chunk);
        }
        return;
      }
      st.started = true;
      if (st.done) {
        return;
      }
      try {
        st.parser.feed(chunk, on_event);
      } catch (...) {
        st.own_error = true;
        throw;
      }
    };

    http::Response resp;
    try {
      resp = http_.send_streaming(request, on_body);
    } catch (const Error& e) {
      if (st.own_error) {
        throw;
      }
      if (st.started) {
        if (st.done || !st.finish_reason.empty()) {
          // The answer was complete; only the connection's end went wrong.
          resp = st.head;
        } else {
          throw incomplete(std::string("stream broke off: ") + e.what());
        }
      } else {
        return transport_outcome(e);
      }
    }

    if (!resp.ok()) {
      resp.body = std::move(st.raw);
      Error error = response_error(resp);
      if (error.kind() == ErrorKind::transient) {
        return {std::nullopt, std::move(error)};
      }
      throw error;
    }
    if (st.head_seen && !st.sse) {
      // A plain completion although a stream was asked for: one big delta.
      ChatResult result = parse_completion(st.raw);
      if (!result.text.empty()) {
        on_delta(result.text);
      }
      return {std::move(result), std::nullopt};
    }
    st.parser.finish(on_event);
    st.flush();
    if (!st.done && st.finish_reason.empty()) {
      throw incomplete(st.started ? "stream ended before the answer was complete" : "empty stream");
    }
    ChatResult result;
    result.text = std::move(st.text);
    result.finish_reason = std::move(st.finish_reason);
    result.usage = st.usage;
    result.usage.model = st.model;
    return {std::move(result), std::nullopt};
  };

  const int attempts = std::max(0, options_.max_retries) + 1;
  for (int attempt = 1;; ++attempt) {
    Outcome outcome = streaming ? stream_once() : plain_once();
    if (outcome.result) {
      ChatResult& result = *outcome.result;
      result.usage.latency = std::chrono::duration_cast<milliseconds>(Clock::now() - started_at);
      spdlog::debug("ai: POST {} -> {} in {} ms model={} prompt_tokens={} completion_tokens={} attempts={}",
                    http::redact_url(request.url), result.finish_reason.empty() ? "done" : result.finish_reason,
                    result.usage.latency.count(), result.usage.model, result.usage.prompt_tokens,
                    result.usage.completion_tokens, attempt);
      return std::move(result);
    }

    const Error& error = *outcome.retry;
    if (attempt >= attempts) {
      Error last(ErrorKind::transient,
                 std::string(error.what()) + " after " + std::to_string(attempt) +
                     (attempt == 1 ? " attempt" : " attempts"));
      last.http_status = error.http_status;
      last.retry_after = error.retry_after;
      throw last;
    }
    milliseconds wait{0};
    if (error.retry_after) {
      wait = std::chrono::duration_cast<milliseconds>(*error.retry_after);
      if (wait > options_.retry_max) {
        // Waiting that long inside one call helps nobody: hand the hint up
        // (the daemon reschedules by retry_after).
        Error last(ErrorKind::transient, std::string(error.what()) + "; the server asks to wait " +
                                             std::to_string(error.retry_after->count()) + "s");
        last.http_status = error.http_status;
        last.retry_after = error.retry_after;
        throw last;
      }
    } else {
      // Exponential backoff with jitter in [d/2, d]: clients that failed
      // together do not come back together.
      const int shift = std::min(attempt - 1, 20);
      const auto full = std::min(options_.retry_max, options_.retry_base * (milliseconds::rep{1} << shift));
      thread_local std::mt19937_64 rng{std::random_device{}()};
      const milliseconds::rep top = std::max<milliseconds::rep>(full.count(), 0);
      std::uniform_int_distribution<milliseconds::rep> pick(top / 2, top);
      wait = milliseconds(pick(rng));
    }
    spdlog::warn("{}; retrying in {} ms (attempt {} of {})", error.what(), wait.count(), attempt + 1, attempts);
    if (options_.sleep) {
      options_.sleep(wait);
    } else {
      std::this_thread::sleep_for(wait);
    }
  }
}

}  // namespace multivio::ai
