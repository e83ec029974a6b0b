// SPDX-License-Identifier: MIT
#include "tests/fakes/openai_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <httplib.h>

namespace multivio::fakes {

namespace {

using nlohmann::json;

constexpr long long k_created = 1'767'225'600;  // 2026-01-01, fixed so streams are reproducible
constexpr const char* k_completion_id = "chatcmpl-fake-0001";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string flat_error(std::string_view code, std::string_view message) {
  return json{{"code", code}, {"error", message}}.dump();
}

// The text in pieces of n code points; a piece never ends inside a UTF-8
// sequence, as a real server's JSON-encoded deltas never do.
std::vector<std::string> utf8_pieces(std::string_view text, std::size_t n) {
  std::vector<std::string> out;
  n = std::max<std::size_t>(n, 1);
  std::size_t start = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const bool boundary = i == text.size() || (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (!boundary) {
      continue;
    }
    if (count == n || (i == text.size() && i > start)) {
      out.emplace_back(text.substr(start, i - start));
      start = i;
      count = 0;
    }
    ++count;
  }
  return out;
}

json chunk(const std::string& model, json choices, bool include_usage) {
  json c = {{"id", k_completion_id},           {"object", "chat.completion.chunk"},
            {"created", k_created},            {"model", model},
            {"system_fingerprint", "fp_fake"}, {"choices", std::move(choices)}};
  if (include_usage) {
    c["usage"] = nullptr;  // OpenAI: every chunk but the last carries "usage": null
  }
  return c;
}

json usage_json(const OpenAiServer::Reply& reply) {
  return {{"prompt_tokens", reply.prompt_tokens},
          {"completion_tokens", reply.completion_tokens},
          {"total_tokens", reply.prompt_tokens + reply.completion_tokens}};
}

std::string data_event(const json& payload) { return "data: " + payload.dump() + "\n\n"; }

// Every event of the stream a reply sends, already framed ("data: ...\n\n").
std::vector<std::string> stream_events(const OpenAiServer::Reply& reply, const std::string& model,
                                       bool include_usage) {
  using Kind = OpenAiServer::Reply::Kind;
  std::vector<std::string> events;
  const json role = {{"role", "assistant"}, {"content", ""}};
  events.push_back(data_event(
      chunk(model, json::array({{{"index", 0}, {"delta", role}, {"finish_reason", nullptr}}}), include_usage)));
  for (const auto& piece : utf8_pieces(reply.text, reply.delta_chars)) {
    events.push_back(data_event(
        chunk(model, json::array({{{"index", 0}, {"delta", {{"content", piece}}}, {"finish_reason", nullptr}}}),
              include_usage)));
  }
  if (reply.kind == Kind::broken) {
    return events;
  }
  if (reply.kind == Kind::stream_error) {
    const json error = {{"error", {{"message", reply.message.empty() ? "upstream model failed" : reply.message},
                                   {"type", "server_error"}}}};
    events.push_back(reply.error_event ? "event: error\n" + data_event(error) : data_event(error));
    return events;
  }
  events.push_back(data_event(chunk(
      model, json::array({{{"index", 0}, {"delta", json::object()}, {"finish_reason", reply.finish_reason}}}),
      include_usage)));
  if (include_usage && reply.send_usage) {
    json last = chunk(model, json::array(), false);
    last["usage"] = usage_json(reply);
    events.push_back(data_event(last));
  }
  events.push_back("data: [DONE]\n\n");
  return events;
}

void apply_framing(std::vector<std::string>& events, const OpenAiServer::Reply& reply) {
  for (auto& e : events) {
    if (reply.keep_alive) {
      e = ": keep-alive\n\n" + e;
    }
    if (reply.crlf) {
      std::string out;
      for (char c : e) {
        if (c == '\n') {
          out += "\r\n";
        } else {
          out.push_back(c);
        }
      }
      e = std::move(out);
    }
  }
}

// "xai-abcdef" -> "xa***ef", as providers echo a rejected key.
std::string mask_key(std::string_view key) {
  if (key.size() <= 4) {
    return "***";
  }
  return std::string(key.substr(0, 2)) + "***" + std::string(key.substr(key.size() - 2));
}

// Why the body is not an acceptable chat request, or empty. The first
// element is the status (422 for shape, 400 for values, 404 for the model).
std::pair<int, std::string> check_body(const json& body, const std::string& expected_model) {
  if (!body.is_object()) {
    return {422, "the request body must be a JSON object"};
  }
  if (!body.contains("model") || !body["model"].is_string()) {
    return {422, "missing field `model` (a string)"};
  }
  if (!body.contains("messages") || !body["messages"].is_array()) {
    return {422, "missing field `messages` (an array)"};
  }
  if (body["messages"].empty()) {
    return {422, "`messages` must not be empty"};
  }
  for (std::size_t i = 0; i < body["messages"].size(); ++i) {
    const json& m = body["messages"][i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return {422, where + ": missing field `role`"};
    }
    const std::string role = m["role"];
    if (role != "system" && role != "user" && role != "assistant") {
      return {422, where + ": unknown variant `" + role + "`, expected one of `system`, `user`, `assistant`"};
    }
    if (!m.contains("content") || !m["content"].is_string()) {
      return {422, where + ": missing field `content` (a string)"};
    }
  }
  if (body.contains("stream") && !body["stream"].is_boolean()) {
    return {422, "`stream` must be a boolean"};
  }
  const bool stream = body.value("stream", false);
  if (body.contains("stream_options") && !stream) {
    return {400, "stream_options is only allowed when stream is true"};
  }
  if (body.contains("temperature")) {
    const json& t = body["temperature"];
    if (!t.is_number() || t.get<double>() < 0 || t.get<double>() > 2) {
      return {400, "temperature must be a number between 0 and 2, got " + t.dump()};
    }
  }
  if (body.contains("max_tokens")) {
    const json& m = body["max_tokens"];
    if (!m.is_number_integer() || m.get<long long>() < 1) {
      return {400, "max_tokens must be a positive integer, got " + m.dump()};
    }
  }
  if (body["model"] != expected_model) {
    return {404, "The model " + body["model"].get<std::string>() +
                     " does not exist or your team does not have access to it."};
  }
  return {0, {}};
}

}  // namespace

std::optional<std::string> OpenAiServer::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) {
      return v;
    }
  }
  return std::nullopt;
}

