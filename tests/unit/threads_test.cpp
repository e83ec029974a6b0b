// SPDX-License-Identifier: MIT
// common/platforms/threads: container parameters, then the adapter against
// the fake Threads API: text posts without staging, images staged through
// media.stage: public_url, threads of replies that resume after a crash
// without posting a part twice, th_exchange_token / th_refresh_token.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/platforms/platform.hpp"
#include "common/platforms/threads/adapter.hpp"
#include "common/platforms/threads/wire.hpp"
#include "tests/fakes/meta_graph_server.hpp"

namespace multivio::platforms {
namespace {

using namespace std::chrono_literals;
using fakes::MetaGraphServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ThreadsWire, ContainerParameters) {
  using threads::ItemKind;
  EXPECT_EQ(oauth::form_encode(threads::text_container({"Hello", "", ""})), "media_type=TEXT&text=Hello");
  EXPECT_EQ(oauth::form_encode(threads::text_container({"Part 2", "17", "mentioned_only"})),
            "media_type=TEXT&text=Part%202&reply_to_id=17&reply_control=mentioned_only");
  const threads::PostParams post{"Pic", "", ""};
  EXPECT_EQ(oauth::form_encode(threads::item_container(ItemKind::image, "https://m/a.png", "alt", &post)),
            "media_type=IMAGE&image_url=https%3A%2F%2Fm%2Fa.png&alt_text=alt&text=Pic");
  EXPECT_EQ(oauth::form_encode(threads::item_container(ItemKind::video, "https://m/v.mp4", "", nullptr)),
            "media_type=VIDEO&video_url=https%3A%2F%2Fm%2Fv.mp4&is_carousel_item=true");
  EXPECT_EQ(oauth::form_encode(threads::carousel_container({"1", "2"}, post)),
            "media_type=CAROUSEL&children=1%2C2&text=Pic");
}

class ThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("threads_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "media");
    try {
      server_ = std::make_unique<MetaGraphServer>(MetaGraphServer::Flavor::threads);
      files_ = std::make_unique<fakes::FileServer>((dir_ / "media").string());
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    server_->set_processing_polls(1);
    server_->add_token("th-token");
    config_.platforms["threads"] = {{"api_base", server_->base_url()},
                                    {"auth_base", server_->base_url()},
                                    {"client_id", "meta-app"},
                                    {"client_secret", "meta-secret"},
                                    {"media_timeout", "10s"}};
    config_.data_dir = dir_.string();
    http_ = http::make_client();
    make();
    account_.platform = "threads";
    account_.name = "me";
    secrets_ = {{"access_token", "th-token"}};
  }

  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void make() {
    adapter_ = threads::make_adapter_with_sleeper(Context{*http_, config_}, [](std::chrono::milliseconds) {});
  }

  void stage_public() {
    config_.media.stage = "public_url";
    config_.media.public_url = files_->base_url();
    make();
  }

  std::string media_file(const std::string& name, const std::string& bytes) {
    const auto path = dir_ / "media" / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
  }

  PublishRequest request(const std::string& text) {
    text_ = text;
    PublishRequest r{post_, target_, account_, secrets_, text_, "key"};
    r.record_parts = [this](const std::vector<std::string>& ids) { recorded_.push_back(ids); };
    r.progress = progress_;
    r.save_progress = [this](const nlohmann::json& p) { progress_ = p; };
    return r;
  }

  std::unique_ptr<MetaGraphServer> server_;
  std::unique_ptr<fakes::FileServer> files_;
  config::Config config_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<Adapter> adapter_;
  model::Account account_;
  model::Post post_;
  model::Target target_;
  nlohmann::json secrets_;
  nlohmann::json progress_ = nlohmann::json::object();
  std::string text_;
  std::vector<std::vector<std::string>> recorded_;
  std::filesystem::path dir_;
};

TEST_F(ThreadsTest, RegisteredWithCapabilities) {
  const auto adapter = platforms::make_adapter("threads", Context{*http_, config_});
  const Capabilities c = adapter->capabilities(nullptr);
  EXPECT_EQ(c.max_length, 500u);
  EXPECT_TRUE(c.threads);
  EXPECT_TRUE(c.media);
}

TEST_F(ThreadsTest, ValidateCountsFiveHundredAndNeedsStagingOnlyForMedia) {
  EXPECT_TRUE(adapter_->validate("Just text", {}, &account_).ok()) << "text needs no staging";
  EXPECT_TRUE(adapter_->validate(std::string(500, 'a'), {}, &account_).ok());
  EXPECT_FALSE(adapter_->validate(std::string(501, 'a'), {}, &account_).ok());
  const auto split = adapter_->validate(std::string(900, 'a') + " " + std::string(300, 'b'), {}, &account_,
                                        {{"thread", "auto"}});
  EXPECT_TRUE(split.ok());
  EXPECT_GE(split.parts, 2);
  const std::string photo = media_file("a.png", std::string("\x89PNG\r\n\x1A\n", 8) + std::string(100, 'x'));
  const auto unstaged = adapter_->validate("pic", {photo}, &account_);
  ASSERT_FALSE(unstaged.ok());
  EXPECT_THAT(unstaged.problems.back(), HasSubstr("media.stage"));
}

TEST_F(ThreadsTest, PublishesATextPostWithoutStaging) {
  const PublishResult r = adapter_->publish(request("Hello Threads"));
  const auto published = server_->published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].media_type, "TEXT");
  EXPECT_EQ(published[0].text, "Hello Threads");
  EXPECT_THAT(r.remote_ids, ElementsAre(published[0].id));
  EXPECT_EQ(r.remote_url, published[0].permalink);
  EXPECT_TRUE(files_->requested().empty());
}

