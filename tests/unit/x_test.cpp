// SPDX-License-Identifier: MIT
// common/platforms/x: the wire layer on recorded bodies (shapes from
// docs.x.com), then the adapter against the fake X API, whose tokens come
// from the fake OAuth server (PKCE code exchange, rotating refresh tokens).
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
#include "common/platforms/platform.hpp"
#include "common/platforms/x/adapter.hpp"
#include "common/platforms/x/wire.hpp"
#include "tests/fakes/oauth_server.hpp"
#include "tests/fakes/x_server.hpp"

namespace multivio::platforms::x {
namespace {

using namespace std::chrono_literals;
using fakes::OAuthServer;
using fakes::XServer;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

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

TEST(XWire, TweetBodies) {
  EXPECT_EQ(tweet_body({"Hello \"world\"", "", {}}), R"({"text":"Hello \"world\""})");
  EXPECT_EQ(tweet_body({"part 2", "1850000000000000001", {}}),
            R"({"text":"part 2","reply":{"in_reply_to_tweet_id":"1850000000000000001"}})");
  EXPECT_EQ(tweet_body({"pics", "", {"11", "12"}}), R"({"text":"pics","media":{"media_ids":["11","12"]}})");
  EXPECT_EQ(tweet_body({"", "", {"11"}}), R"({"media":{"media_ids":["11"]}})") << "a media-only post has no text";
}

TEST(XWire, UploadBodies) {
  const MediaType png = sniff_media("\x89PNG\r\n\x1A\n....");
  EXPECT_EQ(initialize_body(png, 2048), R"({"media_type":"image/png","total_bytes":2048,"media_category":"tweet_image"})");
  EXPECT_EQ(metadata_body("1146654567674912769", "A dancing cat"),
            R"({"id":"1146654567674912769","metadata":{"alt_text":{"text":"A dancing cat"}}})");
  const Multipart m = append_body(3, std::string("ab\0c", 4), "B");
  EXPECT_EQ(m.content_type, "multipart/form-data; boundary=B");
  EXPECT_EQ(m.body, "--B\r\nContent-Disposition: form-data; name=\"segment_index\"\r\n\r\n3\r\n"
                    "--B\r\nContent-Disposition: form-data; name=\"media\"; filename=\"blob\"\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n" +
                        std::string("ab\0c", 4) + "\r\n--B--\r\n");
}

TEST(XWire, SniffsMediaFromBytes) {
  EXPECT_EQ(sniff_media("\xFF\xD8\xFF\xE0").mime, "image/jpeg");
  EXPECT_EQ(sniff_media(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)).category, "tweet_image");
  const MediaType gif = sniff_media("GIF89a....");
  EXPECT_EQ(gif.kind, MediaKind::gif);
  EXPECT_EQ(gif.category, "tweet_gif");
  EXPECT_EQ(gif.max_bytes, 15u * 1024 * 1024);
  const MediaType mp4 = sniff_media(std::string("\0\0\0\x18" "ftypisom\0\0\0\0", 16));
  EXPECT_EQ(mp4.kind, MediaKind::video);
  EXPECT_EQ(mp4.mime, "video/mp4");
  EXPECT_EQ(mp4.category, "tweet_video");
  EXPECT_EQ(sniff_media(std::string("\0\0\0\x14" "ftypqt  \0\0\0\0", 16)).mime, "video/quicktime");
  EXPECT_EQ(sniff_media("plain text, not media").kind, MediaKind::unknown);
  EXPECT_EQ(sniff_media("").kind, MediaKind::unknown);
}

TEST(XWire, ParsesPostsAndUsers) {
  // POST /2/tweets, 201 (docs.x.com, Create Post).
  const Tweet t = parse_created_tweet(
      R"({"data":{"id":"1445880548472328192","text":"Are you excited for the weekend?","edit_history_tweet_ids":["1445880548472328192"]}})");
  EXPECT_EQ(t.id, "1445880548472328192");
  EXPECT_EQ(t.text, "Are you excited for the weekend?");
  EXPECT_THROW(parse_created_tweet(R"({"errors":[{"message":"x"}]})"), Error);
  EXPECT_THROW(parse_created_tweet("<html>"), Error);

  // GET /2/users/:id/tweets with tweet.fields=created_at,referenced_tweets.
  const auto list = parse_tweets(
      R"({"data":[{"id":"2","text":"b","created_at":"2026-11-20T08:09:10.000Z","referenced_tweets":[{"type":"replied_to","id":"1"}]},
                  {"id":"1","text":"a &amp; c"}],"meta":{"result_count":2,"newest_id":"2","oldest_id":"1"}})");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].replied_to, "1");
  ASSERT_TRUE(list[0].created_at);
  EXPECT_EQ(model::format_utc(*list[0].created_at), "2026-11-20T08:09:10Z");
  EXPECT_EQ(list[1].replied_to, "");
  EXPECT_TRUE(parse_tweets(R"({"meta":{"result_count":0}})").empty()) << "no data member: no posts";

  const User u = parse_user(R"({"data":{"id":"2244994945","name":"X Dev","username":"XDevelopers"}})");
  EXPECT_EQ(u.id, "2244994945");
  EXPECT_EQ(u.username, "XDevelopers");
  EXPECT_THROW(parse_user(R"({"data":{}})"), Error);
}