std::string OpenAiServer::stream_for(const Reply& reply, const std::string& model, bool include_usage) {
  auto events = stream_events(reply, model, include_usage);
  apply_framing(events, reply);
  std::string out;
  for (const auto& e : events) {
    out += e;
  }
  return out;
}

std::string OpenAiServer::completion_for(const Reply& reply, const std::string& model) {
  const json message = {{"role", "assistant"}, {"content", reply.text}, {"refusal", nullptr}};
  return json{{"id", k_completion_id},
              {"object", "chat.completion"},
              {"created", k_created},
              {"model", model},
              {"choices", json::array({{{"index", 0},
                                        {"message", message},
                                        {"finish_reason", reply.finish_reason}}})},
              {"usage", usage_json(reply)},
              {"system_fingerprint", "fp_fake"}}
      .dump();
}

struct OpenAiServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::string api_key;
  std::string model;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<Received> log;
  std::deque<Reply> scripted;
  Reply fallback;

  // Sleeps in short slices so stop() never waits for a long stall.
  void stall(std::chrono::milliseconds total) const {
    const auto until = std::chrono::steady_clock::now() + total;
    while (!stopping && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds{5}, until - std::chrono::steady_clock::now()));
    }
  }

  // The status and flat error body for a request that fails the checks a
  // real server makes, or status 0 when it passes them.
  std::pair<int, std::string> check(const httplib::Request& req, const json& body, bool parsed,
                                    std::string& reason) const {
    if (req.path != "/chat/completions" && req.path != "/v1/chat/completions") {
      reason = "path " + req.path;
      return {404, flat_error("not-found", "No route for " + req.path)};
    }
    if (req.method != "POST") {
      reason = "method " + req.method;
      return {405, flat_error("invalid-argument", "Method " + req.method + " not allowed")};
    }
    const std::string auth = req.get_header_value("Authorization");
    const std::string_view token =
        auth.starts_with("Bearer ") ? trim(std::string_view(auth).substr(7)) : std::string_view{};
    if (token.empty()) {
      reason = "no bearer token";
      return {401, flat_error("unauthenticated",
                              "Missing or malformed Authorization header; send 'Authorization: Bearer <key>'")};
    }
    if (token != api_key) {
      reason = "wrong key";
      // xAI answers a wrong key with 400, not 401 (platform-apis.md §10).
      return {400, flat_error("invalid-argument", "Incorrect API key provided: " + mask_key(token) +
                                                      ". You can obtain an API key from https://console.x.ai.")};
    }
    const std::string type = req.get_header_value("Content-Type");
    if (!iequals(trim(std::string_view(type).substr(0, type.find(';'))), "application/json")) {
      reason = "content type '" + type + "'";
      return {415, flat_error("invalid-argument", "Content-Type must be application/json")};
    }
    if (!parsed) {
      reason = "invalid JSON body";
      return {400, flat_error("invalid-argument", "Failed to parse the request body as JSON")};
    }
    auto [status, problem] = check_body(body, model);
    if (status != 0) {
      reason = problem;
      const char* code = status == 404 ? "not-found" : status == 422 ? "unprocessable-entity" : "invalid-argument";
      return {status, flat_error(code, problem)};
    }
    return {0, {}};
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    Received rec;
    rec.method = req.method;
    rec.path = req.path;
    for (const auto& [k, v] : req.headers) {
      rec.headers.emplace_back(k, v);
    }
    rec.body = req.body;
    rec.json = json::parse(req.body, nullptr, false);
    const bool parsed = !rec.json.is_discarded();
    if (!parsed) {
      rec.json = nullptr;
    }
    auto flag = [](const json& object, const char* key) {
      return object.is_object() && object.contains(key) && object[key].is_boolean() && object[key].get<bool>();
    };
    const bool stream = flag(rec.json, "stream");
    const bool include_usage = stream && rec.json.contains("stream_options") &&
                               flag(rec.json["stream_options"], "include_usage");

    auto [reject_status, reject_body] = check(req, rec.json, parsed, rec.reject_reason);
    Reply reply;
    {
      std::lock_guard lock(mutex);
      if (reject_status == 0) {
        if (!scripted.empty()) {
          reply = std::move(scripted.front());
          scripted.pop_front();
        } else {
          reply = fallback;
        }
      }
      rec.accepted = reject_status == 0;
      rec.status = reject_status != 0 ? reject_status : status_of(reply);
      log.push_back(rec);
    }
    // Recorded before stalling, so a test sees the request while it hangs.
    changed.notify_all();

    if (reject_status != 0) {
      res.status = reject_status;
      res.set_content(reject_body, "application/json");
      return;
    }
    stall(reply.delay);
    for (const auto& [k, v] : reply.headers) {
      res.set_header(k, v);
    }
    respond(reply, stream, include_usage, res);
  }

  static int status_of(const Reply& reply) {
    switch (reply.kind) {
      case Reply::completion:
      case Reply::broken:
      case Reply::stream_error: return 200;
      case Reply::rate_limited: return 429;
      case Reply::server_error: return reply.status != 0 ? reply.status : 500;
      case Reply::unauthorized: return 401;
      case Reply::error: return reply.status != 0 ? reply.status : 400;
      case Reply::raw: return reply.status != 0 ? reply.status : 200;
    }
    return 500;
  }

  void respond(const Reply& reply, bool stream, bool include_usage, httplib::Response& res) {
    res.status = status_of(reply);
    switch (reply.kind) {
      case Reply::completion:
      case Reply::broken:
      case Reply::stream_error:
        if (stream) {
          send_stream(reply, include_usage, res);
        } else if (reply.kind == Reply::broken) {
          // A JSON body cut off halfway: Content-Length promises more than arrives.
          const std::string full = completion_for(reply, model);
          res.set_content_provider(full.size(), "application/json",
                                   [full](std::size_t, std::size_t, httplib::DataSink& sink) {
                                     sink.write(full.data(), full.size() / 2);
                                     return false;
                                   });
        } else {
          res.set_content(completion_for(reply, model), "application/json");
        }
        return;
      case Reply::rate_limited:
        if (reply.retry_after >= 0) {
          res.set_header("Retry-After", std::to_string(reply.retry_after));
        }
        res.set_content(flat_error("resource-exhausted",
                                   reply.message.empty() ? "Too many requests for model " + model : reply.message),
                        "application/json");
        return;
      case Reply::server_error:
        res.set_content(flat_error("internal", reply.message.empty() ? "Internal server error" : reply.message),
                        "application/json");
        return;
      case Reply::unauthorized:
        res.set_content(flat_error("unauthenticated", reply.message.empty() ? "Invalid credentials" : reply.message),
                        "application/json");
        return;
      case Reply::error:
        res.set_content(flat_error(reply.code.empty() ? "invalid-argument" : reply.code, reply.message),
                        "application/json");
        return;
      case Reply::raw:
        res.set_content(reply.body, reply.content_type);
        return;
    }
  }

  void send_stream(const Reply& reply, bool include_usage, httplib::Response& res) {
    auto events = stream_events(reply, model, include_usage);
    apply_framing(events, reply);
    std::vector<std::string> pieces;
    if (reply.splits.empty()) {
      pieces = std::move(events);
    } else {
      std::string all;
      for (const auto& e : events) {
        all += e;
      }
      std::vector<std::size_t> cuts = reply.splits;
      std::sort(cuts.begin(), cuts.end());
      cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
      std::size_t start = 0;
      for (std::size_t cut : cuts) {
        if (cut > start && cut < all.size()) {
          pieces.push_back(all.substr(start, cut - start));
          start = cut;
        }
      }
      pieces.push_back(all.substr(start));
    }
    const bool drop = reply.kind != Reply::completion && !reply.clean_close;
    const auto pause = reply.piece_delay;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [this, pieces = std::move(pieces), drop, pause](std::size_t, httplib::DataSink& sink) {
          for (std::size_t i = 0; i < pieces.size(); ++i) {
            if (i > 0) {
              stall(pause);  // with TCP_NODELAY each piece leaves as its own segment
            }
            if (stopping || !sink.write(pieces[i].data(), pieces[i].size())) {
              return false;
            }
          }
          if (drop) {
            return false;  // closes the connection without the terminating zero-size chunk
          }
          sink.done();
          return true;
        });
  }
};

