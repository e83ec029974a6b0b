// SPDX-License-Identifier: MIT
// `multivio db` below the CLI: store::copy between SQLite and PostgreSQL
// (every row and column, ids, sealed secrets byte for byte), its refusals,
// the guarantee that a failed copy leaves the destination as it was, and
// status/migrate on a database that is behind. PostgreSQL cases use the
// throw-away server of tests/fakes/postgres_server.hpp and are skipped when
// it cannot start.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/app/db.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/store/copy.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/fakes/postgres_server.hpp"

namespace multivio::store {
namespace {

namespace fs = std::filesystem;
using model::Account;
using model::Timestamp;

constexpr std::int64_t kT0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
Timestamp at(std::int64_t secs) { return model::from_millis(kT0 + secs * 1000); }

int latest() { return migrations().back().version; }

template <typename Fn>
std::string kind_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return std::string(kind_name(e.kind())) + ": " + e.what();
  } catch (const std::exception& e) {
    return std::string("non-Error exception: ") + e.what();
  }
  return "no error";
}

crypto::Key test_key() {
  crypto::Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(i * 7 + 3);
  return key;
}

// Runs SQL on a SQLite file without the store (to build old or broken databases).
void sqlite_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message << "\n" << sql;
}

// A database at schema version 1 (as an older multivio left it), with rows.
std::string v1_sqlite(const std::string& path) {
  sqlite_exec(path,
              "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER "
              "NOT NULL);" +
                  std::string(migrations()[0].sqlite) +
                  "INSERT INTO schema_migrations VALUES (1, 'initial schema', 0);"
                  "INSERT INTO accounts (platform, name, created_at) VALUES ('feed', 'old', 1);"
                  "INSERT INTO posts (text, created_at, updated_at) VALUES ('from v1', 1, 1);"
                  "INSERT INTO targets (post_id, account_id, status, idempotency_key) VALUES (1, 1, 'draft', 'k');");
  return "sqlite://" + path;
}