TEST(XWire, ParsesMediaProcessing) {
  const UploadedMedia image = parse_media(R"({"data":{"id":"1880028106020515840","media_key":"3_1880028106020515840","size":1024,"expires_after_secs":86400}})");
  EXPECT_EQ(image.id, "1880028106020515840");
  EXPECT_FALSE(image.processing) << "no processing_info: ready at once";

  const UploadedMedia video = parse_media(
      R"({"data":{"id":"7","processing_info":{"state":"pending","check_after_secs":5}}})");
  ASSERT_TRUE(video.processing);
  EXPECT_EQ(video.processing->state, "pending");
  EXPECT_EQ(video.processing->check_after, 5s);

  // STATUS answers may leave the id out; the caller knows it.
  const UploadedMedia failed = parse_media(
      R"({"data":{"processing_info":{"state":"failed","progress_percent":12,"error":{"code":1,"name":"InvalidMedia","message":"Unsupported video format"}}}})",
      "7");
  EXPECT_EQ(failed.id, "7");
  EXPECT_EQ(failed.processing->error, "Unsupported video format");
  EXPECT_EQ(failed.processing->progress_percent, 12);
  EXPECT_THROW(parse_media(R"({"data":{}})"), Error);
}

TEST(XWire, ProblemsBecomeOneSentence) {
  const auto unauthorized = parse_problem(R"({"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"})");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(problem_sentence(*unauthorized), "Unauthorized");

  const auto invalid = parse_problem(
      R"({"errors":[{"parameters":{"text":["x"]},"message":"Your Tweet text is too long."}],"title":"Invalid Request",
          "detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"})");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(problem_sentence(*invalid),
            "One or more parameters to your request was invalid. Your Tweet text is too long.");
  // The v1.1 form some endpoints still send.
  const auto old = parse_problem(R"({"errors":[{"code":88,"message":"Rate limit exceeded"}]})");
  ASSERT_TRUE(old);
  EXPECT_EQ(problem_sentence(*old), "Rate limit exceeded");
  EXPECT_FALSE(parse_problem("upstream connect error"));
  EXPECT_FALSE(parse_problem(R"({"data":{}})"));
}

TEST(XWire, ParsesRateLimitHeaders) {
  const auto r = response(200, "{}",
                          {{"x-rate-limit-limit", "100"},
                           {"x-rate-limit-remaining", "7"},
                           {"x-rate-limit-reset", "1705420800"},
                           {"X-User-Limit-24hour-Remaining", "0"},
                           {"x-user-limit-24hour-reset", "1705500000"},
                           {"x-app-limit-24hour-remaining", "12"},
                           {"x-app-limit-24hour-reset", "1705400000"}});
  const RateLimit l = parse_rate_limit(r);
  EXPECT_EQ(l.remaining, 7);
  EXPECT_EQ(l.reset->time_since_epoch().count(), 1705420800);
  EXPECT_EQ(l.user_day_remaining, 0);
  EXPECT_EQ(l.app_day_remaining, 12);
  ASSERT_TRUE(l.exhausted_until());
  EXPECT_EQ(l.exhausted_until()->time_since_epoch().count(), 1705500000) << "only the spent window counts";
  EXPECT_EQ(l.exhausted_window(), "the user's 24-hour limit");

  const RateLimit fine = parse_rate_limit(response(200, "{}", {{"x-rate-limit-remaining", "3"}}));
  EXPECT_FALSE(fine.exhausted_until());
  EXPECT_FALSE(parse_rate_limit(response(200, "{}", {{"x-rate-limit-remaining", "soon"}})).remaining);
}

TEST(XWire, ClassifiesRateLimitsWithTheirReset) {
  const auto now = std::chrono::system_clock::now();
  const auto at = [&](long long s) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + s);
  };
  const Error window = classify(response(429, R"({"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429})",
                                         {{"x-rate-limit-remaining", "0"}, {"x-rate-limit-reset", at(120)}}),
                                "x:main", now);
  EXPECT_EQ(window.kind(), ErrorKind::transient);
  ASSERT_TRUE(window.retry_after);
  EXPECT_NEAR(window.retry_after->count(), 120, 1);
  EXPECT_THAT(window.what(), AllOf(StartsWith("x:main: HTTP 429: Too Many Requests"), HasSubstr("15-minute")));

  const Error daily = classify(response(429, "{}", {{"x-rate-limit-remaining", "50"},
                                                    {"x-rate-limit-reset", at(60)},
                                                    {"x-user-limit-24hour-remaining", "0"},
                                                    {"x-user-limit-24hour-reset", at(20000)}}),
                               "x:main", now);
  EXPECT_EQ(daily.kind(), ErrorKind::transient);
  EXPECT_NEAR(daily.retry_after->count(), 20000, 1);
  EXPECT_THAT(daily.what(), HasSubstr("24-hour"));

  const Error app = classify(response(429, "{}", {{"x-app-limit-24hour-remaining", "0"},
                                                  {"x-app-limit-24hour-reset", at(3000)}}),
                             "x:main", now);
  EXPECT_NEAR(app.retry_after->count(), 3000, 1);
  EXPECT_THAT(app.what(), HasSubstr("app's 24-hour"));
}

