// SPDX-License-Identifier: MIT
// PostgreSQL backend of store::Store (libpqxx 6.4). Semantics, errors and
// transitions are those of sqlite_store.cpp; the same test suite runs on both.
//
// One connection per Store (the contract gives each thread its own Store),
// plus, once change_fd() is asked for, one LISTEN connection. Every method
// that writes runs in one transaction (joining the caller's when
// transaction() is active); reads outside a transaction run as single
// statements. SQLite serialises writers with BEGIN IMMEDIATE; here rows are
// locked where a check and the write that depends on it are two statements,
// and claiming skips rows another daemon holds (FOR UPDATE SKIP LOCKED).
// Writes that change what is due send NOTIFY multivio_changes, delivered on
// commit to every daemon's LISTEN connection.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <vector>
#include <sstream>

#include <pqxx/pqxx>
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

constexpr const char* kUnfinished = "('draft','scheduled','claimed','publishing','retry_wait')";
constexpr const char* kChannel = "multivio_changes";
// pg_advisory_xact_lock key serialising migrations across processes ("mvio").
constexpr std::int64_t kMigrationLock = 0x6d76696f;

// Column lists shared by every query that builds these structs, so the
// readers below index them by position (the same lists as SQLite's).
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
constexpr const char* kMediaColumns =
    "id, user_id, sha256, path, mime, kind, bytes, width, height, duration_ms, alt, created_at";
constexpr const char* kTokenColumns =
    "id, user_id, name, hash, scopes, created_at, expires_at, revoked_at, last_used_at";
constexpr const char* kAttemptColumns =
    "id, target_id, number, idempotency_key, owner, started_at, finished_at, outcome, http_status, remote_id, error";

nlohmann::json parse_json_column(const pqxx::field& f) {
  const char* text = f.c_str();
  if (text[0] == '[' && text[1] == ']' && text[2] == '\0') return nlohmann::json::array();
  if (text[0] == '{' && text[1] == '}' && text[2] == '\0') return nlohmann::json::object();
  return nlohmann::json::parse(text);
}

std::vector<std::string> string_list(const pqxx::field& f) {
  return parse_json_column(f).get<std::vector<std::string>>();
}

std::int64_t i64(const pqxx::field& f) { return f.as<std::int64_t>(); }
int i32(const pqxx::field& f) { return f.as<int>(); }
std::string text(const pqxx::field& f) { return f.is_null() ? std::string() : std::string(f.c_str(), f.size()); }

std::optional<Timestamp> optional_time(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return model::from_millis(i64(f));
}

std::optional<std::int64_t> millis(const std::optional<Timestamp>& t) {
  return t ? std::optional<std::int64_t>(model::to_millis(*t)) : std::nullopt;
}

std::string dump(const nlohmann::json& j) { return j.dump(); }

// A bigint[] literal for `= ANY($n::bigint[])`.
std::string id_array(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "}";
}

Account read_account(const pqxx::row& r, int base = 0) {
  Account a;
  a.id = i64(r[base + 0]);
  a.platform = text(r[base + 1]);
  a.name = text(r[base + 2]);
  a.handle = text(r[base + 3]);
  a.options = parse_json_column(r[base + 4]);
  a.secrets_sealed = text(r[base + 5]);
  a.healthy = i32(r[base + 6]) != 0;
  a.health_note = text(r[base + 7]);
  a.created_at = model::from_millis(i64(r[base + 8]));
  return a;
}

Post read_post(const pqxx::row& r, int base = 0) {
  Post p;
  p.id = i64(r[base + 0]);
  p.text = text(r[base + 1]);
  p.media = string_list(r[base + 2]);
  p.tags = string_list(r[base + 3]);
  p.scheduled_at = optional_time(r[base + 4]);
  p.timezone = text(r[base + 5]);
  p.key = text(r[base + 6]);
  p.created_at = model::from_millis(i64(r[base + 7]));
  p.updated_at = model::from_millis(i64(r[base + 8]));
  p.options = parse_json_column(r[base + 9]);
  return p;
}

Target read_target(const pqxx::row& r, int base = 0) {
  Target t;
  t.id = i64(r[base + 0]);
  t.post_id = i64(r[base + 1]);
  t.account_id = i64(r[base + 2]);
  t.account_ref = text(r[base + 3]);
  t.platform = text(r[base + 4]);
  if (!r[base + 5].is_null()) t.variant = text(r[base + 5]);
  t.options = parse_json_column(r[base + 6]);
  t.status = model::parse_target_status(r[base + 7].c_str());
  t.attempts = i32(r[base + 8]);
  t.next_attempt_at = optional_time(r[base + 9]);
  t.lease_owner = text(r[base + 10]);
  t.lease_expires_at = optional_time(r[base + 11]);
  t.remote_ids = string_list(r[base + 12]);
  t.remote_url = text(r[base + 13]);
  t.error = text(r[base + 14]);
  t.published_at = optional_time(r[base + 15]);
  t.retry_from = i32(r[base + 16]);
  t.progress = parse_json_column(r[base + 17]);
  return t;
}

Attempt read_attempt(const pqxx::row& r) {
  Attempt a;
  a.id = i64(r[0]);
  a.target_id = i64(r[1]);
  a.number = i32(r[2]);
  a.idempotency_key = text(r[3]);
  a.owner = text(r[4]);
  a.started_at = model::from_millis(i64(r[5]));
  a.finished_at = optional_time(r[6]);
  a.outcome = model::parse_attempt_outcome(r[7].c_str());
  a.http_status = i32(r[8]);
  a.remote_id = text(r[9]);
  a.error = text(r[10]);
  return a;
}

std::int64_t now_millis() {
  return model::to_millis(
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()));
}

// Counts notifications on the LISTEN connection; registering it issues
// LISTEN (and libpqxx re-issues it if the connection is re-established).
class ChangeReceiver final : public pqxx::notification_receiver {
 public:
  explicit ChangeReceiver(pqxx::connection_base& c) : pqxx::notification_receiver(c, kChannel) {}
  void operator()(const std::string&, int) override { ++received; }
  long received = 0;
};

// Connections to one database shared by every Store of the process (one
// per thread: daemon workers, REST handlers). A Store holds one only for a
// transaction or a single read, so the number open stays small however many
// threads there are; a caller waits when all are busy.
class ConnectionPool {
 public:
  // Enough for the daemon's default workers, its claim loop and the REST
  // listener's handlers at once, far below PostgreSQL's max_connections.
  static constexpr std::size_t k_max_open = 16;
  static constexpr auto k_wait = std::chrono::seconds(30);

  explicit ConnectionPool(std::string url) : url_(std::move(url)) {}

  static ConnectionPool& for_url(const std::string& url) {
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<ConnectionPool>> pools;
    std::lock_guard lock(mutex);
    auto& pool = pools[url];
    if (!pool) pool = std::make_unique<ConnectionPool>(url);
    return *pool;
  }

  std::unique_ptr<pqxx::connection> acquire(ErrorKind kind) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (!changed_.wait_for(lock, k_wait, [&] { return !idle_.empty() || open_ < k_max_open; })) {
        throw Error(ErrorKind::transient, "database: all " + std::to_string(k_max_open) +
                                              " connections stayed busy for " + std::to_string(k_wait.count()) + " s");
      }
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        if (c->is_open()) return c;
        --open_;  // closed by the server while idle: open a fresh one
        continue;
      }
      ++open_;
      lock.unlock();
      try {
        return connect(url_, kind);
      } catch (...) {
        lock.lock();
        --open_;
        changed_.notify_one();
        throw;
      }
    }
  }

  // A connection that broke (or may hold a half-done transaction) is closed.
  void release(std::unique_ptr<pqxx::connection> c, bool healthy) {
    std::unique_ptr<pqxx::connection> closing;
    {
      std::lock_guard lock(mutex_);
      if (healthy && c && c->is_open()) {
        idle_.push_back(std::move(c));
      } else {
        closing = std::move(c);
        --open_;
      }
    }
    changed_.notify_one();
  }

  std::size_t open() const {
    std::lock_guard lock(mutex_);
    return open_;
  }

  static std::unique_ptr<pqxx::connection> connect(const std::string& url, ErrorKind kind) {
    std::unique_ptr<pqxx::connection> c;
    try {
      c = std::make_unique<pqxx::connection>(url);
      // Keeps NOTICEs ("... already exists, skipping") off stderr; libpqxx
      // sets it again if it has to reconnect.
      c->set_variable("client_min_messages", "warning");
    } catch (const std::exception& e) {
      throw Error(kind, "cannot connect to database " + redact_url(url) + ": " + trimmed(e.what()));
    }
    return c;
  }

  // libpq messages end in a newline and may hold more lines ("\n\tIs the
  // server running..."): one line for logs.
  static std::string trimmed(const std::string& s) {
    std::string out;
    for (const char c : s) {
      if (c == '\n' || c == '\t' || c == '\r') {
        if (!out.empty() && out.back() != ' ') out += ' ';
      } else {
        out += c;
      }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }

 private:
  std::string url_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;
};

