// SPDX-License-Identifier: MIT
// `multivio db status|migrate|copy` with the real binaries: JSON documents,
// redacted URLs, refusals that are one line with exit 2 and change nothing,
// and a daemon that publishes from a copied database. PostgreSQL cases use
// the throw-away server of tests/fakes/postgres_server.hpp and are skipped
// when it cannot start.
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "common/store/migrations.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/fakes/postgres_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;

int latest() { return store::migrations().back().version; }

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    feed_dir_ = box_.dir() + "/feed";
    const auto r = box_.cli({"account", "add", "feed", "--name", "main", "--path", feed_dir_});
    ASSERT_EQ(r.code, 0) << r.err;
    box_.json({"post", "new", "scheduled one", "--to", "feed:main", "--at", "2099-01-01 09:00"});
    box_.json({"post", "new", "a draft", "--to", "feed:main", "--draft"});
  }

  // A database on the fake PostgreSQL server; empty when it cannot start.
  std::string postgres_url() {
    try {
      return fakes::fresh_postgres_database();
    } catch (const std::exception& e) {
      skip_reason_ = e.what();
      return {};
    }
  }

  /// What a user sees of a database: posts and accounts as JSON.
  std::string snapshot(const std::string& db) {
    return box_.cli({"--db", db, "post", "list", "--json", "--limit", "1000"}).out +
           box_.cli({"--db", db, "account", "list", "--json"}).out;
  }

  void expect_usage_error(const RunResult& r, const std::string& fragment) {
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line expected: " << r.err;
  }

  Sandbox box_;
  std::string feed_dir_;
  std::string skip_reason_;
};

TEST_F(DbTest, StatusJsonCountsRowsAndMigrateHasNothingToDo) {
  const auto status = box_.json({"db", "status"});
  EXPECT_EQ(status["backend"], "sqlite");
  EXPECT_EQ(status["database"], "sqlite://" + box_.db_file());
  EXPECT_EQ(status["schema_version"], latest());
  EXPECT_EQ(status["latest_version"], latest());
  EXPECT_EQ(status["pending_count"], 0);
  EXPECT_EQ(status["pending"], nlohmann::json::array());
  EXPECT_EQ(status["rows"]["accounts"], 1);
  EXPECT_EQ(status["rows"]["posts"], 2);
  EXPECT_EQ(status["rows"]["targets"], 2);
  EXPECT_EQ(status["rows"]["attempts"], 0);
  EXPECT_EQ(status["targets_by_status"], (nlohmann::json{{"draft", 1}, {"scheduled", 1}}));

  const auto text = box_.cli({"db", "migrate"});
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(text.out, "already at version " + std::to_string(latest()) + "\n");
  const auto migrated = box_.json({"db", "migrate"});
  EXPECT_EQ(migrated["from"], latest());
  EXPECT_EQ(migrated["to"], latest());
  EXPECT_EQ(migrated["backend"], "sqlite");
}

TEST_F(DbTest, StatusAndMigrateOnAnOldDatabase) {
  // A file as the first release left it: schema version 1 and one post.
  const std::string path = box_.dir() + "/v1.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const std::string sql =
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT "
      "NULL);" +
      std::string(store::migrations()[0].sqlite) +
      "INSERT INTO schema_migrations VALUES (1, 'initial schema', 0);"
      "INSERT INTO posts (text, created_at, updated_at) VALUES ('old', 1, 1);";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  const std::string url = "sqlite://" + path;

  const auto status = box_.json({"--db", url, "db", "status"});
  EXPECT_EQ(status["schema_version"], 1);
  EXPECT_EQ(status["pending_count"], latest() - 1);
  ASSERT_EQ(status["pending"].size(), static_cast<std::size_t>(latest() - 1));
  EXPECT_EQ(status["pending"][0]["version"], 2);
  EXPECT_EQ(status["rows"]["posts"], 1);
  EXPECT_FALSE(status["rows"].contains("ai_usage"));
  const auto text = box_.cli({"--db", url, "db", "status"});
  EXPECT_NE(text.out.find("version 1 (latest " + std::to_string(latest()) + ")"), std::string::npos) << text.out;
  EXPECT_NE(text.err.find("multivio db migrate"), std::string::npos) << text.err;
  EXPECT_EQ(box_.json({"--db", url, "db", "status"})["schema_version"], 1) << "status must not migrate";

  const auto migrated = box_.cli({"--db", url, "db", "migrate"});
  EXPECT_EQ(migrated.code, 0) << migrated.err;
  EXPECT_EQ(migrated.out, "schema version 1 → " + std::to_string(latest()) + "\n");
  EXPECT_EQ(box_.json({"--db", url, "db", "status"})["pending_count"], 0);
  EXPECT_EQ(box_.json({"--db", url, "post", "list"})[0]["text"], "old");
}