TEST(XWire, ClassifiesOtherFailures) {
  const auto now = std::chrono::system_clock::now();
  for (int status : {500, 502, 503}) {
    const Error e = classify(response(status, "upstream trouble"), "x:main", now);
    EXPECT_EQ(e.kind(), ErrorKind::transient) << status;
    EXPECT_EQ(e.http_status, status);
  }
  const Error unauthorized = classify(
      response(401, R"({"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"})"), "x:main", now);
  EXPECT_EQ(unauthorized.kind(), ErrorKind::auth);
  EXPECT_THAT(unauthorized.what(), HasSubstr("multivio account add x --oauth"));

  const auto duplicate = response(403, R"({"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403})",
                                  {{"x-rate-limit-remaining", "0"}, {"x-rate-limit-reset", "1"}});
  EXPECT_TRUE(is_duplicate(duplicate));
  const Error dup = classify(duplicate, "x:main", now);
  EXPECT_EQ(dup.kind(), ErrorKind::permanent) << "a spent window does not turn a duplicate into a wait";
  EXPECT_THAT(dup.what(), AllOf(HasSubstr("duplicate content"), HasSubstr("duplicate:")));

  const Error too_long = classify(
      response(400, R"({"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request","errors":[{"message":"Your Tweet text is too long."}]})"),
      "x:main", now);
  EXPECT_EQ(too_long.kind(), ErrorKind::validation);
  const Error gone = classify(
      response(403, R"({"title":"Forbidden","type":"about:blank","status":403,"detail":"You attempted to reply to a Tweet that is deleted or not visible to you."})"),
      "x:main", now);
  EXPECT_EQ(gone.kind(), ErrorKind::permanent);
  EXPECT_FALSE(is_duplicate(response(403, R"({"detail":"Forbidden"})")));
  EXPECT_EQ(classify(response(403, R"({"detail":"Forbidden"})"), "x", now).kind(), ErrorKind::auth);
  EXPECT_EQ(classify(response(404, "{}"), "x", now).kind(), ErrorKind::permanent);
}

TEST(XWire, DisplayTextUndoesWhatXDidToTheText) {
  EXPECT_EQ(display_text("Fish &amp; chips &lt;3 https://t.co/abc https://t.co/media", true),
            "Fish & chips <3 https://t.co/abc") << "the media link goes, the others stay";
  EXPECT_EQ(display_text("see https://t.co/abc", false), "see https://t.co/abc");
  EXPECT_EQ(display_text("https://t.co/media", true), "");
}

TEST(XWire, UrlsAndComparableText) {
  EXPECT_EQ(post_url("jack", "20"), "https://x.com/jack/status/20");
  EXPECT_EQ(post_url("", "20"), "https://x.com/i/web/status/20");
  EXPECT_EQ(comparable_text("Fish &amp; chips &lt;3  https://t.co/abc\nnow https://t.co/media"),
            comparable_text("Fish & chips <3 https://example.com/a/long/path\nnow"));
  EXPECT_NE(comparable_text("one"), comparable_text("two"));
}

// ---------------------------------------------------------------------------
// Adapter against the fake X API

constexpr const char* kClient = "x-test-client";
constexpr const char* kUnauthorized =
    R"({"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"})";
constexpr const char* kUnavailable =
    R"({"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503})";

class XAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      oauth_ = std::make_unique<OAuthServer>();
      server_ = std::make_unique<XServer>(oauth_.get());
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    oauth_->add_client({kClient, "", OAuthServer::ClientAuthMethod::any, {}, true});
    config_.daemon.http_timeout = 3s;
    config_.daemon.connect_timeout = 1s;
    config_.platforms["x"] = {{"api_base", server_->base_url()},
                              {"client_id", kClient},
                              {"upload_chunk_bytes", "1000"}};
    http_ = http::make_client();
    make();
    account_.platform = "x";
    account_.name = "main";
    adapter_->configure_account(account_.options);
    secrets_ = link();
    post_.id = 3;
    target_.id = 5;
    dir_ = std::filesystem::temp_directory_path() / ("x_test_" + std::to_string(::getpid()));
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

  // Tokens as `account add x --oauth` gets them: a PKCE code exchanged at the
  // X token endpoint (which the fake forwards to the OAuth fake).
  nlohmann::json link() {
    const oauth::Pkce pkce = oauth::make_pkce();
    const std::string redirect = "http://127.0.0.1:9/callback";
    const std::string code = oauth_->issue_code(kClient, redirect, pkce.challenge, "tweet.read tweet.write");
    oauth::OAuth2Config c;
    c.token_url = server_->base_url() + "/2/oauth2/token";
    c.client_id = kClient;
    const oauth::TokenSet tokens =
        oauth::exchange_code(*http_, c, code, redirect, pkce.verifier, std::chrono::system_clock::now());
    return token_secrets(tokens);
  }

  PublishRequest request(const std::string& text) {
    text_ = text;
    PublishRequest r{post_, target_, account_, secrets_, text_, "key-1"};
    r.record_parts = [this](const std::vector<std::string>& ids) { recorded_.push_back(ids); };
    r.save_secrets = [this](const nlohmann::json& s) { saved_.push_back(s); };
    return r;
  }

  Error publish_error(PublishRequest r) {
    try {
      adapter_->publish(r);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "publish did not throw";
    return Error(ErrorKind::permanent, "none");
  }

  std::string file(const std::string& name, const std::string& head, std::size_t size) {
    const auto path = dir_ / name;
    std::string bytes = head;
    while (bytes.size() < size) bytes += static_cast<char>('a' + bytes.size() % 26);
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
  }
  std::string png(const std::string& name, std::size_t size = 2500) {
    return file(name, std::string("\x89PNG\r\n\x1A\n", 8), size);
  }
  std::string mp4(const std::string& name, std::size_t size = 3000) {
    return file(name, std::string("\0\0\0\x18" "ftypisom", 12), size);
  }

  std::vector<XServer::Received> requests(std::string_view route) const {
    std::vector<XServer::Received> out;
    for (auto& r : server_->received()) {
      if (r.route == route) out.push_back(r);
    }
    return out;
  }

  std::unique_ptr<OAuthServer> oauth_;
  std::unique_ptr<XServer> server_;
  config::Config config_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<Adapter> adapter_;
  std::vector<std::chrono::milliseconds> sleeps_;
  model::Account account_;
  model::Post post_;
  model::Target target_;
  nlohmann::json secrets_;
  std::string text_;
  std::vector<std::vector<std::string>> recorded_;
  std::vector<nlohmann::json> saved_;
  std::filesystem::path dir_;
};

