// SPDX-License-Identifier: MIT
// common/platforms/facebook: the wire layer on literal Graph bodies (shapes
// from developers.facebook.com), then the adapter against the fake Graph API:
// text, link and photo posts, Graph errors, reconciling after a lost answer,
// linking (long-lived exchange, Page tokens) and the configured API version.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/platforms/facebook/wire.hpp"
#include "common/platforms/platform.hpp"
#include "tests/fakes/facebook_server.hpp"
#include "tests/fakes/media_samples.hpp"

namespace multivio::platforms::facebook {
namespace {

using namespace std::chrono_literals;
using fakes::FacebookServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A PNG as far as any reader looks: signature, then an IHDR chunk.
std::string png_bytes(std::size_t size) {
  std::string b("\x89PNG\r\n\x1a\n", 8);
  b += std::string("\0\0\0\x0dIHDR", 8);
  b += std::string("\0\0\x04\0\0\0\x03\0", 8);  // 1024 x 768
  b += std::string("\x08\x02\0\0\0", 5);
  while (b.size() < size) b += static_cast<char>('a' + b.size() % 26);
  return b;
}

// ---------------------------------------------------------------------------
// Wire layer

TEST(FacebookWire, FeedBodyLeavesOutEmptyFields) {
  EXPECT_EQ(nlohmann::json::parse(feed_body({"hello", "", {}})), nlohmann::json({{"message", "hello"}}));
  FeedParams p{"with photos", "https://example.com/a", {"101", "102"}};
  EXPECT_EQ(nlohmann::json::parse(feed_body(p)),
            nlohmann::json({{"message", "with photos"},
                            {"link", "https://example.com/a"},
                            {"attached_media", {{{"media_fbid", "101"}}, {{"media_fbid", "102"}}}}}));
}

TEST(FacebookWire, PhotoBodyIsMultipartWithSource) {
  const std::string bytes = png_bytes(40);
  PhotoParams p{"sh\"ot.png", "image/png", bytes, "caption text", false};
  const Multipart m = photo_body(p, "BOUNDARY");
  EXPECT_EQ(m.content_type, "multipart/form-data; boundary=BOUNDARY");
  EXPECT_THAT(m.body, HasSubstr("--BOUNDARY\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\ncaption text\r\n"));
  EXPECT_THAT(m.body, HasSubstr("name=\"published\"\r\n\r\nfalse\r\n"));
  EXPECT_THAT(m.body, HasSubstr("name=\"source\"; filename=\"sh_ot.png\"\r\nContent-Type: image/png\r\n\r\n" + bytes +
                                "\r\n--BOUNDARY--\r\n"));
  p.published = true;
  p.message.clear();
  const Multipart plain = photo_body(p, "B");
  EXPECT_EQ(plain.body.find("published"), std::string::npos);
  EXPECT_EQ(plain.body.find("name=\"message\""), std::string::npos);
}

TEST(FacebookWire, ParsesIdsPhotosAndPages) {
  EXPECT_EQ(parse_id(R"({"id":"1111_2222"})"), "1111_2222");
  EXPECT_EQ(parse_id(R"({"id":123})"), "123");
  EXPECT_THROW(parse_id(R"({"success":true})"), Error);
  EXPECT_THROW(parse_id("<html>"), Error);

  const PhotoResult photo = parse_photo(R"({"id":"55","post_id":"1111_66"})");
  EXPECT_EQ(photo.id, "55");
  EXPECT_EQ(photo.post_id, "1111_66");
  EXPECT_EQ(parse_photo(R"({"id":"55"})").post_id, "");

  const auto pages = parse_pages(R"({"data":[
      {"access_token":"EAAp1","category":"Cafe","name":"Cafe","id":"1111","tasks":["CREATE_CONTENT","MODERATE"]},
      {"name":"no id"},
      {"access_token":"EAAp2","name":"Books","id":"2222"}],
    "paging":{"cursors":{"before":"a","after":"b"}}})");
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0].access_token, "EAAp1");
  EXPECT_THAT(pages[0].tasks, ElementsAre("CREATE_CONTENT", "MODERATE"));
  EXPECT_EQ(pages[1].name, "Books");
  EXPECT_THROW(parse_pages(R"({"error":{"code":190}})"), Error);
  EXPECT_EQ(parse_page(R"({"id":"1111","name":"Cafe"})").name, "Cafe");
}

