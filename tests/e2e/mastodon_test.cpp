// SPDX-License-Identifier: MIT
// The real binaries against the fake Mastodon instance: linking with an
// access token, checking against the instance's limit, publishing through
// the daemon, and a retry after a lost reply that creates no duplicate.
#include <signal.h>

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

}  // namespace
}  // namespace multivio::e2e