TEST_F(XAdapterTest, RegisteredWithCapabilities) {
  http::Client& client = *http_;
  const auto adapter = platforms::make_adapter("x", Context{client, config_});
  EXPECT_EQ(adapter->name(), "x");
  const Capabilities c = adapter->capabilities(nullptr);
  EXPECT_EQ(c.max_length, 280u);
  EXPECT_EQ(c.length_unit, "weighted characters");
  EXPECT_TRUE(c.media && c.threads && c.find_recent && c.needs_credentials);
  EXPECT_FALSE(c.idempotency_key) << "X drops nothing: unknown outcomes must be reconciled";
}

TEST_F(XAdapterTest, PublishesOnePost) {
  secrets_["username"] = "multivio_fake";
  const PublishResult r = adapter_->publish(request("Release 1.2 is out: https://example.com/notes"));
  const auto tweets = server_->tweets();
  ASSERT_EQ(tweets.size(), 1u);
  EXPECT_EQ(tweets[0].text, "Release 1.2 is out: https://example.com/notes");
  EXPECT_EQ(r.remote_ids, std::vector<std::string>{tweets[0].id});
  EXPECT_EQ(r.remote_url, "https://x.com/multivio_fake/status/" + tweets[0].id);
  EXPECT_EQ(r.http_status, 201);
  EXPECT_THAT(recorded_, ElementsAre(r.remote_ids)) << "even a single post is recorded as soon as it lands";
  EXPECT_TRUE(saved_.empty()) << "a fresh token needs no refresh";

  const auto sent = requests("POST /2/tweets");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header("Authorization"), "Bearer " + secrets_["access_token"].get<std::string>());
  EXPECT_THAT(sent[0].header("Content-Type").value_or(""), StartsWith("application/json"));
  EXPECT_EQ(sent[0].body, R"({"text":"Release 1.2 is out: https://example.com/notes"})");
}

TEST_F(XAdapterTest, UrlWithoutAKnownUsername) {
  const PublishResult r = adapter_->publish(request("hello"));
  EXPECT_EQ(r.remote_url, "https://x.com/i/web/status/" + r.remote_ids.at(0));
}

TEST_F(XAdapterTest, ThreadIsAReplyChainWithCounters) {
  target_.options = {{"thread", "auto"}};
  const std::string text = repeat("All work and no play makes a long post. ", 18);  // ~720 characters
  const auto report = adapter_->validate(text, {}, &account_, publish_options(post_, target_));
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(report.problems);
  EXPECT_EQ(report.parts, 3);

  const PublishResult r = adapter_->publish(request(text));
  const auto tweets = server_->tweets();
  ASSERT_EQ(tweets.size(), 3u);
  EXPECT_EQ(tweets[0].in_reply_to, "");
  EXPECT_EQ(tweets[1].in_reply_to, tweets[0].id);
  EXPECT_EQ(tweets[2].in_reply_to, tweets[1].id);
  EXPECT_THAT(tweets[0].text, HasSubstr("(1/3)"));
  EXPECT_THAT(tweets[2].text, HasSubstr("(3/3)"));
  EXPECT_EQ(r.remote_ids, (std::vector<std::string>{tweets[0].id, tweets[1].id, tweets[2].id}));
  ASSERT_EQ(recorded_.size(), 3u);
  EXPECT_EQ(recorded_[0], std::vector<std::string>{tweets[0].id});
  EXPECT_EQ(recorded_[2], r.remote_ids);

  // Without thread: auto the same text is refused before anything is sent.
  target_.options = nlohmann::json::object();
  const Error e = publish_error(request(text + " again"));
  EXPECT_EQ(e.kind(), ErrorKind::validation);
  EXPECT_THAT(e.what(), HasSubstr("thread: auto"));
  EXPECT_EQ(server_->count("POST /2/tweets"), 3u);
}

TEST_F(XAdapterTest, ThreadCounterFromConfig) {
  config_.platforms["x"]["thread_counter"] = "false";
  make();
  account_.options["thread"] = "auto";
  adapter_->publish(request(repeat("word ", 100)));
  const auto tweets = server_->tweets();
  ASSERT_EQ(tweets.size(), 2u);
  EXPECT_THAT(tweets[0].text, ::testing::Not(HasSubstr("(1/2)")));
}

TEST_F(XAdapterTest, FailedThreadPartIsContinuedWithoutRepostingEarlierParts) {
  target_.options = {{"thread", "auto"}};
  const std::string text = repeat("Part of a thread that must not repeat. ", 20);
  server_->script("POST /2/tweets", {{}, {503, kUnavailable, {}, 0ms}});
  const Error e = publish_error(request(text));
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_THAT(e.what(), AllOf(HasSubstr("thread part 2 of 3"), HasSubstr("part 1 is live"),
                              HasSubstr("a retry continues after them")));
  ASSERT_EQ(server_->tweets().size(), 1u);
  ASSERT_EQ(recorded_.size(), 1u);

  // The next attempt starts from what was recorded.
  target_.remote_ids = recorded_.back();
  const PublishResult r = adapter_->publish(request(text));
  const auto tweets = server_->tweets();
  ASSERT_EQ(tweets.size(), 3u) << "part 1 was not posted again";
  EXPECT_EQ(tweets[1].in_reply_to, tweets[0].id);
  EXPECT_EQ(tweets[2].in_reply_to, tweets[1].id);
  EXPECT_EQ(r.remote_ids.size(), 3u);
  EXPECT_EQ(r.remote_ids.front(), tweets[0].id);
  EXPECT_EQ(server_->count("POST /2/tweets"), 4u);  // 1 + failed 1, then 2 more

  // Everything already live: nothing is sent.
  target_.remote_ids = r.remote_ids;
  EXPECT_EQ(adapter_->publish(request(text)).remote_ids, r.remote_ids);
  EXPECT_EQ(server_->count("POST /2/tweets"), 4u);
}