// Every kind of row multivio writes: removed and unhealthy accounts, sealed
// secrets, drafts, keys, variants, an id gap, attempts of every ending, AI
// usage and a stored secret; text with quotes, newlines and non-ASCII.
void populate(Store& s) {
  const crypto::Sealer sealer(test_key());
  Account a;
  a.platform = "feed";
  a.name = "main";
  a.handle = "@main";
  a.options = {{"path", "/tmp/feed"}, {"title", "Notes \"quoted\" ✓"}};
  a.secrets_sealed = sealer.seal(R"({"signing_secret":"s3cret"})");
  a.created_at = at(0);
  const Account main = s.add_account(a);
  a.platform = "webhook";
  a.name = "hook";
  a.handle = "";
  a.options = {{"url", "http://127.0.0.1:9/x"}, {"format", "discord"}};
  a.secrets_sealed = sealer.seal(R"({"access_token":"tok-ü"})");
  const Account hook = s.add_account(a);
  s.set_account_health(hook.id, false, "token expired — relink");
  a.platform = "feed";
  a.name = "old";
  a.secrets_sealed = sealer.seal("gone");
  const Account old = s.add_account(a);
  s.remove_account(old.id);

  NewPost p;
  p.text = "scheduled\nwith \"quotes\" and 'apostrophes' 🚀";
  p.media = {"/tmp/a.png"};
  p.tags = {"release", "ü"};
  p.scheduled_at = at(3600);
  p.timezone = "Europe/Berlin";
  p.key = "key-1";
  p.options = {{"thread", "auto"}};
  p.targets = {NewTarget{main.id, std::nullopt, nlohmann::json::object()},
               NewTarget{hook.id, std::string("short ✂"), nlohmann::json{{"format", "slack"}}}};
  s.create_post(p, at(1));

  NewPost draft;
  draft.text = "a draft";
  draft.targets = {NewTarget{main.id, std::nullopt, nlohmann::json::object()}};
  s.create_post(draft, at(2));
  const auto deleted = s.create_post(draft, at(3)).post;
  s.delete_post(deleted.id);  // an id gap the copy must keep

  NewPost due;
  due.text = "due now";
  due.scheduled_at = at(0);
  due.targets = {NewTarget{main.id, std::nullopt, nlohmann::json::object()}};
  s.create_post(due, at(4));
  due.text = "due and failing";
  due.targets = {NewTarget{hook.id, std::nullopt, nlohmann::json::object()}};
  s.create_post(due, at(5));

  const auto claims = s.claim_due(at(10), "daemon-1", std::chrono::seconds(60), 10);
  ASSERT_EQ(claims.size(), 2u);
  for (const auto& c : claims) {
    const auto attempt = s.begin_attempt(c.target.id, "daemon-1", at(11));
    AttemptResult r;
    if (c.account.id == main.id) {
      r.next_status = model::TargetStatus::published;
      r.http_status = 200;
      r.remote_ids = {"r-1", "r-2"};
      r.remote_url = "https://example.com/r-1";
    } else {
      r.outcome = model::AttemptOutcome::transient;
      r.next_status = model::TargetStatus::retry_wait;
      r.next_attempt_at = at(100);
      r.http_status = 503;
      r.error = "HTTP 503: try later";
    }
    s.finish_attempt(attempt.id, r, at(12));
  }

  s.record_ai_usage(AiUsageRecord{at(20), "https://api.x.ai/v1", "grok-3", "generate", true, 120, 80,
                                  std::chrono::milliseconds(900)});
  s.record_ai_usage(AiUsageRecord{at(21), "https://api.x.ai/v1", "grok-3", "hashtags", false, 0, 0,
                                  std::chrono::milliseconds(30)});
  s.put_secret("ai_api_key", sealer.seal("xai-key"), at(22));

  const auto alice = s.add_user("alice", at(30));
  ApiToken token;
  token.user_id = alice.id;
  token.name = "ci";
  token.hash = std::string(64, 'a');
  token.scopes = {"posts:write", "posts:read"};
  token.created_at = at(31);
  token.expires_at = at(86400);
  s.add_token(token);

  // One media item with NULL dimensions and one with all columns set.
  MediaItem clip;
  clip.sha256 = std::string(64, 'c');
  clip.path = "/data/media/cc/" + clip.sha256 + ".mp4";
  clip.mime = "video/mp4";
  clip.kind = "mp4";
  clip.bytes = 5'000'000'000;
  clip.duration_ms = 90'500;
  clip.created_at = at(40);
  s.add_media(clip);
  MediaItem chart = clip;
  chart.sha256 = std::string(64, 'd');
  chart.path = "/data/media/dd/" + chart.sha256 + ".png";
  chart.mime = "image/png";
  chart.kind = "png";
  chart.bytes = 1234;
  chart.width = 640;
  chart.height = 480;
  chart.duration_ms.reset();
  chart.alt = "p99 latency";
  s.add_media(chart);
}

// One table as column -> value per row, so two engines compare whatever
// their column order.
using Rows = std::vector<std::map<std::string, TableDump::Value>>;
std::map<std::string, Rows> contents(Store& s) {
  std::map<std::string, Rows> out;
  for (const auto& d : s.dump_tables()) {
    auto& rows = out[d.table];
    for (const auto& row : d.rows) {
      auto& m = rows.emplace_back();
      for (std::size_t i = 0; i < row.size(); ++i) m[d.columns[i]] = row[i];
    }
  }
  return out;
}

std::string describe(const TableDump::Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return "'" + std::get<std::string>(v) + "'";
}

void expect_same_contents(Store& a, Store& b) {
  const auto left = contents(a);
  const auto right = contents(b);
  ASSERT_EQ(left.size(), tables().size());
  ASSERT_EQ(right.size(), tables().size());
  for (const auto& [table, rows] : left) {
    const auto& other = right.at(table);
    ASSERT_EQ(rows.size(), other.size()) << table;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      ASSERT_EQ(rows[r].size(), other[r].size()) << table << " row " << r;
      for (const auto& [column, value] : rows[r]) {
        const auto it = other[r].find(column);
        ASSERT_NE(it, other[r].end()) << table << "." << column << " missing";
        EXPECT_EQ(value, it->second) << table << "." << column << " row " << r << ": " << describe(value) << " vs "
                                     << describe(it->second);
      }
    }
  }
}

