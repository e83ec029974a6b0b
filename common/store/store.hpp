// SPDX-License-Identifier: MIT
// The persistence interface. Callers (CLI, daemon, REST) only see this; the
// SQLite backend lives in sqlite_store.cpp and a PostgreSQL backend can be
// added behind the same calls. Every method that changes more than one row
// does so in one transaction. Methods throw multivio::Error: not_found for a
// missing id, usage/validation for a constraint the caller broke, permanent
// for an engine failure. Thread affinity: one Store per thread; open another
// Store on the same URL for another thread (the daemon does).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/model/model.hpp"

namespace multivio::store {

using model::Timestamp;

struct NewTarget {
  std::int64_t account_id = 0;
  std::optional<std::string> variant;
  nlohmann::json options = nlohmann::json::object();
};

struct NewPost {
  std::string text;
  std::vector<std::string> media;
  std::vector<std::string> tags;
  std::optional<Timestamp> scheduled_at;  // none: draft
  std::string timezone;
  std::string key;  // idempotency key; empty for none
  nlohmann::json options = nlohmann::json::object();
  std::vector<NewTarget> targets;
};

/// One call to the AI provider, successful or not.
struct AiUsageRecord {
  Timestamp at{};
  std::string provider;  // base URL
  std::string model;
  std::string purpose;   // generate, transform, hashtags, adapt
  bool ok = true;
  long long prompt_tokens = 0;
  long long completion_tokens = 0;
  std::chrono::milliseconds latency{0};
};

/// Usage summed per provider and model.
struct AiUsageTotal {
  std::string provider;
  std::string model;
  long long calls = 0;
  long long failed = 0;
  long long prompt_tokens = 0;
  long long completion_tokens = 0;
  std::chrono::milliseconds latency{0};
};

struct PostFilter {
  std::optional<model::PostStatus> status;      // derived post status
  std::optional<model::TargetStatus> target_status;  // any target in this state
  std::optional<std::int64_t> account_id;
  std::optional<Timestamp> since;   // scheduled_at (or created_at for drafts) >= since
  std::optional<Timestamp> until;   // ... < until
  /// Posts with a target overdue before this instant (scheduled/retry_wait
  /// and due earlier, or held as a draft by late_policy: ask).
  std::optional<Timestamp> overdue_before;
  int limit = 100;
  std::int64_t before_id = 0;  // cursor: newest first, only ids below this (0: from the newest)
};

/// A target the daemon owns under a lease, with what it needs to publish.
struct Claim {
  model::Target target;
  model::Post post;  // the post without its targets list
  model::Account account;
};

/// How an attempt ended, as decided by the state machine in schedule/.
struct AttemptResult {
  model::AttemptOutcome outcome = model::AttemptOutcome::ok;
  model::TargetStatus next_status = model::TargetStatus::published;
  std::optional<Timestamp> next_attempt_at;  // for retry_wait
  int http_status = 0;
  std::vector<std::string> remote_ids;
  std::string remote_url;
  std::string error;
};

/// One table's rows in an engine-neutral form, for `multivio db copy`: NULL,
/// an integer, or text (bytes as stored; sealed secrets are never opened).
struct TableDump {
  using Value = std::variant<std::monostate, std::int64_t, std::string>;
  std::string table;
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
  std::int64_t counted = 0;  // COUNT(*) in the same snapshot, to check the read
};

/// Rows per table (every table of store::tables() that exists, in that order)
/// and targets per status; what `multivio db status` shows.
struct RowCounts {
  std::vector<std::pair<std::string, std::int64_t>> tables;
  std::map<std::string, std::int64_t> targets_by_status;
  std::map<std::string, std::int64_t> posts_by_status;  // derived status, as `post list` shows it
  std::int64_t rows(const std::string& table) const;
};

/// The user every account and post made by the local CLI belongs to (the
/// migration creates it as "local").
constexpr std::int64_t kLocalUser = 1;
/// set_user() value for the daemon's publishing stores: no user filter.
constexpr std::int64_t kAnyUser = 0;

struct User {
  std::int64_t id = 0;
  std::string name;
  Timestamp created_at{};
};

/// A REST API token as stored: only the SHA-256 hex of the clear token.
struct ApiToken {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string name;
  std::string hash;
  std::vector<std::string> scopes;
  Timestamp created_at{};
  std::optional<Timestamp> expires_at;
  std::optional<Timestamp> revoked_at;
  std::optional<Timestamp> last_used_at;
};

/// One target status change (the `events` table). account_ref, remote_url
/// and error are the target's current values when read.
struct Event {
  std::int64_t id = 0;
  std::int64_t post_id = 0;
  std::int64_t target_id = 0;
  std::string status;
  Timestamp at{};
  std::string account_ref;
  std::string remote_url;
  std::string error;
};

/// One file of the media library (common/media/). Rows are per user; the
/// file at path is shared by every row with the same sha256.
struct MediaItem {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string sha256;  // lowercase hex of the content
  std::string path;    // absolute path of the stored copy
  std::string mime;
  std::string kind;    // png, jpeg, gif, webp, mp4, mov, unknown
  std::int64_t bytes = 0;
  std::optional<int> width;
  std::optional<int> height;
  std::optional<std::int64_t> duration_ms;
  std::string alt;
  Timestamp created_at{};
};

class Store {
 public:
  virtual ~Store() = default;