TEST(FacebookWire, ParsesPostsAndGraphTimes) {
  const auto posts = parse_posts(R"({"data":[
      {"id":"1111_9","message":"hello","created_time":"2026-11-26T05:00:00+0000",
       "permalink_url":"https://www.facebook.com/1111/posts/9"},
      {"id":"1111_8","created_time":"2026-11-25T23:30:00-0130"}]})");
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].message, "hello");
  ASSERT_TRUE(posts[0].created_time);
  EXPECT_EQ(model::format_utc(*posts[0].created_time), "2026-11-26T05:00:00Z");
  ASSERT_TRUE(posts[1].created_time);
  EXPECT_EQ(model::format_utc(*posts[1].created_time), "2026-11-26T01:00:00Z");
  EXPECT_EQ(posts[1].message, "");
  EXPECT_TRUE(parse_time("2026-11-26T05:00:00Z"));
  EXPECT_TRUE(parse_time("2026-11-26T05:00:00+00:00"));
  EXPECT_FALSE(parse_time("yesterday"));
  EXPECT_FALSE(parse_time("2026-02-30T05:00:00+0000"));
  EXPECT_EQ(post_url("1111_9"), "https://www.facebook.com/1111_9");
}

TEST(FacebookWire, ParsesLongLivedToken) {
  const auto now = std::chrono::system_clock::now();
  const auto t = parse_long_lived(R"({"access_token":"EAAl","token_type":"bearer","expires_in":5183944})", now);
  EXPECT_EQ(t.access_token, "EAAl");
  ASSERT_TRUE(t.expires_at);
  EXPECT_EQ((*t.expires_at - std::chrono::floor<std::chrono::seconds>(now)).count(), 5183944);
  EXPECT_FALSE(parse_long_lived(R"({"access_token":"x"})", now).expires_at);
  EXPECT_THROW(parse_long_lived(R"({"token_type":"bearer"})", now), Error);
}

// ---------------------------------------------------------------------------
// Adapter against the fake Graph API

class FacebookAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<FacebookServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    config_.daemon.http_timeout = 3s;
    config_.daemon.connect_timeout = 1s;
    config_.platforms["facebook"] = {{"api_base", server_->base_url()},
                                     {"auth_base", server_->base_url()},
                                     {"client_id", "fb-app-id"},
                                     {"client_secret", "fb-app-secret"}};
    http_ = http::make_client();
    adapter_ = make_adapter("facebook", Context{*http_, config_});
    account_.platform = "facebook";
    account_.name = "cafe";
    account_.options = {{"page_id", "1111"}};
    adapter_->configure_account(account_.options);
    secrets_ = {{"access_token", server_->issue_page_token("1111")}};
    post_.id = 3;
    target_.id = 5;
    dir_ = std::filesystem::temp_directory_path() / ("facebook_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  PublishRequest request(const std::string& text) {
    text_ = text;
    return PublishRequest{post_, target_, account_, secrets_, text_, "key-1"};
  }

  Error publish_error(const std::string& text = "hello") {
    try {
      adapter_->publish(request(text));
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "publish did not throw";
    return Error(ErrorKind::permanent, "none");
  }

  std::string image(const std::string& name, std::size_t size = 3000) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << png_bytes(size);
    return path.string();
  }

  std::unique_ptr<FacebookServer> server_;
  config::Config config_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<Adapter> adapter_;
  model::Account account_;
  model::Post post_;
  model::Target target_;
  nlohmann::json secrets_;
  std::string text_;
  std::filesystem::path dir_;
};

