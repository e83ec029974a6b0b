// SPDX-License-Identifier: MIT
// common/platforms/linkedin: the wire layer on literal bodies (shapes from
// LinkedIn's Posts, Images and Videos API documents), then the adapter
// against the fake LinkedIn API, whose refreshable tokens come from the fake
// OAuth server.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/oauth/pkce.hpp"
#include "common/platforms/linkedin/adapter.hpp"
#include "common/platforms/linkedin/wire.hpp"
#include "common/platforms/platform.hpp"
#include "tests/fakes/linkedin_server.hpp"
#include "tests/fakes/oauth_server.hpp"

namespace multivio::platforms::linkedin {
namespace {

using namespace std::chrono_literals;
using fakes::LinkedInServer;
using fakes::OAuthServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr const char* kClient = "li-unit-client";
constexpr const char* kSecret = "li-unit-secret";
constexpr const char* kToken = "AQX-static-member-token";
constexpr const char* kMember = "urn:li:person:yC6fQv2Lh8";

http::Response response(int status, std::string body, http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

long long epoch_in(std::chrono::seconds delta) {
  return std::chrono::duration_cast<std::chrono::seconds>((std::chrono::system_clock::now() + delta).time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------
// Wire layer

TEST(LinkedInWire, EscapesEveryReservedCharacter) {
  const std::pair<std::string, std::string> table[] = {
      {"plain words, 100% fine.", "plain words, 100% fine."},
      {"\\", "\\\\"},
      {"|", "\\|"},
      {"{}", "\\{\\}"},
      {"@ada", "\\@ada"},
      {"[x](y)", "\\[x\\]\\(y\\)"},
      {"<b>", "\\<b\\>"},
      {"#release", "\\#release"},
      {"*bold* _it_ ~strike~", "\\*bold\\* \\_it\\_ \\~strike\\~"},
      {"café (ß) ✓", "café \\(ß\\) ✓"},
  };
  for (const auto& [in, out] : table) EXPECT_EQ(escape_little_text(in), out) << in;
}

TEST(LinkedInWire, PostBodies) {
  const Json text = Json::parse(post_body({kMember, "Hi (all)", {}, ""}));
  EXPECT_EQ(text, Json::parse(R"j({"author":"urn:li:person:yC6fQv2Lh8","commentary":"Hi \\(all\\)",
    "visibility":"PUBLIC","distribution":{"feedDistribution":"MAIN_FEED","targetEntities":[],
    "thirdPartyDistributionChannels":[]},"lifecycleState":"PUBLISHED","isReshareDisabledByAuthor":false})j"));

  const Json one = Json::parse(post_body({kMember, "pic", {{"urn:li:image:1", "a cat"}}, ""}));
  EXPECT_EQ(one["content"], Json::parse(R"({"media":{"id":"urn:li:image:1","altText":"a cat"}})"));
  const Json two = Json::parse(post_body({kMember, "pics", {{"urn:li:image:1", ""}, {"urn:li:image:2", "b"}}, ""}));
  EXPECT_EQ(two["content"],
            Json::parse(R"({"multiImage":{"images":[{"id":"urn:li:image:1"},{"id":"urn:li:image:2","altText":"b"}]}})"));
  const Json video = Json::parse(post_body({kMember, "clip", {}, "urn:li:video:9"}));
  EXPECT_EQ(video["content"], Json::parse(R"({"media":{"id":"urn:li:video:9"}})"));
}

TEST(LinkedInWire, UploadBodiesAndAnswers) {
  EXPECT_EQ(Json::parse(image_init_body(kMember)),
            Json::parse(R"({"initializeUploadRequest":{"owner":"urn:li:person:yC6fQv2Lh8"}})"));
  EXPECT_EQ(Json::parse(video_init_body("urn:li:organization:5", 1055736)),
            Json::parse(R"({"initializeUploadRequest":{"owner":"urn:li:organization:5","fileSizeBytes":1055736,
              "uploadCaptions":false,"uploadThumbnail":false}})"));
  EXPECT_EQ(Json::parse(video_finalize_body("urn:li:video:C5F", "", {"/a", "/b"})),
            Json::parse(R"({"finalizeUploadRequest":{"video":"urn:li:video:C5F","uploadToken":"",
              "uploadedPartIds":["/a","/b"]}})"));

  const ImageUpload image = parse_image_upload(
      R"({"value":{"uploadUrlExpiresAt":1650567510704,"uploadUrl":"https://www.linkedin.com/dms-uploads/x","image":"urn:li:image:C4E10AQFoyyAjHPMQuQ"}})");
  EXPECT_EQ(image.image, "urn:li:image:C4E10AQFoyyAjHPMQuQ");
  EXPECT_EQ(image.upload_url, "https://www.linkedin.com/dms-uploads/x");
  EXPECT_THROW(parse_image_upload(R"({"value":{}})"), Error);

  const VideoUpload video = parse_video_upload(
      R"({"value":{"uploadUrlsExpireAt":1,"video":"urn:li:video:C5F","uploadInstructions":[
        {"uploadUrl":"https://u/1","lastByte":4194303,"firstByte":0},
        {"uploadUrl":"https://u/2","lastByte":5000000,"firstByte":4194304}],"uploadToken":"tok"}})",
      5000001);
  EXPECT_EQ(video.video, "urn:li:video:C5F");
  EXPECT_EQ(video.upload_token, "tok");
  ASSERT_EQ(video.parts.size(), 2u);
  EXPECT_EQ(video.parts[1].first_byte, 4194304u);
  EXPECT_EQ(video.parts[1].last_byte, 5000000u);
  EXPECT_THROW(parse_video_upload(
                   R"({"value":{"video":"v","uploadInstructions":[{"uploadUrl":"u","firstByte":0,"lastByte":9}]}})", 20),
               Error)
      << "parts that do not cover the file";