  /// Runs fn in one transaction; nested calls join the outer one. Rolls back
  /// and rethrows when fn throws.
  virtual void transaction(const std::function<void()>& fn) = 0;
  /// Schema version after migrations (migrations run on open); 0 for a
  /// database that was never migrated.
  virtual int schema_version() = 0;
  /// Applies the pending migrations (open() does unless told not to) and
  /// returns the version after. Joins an open transaction.
  virtual int migrate() = 0;

  // Whole-database operations of `multivio db` (status, copy).
  /// Names the database itself rather than its URL, so two URLs that reach
  /// one database (localhost vs 127.0.0.1, a symlinked file) compare equal.
  virtual std::string identity() = 0;
  virtual RowCounts row_counts() = 0;
  /// Every table of store::tables(), read in one consistent snapshot.
  virtual std::vector<TableDump> dump_tables() = 0;
  /// Inserts the rows with their ids in one transaction (joining an open
  /// one); with clear_first, deletes every row of tables() before. Advances
  /// id sequences past the inserted ids. Throws Error(permanent) when a row
  /// is refused (a constraint), leaving the database as it was.
  virtual void load_tables(const std::vector<TableDump>& tables, bool clear_first) = 0;

  // Users and API tokens (not scoped by set_user).
  /// Accounts and posts are read, listed and changed as this user: another
  /// user's id is not_found, exactly like a missing one. kLocalUser until
  /// set; kAnyUser lifts the filter (the daemon publishes for every user).
  virtual void set_user(std::int64_t user_id) = 0;
  virtual std::int64_t user() const = 0;
  /// Throws usage when the name is taken.
  virtual User add_user(const std::string& name, Timestamp now) = 0;
  virtual std::optional<User> find_user(std::int64_t id) = 0;
  virtual std::optional<User> find_user(const std::string& name) = 0;
  virtual std::vector<User> list_users() = 0;
  /// Deletes the user and its tokens. Throws usage for kLocalUser and while
  /// the user still owns accounts or posts; not_found for a missing id.
  virtual void remove_user(std::int64_t id) = 0;
  /// Inserts token (its id is ignored) and returns it with its id; not_found
  /// when the user does not exist.
  virtual ApiToken add_token(const ApiToken& token) = 0;
  virtual std::optional<ApiToken> find_token_by_hash(const std::string& hash) = 0;
  /// Every token, or one user's, oldest first.
  virtual std::vector<ApiToken> list_tokens(std::optional<std::int64_t> user_id) = 0;
  /// Sets revoked_at (once); not_found for a missing id.
  virtual void revoke_token(std::int64_t id, Timestamp now) = 0;
  virtual void touch_token(std::int64_t id, Timestamp now) = 0;

  // Accounts. add_account throws usage when platform:name is taken.
  virtual model::Account add_account(const model::Account& account) = 0;
  virtual std::optional<model::Account> find_account(std::int64_t id) = 0;
  virtual std::optional<model::Account> find_account(const std::string& platform, const std::string& name) = 0;
  virtual std::vector<model::Account> list_accounts() = 0;
  virtual void update_account_secrets(std::int64_t id, const std::string& sealed) = 0;
  virtual void set_account_health(std::int64_t id, bool healthy, const std::string& note) = 0;
  /// Throws usage when the account still has targets that are not finished.
  /// Finished history stays readable: the row is kept, renamed and its
  /// secrets wiped.
  virtual void remove_account(std::int64_t id) = 0;

