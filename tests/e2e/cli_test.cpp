// SPDX-License-Identifier: MIT
// The CLI contract of DESIGN §4 with the real binary: exit codes, one-line
// errors, JSON documents, and bad input that changes nothing.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"

namespace multivio::e2e {
namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(box_.cli({"init", "--timezone", "Europe/Berlin"}).code, 0);
    feed_dir_ = box_.dir() + "/feed";
    auto r = box_.cli({"account", "add", "feed", "--name", "main", "--path", feed_dir_});
    ASSERT_EQ(r.code, 0) << r.err;
    r = box_.cli({"account", "add", "webhook", "--name", "discord", "--url", "http://127.0.0.1:9/x", "--format",
                  "discord"});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  /// Everything a user can see in the database.
  std::string snapshot() {
    const auto posts = box_.cli({"post", "list", "--json", "--limit", "1000"});
    const auto accounts = box_.cli({"account", "list", "--json"});
    return posts.out + accounts.out;
  }

  /// The error goes to stderr as exactly one line, and nothing changed.
  void expect_rejected(const std::vector<std::string>& args, int code, const std::string& fragment,
                       const std::string& input = "") {
    const auto before = snapshot();
    const auto r = box_.cli(args, input);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.code, code) << joined << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << joined << "\nstderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line expected: " << r.err;
    EXPECT_EQ(r.err.rfind("multivio: error: ", 0), 0u) << r.err;
    EXPECT_EQ(snapshot(), before) << joined << " changed the database";
  }

  Sandbox box_;
  std::string feed_dir_;
};

