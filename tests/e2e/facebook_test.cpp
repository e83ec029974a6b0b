// SPDX-License-Identifier: MIT
// The real binaries against the fake Graph API: linking a Page with --oauth
// (a "browser" that follows the Login dialog's redirect), picking the Page at
// the prompt or with --page-id, adding one with a Page token, and publishing
// a text and a photo post through `multiviod --once`, each exactly once.
#include <fstream>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/fakes/facebook_server.hpp"
#include "tests/fakes/media_samples.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::FacebookServer;

constexpr const char* kFastDaemon =
    "daemon: {workers: 2, max_attempts: 3, retry_base: 200ms, retry_max: 2s, lease: 5s, poll_interval: 200ms, "
    "shutdown_grace: 10s, http_timeout: 1500ms}\nlog: {format: text, level: debug}";

class FacebookE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<FacebookServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.env["FB_APP_SECRET"] = "fb-app-secret";
    box_.append_config(std::string(kFastDaemon) + "\nplatforms:\n  facebook:\n    api_base: " + server_->base_url() +
                       "\n    auth_base: " + server_->base_url() + "\n    upload_base: " + server_->base_url() +
                       "\n    api_version: v23.0\n    client_id: fb-app-id\n    client_secret_env: FB_APP_SECRET\n");
    // The "browser" follows the Login dialog's redirect back to the CLI.
    box_.env["BROWSER"] = "curl -s -L -o /dev/null";
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

  std::string image(const std::string& name) {
    const std::string path = box_.dir() + "/" + name;
    std::string bytes("\x89PNG\r\n\x1a\n", 8);
    bytes += std::string("\0\0\0\x0dIHDR\0\0\x04\0\0\0\x03\0\x08\x02\0\0\0", 21);
    while (bytes.size() < 2500) bytes += static_cast<char>('a' + bytes.size() % 26);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  Sandbox box_;
  std::unique_ptr<FacebookServer> server_;
};

TEST_F(FacebookE2eTest, LinkWithOAuthPickingThePageAtThePrompt) {
  const auto linked = box_.cli({"account", "add", "facebook", "--name", "books", "--oauth"}, "2\n");
  ASSERT_EQ(linked.code, 0) << linked.err;
  EXPECT_NE(linked.err.find("2) Multivio Books (2222)"), std::string::npos) << linked.err;
  ASSERT_EQ(server_->authorize_requests().size(), 1u);
  const auto authz = server_->authorize_requests()[0];
  EXPECT_EQ(authz.scope, "pages_manage_posts,pages_read_engagement,pages_show_list");
  EXPECT_EQ(server_->count("POST /oauth/access_token") + server_->count("GET /oauth/access_token"), 2u)
      << "the code exchange, then fb_exchange_token";

  const auto account = box_.json({"account", "show", "facebook:books"});
  EXPECT_EQ(account["handle"], "Multivio Books") << account;

  const long long id = new_post({"Autumn reading list", "--to", "facebook:books", "--now"});
  run_once();
  const auto posts = server_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].page_id, "2222");
  EXPECT_EQ(posts[0].message, "Autumn reading list");
  const auto t = target(id);
  EXPECT_EQ(t["status"], "published") << t;
  EXPECT_EQ(t["remote_url"], "https://www.facebook.com/" + posts[0].id);
  const auto feed = server_->received();
  const auto it = std::find_if(feed.begin(), feed.end(), [](const auto& r) { return r.route == "POST /:page/feed"; });
  ASSERT_NE(it, feed.end());
  const std::string token = it->header("Authorization").value_or("").substr(7);
  EXPECT_TRUE(server_->is_long_lived_page_token(token)) << "a Page token that does not expire is stored";
  EXPECT_EQ(box_.database_bytes().find(token), std::string::npos) << "secrets are stored sealed";
}