TEST_F(FacebookAdapterTest, ConfigureAccountNeedsADigitPageId) {
  nlohmann::json ok = {{"page_id", 1111}};
  adapter_->configure_account(ok);
  EXPECT_EQ(ok["page_id"], "1111");
  for (nlohmann::json bad : {nlohmann::json::object(), nlohmann::json{{"page_id", "my-cafe"}},
                             nlohmann::json{{"page_id", "1111"}, {"instance", "x"}}}) {
    try {
      adapter_->configure_account(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
    }
  }
}

TEST_F(FacebookAdapterTest, ValidatesLengthAndMedia) {
  EXPECT_TRUE(adapter_->validate("hello", {}, &account_).ok());
  const auto long_text = adapter_->validate(std::string(63'207, 'a'), {}, &account_);
  ASSERT_FALSE(long_text.ok());
  EXPECT_EQ(long_text.limit, 63'206u);
  EXPECT_TRUE(adapter_->validate(std::string(63'206, 'a'), {}, &account_).ok());
  EXPECT_TRUE(adapter_->validate("", {image("a.png")}, &account_).ok()) << "a photo alone is a post";

  const auto big = adapter_->validate("big", {image("big.png", 5 * 1024 * 1024)}, &account_);
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.problems[0], HasSubstr("big.png"));

  const std::string clip = (dir_ / "clip.mp4").string();
  fakes::write_sample(clip, fakes::sample_mp4(5'000));
  EXPECT_TRUE(adapter_->validate("clip", {clip}, &account_).ok()) << "one video is a post";
  const auto mixed = adapter_->validate("clip", {clip, image("a.png")}, &account_);
  ASSERT_FALSE(mixed.ok());
  EXPECT_THAT(mixed.problems[0], HasSubstr("does not mix images and video"));
  const std::string long_clip = (dir_ / "long.mp4").string();
  fakes::write_sample(long_clip, fakes::sample_mp4(21 * 60 * 1000));
  const auto too_long = adapter_->validate("clip", {long_clip}, &account_);
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(too_long.problems[0], HasSubstr("long.mp4': 1260 s long; facebook allows at most 1200 s"));

  const auto link = adapter_->validate("x", {}, &account_, {{"link", "ftp://example.com"}});
  ASSERT_FALSE(link.ok());
  EXPECT_THAT(link.problems[0], HasSubstr("not an http(s) URL"));
}

TEST_F(FacebookAdapterTest, PublishesTextAndLinkToTheFeed) {
  post_.options = {{"link", "https://example.com/notes"}};
  const PublishResult r = adapter_->publish(request("Release 1.2 is out"));
  const auto posts = server_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].message, "Release 1.2 is out");
  EXPECT_EQ(posts[0].link, "https://example.com/notes");
  EXPECT_THAT(r.remote_ids, ElementsAre(posts[0].id));
  EXPECT_EQ(r.remote_url, "https://www.facebook.com/" + posts[0].id);
  const auto sent = server_->received().back();
  EXPECT_EQ(sent.path, "/v23.0/1111/feed");
  EXPECT_EQ(sent.header("Authorization").value_or(""), "Bearer " + secrets_["access_token"].get<std::string>());
}

TEST_F(FacebookAdapterTest, ApiVersionComesFromConfig) {
  config_.platforms["facebook"]["api_version"] = "v24.0";
  server_->set_version("v24.0");
  adapter_->publish(request("on v24"));
  EXPECT_EQ(server_->received().back().path, "/v24.0/1111/feed");

  config_.platforms["facebook"]["api_version"] = "24";
  EXPECT_EQ(publish_error().kind(), ErrorKind::usage);
}

TEST_F(FacebookAdapterTest, OnePhotoIsOneMultipartUpload) {
  post_.media = {image("shot.png")};
  const PublishResult r = adapter_->publish(request("The new dashboard"));
  const auto photos = server_->photos();
  ASSERT_EQ(photos.size(), 1u);
  EXPECT_TRUE(photos[0].published);
  EXPECT_EQ(photos[0].content_type, "image/png");
  EXPECT_EQ(photos[0].bytes, 3000u);
  const auto posts = server_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].message, "The new dashboard");
  EXPECT_THAT(posts[0].photo_ids, ElementsAre(photos[0].id));
  EXPECT_THAT(r.remote_ids, ElementsAre(posts[0].id)) << "the post, not the photo object";
  EXPECT_EQ(server_->count("POST /:page/feed"), 0u);
}

TEST_F(FacebookAdapterTest, SeveralPhotosAreAttachedToOneFeedPost) {
  post_.media = {image("a.png"), image("b.png"), image("c.png")};
  std::vector<nlohmann::json> saved;
  PublishRequest req = request("Three views");
  req.save_progress = [&saved](const nlohmann::json& p) { saved.push_back(p); };
  const PublishResult r = adapter_->publish(req);
  const auto photos = server_->photos();
  ASSERT_EQ(photos.size(), 3u);
  for (const auto& p : photos) {
    EXPECT_FALSE(p.published);
    EXPECT_TRUE(p.attached);
  }
  const auto posts = server_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_THAT(posts[0].photo_ids, ElementsAre(photos[0].id, photos[1].id, photos[2].id));
  EXPECT_EQ(r.remote_ids.front(), posts[0].id);
  ASSERT_EQ(saved.size(), 3u) << "each upload is kept before the next step";
  EXPECT_EQ(saved.back()["photos"].size(), 3u);
}

TEST_F(FacebookAdapterTest, RetryReusesPhotosAnEarlierAttemptUploaded) {
  post_.media = {image("a.png"), image("b.png")};
  server_->script("POST /:page/feed", {{503, R"({"error":{"message":"Service temporarily unavailable","code":2,
    "type":"OAuthException","is_transient":true}})", {}, 0ms}});
  nlohmann::json progress = nlohmann::json::object();
  PublishRequest first = request("Two views");
  first.save_progress = [&progress](const nlohmann::json& p) { progress = p; };
  try {
    adapter_->publish(first);
    FAIL() << "the feed post was refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient) << e.what();
  }
  PublishRequest retry = request("Two views");
  retry.progress = progress;
  adapter_->publish(retry);
  EXPECT_EQ(server_->photos().size(), 2u) << "no second upload";
  ASSERT_EQ(server_->posts().size(), 1u);
  EXPECT_EQ(server_->posts()[0].photo_ids.size(), 2u);
}

TEST_F(FacebookAdapterTest, GraphErrorsAreClassified) {
  // A user token where a Page token belongs: Graph's error 200.
  secrets_["access_token"] = server_->issue_user_token(true);
  Error user = publish_error();
  EXPECT_EQ(user.kind(), ErrorKind::auth) << user.what();
  EXPECT_THAT(user.what(), HasSubstr("(#200)"));

  secrets_["access_token"] = server_->issue_page_token("1111");
  server_->script("POST /:page/feed", {FacebookServer::rate_limited(7)});
  const Error limited = publish_error();
  EXPECT_EQ(limited.kind(), ErrorKind::transient) << limited.what();
  ASSERT_TRUE(limited.retry_after);
  EXPECT_EQ(*limited.retry_after, 7min);

  server_->script("POST /:page/feed", {FacebookServer::graph_error(400, 100, 0, "(#100) Invalid parameter")});
  const Error invalid = publish_error();
  EXPECT_NE(invalid.kind(), ErrorKind::transient);
  EXPECT_THAT(invalid.what(), HasSubstr("(#100) Invalid parameter"));

  adapter_->publish(request("same words"));
  const Error duplicate = publish_error("same words");
  EXPECT_EQ(duplicate.kind(), ErrorKind::permanent) << duplicate.what();
  EXPECT_THAT(duplicate.what(), HasSubstr("uplicate"));

  server_->expire_tokens();
  const Error expired = publish_error("after expiry");
  EXPECT_EQ(expired.kind(), ErrorKind::auth) << expired.what();
  EXPECT_THAT(expired.what(), HasSubstr("re-link"));
  EXPECT_EQ(server_->posts().size(), 1u);
}

TEST_F(FacebookAdapterTest, DuplicateAfterUnknownFindsTheEarlierPost) {
  const std::string earlier = server_->add_post("1111", "exactly once");
  PublishRequest retry = request("exactly once");
  retry.after_unknown = true;
  const PublishResult r = adapter_->publish(retry);
  EXPECT_THAT(r.remote_ids, ElementsAre(earlier));
  EXPECT_EQ(server_->posts().size(), 1u);
  EXPECT_EQ(server_->count("GET /:page/posts"), 1u);
}

TEST_F(FacebookAdapterTest, FindRecentListsThePagesPosts) {
  server_->add_post("1111", "first");
  server_->add_post("2222", "another page");
  server_->add_post("1111", "second");
  const auto recent = adapter_->find_recent(account_, secrets_, 10);
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].text, "second");
  EXPECT_EQ(recent[1].text, "first");
  EXPECT_THAT(recent[0].url, HasSubstr("https://www.facebook.com/1111/posts/"));
  EXPECT_NE(recent[0].created_at, model::Timestamp{});
}

TEST_F(FacebookAdapterTest, CheckAccountAsksForThePage) {
  const AccountCheck check = adapter_->check_account(account_, secrets_, {});
  EXPECT_EQ(check.handle, "Multivio Cafe");
  EXPECT_THAT(check.detail, HasSubstr("1111"));
  server_->expire_tokens();
  try {
    adapter_->check_account(account_, secrets_, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
  }
  EXPECT_FALSE(adapter_->refresh(account_, secrets_)) << "Page tokens do not expire";
}

TEST_F(FacebookAdapterTest, PreviewShowsTheFeedRequestRedacted) {
  post_.options = {{"link", "https://example.com"}};
  const Preview p = adapter_->preview(request("preview me"));
  EXPECT_EQ(p.method, "POST");
  EXPECT_EQ(p.url, server_->base_url() + "/v23.0/1111/feed");
  EXPECT_EQ(nlohmann::json::parse(p.body), nlohmann::json({{"message", "preview me"}, {"link", "https://example.com"}}));
  EXPECT_EQ(p.to_json().dump().find(secrets_["access_token"].get<std::string>()), std::string::npos);
  EXPECT_TRUE(server_->received().empty()) << "a preview sends nothing";
}

TEST_F(FacebookAdapterTest, LinkingExchangesForALongLivedTokenAndPicksThePage) {
  LinkStash stash;
  const auto link = adapter_->oauth2_link({}, "http://127.0.0.1:9/callback", stash);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->config.authorize_url, server_->base_url() + "/v23.0/dialog/oauth");
  EXPECT_EQ(link->config.token_url, server_->base_url() + "/v23.0/oauth/access_token");
  EXPECT_EQ(link->config.scope_separator, ",");
  EXPECT_THAT(link->scopes, ElementsAre("pages_manage_posts", "pages_read_engagement", "pages_show_list"));
  EXPECT_EQ(adapter_->link_choice_option(), "page_id");

  oauth::TokenSet short_lived;
  short_lived.access_token = server_->issue_user_token(false);
  const auto choices = adapter_->link_choices(short_lived, {});
  ASSERT_EQ(choices.size(), 2u);
  EXPECT_EQ(choices[1].id, "2222");
  EXPECT_EQ(choices[1].name, "Multivio Books");

  std::string handle;
  const auto secrets = adapter_->secrets_from_tokens(short_lived, {{"page_id", "2222"}}, handle);
  EXPECT_EQ(handle, "Multivio Books");
  EXPECT_TRUE(server_->is_long_lived_page_token(secrets["access_token"].get<std::string>()))
      << "the Page token comes from the long-lived user token";
  EXPECT_EQ(server_->count("GET /oauth/access_token"), 1u) << "one exchange serves the pick and the secrets";

  try {
    adapter_->secrets_from_tokens(short_lived, {{"page_id", "3333"}}, handle);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_THAT(e.what(), HasSubstr("Multivio Cafe (1111)"));
  }
}

TEST_F(FacebookAdapterTest, LinkingNeedsTheAppSecret) {
  config_.platforms["facebook"].erase("client_secret");
  LinkStash stash;
  try {
    adapter_->oauth2_link({}, "http://127.0.0.1:9/callback", stash);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_THAT(e.what(), HasSubstr("client_secret_env"));
  }
}

}  // namespace
}  // namespace multivio::platforms::facebook
