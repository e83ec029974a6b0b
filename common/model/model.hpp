// SPDX-License-Identifier: MIT
// Plain data for accounts, posts, targets and attempts (DESIGN §3), shared by
// the store, the CLI, the daemon and the REST listener. No behaviour beyond
// naming states and mapping to JSON lives here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace multivio::model {

/// Every instant is UTC with millisecond resolution.
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

/// Milliseconds since the Unix epoch, the storage form of a Timestamp.
inline std::int64_t to_millis(Timestamp t) noexcept { return t.time_since_epoch().count(); }
inline Timestamp from_millis(std::int64_t ms) noexcept { return Timestamp{std::chrono::milliseconds{ms}}; }

/// "2026-12-01T08:00:00Z" (milliseconds shown only when non-zero).
std::string format_utc(Timestamp t);

enum class TargetStatus {
  draft, scheduled, claimed, publishing, published, retry_wait, failed, unknown, cancelled,
};
enum class PostStatus { draft, scheduled, publishing, published, partial, failed, cancelled, unknown };

std::string_view to_string(TargetStatus s) noexcept;
std::string_view to_string(PostStatus s) noexcept;
/// Throws Error(usage) naming the accepted values when `name` is not a status.
TargetStatus parse_target_status(std::string_view name);
PostStatus parse_post_status(std::string_view name);

struct Account {
  std::int64_t id = 0;
  std::string platform;   // registry name: "feed", "webhook", "x", ...
  std::string name;       // unique per platform; REF is "platform:name"
  std::string handle;     // display handle reported by the network, may be empty
  nlohmann::json options = nlohmann::json::object();  // non-secret settings (url, path, format, ...)
  std::string secrets_sealed;  // AES-256-GCM sealed JSON object of secrets; empty when none
  bool healthy = true;
  std::string health_note;
  Timestamp created_at{};

  std::string ref() const { return platform + ":" + name; }
};

struct Target {
  std::int64_t id = 0;
  std::int64_t post_id = 0;
  std::int64_t account_id = 0;
  std::string account_ref;  // "platform:name", filled by the store for display
  std::string platform;
  std::optional<std::string> variant;  // per-network text replacing the post text
  nlohmann::json options = nlohmann::json::object();
  TargetStatus status = TargetStatus::draft;
  int attempts = 0;
  int retry_from = 0;  // attempts made before the last manual retry
  std::optional<Timestamp> next_attempt_at;  // due time for scheduled and retry_wait
  std::string lease_owner;
  std::optional<Timestamp> lease_expires_at;
  std::vector<std::string> remote_ids;  // several for a thread
  std::string remote_url;
  std::string error;
  std::optional<Timestamp> published_at;
  /// Adapter state kept between attempts (PublishRequest::progress); not
  /// part of the target's JSON.
  nlohmann::json progress = nlohmann::json::object();
};

/// How many of a post's targets are in each group its status is derived
/// from (DESIGN §3). Kept apart from Post so a store can count them in SQL.
struct TargetTally {
  std::int64_t draft = 0;
  std::int64_t scheduled = 0;  // scheduled or retry_wait
  std::int64_t moving = 0;     // claimed or publishing
  std::int64_t published = 0;
  std::int64_t failed = 0;
  std::int64_t unknown = 0;
  std::int64_t cancelled = 0;
  std::int64_t total() const { return draft + scheduled + moving + published + failed + unknown + cancelled; }
};
/// The post status a tally gives; `has_schedule`: the post has a time.
PostStatus derive_post_status(const TargetTally& tally, bool has_schedule);

struct Post {
  std::int64_t id = 0;
  std::string text;
  std::vector<std::string> media;  // file paths, checked readable at creation
  std::vector<std::string> tags;
  std::optional<Timestamp> scheduled_at;  // absent for drafts
  std::string timezone;                   // zone the user wrote the time in, for display
  std::string key;                        // caller's idempotency key (e.g. a CI run id), may be empty
  /// Publishing options: {"adapt_at_publish": true, "tone": "..."}.
  nlohmann::json options = nlohmann::json::object();
  Timestamp created_at{};
  Timestamp updated_at{};
  std::vector<Target> targets;

  /// Derived from the targets (DESIGN §3).
  PostStatus status() const;
  /// The text the given target publishes: its variant or the post text.
  const std::string& text_for(const Target& t) const { return t.variant ? *t.variant : text; }
};

enum class AttemptOutcome { pending, ok, transient, permanent, unknown };
std::string_view to_string(AttemptOutcome o) noexcept;
AttemptOutcome parse_attempt_outcome(std::string_view name);

struct Attempt {
  std::int64_t id = 0;
  std::int64_t target_id = 0;
  int number = 0;                  // 1-based per target
  std::string idempotency_key;     // stable across retries of one target
  std::string owner;               // daemon/CLI instance that made the call
  Timestamp started_at{};
  std::optional<Timestamp> finished_at;
  AttemptOutcome outcome = AttemptOutcome::pending;
  int http_status = 0;
  std::string remote_id;
  std::string error;
};

nlohmann::json to_json(const Account& a);  // never includes secrets
nlohmann::json to_json(const Target& t);
nlohmann::json to_json(const Post& p);     // includes targets[] and derived status
nlohmann::json to_json(const Attempt& a);

struct JsonOptions {
  bool pretty = true;  // dump(2); false: dump(-1)
  int depth = 0;       // indentation level the object starts at (pretty only)
  /// Printed instead of Post::key when the post has one (the REST API
  /// strips a per-user prefix).
  std::optional<std::string> key;
};
/// Appends to_json(p) exactly as dump() prints it in that style, without
/// building it first: for long lists and busy API routes.
void append_json(std::string& out, const Post& p, const JsonOptions& options = {});
/// A JSON array of posts, byte for byte dump(2) of their to_json.
std::string posts_json(const std::vector<Post>& posts);

/// Reads format_utc's form back ("2026-12-01T08:00:00Z", optional ".mmm");
/// Error(permanent) for anything else.
Timestamp parse_utc(std::string_view text);

// The inverses of to_json, for documents this program wrote (the REST API's
// answers read by `multivio --remote`). Error(permanent) when a field is
// missing or of the wrong type. An account's sealed secrets never travel:
// has_secrets true gives a non-empty placeholder in secrets_sealed, so
// to_json(from_json(doc)) == doc.
Account account_from_json(const nlohmann::json& doc);
Target target_from_json(const nlohmann::json& doc);
Post post_from_json(const nlohmann::json& doc);

}  // namespace multivio::model
