// SPDX-License-Identifier: MIT
// The real binaries against the fake X API and the fake OAuth server:
// linking with --oauth (a "browser" that follows the consent redirect) and
// with --oauth1, publishing a post, a thread and an image with alt text
// through `multiviod --once`, a token refresh between posts, and a retry
// after a lost answer that ends as one post, not two.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/http/client.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/oauth/pkce.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/fakes/oauth_server.hpp"
#include "tests/fakes/x_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::OAuthServer;
using fakes::XServer;

constexpr const char* kClient = "x-e2e-client";
constexpr const char* kFastDaemon =
    "daemon: {workers: 2, max_attempts: 3, retry_base: 200ms, retry_max: 2s, lease: 5s, poll_interval: 200ms, "
    "shutdown_grace: 10s, http_timeout: 1500ms}\nlog: {format: text, level: debug}";

class XE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      oauth_ = std::make_unique<OAuthServer>();
      server_ = std::make_unique<XServer>(oauth_.get());
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    oauth_->add_client({kClient, "", OAuthServer::ClientAuthMethod::any, {}, true});
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config(std::string(kFastDaemon) + "\nplatforms:\n  x:\n    api_base: " + server_->base_url() +
                       "\n    auth_base: " + server_->base_url() + "\n    client_id: " + kClient + "\n");
  }

  // Tokens from a code exchange at the fake, as a token file holds them.
  std::string token_file() {
    auto http = http::make_client();
    const oauth::Pkce pkce = oauth::make_pkce();
    const std::string redirect = "http://127.0.0.1:9/callback";
    oauth::OAuth2Config c;
    c.token_url = server_->base_url() + "/2/oauth2/token";
    c.client_id = kClient;
    const auto tokens = oauth::exchange_code(*http, c, oauth_->issue_code(kClient, redirect, pkce.challenge), redirect,
                                             pkce.verifier, std::chrono::system_clock::now());
    access_token_ = tokens.access_token;
    const std::string path = box_.dir() + "/tokens.json";
    std::ofstream(path) << nlohmann::json{{"access_token", tokens.access_token},
                                          {"refresh_token", tokens.refresh_token},
                                          {"expires_in", 7200}}
                               .dump();
    return path;
  }

  void add_with_token_file() {
    const auto r = box_.cli({"account", "add", "x", "--name", "main", "--token-file", token_file()});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  long long new_post(std::vector<std::string> args) {
    std::vector<std::string> all = {"post", "new"};
    all.insert(all.end(), args.begin(), args.end());
    const auto post = box_.json(all);
    return post.value("id", 0LL);
  }

  void run_once() {
    const auto r = box_.daemon_run({"--once"}, 60s);
    EXPECT_EQ(r.code, 0) << r.err;
  }

  nlohmann::json target(long long id) { return box_.json({"post", "show", std::to_string(id)})["targets"][0]; }

  std::string image(const std::string& name) {
    const std::string path = box_.dir() + "/" + name;
    std::string bytes("\x89PNG\r\n\x1A\n", 8);
    while (bytes.size() < 2500) bytes += static_cast<char>('a' + bytes.size() % 26);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  Sandbox box_;
  std::unique_ptr<OAuthServer> oauth_;
  std::unique_ptr<XServer> server_;
  std::string access_token_;
};

TEST_F(XE2eTest, LinkWithOAuthAndPublish) {
  oauth_->set_authorize_mode(OAuthServer::AuthorizeMode::approve);
  // The "browser" follows the consent page's redirect back to the CLI.
  box_.env["BROWSER"] = "curl -s -L -o /dev/null";
  const auto linked = box_.cli({"account", "add", "x", "--name", "main", "--oauth"});
  ASSERT_EQ(linked.code, 0) << linked.err;
  ASSERT_FALSE(oauth_->authorize_requests().empty());
  const auto authz = oauth_->authorize_requests().back();
  EXPECT_EQ(authz.scope, "tweet.read tweet.write users.read offline.access media.write");
  EXPECT_EQ(authz.code_challenge_method, "S256");
  const auto account = box_.json({"account", "show", "x:main"});
  EXPECT_EQ(account["handle"], "multivio_fake") << account;
  for (const auto& grant : oauth_->token_requests()) EXPECT_EQ(grant.status, 200) << grant.reason;

  const long long id = new_post({"Release 1.2 is out: https://example.com/notes", "--to", "x:main", "--now"});
  run_once();
  const auto tweets = server_->tweets();
  ASSERT_EQ(tweets.size(), 1u);
  EXPECT_EQ(tweets[0].text, "Release 1.2 is out: https://example.com/notes");
  const auto t = target(id);
  EXPECT_EQ(t["status"], "published") << t;
  EXPECT_EQ(t["remote_ids"], nlohmann::json::array({tweets[0].id}));
  EXPECT_EQ(t["remote_url"], "https://x.com/multivio_fake/status/" + tweets[0].id);
}

TEST_F(XE2eTest, LinkWithOAuth1TokensAndPublish) {
  server_->add_oauth1_user("e2e-ck", "e2e-cs", "e2e-token", "e2e-token-secret", {"783214", "oauth1user", "One"});
  box_.env["X_KEY"] = "e2e-ck";
  box_.env["X_SECRET"] = "e2e-cs";
  box_.env["X_TOKEN"] = "e2e-token";
  box_.env["X_TOKEN_SECRET"] = "e2e-token-secret";
  const auto linked = box_.cli({"account", "add", "x", "--name", "one", "--oauth1", "--consumer-key-env", "X_KEY",
                                "--consumer-secret-env", "X_SECRET", "--token-env", "X_TOKEN", "--token-secret-env",
                                "X_TOKEN_SECRET"});
  ASSERT_EQ(linked.code, 0) << linked.err;
  EXPECT_EQ(box_.database_bytes().find("e2e-token-secret"), std::string::npos) << "secrets are stored sealed";

  const long long id = new_post({"signed, not bearer", "--to", "x:one", "--now"});
  run_once();
  EXPECT_TRUE(server_->auth_failures().empty()) << ::testing::PrintToString(server_->auth_failures());
  const auto tweets = server_->tweets();
  ASSERT_EQ(tweets.size(), 1u);
  EXPECT_EQ(tweets[0].author_id, "783214");
  EXPECT_EQ(target(id)["status"], "published");
}

TEST_F(XE2eTest, ThreadAndImageWithAltText) {
  add_with_token_file();
  std::string long_text;
  for (int i = 0; i < 18; ++i) long_text += "Sentence number " + std::to_string(i) + " of a long release note. ";
  const long long thread = new_post({long_text, "--to", "x:main", "--thread", "auto", "--now"});
  const long long picture =
      new_post({"The new dashboard", "--to", "x:main", "--media", image("shot.png"), "--alt", "Graph of p99 latency",
                "--now"});
  run_once();

  const auto th = target(thread);
  ASSERT_EQ(th["status"], "published") << th;
  const auto ids = th["remote_ids"].get<std::vector<std::string>>();
  ASSERT_GE(ids.size(), 2u);
  const auto tweets = server_->tweets();
  for (std::size_t i = 1; i < ids.size(); ++i) {
    const auto it = std::find_if(tweets.begin(), tweets.end(), [&](const auto& t) { return t.id == ids[i]; });
    ASSERT_NE(it, tweets.end());
    EXPECT_EQ(it->in_reply_to, ids[i - 1]) << "part " << i + 1 << " replies to the one before";
    EXPECT_NE(it->text.find("/" + std::to_string(ids.size()) + ")"), std::string::npos) << it->text;
  }

  const auto pic = target(picture);
  ASSERT_EQ(pic["status"], "published") << pic;
  const auto media = server_->media();
  ASSERT_EQ(media.size(), 1u);
  EXPECT_EQ(media[0].alt_text, "Graph of p99 latency");
  EXPECT_EQ(media[0].segments, std::vector<std::size_t>{2500}) << "one APPEND below the chunk size";
  const auto it = std::find_if(tweets.begin(), tweets.end(),
                               [&](const auto& t) { return t.id == pic["remote_ids"][0].get<std::string>(); });
  ASSERT_NE(it, tweets.end());
  EXPECT_EQ(it->media_ids, std::vector<std::string>{media[0].id});
}

TEST_F(XE2eTest, TokenRefreshBetweenPostsIsSaved) {
  add_with_token_file();
  const long long first = new_post({"before the token expires", "--to", "x:main", "--now"});
  run_once();
  ASSERT_EQ(target(first)["status"], "published");

  // X stops honouring the token: the daemon refreshes once and retries.
  oauth_->expire_access_tokens();
  const long long second = new_post({"after a refresh", "--to", "x:main", "--now"});
  run_once();
  ASSERT_EQ(target(second)["status"], "published") << target(second);
  EXPECT_EQ(server_->count("POST /2/oauth2/token"), 2u);  // the test's exchange, then one refresh

  // Again: only the rotated refresh token, saved by the last run, still works.
  oauth_->expire_access_tokens();
  const long long third = new_post({"after another refresh", "--to", "x:main", "--now"});
  run_once();
  const auto t = target(third);
  EXPECT_EQ(t["status"], "published") << t;
  const auto grants = oauth_->token_requests();
  ASSERT_EQ(grants.size(), 3u);
  EXPECT_EQ(grants[2].grant_type, "refresh_token");
  EXPECT_EQ(grants[2].status, 200) << grants[2].reason;
  EXPECT_EQ(server_->tweets().size(), 3u);
  EXPECT_EQ(box_.database_bytes().find(access_token_), std::string::npos);
}

TEST_F(XE2eTest, RetryAfterALostAnswerIsReconciledNotDuplicated) {
  add_with_token_file();
  // X creates the post but answers after the daemon's 1.5 s timeout, and
  // listing the account's posts right after fails too: the target stays unknown.
  server_->script("POST /2/tweets", {{0, "", {}, 4s}});
  server_->script("GET /2/users/:id/tweets", {{503, R"({"title":"Service Unavailable"})", {}, 0ms}});
  const long long id = new_post({"exactly once", "--to", "x:main", "--now"});
  const auto first = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(first.code, 1) << "an unknown target is not a success: " << first.err;
  const auto lost = target(id);
  EXPECT_EQ(lost["status"], "unknown") << lost << first.err;
  ASSERT_EQ(server_->tweets().size(), 1u);

  const auto retried = box_.cli({"post", "retry", std::to_string(id)});
  ASSERT_EQ(retried.code, 0) << retried.err;
  run_once();
  const auto t = target(id);
  EXPECT_EQ(t["status"], "published") << t;
  const auto tweets = server_->tweets();
  ASSERT_EQ(tweets.size(), 1u) << "the retry found the first post";
  EXPECT_EQ(t["remote_ids"], nlohmann::json::array({tweets[0].id}));
  EXPECT_EQ(server_->count("POST /2/tweets"), 2u) << "the retry was refused as a duplicate";
  EXPECT_EQ(server_->count("GET /2/users/:id/tweets"), 2u) << "the failed listing, then the adapter's own";
}

}  // namespace
}  // namespace multivio::e2e
