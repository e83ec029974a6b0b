// SPDX-License-Identifier: MIT
// The typed configuration: defaults, then the YAML file, then environment
// variables, then command-line flags (applied by the caller). Loading never
// touches the network or the database.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace multivio::config {

using std::chrono::milliseconds;

struct DaemonConfig {
  int workers = 8;
  int max_attempts = 5;
  milliseconds retry_base{30'000};
  milliseconds retry_max{3'600'000};
  milliseconds lease{120'000};
  milliseconds poll_interval{2'000};  // bounded re-check for changes made by other processes
  milliseconds shutdown_grace{30'000};
  milliseconds http_timeout{30'000};
  milliseconds connect_timeout{10'000};
  std::string listen;  // HOST:PORT, empty: no REST listener
  // REST listener limits: request bodies above http_max_body bytes answer
  // 413; each API token may make http_rate_limit requests per second
  // (bursts of as many), beyond that 429; 0 turns the limit off.
  int http_max_body = 1 << 20;
  // POST /v1/media (multipart file uploads) may carry up to this many bytes.
  int http_max_upload = 64 << 20;
  int http_rate_limit = 20;
  // Whether API clients without the admin scope may add accounts whose URLs
  // (a Mastodon instance, a Bluesky PDS) are loopback or private addresses.
  // Off: such a URL would let a client probe the daemon's own network.
  bool http_allow_private_urls = false;
  // Browser origins ("https://app.example.com", exact, no path) whose pages
  // may call the REST listener; none by default, so no page can.
  std::vector<std::string> http_cors_origins;
  // PEM certificate (chain) and private key: with both, the listener speaks
  // HTTPS only. Empty: plain HTTP.
  std::string tls_cert;
  std::string tls_key;
  // Targets due more than late_grace ago when the daemon starts are overdue;
  // late_policy says what happens to them: publish, skip or ask (hold them
  // as drafts for a person).
  milliseconds late_grace{900'000};
  std::string late_policy = "publish";
  // Per-network circuit breaker: pause a network after this many transient
  // failures in a row, for breaker_base, doubling up to breaker_max.
  int breaker_threshold = 5;
  milliseconds breaker_base{30'000};
  milliseconds breaker_max{1'800'000};
  // Refreshable tokens are refreshed this long before they expire; zero:
  // once 80% of their lifetime has passed.
  milliseconds token_refresh_margin{0};
};

// Where Instagram and Threads fetch media from (they take URLs, not uploads).
struct MediaStageConfig {
  std::string stage;  // "", "s3" or "public_url"
  // public_url: the URL under which <data_dir>/media is already served.
  std::string public_url;
  // s3: any S3-compatible store (AWS S3, Cloudflare R2, MinIO).
  std::string s3_endpoint;  // https://s3.eu-west-1.amazonaws.com, https://<acct>.r2.cloudflarestorage.com
  std::string s3_bucket;
  std::string s3_region = "us-east-1";  // R2: "auto"
  std::string s3_access_key_env = "AWS_ACCESS_KEY_ID";
  std::string s3_secret_key_env = "AWS_SECRET_ACCESS_KEY";
  std::string s3_prefix = "multivio/";  // object key prefix
  bool s3_path_style = true;            // https://endpoint/bucket/key rather than https://bucket.endpoint/key
  milliseconds url_ttl{3'600'000};      // presigned GET lifetime
};

// Optional OpenID Connect bearer JWTs for the REST listener (e.g. Firebase
// ID tokens), next to multivio's own API tokens.
struct OidcConfig {
  std::string issuer;     // exact `iss`; empty: OIDC off
  std::string audience;   // required `aud`
  std::string jwks_file;  // a JWKS file, or
  std::string jwks_url;   // a JWKS URL, fetched and cached per its Cache-Control
  bool auto_create = false;    // create a user for an unknown `sub` on first use
  milliseconds leeway{60'000};  // clock skew allowed for exp/nbf/iat
};

struct FeedConfig {
  int max_entries = 100;  // Atom entries kept, newest first
};

struct LogConfig {
  std::string level = "info";   // trace, debug, info, warn, error
  std::string format = "auto";  // auto (text on a TTY, JSON otherwise), text, json
};

struct AiConfig {
  std::string base_url = "https://api.x.ai/v1";
  std::string model = "grok-4";
  std::string api_key_env = "XAI_API_KEY";
  milliseconds timeout{60'000};
  std::optional<double> temperature;  // 0..2; unset: the provider's default
  std::optional<int> max_tokens;      // >= 1; unset: the provider's default
  int retries = 3;   // extra tries after a 429 or 5xx (0..10)
  int rewrites = 2;  // times a draft that breaks a network's rules goes back to the model (0..10)
};

/// notify.email: where failure notifications are mailed. Secrets (API key,
/// SMTP password) are never in the file, only the names of the environment
/// variables that hold them.
struct NotifyEmailConfig {
  std::string provider = "smtp";  // smtp, resend, sendgrid, mailgun
  std::string from;               // "a@b" or "Name <a@b>"
  std::vector<std::string> to;    // a YAML list or one comma-separated string
  std::string subject_prefix = "[multivio]";
  std::string smtp_url;           // smtp://host:587 (STARTTLS) or smtps://host:465
  bool starttls = true;           // smtp:// only; false sends in clear text (trusted local relays)
  std::string username_env;       // SMTP AUTH; both or neither
  std::string password_env;
  std::string api_key_env;        // resend/sendgrid/mailgun; empty: RESEND_API_KEY, SENDGRID_API_KEY, MAILGUN_API_KEY
  std::string api_base;           // empty: the provider's public API (https://api.resend.com, ...)
  std::string domain;             // mailgun sending domain

  /// Email notifications are on once there is a recipient.
  bool enabled() const noexcept { return !to.empty(); }
};

struct NotifyConfig {
  milliseconds batch_window{30'000};  // events this close together go out as one message per channel
  milliseconds timeout{30'000};       // per delivery (HTTP request or SMTP session)
  std::string webhook_url;            // empty: no webhook notifications
  std::string webhook_format = "json";  // json, slack, discord
  NotifyEmailConfig email;
};

struct Config {
  std::string file;       // the file loaded; empty when none existed
  std::string database;   // store URL, e.g. sqlite:///home/u/.local/share/multivio/multivio.db
  std::string timezone;   // IANA name; empty: TZ env, then UTC
  std::string key_file;
  std::string data_dir;
  DaemonConfig daemon;
  FeedConfig feed;
  LogConfig log;
  AiConfig ai;
  NotifyConfig notify;
  MediaStageConfig media;
  OidcConfig oidc;  // `auth.oidc.*`
  /// platforms.<name>.<key> -> value (api_base, client_id, ...), kept as
  /// strings; adapters read what they need.
  std::map<std::string, std::map<std::string, std::string>> platforms;
  /// "key.path" -> "default" | "<file>:<line>" | "env MULTIVIO_DB" | "flag"
  std::map<std::string, std::string> origins;

  /// Effective config as JSON (for `config show` / `--dump-config`).
  nlohmann::json to_json() const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
/// Reads the process environment.
std::optional<std::string> process_env(const std::string& name);

struct Paths {
  std::string config_file;  // $XDG_CONFIG_HOME/multivio/config.yaml
  std::string config_dir;
  std::string data_dir;     // $XDG_DATA_HOME/multivio
  std::string key_file;     // <config_dir>/key
  std::string database;     // sqlite://<data_dir>/multivio.db
};
Paths default_paths(const EnvLookup& env = process_env);

/// Loads the config. `explicit_path` (from --config) wins over MULTIVIO_CONFIG,
/// which wins over the XDG default. A missing default file is fine; a missing
/// explicit file is Error(usage). Malformed YAML, an unknown key (with a "did
/// you mean" hint) or a wrong type is Error(usage) "<file>:<line>: <key>: ...".
/// Env overrides: MULTIVIO_DB, MULTIVIO_KEY_FILE, MULTIVIO_LOG_LEVEL.
Config load(const std::optional<std::string>& explicit_path, const EnvLookup& env = process_env);

/// Parses "30s", "90m", "2h", "1d", "250ms" or a bare number of seconds.
/// Throws Error(usage).
milliseconds parse_duration(const std::string& text);

/// "~/x" -> "$HOME/x".
std::string expand_home(const std::string& path, const EnvLookup& env = process_env);

}  // namespace multivio::config
