// SPDX-License-Identifier: MIT
// SQLite backend of store::Store (SQLiteCpp). WAL lets the CLI read while the
// daemon writes; every write transaction starts with BEGIN IMMEDIATE so two
// processes never deadlock upgrading a read lock (SQLite would answer BUSY
// at once instead of waiting for the busy timeout).
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/spdlog.h>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/store/backends.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"

namespace multivio::store {
namespace {

using model::Account;
using model::Attempt;
using model::Post;
using model::Target;
using model::TargetStatus;

constexpr int kBusyTimeoutMs = 10'000;
constexpr std::size_t kMaxPrepared = 64;  // statements kept prepared per connection
constexpr const char* kUnfinished = "('draft','scheduled','claimed','publishing','retry_wait')";

nlohmann::json parse_json_column(const SQLite::Column& c) {
  const char* text = c.getText();
  // Most rows hold an empty list or object; skipping the parser for those is
  // what keeps `post list` over thousands of posts fast.
  if (text[0] == '[' && text[1] == ']' && text[2] == '\0') return nlohmann::json::array();
  if (text[0] == '{' && text[1] == '}' && text[2] == '\0') return nlohmann::json::object();
  return nlohmann::json::parse(text);
}

std::vector<std::string> string_list(const SQLite::Column& c) {
  return parse_json_column(c).get<std::vector<std::string>>();
}

std::optional<Timestamp> optional_time(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return model::from_millis(c.getInt64());
}

void bind_optional_time(SQLite::Statement& q, int index, const std::optional<Timestamp>& t) {
  if (t) {
    q.bind(index, model::to_millis(*t));
  } else {
    q.bind(index);
  }
}

std::string dump(const nlohmann::json& j) { return j.dump(); }

// Column lists shared by every query that builds these structs, so the
// readers below index them by position.
constexpr const char* kAccountColumns =
    "a.id, a.platform, a.name, a.handle, a.options, a.secrets, a.healthy, a.health_note, a.created_at";
constexpr const char* kPostColumns =
    "p.id, p.text, p.media, p.tags, p.scheduled_at, p.timezone, p.key, p.created_at, p.updated_at, p.options";
constexpr int kPostColumnCount = 10;
constexpr const char* kTargetColumns =
    "t.id, t.post_id, t.account_id, a.platform || ':' || a.name, a.platform, t.variant, t.options, t.status, "
    "t.attempts, t.next_attempt_at, t.lease_owner, t.lease_expires_at, t.remote_ids, t.remote_url, t.error, "
    "t.published_at, t.retry_from, t.progress";
constexpr int kTargetColumnCount = 18;
constexpr const char* kTokenColumns =
    "id, user_id, name, hash, scopes, created_at, expires_at, revoked_at, last_used_at";
constexpr const char* kMediaColumns =
    "id, user_id, sha256, path, mime, kind, bytes, width, height, duration_ms, alt, created_at";
constexpr const char* kAttemptColumns =
    "id, target_id, number, idempotency_key, owner, started_at, finished_at, outcome, http_status, remote_id, error";

Account read_account(SQLite::Statement& q, int base = 0) {
  Account a;
  a.id = q.getColumn(base + 0).getInt64();
  a.platform = q.getColumn(base + 1).getString();
  a.name = q.getColumn(base + 2).getString();
  a.handle = q.getColumn(base + 3).getString();
  a.options = parse_json_column(q.getColumn(base + 4));
  a.secrets_sealed = q.getColumn(base + 5).getString();
  a.healthy = q.getColumn(base + 6).getInt() != 0;
  a.health_note = q.getColumn(base + 7).getString();
  a.created_at = model::from_millis(q.getColumn(base + 8).getInt64());
  return a;
}

Post read_post(SQLite::Statement& q, int base = 0) {
  Post p;
  p.id = q.getColumn(base + 0).getInt64();
  p.text = q.getColumn(base + 1).getString();
  p.media = string_list(q.getColumn(base + 2));
  p.tags = string_list(q.getColumn(base + 3));
  p.scheduled_at = optional_time(q.getColumn(base + 4));
  p.timezone = q.getColumn(base + 5).getString();
  p.key = q.getColumn(base + 6).isNull() ? std::string() : q.getColumn(base + 6).getString();
  p.created_at = model::from_millis(q.getColumn(base + 7).getInt64());
  p.updated_at = model::from_millis(q.getColumn(base + 8).getInt64());
  p.options = parse_json_column(q.getColumn(base + 9));
  return p;
}

Target read_target(SQLite::Statement& q, int base = 0) {
  Target t;
  t.id = q.getColumn(base + 0).getInt64();
  t.post_id = q.getColumn(base + 1).getInt64();
  t.account_id = q.getColumn(base + 2).getInt64();
  t.account_ref = q.getColumn(base + 3).getString();
  t.platform = q.getColumn(base + 4).getString();
  if (!q.getColumn(base + 5).isNull()) t.variant = q.getColumn(base + 5).getString();
  t.options = parse_json_column(q.getColumn(base + 6));
  t.status = model::parse_target_status(q.getColumn(base + 7).getText());
  t.attempts = q.getColumn(base + 8).getInt();
  t.next_attempt_at = optional_time(q.getColumn(base + 9));
  t.lease_owner = q.getColumn(base + 10).getString();
  t.lease_expires_at = optional_time(q.getColumn(base + 11));
  t.remote_ids = string_list(q.getColumn(base + 12));
  t.remote_url = q.getColumn(base + 13).getString();
  t.error = q.getColumn(base + 14).getString();
  t.published_at = optional_time(q.getColumn(base + 15));
  t.retry_from = q.getColumn(base + 16).getInt();
  t.progress = parse_json_column(q.getColumn(base + 17));
  return t;
}

Attempt read_attempt(SQLite::Statement& q) {
  Attempt a;
  a.id = q.getColumn(0).getInt64();
  a.target_id = q.getColumn(1).getInt64();
  a.number = q.getColumn(2).getInt();
  a.idempotency_key = q.getColumn(3).getString();
  a.owner = q.getColumn(4).getString();
  a.started_at = model::from_millis(q.getColumn(5).getInt64());
  a.finished_at = optional_time(q.getColumn(6));
  a.outcome = model::parse_attempt_outcome(q.getColumn(7).getText());
  a.http_status = q.getColumn(8).getInt();
  a.remote_id = q.getColumn(9).getString();
  a.error = q.getColumn(10).getString();
  return a;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, Migrate migrate_on_open)
      : db_(open_db(path, migrate_on_open != Migrate::no)), write_mutex_(writer_mutex_for(path)) {
    db_.exec("PRAGMA foreign_keys = ON");
    db_.exec("PRAGMA synchronous = NORMAL");
    if (migrate_on_open == Migrate::on_open) migrate();
  }

  void transaction(const std::function<void()>& fn) override {
    if (depth_ > 0) {
      ++depth_;
      try {
        fn();
      } catch (...) {
        --depth_;
        throw;
      }
      --depth_;
      return;
    }
    // Connections of one process queue on a mutex instead of SQLite's busy
    // handler, which sleeps 1, 2, 5, 10 ms between tries however soon the
    // lock frees (measured: a quarter of the daemon's time per post).
    std::lock_guard process_writer(*write_mutex_);
    db_.exec("BEGIN IMMEDIATE");
    depth_ = 1;
    try {
      fn();
      db_.exec("COMMIT");
      depth_ = 0;
    } catch (...) {
      depth_ = 0;
      db_.tryExec("ROLLBACK");
      throw;
    }
  }

  int schema_version() override {
    return guarded([&] {
      if (!table_exists("schema_migrations")) return 0;
      return db_.execAndGet("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").getInt();
    });
  }

