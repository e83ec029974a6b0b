// SPDX-License-Identifier: MIT
// The one interface every network adapter implements, and the registry that
// names them. Adding a network = one folder under platforms/ plus one line in
// registry.cpp. Adapters throw multivio::Error (http::classify for HTTP
// failures) and never pick exit codes or HTTP statuses.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/model/model.hpp"
#include "common/oauth/oauth1.hpp"
#include "common/oauth/oauth2.hpp"

namespace multivio::http {
class Client;
}
namespace multivio::config {
struct Config;
}

namespace multivio::platforms {

struct Capabilities {
  std::size_t max_length = 0;  // 0: no limit
  std::string length_unit = "characters";  // what max_length counts
  bool media = false;
  bool threads = false;
  bool idempotency_key = false;  // the network dedupes retries by key
  bool find_recent = false;      // can list recent posts to reconcile `unknown`
  /// With saved progress (PublishRequest::progress), a retry after an
  /// `unknown` outcome checks the upload session or container first and so
  /// cannot post twice: the daemon requeues such targets after a crash.
  bool resumes_from_progress = false;
  bool needs_credentials = true;
};

struct ValidationReport {
  std::size_t length = 0;
  std::size_t limit = 0;  // 0: none
  std::vector<std::string> problems;
  int parts = 1;  // thread size
  bool ok() const { return problems.empty(); }
};

/// Persists new credentials (refreshed or rotated tokens, a new session) as
/// the account's whole secrets object, sealed, in one write, before the
/// adapter uses them: a rotated refresh token is never lost to a crash.
using SaveSecrets = std::function<void(const nlohmann::json& secrets)>;

/// Everything one publish call needs. `secrets` is the opened secrets object.
struct PublishRequest {
  const model::Post& post;
  const model::Target& target;
  const model::Account& account;
  const nlohmann::json& secrets;
  std::string text;             // post text or the target's variant
  std::string idempotency_key;  // stable for the target across attempts
  /// Thread parts already live from earlier attempts are target.remote_ids:
  /// publish continues after the last of them (replying to it) instead of
  /// posting them again. After each new part lands the adapter calls
  /// record_parts with every id so far, which persists them at once.
  std::function<void(const std::vector<std::string>& remote_ids)> record_parts = {};
  SaveSecrets save_secrets = {};
  /// The previous attempt of this target ended `unknown` (sent, no answer):
  /// a network without idempotency keys may already have the post, so a
  /// "duplicate" refusal now means the first attempt landed.
  bool after_unknown = false;
  /// What earlier attempts of this target stored through save_progress (an
  /// upload session URI and the bytes the server confirmed, a container id),
  /// or an empty object. Lets a retry, even after a crash, resume an upload
  /// or check a container instead of starting over and posting twice.
  nlohmann::json progress = nlohmann::json::object();
  /// Persists `progress` for the target at once (replacing what was there).
  /// Call it before the step it protects: save the container id before
  /// publishing it. May be empty (dry runs, tests): check before calling.
  std::function<void(const nlohmann::json& progress)> save_progress = {};
};

/// The first of the target's, the post's and the account's options that sets
/// `key` (null values do not count), or nullptr.
const nlohmann::json* layered_option(const PublishRequest& request, std::string_view key);
std::string layered_string(const PublishRequest& request, std::string_view key, std::string fallback = {});
bool layered_bool(const PublishRequest& request, std::string_view key, bool fallback);

/// validate()'s view of the same layering: `options` (post and target), then
/// the account's.
const nlohmann::json* find_option(const nlohmann::json& options, const model::Account* account, std::string_view key);
std::string option_string(const nlohmann::json& options, const model::Account* account, std::string_view key,
                          std::string fallback = {});
bool option_bool(const nlohmann::json& options, const model::Account* account, std::string_view key, bool fallback);

/// The post's options overlaid by the target's: what validate() gets as
/// `options` (thread, thread_counter, cw, visibility, ...).
nlohmann::json publish_options(const model::Post& post, const model::Target& target);

/// The alt text given for the post's `index`-th media file (`post new --alt`,
/// stored as options.alt[index]); empty when none.
std::string alt_text(const model::Post& post, std::size_t index);

/// What `account check` reports after asking the network who the account is.
struct AccountCheck {
  std::string handle;                          // as the network reports it now
  std::optional<model::Timestamp> expires_at;  // access token expiry, when known
  std::vector<std::string> scopes;             // granted scopes, when known
  std::string detail;                          // one line, e.g. "instance https://..., 500 characters"
};

/// How a network links an account through the OAuth 2.0 authorization code
/// flow in a browser (the app layer runs the flow: PKCE, state, loopback or
/// pasted redirect).
struct OAuth2Link {
  oauth::OAuth2Config config;
  std::vector<std::string> scopes;
  oauth::Params extra;  // extra authorization URL parameters
  /// Added to the account's secrets (e.g. Mastodon's per-instance app
  /// credentials, which a later refresh or revoke needs).
  nlohmann::json secrets = nlohmann::json::object();
};

/// One of the accounts a login reaches (a Facebook Page), for the user to pick.
struct LinkChoice {
  std::string id;    // the value of Adapter::link_choice_option()
  std::string name;  // shown to the user, stored as the handle
};

/// Linking state that outlives one account, stored sealed (Mastodon app
/// registrations, one per instance and redirect URI).
struct LinkStash {
  std::function<std::optional<nlohmann::json>(const std::string& name)> get;
  std::function<void(const std::string& name, const nlohmann::json& value)> put;
};

struct PublishResult {
  std::vector<std::string> remote_ids;
  std::string remote_url;
  int http_status = 0;
};

/// A request exactly as it would be sent, for --dry-run. Secrets are shown
/// redacted ("***").
struct Preview {
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  nlohmann::json to_json() const;
};

struct RemotePost {
  std::string id;
  std::string text;
  std::string url;
  model::Timestamp created_at{};
};

/// How an adapter waits between polls (media processing, upload status);
/// tests pass one that records the waits instead of sleeping.
using Sleeper = std::function<void(std::chrono::milliseconds)>;
/// The Sleeper adapters use outside tests (std::this_thread::sleep_for).
void real_sleep(std::chrono::milliseconds duration);

/// Side effects adapters may use; owned by the caller, outlive the adapter.
struct Context {
  http::Client& http;
  const config::Config& config;
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::string_view name() const = 0;
  /// `account` may be null when validating against a bare network name.
  virtual Capabilities capabilities(const model::Account* account) const = 0;
  /// Validates account options given to `account add` and normalises them in
  /// place (defaults filled in). Throws Error(usage) naming the bad option.
  virtual void configure_account(nlohmann::json& options) const = 0;
  /// Moves options that work as credentials (a webhook URL with a token in
  /// its path) into the secrets, which are stored sealed, leaving a display
  /// form behind. Called after configure_account.
  virtual void move_secret_options(nlohmann::json& options, nlohmann::json& secrets) const;
  /// `options` are publish_options() of the post and target being checked
  /// (an empty object for a bare check): thread: auto turns an over-long
  /// text into a thread instead of a problem.
  virtual ValidationReport validate(std::string_view text, const std::vector<std::string>& media,
                                    const model::Account* account, const nlohmann::json& options) const = 0;
  ValidationReport validate(std::string_view text, const std::vector<std::string>& media,
                            const model::Account* account) const {
    return validate(text, media, account, nlohmann::json::object());
  }
  /// Performs the network call(s). Throws Error on failure.
  virtual PublishResult publish(const PublishRequest& request) = 0;
  /// What publish would send, without sending it.
  virtual Preview preview(const PublishRequest& request) const = 0;
  /// New secrets after refreshing tokens, or nullopt when nothing to refresh.
  virtual std::optional<nlohmann::json> refresh(const model::Account& account, const nlohmann::json& secrets);
  /// Whether refresh() can renew these secrets without a person (the token
  /// health pass and `account expiring` ask, without calling the network).
  /// Default: a non-empty "refresh_token" is stored.
  virtual bool can_refresh(const nlohmann::json& secrets) const;
  /// Recent posts of the account, newest first, for reconciling `unknown`.
  virtual std::vector<RemotePost> find_recent(const model::Account& account, const nlohmann::json& secrets,
                                              std::size_t limit);
  /// Asks the network who the account is ("who am I"), refreshing tokens
  /// (through `save`) when needed. Throws Error(auth) when the credentials are
  /// rejected. The default, for local targets, reports the stored handle.
  virtual AccountCheck check_account(const model::Account& account, const nlohmann::json& secrets,
                                     const SaveSecrets& save);

