// SPDX-License-Identifier: MIT
#include "daemon/http/routes.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/app/accounts.hpp"
#include "common/app/link.hpp"
#include "common/app/posts.hpp"
#include "common/app/tokens.hpp"
#include "common/error.hpp"

namespace multivio::daemon::http {
namespace {

using nlohmann::json;

// ---- schemas (JSON Schema 2020-12 as OpenAPI 3.1 takes it) -----------------

constexpr const char* kPostRef = R"({"$ref": "#/components/schemas/Post"})";
constexpr const char* kAccountRef = R"({"$ref": "#/components/schemas/Account"})";

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
    "language": {"type": "string"}
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
    "to": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "Account refs or network names"}
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
  // Whole-database counts (every user's), which is why /metrics needs admin.
  const auto counts = call.ctx.store().row_counts();
  r.body +=
      "# HELP multivio_targets Publishing targets in the database, by status.\n"
      "# TYPE multivio_targets gauge\n";
  for (const auto& [status, n] : counts.targets_by_status) {
    r.body += "multivio_targets{status=\"" + label_value(status) + "\"} " + std::to_string(n) + "\n";
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

Reply list_posts(Call& call) {
  app::ListRequest request;
  request.status = call.query_param("status");
  request.to = call.query_param("to");
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
  only_fields(body, {"text", "to", "at", "now", "draft", "tags", "key", "variants", "thread", "cw", "language"});
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
  only_fields(body, {"text", "to"});
  const std::string text = string_field(body, "text", true);
  const auto to = strings_field(body, "to", true);
  if (to.empty()) throw_usage("field 'to' needs at least one account ref or network");
  const auto results = app::check(call.ctx, text, to, {});
  json list = json::array();
  bool ok = true;
  for (const auto& r : results) {
    list.push_back(app::to_json(r));
    ok = ok && r.report.ok();
  }
  return Reply::json({{"ok", ok}, {"results", list}});
}

const QueryParam kLimit{"limit", R"({"type": "integer", "minimum": 1, "maximum": 100, "default": 20})",
                        "Posts per page"};
const QueryParam kCursor{"cursor", R"({"type": "string"})", "next_cursor of the previous page"};
const QueryParam kStatus{"status", R"({"type": "string"})",
                         "Post status, or a target status (unknown, retry_wait, claimed), or overdue"};
const QueryParam kTo{"to", R"({"type": "string"})", "Only posts with a target on this account ref"};

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
       kPostListSchema, {kStatus, kTo, kLimit, kCursor}},
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
      {"POST", "/v1/check", "posts:read", check, "Check a text against each target's rules", 200,
       "application/json", kCheckSchema, kCheckResultSchema, {}},
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
      operation["requestBody"] = {{"required", true},
                                  {"content", {{"application/json", {{"schema", json::parse(r.request_schema)}}}}}};
    }
    json ok{{"description", "Success"}};
    if (r.response_schema != nullptr) {
      ok["content"] = {{std::string(r.content_type), {{"schema", json::parse(r.response_schema)}}}};
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
         {{"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"description", "multivio token create"}}}}},
        {"schemas",
         {{"Error", json::parse(kErrorSchema)},
          {"Post", json::parse(kPostSchema)},
          {"Account", json::parse(kAccountSchema)}}}}},
  };
}

}  // namespace multivio::daemon::http
