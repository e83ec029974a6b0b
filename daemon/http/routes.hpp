// SPDX-License-Identifier: MIT
// The REST listener's one table of routes: {method, path pattern, scope,
// handler} plus what /openapi.json says about each. Handlers are stateless
// functions that call common/app, never SQL; server.cpp wraps every call with
// authentication, scopes, limits and error mapping. Private to daemon/.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/app/context.hpp"
#include "daemon/http/metrics.hpp"

namespace multivio::daemon::http {

/// What a handler answers; the wrapper adds nothing but counting.
struct Reply {
  int status = 200;
  // With the charset, cpp-httplib does not compress the answer: it would
  // pick brotli at its slowest quality for a client offering "br", about
  // 30 ms of CPU for a 9 KB page, longer than the request itself.
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// Set for streamed answers (text/event-stream): runs after the handler
  /// returns, on the same listener thread, and writes the body piece by piece
  /// with `write`, which returns false once the client is gone; then it must
  /// return promptly. `body` is ignored.
  using Writer = std::function<bool(std::string_view chunk)>;
  std::function<void(const Writer& write)> stream;

  static Reply json(const nlohmann::json& doc, int status = 200);
  /// {"error":{"code":..,"message":..}}
  static Reply error(int status, std::string_view code, std::string_view message);
};

/// State the listener shares with every handler. Thread-safe.
struct Services {
  Metrics metrics;
  /// Milliseconds since the epoch of the publishing loop's last pass
  /// (Daemon updates it); 0 before the first.
  std::atomic<std::int64_t> loop_beat_ms{0};
  /// /health calls the loop stalled when its last pass is older than this.
  std::chrono::milliseconds loop_silence_limit{60'000};
  /// Set when the listener stops: long streams (/v1/events) end at once.
  std::atomic<bool> stopping{false};
  /// Event streams open now, and how many may be (each holds a pool thread).
  std::atomic<int> event_streams{0};
  int max_event_streams = 4;
  /// How often an idle event stream looks for new events, and sends a
  /// comment line so proxies and clients see it is alive.
  std::chrono::milliseconds event_poll{250};
  std::chrono::milliseconds event_keepalive{15'000};
};

/// One part of a multipart/form-data body: a file (with a filename) or a
/// plain field.
struct UploadedFile {
  std::string field;
  std::string filename;
  std::string content_type;
  std::string content;
};

/// One request as a handler sees it. The Context's store already acts as the
/// token's user, so a foreign id is simply not found.
struct Call {
  app::Context& ctx;
  Services& services;
  const store::ApiToken* token = nullptr;  // nullptr on public routes
  std::map<std::string, std::string> params;  // path parameters by name
  std::map<std::string, std::string> query;
  std::string body;
  std::string accept;  // the Accept header: text/event-stream asks the AI routes to stream
  std::string last_event_id;  // the Last-Event-ID header: where /v1/events resumes
  std::vector<UploadedFile> files;  // multipart/form-data parts (upload routes only)

  /// The body as a JSON object; Error(usage) when it is malformed or not an object.
  nlohmann::json json_body() const;
  /// A path parameter that must be a positive id; Error(not_found) otherwise
  /// ("/v1/posts/abc" is as missing as "/v1/posts/999").
  std::int64_t id_param(const std::string& name) const;
  std::optional<std::string> query_param(const std::string& name) const;
};

using Handler = Reply (*)(Call&);

struct QueryParam {
  const char* name;
  const char* schema;  // JSON Schema text
  const char* description;
};

struct Route {
  const char* method;  // "GET", "POST", "DELETE"
  const char* path;    // pattern with {name} segments
  const char* scope;   // required token scope; "" for a public route
  Handler handler;
  const char* summary;
  int ok_status;
  const char* content_type;     // of the success body
  const char* request_schema;   // JSON Schema text of the body, nullptr: no body
  const char* response_schema;  // JSON Schema text of the success body, nullptr: none
  std::vector<QueryParam> query;
  /// Takes multipart/form-data up to ServerOptions::max_upload bytes instead
  /// of a JSON body up to max_body.
  bool upload = false;
};

/// Every route the listener serves, in the order /openapi.json lists them.
const std::vector<Route>& routes();

/// Whether `path` matches `pattern` segment by segment; fills params with
/// the {name} segments.
bool match(std::string_view pattern, std::string_view path, std::map<std::string, std::string>& params);

/// The OpenAPI 3.1 document describing routes().
nlohmann::json openapi();

}  // namespace multivio::daemon::http
