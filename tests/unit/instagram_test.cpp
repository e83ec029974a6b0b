// SPDX-License-Identifier: MIT
// common/platforms/meta (the Graph error envelope, container states, the
// publish-once loop) on literal payloads, then common/platforms/instagram's
// wire layer and the adapter against the fake Graph API, with media staged
// through media.stage: public_url and served by a local file server.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/platforms/instagram/adapter.hpp"
#include "common/platforms/instagram/wire.hpp"
#include "common/platforms/meta/graph.hpp"
#include "common/platforms/platform.hpp"
#include "tests/fakes/meta_graph_server.hpp"

namespace multivio::platforms {
namespace {

using namespace std::chrono_literals;
using fakes::MetaGraphServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

http::Response response(int status, std::string body, http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string envelope(int code, int subcode, const std::string& message) {
  nlohmann::json e = {{"message", message}, {"type", "OAuthException"}, {"code", code}, {"fbtrace_id", "Ab1"}};
  if (subcode != 0) e["error_subcode"] = subcode;
  return nlohmann::json{{"error", e}}.dump();
}

// ---------------------------------------------------------------------------
// meta/graph: envelope

TEST(MetaGraph, ParsesTheEnvelope) {
  const auto e = meta::parse_error(
      R"({"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 190);
  EXPECT_EQ(e->subcode, 463);
  EXPECT_EQ(e->type, "OAuthException");
  EXPECT_EQ(e->fbtrace_id, "AbC");
  EXPECT_FALSE(meta::parse_error(R"({"id":"1"})"));
  EXPECT_FALSE(meta::parse_error("<html>"));
}

TEST(MetaGraph, MapsCodesToKinds) {
  const auto kind = [](int code, int subcode = 0) {
    return meta::classify_response(response(400, envelope(code, subcode, "m")), "instagram").kind();
  };
  EXPECT_EQ(kind(190), ErrorKind::auth);
  EXPECT_EQ(kind(190, 460), ErrorKind::auth);
  for (int code : {4, 17, 32, 613}) EXPECT_EQ(kind(code), ErrorKind::transient) << code;
  EXPECT_EQ(kind(1), ErrorKind::transient);
  EXPECT_EQ(kind(2), ErrorKind::transient);
  EXPECT_EQ(kind(506), ErrorKind::permanent);
  EXPECT_EQ(kind(9004, 2207052), ErrorKind::permanent);
  EXPECT_EQ(kind(100, 33), ErrorKind::permanent) << "subcode 33 with code 100 is a missing object, not a revoked token";

  const Error relink = meta::classify_response(response(400, envelope(190, 463, "Session has expired")), "ig:a");
  EXPECT_THAT(relink.what(), HasSubstr("re-link"));
  EXPECT_THAT(relink.what(), HasSubstr("Session has expired"));
  EXPECT_EQ(relink.http_status, 400);

  const Error media = meta::classify_response(response(400, envelope(9004, 2207052, "Media download has failed.")), "x");
  EXPECT_THAT(media.what(), HasSubstr("Media download has failed."));
  EXPECT_THAT(media.what(), HasSubstr("9004/2207052"));

  EXPECT_THAT(meta::classify_response(response(400, envelope(506, 0, "Duplicate status message")), "fb").what(),
              HasSubstr("duplicate"));
  EXPECT_TRUE(meta::is_duplicate(response(400, envelope(506, 0, "dup"))));
  EXPECT_FALSE(meta::is_duplicate(response(400, envelope(100, 0, "dup"))));
}

TEST(MetaGraph, RateLimitWaitComesFromTheUsageHeader) {
  const Error e = meta::classify_response(
      response(400, envelope(4, 0, "(#4) Application request limit reached"),
               {{"X-Business-Use-Case-Usage",
                 R"({"1784":[{"type":"instagram","call_count":100,"estimated_time_to_regain_access":7}]})"}}),
      "ig");
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  ASSERT_TRUE(e.retry_after);
  EXPECT_EQ(e.retry_after->count(), 7 * 60);
}

TEST(MetaGraph, NonEnvelopeFailuresUseHttpClassify) {
  EXPECT_EQ(meta::classify_response(response(503, "<html>busy</html>"), "ig").kind(), ErrorKind::transient);
  EXPECT_THROW(meta::expect_json(response(200, envelope(2, 0, "Service temporarily unavailable")), "ig"), Error)
      << "an envelope in a 200 is still an error";
  EXPECT_EQ(meta::expect_json(response(200, R"({"id":"5"})"), "ig")["id"], "5");
}

// ---------------------------------------------------------------------------
// meta/graph: containers

TEST(MetaGraph, ParsesContainerStates) {
  using meta::ContainerStatus;
  EXPECT_EQ(meta::parse_container({{"status_code", "FINISHED"}, {"id", "1"}}).status, ContainerStatus::finished);
  const auto ig_error = meta::parse_container({{"status_code", "ERROR"}, {"status", "Error: Media download failed"}});
  EXPECT_EQ(ig_error.status, ContainerStatus::error);
  EXPECT_EQ(ig_error.detail, "Error: Media download failed");
  const auto th_error = meta::parse_container({{"status", "ERROR"}, {"error_message", "FAILED_DOWNLOADING_VIDEO"}});
  EXPECT_EQ(th_error.status, ContainerStatus::error);
  EXPECT_EQ(th_error.detail, "FAILED_DOWNLOADING_VIDEO");
  EXPECT_EQ(meta::parse_container({{"status", "PUBLISHED"}}).status, ContainerStatus::published);
  EXPECT_EQ(meta::parse_container({{"status_code", "EXPIRED"}}).status, ContainerStatus::expired);
  EXPECT_EQ(meta::parse_container({{"status_code", "SOMETHING_NEW"}}).status, ContainerStatus::unknown);
}

TEST(MetaGraph, WaitsWhileInProgressWithinTheBudget) {
  std::vector<std::string> answers = {"IN_PROGRESS", "IN_PROGRESS", "FINISHED"};
  std::size_t reads = 0;
  std::vector<std::chrono::milliseconds> slept;
  const auto fetch = [&] { return meta::parse_container({{"status_code", answers.at(reads++)}}); };
  const auto state = meta::wait_for_container(fetch, {0ms, 100ms, 1000ms}, [&](auto d) { slept.push_back(d); },
                                              "ig", "c1");
  EXPECT_EQ(state.status, meta::ContainerStatus::finished);
  EXPECT_EQ(reads, 3u);
  EXPECT_THAT(slept, ElementsAre(100ms, 100ms));

  reads = 0;
  answers = std::vector<std::string>(50, "IN_PROGRESS");
  try {
    meta::wait_for_container(fetch, {0ms, 100ms, 300ms}, [](auto) {}, "ig", "c2");
    FAIL() << "no deadline";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_THAT(e.what(), HasSubstr("container c2 still IN_PROGRESS"));
  }
  EXPECT_EQ(reads, 4u) << "reads at 0, 100, 200 and 300 ms, then gives up";
}

struct Steps {
  std::map<std::string, std::vector<std::string>> states;  // container -> answers in order
  std::vector<std::string> created, published, remembered;
  meta::ContainerSteps make() {
    meta::ContainerSteps s;
    s.create = [this] {
      created.push_back("c" + std::to_string(created.size() + 1));
      return created.back();
    };
    s.read = [this](const std::string& id) {
      auto& q = states[id];
      const std::string now = q.empty() ? "FINISHED" : q.front();
      if (q.size() > 1) q.erase(q.begin());
      return meta::parse_container({{"status_code", now}});
    };
    s.publish = [this](const std::string& id) {
      published.push_back(id);
      return "m-" + id;
    };
    s.find_published = [](const std::string& id) { return "found-" + id; };
    s.remember = [this](const std::string& id) { remembered.push_back(id); };
    return s;
  }
};

TEST(MetaGraph, PublishesANewContainerOnceItIsFinished) {
  Steps st;
  st.states["c1"] = {"IN_PROGRESS", "FINISHED"};
  EXPECT_EQ(meta::publish_container(st.make(), std::nullopt, {0ms, 10ms, 1000ms}, [](auto) {}, "ig"), "m-c1");
  EXPECT_THAT(st.remembered, ElementsAre("c1")) << "saved before publishing";
  EXPECT_THAT(st.published, ElementsAre("c1"));
}

TEST(MetaGraph, ResumedPublishedContainerIsNotPublishedAgain) {
  Steps st;
  st.states["old"] = {"PUBLISHED"};
  EXPECT_EQ(meta::publish_container(st.make(), std::string("old"), {0ms, 10ms, 1000ms}, [](auto) {}, "ig"),
            "found-old");
  EXPECT_TRUE(st.created.empty());
  EXPECT_TRUE(st.published.empty());
}

TEST(MetaGraph, ResumedFinishedContainerIsPublishedWithoutANewOne) {
  Steps st;
  st.states["old"] = {"FINISHED"};
  EXPECT_EQ(meta::publish_container(st.make(), std::string("old"), {0ms, 10ms, 1000ms}, [](auto) {}, "ig"), "m-old");
  EXPECT_TRUE(st.created.empty());
}

TEST(MetaGraph, ExpiredContainersAreRecreatedErrorsAreFinal) {
  Steps st;
  st.states["old"] = {"EXPIRED"};
  EXPECT_EQ(meta::publish_container(st.make(), std::string("old"), {0ms, 10ms, 1000ms}, [](auto) {}, "ig"), "m-c1");
  EXPECT_THAT(st.created, ElementsAre("c1"));

  Steps expiring;
  expiring.states["c1"] = {"EXPIRED"};
  EXPECT_EQ(meta::publish_container(expiring.make(), std::nullopt, {0ms, 10ms, 1000ms}, [](auto) {}, "ig"), "m-c2")
      << "a container that expires while waiting is made again";

  Steps failing;
  failing.states["c1"] = {"ERROR"};
  try {
    meta::publish_container(failing.make(), std::nullopt, {0ms, 10ms, 1000ms}, [](auto) {}, "ig:shop");
    FAIL() << "ERROR published";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::permanent);
    EXPECT_THAT(e.what(), HasSubstr("container c1 failed"));
  }
  EXPECT_TRUE(failing.published.empty());
}

// ---------------------------------------------------------------------------
// instagram wire

TEST(InstagramWire, ContainerParameters) {
  using instagram::ItemKind;
  EXPECT_EQ(oauth::form_encode(instagram::item_container(ItemKind::image, "https://m/a.jpg", "Hi #tag", "A cat", false)),
            "image_url=https%3A%2F%2Fm%2Fa.jpg&alt_text=A%20cat&caption=Hi%20%23tag");
  EXPECT_EQ(oauth::form_encode(instagram::item_container(ItemKind::video, "https://m/v.mp4", "Reel", "", false)),
            "media_type=REELS&video_url=https%3A%2F%2Fm%2Fv.mp4&caption=Reel");
  EXPECT_EQ(oauth::form_encode(instagram::item_container(ItemKind::video, "https://m/v.mp4", "x", "", true)),
            "media_type=VIDEO&video_url=https%3A%2F%2Fm%2Fv.mp4&is_carousel_item=true")
      << "carousel items carry no caption";
  EXPECT_EQ(oauth::form_encode(instagram::carousel_container({"1", "2"}, "Both")),
            "media_type=CAROUSEL&children=1%2C2&caption=Both");
  EXPECT_EQ(instagram::count_mentions("@a hi @b_c mail@example.com @"), 2u);
}

// ---------------------------------------------------------------------------
// instagram adapter against the fake

class InstagramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ig_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "media");
    try {
      server_ = std::make_unique<MetaGraphServer>(MetaGraphServer::Flavor::instagram);
      files_ = std::make_unique<fakes::FileServer>((dir_ / "media").string());
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    server_->set_processing_polls(2);
    server_->add_token("long-1");
    config_.platforms["instagram"] = {{"api_base", server_->base_url()},
                                      {"auth_base", server_->base_url()},
                                      {"client_id", "meta-app"},
                                      {"client_secret", "meta-secret"},
                                      {"media_timeout", "10s"}};
    config_.data_dir = dir_.string();
    config_.media.stage = "public_url";
    config_.media.public_url = files_->base_url();
    http_ = http::make_client();
    make();
    account_.platform = "instagram";
    account_.name = "shop";
    secrets_ = {{"access_token", "long-1"}};
    target_.id = 7;
  }

  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void make() {
    adapter_ = instagram::make_adapter_with_sleeper(Context{*http_, config_},
                                                    [this](std::chrono::milliseconds d) { sleeps_.push_back(d); });
  }