nlohmann::json all_posts(Store& s) {
  PostFilter f;
  f.limit = 1000;
  auto doc = nlohmann::json::array();
  for (const auto& p : s.list_posts(f)) doc.push_back(model::to_json(p));
  return doc;
}

// ---- fixtures ---------------------------------------------------------------

class DbCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "multivio-dbcopy-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string sqlite_url(const std::string& name) const { return "sqlite://" + dir_ + "/" + name; }

  // A fresh database on the fake PostgreSQL server, or empty after
  // GTEST_SKIP() when the server cannot start here.
  std::string postgres_url() {
    try {
      return fakes::fresh_postgres_database();
    } catch (const std::exception& e) {
      skip_reason_ = e.what();
      return {};
    }
  }

  app::Context context(const std::string& database) const {
    app::Options options;
    options.database = database;
    const std::string home = dir_;
    options.env = [home](const std::string& name) -> std::optional<std::string> {
      if (name == "HOME") return home;
      if (name == "XDG_CONFIG_HOME") return home + "/config";
      if (name == "XDG_DATA_HOME") return home + "/data";
      return std::nullopt;
    };
    return app::Context(std::move(options));
  }

  std::string dir_;
  std::string skip_reason_;
};

// Declares `url`, a fresh PostgreSQL database, or skips the rest of the test.
#define REQUIRE_POSTGRES(url)                \
  const std::string url = postgres_url();   \
  if (url.empty()) GTEST_SKIP() << "no PostgreSQL server for tests: " << skip_reason_

// ---- copying ----------------------------------------------------------------

TEST_F(DbCopyTest, SqliteToPostgresToSqliteKeepsEveryRowColumnAndId) {
  REQUIRE_POSTGRES(pg);
  auto source = open(sqlite_url("source.db"));
  populate(*source);
  if (HasFatalFailure()) return;

  auto middle = open(pg, Migrate::later);
  const auto first = copy(*source, *middle, false);
  auto back = open(sqlite_url("back.db"), Migrate::later);
  const auto second = copy(*middle, *back, false);

  ASSERT_EQ(first.size(), tables().size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].table, tables()[i]);
    EXPECT_EQ(first[i].source, first[i].copied) << first[i].table;
    EXPECT_GT(first[i].copied, 0) << first[i].table << ": the fixture should fill every table";
    EXPECT_EQ(second[i].copied, first[i].copied) << second[i].table;
  }
  expect_same_contents(*source, *middle);
  expect_same_contents(*source, *back);
  EXPECT_EQ(middle->schema_version(), latest());
  EXPECT_EQ(back->schema_version(), latest());

  // What the daemon and the CLI do next works on the copies: listing gives
  // the same posts, sealed secrets still open with the same key, due work
  // can be claimed, and new rows get ids after the copied ones.
  const crypto::Sealer sealer(test_key());
  for (Store* copied : {middle.get(), back.get()}) {
    auto reopened = copied == middle.get() ? open(pg) : open(sqlite_url("back.db"));
    EXPECT_EQ(all_posts(*reopened), all_posts(*source));
    const auto hook = reopened->find_account("webhook", "hook");
    ASSERT_TRUE(hook);
    EXPECT_EQ(hook->secrets_sealed, source->find_account("webhook", "hook")->secrets_sealed);
    EXPECT_EQ(sealer.open(hook->secrets_sealed), R"({"access_token":"tok-ü"})");
    EXPECT_EQ(sealer.open(*reopened->get_secret("ai_api_key")), "xai-key");
    const auto claims = reopened->claim_due(at(200), "daemon-2", std::chrono::seconds(60), 10);
    ASSERT_EQ(claims.size(), 1u) << "the retry_wait target is due at +100 s";
    EXPECT_EQ(claims[0].post.text, "due and failing");
    EXPECT_EQ(reopened->attempts(claims[0].target.id).size(), 1u);

    std::int64_t max_post = 0;
    for (const auto& p : all_posts(*source)) max_post = std::max<std::int64_t>(max_post, p["id"].get<std::int64_t>());
    NewPost fresh;
    fresh.text = "after the copy";
    fresh.targets = {NewTarget{hook->id, std::nullopt, nlohmann::json::object()}};
    EXPECT_GT(reopened->create_post(fresh, at(300)).post.id, max_post);
    Account extra;
    extra.platform = "feed";
    extra.name = "extra";
    extra.created_at = at(300);
    EXPECT_GT(reopened->add_account(extra).id, 3);
  }
}

