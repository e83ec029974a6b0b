// SPDX-License-Identifier: MIT
#include "daemon/http/routes.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/app/accounts.hpp"
#include "common/app/ai.hpp"
#include "common/app/link.hpp"
#include "common/app/media.hpp"
#include "common/app/posts.hpp"
#include "common/app/tokens.hpp"
#include "common/error.hpp"
#include "common/http/url_policy.hpp"
#include "common/store/store.hpp"

namespace multivio::daemon::http {
namespace {

using nlohmann::json;

// ---- schemas (JSON Schema 2020-12 as OpenAPI 3.1 takes it) -----------------

constexpr const char* kPostRef = R"({"$ref": "#/components/schemas/Post"})";
constexpr const char* kAccountRef = R"({"$ref": "#/components/schemas/Account"})";

constexpr const char* kMediaSchema = R"({
  "type": "object",
  "required": ["id", "sha256", "kind", "mime", "bytes"],
  "properties": {
    "id": {"type": "integer", "description": "What POST /v1/posts takes in media"},
    "sha256": {"type": "string"},
    "kind": {"type": "string", "description": "png, jpeg, gif, webp, mp4, mov or unknown, read from the bytes"},
    "mime": {"type": "string"},
    "bytes": {"type": "integer"},
    "width": {"type": ["integer", "null"]},
    "height": {"type": ["integer", "null"]},
    "duration_ms": {"type": ["integer", "null"]},
    "alt": {"type": "string"},
    "created_at": {"type": "string", "format": "date-time"}
  }
})";
constexpr const char* kMediaListSchema = R"({
  "type": "object",
  "required": ["media"],
  "properties": {"media": {"type": "array", "items": {"$ref": "#/components/schemas/Media"}}}
})";
constexpr const char* kMediaUploadSchema = R"({
  "type": "object",
  "required": ["file"],
  "properties": {
    "file": {"type": "string", "contentMediaType": "application/octet-stream", "description": "The file; its type is read from the bytes"},
    "alt": {"type": "string", "description": "Alt text"}
  }
})";
constexpr const char* kMediaRef = R"({"$ref": "#/components/schemas/Media"})";

constexpr const char* kPostSchema = R"({
  "type": "object",
  "required": ["id", "status", "text", "targets"],
  "properties": {
    "id": {"type": "integer"},
    "status": {"type": "string", "description": "Derived from the targets: draft, scheduled, publishing, published, partial, failed, cancelled"},
    "text": {"type": "string"},
    "media": {"type": "array", "items": {"type": "string"}},
    "tags": {"type": "array", "items": {"type": "string"}},
    "scheduled_at": {"type": ["string", "null"], "format": "date-time"},
    "timezone": {"type": "string"},
    "key": {"type": ["string", "null"], "description": "Idempotency key given at creation"},
    "options": {"type": "object"},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "targets": {"type": "array", "items": {"type": "object", "properties": {
      "id": {"type": "integer"}, "account_id": {"type": "integer"}, "account": {"type": "string"},
      "platform": {"type": "string"}, "status": {"type": "string"}, "attempts": {"type": "integer"},
      "remote_url": {"type": "string"}, "error": {"type": "string"}}}}
  }
})";

constexpr const char* kAccountSchema = R"({
  "type": "object",
  "required": ["id", "platform", "name", "ref"],
  "properties": {
    "id": {"type": "integer"},
    "platform": {"type": "string"},
    "name": {"type": "string"},
    "ref": {"type": "string", "description": "platform:name"},
    "handle": {"type": "string"},
    "options": {"type": "object"},
    "has_secrets": {"type": "boolean"},
    "healthy": {"type": "boolean"},
    "health_note": {"type": "string"},
    "created_at": {"type": "string", "format": "date-time"}
  }
})";

constexpr const char* kErrorSchema = R"({
  "type": "object",
  "required": ["error"],
  "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
    "code": {"type": "string", "description": "usage, validation, not_found, auth, transient, permanent, forbidden, too_large, rate_limited, method_not_allowed"},
    "message": {"type": "string"}}}}
})";

constexpr const char* kNewPostSchema = R"({
  "type": "object",
  "required": ["text", "to"],
  "additionalProperties": false,
  "properties": {
    "text": {"type": "string"},
    "to": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "Account refs: id or platform:name"},
    "at": {"type": "string", "description": "WHEN, as for 'multivio post new --at'"},
    "now": {"type": "boolean"},
    "draft": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "key": {"type": "string", "description": "Idempotency key: a repeat returns the post it made"},
    "variants": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Account ref to its own text"},
    "thread": {"enum": ["auto", "never"]},
    "cw": {"type": "string"},
    "language": {"type": "string"},
    "media": {"type": "array", "items": {"type": ["integer", "string"]}, "description": "Media ids from POST /v1/media (or \"media:ID\"), in order"},
    "alt": {"type": "array", "items": {"type": "string"}, "description": "Alt text per media item, replacing the item's own"}
  }
})";

constexpr const char* kScheduleSchema = R"({
  "type": "object", "required": ["at"], "additionalProperties": false,
  "properties": {"at": {"type": "string", "description": "WHEN, as for 'multivio post schedule'"}}
})";

constexpr const char* kCheckSchema = R"({
  "type": "object", "required": ["text", "to"], "additionalProperties": false,
  "properties": {
    "text": {"type": "string"},
    "to": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "Account refs or network names"},
    "thread": {"enum": ["auto", "never"], "description": "auto: measure an over-long text as a thread"}
  }
})";

constexpr const char* kCheckResultSchema = R"({
  "type": "object", "required": ["ok", "results"],
  "properties": {
    "ok": {"type": "boolean"},
    "results": {"type": "array", "items": {"type": "object", "properties": {
      "target": {"type": "string"}, "platform": {"type": "string"}, "length": {"type": "integer"},
      "limit": {"type": "integer"}, "ok": {"type": "boolean"}, "problems": {"type": "array", "items": {"type": "string"}},
      "parts": {"type": "integer"}}}}
  }
})";