  std::string media_file(const std::string& name, const std::string& bytes) {
    const auto path = dir_ / "media" / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
  }

  PublishRequest request(const std::string& text) {
    text_ = text;
    PublishRequest r{post_, target_, account_, secrets_, text_, "key"};
    r.save_secrets = [this](const nlohmann::json& s) { saved_secrets_.push_back(s); };
    r.progress = progress_;
    r.save_progress = [this](const nlohmann::json& p) { progress_ = p; };
    return r;
  }

  std::unique_ptr<MetaGraphServer> server_;
  std::unique_ptr<fakes::FileServer> files_;
  config::Config config_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<Adapter> adapter_;
  std::vector<std::chrono::milliseconds> sleeps_;
  model::Account account_;
  model::Post post_;
  model::Target target_;
  nlohmann::json secrets_;
  nlohmann::json progress_ = nlohmann::json::object();
  std::string text_;
  std::vector<nlohmann::json> saved_secrets_;
  std::filesystem::path dir_;
};

TEST_F(InstagramTest, RegisteredWithCapabilities) {
  const auto adapter = platforms::make_adapter("instagram", Context{*http_, config_});
  EXPECT_EQ(adapter->name(), "instagram");
  const Capabilities c = adapter->capabilities(nullptr);
  EXPECT_EQ(c.max_length, 2200u);
  EXPECT_TRUE(c.media);
  EXPECT_FALSE(c.threads);
}