  int migrate() override {
    guarded([&] {
      db_.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
          "applied_at INTEGER NOT NULL)");
      const int current = schema_version();
      for (const auto& m : migrations()) {
        if (m.version <= current) continue;
        // The pragma is a no-op inside a transaction, so it brackets it.
        if (m.sqlite_rebuilds_tables) db_.exec("PRAGMA foreign_keys = OFF");
        const struct ForeignKeysBackOn {
          SQLite::Database& db;
          bool on;
          ~ForeignKeysBackOn() {
            try {
              if (on) db.exec("PRAGMA foreign_keys = ON");
            } catch (const std::exception& e) {
              spdlog::error("store: cannot turn foreign keys back on: {}", e.what());
            }
          }
        } restore{db_, m.sqlite_rebuilds_tables};
        transaction([&] {
          // Another process may have migrated between our check and the lock.
          if (schema_version() >= m.version) return;
          db_.exec(m.sqlite);
          if (m.sqlite_rebuilds_tables) {
            SQLite::Statement check(db_, "PRAGMA foreign_key_check");
            if (check.executeStep()) {
              throw_permanent("migration " + std::to_string(m.version) + " would break the reference from " +
                              check.getColumn(0).getString() + " to " + check.getColumn(2).getString());
            }
          }
          SQLite::Statement q(db_, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
          q.bind(1, m.version);
          q.bind(2, m.name);
          q.bind(3, static_cast<std::int64_t>(std::time(nullptr)) * 1000);
          q.exec();
        });
      }
    });
    return schema_version();
  }

  std::string identity() override {
    // The main file's device and inode: one file under two paths (a symlink,
    // a relative and an absolute URL) is one database.
    const std::string file = db_.getFilename();
    struct stat st {};
    if (file.empty() || file == ":memory:" || ::stat(file.c_str(), &st) != 0) {
      return "sqlite:memory:" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    }
    return "sqlite:" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }

  RowCounts row_counts() override {
    return guarded([&] {
      RowCounts out;
      for (const char* table : tables()) {
        if (!table_exists(table)) continue;
        out.tables.emplace_back(table, db_.execAndGet(std::string("SELECT COUNT(*) FROM ") + table).getInt64());
      }
      if (table_exists("targets")) {
        SQLite::Statement q(db_, "SELECT status, COUNT(*) FROM targets GROUP BY status");
        while (q.executeStep()) out.targets_by_status[q.getColumn(0).getString()] = q.getColumn(1).getInt64();
        SQLite::Statement posts(db_, kPostTallySql);
        while (posts.executeStep()) {
          std::int64_t row[8];
          for (int i = 0; i < 8; ++i) row[i] = posts.getColumn(i).getInt64();
          count_post(out, row);
        }
      }
      return out;
    });
  }

  std::vector<TableDump> dump_tables() override {
    return guarded([&] {
      std::vector<TableDump> out;
      // A read transaction: in WAL mode every SELECT below sees the same
      // snapshot while a daemon goes on writing, and no writer is blocked.
      const bool own = depth_ == 0;
      if (own) db_.exec("BEGIN DEFERRED");
      try {
        for (const char* table : tables()) out.push_back(dump_table(table));
        if (own) db_.exec("COMMIT");
      } catch (...) {
        if (own) db_.tryExec("ROLLBACK");
        throw;
      }
      return out;
    });
  }

  void load_tables(const std::vector<TableDump>& dumps, bool clear_first) override {
    guarded([&] {
      transaction([&] {
        if (clear_first) {
          const auto names = tables();
          for (auto it = names.rbegin(); it != names.rend(); ++it) db_.exec(std::string("DELETE FROM ") + *it);
        }
        for (const auto& dump : dumps) {
          check_dump(dump);
          SQLite::Statement q(db_, insert_sql(dump, 1, [](std::size_t) { return std::string("?"); }));
          for (const auto& row : dump.rows) {
            q.reset();
            for (std::size_t i = 0; i < row.size(); ++i) {
              const int index = static_cast<int>(i) + 1;
              std::visit(
                  [&](const auto& v) {
                    using V = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<V, std::monostate>) {
                      q.bind(index);
                    } else {
                      q.bind(index, v);
                    }
                  },
                  row[i]);
            }
            q.exec();
          }
        }
        // INTEGER PRIMARY KEY ids continue after the largest one by
        // themselves: no sequence to advance.
      });
    });
  }

  // ---- users and API tokens ---------------------------------------------------

  void set_user(std::int64_t user_id) override { user_ = user_id; }
  std::int64_t user() const override { return user_; }

  User add_user(const std::string& name, Timestamp now) override {
    User out{0, name, now};
    guarded([&] {
      transaction([&] {
        if (find_user(name)) throw_usage("user " + name + " already exists");
        SQLite::Statement q(db_, "INSERT INTO users (name, created_at) VALUES (?, ?)");
        q.bind(1, name);
        q.bind(2, model::to_millis(now));
        q.exec();
        out.id = db_.getLastInsertRowid();
      });
    });
    return out;
  }

  std::optional<User> find_user(std::int64_t id) override {
    return guarded([&] {
      SQLite::Statement q(db_, "SELECT id, name, created_at FROM users WHERE id = ?");
      q.bind(1, id);
      return q.executeStep() ? std::optional<User>(read_user(q)) : std::nullopt;
    });
  }

  std::optional<User> find_user(const std::string& name) override {
    return guarded([&] {
      SQLite::Statement q(db_, "SELECT id, name, created_at FROM users WHERE name = ?");
      q.bind(1, name);
      return q.executeStep() ? std::optional<User>(read_user(q)) : std::nullopt;
    });
  }

  std::vector<User> list_users() override {
    return guarded([&] {
      SQLite::Statement q(db_, "SELECT id, name, created_at FROM users ORDER BY id");
      std::vector<User> out;
      while (q.executeStep()) out.push_back(read_user(q));
      return out;
    });
  }

  void remove_user(std::int64_t id) override {
    guarded([&] {
      transaction([&] {
        const auto user = find_user(id);
        if (!user) throw_not_found("user " + std::to_string(id) + " does not exist");
        if (id == kLocalUser) throw_usage("user " + user->name + " is the local CLI's user and cannot be removed");
        SQLite::Statement owns(db_,
                               "SELECT (SELECT COUNT(*) FROM accounts WHERE user_id = ?1 AND removed_at IS NULL) + "
                               "(SELECT COUNT(*) FROM posts WHERE user_id = ?1)");
        owns.bind(1, id);
        owns.executeStep();
        if (owns.getColumn(0).getInt64() > 0) {
          throw_usage("user " + user->name + " still owns accounts or posts; remove those first");
        }
        SQLite::Statement tokens(db_, "DELETE FROM api_tokens WHERE user_id = ?");
        tokens.bind(1, id);
        tokens.exec();
        // Removed accounts keep their history rows; they now belong to the
        // local user, so no row points at a missing user.
        SQLite::Statement orphans(db_, "UPDATE accounts SET user_id = 1 WHERE user_id = ?");
        orphans.bind(1, id);
        orphans.exec();
        SQLite::Statement q(db_, "DELETE FROM users WHERE id = ?");
        q.bind(1, id);
        q.exec();
      });
    });
  }

  ApiToken add_token(const ApiToken& token) override {
    ApiToken out = token;
    guarded([&] {
      transaction([&] {
        if (!find_user(token.user_id)) throw_not_found("user " + std::to_string(token.user_id) + " does not exist");
        SQLite::Statement q(db_,
                            "INSERT INTO api_tokens (user_id, name, hash, scopes, created_at, expires_at) "
                            "VALUES (?, ?, ?, ?, ?, ?)");
        q.bind(1, token.user_id);
        q.bind(2, token.name);
        q.bind(3, token.hash);
        q.bind(4, dump(token.scopes));
        q.bind(5, model::to_millis(token.created_at));
        bind_optional_time(q, 6, token.expires_at);
        q.exec();
        out.id = db_.getLastInsertRowid();
        out.revoked_at.reset();
        out.last_used_at.reset();
      });
    });
    return out;
  }