  // Posts. create_post returns the existing post (created=false) when key is
  // non-empty and already used.
  struct Created { model::Post post; bool created = true; };
  virtual Created create_post(const NewPost& post, Timestamp now) = 0;
  virtual std::optional<model::Post> find_post(std::int64_t id) = 0;
  virtual std::optional<model::Post> find_post_by_key(const std::string& key) = 0;
  virtual std::vector<model::Post> list_posts(const PostFilter& filter) = 0;
  /// Replaces text/tags/media/variants of a post. Throws usage while a target
  /// is claimed or publishing, and once any target is published.
  virtual void update_post(const model::Post& post, Timestamp now) = 0;
  /// Draft/scheduled/retry_wait targets become scheduled at `when`.
  virtual void schedule_post(std::int64_t id, Timestamp when, const std::string& timezone, Timestamp now) = 0;
  /// Unfinished targets become cancelled; published ones stay.
  virtual void cancel_post(std::int64_t id, Timestamp now) = 0;
  /// Throws usage while a target is claimed or publishing.
  virtual void delete_post(std::int64_t id) = 0;
  /// failed/unknown/cancelled targets become scheduled again, at the post's
  /// scheduled time if that is still ahead, else now, with a fresh attempt
  /// budget (retry_from); returns how many.
  virtual int retry_post(std::int64_t id, Timestamp now) = 0;

  // Publishing (daemon and `post publish`).
  /// Earliest next_attempt_at of a scheduled or retry_wait target.
  virtual std::optional<Timestamp> next_due() = 0;
  /// Atomically leases up to `limit` due targets (next_attempt_at <= now) to owner.
  virtual std::vector<Claim> claim_due(Timestamp now, const std::string& owner,
                                       std::chrono::milliseconds lease, int limit) = 0;
  /// Leases the given post's unfinished targets now, regardless of due time.
  virtual std::vector<Claim> claim_post(std::int64_t post_id, Timestamp now, const std::string& owner,
                                        std::chrono::milliseconds lease) = 0;
  /// Commits the attempt row and moves the target to publishing, before any
  /// network call. Throws usage when the lease is no longer owner's.
  virtual model::Attempt begin_attempt(std::int64_t target_id, const std::string& owner, Timestamp now) = 0;
  /// Completes the attempt and applies the transition, in one transaction.
  virtual void finish_attempt(std::int64_t attempt_id, const AttemptResult& result, Timestamp now) = 0;
  /// Gives back a claimed target that was not attempted (shutdown), or, with
  /// not_before, defers it to then without using an attempt (a network
  /// paused by its circuit breaker).
  virtual void release_claim(std::int64_t target_id, const std::string& owner,
                             std::optional<Timestamp> not_before = std::nullopt) = 0;
  /// Expired leases: claimed -> scheduled; publishing -> unknown (the call may
  /// have reached the network). Returns the targets that became unknown.
  virtual std::vector<model::Target> recover_expired(Timestamp now) = 0;
  virtual std::vector<model::Attempt> attempts(std::int64_t target_id) = 0;
  /// Extends the leases owner holds on these targets (claimed or publishing)
  /// to `until`, so a long upload is not taken over. Returns how many.
  virtual int renew_leases(const std::string& owner, const std::vector<std::int64_t>& target_ids, Timestamp until) = 0;
  /// Targets in scheduled/retry_wait due before `before` (the overdue sweep).
  virtual std::vector<model::Target> overdue(Timestamp before) = 0;
  /// An overdue target the late policy skips: cancelled, with the reason.
  virtual void skip_target(std::int64_t target_id, const std::string& why, Timestamp now) = 0;
  /// An overdue target held for a person (late_policy: ask): back to draft
  /// with the reason; `post publish` or `post schedule` releases it.
  virtual void hold_target(std::int64_t target_id, const std::string& why, Timestamp now) = 0;
  /// An unknown target on a network that dedupes by key: scheduled again at
  /// `when` with the same idempotency key, the note kept as its error.
  virtual void requeue_unknown(std::int64_t target_id, Timestamp when, const std::string& note) = 0;
  /// An unknown target found on the network (reconciled through its recent
  /// posts): published with those ids. False when it is no longer unknown.
  virtual bool resolve_unknown(std::int64_t target_id, const std::vector<std::string>& remote_ids,
                               const std::string& remote_url, Timestamp now) = 0;