TEST_F(ThreadsTest, PublishesAnImageAndAVideoThroughStaging) {
  stage_public();
  post_.media = {media_file("shot.jpg", fakes::jpeg_bytes(1200, 800))};
  adapter_->publish(request("A shot"));
  progress_ = nlohmann::json::object();
  post_.media = {media_file("clip.mp4", fakes::mp4_bytes(8))};
  adapter_->publish(request("A clip"));
  const auto published = server_->published();
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].media_type, "IMAGE");
  EXPECT_EQ(published[1].media_type, "VIDEO");
  EXPECT_THAT(files_->requested(), ElementsAre("/shot.jpg", "/clip.mp4")) << "the fake fetched the staged URLs";
}

TEST_F(ThreadsTest, AThreadRepliesToEachPartAndRecordsThem) {
  const std::string long_text = std::string(450, 'a') + " " + std::string(450, 'b') + " " + std::string(100, 'c');
  PublishRequest r = request(long_text);
  target_.options = {{"thread", "auto"}};
  const PublishResult result = adapter_->publish(r);
  const auto published = server_->published();
  ASSERT_GE(published.size(), 3u);
  EXPECT_EQ(published[0].reply_to, "");
  for (std::size_t i = 1; i < published.size(); ++i) EXPECT_EQ(published[i].reply_to, published[i - 1].id);
  ASSERT_EQ(recorded_.size(), published.size());
  EXPECT_EQ(recorded_.back(), result.remote_ids);
}

TEST_F(ThreadsTest, ACrashBeforePublishingPartTwoIsResumedWithoutDuplicates) {
  target_.options = {{"thread", "auto"}};
  const std::string long_text = std::string(450, 'a') + " " + std::string(450, 'b');
  config_.daemon.http_timeout = 700ms;
  make();
  // Part 1 is published; part 2's publish acts but its answer is lost.
  server_->script("POST /:user/threads_publish", {{0, "", 0ms}, {0, "", 2000ms}});
  try {
    adapter_->publish(request(long_text));
    FAIL() << "the answer was lost";
  } catch (const Error& e) {
    EXPECT_TRUE(e.outcome_unknown);
    EXPECT_THAT(e.what(), HasSubstr("part 1 is live"));
  }
  ASSERT_EQ(server_->published().size(), 2u);
  ASSERT_EQ(recorded_.size(), 1u);
  EXPECT_EQ(progress_["part"], 1);

  target_.remote_ids = recorded_.back();
  PublishRequest retry = request(long_text);
  retry.after_unknown = true;
  const PublishResult r = adapter_->publish(retry);
  const auto published = server_->published();
  EXPECT_EQ(published.size(), 2u) << "no part was posted twice";
  EXPECT_EQ(server_->count("POST /:user/threads_publish"), 2u);
  EXPECT_THAT(r.remote_ids, ElementsAre(published[0].id, published[1].id));
}

TEST_F(ThreadsTest, ExchangesAndRefreshesTokens) {
  LinkStash stash;
  const auto link = adapter_->oauth2_link(nlohmann::json::object(), "http://127.0.0.1:9/cb", stash);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->config.token_url, server_->base_url() + "/oauth/access_token");
  const auto tokens = oauth::exchange_code(*http_, link->config, server_->issue_code("http://127.0.0.1:9/cb"),
                                           "http://127.0.0.1:9/cb", "v", std::chrono::system_clock::now());
  std::string handle;
  const auto secrets = adapter_->secrets_from_tokens(tokens, nlohmann::json::object(), handle);
  EXPECT_EQ(handle, "fake_creator");
  EXPECT_EQ(server_->count("GET /access_token"), 1u);
  EXPECT_EQ(server_->received().back().route, "GET /me");

  const auto refreshed = adapter_->refresh(account_, secrets_);
  ASSERT_TRUE(refreshed);
  EXPECT_NE((*refreshed)["access_token"], "th-token");
  const auto calls = server_->received();
  EXPECT_EQ(calls.back().param("grant_type"), "th_refresh_token");
}

}  // namespace
}  // namespace multivio::platforms
