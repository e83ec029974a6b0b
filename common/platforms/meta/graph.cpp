// SPDX-License-Identifier: MIT
#include "common/platforms/meta/graph.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/config/config.hpp"
#include "common/media/stage.hpp"
#include "common/platforms/facebook/wire.hpp"
#include "common/platforms/media_rules.hpp"
#include "common/platforms/settings.hpp"
#include "common/oauth/form.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::meta {

namespace {

using Json = nlohmann::json;

int int_field(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<int>();
  // Some Graph answers quote numbers ("code":"190"); read them rather than drop them.
  if (it->is_string()) {
    try {
      return std::stoi(it->get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

bool is_throttle(int code) { return code == 4 || code == 17 || code == 32 || code == 613 || (code >= 80001 && code <= 80014); }

// The longest estimated_time_to_regain_access (minutes) in the Business Use
// Case header: Meta's only hint at when a throttled app may call again.
std::optional<std::chrono::seconds> regain_access(const http::Response& response) {
  const auto header = response.header("X-Business-Use-Case-Usage");
  if (!header) return std::nullopt;
  const Json usage = Json::parse(*header, nullptr, false);
  if (!usage.is_object()) return std::nullopt;
  int minutes = 0;
  for (const auto& [id, entries] : usage.items()) {
    if (!entries.is_array()) continue;
    for (const auto& entry : entries) {
      if (entry.is_object()) minutes = std::max(minutes, int_field(entry, "estimated_time_to_regain_access"));
    }
  }
  if (minutes <= 0) return std::nullopt;
  return std::chrono::seconds{minutes * 60};
}

}  // namespace

std::optional<GraphError> parse_error(std::string_view body) {
  const Json json = Json::parse(body, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  const auto it = json.find("error");
  if (it == json.end() || !it->is_object()) return std::nullopt;
  GraphError e;
  e.code = int_field(*it, "code");
  e.subcode = int_field(*it, "error_subcode");
  e.message = json_string(*it, "message");
  e.type = json_string(*it, "type");
  e.user_message = json_string(*it, "error_user_msg");
  e.fbtrace_id = json_string(*it, "fbtrace_id");
  return e;
}

Error to_error(const GraphError& error, int http_status, std::string_view context) {
  std::string text(context);
  if (http_status != 0) text += ": HTTP " + std::to_string(http_status);
  // error_user_msg is written for people; message is for developers.
  const std::string& said = !error.user_message.empty() ? error.user_message : error.message;
  if (!said.empty()) text += ": " + text::truncate_code_points(said, 300);
  if (error.code != 0) {
    text += " (code " + std::to_string(error.code);
    if (error.subcode != 0) text += "/" + std::to_string(error.subcode);
    text += ")";
  }

  ErrorKind kind = ErrorKind::permanent;
  // Subcode 33 alone also marks "object does not exist" (code 100); only the
  // message names a revoked token reliably outside code 190.
  const bool revoked = error.message.find("REVOKED_ACCESS_TOKEN") != std::string::npos;
  if (error.code == 190 || revoked) {
    kind = ErrorKind::auth;
    text += ": the access token is invalid or expired; re-link the account";
  } else if (is_throttle(error.code)) {
    kind = ErrorKind::transient;
    text += ": rate limited";
  } else if (error.code == 1 || error.code == 2) {
    kind = ErrorKind::transient;
  } else if (error.code == 506) {
    text += ": duplicate post";
  } else if (error.code == 10 || (error.code >= 200 && error.code <= 299)) {
    kind = ErrorKind::auth;
    text += ": a permission is missing; re-link the account and grant it";
  }
  // 9004 and 2207xxx (media fetch/processing) stay permanent with Graph's words.
  Error out(kind, std::move(text));
  out.http_status = http_status;
  return out;
}

Error classify_response(const http::Response& response, std::string_view context) {
  const auto graph = parse_error(response.body);
  if (!graph) return http::classify(response, context);
  Error out = to_error(*graph, response.status, context);
  if (out.kind() == ErrorKind::transient) {
    out.retry_after = response.header("Retry-After")
                          ? http::parse_retry_after(*response.header("Retry-After"), std::chrono::system_clock::now())
                          : std::nullopt;
    if (!out.retry_after) out.retry_after = regain_access(response);
  }
  return out;
}

nlohmann::json expect_json(const http::Response& response, std::string_view context) {
  if (!response.ok() || parse_error(response.body)) throw classify_response(response, context);
  Json json = Json::parse(response.body, nullptr, false);
  if (json.is_discarded()) {
    throw Error(ErrorKind::permanent,
                std::string(context) + ": the answer is not JSON: " + oauth::body_excerpt(response.body));
  }
  return json;
}

bool is_duplicate(const http::Response& response) {
  const auto graph = parse_error(response.body);
  return graph && graph->code == 506;
}

ContainerStatus parse_container_status(std::string_view text) noexcept {
  if (text == "IN_PROGRESS") return ContainerStatus::in_progress;
  if (text == "FINISHED") return ContainerStatus::finished;
  if (text == "PUBLISHED") return ContainerStatus::published;
  if (text == "ERROR") return ContainerStatus::error;
  if (text == "EXPIRED") return ContainerStatus::expired;
  return ContainerStatus::unknown;
}

std::string_view container_status_name(ContainerStatus status) noexcept {
  switch (status) {
    case ContainerStatus::in_progress: return "IN_PROGRESS";
    case ContainerStatus::finished: return "FINISHED";
    case ContainerStatus::published: return "PUBLISHED";
    case ContainerStatus::error: return "ERROR";
    case ContainerStatus::expired: return "EXPIRED";
    case ContainerStatus::unknown: break;
  }
  return "UNKNOWN";
}

ContainerState parse_container(const nlohmann::json& body) {
  ContainerState state;
  if (!body.is_object()) return state;
  std::string code = json_string(body, "status_code");
  std::string status = json_string(body, "status");
  if (code.empty()) code = status;  // Threads names the field "status"
  state.status = parse_container_status(code);
  state.detail = json_string(body, "error_message");
  // Instagram's "status" is prose ("Error: Media download has failed...") next to status_code.
  if (state.detail.empty() && status != code) state.detail = status;
  return state;
}


ContainerState wait_for_container(const std::function<ContainerState()>& fetch, const PollPolicy& policy,
                                  const Sleeper& sleep, std::string_view context, std::string_view container_id) {
  std::chrono::milliseconds slept{0};
  if (policy.first_wait.count() > 0) {
    sleep(policy.first_wait);
    slept += policy.first_wait;
  }
  for (;;) {
    ContainerState state = fetch();
    // An unknown value is waited on like IN_PROGRESS: Meta adds states now and then.
    if (state.status != ContainerStatus::in_progress && state.status != ContainerStatus::unknown) return state;
    if (slept + policy.interval > policy.deadline) {
      Error e(ErrorKind::transient, std::string(context) + ": container " + std::string(container_id) + " still " +
                                        std::string(container_status_name(state.status)) + " after " +
                                        std::to_string(slept.count() / 1000) + " s");
      throw e;
    }
    sleep(policy.interval);
    slept += policy.interval;
  }
}

Settings settings_of(const config::Config& config, const std::string& network, std::string_view default_api_base,
                     std::string_view default_api_version, std::string_view default_auth_base) {
  const SettingsReader r(config, network);
  Settings s;
  s.api_base = r.url("api_base", default_api_base);
  s.api_version = r.string("api_version", default_api_version);
  s.auth_base_set = !r.string("auth_base").empty();
  s.auth_base = r.url("auth_base", default_auth_base);
  s.client_id = r.string("client_id");
  s.client_secret = r.client_secret();
  s.media_timeout = r.duration("media_timeout", s.media_timeout);
  return s;
}

StagedFiles::StagedFiles(media::Stager& stager, std::string context) : stager_(stager), context_(std::move(context)) {}

StagedFiles::~StagedFiles() = default;

std::string StagedFiles::stage(const std::string& path, std::chrono::seconds ttl) {
  const MediaInfo info = inspect_media(path);
  try {
    staged_.push_back(std::make_unique<media::Staged>(stager_.stage(path, info.sniffed.mime, ttl)));
  } catch (const Error& e) {
    throw e.with_prefix(context_);
  }
  return staged_.back()->url;
}

void StagedFiles::remove_all() {
  for (const auto& staged : staged_) {
    try {
      stager_.remove(*staged);
    } catch (const std::exception& e) {
      // The post is live; a leftover object only costs storage.
      spdlog::warn("{}: could not remove staged media {}: {}", context_, staged->key, e.what());
    }
  }
  staged_.clear();
}

nlohmann::json token_secrets_of(const oauth::TokenSet& tokens, const nlohmann::json& keep,
                                std::chrono::system_clock::time_point now) {
  Json out = keep.is_object() ? keep : Json::object();
  out["access_token"] = tokens.access_token;
  out["issued_at"] = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  if (tokens.expires_at) {
    out["expires_at"] = tokens.expires_at->time_since_epoch().count();
  } else {
    out.erase("expires_at");
  }
  if (!tokens.scope.empty()) out["scope"] = tokens.scope;
  out.erase("expires_in");
  out.erase("refresh_token");  // Meta's user tokens refresh themselves; there is no separate one
  return out;
}

UserSession::UserSession(http::Client& http, const config::Config& config, std::string graph_base,
                         TokenEndpoints tokens, const nlohmann::json& secrets,
                         std::function<void(const nlohmann::json&)> save, std::string context)
    : http_(http),
      config_(config),
      base_(std::move(graph_base)),
      tokens_(std::move(tokens)),
      secrets_(secrets.is_object() ? secrets : Json::object()),
      save_(std::move(save)),
      context_(std::move(context)) {
  if (json_string(secrets_, "access_token").empty()) {
    throw_auth(context_ + ": no access token is stored; re-link the account with --oauth");
  }
}

std::optional<std::chrono::sys_seconds> UserSession::expires_at() const {
  const auto it = secrets_.find("expires_at");
  if (it == secrets_.end() || !it->is_number_integer()) return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::seconds{it->get<long long>()}};
}

nlohmann::json UserSession::send(http::Request request, std::string_view step) {
  request.connect_timeout = config_.daemon.connect_timeout;
  request.total_timeout = config_.daemon.http_timeout;
  request.headers.emplace_back("Accept", "application/json");
  const std::string context = context_ + ": " + std::string(step);
  http::Response response;
  try {
    response = http_.send(request);
  } catch (const Error& e) {
    throw e.with_prefix(context);
  }
  return expect_json(response, context);
}

nlohmann::json UserSession::get(const std::string& path, const oauth::Params& query, std::string_view step) {
  oauth::Params params = query;
  params.emplace_back("access_token", json_string(secrets_, "access_token"));
  http::Request request;
  request.url = oauth::append_query(base_ + "/" + path, params);
  return send(std::move(request), step);
}

nlohmann::json UserSession::post(const std::string& path, const oauth::Params& form, std::string_view step) {
  oauth::Params params = form;
  params.emplace_back("access_token", json_string(secrets_, "access_token"));
  return send(oauth::form_post(base_ + "/" + path, params, config_.daemon.connect_timeout, config_.daemon.http_timeout),
              step);
}

void UserSession::adopt(const oauth::TokenSet& tokens) {
  secrets_ = token_secrets_of(tokens, secrets_, std::chrono::system_clock::now());
  // Saved before use: the old token may stop working once a new one exists.
  if (save_) save_(secrets_);
  refreshed_ = true;
}

void UserSession::refresh() {
  oauth::TokenSet fresh;
  const std::string context = context_ + ": refresh the access token";
  try {
    const Json body = send(http::Request{"GET",
                                         oauth::append_query(tokens_.refresh_url,
                                                             {{"grant_type", tokens_.refresh_grant},
                                                              {"access_token", json_string(secrets_, "access_token")}}),
                                         {}, {}},
                           "refresh the access token");
    fresh = oauth::parse_token_response(body.dump(), std::chrono::system_clock::now());
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::auth && e.kind() != ErrorKind::permanent) throw;
    // A token that is expired, revoked or too young cannot be refreshed; only
    // a new login helps once it has expired.
    Error out(ErrorKind::auth, std::string(e.what()) + "; re-link the account with --oauth");
    out.http_status = e.http_status;
    throw out;
  }
  adopt(fresh);
}

void UserSession::exchange() {
  if (tokens_.client_secret.empty()) {
    throw_usage(context_ + ": exchanging for a long-lived token needs the app secret (client_secret or "
                           "client_secret_env)");
  }
  const Json body = send(http::Request{"GET",
                                       oauth::append_query(tokens_.exchange_url,
                                                           {{"grant_type", tokens_.exchange_grant},
                                                            {"client_secret", tokens_.client_secret},
                                                            {"access_token", json_string(secrets_, "access_token")}}),
                                       {}, {}},
                         "long-lived token exchange");
  adopt(oauth::parse_token_response(body.dump(), std::chrono::system_clock::now()));
}

bool UserSession::refresh_if_due(std::chrono::seconds margin) {
  const auto at = expires_at();
  if (!at || refreshed_) return false;
  const auto now = std::chrono::system_clock::now();
  if (now + margin < *at) return false;
  if (const auto it = secrets_.find("issued_at"); it != secrets_.end() && it->is_number_integer()) {
    const std::chrono::sys_seconds issued{std::chrono::seconds{it->get<long long>()}};
    if (now < issued + k_min_refresh_age) return false;  // Meta refuses; the token is still good
  }
  if (now >= *at) throw_auth(context_ + ": the access token expired; re-link the account with --oauth");
  try {
    refresh();
  } catch (const Error& e) {
    // The token still works until it expires: a failed early refresh must
    // not fail the publish that triggered it.
    spdlog::warn("{}", e.what());
    return false;
  }
  return true;
}

void UserSession::remember(const std::string& key, const std::string& value) {
  if (json_string(secrets_, key.c_str()) == value) return;
  secrets_[key] = value;
  if (save_) save_(secrets_);
}

PollPolicy poll_policy(std::chrono::milliseconds media_timeout) {
  PollPolicy policy;
  policy.interval = std::clamp<std::chrono::milliseconds>(media_timeout / 60, std::chrono::milliseconds{100},
                                                          std::chrono::milliseconds{10'000});
  policy.deadline = media_timeout;
  return policy;
}

std::string publish_container(const ContainerSteps& steps, const std::optional<std::string>& resume,
                              const PollPolicy& policy, const Sleeper& sleep, const std::string& context) {
  const auto fetch_for = [&](const std::string& id) { return [&steps, id] { return steps.read(id); }; };
  const auto published = [&](const std::string& id) {
    std::string media = steps.find_published(id);
    if (media.empty()) {
      spdlog::warn("{}: container {} is already published; its media id is unknown, keeping the container id",
                   context, id);
      return id;
    }
    return media;
  };
  std::string id;
  if (resume && !resume->empty()) {
    ContainerState state;
    try {
      state = steps.read(*resume);
    } catch (const Error& e) {
      // A container Meta no longer knows was never published: make a new one.
      if (e.kind() != ErrorKind::permanent) throw;
      spdlog::info("{}: container {} from the earlier attempt is gone ({}); creating a new one", context, *resume,
                   e.what());
      state.status = ContainerStatus::expired;
    }
    if (state.status == ContainerStatus::published) {
      spdlog::info("{}: container {} was published by an earlier attempt; not publishing it again", context,
                   *resume);
      return published(*resume);
    }
    if (state.status != ContainerStatus::expired && state.status != ContainerStatus::error) id = *resume;
  }
  for (int round = 0;; ++round) {
    if (id.empty()) {
      id = steps.create();
      steps.remember(id);
    }
    const ContainerState state = wait_for_container(fetch_for(id), policy, sleep, context, id);
    switch (state.status) {
      case ContainerStatus::finished: return steps.publish(id);
      case ContainerStatus::published: return published(id);
      case ContainerStatus::error:
        throw Error(ErrorKind::permanent, context + ": container " + id + " failed: " +
                                              (state.detail.empty() ? "no reason given" : state.detail));
      case ContainerStatus::expired:
        if (round > 0) throw Error(ErrorKind::transient, context + ": container " + id + " expired again");
        id.clear();
        continue;
      default:
        throw Error(ErrorKind::transient, context + ": container " + id + " is in an unknown state");
    }
  }
}

std::vector<RemotePost> parse_post_list(const nlohmann::json& body, const std::string& text_field) {
  std::vector<RemotePost> out;
  const auto data = body.find("data");
  if (data == body.end() || !data->is_array()) return out;
  for (const auto& item : *data) {
    if (!item.is_object() || !item.contains("id")) continue;
    RemotePost p;
    p.id = item["id"].is_string() ? item["id"].get<std::string>() : item["id"].dump();
    p.text = json_string(item, text_field.c_str());
    p.url = json_string(item, "permalink");
    if (const auto at = facebook::parse_time(json_string(item, "timestamp"))) p.created_at = *at;
    out.push_back(std::move(p));
  }
  return out;
}

GraphAdapter::GraphAdapter(const Context& context, Settings settings, NetworkTraits traits, Sleeper sleeper)
    : ctx_(context), settings_(std::move(settings)), traits_(std::move(traits)), sleep_(std::move(sleeper)) {}

UserSession GraphAdapter::session(const model::Account& account, const nlohmann::json& secrets,
                                  const SaveSecrets& save) const {
  UserSession s(ctx_.http, ctx_.config, settings_.graph_base(), traits_.tokens, secrets, save, account.ref());
  // Long-lived tokens last 60 days; the last fifth leaves many chances to refresh.
  const auto configured = std::chrono::duration_cast<std::chrono::seconds>(ctx_.config.daemon.token_refresh_margin);
  s.refresh_if_due(configured.count() > 0 ? configured : std::chrono::seconds{std::chrono::days{12}});
  return s;
}

std::string GraphAdapter::user_id(UserSession& session) const {
  if (std::string id = json_string(session.secrets(), "user_id"); !id.empty()) return id;
  const Json me = session.get("me", {{"fields", traits_.me_fields}}, "GET /me");
  const std::string id = me.contains(traits_.id_field) && me[traits_.id_field].is_string()
                             ? me[traits_.id_field].get<std::string>()
                             : (me.contains(traits_.id_field) ? me[traits_.id_field].dump() : std::string());
  if (id.empty()) throw Error(ErrorKind::permanent, session.context() + ": GET /me: no " + traits_.id_field);
  session.remember("user_id", id);
  if (const std::string name = json_string(me, "username"); !name.empty()) session.remember("username", name);
  return id;
}

std::vector<RemotePost> GraphAdapter::recent(UserSession& session, std::size_t limit) const {
  const std::string user = user_id(session);
  const std::string fields = "id," + traits_.text_field + ",permalink,timestamp";
  const Json body = session.get(user + "/" + traits_.list_edge,
                                {{"fields", fields}, {"limit", std::to_string(std::clamp<std::size_t>(limit, 1, 100))}},
                                "GET /" + traits_.list_edge);
  return parse_post_list(body, traits_.text_field);
}

ContainerSteps GraphAdapter::container_steps(UserSession& session, const std::string& user,
                                             const PublishRequest& request, std::string text,
                                             std::function<std::string()> create) const {
  ContainerSteps steps;
  steps.create = std::move(create);
  steps.read = [this, &session](const std::string& id) {
    return parse_container(session.get(id, {{"fields", traits_.status_fields}}, "container status"));
  };
  steps.publish = [this, &session, user](const std::string& id) {
    const Json body = session.post(user + "/" + traits_.publish_edge, {{"creation_id", id}}, traits_.publish_edge);
    const std::string media = json_string(body, "id");
    if (media.empty()) {
      Error e(ErrorKind::transient, session.context() + ": " + traits_.publish_edge + ": the answer has no id");
      e.outcome_unknown = true;  // the post may be live: the container check settles it on retry
      throw e;
    }
    return media;
  };
  steps.find_published = [this, &session, text = std::move(text)](const std::string&) {
    for (const auto& post : recent(session, 25)) {
      if (text::trim(post.text) == text::trim(text)) return post.id;
    }
    return std::string();
  };
  steps.remember = [&request](const std::string& id) {
    Json progress = request.progress.is_object() ? request.progress : Json::object();
    progress["container_id"] = id;
    if (request.save_progress) request.save_progress(progress);
  };
  return steps;
}

std::string GraphAdapter::create_container(UserSession& session, const std::string& user,
                                           const oauth::Params& params) const {
  const Json body = session.post(user + "/" + traits_.create_edge, params, "create container");
  const auto it = body.find("id");
  if (it == body.end()) throw Error(ErrorKind::permanent, session.context() + ": create container: no id in the answer");
  return it->is_string() ? it->get<std::string>() : it->dump();
}

void GraphAdapter::wait_finished(UserSession& session, const std::string& id) const {
  const ContainerState state = wait_for_container(
      [&] { return parse_container(session.get(id, {{"fields", traits_.status_fields}}, "container status")); },
      poll_policy(settings_.media_timeout), sleep_, session.context(), id);
  if (state.status != ContainerStatus::finished) {
    throw Error(ErrorKind::permanent, session.context() + ": container " + id + " is " +
                                          std::string(container_status_name(state.status)) +
                                          (state.detail.empty() ? "" : ": " + state.detail));
  }
}

std::string GraphAdapter::permalink(UserSession& session, const std::string& media_id) const {
  try {
    return json_string(session.get(media_id, {{"fields", "permalink"}}, "GET permalink"), "permalink");
  } catch (const Error& e) {
    // The post is live; a missing link must not turn success into a retry.
    spdlog::warn("{}", e.what());
    return {};
  }
}

std::unique_ptr<media::Stager> GraphAdapter::stager() const { return media::make_stager(ctx_.config, ctx_.http); }

void GraphAdapter::move_secret_options(nlohmann::json&, nlohmann::json& secrets) const {
  if (!secrets.is_object() || !secrets.contains("expires_in") || secrets.contains("expires_at")) return;
  const auto in = secrets["expires_in"];
  secrets.erase("expires_in");
  if (!in.is_number_integer() || in.get<long long>() <= 0) return;
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  secrets["expires_at"] = (now + std::chrono::seconds{in.get<long long>()}).time_since_epoch().count();
  if (!secrets.contains("issued_at")) secrets["issued_at"] = now.time_since_epoch().count();
}

std::chrono::seconds GraphAdapter::stage_ttl() const {
  return std::chrono::duration_cast<std::chrono::seconds>(ctx_.config.media.url_ttl);
}

void GraphAdapter::check_staging(const std::vector<std::string>& media, std::vector<std::string>& problems) const {
  if (media.empty()) return;
  try {
    if (!stager()) problems.push_back(media::staging_required_problem(traits_.name));
  } catch (const Error& e) {
    problems.emplace_back(e.what());  // an incomplete media.stage section
  }
}

void GraphAdapter::normalize_handle(nlohmann::json& options) const {
  if (!options.contains("handle")) return;
  if (!options["handle"].is_string()) throw_usage(traits_.name + ": handle must be a string");
  std::string handle = options["handle"].get<std::string>();
  if (handle.starts_with('@')) handle.erase(0, 1);
  options["handle"] = handle;
}

bool GraphAdapter::is_video(const std::string& path) { return inspect_media(path).is_video(); }

std::optional<nlohmann::json> GraphAdapter::refresh(const model::Account& account, const nlohmann::json& secrets) {
  UserSession s(ctx_.http, ctx_.config, settings_.graph_base(), traits_.tokens, secrets, {}, account.ref());
  s.refresh();
  return s.secrets();
}

std::vector<RemotePost> GraphAdapter::find_recent(const model::Account& account, const nlohmann::json& secrets,
                                                  std::size_t limit) {
  UserSession s = session(account, secrets, {});
  auto posts = recent(s, limit);
  if (posts.size() > limit) posts.resize(limit);
  return posts;
}

AccountCheck GraphAdapter::check_account(const model::Account& account, const nlohmann::json& secrets,
                                         const SaveSecrets& save) {
  UserSession s = session(account, secrets, save);
  const Json me = s.get("me", {{"fields", traits_.me_fields}}, "GET /me");
  AccountCheck check;
  check.handle = json_string(me, "username");
  const std::string id = me.contains(traits_.id_field) && me[traits_.id_field].is_string()
                             ? me[traits_.id_field].get<std::string>()
                             : std::string();
  if (!id.empty()) s.remember("user_id", id);
  if (const auto at = s.expires_at()) check.expires_at = std::chrono::time_point_cast<std::chrono::milliseconds>(*at);
  const std::string scope = json_string(s.secrets(), "scope");
  for (std::size_t start = 0; start < scope.size();) {
    const auto comma = scope.find(',', start);
    const std::string one(text::trim(scope.substr(start, comma - start)));
    if (!one.empty()) check.scopes.push_back(one);
    start = comma == std::string::npos ? scope.size() : comma + 1;
  }
  check.detail = traits_.name + " user id " + id + "; long-lived user token" + (s.refreshed() ? ", refreshed now" : "");
  return check;
}

std::optional<OAuth2Link> GraphAdapter::oauth2_link(const nlohmann::json&, const std::string&, LinkStash&) {
  if (settings_.client_id.empty() || settings_.client_secret.empty()) {
    throw_usage(traits_.name + ": linking with --oauth needs your app's id and secret: set platforms." + traits_.name +
                ".client_id and client_secret (or client_secret_env) in the config");
  }
  OAuth2Link link;
  link.config.authorize_url = traits_.authorize_url;
  link.config.token_url = traits_.token_url;
  link.config.client_id = settings_.client_id;
  link.config.client_secret = settings_.client_secret;
  link.config.client_auth = oauth::ClientAuth::body;
  link.config.scope_separator = ",";
  link.config.connect_timeout = ctx_.config.daemon.connect_timeout;
  link.config.total_timeout = ctx_.config.daemon.http_timeout;
  link.config.context = traits_.name;
  link.scopes = traits_.scopes;
  return link;
}

nlohmann::json GraphAdapter::secrets_from_tokens(const oauth::TokenSet& tokens, const nlohmann::json&,
                                                 std::string& handle) {
  UserSession s(ctx_.http, ctx_.config, settings_.graph_base(), traits_.tokens,
                token_secrets_of(tokens, Json::object(), std::chrono::system_clock::now()), {}, traits_.name);
  // The code grants a one-hour token; only the exchanged one lasts 60 days.
  s.exchange();
  user_id(s);
  handle = json_string(s.secrets(), "username");
  return s.secrets();
}

}  // namespace multivio::platforms::meta
