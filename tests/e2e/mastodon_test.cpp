// SPDX-License-Identifier: MIT
// The real binaries against the fake Mastodon instance: linking with an
// access token, checking against the instance's limit, publishing through
// the daemon, and a retry after a lost reply that creates no duplicate.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/fakes/mastodon_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::MastodonServer;

constexpr const char* kToken = "e2e-token-7f3a9c";
constexpr const char* kFastDaemon =
    "daemon: {workers: 2, max_attempts: 3, retry_base: 200ms, retry_max: 2s, lease: 5s, poll_interval: 200ms, "
    "shutdown_grace: 10s, http_timeout: 1500ms}\nlog: {format: text, level: debug}";

class MastodonE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<MastodonServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    server_->set_access_token(kToken);
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config(kFastDaemon);
  }

  void add_account(const std::string& token = kToken) {
    const auto r = box_.cli({"account", "add", "mastodon", "--name", "m", "--instance", server_->base_url(),
                             "--access-token", token});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  nlohmann::json show(long long id) { return box_.json({"post", "show", std::to_string(id)}); }

  Sandbox box_;
  std::unique_ptr<MastodonServer> server_;
};

TEST_F(MastodonE2eTest, LinkPostAndPublishWithTheDaemon) {
  add_account();
  const auto account = box_.json({"account", "show", "mastodon:m"});
  EXPECT_EQ(account.dump().find(kToken), std::string::npos) << account;
  EXPECT_EQ(box_.database_bytes().find(kToken), std::string::npos) << "the token is stored sealed";

  const auto post = box_.json({"post", "new", "Release 1.2 is out: https://example.com/notes", "--to", "mastodon:m",
                               "--now"});
  const long long id = post.value("id", 0LL);
  ASSERT_GT(id, 0);
  const auto r = box_.daemon_run({"--once"}, 30s);
  EXPECT_EQ(r.code, 0) << r.err;

  const auto statuses = server_->statuses();
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].text, "Release 1.2 is out: https://example.com/notes");
  EXPECT_EQ(statuses[0].visibility, "public");
  EXPECT_FALSE(statuses[0].idempotency_key.empty());

  const auto shown = show(id);
  EXPECT_EQ(shown["status"], "published") << shown;
  const auto target = shown["targets"][0];
  EXPECT_EQ(target["account"], "mastodon:m");
  EXPECT_EQ(target["remote_ids"], nlohmann::json::array({statuses[0].id}));
  EXPECT_EQ(target["remote_url"], statuses[0].url);

  for (const auto& req : server_->received()) {
    if (req.path == "/api/v1/statuses") {
      EXPECT_EQ(req.header("Authorization"), std::string("Bearer ") + kToken);
      EXPECT_EQ(req.header("Idempotency-Key"), statuses[0].idempotency_key);
    }
  }
}

TEST_F(MastodonE2eTest, PostCheckUsesTheInstanceLimit) {
  server_->set_max_characters(100);
  add_account();
  const std::string text(120, 'a');
  const auto r = box_.cli({"post", "check", text, "--to", "mastodon:m", "--json"});
  EXPECT_EQ(r.code, 3) << r.err;
  const auto checks = nlohmann::json::parse(r.out);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0]["limit"], 100);
  EXPECT_EQ(checks[0]["length"], 120);
  EXPECT_EQ(checks[0]["problems"], nlohmann::json::array({"text is 120 characters; mastodon allows 100"}));

  // The bare network knows no instance: Mastodon's default applies.
  const auto bare = box_.json({"post", "check", text, "--to", "mastodon"});
  EXPECT_EQ(bare[0]["limit"], 500);
  EXPECT_EQ(bare[0]["ok"], true);
  // Nothing was posted by checking.
  EXPECT_EQ(server_->count("POST /api/v1/statuses"), 0u);
}

TEST_F(MastodonE2eTest, LostReplyIsRetriedWithTheSameKeyAndNotDuplicated) {
  add_account();
  // The instance creates the status but answers after the 1.5 s timeout.
  server_->script("POST /api/v1/statuses", {{0, "", {}, 4s}});
  const auto post = box_.json({"post", "new", "exactly once", "--to", "mastodon:m", "--now"});
  const long long id = post.value("id", 0LL);
  auto daemon = box_.daemon({});
  ASSERT_TRUE(box_.wait_for_post(id, [](const auto& p) { return p["status"] == "published"; }, 30s))
      << daemon.stderr_text();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(15s), 0) << daemon.stderr_text();

  EXPECT_EQ(server_->count("POST /api/v1/statuses"), 2u);
  const auto statuses = server_->statuses();
  ASSERT_EQ(statuses.size(), 1u) << "the retry got the first status back";
  const auto target = show(id)["targets"][0];
  EXPECT_EQ(target["attempts"], 2);
  EXPECT_EQ(target["remote_ids"], nlohmann::json::array({statuses[0].id}));
}

TEST_F(MastodonE2eTest, RevokedTokenFailsWithARelinkHint) {
  add_account("not-the-token");
  const auto post = box_.json({"post", "new", "hello", "--to", "mastodon:m", "--now"});
  const auto r = box_.daemon_run({"--once"}, 30s);
  EXPECT_EQ(r.code, 1) << r.err;
  const auto target = show(post.value("id", 0LL))["targets"][0];
  EXPECT_EQ(target["status"], "failed");
  EXPECT_NE(target["error"].get<std::string>().find("re-link"), std::string::npos) << target;
  EXPECT_EQ(server_->count("POST /api/v1/statuses"), 1u) << "an auth failure is not retried";
  EXPECT_TRUE(server_->statuses().empty());
}