TEST_F(DbCopyTest, PostgresToPostgresAndSqliteToSqlite) {
  auto source = open(sqlite_url("source.db"));
  populate(*source);
  if (HasFatalFailure()) return;
  auto same_engine = open(sqlite_url("copy.db"), Migrate::later);
  copy(*source, *same_engine, false);
  expect_same_contents(*source, *same_engine);

  REQUIRE_POSTGRES(pg1);
  const std::string pg2 = postgres_url();
  auto a = open(pg1, Migrate::later);
  copy(*source, *a, false);
  auto b = open(pg2, Migrate::later);
  copy(*a, *b, false);
  expect_same_contents(*source, *b);
}

TEST_F(DbCopyTest, RefusesANonEmptyDestinationAndChangesNothing) {
  auto source = open(sqlite_url("source.db"));
  populate(*source);
  if (HasFatalFailure()) return;
  auto dest = open(sqlite_url("dest.db"));
  Account a;
  a.platform = "feed";
  a.name = "mine";
  a.created_at = at(0);
  dest->add_account(a);
  const auto before = contents(*dest);

  const std::string error = kind_of([&] { copy(*source, *dest, false); });
  EXPECT_EQ(error.rfind("usage: ", 0), 0u) << error;
  EXPECT_NE(error.find("not empty (accounts: 1)"), std::string::npos) << error;
  EXPECT_NE(error.find("--force"), std::string::npos) << error;
  EXPECT_EQ(contents(*dest), before);

  // --force replaces the destination's rows with the source's.
  copy(*source, *dest, true);
  expect_same_contents(*source, *dest);
  EXPECT_FALSE(dest->find_account("feed", "mine"));
}

TEST_F(DbCopyTest, RefusesToCopyADatabaseOntoItself) {
  auto source = open(sqlite_url("source.db"));
  populate(*source);
  if (HasFatalFailure()) return;
  const auto before = contents(*source);
  // Another spelling of the same file: a bare path through a symlinked directory.
  fs::create_directory_symlink(dir_, dir_ + "/link");
  auto alias = open(dir_ + "/link/source.db", Migrate::later);
  const std::string error = kind_of([&] { copy(*source, *alias, true); });
  EXPECT_EQ(error, "usage: the source and the destination are the same database");
  EXPECT_EQ(contents(*source), before) << "--force must not have cleared the source";

  REQUIRE_POSTGRES(pg);
  auto pg_source = open(pg, Migrate::later);
  copy(*source, *pg_source, false);
  // Same database, different URL text.
  auto pg_alias = open(pg + "?application_name=multivio-alias", Migrate::later);
  EXPECT_EQ(kind_of([&] { copy(*pg_source, *pg_alias, true); }),
            "usage: the source and the destination are the same database");
  expect_same_contents(*source, *pg_source);
  // Two databases on one server are different databases.
  auto other = open(postgres_url(), Migrate::later);
  EXPECT_NE(pg_source->identity(), other->identity());
}