  /// A descriptor that becomes readable when another process changes the
  /// schedule (PostgreSQL LISTEN/NOTIFY), or -1 when the backend cannot
  /// tell (SQLite: the daemon watches the database file instead).
  virtual int change_fd() { return -1; }
  /// Consumes the notifications that made change_fd() readable.
  virtual void drain_changes() {}

  /// Records the text a target will publish (AI adaptation at publish time)
  /// while the caller holds its lease.
  virtual void set_target_variant(std::int64_t target_id, const std::string& owner, const std::string& text) = 0;
  /// Records the thread parts already live (every remote id so far) while
  /// the caller holds the lease, so a failing later part or a crash never
  /// makes the next attempt post them again.
  virtual void record_remote_ids(std::int64_t target_id, const std::string& owner,
                                 const std::vector<std::string>& remote_ids) = 0;
  /// Replaces the target's adapter progress (an upload session, a container
  /// id) while the caller holds the lease, so the next attempt resumes.
  virtual void save_target_progress(std::int64_t target_id, const std::string& owner,
                                    const nlohmann::json& progress) = 0;

  /// Target status changes of the current user after event `after_id`,
  /// oldest first, at most `limit` (a trigger writes them; the newest
  /// 100,000 are kept).
  virtual std::vector<Event> events_after(std::int64_t after_id, std::size_t limit) = 0;
  /// The newest event id of any user (0 when none): where a new stream starts.
  virtual std::int64_t last_event_id() = 0;

  // The media library, scoped by set_user() like accounts and posts.
  /// Inserts for the current user; usage when the user already has that sha256.
  virtual MediaItem add_media(const MediaItem& item) = 0;
  virtual std::optional<MediaItem> find_media(std::int64_t id) = 0;
  virtual std::optional<MediaItem> find_media_by_sha(const std::string& sha256) = 0;
  /// Oldest first.
  virtual std::vector<MediaItem> list_media() = 0;
  /// not_found for a missing (or another user's) id.
  virtual void set_media_alt(std::int64_t id, const std::string& alt) = 0;
  /// Deletes the row (not_found when missing) and returns how many rows of any
  /// user still hold the same sha256, so the caller knows whether the shared
  /// file may go too.
  virtual std::int64_t remove_media(std::int64_t id) = 0;

  // AI usage and stored secrets (e.g. the AI key from `multivio ai login`).
  virtual void record_ai_usage(const AiUsageRecord& record) = 0;
  virtual std::vector<AiUsageTotal> ai_usage(std::optional<Timestamp> since) = 0;
  /// Stores a sealed value under name, replacing any previous one.
  virtual void put_secret(const std::string& name, const std::string& sealed, Timestamp now) = 0;
  virtual std::optional<std::string> get_secret(const std::string& name) = 0;
};

enum class Migrate {
  on_open,  // apply pending migrations while opening (every command but `db`)
  later,    // leave the schema as it is; the caller calls migrate() (`db migrate`, `db copy --to`)
  no,       // leave the schema as it is, and a missing SQLite file is Error(not_found) (`db status`)
};

/// Opens the backend named by url ("sqlite:///path", "sqlite:relative", or a
/// bare path), creating a missing SQLite file (except with Migrate::no) and
/// running migrations (only with Migrate::on_open).
std::unique_ptr<Store> open(const std::string& url, Migrate migrate = Migrate::on_open);

/// "postgresql" or "sqlite": the backend open() picks for url.
std::string backend_name(const std::string& url);

/// The database file behind a SQLite URL (for change watching), or empty for
/// a server database or an in-memory one.
std::string local_file(const std::string& url);

/// The URL with any password (user:PASS@ or password=PASS) replaced by ***,
/// safe for messages and logs.
std::string redact_url(const std::string& url);

}  // namespace multivio::store