// `account add --oauth`: the app is registered with the instance, the
// "browser" ($BROWSER, here curl following the consent page's redirect)
// lands on the loopback receiver, and the code is exchanged with PKCE.
TEST_F(MastodonE2eTest, LinkWithOAuthInABrowserThenCheckAndPublish) {
  const std::string browser = box_.dir() + "/browser";
  {
    std::ofstream script(browser);
    script << "#!/bin/sh\nexec curl -s -L -o /dev/null --max-time 20 \"$1\"\n";
  }
  ASSERT_EQ(::chmod(browser.c_str(), 0755), 0);
  box_.env["BROWSER"] = browser;

  const auto r = box_.cli({"account", "add", "mastodon", "--name", "m", "--instance", server_->base_url(), "--oauth",
                           "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto account = nlohmann::json::parse(r.out);
  EXPECT_EQ(account["handle"], "@alice@127.0.0.1:" + std::to_string(server_->port())) << account;
  EXPECT_NE(r.err.find("/oauth/authorize?"), std::string::npos) << "the URL is shown: " << r.err;
  EXPECT_NE(r.err.find("code_challenge_method=S256"), std::string::npos) << r.err;
  EXPECT_EQ(server_->apps_registered(), 1u);
  const auto tokens = server_->issued_tokens();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(box_.database_bytes().find(tokens[0]), std::string::npos) << "the granted token is stored sealed";

  const auto checks = box_.json({"account", "check", "mastodon:m"});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0]["ok"], true) << checks;
  EXPECT_EQ(checks[0]["handle"], account["handle"]);
  EXPECT_EQ(checks[0]["scopes"], nlohmann::json::array({"write:statuses", "write:media", "read:accounts"}));

  const auto post = box_.json({"post", "new", "linked through OAuth", "--to", "mastodon:m", "--now"});
  ASSERT_EQ(box_.daemon_run({"--once"}, 30s).code, 0);
  ASSERT_EQ(server_->statuses().size(), 1u);
  for (const auto& req : server_->received()) {
    if (req.path == "/api/v1/statuses") {
      EXPECT_EQ(req.header("Authorization"), "Bearer " + tokens[0]);
    }
  }
  EXPECT_EQ(show(post.value("id", 0LL))["status"], "published");

  // Taking the same name again fails before anything is registered.
  const auto again = box_.cli({"account", "add", "mastodon", "--name", "m", "--instance", server_->base_url(),
                               "--oauth"});
  EXPECT_EQ(again.code, 2) << again.err;
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(server_->apps_registered(), 1u);
}

TEST_F(MastodonE2eTest, AccountCheckReportsARevokedTokenAndRecoversAfterAFix) {
  add_account("not-the-token");
  const auto r = box_.cli({"account", "check", "--json"});
  EXPECT_EQ(r.code, 5) << r.err;
  const auto checks = nlohmann::json::parse(r.out);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0]["ok"], false);
  EXPECT_EQ(checks[0]["relink"], true);
  EXPECT_EQ(box_.json({"account", "show", "mastodon:m"})["healthy"], false);

  // The instance starts accepting that token (an admin restored it).
  server_->set_access_token("not-the-token");
  EXPECT_EQ(box_.json({"account", "check"})[0]["ok"], true);
  EXPECT_EQ(box_.json({"account", "show", "mastodon:m"})["healthy"], true) << "a working check heals the account";

  const auto refresh = box_.cli({"account", "refresh", "mastodon:m"});
  EXPECT_EQ(refresh.code, 2) << "mastodon tokens do not expire";
  EXPECT_NE(refresh.err.find("nothing to refresh"), std::string::npos) << refresh.err;
}

TEST_F(MastodonE2eTest, ThreadWithAltTextAndContentWarningFromPostOptions) {
  server_->set_max_characters(60);
  add_account();
  const std::string image = box_.dir() + "/shot.png";
  {
    std::ofstream png(image, std::ios::binary);
    png << std::string("\x89PNG\r\n\x1a\n", 8) << std::string(64, '\0');
  }
  const std::string text =
      "First paragraph about the release, long enough.\n\nSecond paragraph with the details that matter.";
  const auto over = box_.cli({"post", "new", text, "--to", "mastodon:m", "--now"});
  EXPECT_EQ(over.code, 3) << "too long without --thread: " << over.err;

  const auto post = box_.json({"post", "new", text, "--to", "mastodon:m", "--now", "--thread", "auto", "--media", image,
                               "--alt", "A chart of build times", "--cw", "release"});
  ASSERT_EQ(box_.daemon_run({"--once"}, 30s).code, 0);
  const auto statuses = server_->statuses();
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[1].in_reply_to_id, statuses[0].id);
  EXPECT_EQ(statuses[0].spoiler_text, "release");
  const auto media = server_->media();
  ASSERT_EQ(media.size(), 1u);
  EXPECT_EQ(media[0].description, "A chart of build times");
  const auto target = show(post.value("id", 0LL))["targets"][0];
  EXPECT_EQ(target["remote_ids"], nlohmann::json::array({statuses[0].id, statuses[1].id}));
}

}  // namespace
}  // namespace multivio::e2e