class PostgresStore final : public Store {
 public:
  PostgresStore(const std::string& url, Migrate migrate_on_open)
      : url_(url), pool_(ConnectionPool::for_url(url)) {
    // A bad URL or an unreachable server fails here, not at the first use.
    pool_.release(pool_.acquire(ErrorKind::permanent), true);
    if (migrate_on_open == Migrate::on_open) migrate();
  }

  ~PostgresStore() override {
    // The receiver unregisters from its connection, so it goes first.
    receiver_.reset();
    listen_.reset();
    abort_quietly();
    if (conn_) pool_.release(std::move(conn_), false);
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
    const Checkout checkout(*this);
    guarded([&] { tx_ = std::make_unique<pqxx::work>(*conn_); });
    depth_ = 1;
    try {
      fn();
      guarded([&] { tx_->commit(); });
      depth_ = 0;
      tx_.reset();
    } catch (...) {
      depth_ = 0;
      abort_quietly();
      throw;
    }
  }

  int schema_version() override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        if (!table_exists(t, "schema_migrations")) return 0;
        return i32(t.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0]);
      });
    });
  }

  int migrate() override {
    guarded([&] {
      // Nothing to do (the common case) costs two queries and takes no lock.
      if (schema_version() >= migrations().back().version) return;
      transaction([&] {
        // Several daemons starting at once: one migrates, the others wait here
        // and then find nothing left to do.
        tx().exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
        tx().exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at BIGINT NOT NULL)");
        const int version = i32(tx().exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0]);
        for (const auto& m : migrations()) {
          if (m.version <= version) continue;
          if (m.postgres == nullptr) {
            throw_permanent("migration " + std::to_string(m.version) + " (" + m.name + ") has no PostgreSQL form");
          }
          tx().exec(m.postgres);
          tx().exec_params("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                           m.version, std::string(m.name), static_cast<std::int64_t>(std::time(nullptr)) * 1000);
        }
      });
    });
    return schema_version();
  }

  std::string identity() override {
    // The server's start time and the database's oid and name: the same
    // database reached by two URLs (localhost, 127.0.0.1, a socket) gives
    // the same answer, two databases or servers do not. No privilege needed.
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        const auto r = t.exec(
            "SELECT pg_postmaster_start_time()::text || '/' || d.oid::text || '/' || d.datname "
            "FROM pg_database d WHERE d.datname = current_database()");
        return "postgresql:" + text(r[0][0]);
      });
    });
  }

  RowCounts row_counts() override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        RowCounts out;
        for (const char* table : tables()) {
          if (!table_exists(t, table)) continue;
          out.tables.emplace_back(table, i64(t.exec(std::string("SELECT COUNT(*) FROM ") + table)[0][0]));
        }
        if (table_exists(t, "targets")) {
          for (const auto& row : t.exec("SELECT status, COUNT(*) FROM targets GROUP BY status")) {
            out.targets_by_status[text(row[0])] = i64(row[1]);
          }
          for (const auto& r : t.exec(kPostTallySql)) {
            std::int64_t row[8];
            for (int i = 0; i < 8; ++i) row[i] = i64(r[i]);
            count_post(out, row);
          }
        }
        return out;
      });
    });
  }

  std::vector<TableDump> dump_tables() override {
    return guarded([&] {
      std::vector<TableDump> out;
      if (depth_ > 0) {
        for (const char* table : tables()) out.push_back(dump_table(*tx_, table));
        return out;
      }
      const Checkout checkout(*this);
      // One snapshot for every table while daemons go on writing.
      pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> t(*conn_, "dump");
      for (const char* table : tables()) out.push_back(dump_table(t, table));
      t.commit();
      return out;
    });
  }

  void load_tables(const std::vector<TableDump>& dumps, bool clear_first) override {
    guarded([&] {
      transaction([&] {
        if (clear_first) {
          const auto names = tables();
          for (auto it = names.rbegin(); it != names.rend(); ++it) tx().exec(std::string("DELETE FROM ") + *it);
        }
        for (const auto& dump : dumps) {
          check_dump(dump);
          insert_rows(dump);
        }
        // Ids were inserted explicitly, so the BIGSERIAL sequences still
        // stand where they were: the next post must not reuse a copied id.
        for (const char* table : tables()) {
          const auto seq = tx().exec_params(
              "SELECT pg_get_serial_sequence($1, 'id') FROM information_schema.columns "
              "WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id'",
              std::string(table));
          if (seq.empty() || seq[0][0].is_null()) continue;
          tx().exec_params(std::string("SELECT setval($1::regclass, GREATEST(m, 1), m IS NOT NULL) ") +
                               "FROM (SELECT MAX(id) AS m FROM " + table + ") x",
                           text(seq[0][0]));
        }
      });
    });
  }

  // ---- users and API tokens ---------------------------------------------------

  void set_user(std::int64_t user_id) override { user_ = user_id; }
  std::int64_t user() const override { return user_; }

  User add_user(const std::string& name, Timestamp now) override {
    User out{0, name, now};
    const auto taken = [&] { throw_usage("user " + name + " already exists"); };
    guarded([&] {
      try {
        transaction([&] {
          if (find_user(name)) taken();
          const auto r = tx().exec_params("INSERT INTO users (name, created_at) VALUES ($1, $2) RETURNING id", name,
                                          model::to_millis(now));
          out.id = i64(r[0][0]);
        });
      } catch (const pqxx::unique_violation&) {
        taken();
      }
    });
    return out;
  }

  std::optional<User> find_user(std::int64_t id) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        const auto r = t.exec_params("SELECT id, name, created_at FROM users WHERE id = $1", id);
        return r.empty() ? std::nullopt : std::optional<User>(read_user(r[0]));
      });
    });
  }

  std::optional<User> find_user(const std::string& name) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        const auto r = t.exec_params("SELECT id, name, created_at FROM users WHERE name = $1", name);
        return r.empty() ? std::nullopt : std::optional<User>(read_user(r[0]));
      });
    });
  }

  std::vector<User> list_users() override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        std::vector<User> out;
        for (const auto& row : t.exec("SELECT id, name, created_at FROM users ORDER BY id")) {
          out.push_back(read_user(row));
        }
        return out;
      });
    });
  }

  void remove_user(std::int64_t id) override {
    guarded([&] {
      transaction([&] {
        tx().exec_params("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", id);
        const auto user = find_user(id);
        if (!user) throw_not_found("user " + std::to_string(id) + " does not exist");
        if (id == kLocalUser) throw_usage("user " + user->name + " is the local CLI's user and cannot be removed");
        const auto owns = tx().exec_params(
            "SELECT (SELECT COUNT(*) FROM accounts WHERE user_id = $1 AND removed_at IS NULL) + "
            "(SELECT COUNT(*) FROM posts WHERE user_id = $1)",
            id);
        if (i64(owns[0][0]) > 0) throw_usage("user " + user->name + " still owns accounts or posts; remove those first");
        tx().exec_params("DELETE FROM api_tokens WHERE user_id = $1", id);
        // Removed accounts keep their history rows; they now belong to the
        // local user, so the foreign key holds.
        tx().exec_params("UPDATE accounts SET user_id = 1 WHERE user_id = $1", id);
        tx().exec_params("DELETE FROM users WHERE id = $1", id);
      });
    });
  }

  ApiToken add_token(const ApiToken& token) override {
    ApiToken out = token;
    guarded([&] {
      transaction([&] {
        if (!find_user(token.user_id)) throw_not_found("user " + std::to_string(token.user_id) + " does not exist");
        const auto r = tx().exec_params(
            "INSERT INTO api_tokens (user_id, name, hash, scopes, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            token.user_id, token.name, token.hash, dump(token.scopes), model::to_millis(token.created_at),
            millis(token.expires_at));
        out.id = i64(r[0][0]);
        out.revoked_at.reset();
        out.last_used_at.reset();
      });
    });
    return out;
  }

  std::optional<ApiToken> find_token_by_hash(const std::string& hash) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        const auto r =
            t.exec_params(std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE hash = $1", hash);
        return r.empty() ? std::nullopt : std::optional<ApiToken>(read_token(r[0]));
      });
    });
  }

  std::vector<ApiToken> list_tokens(std::optional<std::int64_t> user_id) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        std::vector<ApiToken> out;
        const std::string sql = std::string("SELECT ") + kTokenColumns + " FROM api_tokens";
        const auto rows = user_id ? t.exec_params(sql + " WHERE user_id = $1 ORDER BY id", *user_id)
                                  : t.exec(sql + " ORDER BY id");
        for (const auto& row : rows) out.push_back(read_token(row));
        return out;
      });
    });
  }

  void revoke_token(std::int64_t id, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        const auto r = tx().exec_params("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
                                        model::to_millis(now), id);
        if (r.affected_rows() == 0) throw_not_found("token " + std::to_string(id) + " does not exist");
      });
    });
  }

  void touch_token(std::int64_t id, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        tx().exec_params("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2", model::to_millis(now), id);
      });
    });
  }

  // ---- accounts -----------------------------------------------------------

  Account add_account(const Account& account) override {
    Account out = account;
    const auto taken = [&] {
      throw_usage("account " + account.ref() + " already exists (remove it first or pick another --name)");
    };
    guarded([&] {
      try {
        transaction([&] {
          if (find_account(account.platform, account.name)) taken();
          const auto r = tx().exec_params(
              "INSERT INTO accounts (platform, name, handle, options, secrets, healthy, health_note, created_at, "
              "user_id) VALUES ($1, $2, $3, $4, $5, 1, '', $6, $7) RETURNING id",
              account.platform, account.name, account.handle, dump(account.options), account.secrets_sealed,
              model::to_millis(account.created_at), owner());
          out.id = i64(r[0][0]);
        });
      } catch (const pqxx::unique_violation&) {
        // Another process added the same platform:name since our check.
        taken();
      }
    });
    return out;
  }

  std::optional<Account> find_account(std::int64_t id) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        const auto r = t.exec_params(std::string("SELECT ") + kAccountColumns +
                                          " FROM accounts a WHERE a.id = $1 AND a.removed_at IS NULL" + mine("a"),
                                     id);
        return r.empty() ? std::nullopt : std::optional<Account>(read_account(r[0]));
      });
    });
  }

  std::optional<Account> find_account(const std::string& platform, const std::string& name) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        const auto r = t.exec_params(
            std::string("SELECT ") + kAccountColumns +
                 " FROM accounts a WHERE a.platform = $1 AND a.name = $2 AND a.removed_at IS NULL" + mine("a"),
            platform, name);
        return r.empty() ? std::nullopt : std::optional<Account>(read_account(r[0]));
      });
    });
  }

  std::vector<Account> list_accounts() override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        std::vector<Account> out;
        for (const auto& row :
             t.exec(std::string("SELECT ") + kAccountColumns + " FROM accounts a WHERE a.removed_at IS NULL" + mine("a") +
                    " ORDER BY a.id")) {
          out.push_back(read_account(row));
        }
        return out;
      });
    });
  }

  void update_account_secrets(std::int64_t id, const std::string& sealed) override {
    guarded([&] {
      transaction([&] {
        const auto r = tx().exec_params("UPDATE accounts SET secrets = $1 WHERE id = $2 AND removed_at IS NULL" + mine("accounts"),
                                        sealed, id);
        if (r.affected_rows() == 0) throw_not_found("account " + std::to_string(id) + " does not exist");
      });
    });
  }

  void set_account_health(std::int64_t id, bool healthy, const std::string& note) override {
    guarded([&] {
      transaction([&] {
        const auto r = tx().exec_params("UPDATE accounts SET healthy = $1, health_note = $2 WHERE id = $3" + mine("accounts"),
                                        healthy ? 1 : 0, note, id);
        if (r.affected_rows() == 0) throw_not_found("account " + std::to_string(id) + " does not exist");
      });
    });
  }

  void remove_account(std::int64_t id) override {
    guarded([&] {
      transaction([&] {
        // The row lock makes a concurrent create_post (which share-locks the
        // accounts it uses) either finish first, so its targets are counted
        // below, or see the account removed.
        tx().exec_params("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", id);
        auto account = find_account(id);
        if (!account) throw_not_found("account " + std::to_string(id) + " does not exist");
        const auto busy = tx().exec_params(
            std::string("SELECT COUNT(*) FROM targets WHERE account_id = $1 AND status IN ") + kUnfinished, id);
        if (const auto n = i64(busy[0][0]); n > 0) {
          throw_usage("account " + account->ref() + " still has " + std::to_string(n) +
                      " unfinished target(s); cancel or delete those posts first");
        }
        tx().exec_params(
            "UPDATE accounts SET removed_at = $1, secrets = '', name = name || '#removed-' || id WHERE id = $2",
            now_millis(), id);
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
        const std::optional<std::string> key =
            post.key.empty() ? std::nullopt : std::optional<std::string>(post.key);
        // ON CONFLICT: another process used the key since our check (it
        // waits for that transaction, then finds its post below).
        const auto inserted = tx().exec_params(
            "INSERT INTO posts (text, media, tags, scheduled_at, timezone, key, created_at, updated_at, options, "
            "user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9) "
            "ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            post.text, dump(post.media), dump(post.tags), millis(post.scheduled_at), post.timezone, key,
            model::to_millis(now), dump(post.options), owner());
        if (inserted.empty()) {
          auto existing = find_post_by_key(post.key);
          if (!existing) throw_permanent("post key '" + post.key + "' is taken but its post cannot be read");
          result = Created{std::move(*existing), false};
          return;
        }
        const std::int64_t post_id = i64(inserted[0][0]);
        for (const auto& target : post.targets) {
          // FOR SHARE: a concurrent remove_account waits for us, or we see it.
          const auto r = tx().exec_params(
              std::string("SELECT 1 FROM accounts WHERE id = $1 AND removed_at IS NULL") + mine("accounts") + " FOR SHARE",
              target.account_id);
          if (r.empty()) throw_not_found("account " + std::to_string(target.account_id) + " does not exist");
        }
        const TargetStatus status = post.scheduled_at ? TargetStatus::scheduled : TargetStatus::draft;
        for (const auto& target : post.targets) {
          tx().exec_params(
              "INSERT INTO targets (post_id, account_id, variant, options, status, next_attempt_at, "
              "idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7)",
              post_id, target.account_id, target.variant, dump(target.options),
              std::string(model::to_string(status)), millis(post.scheduled_at), crypto::random_hex(16));
        }
        notify();
        result = Created{*find_post(post_id), true};
      });
    });
    return result;
  }

  std::optional<Post> find_post(std::int64_t id) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) -> std::optional<Post> {
        const auto r = t.exec_params(std::string("SELECT ") + kPostColumns + " FROM posts p WHERE p.id = $1" + mine("p"), id);
        if (r.empty()) return std::nullopt;
        Post p = read_post(r[0]);
        p.targets = targets_of(t, id);
        return p;
      });
    });
  }

  std::optional<Post> find_post_by_key(const std::string& key) override {
    return guarded([&]() -> std::optional<Post> {
      const auto id = read([&](pqxx::transaction_base& t) -> std::optional<std::int64_t> {
        const auto r = t.exec_params("SELECT id FROM posts WHERE key = $1" + mine("posts"), key);
        if (r.empty()) return std::nullopt;
        return i64(r[0][0]);
      });
      if (!id) return std::nullopt;
      return find_post(*id);
    });
  }

  std::vector<Post> list_posts(const PostFilter& filter) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        std::vector<Post> out;
        std::int64_t before = filter.before_id;
        const int limit = std::max(1, filter.limit);
        // A derived post status cannot be expressed in SQL, so it is filtered
        // here while paging on; every other criterion is in the query.
        const int page = filter.status ? std::max(limit, 500) : limit;
        while (static_cast<int>(out.size()) < limit) {
          std::vector<Post> batch = list_page(t, filter, before, page);
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
    });
  }

  void update_post(const Post& post, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        lock_targets(post.id);
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
        tx().exec_params("UPDATE posts SET text = $1, media = $2, tags = $3, updated_at = $4, options = $5 WHERE id = $6",
                         post.text, dump(post.media), dump(post.tags), model::to_millis(now), dump(post.options),
                         post.id);
        for (const auto& t : post.targets) {
          tx().exec_params("UPDATE targets SET variant = $1 WHERE id = $2 AND post_id = $3", t.variant, t.id, post.id);
        }
      });
    });
  }

  void schedule_post(std::int64_t id, Timestamp when, const std::string& timezone, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        require_post(id);
        const auto r = tx().exec_params(
            "UPDATE targets SET status = 'scheduled', next_attempt_at = $1, error = '' "
            "WHERE post_id = $2 AND status IN ('draft','scheduled','retry_wait')",
            model::to_millis(when), id);
        if (r.affected_rows() == 0) {
          throw_usage("post " + std::to_string(id) +
                      " has no draft or scheduled target left to schedule (use 'post retry' for failed ones)");
        }
        tx().exec_params("UPDATE posts SET scheduled_at = $1, timezone = $2, updated_at = $3 WHERE id = $4",
                         model::to_millis(when), timezone, model::to_millis(now), id);
        notify();
      });
    });
  }

  void cancel_post(std::int64_t id, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        require_post(id);
        const auto r = tx().exec_params(
            "UPDATE targets SET status = 'cancelled', next_attempt_at = NULL, lease_owner = '', "
            "lease_expires_at = NULL WHERE post_id = $1 AND status IN ('draft','scheduled','claimed','retry_wait')",
            id);
        if (r.affected_rows() == 0) throw_usage("post " + std::to_string(id) + " has nothing left to cancel");
        touch_post(id, now);
        notify();
      });
    });
  }

  void delete_post(std::int64_t id) override {
    guarded([&] {
      transaction([&] {
        require_post(id);
        lock_targets(id);
        const auto busy = tx().exec_params(
            "SELECT COUNT(*) FROM targets WHERE post_id = $1 AND status IN ('claimed','publishing')", id);
        if (i64(busy[0][0]) > 0) {
          throw_usage("post " + std::to_string(id) + " is being published right now; cancel it or wait");
        }
        tx().exec_params("DELETE FROM posts WHERE id = $1", id);
        notify();
      });
    });
  }

  int retry_post(std::int64_t id, Timestamp now) override {
    int changed = 0;
    guarded([&] {
      transaction([&] {
        require_post(id);
        const auto r = tx().exec_params(
            "UPDATE targets SET status = 'scheduled', error = '', retry_from = attempts, "
            "next_attempt_at = GREATEST($1::bigint, COALESCE((SELECT scheduled_at FROM posts WHERE id = $2), $1::bigint)), "
            "lease_owner = '', lease_expires_at = NULL "
            "WHERE post_id = $2 AND status IN ('failed','unknown','cancelled') "
            "AND account_id IN (SELECT id FROM accounts WHERE removed_at IS NULL)",
            model::to_millis(now), id);
        changed = static_cast<int>(r.affected_rows());
        if (changed > 0) {
          touch_post(id, now);
          notify();
        }
      });
    });
    return changed;
  }

  // ---- publishing ---------------------------------------------------------

  std::optional<Timestamp> next_due() override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        return optional_time(
            t.exec("SELECT MIN(next_attempt_at) FROM targets WHERE status IN ('scheduled','retry_wait')")[0][0]);
      });
    });
  }

  std::vector<Claim> claim_due(Timestamp now, const std::string& owner, std::chrono::milliseconds lease,
                               int limit) override {
    // SKIP LOCKED: rows another daemon is claiming right now are left to it
    // instead of waited for; the LIMIT is applied to the rows we can lock.
    // SQLite reads a negative LIMIT as none; NULL is PostgreSQL's none.
    return claim_where(
        "SELECT id FROM targets WHERE status IN ('scheduled','retry_wait') AND next_attempt_at <= $3 "
        "ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED",
        now, owner, lease, model::to_millis(now), limit < 0 ? std::nullopt : std::optional<int>(limit));
  }

  std::vector<Claim> claim_post(std::int64_t post_id, Timestamp now, const std::string& owner,
                                std::chrono::milliseconds lease) override {
    // Waits for rows locked elsewhere (then skips those no longer waiting),
    // so every target still unfinished when the locks clear is leased.
    return claim_where(
        "SELECT id FROM targets WHERE post_id = $3 AND status IN ('draft','scheduled','retry_wait') "
        "ORDER BY id FOR UPDATE",
        now, owner, lease, post_id);
  }

  Attempt begin_attempt(std::int64_t target_id, const std::string& owner, Timestamp now) override {
    Attempt a;
    guarded([&] {
      transaction([&] {
        // FOR UPDATE: recovery on another daemon cannot move the target
        // between this check and the update below.
        const auto t = tx().exec_params(
            "SELECT status, lease_owner, attempts, idempotency_key, lease_expires_at FROM targets "
            "WHERE id = $1 FOR UPDATE",
            target_id);
        if (t.empty()) throw_not_found("target " + std::to_string(target_id) + " does not exist");
        // An expired lease may already be someone else's: recovery could
        // mark this call unknown the moment it starts.
        const auto& row = t[0];
        if (text(row[0]) != "claimed" || text(row[1]) != owner || row[4].is_null() ||
            i64(row[4]) < model::to_millis(now)) {
          throw_usage("target " + std::to_string(target_id) + " is no longer leased to " + owner);
        }
        a.target_id = target_id;
        a.number = i32(row[2]) + 1;
        a.idempotency_key = text(row[3]);
        a.owner = owner;
        a.started_at = now;
        const auto ins = tx().exec_params(
            "INSERT INTO attempts (target_id, number, idempotency_key, owner, started_at, outcome) "
            "VALUES ($1, $2, $3, $4, $5, 'pending') RETURNING id",
            target_id, a.number, a.idempotency_key, owner, model::to_millis(now));
        a.id = i64(ins[0][0]);
        tx().exec_params("UPDATE targets SET status = 'publishing', attempts = $1 WHERE id = $2", a.number,
                         target_id);
      });
    });
    return a;
  }

  void finish_attempt(std::int64_t attempt_id, const AttemptResult& result, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        const auto find = tx().exec_params(
            "SELECT a.target_id, t.status, (SELECT MAX(id) FROM attempts WHERE target_id = a.target_id) "
            "FROM attempts a JOIN targets t ON t.id = a.target_id WHERE a.id = $1 FOR UPDATE OF t",
            attempt_id);
        if (find.empty()) throw_not_found("attempt " + std::to_string(attempt_id) + " does not exist");
        const std::int64_t target_id = i64(find[0][0]);
        const std::string status = text(find[0][1]);
        const bool latest = i64(find[0][2]) == attempt_id;

        std::string remote_id;
        for (const auto& id : result.remote_ids) remote_id += (remote_id.empty() ? "" : ",") + id;
        tx().exec_params(
            "UPDATE attempts SET finished_at = $1, outcome = $2, http_status = $3, remote_id = $4, error = $5 "
            "WHERE id = $6",
            model::to_millis(now), std::string(model::to_string(result.outcome)), result.http_status, remote_id,
            result.error, attempt_id);

        // A call that outlived its lease may find the target already marked
        // unknown by recovery; its real outcome is better information, so it
        // still applies. Anything else means someone else owns the target.
        if (!latest || (status != "publishing" && status != "unknown")) return;
        const bool published = result.next_status == TargetStatus::published;
        const bool retry = result.next_status == TargetStatus::retry_wait;
        tx().exec_params(
            "UPDATE targets SET status = $1, next_attempt_at = $2, lease_owner = '', lease_expires_at = NULL, "
            "error = $3, "
            "remote_ids = CASE WHEN $4::boolean THEN $5 ELSE remote_ids END, "
            "remote_url = CASE WHEN $4::boolean THEN $6 ELSE remote_url END, "
            "published_at = CASE WHEN $4::boolean THEN $7::bigint ELSE published_at END WHERE id = $8",
            std::string(model::to_string(result.next_status)),
            retry ? millis(result.next_attempt_at) : std::optional<std::int64_t>{},
            published ? std::string() : result.error, published, dump(result.remote_ids), result.remote_url,
            model::to_millis(now), target_id);
        tx().exec_params("UPDATE posts SET updated_at = $1 WHERE id = (SELECT post_id FROM targets WHERE id = $2)",
                         model::to_millis(now), target_id);
        if (retry) notify();
      });
    });
  }

  void release_claim(std::int64_t target_id, const std::string& owner,
                     std::optional<Timestamp> not_before) override {
    guarded([&] {
      transaction([&] {
        const auto r = tx().exec_params(
            "UPDATE targets SET status = CASE WHEN next_attempt_at IS NULL THEN 'draft' "
            "WHEN attempts > 0 THEN 'retry_wait' ELSE 'scheduled' END, "
            "next_attempt_at = CASE WHEN $3::BIGINT IS NULL OR next_attempt_at IS NULL THEN next_attempt_at "
            "ELSE GREATEST(next_attempt_at, $3::BIGINT) END, "
            "lease_owner = '', lease_expires_at = NULL "
            "WHERE id = $1 AND status = 'claimed' AND lease_owner = $2",
            target_id, owner, millis(not_before));
        if (r.affected_rows() > 0) notify();
      });
    });
  }

  std::vector<Target> recover_expired(Timestamp now) override {
    std::vector<Target> unknown;
    guarded([&] {
      transaction([&] {
        // Rows are locked in id order, so two daemons recovering at once
        // queue up instead of deadlocking.
        const auto back = tx().exec_params(
            "UPDATE targets SET status = CASE WHEN attempts > 0 THEN 'retry_wait' ELSE 'scheduled' END, "
            "next_attempt_at = COALESCE(next_attempt_at, $1), lease_owner = '', lease_expires_at = NULL "
            "WHERE id IN (SELECT id FROM targets WHERE status = 'claimed' AND lease_expires_at < $1 "
            "ORDER BY id FOR UPDATE)",
            model::to_millis(now));

        // FOR UPDATE re-checks each row after any concurrent change commits:
        // a target another daemon just finished or recovered is left out.
        const auto found = tx().exec_params(std::string("SELECT ") + kTargetColumns +
                                                " FROM targets t JOIN accounts a ON a.id = t.account_id "
                                                "WHERE t.status = 'publishing' AND t.lease_expires_at < $1 "
                                                "ORDER BY t.id FOR UPDATE OF t",
                                            model::to_millis(now));
        for (const auto& row : found) unknown.push_back(read_target(row));
        const std::string why =
            "the publishing process stopped during the call (lease expired); the post may or may not have been "
            "published, so it is not re-sent: check the network, then 'multivio post retry' if it is missing";
        for (auto& t : unknown) {
          tx().exec_params(
              "UPDATE targets SET status = 'unknown', error = $1, lease_owner = '', lease_expires_at = NULL, "
              "next_attempt_at = NULL WHERE id = $2",
              why, t.id);
          tx().exec_params(
              "UPDATE attempts SET outcome = 'unknown', finished_at = $1, error = $2 "
              "WHERE target_id = $3 AND outcome = 'pending'",
              model::to_millis(now), why, t.id);
          t.status = TargetStatus::unknown;
          t.error = why;
        }
        if (back.affected_rows() > 0 || !unknown.empty()) notify();
      });
    });
    return unknown;
  }

  std::vector<Attempt> attempts(std::int64_t target_id) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        std::vector<Attempt> out;
        for (const auto& row : t.exec_params(std::string("SELECT ") + kAttemptColumns +
                                                 " FROM attempts WHERE target_id = $1 ORDER BY number, id",
                                             target_id)) {
          out.push_back(read_attempt(row));
        }
        return out;
      });
    });
  }

  int renew_leases(const std::string& owner, const std::vector<std::int64_t>& target_ids, Timestamp until) override {
    int renewed = 0;
    if (target_ids.empty()) return 0;
    guarded([&] {
      transaction([&] {
        const auto r = tx().exec_params(
            "UPDATE targets SET lease_expires_at = $1 WHERE id = ANY($2::bigint[]) AND lease_owner = $3 "
            "AND status IN ('claimed','publishing')",
            model::to_millis(until), id_array(target_ids), owner);
        renewed = static_cast<int>(r.affected_rows());
      });
    });
    return renewed;
  }

  std::vector<Target> overdue(Timestamp before) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        std::vector<Target> out;
        for (const auto& row : t.exec_params(std::string("SELECT ") + kTargetColumns +
                                                 " FROM targets t JOIN accounts a ON a.id = t.account_id "
                                                 "WHERE t.status IN ('scheduled','retry_wait') AND t.next_attempt_at < $1 "
                                                 "ORDER BY t.next_attempt_at, t.id",
                                             model::to_millis(before))) {
          out.push_back(read_target(row));
        }
        return out;
      });
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
        const auto r = tx().exec_params(
            "UPDATE targets SET status = 'retry_wait', next_attempt_at = $1, error = $2, "
            "lease_owner = '', lease_expires_at = NULL WHERE id = $3 AND status = 'unknown'",
            model::to_millis(when), note, target_id);
        if (r.affected_rows() > 0) notify();
      });
    });
  }

  bool resolve_unknown(std::int64_t target_id, const std::vector<std::string>& remote_ids,
                       const std::string& remote_url, Timestamp now) override {
    bool changed = false;
    guarded([&] {
      transaction([&] {
        const auto r = tx().exec_params(
            "UPDATE targets SET status = 'published', remote_ids = $1, remote_url = $2, error = '', "
            "published_at = $3, next_attempt_at = NULL, lease_owner = '', lease_expires_at = NULL "
            "WHERE id = $4 AND status = 'unknown'",
            dump(remote_ids), remote_url, model::to_millis(now), target_id);
        changed = r.affected_rows() > 0;
        if (changed) notify();
      });
    });
    return changed;
  }

  int change_fd() override {
    if (!listen_) {
      try {
        listen_ = connect(url_, ErrorKind::transient);
        receiver_ = std::make_unique<ChangeReceiver>(*listen_);
      } catch (const std::exception& e) {
        receiver_.reset();
        listen_.reset();
        spdlog::warn("cannot listen for database changes on {}: {}", redact_url(url_), e.what());
        return -1;
      }
    }
    return listen_->sock();
  }

  void drain_changes() override {
    if (!listen_) return;
    try {
      listen_->get_notifs();
    } catch (const std::exception& e) {
      // The next change_fd() connects again (a new descriptor).
      spdlog::warn("lost the database change listener on {}: {}", redact_url(url_), e.what());
      receiver_.reset();
      listen_.reset();
    }
  }

  void set_target_variant(std::int64_t target_id, const std::string& owner, const std::string& text) override {
    guarded([&] {
      transaction([&] {
        const auto r = tx().exec_params(
            "UPDATE targets SET variant = $1 WHERE id = $2 AND lease_owner = $3 AND status IN ('claimed','publishing')",
            text, target_id, owner);
        if (r.affected_rows() == 0) {
          throw_usage("target " + std::to_string(target_id) + " is no longer leased to " + owner);
        }
      });
    });
  }

  void save_target_progress(std::int64_t target_id, const std::string& owner,
                            const nlohmann::json& progress) override {
    guarded([&] {
      transaction([&] {
        const auto r = tx().exec_params(
            "UPDATE targets SET progress = $1 WHERE id = $2 AND lease_owner = $3 "
            "AND status IN ('claimed','publishing')",
            dump(progress), target_id, owner);
        if (r.affected_rows() == 0) {
          throw_usage("target " + std::to_string(target_id) + " is no longer leased to " + owner);
        }
      });
    });
  }

  std::vector<Event> events_after(std::int64_t after_id, std::size_t limit) override {
    return guarded([&] {
      std::vector<Event> out;
      read([&](pqxx::transaction_base& t) {
        // LEFT JOINs: a deleted post's events stay, with nothing to add.
        for (const auto& r : t.exec_params(
                 std::string("SELECT e.id, e.post_id, e.target_id, e.status, e.at, "
                             "COALESCE(a.platform || ':' || a.name, ''), COALESCE(tg.remote_url, ''), "
                             "COALESCE(tg.error, '') FROM events e LEFT JOIN targets tg ON tg.id = e.target_id "
                             "LEFT JOIN accounts a ON a.id = tg.account_id WHERE e.id > $1") +
                     mine("e") + " ORDER BY e.id LIMIT $2",
                 after_id, static_cast<std::int64_t>(limit))) {
          Event e;
          e.id = i64(r[0]);
          e.post_id = i64(r[1]);
          e.target_id = i64(r[2]);
          e.status = text(r[3]);
          e.at = model::from_millis(i64(r[4]));
          e.account_ref = text(r[5]);
          e.remote_url = text(r[6]);
          e.error = text(r[7]);
          out.push_back(std::move(e));
        }
      });
      return out;
    });
  }

  std::int64_t last_event_id() override {
    return guarded([&] {
      std::int64_t id = 0;
      read([&](pqxx::transaction_base& t) { id = i64(t.exec("SELECT COALESCE(MAX(id), 0) FROM events")[0][0]); });
      return id;
    });
  }

  void record_remote_ids(std::int64_t target_id, const std::string& owner,
                         const std::vector<std::string>& remote_ids) override {
    guarded([&] {
      transaction([&] {
        const auto r = tx().exec_params(
            "UPDATE targets SET remote_ids = $1 WHERE id = $2 AND lease_owner = $3 "
            "AND status IN ('claimed','publishing')",
            dump(remote_ids), target_id, owner);
        if (r.affected_rows() == 0) {
          throw_usage("target " + std::to_string(target_id) + " is no longer leased to " + owner);
        }
      });
    });
  }

  void record_ai_usage(const AiUsageRecord& r) override {
    guarded([&] {
      transaction([&] {
        tx().exec_params(
            "INSERT INTO ai_usage (at, provider, model, purpose, ok, prompt_tokens, completion_tokens, latency_ms) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            model::to_millis(r.at), r.provider, r.model, r.purpose, r.ok ? 1 : 0,
            static_cast<std::int64_t>(r.prompt_tokens), static_cast<std::int64_t>(r.completion_tokens),
            static_cast<std::int64_t>(r.latency.count()));
      });
    });
  }

  std::vector<AiUsageTotal> ai_usage(std::optional<Timestamp> since) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        std::vector<AiUsageTotal> out;
        for (const auto& row : t.exec_params(
                 "SELECT provider, model, COUNT(*), SUM(1 - ok), SUM(prompt_tokens), SUM(completion_tokens), "
                 "SUM(latency_ms) FROM ai_usage WHERE at >= $1 GROUP BY provider, model ORDER BY provider, model",
                 since ? model::to_millis(*since) : std::numeric_limits<std::int64_t>::min())) {
          AiUsageTotal total;
          total.provider = text(row[0]);
          total.model = text(row[1]);
          total.calls = i64(row[2]);
          total.failed = i64(row[3]);
          total.prompt_tokens = i64(row[4]);
          total.completion_tokens = i64(row[5]);
          total.latency = std::chrono::milliseconds(i64(row[6]));
          out.push_back(std::move(total));
        }
        return out;
      });
    });
  }

  // ---- media library ------------------------------------------------------

  MediaItem add_media(const MediaItem& item) override {
    MediaItem out = item;
    out.user_id = owner();
    guarded([&] {
      transaction([&] {
        // ON CONFLICT rather than a pre-check: two processes adding the same
        // file at once must not turn the loser's unique violation into a
        // "permanent" database error.
        const auto r = tx().exec_params(
            "INSERT INTO media (user_id, sha256, path, mime, kind, bytes, width, height, duration_ms, alt, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
            "ON CONFLICT (user_id, sha256) DO NOTHING RETURNING id",
            out.user_id, item.sha256, item.path, item.mime, item.kind, item.bytes, item.width, item.height,
            item.duration_ms, item.alt, model::to_millis(item.created_at));
        if (r.empty()) throw_usage("media " + item.sha256 + " is already in the library");
        out.id = i64(r[0][0]);
      });
    });
    return out;
  }

  std::optional<MediaItem> find_media(std::int64_t id) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        const auto r =
            t.exec_params(std::string("SELECT ") + kMediaColumns + " FROM media WHERE id = $1" + mine("media"), id);
        return r.empty() ? std::nullopt : std::optional<MediaItem>(read_media(r[0]));
      });
    });
  }

  std::optional<MediaItem> find_media_by_sha(const std::string& sha256) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        // kAnyUser has no single owner: it looks up the row the local user would own.
        const auto r = t.exec_params(
            std::string("SELECT ") + kMediaColumns + " FROM media WHERE sha256 = $1 AND user_id = $2", sha256, owner());
        return r.empty() ? std::nullopt : std::optional<MediaItem>(read_media(r[0]));
      });
    });
  }

  std::vector<MediaItem> list_media() override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) {
        std::vector<MediaItem> out;
        const std::string sql =
            std::string("SELECT ") + kMediaColumns + " FROM media WHERE 1 = 1" + mine("media") + " ORDER BY id";
        for (const auto& row : t.exec(sql)) out.push_back(read_media(row));
        return out;
      });
    });
  }

  void set_media_alt(std::int64_t id, const std::string& alt) override {
    guarded([&] {
      transaction([&] {
        const auto r = tx().exec_params("UPDATE media SET alt = $1 WHERE id = $2" + mine("media"), alt, id);
        if (r.affected_rows() == 0) throw_not_found("media " + std::to_string(id) + " does not exist");
      });
    });
  }

  std::int64_t remove_media(std::int64_t id) override {
    return guarded([&] {
      std::int64_t left = 0;
      transaction([&] {
        const auto r = tx().exec_params("DELETE FROM media WHERE id = $1" + mine("media") + " RETURNING sha256", id);
        if (r.empty()) throw_not_found("media " + std::to_string(id) + " does not exist");
        left = i64(tx().exec_params("SELECT COUNT(*) FROM media WHERE sha256 = $1", text(r[0][0]))[0][0]);
      });
      return left;
    });
  }

  void put_secret(const std::string& name, const std::string& sealed, Timestamp now) override {
    guarded([&] {
      transaction([&] {
        tx().exec_params(
            "INSERT INTO secrets (name, sealed, updated_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
            name, sealed, model::to_millis(now));
      });
    });
  }

  std::optional<std::string> get_secret(const std::string& name) override {
    return guarded([&] {
      return read([&](pqxx::transaction_base& t) -> std::optional<std::string> {
        const auto r = t.exec_params("SELECT sealed FROM secrets WHERE name = $1", name);
        if (r.empty()) return std::nullopt;
        return text(r[0][0]);
      });
    });
  }

 private:
  // " AND <table>.user_id = N" for the current user, or nothing with
  // kAnyUser. The id is an integer we own, so it is safe to splice in, and
  // the callers' $n parameters stay as they were.
  std::string mine(const char* table) const {
    if (user_ == kAnyUser) return {};
    return std::string(" AND ") + table + ".user_id = " + std::to_string(user_);
  }
  // The owner of a new row: the daemon's unscoped store writes as the local user.
  std::int64_t owner() const { return user_ == kAnyUser ? kLocalUser : user_; }

  static User read_user(const pqxx::row& r) { return User{i64(r[0]), text(r[1]), model::from_millis(i64(r[2]))}; }

  static MediaItem read_media(const pqxx::row& r) {
    MediaItem m;
    m.id = i64(r[0]);
    m.user_id = i64(r[1]);
    m.sha256 = text(r[2]);
    m.path = text(r[3]);
    m.mime = text(r[4]);
    m.kind = text(r[5]);
    m.bytes = i64(r[6]);
    if (!r[7].is_null()) m.width = r[7].as<int>();
    if (!r[8].is_null()) m.height = r[8].as<int>();
    if (!r[9].is_null()) m.duration_ms = i64(r[9]);
    m.alt = text(r[10]);
    m.created_at = model::from_millis(i64(r[11]));
    return m;
  }

  static ApiToken read_token(const pqxx::row& r) {
    ApiToken t;
    t.id = i64(r[0]);
    t.user_id = i64(r[1]);
    t.name = text(r[2]);
    t.hash = text(r[3]);
    t.scopes = string_list(r[4]);
    t.created_at = model::from_millis(i64(r[5]));
    t.expires_at = optional_time(r[6]);
    t.revoked_at = optional_time(r[7]);
    t.last_used_at = optional_time(r[8]);
    return t;
  }

  static std::unique_ptr<pqxx::connection> connect(const std::string& url, ErrorKind kind) {
    return ConnectionPool::connect(url, kind);
  }
  static std::string trimmed(const std::string& s) { return ConnectionPool::trimmed(s); }

  // PostgreSQL errors become Error(transient) for a lost connection or a
  // deadlock/serialization failure (trying again can succeed) and
  // Error(permanent) otherwise; our own Errors pass through unchanged.
  template <typename Fn>
  auto guarded(Fn&& fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const Error&) {
      throw;
    } catch (const pqxx::broken_connection& e) {
      broken_ = true;
      throw Error(ErrorKind::transient, "database: " + trimmed(e.what()));
    } catch (const pqxx::in_doubt_error& e) {
      // The connection went away during COMMIT: whether it committed is unknown.
      broken_ = true;
      throw Error(ErrorKind::permanent, "database: " + trimmed(e.what()));
    } catch (const pqxx::transaction_rollback& e) {
      throw Error(ErrorKind::transient, "database: " + trimmed(e.what()));
    } catch (const pqxx::pqxx_exception& e) {
      throw Error(ErrorKind::permanent, "database: " + trimmed(e.base().what()));
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::permanent, std::string("database holds malformed JSON: ") + e.what());
    }
  }

  // Holds a pooled connection in conn_ for one transaction or read (none
  // when the caller already holds one). A connection lost during it goes
  // back as broken and is closed, so the next call gets a working one as
  // soon as the server is back.
  class Checkout {
   public:
    explicit Checkout(PostgresStore& store) : store_(store), owner_(!store.conn_) {
      if (owner_) {
        store_.conn_ = store_.guarded([&] { return store_.pool_.acquire(ErrorKind::transient); });
        store_.broken_ = false;
      }
    }
    ~Checkout() {
      if (!owner_) return;
      store_.pool_.release(std::move(store_.conn_), !store_.broken_);
      store_.broken_ = false;
    }
    Checkout(const Checkout&) = delete;
    Checkout& operator=(const Checkout&) = delete;

   private:
    PostgresStore& store_;
    bool owner_;
  };

  // The open transaction; only valid while depth_ > 0.
  pqxx::work& tx() { return *tx_; }

  // Runs fn on the open transaction, or as single statements outside one.
  template <typename Fn>
  auto read(Fn&& fn) -> decltype(fn(std::declval<pqxx::transaction_base&>())) {
    if (depth_ > 0) return fn(*tx_);
    const Checkout checkout(*this);
    pqxx::nontransaction n(*conn_);
    return fn(n);
  }

  void abort_quietly() noexcept {
    try {
      if (tx_) tx_->abort();
    } catch (...) {
    }
    tx_.reset();
  }

  // Delivered to every LISTEN connection when the transaction commits;
  // several in one transaction arrive as one.
  void notify() { tx().exec(std::string("NOTIFY ") + kChannel); }

  static bool table_exists(pqxx::transaction_base& t, const char* name) {
    return t.exec_params("SELECT to_regclass($1) IS NOT NULL", std::string(name))[0][0].as<bool>();
  }

  // Integers by the column's type (int2/int4/int8), everything else as the
  // text PostgreSQL holds, byte for byte.
  static TableDump dump_table(pqxx::transaction_base& t, const char* table) {
    constexpr pqxx::oid kInt8 = 20, kInt2 = 21, kInt4 = 23;
    TableDump dump;
    dump.table = table;
    const auto r = t.exec(std::string("SELECT * FROM ") + table + " ORDER BY 1");
    const auto n = static_cast<std::size_t>(r.columns());
    std::vector<bool> integer(n);
    for (std::size_t i = 0; i < n; ++i) {
      dump.columns.emplace_back(r.column_name(static_cast<pqxx::row::size_type>(i)));
      const auto type = r.column_type(static_cast<pqxx::row::size_type>(i));
      integer[i] = type == kInt8 || type == kInt2 || type == kInt4;
    }
    dump.rows.reserve(r.size());
    for (const auto& row : r) {
      auto& out = dump.rows.emplace_back();
      out.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        const auto f = row[static_cast<pqxx::row::size_type>(i)];
        if (f.is_null()) {
          out.emplace_back(std::monostate{});
        } else if (integer[i]) {
          out.emplace_back(i64(f));
        } else {
          out.emplace_back(std::string(f.c_str(), f.size()));
        }
      }
    }
    dump.counted = i64(t.exec(std::string("SELECT COUNT(*) FROM ") + table)[0][0]);
    return dump;
  }

  // Multi-row INSERTs (far fewer round trips than one per row), each value
  // cast to the destination column's type: parameters go as text.
  void insert_rows(const TableDump& dump) {
    if (dump.rows.empty()) return;
    std::map<std::string, std::string> types;
    for (const auto& row : tx().exec_params(
             "SELECT column_name, data_type FROM information_schema.columns "
             "WHERE table_schema = current_schema() AND table_name = $1",
             dump.table)) {
      types[text(row[0])] = text(row[1]);
    }
    std::vector<std::string> casts;
    for (const auto& column : dump.columns) {
      const auto it = types.find(column);
      if (it == types.end()) throw_permanent("the destination's table " + dump.table + " has no column " + column);
      casts.push_back("::" + it->second);
    }
    const std::size_t n = dump.columns.size();
    // PostgreSQL takes at most 65,535 parameters per statement.
    const std::size_t batch = std::max<std::size_t>(1, std::min<std::size_t>(500, 30'000 / n));
    std::vector<std::string> numbers;  // the text of integer values, alive until the statement ran
    std::vector<const char*> values;
    for (std::size_t first = 0; first < dump.rows.size(); first += batch) {
      const std::size_t rows = std::min(batch, dump.rows.size() - first);
      numbers.clear();
      numbers.reserve(rows * n);
      values.clear();
      for (std::size_t r = first; r < first + rows; ++r) {
        for (const auto& v : dump.rows[r]) {
          if (const auto* s = std::get_if<std::string>(&v)) {
            // PostgreSQL text cannot hold NUL; passing it on would cut the value short.
            if (s->find('\0') != std::string::npos) {
              throw_permanent("table " + dump.table + " holds a value with a NUL byte, which PostgreSQL cannot store");
            }
            values.push_back(s->c_str());
          } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
            values.push_back(numbers.emplace_back(std::to_string(*i)).c_str());
          } else {
            values.push_back(nullptr);  // NULL
          }
        }
      }
      const auto placeholder = [&](std::size_t i) { return "$" + std::to_string(i + 1) + casts[i % n]; };
      tx().exec_params(insert_sql(dump, rows, placeholder), pqxx::prepare::make_dynamic_params(values));
    }
  }

  // Only a target still waiting moves: one claimed meanwhile is left alone.
  void move_overdue(std::int64_t target_id, const char* status, const std::string& why, Timestamp now) {
    guarded([&] {
      transaction([&] {
        const bool draft = std::string(status) == "draft";
        const auto r = tx().exec_params(
            "UPDATE targets SET status = $1, error = $2, next_attempt_at = CASE WHEN $3::boolean "
            "THEN next_attempt_at ELSE NULL END WHERE id = $4 AND status IN ('scheduled','retry_wait')",
            std::string(status), why, draft, target_id);
        if (r.affected_rows() > 0) {
          tx().exec_params("UPDATE posts SET updated_at = $1 WHERE id = (SELECT post_id FROM targets WHERE id = $2)",
                           model::to_millis(now), target_id);
          notify();
        }
      });
    });
  }

  void require_post(std::int64_t id) {
    if (tx().exec_params("SELECT 1 FROM posts WHERE id = $1" + mine("posts"), id).empty()) {
      throw_not_found("post " + std::to_string(id) + " does not exist");
    }
  }

  // Holds the post's targets until commit, so no daemon claims one between
  // a check and the write that relies on it.
  void lock_targets(std::int64_t post_id) {
    tx().exec_params("SELECT id FROM targets WHERE post_id = $1 ORDER BY id FOR UPDATE", post_id);
  }

  void touch_post(std::int64_t id, Timestamp now) {
    tx().exec_params("UPDATE posts SET updated_at = $1 WHERE id = $2", model::to_millis(now), id);
  }

  std::vector<Target> targets_of(pqxx::transaction_base& t, std::int64_t post_id) {
    std::vector<Target> out;
    for (const auto& row : t.exec_params(std::string("SELECT ") + kTargetColumns +
                                             " FROM targets t JOIN accounts a ON a.id = t.account_id "
                                             "WHERE t.post_id = $1 ORDER BY t.id",
                                         post_id)) {
      out.push_back(read_target(row));
    }
    return out;
  }

  // One query returns posts with their targets (newest post first), so a
  // listing costs one statement however many posts it shows.
  std::vector<Post> list_page(pqxx::transaction_base& t, const PostFilter& filter, std::int64_t before, int limit) {
    std::vector<std::string> args;
    const auto arg = [&](std::string value) {
      args.push_back(std::move(value));
      return "$" + std::to_string(args.size());
    };
    std::ostringstream where;
    where << "1 = 1" << mine("p");
    if (before > 0) where << " AND p.id < " << arg(std::to_string(before)) << "::bigint";
    if (filter.since) {
      where << " AND COALESCE(p.scheduled_at, p.created_at) >= "
            << arg(std::to_string(model::to_millis(*filter.since))) << "::bigint";
    }
    if (filter.until) {
      where << " AND COALESCE(p.scheduled_at, p.created_at) < "
            << arg(std::to_string(model::to_millis(*filter.until))) << "::bigint";
    }
    if (filter.account_id) {
      where << " AND EXISTS (SELECT 1 FROM targets x WHERE x.post_id = p.id AND x.account_id = "
            << arg(std::to_string(*filter.account_id)) << "::bigint)";
    }
    if (filter.target_status) {
      where << " AND EXISTS (SELECT 1 FROM targets x WHERE x.post_id = p.id AND x.status = "
            << arg(std::string(model::to_string(*filter.target_status))) << ")";
    }
    if (filter.overdue_before) {
      where << " AND EXISTS (SELECT 1 FROM targets x WHERE x.post_id = p.id AND ((x.status IN "
               "('scheduled','retry_wait') AND x.next_attempt_at < "
            << arg(std::to_string(model::to_millis(*filter.overdue_before)))
            << "::bigint) OR (x.status = 'draft' AND x.error LIKE 'overdue:%')))";
    }
    const std::string limit_arg = arg(std::to_string(limit));
    const std::string sql = std::string("SELECT ") + kPostColumns + ", " + kTargetColumns +
                            " FROM (SELECT * FROM posts p WHERE " + where.str() + " ORDER BY p.id DESC LIMIT " +
                            limit_arg + "::bigint) p "
                            "LEFT JOIN targets t ON t.post_id = p.id LEFT JOIN accounts a ON a.id = t.account_id "
                            "ORDER BY p.id DESC, t.id";
    std::vector<Post> out;
    for (const auto& row : t.exec_params(sql, pqxx::prepare::make_dynamic_params(args))) {
      const std::int64_t id = i64(row[0]);
      if (out.empty() || out.back().id != id) out.push_back(read_post(row));
      if (!row[kPostColumnCount].is_null()) out.back().targets.push_back(read_target(row, kPostColumnCount));
    }
    return out;
  }

  // Leases the rows `select` picks (its parameters are $3 onwards, from
  // args) in one UPDATE ... RETURNING, then loads what the publisher needs.
  template <typename... Args>
  std::vector<Claim> claim_where(const std::string& select, Timestamp now, const std::string& owner,
                                 std::chrono::milliseconds lease, const Args&... args) {
    return guarded([&] {
      std::vector<Claim> claims;
      transaction([&] {
        // The CTE is evaluated once and its row locks held to commit.
        const auto leased = tx().exec_params(
            "WITH picked AS (" + select +
                ") UPDATE targets t SET status = 'claimed', lease_owner = $1, lease_expires_at = $2 "
                "FROM picked WHERE t.id = picked.id RETURNING t.id",
            owner, model::to_millis(now + lease), args...);
        if (leased.empty()) return;
        std::vector<std::int64_t> ids;
        for (const auto& row : leased) ids.push_back(i64(row[0]));
        const auto rows = tx().exec_params(std::string("SELECT ") + kTargetColumns + ", " + kPostColumns + ", " +
                                               kAccountColumns +
                                               " FROM targets t JOIN accounts a ON a.id = t.account_id "
                                               "JOIN posts p ON p.id = t.post_id WHERE t.id = ANY($1::bigint[]) "
                                               "ORDER BY t.id",
                                           id_array(ids));
        for (const auto& row : rows) {
          Claim c;
          c.target = read_target(row);
          c.post = read_post(row, kTargetColumnCount);
          c.account = read_account(row, kTargetColumnCount + kPostColumnCount);
          claims.push_back(std::move(c));
        }
      });
      // The most overdue target goes first (ties: oldest target first).
      std::stable_sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) {
        return a.target.next_attempt_at < b.target.next_attempt_at;
      });
      return claims;
    });
  }

  std::string url_;
  ConnectionPool& pool_;
  std::unique_ptr<pqxx::connection> conn_;  // only while a Checkout holds it
  std::unique_ptr<pqxx::work> tx_;
  int depth_ = 0;
  std::int64_t user_ = kLocalUser;  // see set_user()
  bool broken_ = false;
  std::unique_ptr<pqxx::connection> listen_;
  std::unique_ptr<ChangeReceiver> receiver_;
};

}  // namespace

std::unique_ptr<Store> open_postgres(const std::string& url, Migrate migrate) {
  return std::make_unique<PostgresStore>(url, migrate);
}

}  // namespace multivio::store

// The module's one entry point, looked up by store::open() with dlsym.
extern "C" __attribute__((visibility("default"))) multivio::store::PostgresOpener multivio_postgres_opener() {
  return &multivio::store::open_postgres;
}
