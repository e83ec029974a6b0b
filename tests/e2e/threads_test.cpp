// SPDX-License-Identifier: MIT
// The real binaries against the fake Threads API: a text post (no staging
// needed), an image and a video staged with `media.stage: public_url` from a
// local file server, a long text published as a thread of replies, and a
// thread whose second publish answer is lost, finished on the retry with
// every part posted exactly once.
#include <fstream>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/fakes/meta_graph_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::MetaGraphServer;

class ThreadsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<MetaGraphServer>(MetaGraphServer::Flavor::threads);
      files_ = std::make_unique<fakes::FileServer>(box_.dir() + "/home/.local/share/multivio/media");
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    server_->set_processing_polls(1);
    server_->add_token("th-e2e-token");
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config(
        "daemon: {workers: 1, max_attempts: 3, retry_base: 200ms, retry_max: 2s, lease: 10s, poll_interval: 200ms, "
        "shutdown_grace: 10s, http_timeout: 1500ms}\nlog: {format: text, level: debug}\n"
        "media: {stage: public_url, public_url: '" + files_->base_url() + "'}\n"
        "platforms:\n  threads:\n    api_base: " + server_->base_url() + "\n    media_timeout: 5s\n");
    const std::string tokens = box_.dir() + "/th-token.json";
    std::ofstream(tokens) << R"({"access_token":"th-e2e-token"})";
    const auto added = box_.cli({"account", "add", "threads", "--name", "me", "--token-file", tokens});
    ASSERT_EQ(added.code, 0) << added.err;
  }

  long long new_post(std::vector<std::string> args) {
    std::vector<std::string> all = {"post", "new"};
    all.insert(all.end(), args.begin(), args.end());
    for (const char* a : {"--to", "threads:me", "--now"}) all.emplace_back(a);
    return box_.json(all).value("id", 0LL);
  }

  std::string library(const std::string& name, const std::string& bytes) {
    const std::string path = box_.dir() + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return "media:" + std::to_string(box_.json({"media", "add", path}).value("id", 0LL));
  }

  nlohmann::json target(long long id) { return box_.json({"post", "show", std::to_string(id)})["targets"][0]; }

  Sandbox box_;
  std::unique_ptr<MetaGraphServer> server_;
  std::unique_ptr<fakes::FileServer> files_;
};

TEST_F(ThreadsE2eTest, PublishesTextImageAndVideo) {
  const long long text = new_post({"Plain words"});
  const long long image = new_post({"A picture", "--media", library("pic.jpg", fakes::jpeg_bytes(1200, 900))});
  const long long video = new_post({"A clip", "--media", library("clip.mp4", fakes::mp4_bytes(10))});
  const auto run = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(run.code, 0) << run.err;

  const auto published = server_->published();
  ASSERT_EQ(published.size(), 3u) << run.err;
  std::map<std::string, std::string> kind_of;
  for (const auto& m : published) kind_of[m.text] = m.media_type;
  EXPECT_EQ(kind_of["Plain words"], "TEXT");
  EXPECT_EQ(kind_of["A picture"], "IMAGE");
  EXPECT_EQ(kind_of["A clip"], "VIDEO");
  for (const long long id : {text, image, video}) {
    const auto t = target(id);
    EXPECT_EQ(t["status"], "published") << t;
    EXPECT_EQ(t["remote_ids"].size(), 1u);
  }
  EXPECT_EQ(files_->requested().size(), 2u) << "only the media posts were staged";
}

TEST_F(ThreadsE2eTest, ALongTextBecomesAThreadAndALostAnswerDoesNotDuplicateAPart) {
  // The second part's publish acts, then answers after the 1.5 s timeout.
  server_->script("POST /:user/threads_publish", {{0, "", 0ms}, {0, "", 4s}});
  const std::string words = std::string(420, 'a') + " " + std::string(420, 'b') + " " + std::string(100, 'c');
  const long long id = new_post({words, "--thread", "auto"});
  const auto first = box_.daemon_run({"--once"}, 60s);
  const auto lost = target(id);
  EXPECT_EQ(lost["status"], "unknown") << lost << first.err;
  EXPECT_EQ(lost["remote_ids"].size(), 1u) << "part 1 was recorded as live";
  ASSERT_EQ(server_->published().size(), 2u);

  const auto retried = box_.cli({"post", "retry", std::to_string(id)});
  ASSERT_EQ(retried.code, 0) << retried.err;
  const auto second = box_.daemon_run({"--once"}, 60s);
  EXPECT_EQ(second.code, 0) << second.err;
  const auto t = target(id);
  EXPECT_EQ(t["status"], "published") << t;
  const auto published = server_->published();
  ASSERT_EQ(published.size(), 3u) << "three parts, each once";
  EXPECT_EQ(published[1].reply_to, published[0].id);
  EXPECT_EQ(published[2].reply_to, published[1].id);
  EXPECT_EQ(t["remote_ids"], nlohmann::json::array({published[0].id, published[1].id, published[2].id}));
}

}  // namespace
}  // namespace multivio::e2e