TEST_F(InstagramTest, ValidateReportsInstagramsRules) {
  const std::string photo = media_file("ok.jpg", fakes::jpeg_bytes(1080, 1080));
  EXPECT_TRUE(adapter_->validate("Fine", {photo}, &account_).ok());
  EXPECT_FALSE(adapter_->validate("No media", {}, &account_).ok()) << "instagram has no text-only posts";
  EXPECT_FALSE(adapter_->validate(std::string(2201, 'a'), {photo}, &account_).ok());
  std::string mentions;
  for (int i = 0; i < 21; ++i) mentions += "@user" + std::to_string(i) + " ";
  const auto crowded = adapter_->validate(mentions, {photo}, &account_);
  ASSERT_FALSE(crowded.ok());
  EXPECT_THAT(crowded.problems.front(), HasSubstr("@-mentions"));
  EXPECT_FALSE(adapter_->validate("Too wide", {media_file("wide.jpg", fakes::jpeg_bytes(2000, 500))}, &account_).ok());

  config_.media.stage.clear();
  make();
  const auto unstaged = adapter_->validate("Fine", {photo}, &account_);
  ASSERT_FALSE(unstaged.ok());
  EXPECT_THAT(unstaged.problems.back(), HasSubstr("media.stage"));
}

TEST_F(InstagramTest, PublishesAnImageThroughAContainer) {
  post_.media = {media_file("cat.jpg", fakes::jpeg_bytes(1080, 1350))};
  const PublishResult r = adapter_->publish(request("A cat #cats"));
  const auto published = server_->published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_THAT(r.remote_ids, ElementsAre(published[0].id));
  EXPECT_EQ(r.remote_url, published[0].permalink);
  EXPECT_EQ(published[0].text, "A cat #cats");
  const auto containers = server_->containers();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers[0].media_type, "IMAGE");
  EXPECT_GT(containers[0].fetched_bytes, 0u) << "the fake fetched the staged URL";
  EXPECT_EQ(progress_["container_id"], containers[0].id) << "saved before media_publish";
  EXPECT_EQ(server_->count("GET /:id"), 4u) << "two IN_PROGRESS reads, FINISHED, then the permalink";
  EXPECT_EQ(sleeps_.size(), 2u);
}