TEST_F(XAdapterTest, SpentWindowStopsAThreadBeforeXRefusesIt) {
  server_->set_rate_limit("POST /2/tweets", 2, 600s);
  target_.options = {{"thread", "auto"}};
  const Error e = publish_error(request(repeat("Rate limits apply to threads too. ", 24)));
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  ASSERT_TRUE(e.retry_after);
  EXPECT_NEAR(e.retry_after->count(), 600, 2);
  EXPECT_THAT(e.what(), AllOf(HasSubstr("thread part 3 of 3 not sent"), HasSubstr("parts 1-2 are live")));
  EXPECT_EQ(server_->count("POST /2/tweets"), 2u) << "the third part was never sent into a 429";
  EXPECT_EQ(recorded_.back().size(), 2u);
}

TEST_F(XAdapterTest, FourImagesWithAltTextInChunks) {
  post_.media = {png("a.png"), png("b.png"), png("c.png", 900), png("d.png")};
  post_.options["alt"] = {"first", "", "third", "fourth"};
  const auto report = adapter_->validate("four", post_.media, &account_, publish_options(post_, target_));
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(report.problems);
  adapter_->publish(request("four pictures"));

  const auto media = server_->media();
  ASSERT_EQ(media.size(), 4u);
  EXPECT_EQ(media[0].segments, (std::vector<std::size_t>{1000, 1000, 500})) << "chunks of upload_chunk_bytes";
  EXPECT_EQ(media[2].segments, std::vector<std::size_t>{900});
  EXPECT_EQ(media[0].media_type, "image/png");
  EXPECT_EQ(media[0].category, "tweet_image");
  EXPECT_EQ(media[0].alt_text, "first");
  EXPECT_EQ(media[1].alt_text, "") << "no alt text, no metadata call";
  EXPECT_EQ(media[3].alt_text, "fourth");
  EXPECT_EQ(server_->count("POST /2/media/metadata"), 3u);
  const auto tweets = server_->tweets();
  ASSERT_EQ(tweets.size(), 1u);
  EXPECT_EQ(tweets[0].media_ids,
            (std::vector<std::string>{media[0].id, media[1].id, media[2].id, media[3].id}));
  EXPECT_EQ(server_->count("GET /2/media/upload"), 0u) << "images need no processing polls";
}

TEST_F(XAdapterTest, VideoIsPolledAsProcessingInfoAsks) {
  server_->set_processing(3, 2);
  post_.media = {mp4("clip.mp4")};
  adapter_->publish(request("a video"));
  EXPECT_EQ(server_->count("GET /2/media/upload"), 3u);
  EXPECT_THAT(sleeps_, ElementsAre(2000ms, 2000ms, 2000ms)) << "check_after_secs is honoured";
  const auto media = server_->media();
  ASSERT_EQ(media.size(), 1u);
  EXPECT_EQ(media[0].category, "tweet_video");
  EXPECT_EQ(media[0].state, "succeeded");
  EXPECT_EQ(server_->tweets().at(0).media_ids, std::vector<std::string>{media[0].id});
}

TEST_F(XAdapterTest, VideoProcessingIsBoundedAndFailuresAreReported) {
  server_->fail_next_processing("Unsupported video format");
  post_.media = {mp4("bad.mp4")};
  const Error failed = publish_error(request("a broken video"));
  EXPECT_EQ(failed.kind(), ErrorKind::validation);
  EXPECT_THAT(failed.what(), AllOf(HasSubstr("media bad.mp4"), HasSubstr("Unsupported video format")));
  EXPECT_TRUE(server_->tweets().empty());

  config_.platforms["x"]["media_timeout"] = "5s";
  make();
  server_->set_processing(100, 2);
  sleeps_.clear();
  post_.media = {mp4("slow.mp4")};
  const Error slow = publish_error(request("a slow video"));
  EXPECT_EQ(slow.kind(), ErrorKind::transient);
  EXPECT_THAT(slow.what(), HasSubstr("still processing"));
  EXPECT_EQ(sleeps_.size(), 2u) << "2 s + 2 s fit in 5 s, a third wait does not";
}

TEST_F(XAdapterTest, ValidateMediaRules) {
  const auto problems = [&](std::vector<std::string> media, nlohmann::json options = nlohmann::json::object()) {
    return adapter_->validate("text", media, &account_, options).problems;
  };
  EXPECT_THAT(problems({png("1.png"), png("2.png"), png("3.png"), png("4.png"), png("5.png")}),
              ElementsAre(AllOf(HasSubstr("5 images"), HasSubstr("at most 4"), HasSubstr("'5.png'"))));
  EXPECT_THAT(problems({mp4("v.mp4"), png("p.png")}), ElementsAre(HasSubstr("media 'v.mp4' is a video")));
  EXPECT_THAT(problems({file("g.gif", "GIF89a", 100), file("h.gif", "GIF89a", 100)}),
              ElementsAre(HasSubstr("media 'g.gif' is a GIF")));
  EXPECT_THAT(problems({file("notes.png", "just text", 100)}),
              ElementsAre(HasSubstr("media 'notes.png' is not a JPEG, PNG")));
  EXPECT_THAT(problems({(dir_ / "missing.png").string()}), ElementsAre(HasSubstr("'missing.png': cannot read")));
  EXPECT_THAT(problems({png("big.png", 5 * 1024 * 1024 + 1)}), ElementsAre(HasSubstr("x allows 5242880 for an image")));
  EXPECT_THAT(problems({png("alt.png")}, {{"alt", {repeat("a", 1001)}}}),
              ElementsAre(HasSubstr("alt text of 'alt.png' is 1001 characters")));
  EXPECT_TRUE(problems({mp4("one.mp4")}).empty());
  EXPECT_TRUE(adapter_->validate("", {png("only.png")}, &account_).ok()) << "media-only posts need no text";
  EXPECT_THAT(adapter_->validate("", {}, &account_).problems, ElementsAre("text is empty"));
}

