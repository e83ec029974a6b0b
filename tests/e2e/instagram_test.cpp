// SPDX-License-Identifier: MIT
// The real binaries against the fake Instagram Graph API, media staged with
// `media.stage: public_url` and served by a local file server: an image and
// a reel published through `multiviod --once`, and a media_publish whose
// answer is lost (the target ends `unknown`) settled on the retry by the
// container's status, so exactly one post exists.
#include <csignal>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/fakes/meta_graph_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::MetaGraphServer;

class InstagramE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<MetaGraphServer>(MetaGraphServer::Flavor::instagram);
      files_ = std::make_unique<fakes::FileServer>(box_.dir() + "/home/.local/share/multivio/media");
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    server_->add_token("ig-e2e-token");
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config(
        "daemon: {workers: 1, max_attempts: 3, retry_base: 200ms, retry_max: 2s, lease: 10s, poll_interval: 200ms, "
        "shutdown_grace: 10s, http_timeout: 1500ms}\nlog: {format: text, level: debug}\n"
        "media: {stage: public_url, public_url: '" + files_->base_url() + "'}\n"
        "platforms:\n  instagram:\n    api_base: " + server_->base_url() + "\n    media_timeout: 5s\n");
    const std::string tokens = box_.dir() + "/ig-token.json";
    std::ofstream(tokens) << R"({"access_token":"ig-e2e-token","expires_in":5184000})";
    const auto added = box_.cli({"account", "add", "instagram", "--name", "shop", "--token-file", tokens});
    ASSERT_EQ(added.code, 0) << added.err;
  }

  // A file copied into the media library, which media.public_url serves.
  std::string library(const std::string& name, const std::string& bytes) {
    const std::string path = box_.dir() + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return "media:" + std::to_string(box_.json({"media", "add", path}).value("id", 0LL));
  }

  long long new_post(const std::string& text, const std::string& media) {
    return box_.json({"post", "new", text, "--to", "instagram:shop", "--media", media, "--now"}).value("id", 0LL);
  }

  nlohmann::json target(long long id) { return box_.json({"post", "show", std::to_string(id)})["targets"][0]; }

  Sandbox box_;
  std::unique_ptr<MetaGraphServer> server_;
  std::unique_ptr<fakes::FileServer> files_;
};

TEST_F(InstagramE2eTest, PublishesAnImageAndAReel) {
  const long long photo = new_post("Autumn #leaves", library("leaves.jpg", fakes::jpeg_bytes(1080, 1350)));
  const long long reel = new_post("Timelapse", library("clip.mp4", fakes::mp4_bytes(6)));
  const auto run = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(run.code, 0) << run.err;

  const auto published = server_->published();
  ASSERT_EQ(published.size(), 2u) << run.err;
  const auto photo_target = target(photo);
  const auto reel_target = target(reel);
  EXPECT_EQ(photo_target["status"], "published") << photo_target;
  EXPECT_EQ(reel_target["status"], "published") << reel_target;
  for (const auto& m : published) {
    const auto& t = m.text == "Autumn #leaves" ? photo_target : reel_target;
    EXPECT_EQ(t["remote_ids"], nlohmann::json::array({m.id}));
    EXPECT_EQ(t["remote_url"], m.permalink);
    EXPECT_EQ(m.media_type, m.text == "Autumn #leaves" ? "IMAGE" : "REELS");
  }
  for (const auto& c : server_->containers()) EXPECT_GT(c.fetched_bytes, 0u) << "fetched from the staged URL";
  EXPECT_EQ(files_->requested().size(), 2u);
}

TEST_F(InstagramE2eTest, ALostPublishAnswerEndsAsExactlyOnePost) {
  // media_publish publishes, then answers after the daemon's 1.5 s timeout.
  server_->script("POST /:user/media_publish", {{0, "", 4s}});
  const long long id = new_post("Only once", library("once.jpg", fakes::jpeg_bytes(1080, 1080)));
  const auto first = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(first.code, 1) << "an unknown target is not a success: " << first.err;
  const auto lost = target(id);
  EXPECT_EQ(lost["status"], "unknown") << lost << first.err;
  ASSERT_EQ(server_->published().size(), 1u) << "the fake published before the answer was lost";

  const auto retried = box_.cli({"post", "retry", std::to_string(id)});
  ASSERT_EQ(retried.code, 0) << retried.err;
  const auto second = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(second.code, 0) << second.err;
  const auto t = target(id);
  EXPECT_EQ(t["status"], "published") << t;
  const auto published = server_->published();
  ASSERT_EQ(published.size(), 1u) << "the retry read the container instead of publishing again";
  EXPECT_EQ(t["remote_ids"], nlohmann::json::array({published[0].id}));
  EXPECT_EQ(server_->count("POST /:user/media_publish"), 1u);
}

// The daemon dies between creating the container and publishing it (while
// Meta is still processing it). The next run recovers the expired lease,
// finds the saved container id, requeues the target (a container check makes
// the retry safe), and publishes that same container once.
TEST_F(InstagramE2eTest, ACrashBetweenContainerAndPublishEndsAsExactlyOnePost) {
  server_->set_processing_polls(1'000'000);
  const long long id = new_post("Survives a crash", library("crash.jpg", fakes::jpeg_bytes(1080, 1080)));
  {
    Process daemon = box_.daemon({"--once"});
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (server_->count("GET /:id") == 0 && std::chrono::steady_clock::now() < deadline &&
           daemon.running()) {
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_GT(server_->count("GET /:id"), 0u) << "the container was never polled: " << daemon.stderr_text();
    daemon.signal(SIGKILL);
    EXPECT_EQ(daemon.wait(10s), 128 + SIGKILL);
  }
  ASSERT_EQ(server_->containers().size(), 1u);
  EXPECT_TRUE(server_->published().empty());
  server_->finish_processing();
  std::this_thread::sleep_for(10500ms);  // the dead daemon's lease (10 s) runs out

  const auto run = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.err.find("resuming from the saved progress"), std::string::npos) << run.err;
  const auto t = target(id);
  EXPECT_EQ(t["status"], "published") << t;
  EXPECT_EQ(server_->containers().size(), 1u) << "the saved container was used, not a new one";
  const auto published = server_->published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(t["remote_ids"], nlohmann::json::array({published[0].id}));
  EXPECT_EQ(server_->count("POST /:user/media_publish"), 1u);
}

TEST_F(InstagramE2eTest, WithoutStagingMediaPostsAreRefusedUpFront) {
  Sandbox plain;
  ASSERT_EQ(plain.cli({"init"}).code, 0);
  plain.append_config("platforms:\n  instagram:\n    api_base: " + server_->base_url() + "\n");
  const std::string tokens = plain.dir() + "/t.json";
  std::ofstream(tokens) << R"({"access_token":"ig-e2e-token"})";
  ASSERT_EQ(plain.cli({"account", "add", "instagram", "--name", "shop", "--token-file", tokens}).code, 0);
  const std::string photo = plain.dir() + "/p.jpg";
  std::ofstream(photo, std::ios::binary) << fakes::jpeg_bytes(1080, 1080);
  const auto r = plain.cli({"post", "check", "Hi", "--to", "instagram:shop", "--media", photo});
  EXPECT_NE(r.code, 0);
  EXPECT_NE((r.out + r.err).find("media.stage"), std::string::npos) << r.out << r.err;
  EXPECT_TRUE(server_->containers().empty());
}

}  // namespace
}  // namespace multivio::e2e