TEST_F(FacebookE2eTest, LinkWithOAuthAndPageIdAsksNothing) {
  const auto linked = box_.cli({"account", "add", "facebook", "--name", "cafe", "--page-id", "1111", "--oauth"});
  ASSERT_EQ(linked.code, 0) << linked.err;
  EXPECT_EQ(linked.err.find("Link which one"), std::string::npos) << linked.err;
  EXPECT_EQ(box_.json({"account", "show", "facebook:cafe"})["handle"], "Multivio Cafe");
  const auto check = box_.cli({"account", "check", "facebook:cafe"});
  EXPECT_EQ(check.code, 0) << check.out << check.err;

  const auto wrong = box_.cli({"account", "add", "facebook", "--name", "other", "--page-id", "9999", "--oauth"});
  EXPECT_EQ(wrong.code, 2) << wrong.err;
  EXPECT_NE(wrong.err.find("does not manage Page 9999"), std::string::npos) << wrong.err;
}

TEST_F(FacebookE2eTest, PageTokenPublishesTextAndPhotoOnceEach) {
  const std::string token = server_->issue_page_token("1111");
  const auto added =
      box_.cli({"account", "add", "facebook", "--name", "cafe", "--page-id", "1111", "--access-token", token});
  ASSERT_EQ(added.code, 0) << added.err;

  const long long text = new_post({"Open late on Friday", "--to", "facebook:cafe", "--now"});
  const long long photo =
      new_post({"Our new espresso machine", "--to", "facebook:cafe", "--media", image("machine.png"), "--now"});
  run_once();

  const auto posts = server_->posts();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(server_->count("POST /:page/feed"), 1u);
  EXPECT_EQ(server_->count("POST /:page/photos"), 1u);
  const auto photos = server_->photos();
  ASSERT_EQ(photos.size(), 1u);
  EXPECT_EQ(photos[0].file_name, "machine.png");
  EXPECT_EQ(photos[0].bytes, 2500u);

  const auto tt = target(text);
  const auto pt = target(photo);
  EXPECT_EQ(tt["status"], "published") << tt;
  EXPECT_EQ(pt["status"], "published") << pt;
  for (const auto& p : posts) {
    const bool is_photo = !p.photo_ids.empty();
    EXPECT_EQ(p.message, is_photo ? "Our new espresso machine" : "Open late on Friday");
    EXPECT_EQ((is_photo ? pt : tt)["remote_ids"], nlohmann::json::array({p.id}));
  }
}

TEST_F(FacebookE2eTest, PageTokenPublishesAVideoThroughTheVideoUpload) {
  const std::string token = server_->issue_page_token("1111");
  ASSERT_EQ(box_.cli({"account", "add", "facebook", "--name", "cafe", "--page-id", "1111", "--access-token", token}).code,
            0);
  const std::string clip = box_.dir() + "/tour.mp4";
  const std::string bytes = fakes::sample_mp4(8'000, 300'000);
  fakes::write_sample(clip, bytes);
  const long long id = new_post({"A tour of the roastery", "--to", "facebook:cafe", "--media", clip, "--now"});
  run_once();

  const auto videos = server_->videos();
  ASSERT_EQ(videos.size(), 1u);
  EXPECT_EQ(server_->count("POST /:page/videos"), 1u);
  EXPECT_EQ(server_->count("POST /:page/photos"), 0u);
  EXPECT_TRUE(videos[0].bytes == bytes) << "the file arrived whole";
  EXPECT_EQ(videos[0].description, "A tour of the roastery");
  EXPECT_EQ(videos[0].content_type, "video/mp4");
  const auto t = target(id);
  EXPECT_EQ(t["status"], "published") << t;
  EXPECT_EQ(t["remote_ids"], nlohmann::json::array({videos[0].id}));
  EXPECT_EQ(t["remote_url"], "https://www.facebook.com/1111/videos/" + videos[0].id + "/");
}

TEST_F(FacebookE2eTest, ExpiredPageTokenFailsWithAReLinkHint) {
  const std::string token = server_->issue_page_token("1111");
  ASSERT_EQ(box_.cli({"account", "add", "facebook", "--name", "cafe", "--page-id", "1111", "--access-token", token})
                .code,
            0);
  server_->expire_tokens();
  const long long id = new_post({"Nobody will see this", "--to", "facebook:cafe", "--now"});
  box_.daemon_run({"--once"}, 60s);
  const auto t = target(id);
  EXPECT_NE(t["status"], "published") << t;
  EXPECT_NE(t.dump().find("re-link"), std::string::npos) << t;
  EXPECT_TRUE(server_->posts().empty());
}

}  // namespace
}  // namespace multivio::e2e