constexpr const char* kAiStyleProperties = R"(
    "tone": {"type": "string", "description": "e.g. friendly, formal"},
    "audience": {"type": "string", "description": "Who reads it"},
    "hashtags": {"type": "boolean", "default": true, "description": "false: ask for no hashtags"},
    "emoji": {"type": "boolean", "default": true, "description": "false: ask for no emoji"},
    "links": {"type": "boolean", "default": true, "description": "false: ask for no links"},
    "fit": {"type": "boolean", "description": "Shorten a text that still breaks the rules instead of failing"})";

const std::string kAiGenerateSchema = std::string(R"({
  "type": "object", "required": ["prompt"], "additionalProperties": false,
  "properties": {
    "prompt": {"type": "string", "minLength": 1, "description": "What the post is about"},
    "for": {"type": "string", "description": "Network or account ref whose rules the text must meet"},)") +
                                      kAiStyleProperties + "}}";

const std::string kAiTransformSchema = std::string(R"({
  "type": "object", "required": ["text", "for"], "additionalProperties": false,
  "properties": {
    "text": {"type": "string", "minLength": 1},
    "for": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "Networks or account refs"},)") +
                                       kAiStyleProperties + "}}";

constexpr const char* kAiHashtagsSchema = R"({
  "type": "object", "required": ["text"], "additionalProperties": false,
  "properties": {
    "text": {"type": "string", "minLength": 1},
    "count": {"type": "integer", "minimum": 1, "maximum": 30, "default": 5},
    "for": {"type": "array", "items": {"type": "string"}, "description": "Networks the set must fit"}
  }
})";

constexpr const char* kAiTextRef = R"({"$ref": "#/components/schemas/AiText"})";

constexpr const char* kAiTextSchema = R"({
  "type": "object", "required": ["platform", "text", "length", "limit", "rewrites", "fit", "usage"],
  "properties": {
    "platform": {"type": ["string", "null"]},
    "text": {"type": "string"},
    "length": {"type": "integer"},
    "limit": {"type": "integer", "description": "0: no limit"},
    "rewrites": {"type": "integer", "description": "Times the model was asked again to meet the rules"},
    "fit": {"type": ["string", "null"], "description": "Set when the text was shortened to fit"},
    "cleaned": {"type": "boolean", "description": "Streams only: the text differs from the deltas, quotes or fences stripped"},
    "usage": {"type": "object", "properties": {"model": {"type": "string"}, "prompt_tokens": {"type": "integer"},
              "completion_tokens": {"type": "integer"}, "latency_ms": {"type": "integer"}}}
  }
})";

constexpr const char* kAiTransformResultSchema = R"({
  "type": "object", "required": ["results"],
  "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/AiText"}}}
})";

constexpr const char* kAiHashtagsResultSchema = R"({
  "type": "object", "required": ["hashtags"],
  "properties": {"hashtags": {"type": "array", "items": {"type": "string"}}}
})";

constexpr const char* kPostListSchema = R"({
  "type": "object", "required": ["posts", "next_cursor"],
  "properties": {
    "posts": {"type": "array", "items": {"$ref": "#/components/schemas/Post"}},
    "next_cursor": {"type": ["string", "null"], "description": "Pass as ?cursor= for the next page; null on the last"}
  }
})";

constexpr const char* kAccountListSchema = R"({
  "type": "object", "required": ["accounts"],
  "properties": {"accounts": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}}}
})";

constexpr const char* kHealthSchema = R"({
  "type": "object", "required": ["status", "store", "loop"],
  "properties": {
    "status": {"enum": ["ok", "unavailable"]},
    "store": {"type": "string", "description": "ok, or why the store cannot be reached"},
    "loop": {"enum": ["ok", "stalled", "starting"]},
    "loop_age_ms": {"type": ["integer", "null"]}
  }
})";

constexpr const char* kEditPostSchema = R"({
  "type": "object", "additionalProperties": false, "minProperties": 1,
  "properties": {
    "text": {"type": "string"},
    "variants": {"type": "object", "additionalProperties": {"type": "string"},
                 "description": "Account ref to its own text; an empty string removes the variant"},
    "tags": {"type": "array", "items": {"type": "string"}, "description": "Replaces the tags"}
  }
})";

constexpr const char* kNewAccountSchema = R"({
  "type": "object", "required": ["platform"], "additionalProperties": false,
  "properties": {
    "platform": {"type": "string", "description": "feed, webhook, mastodon, bluesky, x"},
    "name": {"type": "string", "description": "Default: main"},
    "options": {"type": "object", "description": "As the account add flags: instance, url, path, handle, pds, ..."},
    "secrets": {"type": "object", "writeOnly": true,
                "description": "access_token, refresh_token, expires_in, app_password, signing_secret; sealed, never returned"}
  }
})";

constexpr const char* kAccountCheckSchema = R"({
  "type": "object", "required": ["account", "id", "ok"],
  "properties": {
    "account": {"type": "string", "description": "platform:name"},
    "id": {"type": "integer"},
    "ok": {"type": "boolean"},
    "handle": {"type": "string"},
    "expires_at": {"type": ["string", "null"], "format": "date-time"},
    "scopes": {"type": "array", "items": {"type": "string"}},
    "detail": {"type": "string"},
    "error": {"type": "string", "description": "Why the check failed, when ok is false"},
    "kind": {"type": "string", "description": "auth (re-link), transient, permanent, ..."},
    "relink": {"type": "boolean"}
  }
})";

constexpr const char* kTextSchema = R"({"type": "string"})";
constexpr const char* kAnyObjectSchema = R"({"type": "object"})";

// ---- helpers -----------------------------------------------------------------

// Idempotency keys are unique across the whole database, so a REST user's
// key is stored under a per-user prefix: two users may pick the same key,
// and one can never find (or learn of) another's post through it.
std::string stored_key(const Call& call, const std::string& key) {
  if (key.empty() || call.token == nullptr || call.token->user_id == store::kLocalUser) return key;
  return "u" + std::to_string(call.token->user_id) + ":" + key;
}

