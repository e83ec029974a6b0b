// SPDX-License-Identifier: MIT
// common/platforms/tiktok: the chunk planner against the media transfer
// guide's rules, the envelope and its error codes on literal bodies, then the
// adapter against the fake Content Posting API (creator_info, init, chunked
// PUTs, status polls, rotating refresh tokens).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/platforms/platform.hpp"
#include "common/platforms/tiktok/adapter.hpp"
#include "common/platforms/tiktok/wire.hpp"
#include "tests/fakes/tiktok_server.hpp"

namespace multivio::platforms::tiktok {
namespace {

using namespace std::chrono_literals;
using fakes::TikTokServer;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr std::uint64_t MB = 1024 * 1024;

http::Response response(int status, std::string body, http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string envelope(std::string_view code, std::string_view message = "") {
  return Json{{"data", Json::object()}, {"error", {{"code", code}, {"message", message}, {"log_id", "202611"}}}}
      .dump();
}

// The guide's rules, restated independently of plan_chunks.
void expect_valid_plan(const ChunkPlan& p, std::uint64_t size) {
  SCOPED_TRACE("video_size " + std::to_string(size));
  EXPECT_EQ(p.video_size, size);
  ASSERT_EQ(p.ranges.size(), p.total_chunk_count);
  ASSERT_GE(p.total_chunk_count, 1u);
  EXPECT_LE(p.total_chunk_count, 1000u);
  if (size < 5 * MB) {
    EXPECT_EQ(p.chunk_size, size);
    EXPECT_EQ(p.total_chunk_count, 1u);
  } else {
    EXPECT_GE(p.chunk_size, 5 * MB);
    EXPECT_LE(p.chunk_size, 64 * MB);
    EXPECT_EQ(p.total_chunk_count, size / p.chunk_size);
  }
  if (size > 64 * MB) {
    EXPECT_GE(p.total_chunk_count, 2u);
  }
  std::uint64_t next = 0;
  for (std::size_t i = 0; i < p.ranges.size(); ++i) {
    EXPECT_EQ(p.ranges[i].first, next);
    if (i + 1 < p.ranges.size()) {
      EXPECT_EQ(p.ranges[i].size(), p.chunk_size);
    } else {
      EXPECT_GE(p.ranges[i].size(), p.chunk_size);
      EXPECT_LE(p.ranges[i].size(), 128 * MB);
    }
    next = p.ranges[i].last + 1;
  }
  EXPECT_EQ(next, size);
}

// ---------------------------------------------------------------------------
// Wire layer

TEST(TikTokWire, SmallVideosGoWhole) {
  const ChunkPlan tiny = plan_chunks(1000);
  EXPECT_EQ(tiny.chunk_size, 1000u);
  EXPECT_EQ(tiny.total_chunk_count, 1u);
  ASSERT_EQ(tiny.ranges.size(), 1u);
  EXPECT_EQ(tiny.ranges[0].first, 0u);
  EXPECT_EQ(tiny.ranges[0].last, 999u);
  EXPECT_EQ(plan_chunks(5 * MB - 1, 5 * MB).chunk_size, 5 * MB - 1) << "under 5 MB: one chunk of the whole file";
  EXPECT_EQ(plan_chunks(5 * MB, 5 * MB).total_chunk_count, 1u);
  EXPECT_EQ(plan_chunks(9 * MB, 10 * MB).chunk_size, 9 * MB) << "not above the preferred size: one chunk";
  EXPECT_EQ(plan_chunks(1).ranges[0].size(), 1u);
}

TEST(TikTokWire, LastChunkTakesTheTrailingBytes) {
  const ChunkPlan p = plan_chunks(25 * MB + 123, 10 * MB);
  EXPECT_EQ(p.chunk_size, 10 * MB);
  EXPECT_EQ(p.total_chunk_count, 2u) << "floor(25 MB / 10 MB)";
  ASSERT_EQ(p.ranges.size(), 2u);
  EXPECT_EQ(p.ranges[1].first, 10 * MB);
  EXPECT_EQ(p.ranges[1].size(), 15 * MB + 123);
  expect_valid_plan(p, 25 * MB + 123);

  const ChunkPlan exact = plan_chunks(30 * MB, 10 * MB);
  EXPECT_EQ(exact.total_chunk_count, 3u);
  EXPECT_EQ(exact.ranges[2].size(), 10 * MB);
}

TEST(TikTokWire, PreferredChunkIsClamped) {
  EXPECT_EQ(plan_chunks(40 * MB, 1000).chunk_size, 5 * MB);
  EXPECT_EQ(plan_chunks(300 * MB, 500 * MB).chunk_size, 64 * MB);
}

TEST(TikTokWire, OverSixtyFourMegabytesIsAlwaysChunked) {
  // 100 MB with 64 MB chunks would be floor(100/64) = 1 chunk: not allowed.
  const ChunkPlan p = plan_chunks(100 * MB + 1, 64 * MB);
  EXPECT_EQ(p.total_chunk_count, 2u);
  expect_valid_plan(p, 100 * MB + 1);
}

TEST(TikTokWire, AtMostAThousandChunks) {
  const std::uint64_t size = 20'000 * MB + 7;
  const ChunkPlan p = plan_chunks(size, 5 * MB);
  EXPECT_LE(p.total_chunk_count, 1000u);
  expect_valid_plan(p, size);
  EXPECT_THROW(plan_chunks(65 * 1000 * MB), Error) << "over 1000 chunks of 64 MB";
  try {
    plan_chunks(0);
    ADD_FAILURE() << "an empty video was planned";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::validation);
  }
}

TEST(TikTokWire, EveryPlanFollowsTheRules) {
  for (const std::uint64_t size : std::initializer_list<std::uint64_t>{1, 4 * MB, 5 * MB, 5 * MB + 1, 10 * MB - 1, 10 * MB, 10 * MB + 1, 63 * MB,
                                   64 * MB, 64 * MB + 1, 127 * MB, 128 * MB, 129 * MB, 1000 * MB, 4096 * MB}) {
    for (const std::uint64_t preferred : std::initializer_list<std::uint64_t>{5 * MB, 10 * MB, 64 * MB}) expect_valid_plan(plan_chunks(size, preferred), size);
  }
}

TEST(TikTokWire, ContentRange) {
  EXPECT_EQ(content_range({0, 5 * MB - 1}, 12'000'000), "bytes 0-5242879/12000000");
  EXPECT_EQ(content_range({0, 0}, 1), "bytes 0-0/1");
}

TEST(TikTokWire, EnvelopeErrorsMapToKinds) {
  const auto kind_of = [](int status, std::string_view code) {
    return to_error(response(status, envelope(code, "msg")), "tiktok:main").kind();
  };
  EXPECT_EQ(kind_of(401, "access_token_invalid"), ErrorKind::auth);
  EXPECT_EQ(kind_of(401, "scope_not_authorized"), ErrorKind::auth);
  EXPECT_EQ(kind_of(403, "scope_permission_missed"), ErrorKind::auth);
  EXPECT_EQ(kind_of(429, "rate_limit_exceeded"), ErrorKind::transient);
  EXPECT_EQ(kind_of(403, "spam_risk_too_many_posts"), ErrorKind::transient);
  EXPECT_EQ(kind_of(400, "invalid_params"), ErrorKind::validation);
  EXPECT_EQ(kind_of(400, "privacy_level_option_mismatch"), ErrorKind::validation);
  EXPECT_EQ(kind_of(403, "unaudited_client_can_only_post_to_private_accounts"), ErrorKind::validation);
  EXPECT_EQ(kind_of(400, "duration_check_failed"), ErrorKind::validation);
  EXPECT_EQ(kind_of(400, "file_format_check_failed"), ErrorKind::validation);
  EXPECT_EQ(kind_of(500, "internal_error"), ErrorKind::transient);
  EXPECT_EQ(kind_of(400, "something_new"), ErrorKind::permanent);

  const Error e = to_error(response(400, envelope("privacy_level_option_mismatch", "privacy_level is not allowed")),
                           "tiktok:main: video init");
  EXPECT_STREQ(e.what(), "tiktok:main: video init: HTTP 400: privacy_level_option_mismatch: privacy_level is not allowed");
  EXPECT_EQ(e.http_status, 400);

  const Error limited = to_error(response(429, envelope("rate_limit_exceeded"), {{"Retry-After", "17"}}), "t");
  EXPECT_EQ(limited.retry_after, 17s);
  EXPECT_EQ(to_error(response(429, envelope("rate_limit_exceeded")), "t").retry_after, 60s) << "per-minute windows";
  // No envelope at all (a proxy's page): the generic classification.
  EXPECT_EQ(to_error(response(502, "<html>bad gateway</html>"), "t").kind(), ErrorKind::transient);
}

TEST(TikTokWire, ExpectDataNeedsOk) {
  const std::string ok = R"({"data":{"publish_id":"v_pub_file~v2-1.1","upload_url":"https://open-upload.tiktokapis.com/video/?upload_id=1&upload_token=t"},"error":{"code":"ok","message":"","log_id":"20261126"}})";
  const InitResult init = parse_init(expect_data(response(200, ok), "t"));
  EXPECT_EQ(init.publish_id, "v_pub_file~v2-1.1");
  EXPECT_THAT(init.upload_url, HasSubstr("upload_token=t"));
  // A 200 whose envelope carries an error is still an error.
  EXPECT_THROW(expect_data(response(200, envelope("invalid_params", "bad")), "t"), Error);
  EXPECT_THROW(parse_init(Json::object()), Error);
  EXPECT_FALSE(parse_envelope("not json"));
  EXPECT_FALSE(parse_envelope(R"({"data":{}})")) << "no error object: not an envelope";
}

TEST(TikTokWire, ParsesCreatorStatusAndUser) {
  const CreatorInfo c = parse_creator_info(Json::parse(
      R"({"creator_avatar_url":"https://x/a.jpeg","creator_username":"tiktok","creator_nickname":"TikTok Official",
          "privacy_level_options":["PUBLIC_TO_EVERYONE","MUTUAL_FOLLOW_FRIENDS","SELF_ONLY"],
          "comment_disabled":false,"duet_disabled":true,"stitch_disabled":true,"max_video_post_duration_sec":300})"));
  EXPECT_EQ(c.username, "tiktok");
  EXPECT_EQ(c.privacy_level_options.size(), 3u);
  EXPECT_TRUE(c.duet_disabled);
  EXPECT_FALSE(c.comment_disabled);
  EXPECT_EQ(c.max_video_post_duration_sec, 300);
  EXPECT_THROW(parse_creator_info(Json::object()), Error);

  const PublishStatus s = parse_status(Json::parse(
      R"({"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7400000000000000001],"uploaded_bytes":10000})"));
  EXPECT_EQ(s.status, "PUBLISH_COMPLETE");
  ASSERT_EQ(s.post_ids.size(), 1u);
  EXPECT_EQ(s.post_ids[0], "7400000000000000001") << "a 19-digit id keeps every digit";
  EXPECT_EQ(s.uploaded_bytes, 10000u);
  EXPECT_EQ(parse_status(Json::parse(R"({"status":"FAILED","fail_reason":"file_format_check_failed"})")).fail_reason,
            "file_format_check_failed");
  EXPECT_THROW(parse_status(Json::object()), Error);