TEST_F(InstagramTest, PublishesAReelAndACarousel) {
  post_.media = {media_file("clip.mp4", fakes::mp4_bytes(5))};
  adapter_->publish(request("Reel"));
  progress_ = nlohmann::json::object();  // the next post's target starts afresh
  post_.media = {media_file("a.jpg", fakes::jpeg_bytes(1080, 1080)), media_file("b.mp4", fakes::mp4_bytes(4))};
  adapter_->publish(request("Both"));
  const auto published = server_->published();
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].media_type, "REELS");
  EXPECT_EQ(published[1].media_type, "CAROUSEL");
  EXPECT_EQ(published[1].children.size(), 2u);
}

TEST_F(InstagramTest, AContainerInErrorIsAPermanentFailure) {
  server_->fail_next_container("Media upload has failed with error code 2207003");
  post_.media = {media_file("cat.jpg", fakes::jpeg_bytes(1080, 1080))};
  try {
    adapter_->publish(request("x"));
    FAIL() << "published";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::permanent);
    EXPECT_THAT(e.what(), HasSubstr("2207003"));
  }
  EXPECT_TRUE(server_->published().empty());
}

TEST_F(InstagramTest, AnExpiredContainerIsMadeAgain) {
  server_->expire_next_container();
  post_.media = {media_file("cat.jpg", fakes::jpeg_bytes(1080, 1080))};
  adapter_->publish(request("x"));
  EXPECT_EQ(server_->containers().size(), 2u);
  EXPECT_EQ(server_->published().size(), 1u);
}