TEST_F(XAdapterTest, ValidateCountsXWeightedLength) {
  EXPECT_TRUE(adapter_->validate(repeat("a", 280), {}, &account_).ok());
  EXPECT_THAT(adapter_->validate(repeat("a", 281), {}, &account_).problems,
              ElementsAre("text is 281 weighted characters; x allows 280"));
  EXPECT_FALSE(adapter_->validate(repeat("\xE6\x97\xA5", 141), {}, &account_).ok()) << "CJK counts 2";
  const auto threaded = adapter_->validate(repeat("a ", 200), {}, &account_, {{"thread", "auto"}});
  EXPECT_TRUE(threaded.ok());
  EXPECT_EQ(threaded.parts, 2);
}

TEST_F(XAdapterTest, RefreshesBeforeExpiryAndSavesTheRotatedToken) {
  const std::string old_refresh = secrets_["refresh_token"];
  const std::string old_access = secrets_["access_token"];
  secrets_["expires_at"] = epoch_in(60s);  // inside the 5-minute margin
  adapter_->publish(request("after a refresh"));

  ASSERT_EQ(saved_.size(), 1u);
  const auto& fresh = saved_[0];
  EXPECT_NE(fresh["refresh_token"], old_refresh);
  EXPECT_NE(fresh["access_token"], old_access);
  EXPECT_GT(fresh["expires_at"].get<long long>(), epoch_in(3600s));
  EXPECT_FALSE(oauth_->refresh_token_valid(old_refresh)) << "the fake killed the old refresh token";
  EXPECT_TRUE(oauth_->refresh_token_valid(fresh["refresh_token"].get<std::string>()));
  const auto sent = requests("POST /2/tweets");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header("Authorization"), "Bearer " + fresh["access_token"].get<std::string>());
  const auto grants = oauth_->token_requests();
  EXPECT_EQ(grants.back().grant_type, "refresh_token");
  EXPECT_EQ(server_->count("POST /2/oauth2/token"), 2u) << "link + refresh, both through the X endpoint";

  // Had the rotated token not been saved, the next refresh would use the old
  // one, which X refuses: the account would need linking again.
  secrets_["expires_at"] = epoch_in(-1s);
  const Error stale = publish_error(request("with the stale refresh token"));
  EXPECT_EQ(stale.kind(), ErrorKind::auth);
  EXPECT_THAT(stale.what(), HasSubstr("multivio account add x --oauth"));
  EXPECT_EQ(server_->tweets().size(), 1u);
}

TEST_F(XAdapterTest, RefreshesOnceOnA401AndRetries) {
  const std::string old_refresh = secrets_["refresh_token"];
  oauth_->expire_access_tokens();  // X says 401 though the stored expiry looks fine
  const PublishResult r = adapter_->publish(request("after a 401"));
  EXPECT_EQ(server_->tweets().size(), 1u);
  EXPECT_EQ(r.remote_ids.size(), 1u);
  EXPECT_EQ(server_->count("POST /2/tweets"), 2u) << "one 401, one 201";
  ASSERT_EQ(saved_.size(), 1u);
  EXPECT_NE(saved_[0]["refresh_token"], old_refresh);
  EXPECT_FALSE(oauth_->refresh_token_valid(old_refresh));

  // A second 401 after the refresh is the answer: no loop.
  oauth_->expire_access_tokens();
  secrets_ = saved_[0];
  server_->script("POST /2/tweets", {{401, kUnauthorized, {}, 0ms}, {401, kUnauthorized, {}, 0ms}});
  const Error e = publish_error(request("never"));
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_EQ(server_->count("POST /2/tweets"), 4u);
}

TEST_F(XAdapterTest, InvalidGrantIsAuthWithARelinkHint) {
  secrets_["refresh_token"] = "revoked-refresh-token";
  secrets_["expires_at"] = epoch_in(-10s);
  const Error e = publish_error(request("hello"));
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_THAT(e.what(), AllOf(HasSubstr("x:main"), HasSubstr("multivio account add x --oauth")));
  EXPECT_TRUE(saved_.empty());
  EXPECT_EQ(server_->count("POST /2/tweets"), 0u);

  EXPECT_THROW(adapter_->refresh(account_, secrets_), Error);
}

TEST_F(XAdapterTest, AccountRefreshRotatesTokens) {
  const auto fresh = adapter_->refresh(account_, secrets_);
  ASSERT_TRUE(fresh);
  EXPECT_NE((*fresh)["refresh_token"], secrets_["refresh_token"]);
  EXPECT_TRUE(oauth_->access_token_valid((*fresh)["access_token"].get<std::string>()));
  EXPECT_FALSE(oauth_->refresh_token_valid(secrets_["refresh_token"].get<std::string>()));

  config_.platforms["x"].erase("client_id");
  make();
  try {
    adapter_->refresh(account_, *fresh);
    ADD_FAILURE() << "refreshed without a client id";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("platforms.x.client_id"));
  }
}