  // ---- Linking (`account add NETWORK --oauth`) ----
  /// How to link with OAuth 2.0, or nullopt when the network does not link
  /// that way. May call the network (Mastodon registers an app once per
  /// instance, kept in `stash`). Throws Error(usage) naming missing settings
  /// (a client id in config).
  virtual std::optional<OAuth2Link> oauth2_link(const nlohmann::json& options, const std::string& redirect_uri,
                                                LinkStash& stash);
  /// The secrets to store for tokens the flow granted; sets `handle` from the
  /// network's "who am I". Default: access/refresh token, expiry and scope.
  virtual nlohmann::json secrets_from_tokens(const oauth::TokenSet& tokens, const nlohmann::json& options,
                                             std::string& handle);
  /// OAuth 1.0a endpoints for the PIN flow, or nullopt (only X).
  virtual std::optional<oauth::Oauth1Server> oauth1_server(const nlohmann::json& options) const;
  /// Where one login reaches several accounts that multivio links one at a
  /// time (Facebook Pages): the account option naming the one to link
  /// ("page_id"), else empty. Without that option, link_oauth2 lets the user
  /// pick from link_choices() before secrets_from_tokens().
  virtual std::string link_choice_option() const { return {}; }
  virtual std::vector<LinkChoice> link_choices(const oauth::TokenSet&, const nlohmann::json&) { return {}; }
};

/// The default secrets_from_tokens(): {"access_token", "refresh_token" (when
/// granted), "expires_at" (epoch seconds, when known), "scope"}.
nlohmann::json token_secrets(const oauth::TokenSet& tokens);

/// The common part of Adapter::configure_account: null becomes {}, null
/// values are dropped, and anything but an object or a key outside `known`
/// is Error(usage) "<platform>: unknown option 'x' (known: a, b)".
void check_option_keys(std::string_view platform, nlohmann::json& options,
                       std::initializer_list<std::string_view> known);

/// Registry: names in a fixed order ("feed", "webhook", ...).
std::vector<std::string_view> platform_names();
bool is_platform(std::string_view name);
/// Throws Error(usage) "unknown platform 'twiter' (did you mean 'twitter'?)".
std::unique_ptr<Adapter> make_adapter(std::string_view name, const Context& context);

}  // namespace multivio::platforms