  EXPECT_EQ(parse_video_status(R"({"status":"AVAILABLE","id":"urn:li:video:1"})").status, "AVAILABLE");
  const VideoStatus failed = parse_video_status(R"({"status":"PROCESSING_FAILED","processingFailureReason":"bad codec"})");
  EXPECT_EQ(failed.failure, "bad codec");
  const Member m = parse_userinfo(R"({"sub":"782bbtaQ","name":"John Doe","given_name":"John"})");
  EXPECT_EQ(m.sub, "782bbtaQ");
  EXPECT_EQ(m.name, "John Doe");
  EXPECT_THROW(parse_userinfo(R"({"name":"x"})"), Error);
}

TEST(LinkedInWire, PostUrnFromTheRestliHeader) {
  EXPECT_EQ(created_post_urn(response(201, "", {{"X-RestLi-Id", "urn:li:share:6844785523593134080"}})),
            "urn:li:share:6844785523593134080");
  EXPECT_EQ(created_post_urn(response(201, "", {{"x-restli-id", "urn%3Ali%3AugcPost%3A7"}})), "urn:li:ugcPost:7");
  EXPECT_EQ(created_post_urn(response(201, "")), std::nullopt);
  EXPECT_EQ(post_url("urn:li:share:68"), "https://www.linkedin.com/feed/update/urn:li:share:68");
}

