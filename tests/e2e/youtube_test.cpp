// SPDX-License-Identifier: MIT
// The real binaries against the fake YouTube API: an account added with
// tokens, a video post published by `multiviod --once` through the
// resumable protocol, a connection dropped at 60% that the same run
// resumes, and a daemon killed (SIGKILL) mid-upload at 60% whose upload
// the next run continues from the session it saved rather than restarting.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/fakes/oauth_server.hpp"
#include "tests/fakes/youtube_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::OAuthServer;
using fakes::YouTubeServer;

constexpr const char* kToken = "ya29.e2e-token";
constexpr const char* kClient = "yt-e2e.apps.googleusercontent.com";
constexpr const char* kClientSecret = "GOCSPX-installed-app-secret";
constexpr std::size_t kVideoBytes = 3 * 1024 * 1024 + 12'345;
constexpr const char* kFastDaemon =
    "daemon: {workers: 1, max_attempts: 5, retry_base: 200ms, retry_max: 1s, lease: 2s, poll_interval: 200ms, "
    "shutdown_grace: 5s, http_timeout: 5s}\nlog: {format: text, level: debug}";

class YouTubeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      oauth_ = std::make_unique<OAuthServer>();
      server_ = std::make_unique<YouTubeServer>(oauth_.get());
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    oauth_->add_client({kClient, kClientSecret, OAuthServer::ClientAuthMethod::body, {}, true});
    oauth_->set_rotate_refresh_tokens(false);
    server_->add_access_token(kToken);
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    const std::string base = server_->base_url();
    box_.append_config(std::string(kFastDaemon) + "\nplatforms:\n  youtube:\n    api_base: " + base +
                       "\n    auth_base: " + base + "\n    token_base: " + base +
                       "\n    upload_chunk_bytes: 262144\n    client_id: " + kClient +
                       "\n    client_secret: " + kClientSecret + "\n");
    const std::string tokens = box_.dir() + "/tokens.json";
    std::ofstream(tokens) << nlohmann::json{{"access_token", kToken}, {"expires_in", 3599}}.dump();
    const auto added = box_.cli({"account", "add", "youtube", "--name", "main", "--token-file", tokens});
    ASSERT_EQ(added.code, 0) << added.err;
    clip_ = box_.dir() + "/clip.mp4";
    bytes_ = fakes::sample_mp4(kVideoBytes);
    std::ofstream(clip_, std::ios::binary) << bytes_;
  }

  long long new_post() {
    const auto post = box_.json({"post", "new", "Release 3.1 walkthrough\nWhat is new, in five minutes.", "--media",
                                 clip_, "--to", "youtube:main", "--now"});
    return post.value("id", 0LL);
  }

  nlohmann::json target(long long id) { return box_.json({"post", "show", std::to_string(id)})["targets"][0]; }

  void expect_one_complete_video(long long id) {
    const auto videos = server_->videos();
    ASSERT_EQ(videos.size(), 1u);
    EXPECT_TRUE(videos[0].bytes == bytes_) << "the assembled upload differs from the file";
    EXPECT_EQ(videos[0].title, "Release 3.1 walkthrough");
    EXPECT_EQ(videos[0].description, "What is new, in five minutes.");
    EXPECT_EQ(videos[0].privacy, "private");
    const auto t = target(id);
    EXPECT_EQ(t["status"], "published") << t;
    EXPECT_EQ(t["remote_ids"], nlohmann::json::array({videos[0].id}));
    EXPECT_EQ(t["remote_url"], "https://www.youtube.com/watch?v=" + videos[0].id);
  }

  Sandbox box_;
  std::unique_ptr<OAuthServer> oauth_;
  std::unique_ptr<YouTubeServer> server_;
  std::string clip_;
  std::string bytes_;
};

TEST_F(YouTubeE2eTest, PublishesAVideo) {
  const auto check = box_.cli({"post", "check", "Title only", "--media", clip_, "--to", "youtube:main"});
  EXPECT_EQ(check.code, 0) << check.out << check.err;
  const long long id = new_post();
  const auto r = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(r.code, 0) << r.err;
  expect_one_complete_video(id);
  EXPECT_EQ(server_->bytes_received(), kVideoBytes);
  EXPECT_EQ(server_->sessions_created(), 1);
}