  const User u = parse_user(Json::parse(R"({"user":{"open_id":"723f","username":"tiktok","display_name":"TikTok"}})"));
  EXPECT_EQ(u.open_id, "723f");
  EXPECT_EQ(u.username, "tiktok");
  EXPECT_THROW(parse_user(Json::parse(R"({"user":{}})")), Error);
  EXPECT_EQ(post_url("tiktok", "7400"), "https://www.tiktok.com/@tiktok/video/7400");
  EXPECT_EQ(post_url("", "7400"), "");
}

TEST(TikTokWire, InitBody) {
  const Json body = Json::parse(init_body({"Hello", "SELF_ONLY", true, false, true}, plan_chunks(25 * MB, 10 * MB)));
  EXPECT_EQ(body["post_info"]["title"], "Hello");
  EXPECT_EQ(body["post_info"]["privacy_level"], "SELF_ONLY");
  EXPECT_EQ(body["post_info"]["disable_comment"], true);
  EXPECT_EQ(body["post_info"]["disable_duet"], false);
  EXPECT_EQ(body["source_info"],
            Json({{"source", "FILE_UPLOAD"}, {"video_size", 25 * MB}, {"chunk_size", 10 * MB}, {"total_chunk_count", 2}}));
  EXPECT_EQ(status_body("v_pub_file~v2-1.1"), R"({"publish_id":"v_pub_file~v2-1.1"})");
}

// ---------------------------------------------------------------------------
// Adapter against the fake

constexpr const char* kClientKey = "awfaketiktokkey";
constexpr const char* kClientSecret = "fake-secret";

class TikTokAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<TikTokServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    server_->set_client(kClientKey, kClientSecret);
    config_.daemon.http_timeout = 5s;
    config_.daemon.connect_timeout = 1s;
    config_.platforms["tiktok"] = {{"api_base", server_->base_url()},
                                   {"client_id", kClientKey},
                                   {"client_secret", kClientSecret},
                                   {"upload_chunk_bytes", std::to_string(5 * MB)}};
    http_ = http::make_client();
    make();
    account_.platform = "tiktok";
    account_.name = "main";
    adapter_->configure_account(account_.options);
    const auto tokens = server_->issue_tokens();
    secrets_ = {{"access_token", tokens.access_token}, {"refresh_token", tokens.refresh_token}};
    post_.id = 3;
    target_.id = 5;
    dir_ = std::filesystem::temp_directory_path() / ("tiktok_test_" + std::to_string(::getpid()));
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