// A row the destination refuses half-way (a target whose account is
// missing, possible in a SQLite file written with foreign keys off) rolls
// everything back: the accounts and posts already inserted, and the migration.
TEST_F(DbCopyTest, AFailureMidCopyLeavesTheDestinationAsItWas) {
  const std::string path = dir_ + "/broken.db";
  {
    auto s = open("sqlite://" + path);
    populate(*s);
    if (HasFatalFailure()) return;
  }
  sqlite_exec(path,
              "PRAGMA foreign_keys = OFF; INSERT INTO targets (post_id, account_id, status, idempotency_key) "
              "VALUES (1, 999, 'draft', 'orphan');");
  auto source = open("sqlite://" + path, Migrate::no);

  // A new SQLite destination (unmigrated), a non-empty one with --force,
  // and PostgreSQL.
  auto fresh = open(sqlite_url("fresh.db"), Migrate::later);
  EXPECT_EQ(kind_of([&] { copy(*source, *fresh, false); }).rfind("permanent: ", 0), 0u);
  EXPECT_EQ(fresh->schema_version(), 0) << "the migration was rolled back too";
  EXPECT_TRUE(fresh->row_counts().tables.empty());

  auto used = open(sqlite_url("used.db"));
  Account a;
  a.platform = "feed";
  a.name = "keep";
  a.created_at = at(0);
  used->add_account(a);
  const auto before = contents(*used);
  EXPECT_EQ(kind_of([&] { copy(*source, *used, true); }).rfind("permanent: ", 0), 0u);
  EXPECT_EQ(contents(*used), before);

  REQUIRE_POSTGRES(pg);
  auto pgdest = open(pg, Migrate::later);
  const std::string error = kind_of([&] { copy(*source, *pgdest, false); });
  EXPECT_EQ(error.rfind("permanent: ", 0), 0u) << error;
  EXPECT_EQ(pgdest->schema_version(), 0);
  EXPECT_TRUE(pgdest->row_counts().tables.empty());
}

TEST_F(DbCopyTest, RefusesASourceThatIsBehind) {
  auto source = open(v1_sqlite(dir_ + "/v1.db"), Migrate::no);
  auto dest = open(sqlite_url("dest.db"), Migrate::later);
  const std::string error = kind_of([&] { copy(*source, *dest, false); });
  EXPECT_NE(error.find("usage: the source database is at schema version 1"), std::string::npos) << error;
  EXPECT_NE(error.find("multivio db migrate"), std::string::npos) << error;
  EXPECT_EQ(source->schema_version(), 1);
  EXPECT_EQ(dest->schema_version(), 0);
}

// ---- the table list ---------------------------------------------------------

// tables() is what gets copied: a migration that creates a table without
// listing it would make `db copy` lose data silently.
TEST_F(DbCopyTest, TableListIsEveryTableOfTheSchemaInForeignKeyOrder) {
  const std::string path = dir_ + "/schema.db";
  open("sqlite://" + path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  auto names = [&](const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* q = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)));
    sqlite3_finalize(q);
    return out;
  };
  const auto schema = names(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
      "AND name <> 'schema_migrations' ORDER BY name");
  std::vector<std::string> listed(tables().begin(), tables().end());
  std::vector<std::string> sorted = listed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, schema) << "store::tables() (migrations.cpp) and the schema disagree";
  for (std::size_t i = 0; i < listed.size(); ++i) {
    for (const auto& parent : names("SELECT \"table\" FROM pragma_foreign_key_list('" + listed[i] + "')")) {
      const auto pos = std::find(listed.begin(), listed.end(), parent) - listed.begin();
      EXPECT_LT(static_cast<std::size_t>(pos), i) << listed[i] << " references " << parent << ", listed later";
    }
  }
  sqlite3_close(db);

  REQUIRE_POSTGRES(pg);
  open(pg);
  const std::string database = pg.substr(pg.rfind('/') + 1);
  const std::string pg_tables = fakes::shared_postgres().psql(
      database, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = "
                "'public' AND tablename <> 'schema_migrations'");
  std::string expected;
  for (const auto& t : sorted) expected += (expected.empty() ? "" : ",") + t;
  EXPECT_EQ(pg_tables, expected);
}

// ---- status and migrate on a database that is behind ---------------------------