TEST_F(YouTubeE2eTest, LinksWithGoogleOAuthAndUploadsWithTheNewToken) {
  oauth_->set_authorize_mode(OAuthServer::AuthorizeMode::approve);
  // The "browser" follows the consent page's redirect back to the CLI.
  box_.env["BROWSER"] = "curl -s -L -o /dev/null";
  const auto linked = box_.cli({"account", "add", "youtube", "--name", "linked", "--oauth"});
  ASSERT_EQ(linked.code, 0) << linked.err;
  ASSERT_FALSE(oauth_->authorize_requests().empty());
  const auto authz = oauth_->authorize_requests().back();
  EXPECT_EQ(authz.scope,
            "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly");
  EXPECT_EQ(authz.code_challenge_method, "S256");
  const auto has = [&](const char* k, const char* v) {
    return std::find(authz.params.begin(), authz.params.end(), std::make_pair(std::string(k), std::string(v))) !=
           authz.params.end();
  };
  EXPECT_TRUE(has("access_type", "offline"));
  EXPECT_TRUE(has("prompt", "consent"));
  for (const auto& grant : oauth_->token_requests()) EXPECT_EQ(grant.status, 200) << grant.reason;
  EXPECT_EQ(box_.json({"account", "show", "youtube:linked"})["handle"], "Multivio Fake");

  const auto post = box_.json({"post", "new", "Linked upload", "--media", clip_, "--to", "youtube:linked", "--now"});
  const auto r = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(server_->videos().size(), 1u);
  EXPECT_TRUE(server_->videos()[0].bytes == bytes_);
  EXPECT_EQ(target(post.value("id", 0LL))["status"], "published");
}

TEST_F(YouTubeE2eTest, ConnectionDroppedAt60PercentResumes) {
  server_->fault_at(YouTubeServer::Fault::drop, 60);
  const long long id = new_post();
  const auto r = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(r.code, 0) << r.err;
  expect_one_complete_video(id);
  EXPECT_EQ(server_->sessions_created(), 1);
  EXPECT_LT(server_->bytes_received(), kVideoBytes * 3 / 2) << "the upload restarted instead of resuming";
}

TEST_F(YouTubeE2eTest, DaemonKilledAt60PercentResumesOnTheNextRun) {
  server_->fault_at(YouTubeServer::Fault::stall, 60);
  const long long id = new_post();
  {
    Process daemon = box_.daemon({"--once"});
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!server_->stalled() && std::chrono::steady_clock::now() < deadline && daemon.running()) {
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(server_->stalled()) << "the upload never reached 60%: " << daemon.stderr_text();
    daemon.signal(SIGKILL);
    EXPECT_EQ(daemon.wait(10s), 128 + SIGKILL);
  }
  server_->release();
  const auto held = server_->session_bytes();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0], kVideoBytes * 60 / 100) << "the fake kept the bytes up to the 60% mark";
  std::this_thread::sleep_for(2500ms);  // the dead daemon's lease runs out

  // The next run finds the interrupted attempt with its saved session and,
  // since YouTube uploads resume from progress, requeues and finishes it.
  const auto r = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming from the saved progress"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resuming the upload at byte " + std::to_string(kVideoBytes * 60 / 100)), std::string::npos)
      << r.err;
  expect_one_complete_video(id);
  EXPECT_EQ(server_->sessions_created(), 1) << "the saved session was resumed, not replaced";
  EXPECT_LT(server_->bytes_received(), kVideoBytes * 3 / 2) << "the upload restarted instead of resuming";
}

TEST_F(YouTubeE2eTest, QuotaExceededDefersThePost) {
  server_->set_quota_exceeded(true);
  const long long id = new_post();
  const auto r = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(r.code, 0) << r.err;
  const auto t = target(id);
  EXPECT_EQ(t["status"], "retry_wait") << t;
  EXPECT_NE(t["error"].get<std::string>().find("quotaExceeded"), std::string::npos) << t;
  EXPECT_TRUE(server_->videos().empty());
}

}  // namespace
}  // namespace multivio::e2e