  std::string video(const std::string& name, std::int64_t duration_ms, std::size_t size) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << TikTokServer::mp4(duration_ms, size);
    return path.string();
  }

  std::string bytes_of(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
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
    return Error(ErrorKind::permanent, "none");
  }

  std::vector<TikTokServer::Received> requests(std::string_view route) const {
    std::vector<TikTokServer::Received> out;
    for (auto& r : server_->received()) {
      if (r.route == route) out.push_back(r);
    }
    return out;
  }

  std::unique_ptr<TikTokServer> server_;
  config::Config config_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<Adapter> adapter_;
  std::vector<std::chrono::milliseconds> sleeps_;
  model::Account account_;
  model::Post post_;
  model::Target target_;
  Json secrets_;
  Json progress_ = Json::object();
  std::string text_;
  std::vector<Json> saved_;
  std::filesystem::path dir_;
};

TEST_F(TikTokAdapterTest, PublishesASmallVideoPrivatelyByDefault) {
  post_.media = {video("clip.mp4", 12'000, 3000)};
  const PublishResult r = adapter_->publish(request("First clip #multivio"));

  const auto published = server_->published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].bytes, bytes_of(post_.media[0]));
  EXPECT_EQ(published[0].title, "First clip #multivio");
  EXPECT_EQ(published[0].privacy_level, "SELF_ONLY") << "unset: the level every app may use";
  EXPECT_EQ(published[0].total_chunk_count, 1u);
  EXPECT_EQ(published[0].chunk_size, 3000u);
  ASSERT_EQ(r.remote_ids.size(), 1u);
  EXPECT_EQ(r.remote_ids[0], published[0].post_id);
  EXPECT_EQ(r.remote_url, "https://www.tiktok.com/@multivio_fake/video/" + published[0].post_id);
  EXPECT_EQ(progress_["publish_id"], published[0].publish_id) << "saved right after init";

  // creator_info before init, and the upload carries no Bearer token.
  const auto all = server_->received();
  ASSERT_GE(all.size(), 4u);
  EXPECT_EQ(all[0].route, "POST /v2/post/publish/creator_info/query/");
  EXPECT_EQ(all[1].route, "POST /v2/post/publish/video/init/");
  EXPECT_EQ(all[1].header("Content-Type"), "application/json; charset=UTF-8");
  const auto puts = requests("PUT /upload/");
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].status, 201);
  EXPECT_EQ(puts[0].header("Content-Range"), "bytes 0-2999/3000");
  EXPECT_EQ(puts[0].header("Content-Type"), "video/mp4");
  EXPECT_FALSE(puts[0].header("Authorization"));
  // Two PROCESSING_DOWNLOAD polls, then PUBLISH_COMPLETE, backing off between.
  EXPECT_EQ(server_->count("POST /v2/post/publish/status/fetch/"), 3u);
  EXPECT_EQ(sleeps_, (std::vector<std::chrono::milliseconds>{1s, 2s}));
}

