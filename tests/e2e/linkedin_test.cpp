// SPDX-License-Identifier: MIT
// The real binaries against the fake LinkedIn API and the fake OAuth server:
// linking with --oauth --author (a "browser" that follows the consent
// redirect), or with a pasted token; `multiviod --once` publishing a text, an
// image and a video (one post each, text escaped on the wire and intact on
// the network); `account check` reporting the 60-day expiry; an expired
// token failing as an auth error that names the re-link command.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/fakes/linkedin_server.hpp"
#include "tests/fakes/oauth_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::LinkedInServer;
using fakes::OAuthServer;

constexpr const char* kClient = "li-e2e-client";
constexpr const char* kSecret = "li-e2e-secret";
constexpr const char* kMember = "urn:li:person:yC6fQv2Lh8";
constexpr const char* kFastDaemon =
    "daemon: {workers: 2, max_attempts: 3, retry_base: 200ms, retry_max: 2s, lease: 5s, poll_interval: 200ms, "
    "shutdown_grace: 10s, http_timeout: 3s}\nlog: {format: text, level: debug}";

class LinkedInE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      oauth_ = std::make_unique<OAuthServer>();
      server_ = std::make_unique<LinkedInServer>(oauth_.get());
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    oauth_->add_client({kClient, kSecret, OAuthServer::ClientAuthMethod::body, {}, false});
    oauth_->set_expires_in(std::chrono::days{60});
    oauth_->set_issue_refresh_tokens(false);  // as for most LinkedIn apps
    server_->set_video_part_bytes(1000);
    server_->set_processing_polls(0);  // the daemon's real 5 s poll wait stays out of the test
    box_.env["LINKEDIN_CLIENT_SECRET"] = kSecret;
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config(std::string(kFastDaemon) + "\nplatforms:\n  linkedin:\n    api_base: " + server_->base_url() +
                       "\n    auth_base: " + server_->base_url() + "\n    client_id: " + kClient +
                       "\n    client_secret_env: LINKEDIN_CLIENT_SECRET\n    api_version: \"202510\"\n");
  }

  void link_with_oauth() {
    oauth_->set_authorize_mode(OAuthServer::AuthorizeMode::approve);
    box_.env["BROWSER"] = "curl -s -L -o /dev/null";
    const auto linked = box_.cli({"account", "add", "linkedin", "--name", "main", "--oauth", "--author", kMember});
    ASSERT_EQ(linked.code, 0) << linked.err;
  }

  long long new_post(std::vector<std::string> args) {
    std::vector<std::string> all = {"post", "new"};
    all.insert(all.end(), args.begin(), args.end());
    return box_.json(all).value("id", 0LL);
  }

  nlohmann::json target(long long id) { return box_.json({"post", "show", std::to_string(id)})["targets"][0]; }

  std::string png(const std::string& name) { return write(name, LinkedInServer::png_file(2500)); }

  // A 6-second MP4 of 2,600 bytes: three upload parts at the fake's 1,000.
  std::string mp4(const std::string& name) { return write(name, LinkedInServer::mp4_file(6, 2600)); }

  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = box_.dir() + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  Sandbox box_;
  std::unique_ptr<OAuthServer> oauth_;
  std::unique_ptr<LinkedInServer> server_;
};