TEST(LinkedInWire, ErrorEnvelopes) {
  const Error revoked = error_for(
      response(401, R"({"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user"})"),
      "linkedin:main");
  EXPECT_EQ(revoked.kind(), ErrorKind::auth);
  EXPECT_THAT(revoked.what(), HasSubstr("revoked by the user"));
  EXPECT_THAT(revoked.what(), HasSubstr("account add linkedin --oauth"));
  EXPECT_EQ(revoked.http_status, 401);
  EXPECT_EQ(error_for(response(401, R"({"serviceErrorCode":65600,"message":"Invalid access token","status":401})"), "c")
                .kind(),
            ErrorKind::auth);
  EXPECT_EQ(error_for(response(401, ""), "c").kind(), ErrorKind::auth);

  const Error limited = error_for(response(429, R"({"message":"Resource level throttle APPLICATION DAY limit","status":429})",
                                          {{"Retry-After", "120"}}),
                                 "c");
  EXPECT_EQ(limited.kind(), ErrorKind::transient);
  EXPECT_EQ(limited.retry_after, std::chrono::seconds{120});

  const Error schema = error_for(
      response(422, R"({"message":"ERROR :: /commentary :: length exceeds 3000","status":422})"), "linkedin:main");
  EXPECT_EQ(schema.kind(), ErrorKind::permanent);
  EXPECT_EQ(std::string(schema.what()), "linkedin:main: HTTP 422: ERROR :: /commentary :: length exceeds 3000");
  EXPECT_EQ(error_for(response(400, R"({"code":"ILLEGAL_ARGUMENT","message":"bad json","status":400})"), "c").kind(),
            ErrorKind::permanent);
  EXPECT_EQ(error_for(response(403, R"({"code":"ACCESS_DENIED","message":"Not enough permissions","status":403})"), "c")
                .kind(),
            ErrorKind::auth);
  EXPECT_EQ(error_for(response(503, "upstream"), "c").kind(), ErrorKind::transient);
  const Error old = error_for(response(426, R"({"code":"NONEXISTENT_VERSION","message":"Requested version 202001 is not active","status":426})"), "c");
  EXPECT_EQ(old.kind(), ErrorKind::permanent);
  EXPECT_THAT(old.what(), HasSubstr("platforms.linkedin.api_version"));
}

// ---------------------------------------------------------------------------
// The adapter against the fake

class LinkedInAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      oauth_ = std::make_unique<OAuthServer>();
      server_ = std::make_unique<LinkedInServer>(oauth_.get());
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    oauth_->add_client({kClient, kSecret, OAuthServer::ClientAuthMethod::body, {}, false});
    server_->add_access_token(kToken);
    server_->set_video_part_bytes(1000);
    config_.daemon.http_timeout = 3s;
    config_.daemon.connect_timeout = 1s;
    config_.platforms["linkedin"] = {{"api_base", server_->base_url()},
                                     {"auth_base", server_->base_url()},
                                     {"client_id", kClient},
                                     {"client_secret", kSecret},
                                     {"api_version", "202510"}};
    http_ = http::make_client();
    make();
    account_.platform = "linkedin";
    account_.name = "main";
    account_.options = {{"author", kMember}};
    adapter_->configure_account(account_.options);
    secrets_ = {{"access_token", kToken}, {"expires_at", epoch_in(std::chrono::days{60})}};
    post_.id = 3;
    target_.id = 5;
    dir_ = std::filesystem::temp_directory_path() / ("linkedin_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void make() {
    adapter_ = make_adapter_with_sleeper(Context{*http_, config_},
                                         [this](std::chrono::milliseconds d) { sleeps_.push_back(d); });
  }

  // Refreshable tokens, as the OAuth flow gets them.
  Json oauth_secrets() {
    const oauth::Pkce pkce = oauth::make_pkce();
    const std::string redirect = "http://127.0.0.1:9/callback";
    oauth::OAuth2Config c;
    c.token_url = server_->base_url() + "/oauth/v2/accessToken";
    c.client_id = kClient;
    c.client_secret = kSecret;
    const oauth::TokenSet tokens =
        oauth::exchange_code(*http_, c, oauth_->issue_code(kClient, redirect, pkce.challenge, "w_member_social"),
                             redirect, pkce.verifier, std::chrono::system_clock::now());
    return token_secrets(tokens);
  }

  PublishRequest request(const std::string& text) {
    text_ = text;
    PublishRequest r{post_, target_, account_, secrets_, text_, "key-1"};
    r.save_secrets = [this](const Json& s) { saved_.push_back(s); };
    r.progress = progress_;
    r.save_progress = [this](const Json& p) { progress_ = p; };
    return r;
  }

  Error publish_error(const PublishRequest& r) {
    try {
      adapter_->publish(r);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "publish did not throw";
    return Error(ErrorKind::permanent, "no error");
  }

  std::string file(const std::string& name, const std::string& bytes) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::vector<std::string> validate(std::string_view text, const std::vector<std::string>& media) {
    return adapter_->validate(text, media, &account_).problems;
  }

  std::unique_ptr<OAuthServer> oauth_;
  std::unique_ptr<LinkedInServer> server_;
  config::Config config_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<Adapter> adapter_;
  model::Account account_;
  model::Post post_;
  model::Target target_;
  Json secrets_;
  std::string text_;
  std::vector<Json> saved_;
  Json progress_ = Json::object();
  std::vector<std::chrono::milliseconds> sleeps_;
  std::filesystem::path dir_;
};