TEST_F(XAdapterTest, ExpiresInCountsFromWhenTheAccountWasAdded) {
  nlohmann::json added = {{"access_token", "a"}, {"refresh_token", "r"}, {"expires_in", 7200}};
  nlohmann::json options = nlohmann::json::object();
  adapter_->move_secret_options(options, added);
  EXPECT_FALSE(added.contains("expires_in"));
  EXPECT_NEAR(added["expires_at"].get<long long>(), epoch_in(7200s), 2);

  // Stored before the conversion existed: the account's creation time is the base.
  secrets_.erase("expires_at");
  secrets_["expires_in"] = 7200;
  account_.created_at = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() - 3h);
  adapter_->publish(request("expired two hours ago, refreshed now"));
  ASSERT_GE(saved_.size(), 2u);
  EXPECT_NEAR(saved_[0]["expires_at"].get<long long>(), epoch_in(-1h), 2);
  EXPECT_GT(saved_[1]["expires_at"].get<long long>(), epoch_in(3600s));
  EXPECT_EQ(server_->tweets().size(), 1u);
}

TEST_F(XAdapterTest, OAuth1SignedPublishAndListing) {
  server_->add_oauth1_user("ck-1", "cs-1", "783214-tok", "ts-1", {"783214", "oauth1user", "OAuth One"});
  secrets_ = {{"consumer_key", "ck-1"}, {"consumer_secret", "cs-1"}, {"token", "783214-tok"}, {"token_secret", "ts-1"}};
  post_.media = {png("signed.png")};
  post_.options["alt"] = {"signed alt"};
  const PublishResult r = adapter_->publish(request("signed with HMAC-SHA1 & friends"));
  EXPECT_TRUE(server_->auth_failures().empty()) << ::testing::PrintToString(server_->auth_failures());
  const auto sent = requests("POST /2/tweets");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_THAT(sent[0].header("Authorization").value_or(""), StartsWith("OAuth "));
  EXPECT_EQ(server_->tweets().at(0).author_id, "783214");

  // A GET with a query string is signed over the query too.
  const auto recent = adapter_->find_recent(account_, secrets_, 5);
  EXPECT_TRUE(server_->auth_failures().empty()) << ::testing::PrintToString(server_->auth_failures());
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].id, r.remote_ids.at(0));

  // A wrong secret is refused by the fake's own signature check.
  secrets_["token_secret"] = "wrong";
  const Error e = publish_error(request("not signed right"));
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_THAT(server_->auth_failures().back(), HasSubstr("signature mismatch"));
  EXPECT_FALSE(adapter_->refresh(account_, secrets_)) << "OAuth 1.0a tokens do not expire";
}

TEST_F(XAdapterTest, RateLimitedIsTransientUntilTheReset) {
  server_->script("POST /2/tweets", {XServer::rate_limited(120s)});
  const Error scripted = publish_error(request("hello"));
  EXPECT_EQ(scripted.kind(), ErrorKind::transient);
  ASSERT_TRUE(scripted.retry_after);
  EXPECT_NEAR(scripted.retry_after->count(), 120, 2);

  // The fake's own budget, spent.
  server_->set_rate_limit("POST /2/tweets", 1, 300s);
  adapter_->publish(request("one"));
  const Error spent = publish_error(request("two"));
  EXPECT_EQ(spent.kind(), ErrorKind::transient);
  EXPECT_EQ(spent.http_status, 429);
  EXPECT_NEAR(spent.retry_after->count(), 300, 2);

  // The 24-hour user limit.
  server_->set_rate_limit("POST /2/tweets", 100, 900s);
  server_->set_user_daily_limit(0, 5000s);
  const Error daily = publish_error(request("three"));
  EXPECT_EQ(daily.kind(), ErrorKind::transient);
  EXPECT_NEAR(daily.retry_after->count(), 5000, 2);
  EXPECT_THAT(daily.what(), HasSubstr("24-hour"));
}

TEST_F(XAdapterTest, ServerErrorsAreTransient) {
  for (int status : {500, 502, 503}) {
    server_->script("POST /2/tweets", {{status, "<html>overloaded</html>", {}, 0ms}});
    const Error e = publish_error(request("hello " + std::to_string(status)));
    EXPECT_EQ(e.kind(), ErrorKind::transient) << status;
    EXPECT_EQ(e.http_status, status);
  }
  EXPECT_TRUE(server_->tweets().empty());
}

TEST_F(XAdapterTest, DuplicateAfterAnUnknownOutcomeIsReconciled) {
  config_.daemon.http_timeout = 700ms;
  make();
  const std::string text = "Fish & chips <3 https://example.com/menu";
  // X creates the post but the answer comes after the client gave up.
  server_->script("POST /2/tweets", {{0, "", {}, 1500ms}});
  const Error lost = publish_error(request(text));
  EXPECT_EQ(lost.kind(), ErrorKind::transient);
  EXPECT_TRUE(lost.outcome_unknown);
  ASSERT_EQ(server_->tweets().size(), 1u);

  PublishRequest retry = request(text);
  retry.after_unknown = true;
  const PublishResult r = adapter_->publish(retry);
  const auto tweets = server_->tweets();
  ASSERT_EQ(tweets.size(), 1u) << "no second post";
  EXPECT_EQ(r.remote_ids, std::vector<std::string>{tweets[0].id});
  EXPECT_EQ(server_->count("GET /2/users/me"), 1u) << "the user id was looked up";
  ASSERT_FALSE(saved_.empty());
  EXPECT_EQ(saved_.back()["user_id"], "1849000000000000001") << "and kept";
  EXPECT_EQ(r.remote_url, "https://x.com/multivio_fake/status/" + tweets[0].id);
}

TEST_F(XAdapterTest, DuplicateOtherwiseIsPermanent) {
  server_->add_tweet("said this already");
  const Error e = publish_error(request("said this already"));
  EXPECT_EQ(e.kind(), ErrorKind::permanent);
  EXPECT_THAT(e.what(), AllOf(HasSubstr("HTTP 403"), HasSubstr("duplicate")));

  // After an unknown outcome, but the post found is not this one (another
  // text was posted): still a duplicate, not a silent success.
  PublishRequest retry = request("said this already");
  retry.after_unknown = true;
  server_->script("GET /2/users/:id/tweets", {{200, R"({"meta":{"result_count":0}})", {}, 0ms}});
  const Error still = publish_error(retry);
  EXPECT_EQ(still.kind(), ErrorKind::permanent);
  EXPECT_EQ(server_->tweets().size(), 1u);
}