TEST_F(DbCopyTest, StatusOnABehindDatabaseReportsAndDoesNotMigrate) {
  const std::string url = v1_sqlite(dir_ + "/v1.db");
  auto ctx = context(url);
  const auto status = app::db_status(ctx);
  EXPECT_EQ(status.backend, "sqlite");
  EXPECT_EQ(status.version, 1);
  EXPECT_EQ(status.latest, latest());
  ASSERT_EQ(status.pending.size(), static_cast<std::size_t>(latest() - 1));
  EXPECT_EQ(status.pending[0].version, 2);
  EXPECT_EQ(status.pending[0].name, migrations()[1].name);
  EXPECT_EQ(status.rows.rows("accounts"), 1);
  EXPECT_EQ(status.rows.rows("posts"), 1);
  EXPECT_EQ(status.rows.rows("attempts"), 0);
  const std::map<std::string, std::int64_t> drafts{{"draft", 1}};
  EXPECT_EQ(status.rows.targets_by_status, drafts);
  const bool has_ai_usage = std::any_of(status.rows.tables.begin(), status.rows.tables.end(),
                                        [](const auto& t) { return t.first == "ai_usage"; });
  EXPECT_FALSE(has_ai_usage) << "version 1 has no ai_usage table";
  EXPECT_EQ(open(url, Migrate::no)->schema_version(), 1) << "status migrated the database";

  const auto migrated = app::db_migrate(ctx);
  EXPECT_EQ(migrated.from, 1);
  EXPECT_EQ(migrated.to, latest());
  EXPECT_EQ(app::db_migrate(ctx).from, latest()) << "a second run has nothing to do";
  auto after = open(url, Migrate::no);
  EXPECT_EQ(after->schema_version(), latest());
  ASSERT_TRUE(after->find_post(1));
  EXPECT_EQ(after->find_post(1)->text, "from v1");
}

TEST_F(DbCopyTest, StatusOnAMissingSqliteFileIsNotFoundAndCreatesNothing) {
  auto ctx = context(sqlite_url("missing.db"));
  const std::string error = kind_of([&] { app::db_status(ctx); });
  EXPECT_EQ(error.rfind("not_found: ", 0), 0u) << error;
  EXPECT_FALSE(fs::exists(dir_ + "/missing.db"));
}

TEST_F(DbCopyTest, StatusOnABehindPostgresDatabase) {
  REQUIRE_POSTGRES(pg);
  const std::string database = pg.substr(pg.rfind('/') + 1);
  fakes::shared_postgres().psql(
      database, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT "
                "NOT NULL);" + std::string(migrations()[0].postgres) +
                    "INSERT INTO schema_migrations VALUES (1, 'initial schema', 0);");
  auto ctx = context(pg);
  const auto status = app::db_status(ctx);
  EXPECT_EQ(status.backend, "postgresql");
  EXPECT_EQ(status.version, 1);
  EXPECT_EQ(status.pending.size(), static_cast<std::size_t>(latest() - 1));
  EXPECT_EQ(status.rows.rows("posts"), 0);
  EXPECT_EQ(open(pg, Migrate::no)->schema_version(), 1);
  EXPECT_EQ(app::db_migrate(ctx).to, latest());
}

// The service removes a SQLite destination it created when the copy fails.
TEST_F(DbCopyTest, FailedCopyToANewSqliteFileLeavesNoFile) {
  const std::string source = sqlite_url("source.db");
  {
    auto s = open(source);
    populate(*s);
    if (HasFatalFailure()) return;
  }
  sqlite_exec(dir_ + "/source.db",
              "PRAGMA foreign_keys = OFF; INSERT INTO targets (post_id, account_id, status, idempotency_key) "
              "VALUES (1, 999, 'draft', 'orphan');");
  auto ctx = context(source);
  app::CopyRequest request;
  request.to = sqlite_url("new.db");
  EXPECT_EQ(kind_of([&] { app::db_copy(ctx, request); }).rfind("permanent: ", 0), 0u);
  EXPECT_FALSE(fs::exists(dir_ + "/new.db"));
  EXPECT_FALSE(fs::exists(dir_ + "/new.db-wal"));
}

}  // namespace
}  // namespace multivio::store