// Keys of API users are stored as "u<id>:<key>" (keys are unique across
// the database); the API shows them without the prefix.
std::optional<std::string> shown_key(const Call& call, const model::Post& post) {
  if (call.token == nullptr || call.token->user_id == store::kLocalUser || post.key.empty()) return std::nullopt;
  const std::string prefix = "u" + std::to_string(call.token->user_id) + ":";
  if (!post.key.starts_with(prefix)) return std::nullopt;
  return post.key.substr(prefix.size());
}

json post_json(const Call& call, const model::Post& post) {
  json doc = model::to_json(post);
  if (auto key = shown_key(call, post)) doc["key"] = *key;
  return doc;
}

const json& field(const json& body, const char* name) {
  static const json null;
  const auto it = body.find(name);
  return it == body.end() ? null : *it;
}

std::string string_field(const json& body, const char* name, bool required) {
  const json& v = field(body, name);
  if (v.is_null()) {
    if (required) throw_usage(std::string("field '") + name + "' is required");
    return {};
  }
  if (!v.is_string()) throw_usage(std::string("field '") + name + "' must be a string");
  return v.get<std::string>();
}

std::vector<std::string> strings_field(const json& body, const char* name, bool required) {
  const json& v = field(body, name);
  if (v.is_null()) {
    if (required) throw_usage(std::string("field '") + name + "' is required");
    return {};
  }
  if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); })) {
    throw_usage(std::string("field '") + name + "' must be an array of strings");
  }
  return v.get<std::vector<std::string>>();
}

bool bool_field(const json& body, const char* name) {
  const json& v = field(body, name);
  if (v.is_null()) return false;
  if (!v.is_boolean()) throw_usage(std::string("field '") + name + "' must be true or false");
  return v.get<bool>();
}

// The request schemas say additionalProperties: false; so does the code, so a
// misspelt field is an error rather than silently ignored.
void only_fields(const json& body, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : body.items()) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      throw_usage("unknown field '" + key + "'");
    }
  }
}

std::vector<std::pair<std::string, std::string>> variants_field(const json& body) {
  std::vector<std::pair<std::string, std::string>> out;
  const json& variants = field(body, "variants");
  if (variants.is_null()) return out;
  if (!variants.is_object()) throw_usage("field 'variants' must be an object of account ref to text");
  for (const auto& [ref, text] : variants.items()) {
    if (!text.is_string()) throw_usage("variant for '" + ref + "' must be a string");
    out.emplace_back(ref, text.get<std::string>());
  }
  return out;
}

// A network rejecting an account's credentials is ErrorKind::auth, which the
// wrapper would answer 401 + WWW-Authenticate: a client would then blame its
// own API token. It is the account that needs re-linking: 422, code "auth".
template <typename F>
Reply network_auth_as_422(F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::auth) throw;
    return Reply::error(422, kind_name(e.kind()), e.what());
  }
}

Reply no_content() {
  Reply r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

std::int64_t positive_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1) return 0;
  return value;
}

// ---- handlers ----------------------------------------------------------------

Reply health(Call& call) {
  json doc{{"status", "ok"}, {"store", "ok"}, {"loop", "ok"}, {"loop_age_ms", nullptr}};
  bool ok = true;
  try {
    call.ctx.store().schema_version();
  } catch (const std::exception& e) {
    doc["store"] = e.what();
    ok = false;
  }
  const std::int64_t beat = call.services.loop_beat_ms.load();
  if (beat == 0) {
    doc["loop"] = "starting";
    ok = false;
  } else {
    const std::int64_t age = model::to_millis(call.ctx.clock().now()) - beat;
    doc["loop_age_ms"] = age;
    if (age > call.services.loop_silence_limit.count()) {
      doc["loop"] = "stalled";
      ok = false;
    }
  }
  if (!ok) doc["status"] = "unavailable";
  return Reply::json(doc, ok ? 200 : 503);
}

Reply metrics(Call& call) {
  Reply r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = call.services.metrics.render_requests();
  r.body += call.services.metrics.render_publishing();
  // Whole-database counts (every user's), which is why /metrics needs admin.
  const auto counts = call.ctx.store().row_counts();
  r.body +=
      "# HELP multivio_targets Publishing targets in the database, by status.\n"
      "# TYPE multivio_targets gauge\n";
  for (const auto& [status, n] : counts.targets_by_status) {
    r.body += "multivio_targets{status=\"" + label_value(status) + "\"} " + std::to_string(n) + "\n";
  }
  r.body +=
      "# HELP multivio_posts Posts in the database, by derived status (as post list shows it).\n"
      "# TYPE multivio_posts gauge\n";
  for (const auto& [status, n] : counts.posts_by_status) {
    r.body += "multivio_posts{status=\"" + label_value(status) + "\"} " + std::to_string(n) + "\n";
  }
  r.body +=
      "# HELP multivio_rows Rows per table.\n"
      "# TYPE multivio_rows gauge\n";
  for (const auto& [table, n] : counts.tables) {
    r.body += "multivio_rows{table=\"" + label_value(table) + "\"} " + std::to_string(n) + "\n";
  }
  return r;
}

Reply openapi_json(Call&) { return Reply::json(openapi()); }

// The daemon's file path stays on the daemon's host.
json media_json(const store::MediaItem& item) {
  json j = app::to_json(item);
  j.erase("path");
  return j;
}

