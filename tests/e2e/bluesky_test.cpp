// SPDX-License-Identifier: MIT
// The real binaries against the fake PDS on 127.0.0.1: link a Bluesky
// account with an app password, publish through `multiviod --once`, retry
// after a failure without a second post.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/platforms/bluesky/wire.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/fakes/bluesky_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::BlueskyServer;

constexpr const char* kFastDaemon =
    "daemon: {workers: 2, max_attempts: 3, retry_base: 200ms, retry_max: 1s, lease: 5s, poll_interval: 200ms, "
    "shutdown_grace: 10s, http_timeout: 20s}\nlog: {format: text, level: debug}";
constexpr const char* kAppPassword = "abcd-efgh-ijkl-mnop";

class BlueskyE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<BlueskyServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    did_ = server_->add_account("alice.test", kAppPassword);
    server_->add_handle("bob.test", "did:plc:bobbobbobbobbobbobbobbob");
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config(kFastDaemon);
    box_.env["BSKY_APP_PASSWORD"] = kAppPassword;
    const auto r = box_.cli({"account", "add", "bluesky", "--name", "main", "--handle", "alice.test",
                             "--app-password-env", "BSKY_APP_PASSWORD", "--pds", server_->base_url()});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  nlohmann::json show(long long id) { return box_.json({"post", "show", std::to_string(id)}); }

  Sandbox box_;
  std::unique_ptr<BlueskyServer> server_;
  std::string did_;
};

TEST_F(BlueskyE2E, PostWithFacetsIsPublishedByOnce) {
  const std::string text = "Grüße 👋 @bob.test: v1.2 is out, see example.com/notes #multivio";
  const auto post = box_.json({"post", "new", text, "--to", "bluesky:main", "--now"});
  const auto r = box_.daemon_run({"--once"}, 30s);
  ASSERT_EQ(r.code, 0) << r.err;

  const auto shown = show(post["id"]);
  EXPECT_EQ(shown["status"], "published") << shown;
  const auto records = server_->records();
  ASSERT_EQ(records.size(), 1u);
  const auto& target = shown["targets"][0];
  EXPECT_EQ(target["remote_ids"], nlohmann::json::array({records[0].uri}));
  EXPECT_EQ(target["remote_url"], "https://bsky.app/profile/alice.test/post/" + records[0].rkey);
  EXPECT_EQ(records[0].did, did_);
  EXPECT_EQ(records[0].value["text"], text);
  // The record key is a TID anchored to the post's creation time.
  const auto tid = platforms::bluesky::decode_tid(records[0].rkey);
  ASSERT_TRUE(tid.has_value()) << records[0].rkey;
  const auto age =
      std::chrono::system_clock::now() -
      std::chrono::system_clock::time_point{std::chrono::microseconds{static_cast<std::int64_t>(*tid >> 10)}};
  EXPECT_LT(std::chrono::abs(age), 1min) << records[0].rkey;
  const auto& facets = records[0].value["facets"];
  ASSERT_EQ(facets.size(), 3u) << facets;
  EXPECT_EQ(facets[0]["index"]["byteStart"], text.find("@bob.test"));
  EXPECT_EQ(facets[1]["features"][0]["uri"], "https://example.com/notes");
  EXPECT_EQ(facets[2]["index"]["byteStart"], text.find("#multivio"));

  // The app password is stored sealed: never in clear text in the database files.
  EXPECT_EQ(box_.database_bytes().find(kAppPassword), std::string::npos);
  EXPECT_EQ(r.err.find(kAppPassword), std::string::npos);
}

TEST_F(BlueskyE2E, ImagePostUploadsTheBlob) {
  const std::string image = box_.dir() + "/shot.png";
  {
    std::ofstream out(image, std::ios::binary);
    out << std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x02\x80\0\0\x01\xe0\x08\x06\0\0\0\0\0\0\0", 33);
  }
  const auto post = box_.json({"post", "new", "a screenshot", "--to", "bluesky:main", "--media", image, "--now"});
  ASSERT_EQ(box_.daemon_run({"--once"}, 30s).code, 0);
  EXPECT_EQ(show(post["id"])["status"], "published");
  ASSERT_EQ(server_->blobs().size(), 1u);
  const auto embed = server_->records().at(0).value["embed"];
  EXPECT_EQ(embed["images"][0]["image"]["mimeType"], "image/png");
  EXPECT_EQ(embed["images"][0]["aspectRatio"], nlohmann::json({{"width", 640}, {"height", 480}}));
}