TEST_F(LinkedInAdapterTest, AccountOptionsNeedAnAuthorUrn) {
  Json none = Json::object();
  EXPECT_THROW(adapter_->configure_account(none), Error);
  Json bad = {{"author", "ada"}};
  try {
    adapter_->configure_account(bad);
    ADD_FAILURE() << "accepted a bare name";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_THAT(e.what(), HasSubstr("urn:li:person:<id> or urn:li:organization:<id>"));
  }
  Json unknown = {{"author", kMember}, {"handle", "x"}};
  EXPECT_THROW(adapter_->configure_account(unknown), Error);
  Json org = {{"author", " urn:li:organization:5515715 "}};
  adapter_->configure_account(org);
  EXPECT_EQ(org["author"], "urn:li:organization:5515715");
  const Capabilities c = adapter_->capabilities(&account_);
  EXPECT_EQ(c.max_length, 3000u);
  EXPECT_TRUE(c.media);
  EXPECT_FALSE(c.threads);
  EXPECT_FALSE(c.idempotency_key);
}

TEST_F(LinkedInAdapterTest, ValidatesLengthAndMedia) {
  EXPECT_TRUE(validate(std::string(3000, 'a'), {}).empty());
  EXPECT_THAT(validate(std::string(3001, 'a'), {}), ElementsAre(HasSubstr("3001 characters; linkedin allows 3000")));
  EXPECT_THAT(validate("", {}), ElementsAre("text is empty"));
  const std::string png = file("a.png", LinkedInServer::png_file(500));
  const std::string png2 = file("b.png", LinkedInServer::png_file(600));
  const std::string clip = file("clip.mp4", LinkedInServer::mp4_file(5, 2000));
  EXPECT_TRUE(validate("", {png}).empty()) << "an image post needs no text";
  EXPECT_TRUE(validate("two", {png, png2}).empty());
  EXPECT_TRUE(validate("clip", {clip}).empty());
  EXPECT_FALSE(validate("mixed", {png, clip}).empty()) << "one video or images, not both";
  EXPECT_FALSE(validate("short", {file("short.mp4", LinkedInServer::mp4_file(2, 2000))}).empty()) << "videos run at least 3 s";
  EXPECT_FALSE(validate("text file", {file("notes.txt", "just words")}).empty());
}

TEST_F(LinkedInAdapterTest, PublishesEscapedTextWithVersionHeaders) {
  const std::string text = "Release 2.0 (finally) #shipping @team: 50% faster_ever *really* ~ {ok} [1] <3 | \\o/";
  const PublishResult result = adapter_->publish(request(text));
  const auto posts = server_->posts();
  ASSERT_EQ(posts.size(), 1u) << ::testing::PrintToString(server_->refusals());
  EXPECT_EQ(posts[0].text, text) << "every reserved character arrived escaped";
  EXPECT_EQ(posts[0].author, kMember);
  EXPECT_EQ(posts[0].visibility, "PUBLIC");
  EXPECT_EQ(result.remote_ids, std::vector<std::string>{posts[0].urn});
  EXPECT_EQ(result.remote_url, "https://www.linkedin.com/feed/update/" + posts[0].urn);
  EXPECT_EQ(result.http_status, 201);
  for (const auto& r : server_->received()) {
    EXPECT_EQ(r.header("LinkedIn-Version"), "202510") << r.route;
    EXPECT_EQ(r.header("X-Restli-Protocol-Version"), "2.0.0") << r.route;
    EXPECT_EQ(r.header("Authorization"), std::string("Bearer ") + kToken) << r.route;
  }
}