TEST_F(DbTest, StatusOfAMissingFileIsNotFound) {
  const auto r = box_.cli({"--db", "sqlite://" + box_.dir() + "/nope.db", "db", "status"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_FALSE(std::filesystem::exists(box_.dir() + "/nope.db"));
}

TEST_F(DbTest, CopyToSqliteAndItsRefusals) {
  const std::string dest = "sqlite://" + box_.dir() + "/copy.db";
  const auto copied = box_.json({"db", "copy", "--to", dest});
  EXPECT_EQ(copied["from"]["backend"], "sqlite");
  EXPECT_EQ(copied["to"]["database"], dest);
  EXPECT_EQ(copied["replaced"], false);
  ASSERT_EQ(copied["tables"].size(), store::tables().size());
  for (const auto& t : copied["tables"]) EXPECT_EQ(t["source"], t["copied"]) << t.dump();
  const auto posts = std::find_if(copied["tables"].begin(), copied["tables"].end(),
                                  [](const nlohmann::json& t) { return t["table"] == "posts"; });
  ASSERT_NE(posts, copied["tables"].end());
  EXPECT_EQ(*posts, (nlohmann::json{{"table", "posts"}, {"source", 2}, {"copied", 2}}));
  EXPECT_EQ(snapshot(dest), snapshot(box_.db_file()));

  // Not empty any more: refused, unchanged; --force replaces.
  box_.json({"--db", dest, "post", "new", "only in the copy", "--to", "feed:main", "--draft"});
  const auto before = snapshot(dest);
  expect_usage_error(box_.cli({"db", "copy", "--to", dest}), "--force");
  EXPECT_EQ(snapshot(dest), before);
  const auto forced = box_.cli({"db", "copy", "--to", dest, "--force"});
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_NE(forced.out.find("replacing its contents"), std::string::npos) << forced.out;
  EXPECT_TRUE(std::regex_search(forced.out, std::regex(R"(\nposts +2 +2\n)"))) << forced.out;
  EXPECT_EQ(snapshot(dest), snapshot(box_.db_file()));

  // The same database under another spelling, even with --force.
  const auto own = snapshot(box_.db_file());
  expect_usage_error(box_.cli({"db", "copy", "--to", box_.db_file(), "--force"}), "same database");
  EXPECT_EQ(snapshot(box_.db_file()), own);

  expect_usage_error(box_.cli({"db", "copy"}), "--to");
  const auto json_error = box_.cli({"--json", "db", "copy", "--to", "mysql://x/y"});
  EXPECT_EQ(json_error.code, 2);
  EXPECT_EQ(nlohmann::json::parse(json_error.err)["error"]["code"], "usage") << json_error.err;
}

TEST_F(DbTest, CopySqliteToPostgresAndBackThenADaemonPublishesFromTheCopy) {
  const std::string pg = postgres_url();
  if (pg.empty()) GTEST_SKIP() << "no PostgreSQL server for tests: " << skip_reason_;
  // The fake server trusts every connection, so a password in the URL is
  // accepted and must never be printed.
  const std::string with_password = "postgresql://postgres:hunter2@" + pg.substr(pg.find('@') + 1);
  const auto copied = box_.json({"db", "copy", "--to", with_password});
  EXPECT_EQ(copied["to"]["backend"], "postgresql");
  EXPECT_EQ(copied["to"]["database"].get<std::string>().find("hunter2"), std::string::npos) << copied.dump();
  EXPECT_NE(copied["to"]["database"].get<std::string>().find("postgres:***@"), std::string::npos) << copied.dump();
  EXPECT_EQ(snapshot(pg), snapshot(box_.db_file()));

  const auto status = box_.json({"--db", with_password, "db", "status"});
  EXPECT_EQ(status["backend"], "postgresql");
  EXPECT_EQ(status["rows"]["posts"], 2);
  const auto migrate = box_.cli({"--db", with_password, "db", "migrate"});
  EXPECT_EQ(migrate.out, "already at version " + std::to_string(latest()) + "\n");
  EXPECT_EQ(migrate.err.find("hunter2"), std::string::npos);

  const auto before = snapshot(pg);
  expect_usage_error(box_.cli({"db", "copy", "--to", pg}), "not empty");
  EXPECT_EQ(snapshot(pg), before);

  const std::string back = "sqlite://" + box_.dir() + "/back.db";
  const auto round = box_.json({"--db", pg, "db", "copy", "--to", back});
  EXPECT_EQ(round["from"]["backend"], "postgresql");
  EXPECT_EQ(snapshot(back), snapshot(box_.db_file()));

  // The daemon on the PostgreSQL copy: a post due now reaches the feed, and
  // its id follows the copied ones (the sequence was advanced).
  box_.env["MULTIVIO_DB"] = pg;
  const auto post = box_.json({"post", "new", "from the copy", "--to", "feed:main", "--now"});
  EXPECT_EQ(post["id"], 3);
  const auto run = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(box_.json({"post", "show", "3"})["status"], "published");
  EXPECT_NE(read_file(feed_dir_ + "/feed.jsonl").find("from the copy"), std::string::npos);
}

}  // namespace
}  // namespace multivio::e2e