TEST_F(XAdapterTest, FindRecentListsNewestFirst) {
  secrets_["username"] = "multivio_fake";
  for (const char* t : {"first", "second", "third"}) adapter_->publish(request(t));
  server_->add_tweet("someone else's", "42");
  const auto recent = adapter_->find_recent(account_, secrets_, 2);
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].text, "third");
  EXPECT_EQ(recent[1].text, "second");
  EXPECT_EQ(recent[0].url, "https://x.com/multivio_fake/status/" + recent[0].id);
  EXPECT_GT(recent[0].created_at.time_since_epoch().count(), 0);

  // As the user wrote it: entities decoded, the media link X appends removed.
  post_.media = {png("m.png")};
  adapter_->publish(request("cats & dogs"));
  EXPECT_EQ(adapter_->find_recent(account_, secrets_, 1).at(0).text, "cats & dogs");
  post_.media.clear();
  const auto listing = requests("GET /2/users/:id/tweets");
  ASSERT_EQ(listing.size(), 2u);
  EXPECT_THAT(listing[0].target, HasSubstr("max_results=5")) << "X's minimum page";

  // find_recent cannot persist a rotated token, so it never refreshes.
  secrets_["expires_at"] = epoch_in(-1s);
  EXPECT_THROW(adapter_->find_recent(account_, secrets_, 2), Error);
  EXPECT_EQ(server_->count("POST /2/oauth2/token"), 1u);
}

TEST_F(XAdapterTest, CheckAccountAndLinking) {
  secrets_["scope"] = "tweet.read tweet.write users.read offline.access";
  const AccountCheck check = adapter_->check_account(account_, secrets_, [this](const nlohmann::json& s) {
    saved_.push_back(s);
  });
  EXPECT_EQ(check.handle, "multivio_fake");
  EXPECT_THAT(check.scopes, ElementsAre("tweet.read", "tweet.write", "users.read", "offline.access"));
  ASSERT_TRUE(check.expires_at);
  EXPECT_THAT(check.detail, HasSubstr("1849000000000000001"));

  LinkStash stash;
  const auto link = adapter_->oauth2_link(nlohmann::json::object(), "http://127.0.0.1:8765/callback", stash);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->config.authorize_url, "https://x.com/i/oauth2/authorize");
  EXPECT_EQ(link->config.token_url, server_->base_url() + "/2/oauth2/token");
  EXPECT_EQ(link->config.client_id, kClient);
  EXPECT_THAT(link->scopes, ElementsAre("tweet.read", "tweet.write", "users.read", "offline.access", "media.write"));

  oauth::TokenSet tokens;
  tokens.access_token = secrets_["access_token"];
  tokens.refresh_token = secrets_["refresh_token"];
  std::string handle;
  const auto linked = adapter_->secrets_from_tokens(tokens, nlohmann::json::object(), handle);
  EXPECT_EQ(handle, "multivio_fake");
  EXPECT_EQ(linked["user_id"], "1849000000000000001");
  EXPECT_EQ(linked["refresh_token"], tokens.refresh_token);

  const auto server = adapter_->oauth1_server(nlohmann::json::object());
  ASSERT_TRUE(server);
  EXPECT_EQ(server->base_url, server_->base_url());

  config_.platforms["x"].erase("client_id");
  make();
  try {
    adapter_->oauth2_link(nlohmann::json::object(), "http://127.0.0.1:8765/callback", stash);
    ADD_FAILURE() << "linked without a client id";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_THAT(e.what(), HasSubstr("platforms.x.client_id"));
  }
}

TEST_F(XAdapterTest, ConfigureAccountValidates) {
  nlohmann::json o = {{"handle", "@Jack_1"}, {"thread", "auto"}, {"thread_counter", false}};
  adapter_->configure_account(o);
  EXPECT_EQ(o["handle"], "Jack_1");
  const auto usage = [&](nlohmann::json options, std::string_view needle) {
    try {
      adapter_->configure_account(options);
      ADD_FAILURE() << options.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      EXPECT_THAT(e.what(), HasSubstr(std::string(needle))) << e.what();
    }
  };
  usage({{"handle", "this-is-not-a-handle"}}, "not an X username");
  usage({{"thread", "yes"}}, "auto, never");
  usage({{"thread_counter", "no"}}, "true or false");
  usage({{"instance", "https://x.com"}}, "unknown option 'instance'");

  nlohmann::json partial = {{"consumer_key", "ck"}, {"token", "t"}};
  EXPECT_THROW(adapter_->move_secret_options(o, partial), Error);
}

TEST_F(XAdapterTest, PreviewIsTheRequestWithSecretsHidden) {
  post_.media = {png("shown.png")};
  const Preview p = adapter_->preview(request("preview me"));
  EXPECT_EQ(p.method, "POST");
  EXPECT_EQ(p.url, server_->base_url() + "/2/tweets");
  EXPECT_EQ(p.body, R"({"text":"preview me","media":{"media_ids":["<id of uploaded shown.png>"]}})");
  const std::string all = p.to_json().dump();
  EXPECT_EQ(all.find(secrets_["access_token"].get<std::string>()), std::string::npos);
  EXPECT_THAT(all, HasSubstr("Bearer ***"));
  EXPECT_EQ(server_->received().size(), 1u) << "only the token exchange of SetUp; preview sends nothing";
}
}  // namespace
}  // namespace multivio::platforms::x