TEST_F(LinkedInAdapterTest, TheFakeRefusesMissingHeadersAndRetiredVersions) {
  // The fake's header checks, seen through a bare client: what an adapter
  // that forgot them would get.
  http::Request req;
  req.method = "POST";
  req.url = server_->base_url() + "/rest/posts";
  req.headers = {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Type", "application/json"}};
  req.body = post_body({kMember, "hi", {}, ""});
  EXPECT_EQ(http_->send(req).status, 400) << "no LinkedIn-Version";
  req.headers.emplace_back("LinkedIn-Version", "202510");
  EXPECT_EQ(http_->send(req).status, 400) << "no X-Restli-Protocol-Version";
  req.headers.emplace_back("X-Restli-Protocol-Version", "2.0.0");
  req.body = R"j({"author":"urn:li:person:yC6fQv2Lh8","commentary":"a (b)","visibility":"PUBLIC",
    "distribution":{"feedDistribution":"MAIN_FEED"},"lifecycleState":"PUBLISHED"})j";
  EXPECT_EQ(http_->send(req).status, 422) << "an unescaped parenthesis";
  EXPECT_TRUE(server_->posts().empty());

  config_.platforms["linkedin"]["api_version"] = "202401";
  make();
  const Error old = publish_error(request("hello"));
  EXPECT_EQ(old.kind(), ErrorKind::permanent);
  EXPECT_EQ(old.http_status, 426);
  EXPECT_THAT(old.what(), HasSubstr("api_version"));

  config_.platforms["linkedin"]["api_version"] = "latest";
  EXPECT_THROW(make(), Error) << "a version is YYYYMM";
}

TEST_F(LinkedInAdapterTest, PublishesImagesAndRemembersUploads) {
  post_.media = {file("a.png", LinkedInServer::png_file(1500))};
  post_.options = {{"alt", Json::array({"A chart"})}};
  const PublishResult one = adapter_->publish(request("one image"));
  auto images = server_->images();
  ASSERT_EQ(images.size(), 1u);
  EXPECT_EQ(images[0].bytes, 1500u);
  EXPECT_EQ(images[0].owner, kMember);
  auto posts = server_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].media, std::vector<std::string>{images[0].urn});
  EXPECT_EQ(posts[0].alt_texts, std::vector<std::string>{"A chart"});
  EXPECT_THAT(one.remote_ids[0], ::testing::StartsWith("urn:li:ugcPost:"));
  const auto put = server_->received();
  const auto upload = std::find_if(put.begin(), put.end(), [](const auto& r) { return r.method == "PUT"; });
  ASSERT_NE(upload, put.end());
  EXPECT_EQ(upload->header("Authorization"), std::string("Bearer ") + kToken) << "image uploads carry the token";

  // Two images; the first attempt's post is refused (quota), the retry
  // reuses both uploads from the saved progress.
  progress_ = Json::object();
  post_.media = {file("b.png", LinkedInServer::png_file(1200)), file("c.png", LinkedInServer::png_file(1300))};
  server_->set_rate_limited(1);
  const Error limited = publish_error(request("two images"));
  EXPECT_EQ(limited.kind(), ErrorKind::transient);
  EXPECT_EQ(limited.http_status, 429);
  EXPECT_EQ(server_->images().size(), 3u);
  EXPECT_EQ(progress_["images"].size(), 2u) << progress_;
  adapter_->publish(request("two images"));
  EXPECT_EQ(server_->images().size(), 3u) << "nothing uploaded twice";
  posts = server_->posts();
  ASSERT_EQ(posts.size(), 2u);
  images = server_->images();
  EXPECT_THAT(posts[1].media, ElementsAre(images[1].urn, images[2].urn));
}

