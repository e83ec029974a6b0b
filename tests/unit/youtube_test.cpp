// SPDX-License-Identifier: MIT
// common/platforms/youtube: the wire layer on literal bodies (Google's error
// envelope, the quota reset around DST changes, Range headers, title and
// description rules), then the adapter against the fake YouTube API's
// resumable protocol: chunked uploads, short confirmations, a dropped
// connection, resuming a saved session at 60%, an expired session, quota.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/oauth/pkce.hpp"
#include "common/platforms/platform.hpp"
#include "common/platforms/youtube/adapter.hpp"
#include "common/platforms/youtube/wire.hpp"
#include "tests/fakes/oauth_server.hpp"
#include "tests/fakes/youtube_server.hpp"

namespace multivio::platforms::youtube {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using fakes::YouTubeServer;
using ::testing::HasSubstr;

constexpr const char* kToken = "ya29.fake-access-token";
constexpr std::uint64_t kChunk = 256 * 1024;

http::Response response(int status, std::string body, http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string google_error(int code, const std::string& reason, const std::string& domain = "global") {
  return nlohmann::json{{"error",
                         {{"code", code},
                          {"message", "msg " + reason},
                          {"errors", {{{"message", "msg"}, {"domain", domain}, {"reason", reason}}}}}}}
      .dump();
}

sys_seconds utc(year_month_day d, hours h, minutes m = 0min, seconds s = 0s) { return sys_days{d} + h + m + s; }

// ---------------------------------------------------------------------------
// Wire layer

TEST(YouTubeWire, VideoBody) {
  VideoMetadata m;
  m.title = "Launch \"day\"";
  m.description = "Line 1\nLine 2";
  m.tags = {"cpp", "multivio"};
  m.category_id = "28";
  m.privacy = "private";
  m.publish_at = "2026-12-01T09:00:00Z";
  EXPECT_EQ(video_body(m),
            R"({"snippet":{"title":"Launch \"day\"","description":"Line 1\nLine 2","tags":["cpp","multivio"],)"
            R"("categoryId":"28"},"status":{"privacyStatus":"private","publishAt":"2026-12-01T09:00:00Z",)"
            R"("selfDeclaredMadeForKids":false}})");
  VideoMetadata bare;
  bare.title = "T";
  EXPECT_EQ(video_body(bare),
            R"({"snippet":{"title":"T","description":""},"status":{"privacyStatus":"private","selfDeclaredMadeForKids":false}})");
}

TEST(YouTubeWire, TitleAndDescriptionRules) {
  const auto td = split_text("  My title  \n\n\nFirst paragraph.\nSecond.\n");
  EXPECT_EQ(td.title, "My title");
  EXPECT_EQ(td.description, "First paragraph.\nSecond.");
  EXPECT_TRUE(text_problems(td).empty());
  EXPECT_EQ(split_text("only a title").description, "");

  EXPECT_THAT(text_problems(split_text("")), ::testing::ElementsAre(HasSubstr("title is empty")));
  EXPECT_TRUE(text_problems(split_text(std::string(100, 'a'))).empty());
  // 100 characters of two bytes each are still within the title limit.
  std::string umlauts;
  for (int i = 0; i < 100; ++i) umlauts += "\xC3\xA4";
  EXPECT_TRUE(text_problems(split_text(umlauts)).empty());
  EXPECT_THAT(text_problems(split_text(std::string(101, 'a'))),
              ::testing::ElementsAre(HasSubstr("101 characters; youtube allows 100")));
  EXPECT_THAT(text_problems(split_text("a <b> title")), ::testing::ElementsAre(HasSubstr("'<' or '>'")));
  // The description counts bytes: 2,501 two-byte characters are 5,002 bytes.
  std::string long_description;
  for (int i = 0; i < 2501; ++i) long_description += "\xC3\xA4";
  EXPECT_THAT(text_problems(split_text("t\n" + long_description)),
              ::testing::ElementsAre(HasSubstr("description is 5002 bytes; youtube allows 5000")));
  EXPECT_THAT(text_problems(split_text("t\nsee <here>")), ::testing::ElementsAre(HasSubstr("description contains")));
}

TEST(YouTubeWire, TagsAndTimes) {
  EXPECT_EQ(parse_tags(nlohmann::json("cpp, cli ,,video")), (std::vector<std::string>{"cpp", "cli", "video"}));
  EXPECT_EQ(parse_tags(nlohmann::json::array({"a b", "c"})), (std::vector<std::string>{"a b", "c"}));
  EXPECT_THROW(parse_tags(nlohmann::json(5)), Error);
  EXPECT_TRUE(tag_problems({"a", "b"}).empty());
  EXPECT_THAT(tag_problems(std::vector<std::string>(60, "tentenchar")),
              ::testing::ElementsAre(HasSubstr("youtube allows 500")));
  EXPECT_TRUE(is_rfc3339("2026-12-01T09:00:00Z"));
  EXPECT_TRUE(is_rfc3339("2026-12-01T09:00:00.250+01:00"));
  EXPECT_FALSE(is_rfc3339("2026-12-01 09:00"));
  EXPECT_FALSE(is_rfc3339("2026-12-01T09:00:00"));  // no zone
  EXPECT_FALSE(is_rfc3339("2026-02-30T09:00:00Z"));
}

TEST(YouTubeWire, QuotaResetIsNextMidnightPacific) {
  // Winter (PST, UTC-8) and summer (PDT, UTC-7).
  EXPECT_EQ(next_quota_reset(utc(2026y / 1 / 15, 12h)), utc(2026y / 1 / 16, 8h));
  EXPECT_EQ(next_quota_reset(utc(2026y / 7 / 1, 6h, 59min, 59s)), utc(2026y / 7 / 1, 7h));
  // Exactly at midnight the next reset is a day later.
  EXPECT_EQ(next_quota_reset(utc(2026y / 7 / 1, 7h)), utc(2026y / 7 / 2, 7h));
  // 2026-03-08 is the second Sunday of March: 01:30 PST, and the midnight
  // that follows is already PDT.
  EXPECT_EQ(next_quota_reset(utc(2026y / 3 / 8, 9h, 30min)), utc(2026y / 3 / 9, 7h));
  // The evening before, still PST all the way.
  EXPECT_EQ(next_quota_reset(utc(2026y / 3 / 8, 7h, 30min)), utc(2026y / 3 / 8, 8h));
  // 2026-11-01 is the first Sunday of November: 23:30 PDT on Oct 31, then
  // 01:30 PDT on Nov 1 whose next midnight is PST.
  EXPECT_EQ(next_quota_reset(utc(2026y / 11 / 1, 6h, 30min)), utc(2026y / 11 / 1, 7h));
  EXPECT_EQ(next_quota_reset(utc(2026y / 11 / 1, 8h, 30min)), utc(2026y / 11 / 2, 8h));
  EXPECT_EQ(next_quota_reset(utc(2026y / 11 / 1, 10h)), utc(2026y / 11 / 2, 8h));
  // New Year in UTC is still Dec 31 in Pacific Time.
  EXPECT_EQ(next_quota_reset(utc(2027y / 1 / 1, 3h)), utc(2027y / 1 / 1, 8h));
}

TEST(YouTubeWire, ClassifiesGoogleErrors) {
  const auto now = utc(2026y / 1 / 15, 12h);
  const Error quota = classify(response(403, google_error(403, "quotaExceeded", "youtube.quota")), "yt", now);
  EXPECT_EQ(quota.kind(), ErrorKind::transient);
  ASSERT_TRUE(quota.retry_after);
  EXPECT_EQ(*quota.retry_after, 20h);
  EXPECT_THAT(quota.what(), HasSubstr("quotaExceeded"));
  EXPECT_THAT(quota.what(), HasSubstr("midnight Pacific"));
  const Error daily = classify(response(403, google_error(403, "dailyLimitExceeded")), "yt", now);
  EXPECT_EQ(daily.kind(), ErrorKind::transient);
  EXPECT_EQ(daily.retry_after, std::optional<seconds>(20h));

  const Error rate = classify(response(403, google_error(403, "userRateLimitExceeded")), "yt", now);
  EXPECT_EQ(rate.kind(), ErrorKind::transient);
  EXPECT_FALSE(rate.retry_after);
  EXPECT_EQ(classify(response(403, google_error(403, "rateLimitExceeded")), "yt", now).kind(), ErrorKind::transient);
  EXPECT_EQ(classify(response(503, google_error(503, "backendError")), "yt", now).kind(), ErrorKind::transient);
  EXPECT_EQ(classify(response(502, "<html>bad gateway</html>"), "yt", now).kind(), ErrorKind::transient);

  const Error auth = classify(response(401, google_error(401, "authError")), "yt", now);
  EXPECT_EQ(auth.kind(), ErrorKind::auth);
  EXPECT_THAT(auth.what(), HasSubstr("re-link"));
  EXPECT_EQ(auth.http_status, 401);
  EXPECT_EQ(classify(response(403, google_error(403, "insufficientPermissions")), "yt", now).kind(), ErrorKind::auth);

  const Error upload = classify(response(400, google_error(400, "uploadLimitExceeded")), "yt", now);
  EXPECT_EQ(upload.kind(), ErrorKind::permanent);
  EXPECT_EQ(std::string(upload.what()), "yt: HTTP 400: msg uploadLimitExceeded (uploadLimitExceeded)");
  EXPECT_EQ(classify(response(400, google_error(400, "invalidTitle")), "yt", now).kind(), ErrorKind::permanent);
  EXPECT_EQ(classify(response(403, google_error(403, "forbiddenPrivacySetting")), "yt", now).kind(),
            ErrorKind::permanent);

  const auto parsed = parse_error(google_error(403, "quotaExceeded", "youtube.quota"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->code, 403);
  ASSERT_EQ(parsed->errors.size(), 1u);
  EXPECT_EQ(parsed->errors[0].domain, "youtube.quota");
  EXPECT_FALSE(parse_error("not json"));
  EXPECT_FALSE(parse_error(R"({"error":"invalid_grant"})"));
}

TEST(YouTubeWire, RangeHeaders) {
  EXPECT_EQ(confirmed_bytes(response(308, "", {{"Range", "bytes=0-524287"}})), std::optional<std::uint64_t>(524288));
  EXPECT_EQ(confirmed_bytes(response(308, "", {{"range", " bytes=0-0 "}})), std::optional<std::uint64_t>(1));
  EXPECT_EQ(confirmed_bytes(response(308, "")), std::optional<std::uint64_t>(0)) << "no Range: nothing stored yet";
  EXPECT_FALSE(confirmed_bytes(response(308, "", {{"Range", "bytes=5-9"}})));
  EXPECT_FALSE(confirmed_bytes(response(308, "", {{"Range", "bytes=0-"}})));
  EXPECT_FALSE(confirmed_bytes(response(308, "", {{"Range", "items=0-9"}})));
  EXPECT_EQ(content_range(0, 262143, 1000000), "bytes 0-262143/1000000");
  EXPECT_EQ(content_range(std::nullopt, std::nullopt, 1000000), "bytes */1000000");
  EXPECT_EQ(parse_video_id(R"({"kind":"youtube#video","id":"dQw4w9WgXcQ"})"), "dQw4w9WgXcQ");
  EXPECT_THROW(parse_video_id(R"({"kind":"youtube#video"})"), Error);
  EXPECT_EQ(watch_url("dQw4w9WgXcQ"), "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
  EXPECT_EQ(parse_channel(R"({"items":[{"id":"UC1","snippet":{"title":"Chan"}}]})").title, "Chan");
  try {
    parse_channel(R"({"items":[]})");
    ADD_FAILURE() << "no channel must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
  }
}

// ---------------------------------------------------------------------------
// Adapter against the fake

class YouTubeAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<YouTubeServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    server_->add_access_token(kToken);
    auto& yt = config_.platforms["youtube"];
    yt["api_base"] = server_->base_url();
    yt["upload_chunk_bytes"] = std::to_string(kChunk);
    yt["client_id"] = "yt-client.apps.googleusercontent.com";
    config_.daemon.http_timeout = 5s;
    http_ = http::make_client();
    adapter_ = platforms::make_adapter("youtube", Context{*http_, config_});
    account_.platform = "youtube";
    account_.name = "main";
    secrets_ = {{"access_token", kToken}, {"scope", std::string(k_upload_scope)}};
    post_.id = 3;
    target_.id = 5;
    dir_ = std::filesystem::temp_directory_path() / ("youtube_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string video(std::size_t size, const std::string& name = "clip.mp4") {
    bytes_ = fakes::sample_mp4(size);
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes_;
    post_.media = {path.string()};
    return path.string();
  }

  PublishRequest request(const std::string& text) {
    text_ = text;
    PublishRequest r{post_, target_, account_, secrets_, text_, "key-1"};
    r.save_secrets = [this](const nlohmann::json& s) { saved_secrets_.push_back(s); };
    r.save_progress = [this](const nlohmann::json& p) { progress_.push_back(p); };
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

  std::vector<YouTubeServer::Received> puts() const {
    std::vector<YouTubeServer::Received> out;
    for (auto& r : server_->received()) {
      if (r.method == "PUT") out.push_back(r);
    }
    return out;
  }

  std::string refusals() const {
    std::string out;
    for (const auto& r : server_->refusals()) out += r + "\n";
    return out;
  }

  std::unique_ptr<YouTubeServer> server_;
  config::Config config_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<Adapter> adapter_;
  model::Account account_;
  model::Post post_;
  model::Target target_;
  nlohmann::json secrets_;
  std::string text_;
  std::string bytes_;
  std::vector<nlohmann::json> progress_;
  std::vector<nlohmann::json> saved_secrets_;
  std::filesystem::path dir_;
};

TEST_F(YouTubeAdapterTest, UploadsInChunksWithMetadata) {
  const std::size_t size = 3 * 1024 * 1024 + 1000;
  video(size);
  post_.options = {{"tags", "cpp, release"}, {"category", "28"}};
  const PublishResult result = adapter_->publish(request("Release 2.0\n\nWhat changed, in two minutes."));
  const auto videos = server_->videos();
  ASSERT_EQ(videos.size(), 1u) << refusals();
  EXPECT_TRUE(videos[0].bytes == bytes_) << "the assembled upload differs from the file";
  EXPECT_EQ(videos[0].title, "Release 2.0");
  EXPECT_EQ(videos[0].description, "What changed, in two minutes.");
  EXPECT_EQ(videos[0].tags, (std::vector<std::string>{"cpp", "release"}));
  EXPECT_EQ(videos[0].category_id, "28");
  EXPECT_EQ(videos[0].privacy, "private") << "private unless asked otherwise";
  EXPECT_EQ(videos[0].mime, "video/mp4");
  EXPECT_EQ(result.remote_ids, std::vector<std::string>{videos[0].id});
  EXPECT_EQ(result.remote_url, "https://www.youtube.com/watch?v=" + videos[0].id);
  EXPECT_EQ(server_->bytes_received(), size);
  EXPECT_EQ(puts().size(), (size + kChunk - 1) / kChunk);
  EXPECT_EQ(puts().front().header("Content-Range"), "bytes 0-262143/" + std::to_string(size));
  // Progress: the session right away, then every confirmed chunk.
  ASSERT_GE(progress_.size(), 2u);
  EXPECT_EQ(progress_.front()["confirmed"], 0);
  EXPECT_EQ(progress_.front()["size"], size);
  EXPECT_EQ(progress_.front()["sha256"], crypto::sha256_hex(bytes_));
  EXPECT_THAT(progress_.front()["upload_url"].get<std::string>(), HasSubstr("upload_id="));
  EXPECT_EQ(progress_.back()["confirmed"], 12 * kChunk);
}

TEST_F(YouTubeAdapterTest, ContinuesFromShortConfirmations) {
  const std::size_t size = 2 * 1024 * 1024;
  video(size);
  server_->confirm_short(100'000, 3);
  adapter_->publish(request("Short confirmations"));
  const auto videos = server_->videos();
  ASSERT_EQ(videos.size(), 1u) << refusals();
  EXPECT_TRUE(videos[0].bytes == bytes_);
  // The second chunk starts where the server's Range said, not where the first ended.
  ASSERT_GE(puts().size(), 2u);
  EXPECT_EQ(puts()[1].header("Content-Range"), "bytes 162144-424287/" + std::to_string(size));
  EXPECT_EQ(server_->bytes_received(), size + 300'000);
}

TEST_F(YouTubeAdapterTest, DroppedConnectionMidUploadResumes) {
  const std::size_t size = 4 * 1024 * 1024;
  video(size);
  server_->fault_at(YouTubeServer::Fault::drop, 60);
  adapter_->publish(request("Dropped at 60%"));
  const auto videos = server_->videos();
  ASSERT_EQ(videos.size(), 1u) << refusals();
  EXPECT_TRUE(videos[0].bytes == bytes_);
  EXPECT_EQ(server_->sessions_created(), 1);
  EXPECT_LT(server_->bytes_received(), size * 3 / 2);
  const auto all = puts();
  const auto query = std::find_if(all.begin(), all.end(), [&](const auto& r) {
    return r.header("Content-Range") == "bytes */" + std::to_string(size);
  });
  ASSERT_NE(query, all.end()) << "the adapter must ask the session how far it got";
  EXPECT_EQ(query->body_bytes, 0u);
  // The chunk after the query starts at the 60% mark the server kept.
  ASSERT_NE(query + 1, all.end());
  EXPECT_TRUE((query + 1)->header("Content-Range").value_or("").starts_with("bytes " + std::to_string(size * 60 / 100) + "-"))
      << (query + 1)->header("Content-Range").value_or("");
}

TEST_F(YouTubeAdapterTest, ConnectionThatKeepsDroppingEndsTheAttemptAsSafeToRetry) {
  const std::size_t size = 2 * 1024 * 1024;
  video(size);
  server_->fault_at(YouTubeServer::Fault::drop, 60, 100);
  const Error e = publish_error(request("Bad line"));
  EXPECT_EQ(e.kind(), ErrorKind::transient) << e.what();
  EXPECT_FALSE(e.outcome_unknown) << "the saved session makes a retry safe: it cannot create a second video";
  ASSERT_FALSE(progress_.empty());
  EXPECT_EQ(progress_.back()["confirmed"], size * 60 / 100) << "what the server kept before the first drop";
  EXPECT_TRUE(server_->videos().empty());
}

TEST_F(YouTubeAdapterTest, ResumesSavedSessionAt60PercentSendingOnlyTheRest) {
  const std::size_t size = 3 * 1024 * 1024;
  const std::string path = video(size);
  VideoMetadata m;
  m.title = "Resumed";
  const std::size_t held = size * 60 / 100;
  const std::string url = server_->add_session(video_body(m), size, bytes_.substr(0, held));
  PublishRequest r = request("Resumed");
  // An earlier attempt saved less than the server holds (it crashed before
  // the last 308 arrived): the server's answer wins.
  r.progress = {{"upload_url", url}, {"confirmed", 4 * kChunk}, {"size", size}, {"sha256", crypto::sha256_hex(bytes_)}};
  const PublishResult result = adapter_->publish(r);
  const auto videos = server_->videos();
  ASSERT_EQ(videos.size(), 1u) << refusals();
  EXPECT_TRUE(videos[0].bytes == bytes_);
  EXPECT_EQ(result.remote_ids, std::vector<std::string>{videos[0].id});
  EXPECT_EQ(server_->sessions_created(), 0) << "no new session for a resumable one";
  EXPECT_EQ(server_->bytes_received(), size - held) << "only the remaining 40% is sent";
  EXPECT_EQ(puts().front().header("Content-Range"), "bytes */" + std::to_string(size));
}

TEST_F(YouTubeAdapterTest, CompletedSessionIsNotUploadedAgain) {
  const std::size_t size = 600 * 1024;
  video(size);
  adapter_->publish(request("Once"));
  ASSERT_EQ(server_->videos().size(), 1u);
  ASSERT_FALSE(progress_.empty());
  // The answer to the last chunk was lost; the retry asks and finds the video.
  PublishRequest r = request("Once");
  r.progress = progress_.back();
  const PublishResult again = adapter_->publish(r);
  EXPECT_EQ(server_->videos().size(), 1u);
  EXPECT_EQ(again.remote_ids, std::vector<std::string>{server_->videos()[0].id});
  EXPECT_EQ(server_->bytes_received(), size);
}

TEST_F(YouTubeAdapterTest, ServerErrorsAfter60PercentThenARetryResumes) {
  const std::size_t size = 2 * 1024 * 1024;
  video(size);
  server_->fault_at(YouTubeServer::Fault::error, 60, 100);
  const Error first = publish_error(request("Flaky backend"));
  EXPECT_EQ(first.kind(), ErrorKind::transient) << first.what();
  EXPECT_THAT(first.what(), HasSubstr("a retry continues from there"));
  ASSERT_FALSE(progress_.empty());
  const std::uint64_t confirmed = progress_.back()["confirmed"];
  EXPECT_GE(confirmed, size / 2);
  EXPECT_LT(confirmed, size);

  server_->fault_at(YouTubeServer::Fault::error, 0, 0);
  const std::uint64_t before_retry = server_->bytes_received();
  PublishRequest retry = request("Flaky backend");
  retry.progress = progress_.back();
  adapter_->publish(retry);
  const auto videos = server_->videos();
  ASSERT_EQ(videos.size(), 1u) << refusals();
  EXPECT_TRUE(videos[0].bytes == bytes_);
  EXPECT_EQ(server_->sessions_created(), 1);
  EXPECT_EQ(server_->bytes_received() - before_retry, size - confirmed) << "the retry sends only what was missing";
}

TEST_F(YouTubeAdapterTest, ExpiredOrForeignSessionStartsOver) {
  const std::size_t size = 600 * 1024;
  video(size);
  VideoMetadata m;
  m.title = "Old";
  const std::string url = server_->add_session(video_body(m), size, bytes_.substr(0, kChunk));
  server_->expire_sessions();
  PublishRequest r = request("Fresh start");
  r.progress = {{"upload_url", url}, {"confirmed", kChunk}, {"size", size}, {"sha256", crypto::sha256_hex(bytes_)}};
  adapter_->publish(r);
  ASSERT_EQ(server_->videos().size(), 1u) << refusals();
  EXPECT_EQ(server_->videos()[0].title, "Fresh start");
  EXPECT_EQ(server_->sessions_created(), 1);

  // Progress saved for another file (other hash) is not resumed at all.
  const std::string other = server_->add_session(video_body(m), size, bytes_.substr(0, kChunk));
  PublishRequest foreign = request("Other file");
  foreign.progress = {{"upload_url", other}, {"confirmed", kChunk}, {"size", size}, {"sha256", "00ff"}};
  adapter_->publish(foreign);
  EXPECT_EQ(server_->sessions_created(), 2);
  EXPECT_EQ(server_->videos().size(), 2u);
}

TEST_F(YouTubeAdapterTest, QuotaExceededIsDeferredToTheReset) {
  video(300 * 1024);
  server_->set_quota_exceeded(true);
  const auto before = system_clock::now();
  const Error e = publish_error(request("Over quota"));
  EXPECT_EQ(e.kind(), ErrorKind::transient) << e.what();
  ASSERT_TRUE(e.retry_after);
  const auto expected = ceil<seconds>(next_quota_reset(before) - before);
  EXPECT_NEAR(static_cast<double>(e.retry_after->count()), static_cast<double>(expected.count()), 5.0);
  EXPECT_GT(*e.retry_after, 0s);
  EXPECT_LE(*e.retry_after, 24h);
  EXPECT_TRUE(server_->videos().empty());
}

TEST_F(YouTubeAdapterTest, RejectedTokenIsAnAuthError) {
  video(300 * 1024);
  server_->expire_access_token(kToken);
  const Error e = publish_error(request("No entry"));
  EXPECT_EQ(e.kind(), ErrorKind::auth) << e.what();
  EXPECT_THAT(e.what(), HasSubstr("re-link"));
}

TEST_F(YouTubeAdapterTest, Validates) {
  const std::string clip = video(300 * 1024);
  EXPECT_TRUE(adapter_->validate("Title\nDescription", {clip}, &account_).ok());
  EXPECT_THAT(adapter_->validate("Title", {}, &account_).problems,
              ::testing::Contains(HasSubstr("video")));
  const auto png = (dir_ / "a.png").string();
  std::ofstream(png, std::ios::binary) << std::string("\x89PNG\r\n\x1A\n", 8) << std::string(100, 'x');
  EXPECT_FALSE(adapter_->validate("Title", {png}, &account_).ok());
  EXPECT_FALSE(adapter_->validate("Title", {clip, clip}, &account_).ok());
  EXPECT_FALSE(adapter_->validate(std::string(101, 't'), {clip}, &account_).ok());
  EXPECT_THAT(adapter_->validate("T", {clip}, &account_, {{"privacy", "secret"}}).problems,
              ::testing::ElementsAre(HasSubstr("privacy 'secret'")));
  EXPECT_THAT(adapter_->validate("T", {clip}, &account_, {{"privacy", "public"}, {"publish_at", "2026-12-01T09:00:00Z"}})
                  .problems,
              ::testing::ElementsAre(HasSubstr("publish_at needs privacy private")));
  EXPECT_TRUE(adapter_->validate("T", {clip}, &account_, {{"publish_at", "2026-12-01T09:00:00Z"}}).ok());
  EXPECT_FALSE(adapter_->validate("T", {clip}, &account_, {{"category", "music"}}).ok());

  nlohmann::json options = {{"privacy", "unlisted"}, {"tags", {"a"}}};
  adapter_->configure_account(options);
  nlohmann::json bad = {{"privacy", "everyone"}};
  EXPECT_THROW(adapter_->configure_account(bad), Error);
  nlohmann::json unknown = {{"visibility", "public"}};
  EXPECT_THROW(adapter_->configure_account(unknown), Error);
}

TEST_F(YouTubeAdapterTest, PublishAtAndPrivacyReachTheVideo) {
  video(300 * 1024);
  target_.options = {{"publish_at", "2026-12-01T09:00:00Z"}};
  adapter_->publish(request("Scheduled premiere"));
  ASSERT_EQ(server_->videos().size(), 1u) << refusals();
  EXPECT_EQ(server_->videos()[0].publish_at, "2026-12-01T09:00:00Z");
  EXPECT_EQ(server_->videos()[0].privacy, "private");

  target_.options = nlohmann::json::object();
  account_.options = {{"privacy", "unlisted"}, {"made_for_kids", true}};
  adapter_->publish(request("Unlisted"));
  ASSERT_EQ(server_->videos().size(), 2u) << refusals();
  EXPECT_EQ(server_->videos()[1].privacy, "unlisted");
  EXPECT_TRUE(server_->videos()[1].made_for_kids);
}

TEST_F(YouTubeAdapterTest, PreviewIsRedacted) {
  video(300 * 1024);
  const Preview p = adapter_->preview(request("Preview me\nbody"));
  EXPECT_EQ(p.method, "POST");
  EXPECT_EQ(p.url, server_->base_url() + "/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status");
  EXPECT_THAT(p.to_json().dump(), ::testing::Not(HasSubstr(kToken)));
  EXPECT_THAT(p.body, HasSubstr("\"title\":\"Preview me\""));
  EXPECT_TRUE(server_->received().empty());
}

TEST_F(YouTubeAdapterTest, ChecksAccountAndLinks) {
  server_->set_channel("UCabc", "My Channel");
  const AccountCheck check = adapter_->check_account(account_, secrets_, {});
  EXPECT_EQ(check.handle, "My Channel");
  EXPECT_THAT(check.detail, HasSubstr("UCabc"));
  EXPECT_EQ(check.scopes, std::vector<std::string>{std::string(k_upload_scope)});

  LinkStash stash;
  const auto link = adapter_->oauth2_link({}, "http://127.0.0.1:5000/", stash);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->config.authorize_url, "https://accounts.google.com/o/oauth2/v2/auth");
  EXPECT_EQ(link->config.token_url, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(link->scopes, (std::vector<std::string>{std::string(k_upload_scope), std::string(k_readonly_scope)}));
  const std::string url = oauth::authorization_url(link->config, {"http://127.0.0.1:5000/", link->scopes, "s", "c", link->extra});
  EXPECT_THAT(url, HasSubstr("access_type=offline"));
  EXPECT_THAT(url, HasSubstr("prompt=consent"));

  config_.platforms["youtube"].erase("client_id");
  const auto no_client = platforms::make_adapter("youtube", Context{*http_, config_});
  EXPECT_THROW(no_client->oauth2_link({}, "http://127.0.0.1:5000/", stash), Error);
}

TEST(YouTubeAdapterOAuth, RefreshesOnceOn401AndKeepsTheRefreshToken) {
  std::unique_ptr<fakes::OAuthServer> oauth;
  std::unique_ptr<YouTubeServer> server;
  try {
    oauth = std::make_unique<fakes::OAuthServer>();
    server = std::make_unique<YouTubeServer>(oauth.get());
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
  }
  // An installed app: its secret is sent, like Google's Desktop clients do.
  oauth->add_client({"yt-client", "not-so-secret", fakes::OAuthServer::ClientAuthMethod::body, {}, true});
  oauth->set_rotate_refresh_tokens(false);  // Google keeps the refresh token
  auto http = http::make_client();
  config::Config config;
  auto& yt = config.platforms["youtube"];
  yt["api_base"] = server->base_url();
  yt["token_base"] = server->base_url();
  yt["client_id"] = "yt-client";
  yt["client_secret"] = "not-so-secret";
  yt["upload_chunk_bytes"] = std::to_string(kChunk);
  const auto adapter = platforms::make_adapter("youtube", Context{*http, config});

  const oauth::Pkce pkce = oauth::make_pkce();
  const std::string redirect = "http://127.0.0.1:9/";
  oauth::OAuth2Config c;
  c.token_url = oauth->token_url();
  c.client_id = "yt-client";
  c.client_secret = "not-so-secret";
  const auto tokens = oauth::exchange_code(*http, c, oauth->issue_code("yt-client", redirect, pkce.challenge), redirect,
                                           pkce.verifier, system_clock::now());
  ASSERT_FALSE(tokens.refresh_token.empty());
  oauth->expire_access_tokens();

  model::Account account;
  account.platform = "youtube";
  account.name = "main";
  std::vector<nlohmann::json> saved;
  const AccountCheck check =
      adapter->check_account(account, token_secrets(tokens), [&](const nlohmann::json& s) { saved.push_back(s); });
  EXPECT_EQ(check.handle, "Multivio Fake");
  EXPECT_THAT(check.detail, HasSubstr("refreshed now"));
  ASSERT_FALSE(saved.empty());
  EXPECT_NE(saved.front()["access_token"], tokens.access_token);
  EXPECT_EQ(saved.front()["refresh_token"], tokens.refresh_token) << "an answer without one keeps the old";
  const auto grants = oauth->token_requests();
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[1].grant_type, "refresh_token");
  EXPECT_EQ(grants[1].status, 200) << grants[1].reason;
}

TEST_F(YouTubeAdapterTest, ChunkSizeMustBeAMultipleOf256KiB) {
  config_.platforms["youtube"]["upload_chunk_bytes"] = "300000";
  EXPECT_THROW(platforms::make_adapter("youtube", Context{*http_, config_}), Error);
}

}  // namespace
}  // namespace multivio::platforms::youtube