TEST_F(BlueskyE2E, FailureAfterTheWriteIsRetriedWithoutASecondPost) {
  // The record is written but the answer is lost, and the follow-up lookup
  // fails too: the attempt ends transient; the retry finds the record.
  server_->script("com.atproto.repo.createRecord",
                  {{502, R"({"error":"UpstreamFailure","message":"bad gateway"})", {}, 0ms, true}});
  server_->script("com.atproto.repo.getRecord", {{503, R"({"error":"NotEnoughResources"})", {}, 0ms, false}});
  const auto post = box_.json({"post", "new", "exactly once", "--to", "bluesky:main", "--now"});
  box_.daemon_run({"--once"}, 30s);
  EXPECT_EQ(show(post["id"])["targets"][0]["status"], "retry_wait") << show(post["id"]);
  ASSERT_EQ(server_->records().size(), 1u);

  std::this_thread::sleep_for(1500ms);  // past the backoff
  ASSERT_EQ(box_.daemon_run({"--once"}, 30s).code, 0);
  const auto shown = show(post["id"]);
  EXPECT_EQ(shown["status"], "published") << shown;
  EXPECT_EQ(shown["targets"][0]["attempts"], 2);
  EXPECT_EQ(server_->records().size(), 1u) << "the retry wrote to the same record key";
  EXPECT_EQ(shown["targets"][0]["remote_ids"][0], server_->records().at(0).uri);
}

TEST_F(BlueskyE2E, ExpiredTokenMidwayIsRefreshed) {
  // The access token expires between the login and the createRecord call.
  server_->script("com.atproto.repo.createRecord",
                  {{400, R"({"error":"ExpiredToken","message":"Token has expired"})", {}, 0ms, false}});
  const auto post = box_.json({"post", "new", "after a refresh", "--to", "bluesky:main", "--now"});
  ASSERT_EQ(box_.daemon_run({"--once"}, 30s).code, 0);
  EXPECT_EQ(show(post["id"])["status"], "published");
  EXPECT_EQ(server_->sessions_refreshed(), 1);
  EXPECT_EQ(server_->records().size(), 1u);
}

TEST_F(BlueskyE2E, DryRunShowsTheCreateRecordCallWithoutSecrets) {
  const auto preview = box_.json({"post", "new", "hello #multivio", "--to", "bluesky:main", "--now", "--dry-run"});
  const std::string dump = preview.dump();
  EXPECT_NE(dump.find("com.atproto.repo.createRecord"), std::string::npos) << dump;
  EXPECT_NE(dump.find("Bearer ***"), std::string::npos) << dump;
  EXPECT_EQ(dump.find(kAppPassword), std::string::npos);
  EXPECT_TRUE(server_->received().empty());
}

TEST_F(BlueskyE2E, AccountAddChecksItsOptions) {
  auto r = box_.cli({"account", "add", "bluesky", "--name", "nohandle", "--app-password-env", "BSKY_APP_PASSWORD"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("handle"), std::string::npos) << r.err;
  r = box_.cli({"account", "add", "bluesky", "--name", "badpds", "--handle", "a.test", "--pds", "ftp://x",
                "--app-password-env", "BSKY_APP_PASSWORD"});
  EXPECT_EQ(r.code, 2) << r.err;
  r = box_.cli({"account", "add", "bluesky", "--name", "nopass", "--handle", "a.test"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("no app password"), std::string::npos) << r.err;
}

TEST_F(BlueskyE2E, AppPasswordPipedOnStandardInput) {
  const auto r = box_.cli({"account", "add", "bluesky", "--name", "piped", "--handle", "alice.test", "--pds",
                           server_->base_url()},
                          std::string(kAppPassword) + "\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(box_.database_bytes().find(kAppPassword), std::string::npos) << "stored sealed";
  const auto post = box_.json({"post", "new", "piped password", "--to", "bluesky:piped", "--now"});
  ASSERT_EQ(box_.daemon_run({"--once"}, 30s).code, 0);
  EXPECT_EQ(show(post["id"])["status"], "published");
}

TEST_F(BlueskyE2E, WrongAppPasswordFailsAsAuth) {
  box_.env["OTHER_PASSWORD"] = "wxyz-wxyz-wxyz-wxyz";
  ASSERT_EQ(box_.cli({"account", "add", "bluesky", "--name", "wrong", "--handle", "alice.test", "--app-password-env",
                      "OTHER_PASSWORD", "--pds", server_->base_url()})
                .code,
            0);
  const auto post = box_.json({"post", "new", "nope", "--to", "bluesky:wrong", "--now"});
  EXPECT_EQ(box_.daemon_run({"--once"}, 30s).code, 1);
  const auto target = show(post["id"])["targets"][0];
  EXPECT_EQ(target["status"], "failed");
  EXPECT_NE(target["error"].get<std::string>().find("AuthenticationRequired"), std::string::npos) << target;
  EXPECT_TRUE(server_->records().empty());
}

}  // namespace
}  // namespace multivio::e2e