TEST_F(LinkedInE2eTest, LinkWithOAuthThenPublishTextImageAndVideo) {
  link_with_oauth();
  ASSERT_FALSE(oauth_->authorize_requests().empty());
  EXPECT_EQ(oauth_->authorize_requests().back().scope, "openid profile w_member_social");
  for (const auto& grant : oauth_->token_requests()) EXPECT_EQ(grant.status, 200) << grant.reason;
  const auto account = box_.json({"account", "show", "linkedin:main"});
  EXPECT_EQ(account["handle"], "Ada Fake") << account;

  const std::string text = "Shipped: faster builds (2x) #release @team_ci *thanks*";
  const long long plain = new_post({text, "--to", "linkedin:main", "--now"});
  const long long picture = new_post({"The new dashboard", "--to", "linkedin:main", "--media", png("shot.png"),
                                      "--alt", "Graph of p99 latency", "--now"});
  const long long clip = new_post({"Demo video", "--to", "linkedin:main", "--media", mp4("demo.mp4"), "--now"});
  const auto run = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(run.code, 0) << run.err;

  const auto posts = server_->posts();
  ASSERT_EQ(posts.size(), 3u) << ::testing::PrintToString(server_->refusals()) << run.err;
  const auto find = [&](const std::string& text) {
    return std::find_if(posts.begin(), posts.end(), [&](const auto& p) { return p.text == text; });
  };
  const auto p_text = find(text);
  ASSERT_NE(p_text, posts.end()) << "the text arrived whole: every reserved character was escaped";
  EXPECT_TRUE(p_text->media.empty());
  EXPECT_EQ(p_text->author, kMember);
  const auto t = target(plain);
  EXPECT_EQ(t["status"], "published") << t;
  EXPECT_EQ(t["remote_ids"], nlohmann::json::array({p_text->urn}));
  EXPECT_EQ(t["remote_url"], "https://www.linkedin.com/feed/update/" + p_text->urn);

  const auto p_image = find("The new dashboard");
  ASSERT_NE(p_image, posts.end());
  const auto images = server_->images();
  ASSERT_EQ(images.size(), 1u);
  EXPECT_EQ(p_image->media, std::vector<std::string>{images[0].urn});
  EXPECT_EQ(p_image->alt_texts, std::vector<std::string>{"Graph of p99 latency"});
  EXPECT_EQ(target(picture)["status"], "published");

  const auto p_video = find("Demo video");
  ASSERT_NE(p_video, posts.end());
  const auto videos = server_->videos();
  ASSERT_EQ(videos.size(), 1u);
  EXPECT_EQ(videos[0].part_sizes, (std::vector<std::size_t>{1000, 1000, 600}));
  EXPECT_EQ(p_video->media, std::vector<std::string>{videos[0].urn});
  EXPECT_EQ(target(clip)["status"], "published");
  EXPECT_EQ(server_->count("POST /rest/posts"), 3u) << "one request per post, no retries";
}

TEST_F(LinkedInE2eTest, PastedTokenCheckShowsExpiryAndExpiredTokenNeedsRelink) {
  server_->add_access_token("AQV-pasted-token");
  const auto added = box_.cli({"account", "add", "linkedin", "--name", "page", "--author", "urn:li:organization:5515715",
                               "--access-token", "AQV-pasted-token", "--expires-in", "5184000"});
  ASSERT_EQ(added.code, 0) << added.err;
  const auto bad = box_.cli({"account", "add", "linkedin", "--name", "bad", "--author", "ada", "--access-token", "x"});
  EXPECT_EQ(bad.code, 2) << "an author that is no URN is a usage error";

  server_->add_organization("5515715", "Fake Corp");
  const auto check = box_.json({"account", "check", "linkedin:page"});
  ASSERT_TRUE(check.is_array() && check.size() == 1) << check;
  EXPECT_EQ(check[0]["handle"], "Fake Corp") << check;
  ASSERT_TRUE(check[0]["expires_at"].is_string()) << check;
  EXPECT_NE(check[0]["detail"].get<std::string>().find("token expires in 59 days"), std::string::npos) << check;

  const long long first = new_post({"From the page", "--to", "linkedin:page", "--now"});
  EXPECT_EQ(box_.daemon_run({"--once"}, 60s).code, 0);
  EXPECT_EQ(target(first)["status"], "published") << target(first);

  server_->expire_tokens();
  const long long second = new_post({"After expiry", "--to", "linkedin:page", "--now"});
  const auto run = box_.daemon_run({"--once"}, 60s);
  const auto t = target(second);
  EXPECT_EQ(t["status"], "failed") << t << run.err;
  EXPECT_NE(t.dump().find("account add linkedin --oauth"), std::string::npos) << t;
  EXPECT_EQ(server_->posts().size(), 1u);
  const auto recheck = box_.cli({"account", "check", "linkedin:page"});
  EXPECT_EQ(recheck.code, 5) << "an expired token needs re-linking: " << recheck.out << recheck.err;
  EXPECT_EQ(box_.database_bytes().find("AQV-pasted-token"), std::string::npos) << "secrets are stored sealed";
}

}  // namespace
}  // namespace multivio::e2e