TEST_F(TikTokAdapterTest, UploadsALargeVideoInChunks) {
  const std::size_t size = 11 * MB + 77;
  post_.media = {video("long.mp4", 30'000, size)};
  account_.options = {{"privacy_level", "PUBLIC_TO_EVERYONE"}, {"disable_duet", true}};
  adapter_->publish(request("chunked"));

  const auto published = server_->published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].chunk_size, 5 * MB);
  EXPECT_EQ(published[0].total_chunk_count, 2u);
  EXPECT_TRUE(published[0].bytes == bytes_of(post_.media[0])) << "every byte arrived, in order";
  EXPECT_EQ(published[0].privacy_level, "PUBLIC_TO_EVERYONE");
  EXPECT_TRUE(published[0].disable_duet);
  const auto puts = requests("PUT /upload/");
  ASSERT_EQ(puts.size(), 2u);
  EXPECT_EQ(puts[0].header("Content-Range"), "bytes 0-5242879/" + std::to_string(size));
  EXPECT_EQ(puts[0].status, 206);
  EXPECT_EQ(puts[1].header("Content-Range"), "bytes 5242880-" + std::to_string(size - 1) + "/" + std::to_string(size));
  EXPECT_EQ(puts[1].status, 201);
  EXPECT_EQ(progress_["chunks_done"], 2);
}

