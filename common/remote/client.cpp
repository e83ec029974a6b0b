// SPDX-License-Identifier: MIT
#include "common/remote/client.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "common/ai/sse.hpp"
#include "common/oauth/form.hpp"
#include "common/schedule/when.hpp"

namespace multivio::remote {
namespace {

using nlohmann::json;

constexpr std::array<ErrorKind, 6> kKinds{ErrorKind::usage,     ErrorKind::validation, ErrorKind::not_found,
                                          ErrorKind::auth,      ErrorKind::transient,  ErrorKind::permanent};

bool loopback_host(std::string_view url) {
  // After "http://": [userinfo@]host[:port][/...]
  std::string_view rest = url.substr(url.find("//") + 2);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (rest.starts_with("[")) return rest.starts_with("[::1]");
  const std::string_view host = rest.substr(0, rest.find(':'));
  const bool dotted = !host.empty() && host.find_first_not_of("0123456789.") == std::string_view::npos;
  return host == "localhost" || (dotted && host.starts_with("127."));
}

std::optional<std::int64_t> as_id(std::string_view ref) {
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(ref.data(), ref.data() + ref.size(), id);
  if (ec != std::errc() || end != ref.data() + ref.size() || ref.empty()) return std::nullopt;
  return id;
}

json variants_json(const std::vector<std::pair<std::string, std::string>>& variants) {
  json out = json::object();
  for (const auto& [ref, text] : variants) out[ref] = text;
  return out;
}

json style_json(const app::Style& style) {
  json body = json::object();
  if (!style.tone.empty()) body["tone"] = style.tone;
  if (!style.audience.empty()) body["audience"] = style.audience;
  body["hashtags"] = style.hashtags;
  body["emoji"] = style.emoji;
  body["links"] = style.links;
  return body;
}

// Flags of `post new` the REST API has no field for.
void refuse_local_only(const app::NewPostRequest& r) {
  const std::pair<bool, const char*> local_only[] = {
      {!r.media.empty(), "--media (the daemon cannot read this machine's files)"},
      {!r.alt.empty(), "--alt"},
      {r.dry_run, "--dry-run"},
      {r.ai_prompt.has_value(), "--ai"},
      {r.adapt, "--adapt"},
      {r.adapt_at_publish, "--adapt-at-publish"},
      {!r.tone.empty(), "--tone"},
  };
  for (const auto& [given, flag] : local_only) {
    if (given) throw_usage(std::string(flag) + " does not work with --remote; run the command on the daemon's host");
  }
}

}  // namespace

std::optional<ErrorKind> kind_from_name(std::string_view name) {
  for (const ErrorKind k : kKinds) {
    if (kind_name(k) == name) return k;
  }
  return std::nullopt;
}

void check_options(const Options& options) {
  const std::string& url = options.url;
  const bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) {
    throw_usage("--remote needs an http:// or https:// URL, got '" + url + "'");
  }
  if (url.size() <= (https ? 8u : 7u)) throw_usage("--remote '" + url + "' has no host");
  if (!https && !loopback_host(url)) {
    throw_usage("--remote " + url + " would send the API token unencrypted; use https:// (or an SSH tunnel to "
                "127.0.0.1)");
  }
  if (options.token.empty()) {
    throw_auth("--remote needs an API token: set MULTIVIO_API_TOKEN or pass --api-token (see 'multivio token create')");
  }
}

Error error_from_response(const http::Response& response, std::string_view context) {
  const json doc = json::parse(response.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("error") || !doc["error"].is_object() ||
      !doc["error"].value("message", json()).is_string()) {
    return http::classify(response, context);
  }
  const std::string code = doc["error"].value("code", "");
  std::string message = doc["error"]["message"].get<std::string>();
  ErrorKind kind = ErrorKind::permanent;
  if (const auto k = kind_from_name(code)) {
    kind = *k;
  } else if (code == "forbidden") {
    kind = ErrorKind::auth;
  } else if (code == "too_large") {
    kind = ErrorKind::usage;
  } else if (code == "rate_limited") {
    kind = ErrorKind::transient;
  }
  // The API token, not an account's credentials: say whose answer it is.
  if (response.status == 401 || code == "forbidden") message = std::string(context) + ": " + message;
  Error error(kind, std::move(message));
  error.http_status = response.status;
  if (const auto wait = response.header("Retry-After")) {
    error.retry_after = http::parse_retry_after(*wait, std::chrono::system_clock::now());
  }
  return error;
}

Client::Client(Options options, std::unique_ptr<http::Client> http)
    : options_(std::move(options)), http_(std::move(http)) {
  check_options(options_);
  while (options_.url.ends_with("/")) options_.url.pop_back();
}