TEST_F(CliTest, InitIsIdempotentAndKeyFileIsPrivate) {
  const auto again = box_.json({"init"});
  EXPECT_EQ(again["created_config"], false);
  EXPECT_EQ(again["created_key"], false);
  struct stat st {};
  ASSERT_EQ(::stat(box_.key_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(box_.json({"account", "list"}).size(), 2u);
}

TEST_F(CliTest, GlobalOptionsWorkBeforeAndAfterTheSubcommand) {
  box_.json({"post", "new", "hello", "--to", "feed:main", "--draft"});
  const auto before = box_.cli({"--json", "post", "list"});
  const auto after = box_.cli({"post", "list", "--json"});
  EXPECT_EQ(before.code, 0);
  EXPECT_EQ(before.out, after.out);
  EXPECT_EQ(nlohmann::json::parse(before.out).size(), 1u);
}

TEST_F(CliTest, PostNewShowAndListJson) {
  const auto post = box_.json({"post", "new", "hello world", "--to", "feed:main,webhook:discord", "--at",
                               "2099-12-01 09:00"});
  EXPECT_EQ(post["status"], "scheduled");
  EXPECT_EQ(post["scheduled_at"], "2099-12-01T08:00:00Z") << "read in the configured Europe/Berlin zone";
  ASSERT_EQ(post["targets"].size(), 2u);
  const auto shown = box_.json({"post", "show", std::to_string(post["id"].get<long long>())});
  for (const auto& t : shown["targets"]) {
    for (const char* field : {"account", "platform", "status", "remote_ids", "remote_url", "attempts", "error"}) {
      EXPECT_TRUE(t.contains(field)) << field;
    }
  }
  const auto listed = box_.json({"post", "list", "--status", "scheduled"});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(box_.json({"post", "list", "--status", "draft"}).size(), 0u);
}

TEST_F(CliTest, TextFromStdin) {
  const auto r = box_.cli({"post", "new", "-", "--to", "feed:main", "--draft", "--json"}, "from stdin\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["text"], "from stdin");
}

TEST_F(CliTest, IdempotencyKeyCreatesOnce) {
  const auto first = box_.json({"post", "new", "ci release", "--to", "feed:main", "--draft", "--key", "run-77"});
  const auto second = box_.json({"post", "new", "ci release", "--to", "feed:main", "--draft", "--key", "run-77"});
  EXPECT_EQ(first["id"], second["id"]);
  EXPECT_EQ(box_.json({"post", "list"}).size(), 1u);
}

TEST_F(CliTest, DryRunStoresAndSendsNothing) {
  const auto before = snapshot();
  const auto r = box_.cli({"post", "new", "dry", "--to", "webhook:discord", "--now", "--dry-run", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  EXPECT_NE(out.dump().find("\"content\":\"dry\""), std::string::npos) << out;
  EXPECT_EQ(snapshot(), before);
}

TEST_F(CliTest, CheckReportsPerTargetAndAcceptsNetworkNames) {
  const std::string long_text(2100, 'a');
  const auto r = box_.cli({"post", "check", long_text, "--to", "discord,feed:main", "--json"});
  EXPECT_EQ(r.code, 3);
  const auto checks = nlohmann::json::parse(r.out);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0]["length"], 2100);
  EXPECT_EQ(checks[0]["limit"], 2000);
  EXPECT_EQ(checks[0]["ok"], false);
  EXPECT_EQ(checks[1]["ok"], true);
  EXPECT_EQ(box_.cli({"post", "check", "short", "--to", "webhook:discord"}).code, 0);
}

TEST_F(CliTest, LifecycleCommands) {
  const auto id = std::to_string(box_.json({"post", "new", "x", "--to", "feed:main", "--draft"})["id"].get<long long>());
  EXPECT_EQ(box_.json({"post", "schedule", id, "--at", "in 2h"})["status"], "scheduled");
  EXPECT_EQ(box_.json({"post", "edit", id, "--text", "y"})["text"], "y");
  EXPECT_EQ(box_.json({"post", "cancel", id})["status"], "cancelled");
  EXPECT_EQ(box_.json({"post", "retry", id})["status"], "scheduled");
  EXPECT_EQ(box_.cli({"post", "delete", id}).code, 0);
  EXPECT_EQ(box_.cli({"post", "show", id}).code, 4);
}

TEST_F(CliTest, BadInputIsOneClearLineWithTheDocumentedCodeAndChangesNothing) {
  expect_rejected({"post", "new", "hi", "--to", "feed:nope", "--now"}, 4, "feed:nope");
  expect_rejected({"post", "new", "", "--to", "feed:main", "--now"}, 3, "empty");
  expect_rejected({"post", "new", "   ", "--to", "feed:main", "--now"}, 3, "empty");
  expect_rejected({"post", "new", std::string(2001, 'x'), "--to", "webhook:discord", "--now"}, 3, "2000");
  expect_rejected({"post", "new", "hi", "--to", "feed:main", "--at", "next blursday"}, 2, "cannot read time");
  // Europe/Berlin skips 02:00-03:00 on 2027-03-28.
  expect_rejected({"post", "new", "hi", "--to", "feed:main", "--at", "2027-03-28 02:30"}, 2, "does not exist");
  expect_rejected({"post", "new", "hi", "--to", "feed:main", "--at", "2027-10-31 02:30"}, 2, "ambiguous");
  expect_rejected({"post", "new", "hi", "--to", "feed:main", "--media", box_.dir() + "/missing.png", "--now"}, 2,
                  "missing.png");
  expect_rejected({"post", "show", "999"}, 4, "999");
  expect_rejected({"post", "new", "hi", "--now"}, 2, "--to");
  expect_rejected({"account", "add", "myspace"}, 2, "myspace");
}

TEST_F(CliTest, JsonErrorsAreOneDocument) {
  const auto r = box_.cli({"post", "show", "12345", "--json"});
  EXPECT_EQ(r.code, 4);
  const auto err = nlohmann::json::parse(r.err);
  EXPECT_EQ(err["error"]["code"], "not_found");
  EXPECT_FALSE(err["error"]["message"].get<std::string>().empty());
}

TEST_F(CliTest, BadConfigFilesNameFileKeyAndLine) {
  const auto before = snapshot();
  {
    std::ofstream(box_.config_file()) << "timezone: UTC\ndeamon:\n  workers: 2\n";
  }
  auto r = box_.cli({"post", "list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("config.yaml:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deamon"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("daemon"), std::string::npos) << "did-you-mean: " << r.err;
  {
    std::ofstream(box_.config_file()) << "timezone: UTC\ndaemon: {workers: [1,\n";
  }
  r = box_.cli({"post", "list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("malformed YAML"), std::string::npos) << r.err;
  {
    std::ofstream(box_.config_file()) << "timezone: Europe/Berlin\n";
  }
  EXPECT_EQ(snapshot(), before);
}

TEST_F(CliTest, CorruptedKeyIsACredentialsError) {
  box_.env["HOOK_SECRET"] = "s3cr3t-value-for-test";
  ASSERT_EQ(box_.cli({"account", "add", "webhook", "--name", "signed", "--url", "http://127.0.0.1:9/s",
                      "--secret-env", "HOOK_SECRET"})
                .code,
            0);
  { std::ofstream(box_.key_file(), std::ios::trunc) << "not-a-key\n"; }
  const auto before = snapshot();
  const auto add = box_.cli({"post", "new", "hi", "--to", "webhook:signed", "--dry-run"});
  EXPECT_EQ(add.code, 5) << add.err;
  EXPECT_NE(add.err.find("key"), std::string::npos) << add.err;
  const auto account = box_.cli({"account", "add", "webhook", "--name", "other", "--url", "http://127.0.0.1:9/o",
                                 "--secret-env", "HOOK_SECRET"});
  EXPECT_EQ(account.code, 5) << account.err;
  EXPECT_EQ(snapshot(), before);

  // A different valid key cannot open what the first one sealed.
  box_.env["MULTIVIO_KEY"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  const auto wrong = box_.cli({"post", "new", "hi", "--to", "webhook:signed", "--dry-run"});
  EXPECT_EQ(wrong.code, 5) << wrong.err;
  EXPECT_NE(wrong.err.find("wrong key or tampered"), std::string::npos) << wrong.err;
}

TEST_F(CliTest, DatabaseNeverHoldsSecretsInClearText) {
  box_.env["HOOK_SECRET"] = "whsec_CLEARTEXT_CANARY_123";
  ASSERT_EQ(box_.cli({"account", "add", "webhook", "--name", "signed", "--url", "http://127.0.0.1:9/s",
                      "--secret-env", "HOOK_SECRET"})
                .code,
            0);
  const auto bytes = box_.database_bytes();
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find("whsec_CLEARTEXT_CANARY_123"), std::string::npos);
  EXPECT_NE(bytes.find("mv1:"), std::string::npos) << "the sealed form is stored";
}

TEST_F(CliTest, HelpTeachesByExample) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                               {"post", "new", "--help"},
                                               {"account", "add", "--help"},
                                               {"post", "check", "--help"},
                                               {"media", "add", "--help"}}) {
    const auto r = box_.cli(args);
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("multivio "), std::string::npos);
    EXPECT_NE(r.out.find("Example"), std::string::npos) << r.out;
  }
}

// A 640x480 PNG header: enough for the library to read the size.
std::string png_bytes(std::uint32_t w, std::uint32_t h) {
  std::string b("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
  for (const std::uint32_t v : {w, h}) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<char>(v >> shift & 0xFF));
  }
  b += std::string("\x08\x06\0\0\0\0\0\0\0", 9);
  return b;
}

TEST_F(CliTest, MediaLibraryStoresBytesOnceAndPostsAttachItemsById) {
  namespace fs = std::filesystem;
  // Named .jpg: the type must come from the bytes.
  const std::string first = box_.dir() + "/chart.jpg";
  const std::string second = box_.dir() + "/copy-of-chart.bin";
  std::ofstream(first, std::ios::binary) << png_bytes(640, 480);
  std::ofstream(second, std::ios::binary) << png_bytes(640, 480);

  const auto added = box_.json({"media", "add", first, "--alt", "p99 latency by week"});
  const long long id = added.value("id", 0LL);
  ASSERT_GT(id, 0) << added;
  EXPECT_EQ(added["created"], true);
  EXPECT_EQ(added["kind"], "png");
  EXPECT_EQ(added["mime"], "image/png");
  const auto again = box_.json({"media", "add", second});
  EXPECT_EQ(again.value("id", 0LL), id);
  EXPECT_EQ(again["created"], false);
  EXPECT_EQ(again["alt"], "p99 latency by week") << "no --alt keeps the stored one";
  EXPECT_EQ(box_.json({"media", "list"}).size(), 1u);

  const fs::path media_dir = box_.dir() + "/home/.local/share/multivio/media";
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(media_dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1) << "the same bytes are stored once";

  const auto shown = box_.json({"media", "show", "media:" + std::to_string(id)});
  EXPECT_EQ(shown["width"], 640);
  EXPECT_EQ(shown["height"], 480);
  const std::string stored = shown["path"];
  EXPECT_EQ(fs::path(stored).parent_path().parent_path(), media_dir);
  EXPECT_EQ(fs::path(stored).extension(), ".png") << "named after the bytes, not chart.jpg";
  struct stat st {};
  ASSERT_EQ(::stat(stored.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto text = box_.cli({"media", "show", std::to_string(id)});
  EXPECT_NE(text.out.find("640x480"), std::string::npos) << text.out;

  // Attached by id: the stored file and the item's alt text, published by the daemon.
  const auto post =
      box_.json({"post", "new", "weekly chart", "--to", "feed:main", "--media", std::to_string(id), "--now"});
  const long long post_id = post.value("id", 0LL);
  ASSERT_GT(post_id, 0) << post;
  const auto created = box_.json({"post", "show", std::to_string(post_id)});
  EXPECT_EQ(created["media"], nlohmann::json::array({stored})) << created;
  EXPECT_EQ(created["options"]["alt"], nlohmann::json::array({"p99 latency by week"})) << created;
  const auto run = box_.daemon_run({"--once"}, std::chrono::seconds(20));
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(box_.json({"post", "show", std::to_string(post_id)})["status"], "published");
  std::ifstream feed(feed_dir_ + "/feed.jsonl");
  const std::string entries((std::istreambuf_iterator<char>(feed)), std::istreambuf_iterator<char>());
  EXPECT_NE(entries.find(fs::path(stored).filename().string()), std::string::npos) << entries;

  expect_rejected({"post", "new", "hi", "--to", "feed:main", "--media", "media:999", "--now"}, 4, "media 999");
  expect_rejected({"media", "show", "media:x"}, 2, "not a media id");
  EXPECT_EQ(box_.cli({"media", "rm", std::to_string(id)}).code, 0);
  EXPECT_FALSE(fs::exists(stored));
  EXPECT_EQ(box_.json({"media", "list"}).size(), 0u);
  EXPECT_EQ(box_.cli({"media", "show", std::to_string(id)}).code, 4);
}

}  // namespace
}  // namespace multivio::e2e