// A multipart upload: the "file" part becomes a library item (the same bytes
// again answer 200 with the existing item), "alt" its alt text.
Reply upload_media(Call& call) {
  const UploadedFile* file = nullptr;
  std::optional<std::string> alt;
  for (const auto& part : call.files) {
    if (part.field == "file") {
      if (file != nullptr) throw_usage("send one 'file' part per request");
      file = &part;
    } else if (part.field == "alt") {
      alt = part.content;
    } else {
      throw_usage("unknown form field '" + part.field + "' (expected: file, alt)");
    }
  }
  if (file == nullptr) throw_usage("send the file as multipart/form-data in a part named 'file'");
  if (file->content.empty()) throw Error(ErrorKind::validation, "the uploaded file is empty");
  // The library copies from a path: the bytes go to a private temporary file
  // in the data directory (same file system, removed whatever happens).
  const std::filesystem::path dir = std::filesystem::path(call.ctx.config().data_dir) / "tmp";
  std::filesystem::create_directories(dir);
  std::string name = (dir / "upload-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) throw_permanent("cannot write a temporary file in " + dir.string());
  const struct Remove {
    std::string path;
    ~Remove() { ::unlink(path.c_str()); }
  } remove{name};
  std::size_t written = 0;
  while (written < file->content.size()) {
    const ssize_t n = ::write(fd, file->content.data() + written, file->content.size() - written);
    if (n <= 0) {
      ::close(fd);
      throw_permanent("cannot write a temporary file in " + dir.string());
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  const auto added = app::add_media(call.ctx, name, alt);
  return Reply::json(media_json(added.item), added.created ? 201 : 200);
}

Reply list_media(Call& call) {
  json items = json::array();
  for (const auto& item : app::list_media(call.ctx)) items.push_back(media_json(item));
  return Reply::json({{"media", items}});
}

Reply show_media(Call& call) {
  return Reply::json(media_json(app::resolve_media(call.ctx, std::to_string(call.id_param("id")))));
}

Reply remove_media(Call& call) {
  app::remove_media(call.ctx, std::to_string(call.id_param("id")));
  return no_content();
}

json event_json(const store::Event& e) {
  return {{"id", e.id},
          {"post_id", e.post_id},
          {"target_id", e.target_id},
          {"account", e.account_ref},
          {"status", e.status},
          {"at", model::format_utc(e.at)},
          {"remote_url", e.remote_url},
          {"error", e.error}};
}

// Server-Sent Events of the user's target status changes. Each event's id is
// the store's event id, so a client that reconnects with Last-Event-ID (or
// ?after=ID) gets exactly what it missed; without either, the stream starts
// with the next change. Idle streams poll the store (changes may come from
// other processes) and send a comment line now and then.
Reply events(Call& call) {
  std::string start = call.last_event_id;
  if (start.empty()) start = call.query_param("after").value_or("");
  std::int64_t after = 0;
  if (!start.empty() && start != "0") {
    after = positive_integer(start);
    if (after == 0) throw_usage("event id '" + start + "' is not one this API sent");
  } else if (start.empty()) {
    after = call.ctx.store().last_event_id();
  }
  Services& services = call.services;
  if (services.event_streams.fetch_add(1) >= services.max_event_streams) {
    services.event_streams.fetch_sub(1);
    Reply busy = Reply::error(503, "transient", "too many event streams are open; try again shortly");
    busy.headers.emplace_back("Retry-After", "5");
    return busy;
  }
  Reply r;
  r.content_type = "text/event-stream";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.stream = [&ctx = call.ctx, &services, user = call.ctx.store().user(), after](const Reply::Writer& write) {
    struct Release {
      std::atomic<int>& open;
      ~Release() { open.fetch_sub(1); }
    } release{services.event_streams};
    std::int64_t last = after;
    auto quiet_since = std::chrono::steady_clock::now();
    // Tells the client how soon to reconnect after a drop.
    if (!write("retry: 2000\n\n")) return;
    while (!services.stopping) {
      std::vector<store::Event> batch;
      try {
        ctx.store().set_user(user);
        batch = ctx.store().events_after(last, 200);
      } catch (const std::exception& e) {
        spdlog::warn("http /v1/events: {}", e.what());
        write("event: error\ndata: " + json{{"message", "the store is unreachable"}}.dump() + "\n\n");
        return;
      }
      std::string out;
      for (const auto& e : batch) {
        out += "id: " + std::to_string(e.id) + "\nevent: target\ndata: " + event_json(e).dump() + "\n\n";
        last = e.id;
      }
      const auto now = std::chrono::steady_clock::now();
      if (out.empty() && now - quiet_since >= services.event_keepalive) out = ": keepalive\n\n";
      if (!out.empty()) {
        if (!write(out)) return;  // the client is gone
        quiet_since = now;
      }
      if (batch.size() < 200) std::this_thread::sleep_for(services.event_poll);
    }
  };
  return r;
}

Reply list_posts(Call& call) {
  app::ListRequest request;
  request.status = call.query_param("status");
  request.to = call.query_param("to");
  request.since = call.query_param("since");
  request.until = call.query_param("until");
  request.limit = 20;
  if (const auto limit = call.query_param("limit")) {
    request.limit = static_cast<int>(positive_integer(*limit));
    if (request.limit < 1 || request.limit > 100) throw_usage("limit must be a whole number from 1 to 100");
  }
  if (const auto cursor = call.query_param("cursor")) {
    request.before_id = positive_integer(*cursor);
    if (request.before_id == 0) throw_usage("cursor '" + *cursor + "' is not one this API returned");
  }
  const auto posts = app::list_posts(call.ctx, request);
  const bool more = static_cast<int>(posts.size()) == request.limit;
  // The busiest route: the page is written straight into the body, the same
  // bytes Reply::json would make of {next_cursor, posts} (keys sorted).
  Reply r;
  r.body.reserve(posts.size() * 700 + 64);
  r.body += "{\"next_cursor\":";
  r.body += more ? "\"" + std::to_string(posts.back().id) + "\"" : std::string("null");
  r.body += ",\"posts\":[";
  for (std::size_t i = 0; i < posts.size(); ++i) {
    if (i > 0) r.body += ',';
    model::append_json(r.body, posts[i], model::JsonOptions{false, 0, shown_key(call, posts[i])});
  }
  r.body += "]}";
  return r;
}

Reply create_post(Call& call) {
  const json body = call.json_body();
  only_fields(body, {"text", "to", "at", "now", "draft", "tags", "key", "variants", "thread", "cw", "language",
                     "media", "alt"});
  app::NewPostRequest request;
  request.text = string_field(body, "text", true);
  request.to = strings_field(body, "to", true);
  if (const auto at = string_field(body, "at", false); !at.empty()) request.at = at;
  request.now = bool_field(body, "now");
  request.draft = bool_field(body, "draft");
  request.tags = strings_field(body, "tags", false);
  request.key = stored_key(call, string_field(body, "key", false));
  request.variants = variants_field(body);
  request.thread = string_field(body, "thread", false);
  request.cw = string_field(body, "cw", false);
  request.language = string_field(body, "language", false);
  // Library ids only: a path would name a file on the daemon's host.
  if (const json& media = field(body, "media"); !media.is_null()) {
    if (!media.is_array()) throw_usage("field 'media' must be an array of media ids");
    for (const auto& m : media) {
      const std::string ref = m.is_number_integer() ? std::to_string(m.get<long long>()) : m.is_string() ? m.get<std::string>() : "";
      if (!app::is_media_ref(ref)) throw_usage("field 'media' takes media ids from POST /v1/media, not '" + m.dump() + "'");
      request.media.push_back(ref);
    }
  }
  request.alt = strings_field(body, "alt", false);
  const auto result = app::new_post(call.ctx, request);
  return Reply::json(post_json(call, result.post), result.created ? 201 : 200);
}

Reply show_post(Call& call) { return Reply::json(post_json(call, app::get_post(call.ctx, call.id_param("id")))); }

Reply delete_post(Call& call) {
  app::delete_post(call.ctx, call.id_param("id"));
  return no_content();
}

Reply cancel_post(Call& call) {
  return Reply::json(post_json(call, app::cancel_post(call.ctx, call.id_param("id"))));
}

Reply schedule_post(Call& call) {
  const std::int64_t id = call.id_param("id");
  const json body = call.json_body();
  only_fields(body, {"at"});
  return Reply::json(post_json(call, app::schedule_post(call.ctx, id, string_field(body, "at", true))));
}

Reply retry_post(Call& call) {
  return Reply::json(post_json(call, app::retry_post(call.ctx, call.id_param("id"))));
}

// PATCH: only the fields present change.
Reply edit_post(Call& call) {
  const std::int64_t id = call.id_param("id");
  const json body = call.json_body();
  only_fields(body, {"text", "variants", "tags"});
  app::EditRequest request;
  request.id = id;
  if (body.contains("text")) request.text = string_field(body, "text", true);
  if (body.contains("tags")) request.tags = strings_field(body, "tags", true);
  request.variants = variants_field(body);
  if (!request.text && !request.tags && request.variants.empty()) {
    throw_usage("nothing to change: give text, variants or tags");
  }
  return Reply::json(post_json(call, app::edit_post(call.ctx, request)));
}

// In the foreground, as `post publish`: the answer waits for the networks and
// shows each target's outcome, so a failed target is still a 200.
Reply publish_post(Call& call) {
  return Reply::json(post_json(call, app::publish_post(call.ctx, call.id_param("id"), false).post));
}

Reply list_accounts(Call& call) {
  json list = json::array();
  for (const auto& a : app::list_accounts(call.ctx)) list.push_back(model::to_json(a));
  return Reply::json({{"accounts", list}});
}

Reply show_account(Call& call) {
  const std::int64_t id = call.id_param("id");
  return Reply::json(model::to_json(app::resolve_account(call.ctx, std::to_string(id))));
}

Reply add_account(Call& call) {
  const json body = call.json_body();
  only_fields(body, {"platform", "name", "options", "secrets"});
  app::AddAccountRequest request;
  request.platform = string_field(body, "platform", true);
  request.name = string_field(body, "name", false);
  for (const char* name : {"options", "secrets"}) {
    const json& v = field(body, name);
    if (v.is_null()) continue;
    if (!v.is_object()) throw_usage(std::string("field '") + name + "' must be an object");
    (std::string_view(name) == "options" ? request.options : request.secrets) = v;
  }
  if (request.secrets.contains("refresh_token") && !request.secrets.contains("access_token")) {
    throw_usage("secrets.refresh_token needs secrets.access_token");
  }
  // A feed writes files wherever its path says and a webhook sends requests
  // wherever its URL says, both as the daemon's user on the daemon's host:
  // over the API that is the operator's call, not any account holder's.
  if ((request.platform == "feed" || request.platform == "webhook") &&
      (call.token == nullptr || !app::has_scope(*call.token, "admin"))) {
    return Reply::error(403, "forbidden",
                        request.platform + " accounts write files or send requests from the daemon's host: adding one "
                                           "needs a token with the admin scope");
  }
  // Every URL option is a server the daemon will call from inside its own
  // network: API clients may only name public ones.
  if (!call.ctx.config().daemon.http_allow_private_urls &&
      (call.token == nullptr || !app::has_scope(*call.token, "admin"))) {
    for (const auto& [key, value] : request.options.items()) {
      if (!value.is_string()) continue;
      const auto& text = value.get_ref<const std::string&>();
      const bool has_scheme = text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0;
      // A bare instance or PDS name means https:// (as `account add` reads it).
      if (has_scheme || key == "instance" || key == "pds") {
        multivio::http::require_public_url(has_scheme ? text : "https://" + text, "options." + key);
      }
    }
  }
  // The answer is the stored account, whose JSON form never has secrets.
  return network_auth_as_422(
      [&] { return Reply::json(model::to_json(app::add_account(call.ctx, std::move(request))), 201); });
}

Reply remove_account(Call& call) {
  app::remove_account(call.ctx, std::to_string(call.id_param("id")));
  return no_content();
}

// A network that rejects the account is a 200 with ok false: the check ran,
// and its answer is that the account needs attention (kind auth: re-link).
Reply check_account(Call& call) {
  const auto results = app::check_accounts(call.ctx, {std::to_string(call.id_param("id"))});
  return Reply::json(app::to_json(results.at(0)));
}

Reply refresh_account(Call& call) {
  const std::string id = std::to_string(call.id_param("id"));
  return network_auth_as_422([&] { return Reply::json(model::to_json(app::refresh_account(call.ctx, id))); });
}

Reply check(Call& call) {
  const json body = call.json_body();
  only_fields(body, {"text", "to", "thread"});
  const std::string text = string_field(body, "text", true);
  const auto to = strings_field(body, "to", true);
  if (to.empty()) throw_usage("field 'to' needs at least one account ref or network");
  json options = json::object();
  if (const auto thread = string_field(body, "thread", false); !thread.empty()) options["thread"] = thread;
  const auto results = app::check(call.ctx, text, to, {}, options);
  json list = json::array();
  bool ok = true;
  for (const auto& r : results) {
    list.push_back(app::to_json(r));
    ok = ok && r.report.ok();
  }
  return Reply::json({{"ok", ok}, {"results", list}});
}

// ---- AI ----------------------------------------------------------------------

app::Style style_fields(const json& body) {
  app::Style style;
  style.tone = string_field(body, "tone", false);
  style.audience = string_field(body, "audience", false);
  for (auto [name, flag] : {std::pair{"hashtags", &style.hashtags}, {"emoji", &style.emoji}, {"links", &style.links}}) {
    if (body.contains(name)) *flag = bool_field(body, name);
  }
  return style;
}

std::string sse_event(std::string_view name, const json& data) {
  return "event: " + std::string(name) + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) +
         "\n\n";
}

// Runs a model call and answers its JSON document, or, for a client that
// accepts text/event-stream, streams it: "delta" events with the text as
// it arrives, then "done" with the document, or "error" with the error
// body. The request was checked before: a stream only fails at the model.
using AiProduce = std::function<json(const std::function<void(std::string_view)>& on_delta)>;
Reply ai_answer(const Call& call, AiProduce produce) {
  // The AI provider refusing its key (auth) is the daemon's configuration,
  // not the caller's API token: 422, as for a network's credentials.
  if (call.accept.find("text/event-stream") == std::string::npos) {
    return network_auth_as_422([&] { return Reply::json(produce(nullptr)); });
  }
  Reply r;
  r.content_type = "text/event-stream";
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.stream = [produce = std::move(produce)](const Reply::Writer& write) {
    struct ClientGone {};  // not an Error: nothing on the way may turn it into one
    try {
      const json done = produce([&write](std::string_view piece) {
        if (!write(sse_event("delta", {{"text", std::string(piece)}}))) throw ClientGone{};
      });
      write(sse_event("done", done));
    } catch (const ClientGone&) {
      // Nobody left to tell.
    } catch (const Error& e) {
      write(sse_event("error", {{"error", {{"code", kind_name(e.kind())}, {"message", e.what()}}}}));
    } catch (const std::exception&) {
      write(sse_event("error", {{"error", {{"code", "permanent"}, {"message", "internal error"}}}}));
    }
  };
  return r;
}

Reply ai_generate(Call& call) {
  const json body = call.json_body();
  only_fields(body, {"prompt", "for", "tone", "audience", "hashtags", "emoji", "links", "fit"});
  app::GenerateRequest request;
  request.prompt = string_field(body, "prompt", true);
  if (request.prompt.empty()) throw_usage("field 'prompt' must not be empty");
  request.network = string_field(body, "for", false);
  request.style = style_fields(body);
  request.fit = bool_field(body, "fit");
  return ai_answer(call, [&ctx = call.ctx, request](const std::function<void(std::string_view)>& on_delta) mutable {
    request.on_delta = on_delta;
    const auto text = app::generate(ctx, request);
    json doc = app::to_json(text);
    // Streamed text that was cleaned (quotes, fences) differs from "text".
    if (on_delta) doc["cleaned"] = text.cleaned;
    return doc;
  });
}

Reply ai_transform(Call& call) {
  const json body = call.json_body();
  only_fields(body, {"text", "for", "tone", "audience", "hashtags", "emoji", "links", "fit"});
  std::string text = string_field(body, "text", true);
  if (text.empty()) throw_usage("field 'text' must not be empty");
  auto networks = strings_field(body, "for", true);
  if (networks.empty()) throw_usage("field 'for' needs at least one network or account ref");
  const app::Style style = style_fields(body);
  const bool fit = bool_field(body, "fit");
  return ai_answer(call, [&ctx = call.ctx, text, networks, style, fit](const auto&) {
    json results = json::array();
    for (const auto& t : app::transform(ctx, text, networks, style, fit)) results.push_back(app::to_json(t));
    return json{{"results", results}};
  });
}

Reply ai_hashtags(Call& call) {
  const json body = call.json_body();
  only_fields(body, {"text", "count", "for"});
  std::string text = string_field(body, "text", true);
  if (text.empty()) throw_usage("field 'text' must not be empty");
  int count = 5;
  if (const json& c = field(body, "count"); !c.is_null()) {
    if (!c.is_number_integer() || c.get<int>() < 1 || c.get<int>() > 30) {
      throw_usage("field 'count' must be a whole number from 1 to 30");
    }
    count = c.get<int>();
  }
  auto networks = strings_field(body, "for", false);
  return ai_answer(call, [&ctx = call.ctx, text, count, networks](const auto&) {
    return json{{"hashtags", app::hashtags(ctx, text, count, networks)}};
  });
}

const QueryParam kLimit{"limit", R"({"type": "integer", "minimum": 1, "maximum": 100, "default": 20})",
                        "Posts per page"};
const QueryParam kCursor{"cursor", R"({"type": "string"})", "next_cursor of the previous page"};
const QueryParam kAfter{"after", R"({"type": "string"})",
                        "Event id to resume after (as Last-Event-ID); 0: every event kept; default: only new ones"};
const QueryParam kStatus{"status", R"({"type": "string"})",
                         "Post status, or a target status (unknown, retry_wait, claimed), or overdue"};
const QueryParam kTo{"to", R"({"type": "string"})", "Only posts with a target on this account ref"};
const QueryParam kSince{"since", R"({"type": "string"})", "Only posts scheduled at or after WHEN (best: a UTC time)"};
const QueryParam kUntil{"until", R"({"type": "string"})", "Only posts scheduled before WHEN (best: a UTC time)"};

}  // namespace

Reply Reply::json(const nlohmann::json& doc, int status) {
  Reply r;
  r.status = status;
  // Text from the store or a network may hold invalid UTF-8; replace it
  // rather than fail the whole answer.
  r.body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Reply Reply::error(int status, std::string_view code, std::string_view message) {
  return json({{"error", {{"code", code}, {"message", message}}}}, status);
}

nlohmann::json Call::json_body() const {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    throw_usage("the request body is not valid JSON");
  }
  if (!doc.is_object()) throw_usage("the request body must be a JSON object");
  return doc;
}

std::int64_t Call::id_param(const std::string& name) const {
  const auto it = params.find(name);
  const std::int64_t id = it == params.end() ? 0 : positive_integer(it->second);
  if (id == 0) throw_not_found("no such id: " + (it == params.end() ? std::string() : it->second));
  return id;
}

std::optional<std::string> Call::query_param(const std::string& name) const {
  const auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

const std::vector<Route>& routes() {
  static const std::vector<Route> table{
      {"GET", "/health", "", health, "Store reachable and publishing loop alive", 200, "application/json", nullptr,
       kHealthSchema, {}},
      {"GET", "/metrics", "admin", metrics, "Prometheus metrics", 200, "text/plain", nullptr, kTextSchema, {}},
      {"GET", "/openapi.json", "", openapi_json, "This OpenAPI document", 200, "application/json", nullptr,
       kAnyObjectSchema, {}},
      {"GET", "/v1/accounts", "accounts:read", list_accounts, "List accounts", 200, "application/json", nullptr,
       kAccountListSchema, {}},
      {"POST", "/v1/accounts", "accounts:write", add_account,
       "Add an account with its tokens (secrets are sealed and never returned)", 201, "application/json",
       kNewAccountSchema, kAccountRef, {}},
      {"GET", "/v1/accounts/{id}", "accounts:read", show_account, "Show an account", 200, "application/json",
       nullptr, kAccountRef, {}},
      {"DELETE", "/v1/accounts/{id}", "accounts:write", remove_account, "Remove an account", 204, "", nullptr, nullptr,
       {}},
      {"POST", "/v1/accounts/{id}/check", "accounts:read", check_account,
       "Ask the network who the account is: handle, token expiry, scopes (ok false: see error and kind)", 200,
       "application/json", nullptr, kAccountCheckSchema, {}},
      {"POST", "/v1/accounts/{id}/refresh", "accounts:write", refresh_account,
       "Refresh the account's access token now and store the new tokens", 200, "application/json", nullptr,
       kAccountRef, {}},
      {"GET", "/v1/posts", "posts:read", list_posts, "List posts, newest first", 200, "application/json", nullptr,
       kPostListSchema, {kStatus, kTo, kSince, kUntil, kLimit, kCursor}},
      {"POST", "/v1/posts", "posts:write", create_post, "Create a post (201; 200 when the key was used before)", 201,
       "application/json", kNewPostSchema, kPostRef, {}},
      {"GET", "/v1/posts/{id}", "posts:read", show_post, "Show a post with its targets", 200, "application/json",
       nullptr, kPostRef, {}},
      {"PATCH", "/v1/posts/{id}", "posts:write", edit_post, "Change the text, variants or tags", 200,
       "application/json", kEditPostSchema, kPostRef, {}},
      {"DELETE", "/v1/posts/{id}", "posts:write", delete_post, "Delete a post", 204, "", nullptr, nullptr, {}},
      {"POST", "/v1/posts/{id}/publish", "posts:write", publish_post,
       "Publish the unfinished targets now and answer when done", 200, "application/json", nullptr, kPostRef, {}},
      {"POST", "/v1/posts/{id}/cancel", "posts:write", cancel_post, "Cancel the unfinished targets", 200,
       "application/json", nullptr, kPostRef, {}},
      {"POST", "/v1/posts/{id}/schedule", "posts:write", schedule_post, "Schedule draft or scheduled targets", 200,
       "application/json", kScheduleSchema, kPostRef, {}},
      {"POST", "/v1/posts/{id}/retry", "posts:write", retry_post, "Retry failed, unknown or cancelled targets", 200,
       "application/json", nullptr, kPostRef, {}},
      {"POST", "/v1/media", "posts:write", upload_media,
       "Upload a file to the media library (multipart/form-data: file, alt); 200 when the bytes were there already",
       201, "application/json", kMediaUploadSchema, kMediaRef, {}, true},
      {"GET", "/v1/media", "posts:read", list_media, "List the media library", 200, "application/json", nullptr,
       kMediaListSchema, {}},
      {"GET", "/v1/media/{id}", "posts:read", show_media, "Show a media item", 200, "application/json", nullptr,
       kMediaRef, {}},
      {"DELETE", "/v1/media/{id}", "posts:write", remove_media, "Remove a media item", 204, "", nullptr, nullptr, {}},
      {"GET", "/v1/events", "posts:read", events,
       "Server-Sent Events of target status changes (event: target); resume with Last-Event-ID or ?after=ID, "
       "?after=0 replays what is kept",
       200, "text/event-stream", nullptr, kTextSchema, {kAfter}},
      {"POST", "/v1/check", "posts:read", check, "Check a text against each target's rules", 200,
       "application/json", kCheckSchema, kCheckResultSchema, {}},
      {"POST", "/v1/ai/generate", "ai", ai_generate,
       "Write a post from a prompt, checked against a network's rules (Accept: text/event-stream streams it)", 200,
       "application/json", kAiGenerateSchema.c_str(), kAiTextRef, {}},
      {"POST", "/v1/ai/transform", "ai", ai_transform, "Rewrite a text once per network, each valid for it", 200,
       "application/json", kAiTransformSchema.c_str(), kAiTransformResultSchema, {}},
      {"POST", "/v1/ai/hashtags", "ai", ai_hashtags, "Suggest hashtags for a text, valid on every named network", 200,
       "application/json", kAiHashtagsSchema, kAiHashtagsResultSchema, {}},
  };
  return table;
}

bool match(std::string_view pattern, std::string_view path, std::map<std::string, std::string>& params) {
  params.clear();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto p_end = std::min(pattern.find('/'), pattern.size());
    const auto s_end = std::min(path.find('/'), path.size());
    const std::string_view p = pattern.substr(0, p_end);
    const std::string_view s = path.substr(0, s_end);
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (s.empty()) return false;
      params[std::string(p.substr(1, p.size() - 2))] = std::string(s);
    } else if (p != s) {
      return false;
    }
    pattern.remove_prefix(p_end);
    path.remove_prefix(s_end);
  }
  return true;
}