http::Request Client::request(const std::string& method, const std::string& path, const json* body,
                              std::chrono::milliseconds timeout) const {
  http::Request r;
  r.method = method;
  r.url = options_.url + path;
  r.headers.emplace_back("Authorization", "Bearer " + options_.token);
  r.headers.emplace_back("Accept", "application/json");
  if (body != nullptr) {
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = body->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  r.connect_timeout = options_.connect_timeout;
  r.total_timeout = timeout;
  return r;
}

json Client::call(const std::string& method, const std::string& path, const json* body,
                  std::chrono::milliseconds timeout, int* status) {
  http::Response response;
  try {
    response = http_->send(request(method, path, body, timeout));
  } catch (const Error& e) {
    throw e.with_prefix("cannot reach the multivio API at " + http::redact_url(options_.url));
  }
  if (!response.ok()) throw error_from_response(response, "the multivio API at " + http::redact_url(options_.url));
  if (status != nullptr) *status = response.status;
  if (response.status == 204) return json();
  json doc = json::parse(response.body, nullptr, false);
  if (doc.is_discarded()) {
    throw_permanent("the multivio API at " + http::redact_url(options_.url) + " answered " + method + " " + path +
                    " with something that is not JSON");
  }
  return doc;
}

std::string Client::utc_when(const std::string& when) const {
  if (when == "now") return when;
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return model::format_utc(schedule::parse_when(when, now, options_.zone));
}

app::NewPostResult Client::new_post(const app::NewPostRequest& r) {
  refuse_local_only(r);
  json body{{"text", r.text}, {"to", r.to}};
  if (r.at) body["at"] = utc_when(*r.at);
  if (r.now) body["now"] = true;
  if (r.draft) body["draft"] = true;
  if (!r.tags.empty()) body["tags"] = r.tags;
  if (!r.key.empty()) body["key"] = r.key;
  if (!r.variants.empty()) body["variants"] = variants_json(r.variants);
  if (!r.thread.empty()) body["thread"] = r.thread;
  if (!r.cw.empty()) body["cw"] = r.cw;
  if (!r.language.empty()) body["language"] = r.language;
  int status = 0;
  app::NewPostResult result;
  result.post = model::post_from_json(call("POST", "/v1/posts", &body, options_.timeout, &status));
  result.created = status == 201;
  return result;
}

std::vector<model::Post> Client::list_posts(const app::ListRequest& r) {
  if (r.limit < 1) throw_usage("--limit must be at least 1");
  std::string filter;
  if (r.status) filter += "&status=" + oauth::percent_encode(*r.status);
  if (r.to) filter += "&to=" + oauth::percent_encode(*r.to);
  if (r.since) filter += "&since=" + oauth::percent_encode(utc_when(*r.since));
  if (r.until) filter += "&until=" + oauth::percent_encode(utc_when(*r.until));
  std::vector<model::Post> posts;
  std::string cursor;
  // The API pages at most 100 posts at a time.
  while (static_cast<int>(posts.size()) < r.limit) {
    const int page = std::min(100, r.limit - static_cast<int>(posts.size()));
    const json doc = call("GET", "/v1/posts?limit=" + std::to_string(page) + filter + cursor, nullptr, options_.timeout);
    for (const auto& p : doc.at("posts")) posts.push_back(model::post_from_json(p));
    const json& next = doc.at("next_cursor");
    if (!next.is_string() || doc.at("posts").empty()) break;
    cursor = "&cursor=" + oauth::percent_encode(next.get<std::string>());
  }
  return posts;
}

model::Post Client::get_post(std::int64_t id) {
  return model::post_from_json(call("GET", "/v1/posts/" + std::to_string(id), nullptr, options_.timeout));
}

model::Post Client::edit_post(const app::EditRequest& r) {
  json body = json::object();
  if (r.text) body["text"] = *r.text;
  if (r.tags) body["tags"] = *r.tags;
  if (!r.variants.empty()) body["variants"] = variants_json(r.variants);
  return model::post_from_json(call("PATCH", "/v1/posts/" + std::to_string(r.id), &body, options_.timeout));
}

model::Post Client::schedule_post(std::int64_t id, const std::string& when) {
  const json body{{"at", utc_when(when)}};
  return model::post_from_json(call("POST", "/v1/posts/" + std::to_string(id) + "/schedule", &body, options_.timeout));
}

model::Post Client::cancel_post(std::int64_t id) {
  return model::post_from_json(call("POST", "/v1/posts/" + std::to_string(id) + "/cancel", nullptr, options_.timeout));
}

void Client::delete_post(std::int64_t id) { call("DELETE", "/v1/posts/" + std::to_string(id), nullptr, options_.timeout); }

model::Post Client::retry_post(std::int64_t id) {
  return model::post_from_json(call("POST", "/v1/posts/" + std::to_string(id) + "/retry", nullptr, options_.timeout));
}

app::PublishOutcome Client::publish_post(std::int64_t id) {
  app::PublishOutcome outcome;
  outcome.post =
      model::post_from_json(call("POST", "/v1/posts/" + std::to_string(id) + "/publish", nullptr, options_.slow_timeout));
  outcome.all_published = std::all_of(outcome.post.targets.begin(), outcome.post.targets.end(),
                                      [](const model::Target& t) { return t.status == model::TargetStatus::published; });
  return outcome;
}

std::vector<app::CheckResult> Client::check(const std::string& text, const std::vector<std::string>& to,
                                            const json& options) {
  json body{{"text", text}, {"to", to}};
  if (options.contains("thread")) body["thread"] = options["thread"];
  std::vector<app::CheckResult> results;
  const json doc = call("POST", "/v1/check", &body, options_.timeout);
  for (const auto& r : doc.at("results")) {
    results.push_back(check_result_from_json(r));
  }
  return results;
}

std::vector<model::Account> Client::list_accounts() {
  std::vector<model::Account> accounts;
  const json doc = call("GET", "/v1/accounts", nullptr, options_.timeout);
  for (const auto& a : doc.at("accounts")) {
    accounts.push_back(model::account_from_json(a));
  }
  return accounts;
}

model::Account Client::resolve_account(std::string_view ref) {
  if (ref.empty()) throw_usage("empty account reference (use an id or platform:name, e.g. feed:main)");
  auto accounts = list_accounts();
  const auto known = [&] {
    std::string out;
    for (const auto& a : accounts) out += (out.empty() ? "" : ", ") + a.ref();
    return out.empty() ? std::string("none yet: see 'multivio account add --help'") : out;
  };
  const auto id = as_id(ref);
  std::vector<model::Account> matches;
  for (auto& a : accounts) {
    const bool hit = id ? a.id == *id : ref.find(':') == std::string_view::npos ? a.platform == ref : a.ref() == ref;
    if (hit) matches.push_back(a);
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) throw_usage("'" + std::string(ref) + "' matches several accounts; use platform:name (" + known() + ")");
  throw_not_found((id ? "no account with id " + std::string(ref) : "no account '" + std::string(ref) + "'") +
                  " (accounts: " + known() + ")");
}

model::Account Client::add_account(const app::AddAccountRequest& r) {
  json body{{"platform", r.platform}, {"name", r.name}, {"options", r.options}, {"secrets", r.secrets}};
  return model::account_from_json(call("POST", "/v1/accounts", &body, options_.slow_timeout));
}

void Client::remove_account(const model::Account& account) {
  call("DELETE", "/v1/accounts/" + std::to_string(account.id), nullptr, options_.timeout);
}

std::vector<app::AccountCheckResult> Client::check_accounts(const std::vector<std::string>& refs) {
  std::vector<model::Account> accounts;
  if (refs.empty()) {
    accounts = list_accounts();
  } else {
    for (const auto& ref : refs) accounts.push_back(resolve_account(ref));
  }
  std::vector<app::AccountCheckResult> results;
  for (auto& a : accounts) {
    const std::string path = "/v1/accounts/" + std::to_string(a.id) + "/check";
    results.push_back(account_check_from_json(call("POST", path, nullptr, options_.slow_timeout), std::move(a)));
  }
  return results;
}

model::Account Client::refresh_account(std::string_view ref) {
  const auto account = resolve_account(ref);
  const std::string path = "/v1/accounts/" + std::to_string(account.id) + "/refresh";
  return model::account_from_json(call("POST", path, nullptr, options_.slow_timeout));
}

app::AiText Client::generate(const app::GenerateRequest& r) {
  json body = style_json(r.style);
  body["prompt"] = r.prompt;
  if (!r.network.empty()) body["for"] = r.network;
  if (r.fit) body["fit"] = true;
  if (!r.on_delta) return ai_text_from_json(call("POST", "/v1/ai/generate", &body, options_.slow_timeout));

  auto req = request("POST", "/v1/ai/generate", &body, options_.slow_timeout);
  for (auto& [name, value] : req.headers) {
    if (name == "Accept") value = "text/event-stream";
  }
  const std::string where = "the multivio API at " + http::redact_url(options_.url);
  ai::SseParser parser;
  std::optional<json> done;
  std::string error_body;  // a refusal before the stream starts is a plain JSON answer
  const auto on_event = [&](const ai::SseEvent& event) {
    const json data = json::parse(event.data, nullptr, false);
    if (event.event == "delta" && data.is_object() && data.value("text", json()).is_string()) {
      r.on_delta(data["text"].get<std::string>());
    } else if (event.event == "done") {
      done = data;
    } else if (event.event == "error") {
      http::Response failed;
      failed.status = 500;
      failed.body = event.data;
      throw error_from_response(failed, where);
    }
  };
  http::Response head;
  try {
    head = http_->send_streaming(req, [&](const http::Response& h, std::string_view chunk) {
      if (!h.ok()) {
        error_body.append(chunk);
        return;
      }
      parser.feed(chunk, on_event);
    });
  } catch (const Error& e) {
    if (e.http_status != 0 || e.kind() != ErrorKind::transient) throw;
    throw e.with_prefix("cannot reach " + where);
  }
  if (!head.ok()) {
    head.body = error_body;
    throw error_from_response(head, where);
  }
  parser.finish(on_event);
  if (!done || done->is_discarded()) {
    throw Error(ErrorKind::transient, where + ": the answer stream ended before the text was complete");
  }
  app::AiText text = ai_text_from_json(*done);
  text.cleaned = done->value("cleaned", false);
  return text;
}

std::vector<app::AiText> Client::transform(const std::string& text, const std::vector<std::string>& networks,
                                           const app::Style& style, bool fit) {
  json body = style_json(style);
  body["text"] = text;
  body["for"] = networks;
  if (fit) body["fit"] = true;
  std::vector<app::AiText> out;
  const json doc = call("POST", "/v1/ai/transform", &body, options_.slow_timeout);
  for (const auto& t : doc.at("results")) {
    out.push_back(ai_text_from_json(t));
  }
  return out;
}

std::vector<std::string> Client::hashtags(const std::string& text, int count, const std::vector<std::string>& networks) {
  json body{{"text", text}, {"count", count}};
  if (!networks.empty()) body["for"] = networks;
  try {
    return call("POST", "/v1/ai/hashtags", &body, options_.slow_timeout).at("hashtags").get<std::vector<std::string>>();
  } catch (const json::exception&) {
    throw_permanent("the multivio API at " + http::redact_url(options_.url) + " answered hashtags without a list");
  }
}

app::CheckResult check_result_from_json(const json& doc) {
  try {
    app::CheckResult c;
    c.target = doc.at("target").get<std::string>();
    c.platform = doc.at("platform").get<std::string>();
    c.report.length = doc.at("length").get<std::size_t>();
    c.report.limit = doc.at("limit").get<std::size_t>();
    c.report.problems = doc.at("problems").get<std::vector<std::string>>();
    c.report.parts = doc.at("parts").get<int>();
    return c;
  } catch (const json::exception& e) {
    throw_permanent(std::string("unexpected check result from the multivio API: ") + e.what());
  }
}

app::AccountCheckResult account_check_from_json(const json& doc, model::Account account) {
  try {
    app::AccountCheckResult r;
    r.account = std::move(account);
    r.ok = doc.at("ok").get<bool>();
    if (r.ok) {
      r.check.handle = doc.at("handle").get<std::string>();
      if (const auto& at = doc.at("expires_at"); !at.is_null()) r.check.expires_at = model::parse_utc(at.get<std::string>());
      r.check.scopes = doc.at("scopes").get<std::vector<std::string>>();
      r.check.detail = doc.at("detail").get<std::string>();
    } else {
      r.problem = doc.at("error").get<std::string>();
      r.kind = kind_from_name(doc.at("kind").get<std::string>()).value_or(ErrorKind::permanent);
    }
    return r;
  } catch (const json::exception& e) {
    throw_permanent(std::string("unexpected account check from the multivio API: ") + e.what());
  }
}

app::AiText ai_text_from_json(const json& doc) {
  try {
    app::AiText t;
    if (const auto& p = doc.at("platform"); !p.is_null()) t.network = p.get<std::string>();
    t.text = doc.at("text").get<std::string>();
    t.length = doc.at("length").get<std::size_t>();
    t.limit = doc.at("limit").get<std::size_t>();
    t.rewrites = doc.at("rewrites").get<int>();
    if (const auto& f = doc.at("fit"); !f.is_null()) t.fit_note = f.get<std::string>();
    const auto& u = doc.at("usage");
    t.usage.model = u.at("model").get<std::string>();
    t.usage.prompt_tokens = u.at("prompt_tokens").get<decltype(t.usage.prompt_tokens)>();
    t.usage.completion_tokens = u.at("completion_tokens").get<decltype(t.usage.completion_tokens)>();
    t.usage.latency = std::chrono::milliseconds(u.at("latency_ms").get<std::int64_t>());
    return t;
  } catch (const json::exception& e) {
    throw_permanent(std::string("unexpected AI answer from the multivio API: ") + e.what());
  }
}

}  // namespace multivio::remote