TEST_F(LinkedInAdapterTest, PublishesAVideoInPartsAfterProcessing) {
  server_->set_processing_polls(2);
  post_.media = {file("clip.mp4", LinkedInServer::mp4_file(5, 2500))};
  const PublishResult result = adapter_->publish(request("a clip"));
  const auto videos = server_->videos();
  ASSERT_EQ(videos.size(), 1u);
  EXPECT_EQ(videos[0].part_sizes, (std::vector<std::size_t>{1000, 1000, 500}));
  EXPECT_EQ(videos[0].status, "AVAILABLE");
  EXPECT_EQ(server_->count("POST /rest/videos?action=finalizeUpload"), 1u);
  EXPECT_EQ(server_->count("GET /rest/videos/:urn"), 3u) << "PROCESSING twice, then AVAILABLE";
  EXPECT_EQ(sleeps_.size(), 2u);
  for (const auto& r : server_->received()) {
    if (r.route == "PUT /upload/video/:id/:part") {
      EXPECT_FALSE(r.header("Authorization")) << "pre-signed URLs";
    }
  }
  const auto posts = server_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].media, std::vector<std::string>{videos[0].urn});
  EXPECT_EQ(result.remote_ids, std::vector<std::string>{posts[0].urn});
  EXPECT_EQ(progress_["video"], videos[0].urn);

  // A retry of a target whose video went up (saved progress) posts it again
  // without a second upload.
  server_->set_rate_limited(1);
  EXPECT_EQ(publish_error(request("again")).kind(), ErrorKind::transient);
  adapter_->publish(request("again"));
  EXPECT_EQ(server_->videos().size(), 1u);
  EXPECT_EQ(server_->count("POST /rest/videos?action=initializeUpload"), 1u);
  ASSERT_EQ(server_->posts().size(), 2u);
  EXPECT_EQ(server_->posts()[1].media, std::vector<std::string>{videos[0].urn});
}

TEST_F(LinkedInAdapterTest, VideoFailuresAndTimeouts) {
  server_->fail_next_processing("UNSUPPORTED_CODEC");
  post_.media = {file("clip.mp4", LinkedInServer::mp4_file(5, 1500))};
  const Error failed = publish_error(request("broken"));
  EXPECT_EQ(failed.kind(), ErrorKind::validation);
  EXPECT_THAT(failed.what(), HasSubstr("UNSUPPORTED_CODEC"));

  progress_ = Json::object();
  server_->set_processing_polls(1000);
  config_.platforms["linkedin"]["media_timeout"] = "12s";
  make();
  const Error slow = publish_error(request("slow"));
  EXPECT_EQ(slow.kind(), ErrorKind::transient);
  EXPECT_THAT(slow.what(), HasSubstr("still PROCESSING"));
  EXPECT_LE(sleeps_.size(), 4u) << "bounded by media_timeout";
  EXPECT_TRUE(server_->posts().empty());
}

TEST_F(LinkedInAdapterTest, ExpiredTokensAreAuthErrorsUnlessRefreshable) {
  server_->expire_tokens();
  const Error expired = publish_error(request("hello"));
  EXPECT_EQ(expired.kind(), ErrorKind::auth);
  EXPECT_EQ(expired.http_status, 401);
  EXPECT_THAT(expired.what(), HasSubstr("expired"));
  EXPECT_THAT(expired.what(), HasSubstr("account add linkedin --oauth"));

  // Past its expires_at with no refresh token: refused without a request.
  const std::size_t before = server_->received().size();
  secrets_["expires_at"] = epoch_in(-std::chrono::hours{1});
  const Error stale = publish_error(request("hello"));
  EXPECT_EQ(stale.kind(), ErrorKind::auth);
  EXPECT_EQ(server_->received().size(), before);
  EXPECT_THROW(adapter_->refresh(account_, secrets_), Error);

  // A refresh token (partner apps): a 401 is answered by one refresh, saved first.
  oauth_->set_expires_in(std::chrono::days{60});
  secrets_ = oauth_secrets();
  ASSERT_TRUE(secrets_.contains("refresh_token"));
  server_->expire_tokens();
  adapter_->publish(request("after a refresh"));
  ASSERT_EQ(saved_.size(), 1u);
  EXPECT_NE(saved_[0]["access_token"], secrets_["access_token"]);
  EXPECT_EQ(server_->posts().size(), 1u);
  const auto grants = oauth_->token_requests();
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[1].grant_type, "refresh_token");
  EXPECT_EQ(grants[1].status, 200) << grants[1].reason;

  const auto fresh = adapter_->refresh(account_, saved_[0]);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->contains("expires_at"));
  Json no_refresh = {{"access_token", kToken}, {"expires_at", epoch_in(std::chrono::days{30})}};
  EXPECT_EQ(adapter_->refresh(account_, no_refresh), std::nullopt);
}