TEST_F(InstagramTest, ALostPublishAnswerIsSettledByTheContainerNotByPublishingAgain) {
  config_.daemon.http_timeout = 700ms;
  make();
  server_->script("POST /:user/media_publish", {{0, "", 2000ms}});
  post_.media = {media_file("cat.jpg", fakes::jpeg_bytes(1080, 1080))};
  try {
    adapter_->publish(request("once"));
    FAIL() << "the answer was lost";
  } catch (const Error& e) {
    EXPECT_TRUE(e.outcome_unknown);
  }
  ASSERT_EQ(server_->published().size(), 1u) << "the fake acted before the answer was lost";
  ASSERT_TRUE(progress_.contains("container_id"));

  PublishRequest retry = request("once");
  retry.after_unknown = true;
  const PublishResult r = adapter_->publish(retry);
  EXPECT_EQ(server_->published().size(), 1u);
  EXPECT_EQ(server_->count("POST /:user/media_publish"), 1u);
  EXPECT_THAT(r.remote_ids, ElementsAre(server_->published()[0].id));
}

TEST_F(InstagramTest, MediaPublishRefusesAnUnfinishedContainer) {
  // The fake's own strictness, which the polling above relies on.
  auto http = http::make_client();
  http::Request create;
  create.method = "POST";
  create.url = server_->base_url() + "/v24.0/me/media";
  create.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  create.body = "image_url=https%3A%2F%2Fexample.invalid%2Fa.jpg&access_token=long-1";
  const auto made = http->send(create);
  ASSERT_EQ(made.status, 200) << made.body;
  const std::string id = nlohmann::json::parse(made.body)["id"];
  http::Request publish = create;
  publish.url = server_->base_url() + "/v24.0/me/media_publish";
  publish.body = "creation_id=" + id + "&access_token=long-1";
  const auto refused = http->send(publish);
  EXPECT_EQ(refused.status, 400);
  EXPECT_THAT(refused.body, HasSubstr("2207027"));
}