  std::optional<ApiToken> find_token_by_hash(const std::string& hash) override {
    return guarded([&] {
      // Every REST request looks its token up: kept prepared.
      const Prepared q = prepared(std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE hash = ?");
      q->bind(1, hash);
      return q->executeStep() ? std::optional<ApiToken>(read_token(*q)) : std::nullopt;
    });
  }

  std::vector<ApiToken> list_tokens(std::optional<std::int64_t> user_id) override {
    return guarded([&] {
      SQLite::Statement q(db_, std::string("SELECT ") + kTokenColumns + " FROM api_tokens" +
                                   (user_id ? " WHERE user_id = ?" : "") + " ORDER BY id");
      if (user_id) q.bind(1, *user_id);
      std::vector<ApiToken> out;
      while (q.executeStep()) out.push_back(read_token(q));
      return out;
    });
  }

  void revoke_token(std::int64_t id, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_, "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?");
        q.bind(1, model::to_millis(now));
        q.bind(2, id);
        if (q.exec() == 0) throw_not_found("token " + std::to_string(id) + " does not exist");
      });
    });
  }

  void touch_token(std::int64_t id, Timestamp now) override {
    guarded([&] {
      SQLite::Statement q(db_, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?");
      q.bind(1, model::to_millis(now));
      q.bind(2, id);
      q.exec();
    });
  }

  // ---- accounts -----------------------------------------------------------

  Account add_account(const Account& account) override {
    Account out = account;
    guarded([&] {
      transaction([&] {
        if (find_account(account.platform, account.name)) {
          throw_usage("account " + account.ref() + " already exists (remove it first or pick another --name)");
        }
        SQLite::Statement q(db_,
                            "INSERT INTO accounts (platform, name, handle, options, secrets, healthy, health_note, "
                            "created_at, user_id) VALUES (?, ?, ?, ?, ?, 1, '', ?, ?)");
        q.bind(1, account.platform);
        q.bind(2, account.name);
        q.bind(3, account.handle);
        q.bind(4, dump(account.options));
        q.bind(5, account.secrets_sealed);
        q.bind(6, model::to_millis(account.created_at));
        q.bind(7, owner());
        q.exec();
        out.id = db_.getLastInsertRowid();
      });
    });
    return out;
  }

  std::optional<Account> find_account(std::int64_t id) override {
    return guarded([&] {
      SQLite::Statement q(db_, std::string("SELECT ") + kAccountColumns +
                                    " FROM accounts a WHERE a.id = ? AND a.removed_at IS NULL" + mine("a"));
      q.bind(1, id);
      return q.executeStep() ? std::optional<Account>(read_account(q)) : std::nullopt;
    });
  }

  std::optional<Account> find_account(const std::string& platform, const std::string& name) override {
    return guarded([&] {
      SQLite::Statement q(db_, std::string("SELECT ") + kAccountColumns +
                                    " FROM accounts a WHERE a.platform = ? AND a.name = ? AND a.removed_at IS NULL" +
                                   mine("a"));
      q.bind(1, platform);
      q.bind(2, name);
      return q.executeStep() ? std::optional<Account>(read_account(q)) : std::nullopt;
    });
  }

  std::vector<Account> list_accounts() override {
    return guarded([&] {
      SQLite::Statement q(db_, std::string("SELECT ") + kAccountColumns +
                                    " FROM accounts a WHERE a.removed_at IS NULL" + mine("a") + " ORDER BY a.id");
      std::vector<Account> out;
      while (q.executeStep()) out.push_back(read_account(q));
      return out;
    });
  }

  void update_account_secrets(std::int64_t id, const std::string& sealed) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_, "UPDATE accounts SET secrets = ? WHERE id = ? AND removed_at IS NULL" + mine("accounts"));
        q.bind(1, sealed);
        q.bind(2, id);
        if (q.exec() == 0) throw_not_found("account " + std::to_string(id) + " does not exist");
      });
    });
  }

  void set_account_health(std::int64_t id, bool healthy, const std::string& note) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_, "UPDATE accounts SET healthy = ?, health_note = ? WHERE id = ?" + mine("accounts"));
        q.bind(1, healthy ? 1 : 0);
        q.bind(2, note);
        q.bind(3, id);
        if (q.exec() == 0) throw_not_found("account " + std::to_string(id) + " does not exist");
      });
    });
  }

  void remove_account(std::int64_t id) override {
    guarded([&] {
      transaction([&] {
        auto account = find_account(id);
        if (!account) throw_not_found("account " + std::to_string(id) + " does not exist");
        SQLite::Statement busy(db_, std::string("SELECT COUNT(*) FROM targets WHERE account_id = ? AND status IN ") +
                                        kUnfinished);
        busy.bind(1, id);
        busy.executeStep();
        if (const int n = busy.getColumn(0).getInt(); n > 0) {
          throw_usage("account " + account->ref() + " still has " + std::to_string(n) +
                      " unfinished target(s); cancel or delete those posts first");
        }
        SQLite::Statement q(db_,
                            "UPDATE accounts SET removed_at = ?, secrets = '', name = name || '#removed-' || id "
                            "WHERE id = ?");
        q.bind(1, model::to_millis(std::chrono::time_point_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now())));
        q.bind(2, id);
        q.exec();
      });
    });
  }

  // ---- posts --------------------------------------------------------------

  Created create_post(const NewPost& post, Timestamp now) override {
    Created result;
    guarded([&] {
      transaction([&] {
        if (!post.key.empty()) {
          if (auto existing = find_post_by_key(post.key)) {
            result = Created{std::move(*existing), false};
            return;
          }
        }
        SQLite::Statement q(db_,
                            "INSERT INTO posts (text, media, tags, scheduled_at, timezone, key, created_at, "
                            "updated_at, options, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        q.bind(1, post.text);
        q.bind(2, dump(post.media));
        q.bind(3, dump(post.tags));
        bind_optional_time(q, 4, post.scheduled_at);
        q.bind(5, post.timezone);
        if (post.key.empty()) {
          q.bind(6);
        } else {
          q.bind(6, post.key);
        }
        q.bind(7, model::to_millis(now));
        q.bind(8, model::to_millis(now));
        q.bind(9, dump(post.options));
        q.bind(10, owner());
        q.exec();
        const std::int64_t post_id = db_.getLastInsertRowid();
        for (const auto& target : post.targets) {
          if (!find_account(target.account_id)) {
            throw_not_found("account " + std::to_string(target.account_id) + " does not exist");
          }
        }
        SQLite::Statement t(db_,
                            "INSERT INTO targets (post_id, account_id, variant, options, status, next_attempt_at, "
                            "idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)");
        const TargetStatus status = post.scheduled_at ? TargetStatus::scheduled : TargetStatus::draft;
        for (const auto& target : post.targets) {
          t.reset();
          t.bind(1, post_id);
          t.bind(2, target.account_id);
          if (target.variant) {
            t.bind(3, *target.variant);
          } else {
            t.bind(3);
          }
          t.bind(4, dump(target.options));
          t.bind(5, std::string(model::to_string(status)));
          bind_optional_time(t, 6, post.scheduled_at);
          t.bind(7, crypto::random_hex(16));
          t.exec();
        }
        result = Created{*find_post(post_id), true};
      });
    });
    return result;
  }

  std::optional<Post> find_post(std::int64_t id) override {
    return guarded([&]() -> std::optional<Post> {
      SQLite::Statement q(db_, std::string("SELECT ") + kPostColumns +  " FROM posts p WHERE p.id = ?" + mine("p"));
      q.bind(1, id);
      if (!q.executeStep()) return std::nullopt;
      Post p = read_post(q);
      p.targets = targets_of(id);
      return p;
    });
  }

  std::optional<Post> find_post_by_key(const std::string& key) override {
    return guarded([&]() -> std::optional<Post> {
      SQLite::Statement q(db_, "SELECT id FROM posts WHERE key = ?" + mine("posts"));
      q.bind(1, key);
      if (!q.executeStep()) return std::nullopt;
      return find_post(q.getColumn(0).getInt64());
    });
  }

  std::vector<Post> list_posts(const PostFilter& filter) override {
    return guarded([&] {
      std::vector<Post> out;
      std::int64_t before = filter.before_id;
      const int limit = std::max(1, filter.limit);
      // A derived post status cannot be expressed in SQL, so it is filtered
      // here while paging on; every other criterion is in the query.
      const int page = filter.status ? std::max(limit, 500) : limit;
      while (static_cast<int>(out.size()) < limit) {
        std::vector<Post> batch = list_page(filter, before, page);
        if (batch.empty()) break;
        before = batch.back().id;
        const bool last_page = static_cast<int>(batch.size()) < page;
        for (auto& p : batch) {
          if (filter.status && p.status() != *filter.status) continue;
          out.push_back(std::move(p));
          if (static_cast<int>(out.size()) == limit) break;
        }
        if (last_page) break;
      }
      return out;
    });
  }

  void update_post(const Post& post, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        auto current = find_post(post.id);
        if (!current) throw_not_found("post " + std::to_string(post.id) + " does not exist");
        for (const auto& t : current->targets) {
          if (t.status == TargetStatus::claimed || t.status == TargetStatus::publishing) {
            throw_usage("post " + std::to_string(post.id) + " is being published right now; try again when it is done");
          }
          // What went out cannot change; the record must keep saying what was sent.
          if (t.status == TargetStatus::published) {
            throw_usage("post " + std::to_string(post.id) + " is already published on " + t.account_ref +
                        "; create a new post instead");
          }
        }
        SQLite::Statement q(db_,
                            "UPDATE posts SET text = ?, media = ?, tags = ?, updated_at = ?, options = ? WHERE id = ?");
        q.bind(1, post.text);
        q.bind(2, dump(post.media));
        q.bind(3, dump(post.tags));
        q.bind(4, model::to_millis(now));
        q.bind(5, dump(post.options));
        q.bind(6, post.id);
        q.exec();
        SQLite::Statement v(db_, "UPDATE targets SET variant = ? WHERE id = ? AND post_id = ?");
        for (const auto& t : post.targets) {
          v.reset();
          if (t.variant) {
            v.bind(1, *t.variant);
          } else {
            v.bind(1);
          }
          v.bind(2, t.id);
          v.bind(3, post.id);
          v.exec();
        }
      });
    });
  }

  void schedule_post(std::int64_t id, Timestamp when, const std::string& timezone, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        require_post(id);
        SQLite::Statement q(db_,
                            "UPDATE targets SET status = 'scheduled', next_attempt_at = ?, error = '' "
                            "WHERE post_id = ? AND status IN ('draft','scheduled','retry_wait')");
        q.bind(1, model::to_millis(when));
        q.bind(2, id);
        if (q.exec() == 0) {
          throw_usage("post " + std::to_string(id) +
                      " has no draft or scheduled target left to schedule (use 'post retry' for failed ones)");
        }
        SQLite::Statement p(db_, "UPDATE posts SET scheduled_at = ?, timezone = ?, updated_at = ? WHERE id = ?");
        p.bind(1, model::to_millis(when));
        p.bind(2, timezone);
        p.bind(3, model::to_millis(now));
        p.bind(4, id);
        p.exec();
      });
    });
  }

  void cancel_post(std::int64_t id, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        require_post(id);
        SQLite::Statement q(db_,
                            "UPDATE targets SET status = 'cancelled', next_attempt_at = NULL, lease_owner = '', "
                            "lease_expires_at = NULL WHERE post_id = ? AND status IN "
                            "('draft','scheduled','claimed','retry_wait')");
        q.bind(1, id);
        if (q.exec() == 0) throw_usage("post " + std::to_string(id) + " has nothing left to cancel");
        touch_post(id, now);
      });
    });
  }

  void delete_post(std::int64_t id) override {
    guarded([&] {
      transaction([&] {
        require_post(id);
        SQLite::Statement busy(
            db_, "SELECT COUNT(*) FROM targets WHERE post_id = ? AND status IN ('claimed','publishing')");
        busy.bind(1, id);
        busy.executeStep();
        if (busy.getColumn(0).getInt() > 0) {
          throw_usage("post " + std::to_string(id) + " is being published right now; cancel it or wait");
        }
        SQLite::Statement q(db_, "DELETE FROM posts WHERE id = ?");
        q.bind(1, id);
        q.exec();
      });
    });
  }

  int retry_post(std::int64_t id, Timestamp now) override {
    int changed = 0;
    guarded([&] {
      transaction([&] {
        require_post(id);
        SQLite::Statement q(db_,
                            "UPDATE targets SET status = 'scheduled', error = '', retry_from = attempts, "
                            "next_attempt_at = MAX(?1, COALESCE((SELECT scheduled_at FROM posts WHERE id = ?2), ?1)), "
                            "lease_owner = '', lease_expires_at = NULL "
                            "WHERE post_id = ?2 AND status IN ('failed','unknown','cancelled') "
                            "AND account_id IN (SELECT id FROM accounts WHERE removed_at IS NULL)");
        q.bind(1, model::to_millis(now));
        q.bind(2, id);
        changed = q.exec();
        if (changed > 0) touch_post(id, now);
      });
    });
    return changed;
  }

  // ---- publishing ---------------------------------------------------------

  std::optional<Timestamp> next_due() override {
    return guarded([&] {
      SQLite::Statement q(db_,
                          "SELECT MIN(next_attempt_at) FROM targets WHERE status IN ('scheduled','retry_wait')");
      q.executeStep();
      return optional_time(q.getColumn(0));
    });
  }

  std::vector<Claim> claim_due(Timestamp now, const std::string& owner, std::chrono::milliseconds lease,
                               int limit) override {
    return claim_where(
        "status IN ('scheduled','retry_wait') AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?4", now,
        owner, lease, limit, 0);
  }

  std::vector<Claim> claim_post(std::int64_t post_id, Timestamp now, const std::string& owner,
                                std::chrono::milliseconds lease) override {
    return claim_where("post_id = ?5 AND status IN ('draft','scheduled','retry_wait')", now, owner, lease, -1,
                       post_id);
  }

  Attempt begin_attempt(std::int64_t target_id, const std::string& owner, Timestamp now) override {
    Attempt a;
    guarded([&] {
      transaction([&] {
        SQLite::Statement t(db_,
                            "SELECT status, lease_owner, attempts, idempotency_key, lease_expires_at FROM targets "
                            "WHERE id = ?");
        t.bind(1, target_id);
        if (!t.executeStep()) throw_not_found("target " + std::to_string(target_id) + " does not exist");
        // An expired lease may already be someone else's: recovery could
        // mark this call unknown the moment it starts.
        if (t.getColumn(0).getString() != "claimed" || t.getColumn(1).getString() != owner ||
            t.getColumn(4).isNull() || t.getColumn(4).getInt64() < model::to_millis(now)) {
          throw_usage("target " + std::to_string(target_id) + " is no longer leased to " + owner);
        }
        a.target_id = target_id;
        a.number = t.getColumn(2).getInt() + 1;
        a.idempotency_key = t.getColumn(3).getString();
        a.owner = owner;
        a.started_at = now;
        SQLite::Statement ins(db_,
                              "INSERT INTO attempts (target_id, number, idempotency_key, owner, started_at, outcome) "
                              "VALUES (?, ?, ?, ?, ?, 'pending')");
        ins.bind(1, target_id);
        ins.bind(2, a.number);
        ins.bind(3, a.idempotency_key);
        ins.bind(4, owner);
        ins.bind(5, model::to_millis(now));
        ins.exec();
        a.id = db_.getLastInsertRowid();
        SQLite::Statement up(db_, "UPDATE targets SET status = 'publishing', attempts = ? WHERE id = ?");
        up.bind(1, a.number);
        up.bind(2, target_id);
        up.exec();
      });
    });
    return a;
  }

  void finish_attempt(std::int64_t attempt_id, const AttemptResult& result, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement find(db_,
                               "SELECT a.target_id, t.status, "
                               "(SELECT MAX(id) FROM attempts WHERE target_id = a.target_id) "
                               "FROM attempts a JOIN targets t ON t.id = a.target_id WHERE a.id = ?");
        find.bind(1, attempt_id);
        if (!find.executeStep()) throw_not_found("attempt " + std::to_string(attempt_id) + " does not exist");
        const std::int64_t target_id = find.getColumn(0).getInt64();
        const std::string status = find.getColumn(1).getString();
        const bool latest = find.getColumn(2).getInt64() == attempt_id;

        std::string remote_id;
        for (const auto& id : result.remote_ids) remote_id += (remote_id.empty() ? "" : ",") + id;
        SQLite::Statement a(db_,
                            "UPDATE attempts SET finished_at = ?, outcome = ?, http_status = ?, remote_id = ?, "
                            "error = ? WHERE id = ?");
        a.bind(1, model::to_millis(now));
        a.bind(2, std::string(model::to_string(result.outcome)));
        a.bind(3, result.http_status);
        a.bind(4, remote_id);
        a.bind(5, result.error);
        a.bind(6, attempt_id);
        a.exec();

        // A call that outlived its lease may find the target already marked
        // unknown by recovery; its real outcome is better information, so it
        // still applies. Anything else means someone else owns the target.
        if (!latest || (status != "publishing" && status != "unknown")) return;
        const bool published = result.next_status == TargetStatus::published;
        SQLite::Statement t(db_,
                            "UPDATE targets SET status = ?, next_attempt_at = ?, lease_owner = '', "
                            "lease_expires_at = NULL, error = ?, "
                            "remote_ids = CASE WHEN ?4 THEN ?5 ELSE remote_ids END, "
                            "remote_url = CASE WHEN ?4 THEN ?6 ELSE remote_url END, "
                            "published_at = CASE WHEN ?4 THEN ?7 ELSE published_at END WHERE id = ?8");
        t.bind(1, std::string(model::to_string(result.next_status)));
        bind_optional_time(t, 2, result.next_status == TargetStatus::retry_wait ? result.next_attempt_at
                                                                                  : std::optional<Timestamp>{});
        t.bind(3, published ? std::string() : result.error);
        t.bind(4, published ? 1 : 0);
        t.bind(5, dump(result.remote_ids));
        t.bind(6, result.remote_url);
        t.bind(7, model::to_millis(now));
        t.bind(8, target_id);
        t.exec();
        SQLite::Statement p(db_, "UPDATE posts SET updated_at = ? WHERE id = (SELECT post_id FROM targets WHERE id = ?)");
        p.bind(1, model::to_millis(now));
        p.bind(2, target_id);
        p.exec();
      });
    });
  }

  void release_claim(std::int64_t target_id, const std::string& owner,
                     std::optional<Timestamp> not_before) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_,
                            "UPDATE targets SET status = CASE WHEN next_attempt_at IS NULL THEN 'draft' "
                            "WHEN attempts > 0 THEN 'retry_wait' ELSE 'scheduled' END, "
                            "next_attempt_at = CASE WHEN ?3 IS NULL OR next_attempt_at IS NULL THEN next_attempt_at "
                            "ELSE MAX(next_attempt_at, ?3) END, "
                            "lease_owner = '', lease_expires_at = NULL "
                            "WHERE id = ?1 AND status = 'claimed' AND lease_owner = ?2");
        q.bind(1, target_id);
        q.bind(2, owner);
        bind_optional_time(q, 3, not_before);
        q.exec();
      });
    });
  }

  std::vector<Target> recover_expired(Timestamp now) override {
    std::vector<Target> unknown;
    guarded([&] {
      transaction([&] {
        SQLite::Statement back(db_,
                               "UPDATE targets SET status = CASE WHEN attempts > 0 THEN 'retry_wait' ELSE "
                               "'scheduled' END, next_attempt_at = COALESCE(next_attempt_at, ?1), "
                               "lease_owner = '', lease_expires_at = NULL "
                               "WHERE status IN ('claimed','publishing') AND status = 'claimed' "
                               "AND lease_expires_at < ?1");
        back.bind(1, model::to_millis(now));
        back.exec();

        SQLite::Statement find(db_, std::string("SELECT ") + kTargetColumns +
                                        " FROM targets t JOIN accounts a ON a.id = t.account_id "
                                        "WHERE t.status IN ('claimed','publishing') AND t.status = 'publishing' "
                                        "AND t.lease_expires_at < ?");
        find.bind(1, model::to_millis(now));
        while (find.executeStep()) unknown.push_back(read_target(find));
        const std::string why =
            "the publishing process stopped during the call (lease expired); the post may or may not have been "
            "published, so it is not re-sent: check the network, then 'multivio post retry' if it is missing";
        SQLite::Statement mark(db_,
                               "UPDATE targets SET status = 'unknown', error = ?, lease_owner = '', "
                               "lease_expires_at = NULL, next_attempt_at = NULL WHERE id = ?");
        SQLite::Statement att(db_,
                              "UPDATE attempts SET outcome = 'unknown', finished_at = ?, error = ? "
                              "WHERE target_id = ? AND outcome = 'pending'");
        for (auto& t : unknown) {
          mark.reset();
          mark.bind(1, why);
          mark.bind(2, t.id);
          mark.exec();
          att.reset();
          att.bind(1, model::to_millis(now));
          att.bind(2, why);
          att.bind(3, t.id);
          att.exec();
          t.status = TargetStatus::unknown;
          t.error = why;
        }
      });
    });
    return unknown;
  }

  std::vector<Attempt> attempts(std::int64_t target_id) override {
    return guarded([&] {
      SQLite::Statement q(db_, std::string("SELECT ") + kAttemptColumns +
                                   " FROM attempts WHERE target_id = ? ORDER BY number, id");
      q.bind(1, target_id);
      std::vector<Attempt> out;
      while (q.executeStep()) out.push_back(read_attempt(q));
      return out;
    });
  }

  int renew_leases(const std::string& owner, const std::vector<std::int64_t>& target_ids, Timestamp until) override {
    int renewed = 0;
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_,
                            "UPDATE targets SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? "
                            "AND status IN ('claimed','publishing')");
        for (const auto id : target_ids) {
          q.reset();
          q.bind(1, model::to_millis(until));
          q.bind(2, id);
          q.bind(3, owner);
          renewed += q.exec();
        }
      });
    });
    return renewed;
  }

  std::vector<Target> overdue(Timestamp before) override {
    return guarded([&] {
      SQLite::Statement q(db_, std::string("SELECT ") + kTargetColumns +
                                   " FROM targets t JOIN accounts a ON a.id = t.account_id "
                                   "WHERE t.status IN ('scheduled','retry_wait') AND t.next_attempt_at < ? "
                                   "ORDER BY t.next_attempt_at");
      q.bind(1, model::to_millis(before));
      std::vector<Target> out;
      while (q.executeStep()) out.push_back(read_target(q));
      return out;
    });
  }

  void skip_target(std::int64_t target_id, const std::string& why, Timestamp now) override {
    move_overdue(target_id, "cancelled", why, now);
  }

  void hold_target(std::int64_t target_id, const std::string& why, Timestamp now) override {
    move_overdue(target_id, "draft", why, now);
  }

  void requeue_unknown(std::int64_t target_id, Timestamp when, const std::string& note) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_,
                            "UPDATE targets SET status = 'retry_wait', next_attempt_at = ?, error = ?, "
                            "lease_owner = '', lease_expires_at = NULL WHERE id = ? AND status = 'unknown'");
        q.bind(1, model::to_millis(when));
        q.bind(2, note);
        q.bind(3, target_id);
        q.exec();
      });
    });
  }

  bool resolve_unknown(std::int64_t target_id, const std::vector<std::string>& remote_ids,
                       const std::string& remote_url, Timestamp now) override {
    bool changed = false;
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_,
                            "UPDATE targets SET status = 'published', remote_ids = ?, remote_url = ?, error = '', "
                            "published_at = ?, next_attempt_at = NULL, lease_owner = '', lease_expires_at = NULL "
                            "WHERE id = ? AND status = 'unknown'");
        q.bind(1, dump(remote_ids));
        q.bind(2, remote_url);
        q.bind(3, model::to_millis(now));
        q.bind(4, target_id);
        changed = q.exec() > 0;
      });
    });
    return changed;
  }

  void set_target_variant(std::int64_t target_id, const std::string& owner, const std::string& text) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_,
                            "UPDATE targets SET variant = ? WHERE id = ? AND lease_owner = ? "
                            "AND status IN ('claimed','publishing')");
        q.bind(1, text);
        q.bind(2, target_id);
        q.bind(3, owner);
        if (q.exec() == 0) throw_usage("target " + std::to_string(target_id) + " is no longer leased to " + owner);
      });
    });
  }

  void record_remote_ids(std::int64_t target_id, const std::string& owner,
                         const std::vector<std::string>& remote_ids) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_,
                            "UPDATE targets SET remote_ids = ? WHERE id = ? AND lease_owner = ? "
                            "AND status IN ('claimed','publishing')");
        q.bind(1, dump(remote_ids));
        q.bind(2, target_id);
        q.bind(3, owner);
        if (q.exec() == 0) throw_usage("target " + std::to_string(target_id) + " is no longer leased to " + owner);
      });
    });
  }

  void save_target_progress(std::int64_t target_id, const std::string& owner,
                            const nlohmann::json& progress) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_,
                            "UPDATE targets SET progress = ? WHERE id = ? AND lease_owner = ? "
                            "AND status IN ('claimed','publishing')");
        q.bind(1, dump(progress));
        q.bind(2, target_id);
        q.bind(3, owner);
        if (q.exec() == 0) throw_usage("target " + std::to_string(target_id) + " is no longer leased to " + owner);
      });
    });
  }

  std::vector<Event> events_after(std::int64_t after_id, std::size_t limit) override {
    return guarded([&] {
      // LEFT JOINs: a deleted post's events stay, with nothing to add.
      SQLite::Statement q(db_, std::string("SELECT e.id, e.post_id, e.target_id, e.status, e.at, "
                          "COALESCE(a.platform || ':' || a.name, ''), COALESCE(t.remote_url, ''), "
                          "COALESCE(t.error, '') FROM events e LEFT JOIN targets t ON t.id = e.target_id "
                          "LEFT JOIN accounts a ON a.id = t.account_id WHERE e.id > ?" + mine("e") +
                              " ORDER BY e.id LIMIT ?"));
      q.bind(1, after_id);
      q.bind(2, static_cast<std::int64_t>(limit));
      std::vector<Event> out;
      while (q.executeStep()) {
        Event e;
        e.id = q.getColumn(0).getInt64();
        e.post_id = q.getColumn(1).getInt64();
        e.target_id = q.getColumn(2).getInt64();
        e.status = q.getColumn(3).getString();
        e.at = model::from_millis(q.getColumn(4).getInt64());
        e.account_ref = q.getColumn(5).getString();
        e.remote_url = q.getColumn(6).getString();
        e.error = q.getColumn(7).getString();
        out.push_back(std::move(e));
      }
      return out;
    });
  }

  std::int64_t last_event_id() override {
    return guarded([&] { return db_.execAndGet("SELECT COALESCE(MAX(id), 0) FROM events").getInt64(); });
  }

  void record_ai_usage(const AiUsageRecord& r) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_,
                            "INSERT INTO ai_usage (at, provider, model, purpose, ok, prompt_tokens, "
                            "completion_tokens, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        q.bind(1, model::to_millis(r.at));
        q.bind(2, r.provider);
        q.bind(3, r.model);
        q.bind(4, r.purpose);
        q.bind(5, r.ok ? 1 : 0);
        q.bind(6, static_cast<std::int64_t>(r.prompt_tokens));
        q.bind(7, static_cast<std::int64_t>(r.completion_tokens));
        q.bind(8, static_cast<std::int64_t>(r.latency.count()));
        q.exec();
      });
    });
  }

  std::vector<AiUsageTotal> ai_usage(std::optional<Timestamp> since) override {
    return guarded([&] {
      SQLite::Statement q(db_,
                          "SELECT provider, model, COUNT(*), SUM(1 - ok), SUM(prompt_tokens), "
                          "SUM(completion_tokens), SUM(latency_ms) FROM ai_usage WHERE at >= ? "
                          "GROUP BY provider, model ORDER BY provider, model");
      q.bind(1, since ? model::to_millis(*since) : std::numeric_limits<std::int64_t>::min());
      std::vector<AiUsageTotal> out;
      while (q.executeStep()) {
        AiUsageTotal t;
        t.provider = q.getColumn(0).getString();
        t.model = q.getColumn(1).getString();
        t.calls = q.getColumn(2).getInt64();
        t.failed = q.getColumn(3).getInt64();
        t.prompt_tokens = q.getColumn(4).getInt64();
        t.completion_tokens = q.getColumn(5).getInt64();
        t.latency = std::chrono::milliseconds(q.getColumn(6).getInt64());
        out.push_back(std::move(t));
      }
      return out;
    });
  }

  // ---- media library ------------------------------------------------------

  MediaItem add_media(const MediaItem& item) override {
    MediaItem out = item;
    out.user_id = owner();
    guarded([&] {
      transaction([&] {
        if (find_media_by_sha(item.sha256)) throw_usage("media " + item.sha256 + " is already in the library");
        SQLite::Statement q(db_,
                            "INSERT INTO media (user_id, sha256, path, mime, kind, bytes, width, height, duration_ms, "
                            "alt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        q.bind(1, out.user_id);
        q.bind(2, item.sha256);
        q.bind(3, item.path);
        q.bind(4, item.mime);
        q.bind(5, item.kind);
        q.bind(6, item.bytes);
        if (item.width) q.bind(7, *item.width); else q.bind(7);
        if (item.height) q.bind(8, *item.height); else q.bind(8);
        if (item.duration_ms) q.bind(9, *item.duration_ms); else q.bind(9);
        q.bind(10, item.alt);
        q.bind(11, model::to_millis(item.created_at));
        q.exec();
        out.id = db_.getLastInsertRowid();
      });
    });
    return out;
  }

  std::optional<MediaItem> find_media(std::int64_t id) override {
    return guarded([&]() -> std::optional<MediaItem> {
      SQLite::Statement q(db_, std::string("SELECT ") + kMediaColumns + " FROM media WHERE id = ?" + mine("media"));
      q.bind(1, id);
      if (!q.executeStep()) return std::nullopt;
      return read_media(q);
    });
  }

  std::optional<MediaItem> find_media_by_sha(const std::string& sha256) override {
    return guarded([&]() -> std::optional<MediaItem> {
      // kAnyUser has no single owner: it looks up the row the local user would own.
      SQLite::Statement q(db_, std::string("SELECT ") + kMediaColumns + " FROM media WHERE sha256 = ? AND user_id = ?");
      q.bind(1, sha256);
      q.bind(2, owner());
      if (!q.executeStep()) return std::nullopt;
      return read_media(q);
    });
  }

  std::vector<MediaItem> list_media() override {
    return guarded([&] {
      SQLite::Statement q(db_, std::string("SELECT ") + kMediaColumns + " FROM media WHERE 1 = 1" + mine("media") +
                                   " ORDER BY id");
      std::vector<MediaItem> out;
      while (q.executeStep()) out.push_back(read_media(q));
      return out;
    });
  }

  void set_media_alt(std::int64_t id, const std::string& alt) override {
    guarded([&] {
      SQLite::Statement q(db_, "UPDATE media SET alt = ? WHERE id = ?" + mine("media"));
      q.bind(1, alt);
      q.bind(2, id);
      if (q.exec() == 0) throw_not_found("media " + std::to_string(id) + " does not exist");
    });
  }

  std::int64_t remove_media(std::int64_t id) override {
    return guarded([&] {
      std::int64_t left = 0;
      transaction([&] {
        const auto item = find_media(id);
        if (!item) throw_not_found("media " + std::to_string(id) + " does not exist");
        SQLite::Statement del(db_, "DELETE FROM media WHERE id = ?");
        del.bind(1, id);
        del.exec();
        SQLite::Statement n(db_, "SELECT COUNT(*) FROM media WHERE sha256 = ?");
        n.bind(1, item->sha256);
        n.executeStep();
        left = n.getColumn(0).getInt64();
      });
      return left;
    });
  }

  void put_secret(const std::string& name, const std::string& sealed, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_,
                            "INSERT INTO secrets (name, sealed, updated_at) VALUES (?, ?, ?) "
                            "ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at");
        q.bind(1, name);
        q.bind(2, sealed);
        q.bind(3, model::to_millis(now));
        q.exec();
      });
    });
  }

  std::optional<std::string> get_secret(const std::string& name) override {
    return guarded([&]() -> std::optional<std::string> {
      SQLite::Statement q(db_, "SELECT sealed FROM secrets WHERE name = ?");
      q.bind(1, name);
      if (!q.executeStep()) return std::nullopt;
      return q.getColumn(0).getString();
    });
  }

 private:
  // A statement from the per-connection cache, reset when this handle goes:
  // a finished but un-reset statement would keep its read snapshot open and
  // the connection would stop seeing other connections' writes.
  class Prepared {
   public:
    explicit Prepared(std::shared_ptr<SQLite::Statement> q) : q_(std::move(q)) {}
    Prepared(const Prepared&) = delete;
    Prepared& operator=(const Prepared&) = delete;
    ~Prepared() { q_->tryReset(); }
    SQLite::Statement* operator->() const { return q_.get(); }
    SQLite::Statement& operator*() const { return *q_; }

   private:
    std::shared_ptr<SQLite::Statement> q_;
  };

  // Bounded by dropping the whole cache when full; a statement in use stays
  // alive through its shared_ptr.
  Prepared prepared(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      if (statements_.size() >= kMaxPrepared) statements_.clear();
      it = statements_.emplace(sql, std::make_shared<SQLite::Statement>(db_, sql)).first;
    }
    return Prepared(it->second);
  }

  // " AND <table>.user_id = N" for the current user, or nothing with
  // kAnyUser. The id is an integer we own, so it is safe to splice in, and
  // the callers' positional parameters stay as they were.
  std::string mine(const char* table) const {
    if (user_ == kAnyUser) return {};
    return std::string(" AND ") + table + ".user_id = " + std::to_string(user_);
  }
  // The owner of a new row: the daemon's unscoped store writes as the local user.
  std::int64_t owner() const { return user_ == kAnyUser ? kLocalUser : user_; }

  static User read_user(SQLite::Statement& q) {
    return User{q.getColumn(0).getInt64(), q.getColumn(1).getString(), model::from_millis(q.getColumn(2).getInt64())};
  }

  static MediaItem read_media(SQLite::Statement& q) {
    MediaItem m;
    m.id = q.getColumn(0).getInt64();
    m.user_id = q.getColumn(1).getInt64();
    m.sha256 = q.getColumn(2).getString();
    m.path = q.getColumn(3).getString();
    m.mime = q.getColumn(4).getString();
    m.kind = q.getColumn(5).getString();
    m.bytes = q.getColumn(6).getInt64();
    if (!q.getColumn(7).isNull()) m.width = q.getColumn(7).getInt();
    if (!q.getColumn(8).isNull()) m.height = q.getColumn(8).getInt();
    if (!q.getColumn(9).isNull()) m.duration_ms = q.getColumn(9).getInt64();
    m.alt = q.getColumn(10).getString();
    m.created_at = model::from_millis(q.getColumn(11).getInt64());
    return m;
  }

  static ApiToken read_token(SQLite::Statement& q) {
    ApiToken t;
    t.id = q.getColumn(0).getInt64();
    t.user_id = q.getColumn(1).getInt64();
    t.name = q.getColumn(2).getString();
    t.hash = q.getColumn(3).getString();
    t.scopes = string_list(q.getColumn(4));
    t.created_at = model::from_millis(q.getColumn(5).getInt64());
    t.expires_at = optional_time(q.getColumn(6));
    t.revoked_at = optional_time(q.getColumn(7));
    t.last_used_at = optional_time(q.getColumn(8));
    return t;
  }

  static SQLite::Database open_db(const std::string& path, bool create) {
    if (!create && path != ":memory:" && !std::filesystem::exists(path)) {
      throw_not_found("database " + path + " does not exist (run 'multivio init', or check --db/MULTIVIO_DB)");
    }
    if (path != ":memory:") {
      const auto parent = std::filesystem::path(path).parent_path();
      if (!parent.empty() && !std::filesystem::exists(parent)) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
        if (ec) throw_permanent("cannot create database directory " + parent.string() + ": " + ec.message());
        ::chmod(parent.c_str(), 0700);
      }
    }
    try {
      SQLite::Database db(path, SQLite::OPEN_READWRITE | (create ? SQLite::OPEN_CREATE : 0), kBusyTimeoutMs);
      // WAL is a property of the file, set when multivio creates or migrates
      // it; `db status` (create false) must not rewrite the file's header.
      if (create && path != ":memory:") db.exec("PRAGMA journal_mode = WAL");
      return db;
    } catch (const SQLite::Exception& e) {
      throw_permanent("cannot open database " + path + ": " + e.what());
    }
  }

  // SQLite errors become Error(permanent) naming the database; our own
  // Errors pass through unchanged.
  template <typename Fn>
  auto guarded(Fn&& fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const SQLite::Exception& e) {
      throw Error(ErrorKind::permanent, std::string("database: ") + e.what());
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::permanent, std::string("database holds malformed JSON: ") + e.what());
    }
  }

  bool table_exists(const char* name) {
    SQLite::Statement q(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    q.bind(1, name);
    return q.executeStep();
  }

  // Values keep SQLite's storage class: integers stay integers and text its
  // bytes, so sealed secrets arrive exactly as stored.
  TableDump dump_table(const char* table) {
    TableDump dump;
    dump.table = table;
    SQLite::Statement q(db_, std::string("SELECT * FROM ") + table + " ORDER BY 1");
    const int n = q.getColumnCount();
    for (int i = 0; i < n; ++i) dump.columns.emplace_back(q.getColumnName(i));
    while (q.executeStep()) {
      auto& row = dump.rows.emplace_back();
      row.reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) {
        const SQLite::Column c = q.getColumn(i);
        if (c.isNull()) {
          row.emplace_back(std::monostate{});
        } else if (c.isInteger()) {
          row.emplace_back(c.getInt64());
        } else if (c.isFloat()) {
          // No migration declares a REAL column; a float here was written by
          // something else, and text would silently change its meaning.
          throw_permanent(std::string("table ") + table + " column " + dump.columns[static_cast<std::size_t>(i)] +
                          " holds a floating-point value, which multivio never writes");
        } else {
          row.emplace_back(std::string(static_cast<const char*>(c.getBlob()), static_cast<std::size_t>(c.getBytes())));
        }
      }
    }
    dump.counted = db_.execAndGet(std::string("SELECT COUNT(*) FROM ") + table).getInt64();
    return dump;
  }

  // Only a target still waiting moves: one claimed meanwhile is left alone.
  void move_overdue(std::int64_t target_id, const char* status, const std::string& why, Timestamp now) {
    guarded([&] {
      transaction([&] {
        SQLite::Statement q(db_,
                            "UPDATE targets SET status = ?, error = ?, next_attempt_at = CASE WHEN ? = 'draft' "
                            "THEN next_attempt_at ELSE NULL END WHERE id = ? AND status IN ('scheduled','retry_wait')");
        q.bind(1, status);
        q.bind(2, why);
        q.bind(3, status);
        q.bind(4, target_id);
        if (q.exec() > 0) {
          SQLite::Statement p(db_,
                              "UPDATE posts SET updated_at = ? WHERE id = (SELECT post_id FROM targets WHERE id = ?)");
          p.bind(1, model::to_millis(now));
          p.bind(2, target_id);
          p.exec();
        }
      });
    });
  }

  void require_post(std::int64_t id) {
    SQLite::Statement q(db_, "SELECT 1 FROM posts WHERE id = ?" + mine("posts"));
    q.bind(1, id);
    if (!q.executeStep()) throw_not_found("post " + std::to_string(id) + " does not exist");
  }

  void touch_post(std::int64_t id, Timestamp now) {
    SQLite::Statement q(db_, "UPDATE posts SET updated_at = ? WHERE id = ?");
    q.bind(1, model::to_millis(now));
    q.bind(2, id);
    q.exec();
  }

  std::vector<Target> targets_of(std::int64_t post_id) {
    SQLite::Statement q(db_, std::string("SELECT ") + kTargetColumns +
                                 " FROM targets t JOIN accounts a ON a.id = t.account_id WHERE t.post_id = ? "
                                 "ORDER BY t.id");
    q.bind(1, post_id);
    std::vector<Target> out;
    while (q.executeStep()) out.push_back(read_target(q));
    return out;
  }

  // One query returns posts with their targets (newest post first), so a
  // listing costs one statement however many posts it shows.
  std::vector<Post> list_page(const PostFilter& filter, std::int64_t before, int limit) {
    std::ostringstream where;
    where << "1 = 1" << mine("p");
    if (before > 0) where << " AND p.id < :before";
    if (filter.since) where << " AND COALESCE(p.scheduled_at, p.created_at) >= :since";
    if (filter.until) where << " AND COALESCE(p.scheduled_at, p.created_at) < :until";
    if (filter.account_id) where << " AND EXISTS (SELECT 1 FROM targets x WHERE x.post_id = p.id AND x.account_id = :account)";
    if (filter.target_status) where << " AND EXISTS (SELECT 1 FROM targets x WHERE x.post_id = p.id AND x.status = :tstatus)";
    if (filter.overdue_before) {
      where << " AND EXISTS (SELECT 1 FROM targets x WHERE x.post_id = p.id AND ((x.status IN ('scheduled','retry_wait') "
               "AND x.next_attempt_at < :overdue) OR (x.status = 'draft' AND x.error LIKE 'overdue:%')))";
    }
    const std::string sql = std::string("SELECT ") + kPostColumns + ", " + kTargetColumns +
                            " FROM (SELECT * FROM posts p WHERE " + where.str() +
                            " ORDER BY p.id DESC LIMIT :limit) p "
                            "LEFT JOIN targets t ON t.post_id = p.id LEFT JOIN accounts a ON a.id = t.account_id "
                            "ORDER BY p.id DESC, t.id";
    // Preparing this query (joins, subqueries) costs more than running it
    // for a page of 20, so each connection keeps its variants prepared.
    const Prepared prepared_page = prepared(sql);
    SQLite::Statement& q = *prepared_page;
    if (before > 0) q.bind(":before", before);
    if (filter.since) q.bind(":since", model::to_millis(*filter.since));
    if (filter.until) q.bind(":until", model::to_millis(*filter.until));
    if (filter.account_id) q.bind(":account", *filter.account_id);
    if (filter.target_status) q.bind(":tstatus", std::string(model::to_string(*filter.target_status)));
    if (filter.overdue_before) q.bind(":overdue", model::to_millis(*filter.overdue_before));
    q.bind(":limit", limit);
    std::vector<Post> out;
    while (q.executeStep()) {
      const std::int64_t id = q.getColumn(0).getInt64();
      if (out.empty() || out.back().id != id) out.push_back(read_post(q));
      if (!q.getColumn(kPostColumnCount).isNull()) out.back().targets.push_back(read_target(q, kPostColumnCount));
    }
    return out;
  }

  // Leases matching targets in one UPDATE ... RETURNING, then loads what the
  // publisher needs. The WHERE text may use ?1 (now), ?4 (limit), ?5 (post).
  std::vector<Claim> claim_where(const std::string& condition, Timestamp now, const std::string& owner,
                                 std::chrono::milliseconds lease, int limit, std::int64_t post_id) {
    return guarded([&] {
      std::vector<Claim> claims;
      transaction([&] {
        SQLite::Statement q(db_,
                            "UPDATE targets SET status = 'claimed', lease_owner = ?2, lease_expires_at = ?3 "
                            "WHERE id IN (SELECT id FROM targets WHERE " +
                                condition + ") RETURNING id");
        q.bind(1, model::to_millis(now));
        q.bind(2, owner);
        q.bind(3, model::to_millis(now + lease));
        if (condition.find("?4") != std::string::npos) q.bind(4, limit);
        if (condition.find("?5") != std::string::npos) q.bind(5, post_id);
        std::vector<std::int64_t> ids;
        while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
        q.reset();
        SQLite::Statement load(db_, std::string("SELECT ") + kTargetColumns + ", " + kPostColumns + ", " +
                                        kAccountColumns +
                                        " FROM targets t JOIN accounts a ON a.id = t.account_id "
                                        "JOIN posts p ON p.id = t.post_id WHERE t.id = ?");
        for (const auto id : ids) {
          load.reset();
          load.bind(1, id);
          if (!load.executeStep()) continue;
          Claim c;
          c.target = read_target(load);
          c.post = read_post(load, kTargetColumnCount);
          c.account = read_account(load, kTargetColumnCount + kPostColumnCount);
          claims.push_back(std::move(c));
        }
      });
      // RETURNING has no defined order: the most overdue target goes first.
      std::stable_sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) {
        return a.target.next_attempt_at < b.target.next_attempt_at;
      });
      return claims;
    });
  }

  // One mutex per database file, shared by every Store of this process.
  static std::shared_ptr<std::mutex> writer_mutex_for(const std::string& path) {
    static std::mutex registry_mutex;
    static std::map<std::string, std::weak_ptr<std::mutex>> registry;
    std::error_code ec;
    const auto canonical = path == ":memory:" ? path : std::filesystem::weakly_canonical(path, ec).string();
    std::lock_guard lock(registry_mutex);
    auto& slot = registry[canonical.empty() ? path : canonical];
    auto m = slot.lock();
    if (!m || path == ":memory:") {
      m = std::make_shared<std::mutex>();
      slot = m;
    }
    return m;
  }

  SQLite::Database db_;
  std::shared_ptr<std::mutex> write_mutex_;
  int depth_ = 0;
  std::int64_t user_ = kLocalUser;  // see set_user()
  // After db_: destroyed (finalized) before the connection closes.
  std::unordered_map<std::string, std::shared_ptr<SQLite::Statement>> statements_;
};

}  // namespace

std::string sqlite_path(const std::string& url) {
  std::string path = url;
  if (path.rfind("sqlite://", 0) == 0) {
    path = path.substr(9);
  } else if (path.rfind("sqlite:", 0) == 0) {
    path = path.substr(7);
  } else if (path.find("://") != std::string::npos) {
    throw_usage("unsupported database URL '" + url + "' (expected sqlite:///path/to/file.db)");
  }
  if (path.empty()) throw_usage("database URL '" + url + "' has no file path");
  return path;
}

std::unique_ptr<Store> open_sqlite(const std::string& path, Migrate migrate) {
  try {
    return std::make_unique<SqliteStore>(path, migrate);
  } catch (const SQLite::Exception& e) {
    throw Error(ErrorKind::permanent, "database " + path + ": " + e.what());
  }
}

}  // namespace multivio::store