TEST_F(LinkedInAdapterTest, OrganizationAuthors) {
  account_.options = {{"author", "urn:li:organization:5515715"}};
  const Error denied = publish_error(request("as the page"));
  EXPECT_EQ(denied.kind(), ErrorKind::auth) << denied.what();
  EXPECT_EQ(denied.http_status, 403);

  server_->add_organization("5515715", "Fake Corp");
  adapter_->publish(request("as the page"));
  const auto posts = server_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].author, "urn:li:organization:5515715");
  const AccountCheck check = adapter_->check_account(account_, secrets_, {});
  EXPECT_EQ(check.handle, "Fake Corp");
}

TEST_F(LinkedInAdapterTest, PreviewRedactsTheToken) {
  post_.media = {file("a.png", LinkedInServer::png_file(500))};
  const Preview p = adapter_->preview(request("look (here)"));
  EXPECT_EQ(p.method, "POST");
  EXPECT_EQ(p.url, server_->base_url() + "/rest/posts");
  EXPECT_THAT(p.headers, ::testing::Contains(std::pair<std::string, std::string>{"Authorization", "Bearer ***"}));
  EXPECT_THAT(p.headers, ::testing::Contains(std::pair<std::string, std::string>{"LinkedIn-Version", "202510"}));
  EXPECT_EQ(p.to_json().dump().find(kToken), std::string::npos);
  const Json body = Json::parse(p.body);
  EXPECT_EQ(body["commentary"], "look \\(here\\)");
  EXPECT_EQ(body["content"]["media"]["id"], "<urn of uploaded a.png>");
  EXPECT_TRUE(server_->received().empty()) << "preview sends nothing";
}

TEST_F(LinkedInAdapterTest, LinkingScopesAndMemberHandle) {
  LinkStash stash;
  const auto member = adapter_->oauth2_link(account_.options, "http://127.0.0.1:5/callback", stash);
  ASSERT_TRUE(member);
  EXPECT_THAT(member->scopes, ElementsAre("openid", "profile", "w_member_social"));
  EXPECT_EQ(member->config.authorize_url, server_->base_url() + "/oauth/v2/authorization");
  EXPECT_EQ(member->config.token_url, server_->base_url() + "/oauth/v2/accessToken");
  const auto page = adapter_->oauth2_link({{"author", "urn:li:organization:1"}}, "http://127.0.0.1:5/callback", stash);
  ASSERT_TRUE(page);
  EXPECT_THAT(page->scopes, ElementsAre("w_organization_social", "r_organization_social"));

  oauth::TokenSet tokens;
  tokens.access_token = kToken;
  tokens.expires_at = std::chrono::sys_seconds{std::chrono::seconds{epoch_in(std::chrono::days{60})}};
  tokens.scope = "openid,profile,w_member_social";
  std::string handle;
  const Json secrets = adapter_->secrets_from_tokens(tokens, account_.options, handle);
  EXPECT_EQ(handle, "Ada Fake");
  EXPECT_EQ(secrets["expires_at"], tokens.expires_at->time_since_epoch().count());
  EXPECT_THROW(adapter_->secrets_from_tokens(tokens, {{"author", "urn:li:person:someoneElse"}}, handle), Error)
      << "the login is not the --author";

  const AccountCheck check = adapter_->check_account(account_, secrets, {});
  EXPECT_EQ(check.handle, "Ada Fake");
  ASSERT_TRUE(check.expires_at);
  EXPECT_THAT(check.scopes, ElementsAre("openid", "profile", "w_member_social"));
  EXPECT_THAT(check.detail, HasSubstr("member urn:li:person:yC6fQv2Lh8"));

  config_.platforms["linkedin"].erase("client_secret");
  make();
  EXPECT_THROW(adapter_->oauth2_link(account_.options, "http://127.0.0.1:5/callback", stash), Error);
}

TEST_F(LinkedInAdapterTest, CheckWarnsAboutASoonExpiringToken) {
  secrets_["expires_at"] = epoch_in(std::chrono::days{3} + 1h);
  const AccountCheck check = adapter_->check_account(account_, secrets_, {});
  EXPECT_THAT(check.detail, HasSubstr("token expires in 3 days"));
  EXPECT_THAT(check.detail, HasSubstr("account add linkedin --oauth"));
}

}  // namespace
}  // namespace multivio::platforms::linkedin