TEST_F(InstagramTest, ErrorsFromGraphKeepTheirKind) {
  post_.media = {media_file("cat.jpg", fakes::jpeg_bytes(1080, 1080))};
  server_->rate_limit_next(1);
  try {
    adapter_->publish(request("x"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
  }
  server_->revoke_token("long-1");
  try {
    adapter_->publish(request("x"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_THAT(e.what(), HasSubstr("re-link"));
  }
}

TEST_F(InstagramTest, RefreshesALongLivedTokenAheadOfExpiry) {
  const auto now = std::chrono::system_clock::now();
  const auto epoch = [](auto t) { return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count(); };
  secrets_ = {{"access_token", "long-1"}, {"expires_at", epoch(now + 24h * 5)}, {"issued_at", epoch(now - 24h * 55)}};
  post_.media = {media_file("cat.jpg", fakes::jpeg_bytes(1080, 1080))};
  adapter_->publish(request("x"));
  ASSERT_FALSE(saved_secrets_.empty()) << "five days before expiry the token is refreshed";
  const auto fresh = saved_secrets_.front();
  EXPECT_NE(fresh["access_token"], "long-1");
  EXPECT_GT(fresh["expires_at"].get<long long>(), epoch(now + 24h * 59));
  EXPECT_EQ(server_->count("GET /refresh_access_token"), 1u);

  // `account refresh`: always asks, and Meta refuses a token under a day old.
  server_->add_token("young", 1h);
  try {
    adapter_->refresh(account_, {{"access_token", "young"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
  }
  const auto refreshed = adapter_->refresh(account_, {{"access_token", "long-1"}});
  ASSERT_TRUE(refreshed);
  EXPECT_TRUE(refreshed->contains("expires_at"));
}

TEST_F(InstagramTest, ATokenFileLifetimeBecomesAnExpiry) {
  nlohmann::json options = nlohmann::json::object();
  nlohmann::json secrets = {{"access_token", "t"}, {"expires_in", 5184000}};
  adapter_->move_secret_options(options, secrets);
  EXPECT_FALSE(secrets.contains("expires_in"));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(secrets["expires_at"].get<double>(), static_cast<double>(now + 5184000), 5.0);
  EXPECT_NEAR(secrets["issued_at"].get<double>(), static_cast<double>(now), 5.0);
}

TEST_F(InstagramTest, LinksWithAnExchangeForALongLivedToken) {
  LinkStash stash;
  const auto link = adapter_->oauth2_link(nlohmann::json::object(), "http://127.0.0.1:9/cb", stash);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->config.authorize_url, server_->base_url() + "/oauth/authorize");
  EXPECT_EQ(link->config.token_url, server_->base_url() + "/oauth/access_token");
  EXPECT_THAT(link->scopes, ElementsAre("instagram_business_basic", "instagram_business_content_publish"));

  const std::string code = server_->issue_code("http://127.0.0.1:9/cb");
  const auto tokens =
      oauth::exchange_code(*http_, link->config, code, "http://127.0.0.1:9/cb", "verifier", std::chrono::system_clock::now());
  std::string handle;
  const auto secrets = adapter_->secrets_from_tokens(tokens, nlohmann::json::object(), handle);
  EXPECT_EQ(handle, "fake_creator");
  EXPECT_EQ(secrets["user_id"], "17841400000000001");
  EXPECT_NE(secrets["access_token"], tokens.access_token) << "the short-lived token was exchanged";
  EXPECT_TRUE(secrets.contains("expires_at"));
  EXPECT_EQ(server_->count("GET /access_token"), 1u);

  const AccountCheck check = adapter_->check_account(account_, secrets, {});
  EXPECT_EQ(check.handle, "fake_creator");
  EXPECT_TRUE(check.expires_at);
}

}  // namespace
}  // namespace multivio::platforms