TEST_F(TikTokAdapterTest, RefusesAPrivacyLevelTheCreatorIsNotOffered) {
  server_->set_creator({{"SELF_ONLY"}, false, false, false, 600});
  post_.media = {video("clip.mp4", 5'000, 2000)};
  account_.options = {{"privacy_level", "PUBLIC_TO_EVERYONE"}};
  const Error e = publish_error(request("public please"));
  EXPECT_EQ(e.kind(), ErrorKind::validation);
  EXPECT_THAT(e.what(), HasSubstr("privacy_level PUBLIC_TO_EVERYONE is not offered for this account; tiktok offers SELF_ONLY"));
  EXPECT_EQ(server_->count("POST /v2/post/publish/video/init/"), 0u);
}

TEST_F(TikTokAdapterTest, CreatorSettingsWin) {
  server_->set_creator({{"SELF_ONLY", "PUBLIC_TO_EVERYONE"}, true, false, false, 60});
  post_.media = {video("clip.mp4", 5'000, 2000)};
  account_.options = {{"disable_comment", false}};
  adapter_->publish(request("comments off in the app"));
  ASSERT_EQ(server_->published().size(), 1u);
  EXPECT_TRUE(server_->published()[0].disable_comment) << "the creator turned comments off";

  post_.media = {video("long.mp4", 90'000, 2000)};
  progress_ = Json::object();
  const Error e = publish_error(request("too long for this creator"));
  EXPECT_EQ(e.kind(), ErrorKind::validation);
  EXPECT_THAT(e.what(), HasSubstr("90 s long; this tiktok account can post at most 60 s"));
  EXPECT_EQ(server_->count("POST /v2/post/publish/video/init/"), 1u);
}

TEST_F(TikTokAdapterTest, FakeRefusesWhatTikTokRefuses) {
  // The fake's own checks, straight over HTTP: a mismatched privacy level and
  // chunk plans that break the guide.
  server_->set_creator({{"SELF_ONLY"}, false, false, false, 600});
  const auto init = [&](std::uint64_t size, std::uint64_t chunk, std::uint64_t count, const char* level) {
    http::Request q;
    q.method = "POST";
    q.url = server_->base_url() + "/v2/post/publish/video/init/";
    q.headers = {{"Authorization", "Bearer " + secrets_["access_token"].get<std::string>()},
                 {"Content-Type", "application/json; charset=UTF-8"}};
    q.body = Json{{"post_info", {{"title", "t"}, {"privacy_level", level}}},
                  {"source_info",
                   {{"source", "FILE_UPLOAD"}, {"video_size", size}, {"chunk_size", chunk}, {"total_chunk_count", count}}}}
                 .dump();
    return parse_envelope(http_->send(q).body).value_or(Envelope{}).code;
  };
  EXPECT_EQ(init(1000, 1000, 1, "PUBLIC_TO_EVERYONE"), "privacy_level_option_mismatch");
  EXPECT_EQ(init(1000, 500, 2, "SELF_ONLY"), "invalid_params") << "under 5 MB goes whole";
  EXPECT_EQ(init(25 * MB, 10 * MB, 3, "SELF_ONLY"), "invalid_params") << "count must round down";
  EXPECT_EQ(init(100 * MB, 70 * MB, 1, "SELF_ONLY"), "invalid_params") << "chunks over 64 MB";
  EXPECT_EQ(init(25 * MB, 10 * MB, 2, "SELF_ONLY"), "ok");
}

TEST_F(TikTokAdapterTest, UnauditedAppsPostPrivately) {
  server_->set_unaudited(true);
  post_.media = {video("clip.mp4", 5'000, 2000)};
  account_.options = {{"privacy_level", "PUBLIC_TO_EVERYONE"}};
  const Error e = publish_error(request("public from an unaudited app"));
  EXPECT_EQ(e.kind(), ErrorKind::validation);
  EXPECT_THAT(e.what(), HasSubstr("video init: HTTP 403: unaudited_client_can_only_post_to_private_accounts"));
  EXPECT_FALSE(progress_.contains("publish_id")) << "nothing to resume";
  EXPECT_TRUE(server_->videos().empty());
}

TEST_F(TikTokAdapterTest, PublishIdStandsInUntilThePostIdExists) {
  server_->set_post_id_delay(1);
  post_.media = {video("clip.mp4", 5'000, 2000)};
  const PublishResult r = adapter_->publish(request("under moderation"));
  ASSERT_EQ(server_->published().size(), 1u);
  EXPECT_EQ(r.remote_ids, std::vector<std::string>{server_->published()[0].publish_id});
  EXPECT_EQ(r.remote_url, "") << "no public id, no URL";
}

TEST_F(TikTokAdapterTest, FailedPublishIsPermanent) {
  server_->fail_next("file_format_check_failed");
  post_.media = {video("clip.mp4", 5'000, 2000)};
  const Error e = publish_error(request("will fail"));
  EXPECT_EQ(e.kind(), ErrorKind::permanent);
  EXPECT_THAT(e.what(), HasSubstr("tiktok could not publish the video: file_format_check_failed"));
  EXPECT_TRUE(server_->published().empty());
}

TEST_F(TikTokAdapterTest, RetryWaitsOnTheSamePublishInsteadOfPostingAgain) {
  config_.platforms["tiktok"]["media_timeout"] = "3s";
  make();
  server_->set_processing_polls(4);
  post_.media = {video("clip.mp4", 5'000, 2000)};
  const Error e = publish_error(request("slow processing"));
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_THAT(e.what(), HasSubstr("still processing the video (PROCESSING_DOWNLOAD)"));
  ASSERT_TRUE(progress_.contains("publish_id"));

  const PublishResult r = adapter_->publish(request("slow processing"));
  EXPECT_EQ(server_->count("POST /v2/post/publish/video/init/"), 1u) << "one init across both attempts";
  ASSERT_EQ(server_->published().size(), 1u);
  EXPECT_EQ(r.remote_ids, std::vector<std::string>{server_->published()[0].post_id});
}

TEST_F(TikTokAdapterTest, RetryResumesAnUnfinishedUpload) {
  server_->script("PUT /upload/", {TikTokServer::Reply{503, "upstream busy", {}}});
  post_.media = {video("clip.mp4", 5'000, 2000)};
  const Error e = publish_error(request("flaky upload"));
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(progress_["chunks_done"], 0);

  adapter_->publish(request("flaky upload"));
  EXPECT_EQ(server_->count("POST /v2/post/publish/video/init/"), 1u);
  ASSERT_EQ(server_->published().size(), 1u);
  EXPECT_EQ(server_->published()[0].bytes, bytes_of(post_.media[0]));
}

TEST_F(TikTokAdapterTest, RateLimitIsTransient) {
  server_->set_rate_limit("POST /v2/post/publish/video/init/", 0);
  post_.media = {video("clip.mp4", 5'000, 2000)};
  const Error e = publish_error(request("too often"));
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.retry_after, 60s);
  EXPECT_THAT(e.what(), HasSubstr("rate_limit_exceeded"));
}

TEST_F(TikTokAdapterTest, RefreshesARefusedTokenAndSavesTheRotatedOne) {
  const std::string old_refresh = secrets_["refresh_token"];
  server_->expire_access_tokens();
  post_.media = {video("clip.mp4", 5'000, 2000)};
  adapter_->publish(request("after refresh"));
  EXPECT_EQ(server_->published().size(), 1u);
  ASSERT_FALSE(saved_.empty());
  const Json& fresh = saved_.back();
  EXPECT_NE(fresh["refresh_token"], old_refresh);
  EXPECT_TRUE(server_->refresh_token_valid(fresh["refresh_token"].get<std::string>()));
  EXPECT_FALSE(server_->refresh_token_valid(old_refresh)) << "rotated: the old one is dead";
  EXPECT_TRUE(fresh.contains("expires_at"));
  EXPECT_TRUE(fresh.contains("refresh_expires_at"));
  const auto token_calls = requests("POST /v2/oauth/token/");
  ASSERT_EQ(token_calls.size(), 1u);
  EXPECT_THAT(token_calls[0].body, HasSubstr("client_key=awfaketiktokkey"));

  // The stale secrets (old refresh token) cannot refresh again: re-link.
  server_->expire_access_tokens();
  progress_ = Json::object();
  const Error e = publish_error(request("stale"));
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_THAT(e.what(), HasSubstr("tiktok refused the refresh token"));
}

TEST_F(TikTokAdapterTest, ChecksTheAccount) {
  secrets_["scope"] = "user.info.basic,video.publish";
  const AccountCheck check = adapter_->check_account(account_, secrets_, [this](const Json& s) { saved_.push_back(s); });
  EXPECT_EQ(check.handle, "multivio_fake");
  EXPECT_EQ(check.scopes, (std::vector<std::string>{"user.info.basic", "video.publish"}));
  EXPECT_THAT(check.detail, HasSubstr("open_id open-fake-0001"));
  ASSERT_FALSE(saved_.empty());
  EXPECT_EQ(saved_.back()["open_id"], "open-fake-0001");
}

TEST_F(TikTokAdapterTest, Validates) {
  const std::string ok = video("ok.mp4", 10'000, 2000);
  EXPECT_TRUE(adapter_->validate("caption", {ok}, &account_).ok());
  EXPECT_TRUE(adapter_->validate("", {ok}, &account_).ok()) << "the caption is optional";

  const ValidationReport long_caption = adapter_->validate(std::string(2201, 'a'), {ok}, &account_);
  EXPECT_EQ(long_caption.limit, 2200u);
  EXPECT_THAT(long_caption.problems, ::testing::Contains(HasSubstr("tiktok allows 2200")));

  EXPECT_THAT(adapter_->validate("no video", {}, &account_).problems,
              ::testing::Contains(HasSubstr("tiktok posts are videos")));
  const auto png = dir_ / "a.png";
  std::ofstream(png, std::ios::binary) << std::string("\x89PNG\r\n\x1A\n\0\0\0\x0DIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0", 33);
  EXPECT_FALSE(adapter_->validate("image", {png.string()}, &account_).ok());
  EXPECT_THAT(adapter_->validate("too long", {video("long.mp4", 700'000, 2000)}, &account_).problems,
              ::testing::Contains(HasSubstr("700 s long; tiktok allows at most 600 s")));
  EXPECT_FALSE(adapter_->validate("two", {ok, video("b.mp4", 1000, 2000)}, &account_).ok());
  EXPECT_FALSE(adapter_->validate("bad level", {ok}, &account_, Json{{"privacy_level", "EVERYONE"}}).ok());
}

TEST_F(TikTokAdapterTest, ConfiguresAccountsAndLinks) {
  Json options = {{"privacy_level", "FOLLOWER_OF_CREATOR"}, {"handle", "@someone"}};
  adapter_->configure_account(options);
  EXPECT_EQ(options["handle"], "someone");
  Json bad = {{"privacy_level", "friends"}};
  EXPECT_THROW(adapter_->configure_account(bad), Error);
  Json unknown = {{"visibility", "public"}};
  EXPECT_THROW(adapter_->configure_account(unknown), Error);

  LinkStash stash;
  const auto link = adapter_->oauth2_link(Json::object(), "http://127.0.0.1:8765/callback", stash);
  ASSERT_TRUE(link);
  oauth::AuthorizationRequest authz;
  authz.redirect_uri = "http://127.0.0.1:8765/callback";
  authz.scopes = link->scopes;
  authz.state = "s";
  authz.code_challenge = "c";
  authz.extra = link->extra;
  const std::string url = oauth::authorization_url(link->config, authz);
  EXPECT_THAT(url, ::testing::StartsWith("https://www.tiktok.com/v2/auth/authorize/?"));
  EXPECT_THAT(url, HasSubstr("client_key=awfaketiktokkey"));
  EXPECT_THAT(url, ::testing::Not(HasSubstr("client_id=")));
  EXPECT_EQ(link->config.client_id_param, "client_key");  // the code exchange names it the same way
  EXPECT_THAT(url, HasSubstr("scope=user.info.basic%2Cvideo.publish"));
  EXPECT_THAT(url, HasSubstr("code_challenge_method=S256"));
  EXPECT_EQ(link->config.token_url, server_->base_url() + "/v2/oauth/token/");
}

TEST_F(TikTokAdapterTest, PreviewIsRedacted) {
  post_.media = {video("clip.mp4", 5'000, 2000)};
  const Preview p = adapter_->preview(request("preview me"));
  EXPECT_EQ(p.url, server_->base_url() + "/v2/post/publish/video/init/");
  const Json body = Json::parse(p.body);
  EXPECT_EQ(body["source_info"]["video_size"], 2000);
  EXPECT_EQ(body["post_info"]["privacy_level"], "SELF_ONLY");
  for (const auto& [name, value] : p.headers) EXPECT_THAT(value, ::testing::Not(HasSubstr("act.")));
  EXPECT_TRUE(server_->received().empty()) << "a preview sends nothing";
}

}  // namespace
}  // namespace multivio::platforms::tiktok
