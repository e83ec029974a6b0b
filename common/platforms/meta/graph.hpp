// SPDX-License-Identifier: MIT
// What Meta's Graph-style APIs (Facebook Pages, Instagram, Threads) share.
// For all three: the error envelope {"error":{"message","type","code",
// "error_subcode","fbtrace_id"}} turned into multivio::Error, and settings.
// For Instagram and Threads: the media container status loop run between
// "create container" and "publish" (with an injected sleeper), the
// publish-once rule built on it, long-lived user tokens, and GraphAdapter,
// the adapter half the two networks have in common. All network calls go
// through http::Client.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/form.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/platforms/platform.hpp"

namespace multivio::config {
struct Config;
}
namespace multivio::media {
class Stager;
struct Staged;
}

namespace multivio::platforms::meta {

/// The parsed Graph error envelope. code/subcode are 0 when absent.
struct GraphError {
  int code = 0;
  int subcode = 0;
  std::string message;
  std::string type;  // "OAuthException", "GraphMethodException", ...
  std::string user_message;  // error_user_msg, when Meta sends one
  std::string fbtrace_id;
};

/// The envelope in `body`, or nullopt when the body is not one.
std::optional<GraphError> parse_error(std::string_view body);

/// The Error a Graph error means; `context` prefixes the message
/// ("instagram: publish"):
/// - 190 (any subcode) or a message naming REVOKED_ACCESS_TOKEN: auth, "... re-link the account";
/// - 4, 17, 32, 613, 80001-80014 (throttling): transient, rate limited;
/// - 1, 2 (unknown / service error): transient;
/// - 506: permanent, "duplicate post" (see is_duplicate());
/// - 9004 and subcodes 2207xxx (media fetch/processing): permanent with Graph's message;
/// - 10, 200-299 (permissions): auth;
/// - anything else: permanent.
/// `http_status` is copied into Error::http_status.
Error to_error(const GraphError& error, int http_status, std::string_view context);

/// A non-2xx (or 2xx with an envelope) response as an Error: to_error() when
/// the body is an envelope, else http::classify(). Retry-After is kept.
Error classify_response(const http::Response& response, std::string_view context);

/// The JSON body of a successful Graph call. Throws classify_response() when the
/// response is not 2xx or carries an error envelope, and Error(permanent)
/// when the body is not JSON.
nlohmann::json expect_json(const http::Response& response, std::string_view context);

/// True when the response is Graph's "duplicate post" refusal (code 506).
bool is_duplicate(const http::Response& response);

// ---- Media containers (Instagram status_code, Threads status) ----

enum class ContainerStatus { in_progress, finished, published, error, expired, unknown };

/// "IN_PROGRESS" -> in_progress, ...; anything else unknown.
ContainerStatus parse_container_status(std::string_view text) noexcept;
std::string_view container_status_name(ContainerStatus status) noexcept;

struct ContainerState {
  ContainerStatus status = ContainerStatus::unknown;
  std::string detail;  // error_message / status text when Meta gives one
};

/// Reads a container GET answer: "status_code" (Instagram) or "status"
/// (Threads), with "error_message" (Threads) or "status" text (Instagram
/// puts "Error: ..." there) as detail.
ContainerState parse_container(const nlohmann::json& body);

/// Waits between polls; tests pass one that only records.

struct PollPolicy {
  std::chrono::milliseconds first_wait{0};     // before the first status read
  std::chrono::milliseconds interval{2'000};   // between reads
  std::chrono::milliseconds deadline{300'000};  // total sleeping budget
};

/// Reads the container with `fetch` until it leaves IN_PROGRESS and returns
/// the state it reached (finished, published, error or expired; callers
/// decide what each means). Throws Error(transient) "<context>: container
/// <id> still IN_PROGRESS after N s" when the budget runs out, and whatever
/// `fetch` throws. `sleep` must be callable.
ContainerState wait_for_container(const std::function<ContainerState()>& fetch, const PollPolicy& policy,
                                  const Sleeper& sleep, std::string_view context, std::string_view container_id);

// ---- Instagram Login and Threads: user tokens and two-phase publishing ----

/// platforms.<network> from the config with defaults filled in.
struct Settings {
  std::string api_base;     // no trailing slash
  std::string api_version;  // "v24.0", "v1.0"
  std::string auth_base;    // the consent page's host
  bool auth_base_set = false;
  std::string client_id;
  std::string client_secret;  // client_secret, or the variable client_secret_env names
  std::chrono::milliseconds media_timeout{300'000};
  std::string graph_base() const { return api_base + "/" + api_version; }
};
Settings settings_of(const config::Config& config, const std::string& network, std::string_view default_api_base,
                     std::string_view default_api_version, std::string_view default_auth_base);

/// The files of one publish made reachable through a Stager, removed again
/// (best effort, failures logged) by remove_all().
class StagedFiles {
 public:
  StagedFiles(media::Stager& stager, std::string context);
  ~StagedFiles();
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;
  /// The public URL of `path` (content type sniffed), valid for `ttl`.
  std::string stage(const std::string& path, std::chrono::seconds ttl);
  void remove_all();

 private:
  media::Stager& stager_;
  std::string context_;
  std::vector<std::unique_ptr<media::Staged>> staged_;
};

/// Where a network exchanges and refreshes its long-lived user tokens
/// (GET, answer {access_token, token_type, expires_in}).
struct TokenEndpoints {
  std::string exchange_url;    // ".../access_token"
  std::string exchange_grant;  // "ig_exchange_token", "th_exchange_token"
  std::string refresh_url;     // ".../refresh_access_token"
  std::string refresh_grant;   // "ig_refresh_token", "th_refresh_token"
  std::string client_secret;   // needed by the exchange only
};

/// Meta refuses to refresh a token younger than this.
inline constexpr std::chrono::hours k_min_refresh_age{24};

/// The secrets to store for a token answer: access_token, expires_at (epoch
/// seconds) and issued_at (now; refresh needs the token's age), plus `keep`'s
/// other keys (user_id, username).
nlohmann::json token_secrets_of(const oauth::TokenSet& tokens, const nlohmann::json& keep,
                                std::chrono::system_clock::time_point now);

/// One account's calls for one operation: adds access_token to each request,
/// prefixes errors with `context` ("instagram:shop"), refreshes the token
/// ahead of expiry and saves new secrets (through `save`) before using them.
/// Thread affinity: like http::Client.
class UserSession {
 public:
  /// `graph_base` includes the version ("https://graph.threads.net/v1.0").
  /// Throws Error(auth) when no access token is stored.
  UserSession(http::Client& http, const config::Config& config, std::string graph_base, TokenEndpoints tokens,
              const nlohmann::json& secrets, std::function<void(const nlohmann::json&)> save, std::string context);

  /// GET graph_base/path?query; the JSON answer. Throws classify_response().
  nlohmann::json get(const std::string& path, const oauth::Params& query, std::string_view step);
  /// POST graph_base/path as a form. An answer lost in transit keeps
  /// outcome_unknown from the HTTP layer.
  nlohmann::json post(const std::string& path, const oauth::Params& form, std::string_view step);

  /// Refreshes when the token expires within `margin` and is old enough.
  /// Returns whether it did.
  bool refresh_if_due(std::chrono::seconds margin);
  /// Refreshes now. Throws Error(auth) when Meta refuses (expired, revoked).
  void refresh();
  /// Exchanges the stored (short-lived) token for a long-lived one.
  void exchange();

  const nlohmann::json& secrets() const { return secrets_; }
  const std::string& context() const { return context_; }
  std::optional<std::chrono::sys_seconds> expires_at() const;
  bool refreshed() const { return refreshed_; }
  /// Stores a value (user_id, username) in the secrets and saves them.
  void remember(const std::string& key, const std::string& value);

 private:
  nlohmann::json send(http::Request request, std::string_view step);
  void adopt(const oauth::TokenSet& tokens);

  http::Client& http_;
  const config::Config& config_;
  std::string base_;
  TokenEndpoints tokens_;
  nlohmann::json secrets_;
  std::function<void(const nlohmann::json&)> save_;
  std::string context_;
  bool refreshed_ = false;
};

/// The steps of publishing one container, supplied by the adapter.
struct ContainerSteps {
  std::function<std::string()> create;                           // a new container's id (stages media first)
  std::function<ContainerState(const std::string& id)> read;     // its status
  std::function<std::string(const std::string& id)> publish;     // publishes it: the media id
  /// The media id of a container found PUBLISHED on a retry; empty when it
  /// cannot be told (then the container id stands in for it).
  std::function<std::string(const std::string& id)> find_published;
  /// Persists the container id before it is published (save_progress).
  std::function<void(const std::string& id)> remember;
};

/// Publishes one container at most once. With `resume` (the id an earlier
/// attempt stored), reads it first: PUBLISHED returns its media id without
/// publishing; FINISHED or IN_PROGRESS is published once ready; EXPIRED,
/// ERROR or a container Meta no longer knows is replaced. Otherwise creates
/// one, remembers it, waits until it is FINISHED and publishes it.
/// ERROR is Error(permanent) with Meta's status text; a container that
/// expires while waiting is recreated once.
std::string publish_container(const ContainerSteps& steps, const std::optional<std::string>& resume,
                              const PollPolicy& policy, const Sleeper& sleep, const std::string& context);

/// The polling both networks use: every media_timeout / 60 (within 100 ms
/// and 10 s) for at most media_timeout.
PollPolicy poll_policy(std::chrono::milliseconds media_timeout);

// ---- The adapter parts Instagram and Threads share ----

/// What differs between the two networks in those parts.
struct NetworkTraits {
  std::string name;            // "instagram"
  std::string me_fields;       // GET /me?fields=...: "user_id,username"
  std::string id_field;        // the user id in that answer: "user_id" / "id"
  std::string list_edge;       // GET /{user}/<edge> lists posts: "media" / "threads"
  std::string text_field;      // a listed post's text: "caption" / "text"
  std::string create_edge;     // POST /{user}/<edge> creates a container: "media" / "threads"
  std::string publish_edge;    // "media_publish" / "threads_publish"
  std::string status_fields;   // GET /{container}?fields=...
  std::string authorize_url;   // consent page
  std::string token_url;       // code exchange (POST)
  std::vector<std::string> scopes;
  TokenEndpoints tokens;
};

/// Posts of a list edge ({"data":[{id, <text_field>, permalink, timestamp}]}).
std::vector<RemotePost> parse_post_list(const nlohmann::json& body, const std::string& text_field);

/// Linking, refreshing, "who am I", listing and the container steps, on top
/// of which each network adds validate/publish/preview.
class GraphAdapter : public Adapter {
 public:
  /// A token given with `expires_in` (a token file) gets expires_at and
  /// issued_at from now, so it is refreshed ahead of expiry like a linked one.
  void move_secret_options(nlohmann::json& options, nlohmann::json& secrets) const override;
  std::optional<nlohmann::json> refresh(const model::Account& account, const nlohmann::json& secrets) override;
  std::vector<RemotePost> find_recent(const model::Account& account, const nlohmann::json& secrets,
                                      std::size_t limit) override;
  AccountCheck check_account(const model::Account& account, const nlohmann::json& secrets,
                             const SaveSecrets& save) override;
  std::optional<OAuth2Link> oauth2_link(const nlohmann::json& options, const std::string& redirect_uri,
                                        LinkStash& stash) override;
  nlohmann::json secrets_from_tokens(const oauth::TokenSet& tokens, const nlohmann::json& options,
                                     std::string& handle) override;

 protected:
  GraphAdapter(const Context& context, Settings settings, NetworkTraits traits, Sleeper sleeper);

  /// A session for `account`; refreshes the token when it is in its last
  /// fifth (or daemon.token_refresh_margin) and old enough.
  UserSession session(const model::Account& account, const nlohmann::json& secrets, const SaveSecrets& save) const;
  /// The account's user id, asked with /me once and remembered in the secrets.
  std::string user_id(UserSession& session) const;
  std::vector<RemotePost> recent(UserSession& session, std::size_t limit) const;
  /// read/publish/find_published/remember for containers of `user`;
  /// find_published looks for `text` among the newest posts.
  ContainerSteps container_steps(UserSession& session, const std::string& user, const PublishRequest& request,
                                 std::string text, std::function<std::string()> create) const;
  /// Creates a container with these parameters; its id.
  std::string create_container(UserSession& session, const std::string& user, const oauth::Params& params) const;
  /// Waits for a container (a carousel child) to be FINISHED; ERROR is Error(permanent).
  void wait_finished(UserSession& session, const std::string& id) const;
  /// The permalink of a published post, or empty (logged) when Meta will not say.
  std::string permalink(UserSession& session, const std::string& media_id) const;
  /// The stager media.stage configures; nullptr when none is.
  std::unique_ptr<media::Stager> stager() const;
  /// How long staged URLs must stay valid (media.url_ttl).
  std::chrono::seconds stage_ttl() const;
  /// validate()'s staging check: media without media.stage is a problem.
  void check_staging(const std::vector<std::string>& media, std::vector<std::string>& problems) const;
  /// configure_account()'s handle: a string, stored without "@".
  void normalize_handle(nlohmann::json& options) const;
  static bool is_video(const std::string& path);

  Context ctx_;
  Settings settings_;
  NetworkTraits traits_;
  Sleeper sleep_;
};

}  // namespace multivio::platforms::meta