OpenAiServer::OpenAiServer(std::string api_key, std::string model) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.api_key = std::move(api_key);
  impl.model = std::move(model);
  auto handler = [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); };
  impl.server.Get(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.Put(".*", handler);
  impl.server.Delete(".*", handler);

  impl.server.set_keep_alive_timeout(1);  // idle keep-alive connections hold stop() this long
  impl.server.set_tcp_nodelay(true);      // pieces of a stream must not wait for delayed ACKs
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) {
    throw std::runtime_error("openai fake: cannot bind 127.0.0.1");
  }
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

OpenAiServer::~OpenAiServer() { stop(); }

void OpenAiServer::stop() {
  if (!impl_->thread.joinable()) {
    return;
  }
  impl_->stopping = true;
  impl_->server.stop();
  impl_->thread.join();
}

std::string OpenAiServer::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port) + "/v1"; }
int OpenAiServer::port() const { return impl_->port; }
const std::string& OpenAiServer::api_key() const { return impl_->api_key; }
const std::string& OpenAiServer::model() const { return impl_->model; }

void OpenAiServer::script(std::vector<Reply> replies) {
  std::lock_guard lock(impl_->mutex);
  impl_->scripted.assign(std::make_move_iterator(replies.begin()), std::make_move_iterator(replies.end()));
}

void OpenAiServer::set_default(Reply reply) {
  std::lock_guard lock(impl_->mutex);
  impl_->fallback = std::move(reply);
}

std::vector<OpenAiServer::Received> OpenAiServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::size_t OpenAiServer::count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log.size();
}

bool OpenAiServer::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->log.size() >= n; });
}

}  // namespace multivio::fakes
