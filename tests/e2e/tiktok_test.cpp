// SPDX-License-Identifier: MIT
// The real binaries against the fake TikTok Content Posting API: an account
// added with tokens, a video post published by `multiviod --once` (exactly
// one video, byte for byte), and a rotated refresh token that the daemon
// saves and uses again for the next post.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/fakes/tiktok_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::TikTokServer;

constexpr const char* kFastDaemon =
    "daemon: {workers: 2, max_attempts: 3, retry_base: 200ms, retry_max: 2s, lease: 10s, poll_interval: 200ms, "
    "shutdown_grace: 10s, http_timeout: 3s}\nlog: {format: text, level: debug}";

class TikTokE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<TikTokServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    server_->set_client("e2e-client-key", "e2e-client-secret");
    server_->set_processing_polls(1);
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config(std::string(kFastDaemon) + "\nplatforms:\n  tiktok:\n    api_base: " + server_->base_url() +
                       "\n    client_id: e2e-client-key\n    client_secret: e2e-client-secret\n");
  }

  void add_account() {
    tokens_ = server_->issue_tokens();
    const std::string path = box_.dir() + "/tokens.json";
    std::ofstream(path) << nlohmann::json{{"access_token", tokens_.access_token},
                                          {"refresh_token", tokens_.refresh_token},
                                          {"expires_in", 7200}}
                               .dump();
    const auto r = box_.cli({"account", "add", "tiktok", "--name", "main", "--token-file", path});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  std::string clip(const std::string& name, std::size_t size) {
    const std::string path = box_.dir() + "/" + name;
    std::ofstream(path, std::ios::binary) << TikTokServer::mp4(8'000, size);
    return path;
  }

  long long new_post(std::vector<std::string> args) {
    std::vector<std::string> all = {"post", "new"};
    all.insert(all.end(), args.begin(), args.end());
    return box_.json(all).value("id", 0LL);
  }

  void run_once() {
    const auto r = box_.daemon_run({"--once"}, 60s);
    EXPECT_EQ(r.code, 0) << r.err;
  }

  nlohmann::json target(long long id) { return box_.json({"post", "show", std::to_string(id)})["targets"][0]; }

  Sandbox box_;
  std::unique_ptr<TikTokServer> server_;
  TikTokServer::Tokens tokens_;
};

TEST_F(TikTokE2eTest, PublishesOneVideoByteForByte) {
  add_account();
  EXPECT_EQ(box_.database_bytes().find(tokens_.refresh_token), std::string::npos) << "secrets are stored sealed";
  const std::string path = clip("clip.mp4", 40'000);
  const long long id = new_post({"Launch day #multivio", "--media", path, "--to", "tiktok:main", "--now"});
  run_once();

  const auto published = server_->published();
  ASSERT_EQ(published.size(), 1u);
  ASSERT_EQ(server_->videos().size(), 1u) << "one init, no duplicate";
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(published[0].bytes == bytes) << "the fake received the file exactly";
  EXPECT_EQ(published[0].title, "Launch day #multivio");
  EXPECT_EQ(published[0].privacy_level, "SELF_ONLY");
  const auto t = target(id);
  EXPECT_EQ(t["status"], "published") << t;
  EXPECT_EQ(t["remote_ids"], nlohmann::json::array({published[0].post_id}));
  EXPECT_EQ(t["remote_url"], "https://www.tiktok.com/@multivio_fake/video/" + published[0].post_id);

  const auto check = box_.cli({"account", "check", "tiktok:main"});
  EXPECT_EQ(check.code, 0) << check.err;
  EXPECT_NE(check.out.find("multivio_fake"), std::string::npos) << check.out;
}

TEST_F(TikTokE2eTest, RotatedRefreshTokenIsSavedAndUsedAgain) {
  add_account();
  server_->expire_access_tokens();
  const long long first = new_post({"first", "--media", clip("a.mp4", 3'000), "--to", "tiktok:main", "--now"});
  run_once();
  EXPECT_EQ(target(first)["status"], "published") << target(first);
  EXPECT_FALSE(server_->refresh_token_valid(tokens_.refresh_token)) << "rotated away";

  // Only the token saved after the first rotation can refresh now.
  server_->expire_access_tokens();
  const long long second = new_post({"second", "--media", clip("b.mp4", 3'000), "--to", "tiktok:main", "--now"});
  run_once();
  EXPECT_EQ(target(second)["status"], "published") << target(second);
  EXPECT_EQ(server_->published().size(), 2u);
  EXPECT_EQ(server_->count("POST /v2/oauth/token/"), 2u);
}

TEST_F(TikTokE2eTest, PostCheckReportsWhatTikTokWouldRefuse) {
  add_account();
  const std::string png = box_.dir() + "/still.png";
  std::ofstream(png, std::ios::binary)
      << std::string("\x89PNG\r\n\x1A\n\0\0\0\x0DIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0", 33);
  const auto r = box_.cli({"post", "new", "a still image", "--media", png, "--to", "tiktok:main", "--now"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE((r.out + r.err).find("tiktok"), std::string::npos) << r.out << r.err;
  EXPECT_TRUE(server_->videos().empty());
}

}  // namespace
}  // namespace multivio::e2e