nlohmann::json openapi() {
  using nlohmann::json;
  const auto error_response = [](const char* description) {
    return json{{"description", description},
                {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
  };
  json paths = json::object();
  for (const auto& r : routes()) {
    std::string method(r.method);
    std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::tolower(c); });
    // operationId from method and path: GET /v1/posts/{id}/cancel -> get_v1_posts_id_cancel.
    std::string op = method;
    for (const char c : std::string_view(r.path)) {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        op += c;
      } else if (c == '/' || c == '.') {
        if (op.back() != '_') op += '_';
      }
    }
    if (op.back() == '_') op.pop_back();
    json operation{{"operationId", op}, {"summary", r.summary}};
    json parameters = json::array();
    std::map<std::string, std::string> names;
    match(r.path, r.path, names);  // every {name} matches itself: collects the names
    for (const auto& [name, unused] : names) {
      parameters.push_back({{"name", name},
                            {"in", "path"},
                            {"required", true},
                            {"schema", {{"type", "integer"}, {"minimum", 1}}}});
    }
    for (const auto& q : r.query) {
      parameters.push_back(
          {{"name", q.name}, {"in", "query"}, {"required", false}, {"description", q.description},
           {"schema", json::parse(q.schema)}});
    }
    if (!parameters.empty()) operation["parameters"] = parameters;
    if (r.request_schema != nullptr) {
      operation["requestBody"] = {
          {"required", true},
          {"content", {{r.upload ? "multipart/form-data" : "application/json", {{"schema", json::parse(r.request_schema)}}}}}};
    }
    json ok{{"description", "Success"}};
    if (r.response_schema != nullptr) {
      ok["content"] = {{std::string(r.content_type), {{"schema", json::parse(r.response_schema)}}}};
    }
    if (std::string_view(r.path).starts_with("/v1/ai/")) {
      ok["content"]["text/event-stream"] = {
          {"schema",
           {{"type", "string"},
            {"description", "With Accept: text/event-stream: 'delta' events ({\"text\"}) as the model writes, then "
                            "'done' with the JSON answer, or 'error' with the error body"}}}};
    }
    json responses{{std::to_string(r.ok_status), ok}};
    if (std::string_view(r.path) == "/v1/posts" && std::string_view(r.method) == "POST") {
      responses["200"] = {{"description", "A post with this idempotency key exists; it is returned unchanged"},
                          {"content", {{"application/json", {{"schema", json::parse(kPostRef)}}}}}};
    }
    // Any route can meet a request cpp-httplib cannot parse.
    responses["400"] = error_response(r.request_schema != nullptr || !r.query.empty() ? "Malformed request or parameters"
                                                                                       : "Malformed HTTP request");
    if (*r.scope != '\0') {
      operation["security"] = json::array({{{"bearer", json::array({r.scope})}}});
      responses["401"] = {{"description", "Missing, invalid, expired or revoked token"},
                          {"headers", {{"WWW-Authenticate", {{"schema", {{"type", "string"}}}}}}},
                          {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
      responses["403"] = error_response("The token lacks the scope");
      responses["429"] = {{"description", "Rate limit; retry after the given seconds"},
                          {"headers", {{"Retry-After", {{"schema", {{"type", "integer"}}}}}}},
                          {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
    } else {
      operation["security"] = json::array();
    }
    if (!names.empty() || std::string_view(r.path).starts_with("/v1/")) {
      responses["404"] = error_response("No such resource for this user");
    }
    if (r.request_schema != nullptr) {
      responses["413"] = error_response("Body larger than daemon.http.max_body");
      responses["422"] = error_response("Content rejected by a network's rules");
    }
    if (std::string_view(r.path).starts_with("/v1/accounts") && std::string_view(r.method) == "POST" &&
        r.handler != check_account) {
      responses["422"] = error_response("The network rejected the account's credentials (code auth: re-link)");
    }
    if (std::string_view(r.path) == "/health") responses["503"] = error_response("Store or loop unavailable");
    if (std::string_view(r.path).starts_with("/v1/")) responses["500"] = error_response("Internal failure");
    operation["responses"] = responses;
    paths[r.path][method] = operation;
  }
  return json{
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "multivio API"},
        {"version", "1"},
        {"description", "Schedule and publish posts; served by multiviod --listen."},
        {"license", {{"name", "MIT"}, {"identifier", "MIT"}}}}},
      {"servers", json::array({{{"url", "http://127.0.0.1:8080"}, {"description", "multiviod --listen 127.0.0.1:8080"}}})},
      {"paths", paths},
      {"components",
       {{"securitySchemes",
         {{"bearer",
           {{"type", "http"},
            {"scheme", "bearer"},
            {"description", "A multivio API token (multivio token create) or, when auth.oidc is configured, "
                            "an OIDC JWT (RS256 or ES256) from that issuer"}}}}},
        {"schemas",
         {{"Error", json::parse(kErrorSchema)},
          {"Post", json::parse(kPostSchema)},
          {"Account", json::parse(kAccountSchema)},
          {"Media", json::parse(kMediaSchema)},
          {"AiText", json::parse(kAiTextSchema)}}}}},
  };
}

}  // namespace multivio::daemon::http
