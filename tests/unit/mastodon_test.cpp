// SPDX-License-Identifier: MIT
// common/platforms/mastodon: the wire layer on recorded bodies (shapes from
// docs.joinmastodon.org), then the adapter against the fake instance.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/platforms/mastodon/wire.hpp"
#include "common/platforms/platform.hpp"
#include "tests/fakes/mastodon_server.hpp"

namespace multivio::platforms::mastodon {
namespace {

using namespace std::chrono_literals;
using fakes::MastodonServer;
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

// ---------------------------------------------------------------------------
// Wire layer

// GET /api/v2/instance as mastodon.social answers it (trimmed).
constexpr const char* kInstanceBody = R"({"domain":"mastodon.social","title":"Mastodon","version":"4.3.0",
  "configuration":{"urls":{"streaming":"wss://mastodon.social"},"accounts":{"max_featured_tags":10},
  "statuses":{"max_characters":500,"max_media_attachments":4,"characters_reserved_per_url":23},
  "media_attachments":{"supported_mime_types":["image/jpeg","image/png"],"image_size_limit":10485760},
  "polls":{"max_options":4}},"registrations":{"enabled":false}})";

// POST /api/v1/statuses, 200 (the docs' Status example, trimmed).
constexpr const char* kStatusBody = R"({"id":"103254962155278888","created_at":"2019-12-05T11:34:47.196Z",
  "in_reply_to_id":null,"sensitive":false,"spoiler_text":"","visibility":"public","language":"en",
  "uri":"https://mastodon.social/users/Gargron/statuses/103254962155278888",
  "url":"https://mastodon.social/@Gargron/103254962155278888","replies_count":0,
  "content":"<p>test content</p>","application":{"name":"test app","website":null},
  "account":{"id":"1","username":"Gargron","acct":"Gargron"},"media_attachments":[],"poll":null})";

TEST(MastodonWire, ParsesInstanceLimits) {
  const InstanceLimits l = parse_instance(kInstanceBody);
  EXPECT_EQ(l.max_characters, 500u);
  EXPECT_EQ(l.max_media_attachments, 4u);
  EXPECT_EQ(l.characters_reserved_per_url, 23u);

  const InstanceLimits big = parse_instance(
      R"({"configuration":{"statuses":{"max_characters":5000,"max_media_attachments":6,"characters_reserved_per_url":30}}})");
  EXPECT_EQ(big.max_characters, 5000u);
  EXPECT_EQ(big.max_media_attachments, 6u);
  EXPECT_EQ(big.characters_reserved_per_url, 30u);
  // Older servers and forks omit parts: defaults, not failures.
  EXPECT_EQ(parse_instance(R"({"uri":"old.example"})").max_characters, 500u);
  EXPECT_EQ(parse_instance(R"({"configuration":{"statuses":{"max_characters":"lots"}}})").max_characters, 500u);
  EXPECT_THROW(parse_instance("<html>maintenance</html>"), Error);
}

TEST(MastodonWire, ParsesStatus) {
  const Status s = parse_status(kStatusBody);
  EXPECT_EQ(s.id, "103254962155278888");
  EXPECT_EQ(s.url, "https://mastodon.social/@Gargron/103254962155278888");
  EXPECT_EQ(s.uri, "https://mastodon.social/users/Gargron/statuses/103254962155278888");
  EXPECT_EQ(s.content, "<p>test content</p>");
  EXPECT_EQ(s.in_reply_to_id, "");
  ASSERT_TRUE(s.created_at);
  EXPECT_EQ(model::format_utc(*s.created_at), "2019-12-05T11:34:47.196Z");

  EXPECT_EQ(parse_status(R"({"id":42,"url":null})").id, "42");  // numeric ids from forks
  try {
    parse_status(R"({"error":"x"})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::permanent);
    EXPECT_THAT(e.what(), HasSubstr("no id"));
  }
  EXPECT_THROW(parse_status(""), Error);
}

TEST(MastodonWire, ParsesStatusList) {
  const auto list = parse_statuses(std::string("[") + kStatusBody + R"(,{"id":"7","content":"<p>b</p>"}])");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].id, "7");
  EXPECT_TRUE(parse_statuses("[]").empty());
  EXPECT_THROW(parse_statuses(R"({"error":"x"})"), Error);
}

TEST(MastodonWire, ParsesMediaAndAccount) {
  // 200: processed; 202: url still null (docs, methods/media).
  const Media done = parse_media(
      R"({"id":"22348641","type":"image","url":"https://files.mastodon.social/media_attachments/files/022/348/641/original/e96382f26c72a29c.jpeg","preview_url":"https://files.mastodon.social/x/small.jpeg","description":"test uploaded via api"})");
  EXPECT_EQ(done.id, "22348641");
  EXPECT_TRUE(done.processed());
  const Media pending = parse_media(R"({"id":"22348641","type":"video","url":null,"preview_url":"https://x/small.jpeg"})");
  EXPECT_FALSE(pending.processed());
  EXPECT_EQ(parse_account_id(R"({"id":"14715","username":"trwnh","acct":"trwnh"})"), "14715");
  EXPECT_THROW(parse_account_id("{}"), Error);
}

TEST(MastodonWire, StatusBodyLeavesOutEmptyFields) {
  StatusParams p;
  p.status = "hello \"world\"";
  EXPECT_EQ(status_body(p), R"({"status":"hello \"world\""})");
  p.visibility = "unlisted";
  p.language = "de";
  p.spoiler_text = "cw";
  p.in_reply_to_id = "123";
  p.media_ids = {"9", "10"};
  EXPECT_EQ(status_body(p),
            R"({"status":"hello \"world\"","visibility":"unlisted","language":"de","spoiler_text":"cw",)"
            R"("in_reply_to_id":"123","media_ids":["9","10"]})");
}

TEST(MastodonWire, MediaBodyIsMultipart) {
  const Multipart m = media_body("shot \"1\".png", "image/png", std::string("\x89PNG\r\n\0x", 8), "a cat", "BOUND");
  EXPECT_EQ(m.content_type, "multipart/form-data; boundary=BOUND");
  const std::string expected =
      std::string("--BOUND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shot _1_.png\"\r\n"
                  "Content-Type: image/png\r\n\r\n") +
                               std::string("\x89PNG\r\n\0x", 8) +
                               "\r\n--BOUND\r\nContent-Disposition: form-data; name=\"description\"\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n\r\na cat\r\n--BOUND--\r\n";
  EXPECT_EQ(m.body, expected);
  EXPECT_EQ(media_body("a.jpg", "image/jpeg", "x", "", "B").body.find("description"), std::string::npos);
  EXPECT_EQ(mime_type_for("/tmp/Photo.JPG"), "image/jpeg");
  EXPECT_EQ(mime_type_for("clip.mp4"), "video/mp4");
  EXPECT_EQ(mime_type_for("notes.txt"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("noext"), "application/octet-stream");
}

TEST(MastodonWire, ErrorMessages) {
  EXPECT_EQ(error_message(R"({"error":"Validation failed: Text can't be blank"})"),
            "Validation failed: Text can't be blank");
  EXPECT_EQ(error_message(
                R"({"error":"invalid_grant","error_description":"The provided authorization grant is invalid"})"),
            "invalid_grant: The provided authorization grant is invalid");
  EXPECT_EQ(error_message("<html>502</html>"), "");
}

const auto kNow = std::chrono::sys_days{std::chrono::year{2026} / 3 / 1} + 12h;

TEST(MastodonWire, ClassifiesValidationFailuresAsValidation) {
  const Error e = classify(response(422, R"({"error":"Validation failed: Text character limit of 500 exceeded"})"),
                           "mastodon:m", kNow);
  EXPECT_EQ(e.kind(), ErrorKind::validation);
  EXPECT_EQ(e.http_status, 422);
  EXPECT_STREQ(e.what(), "mastodon:m: HTTP 422: Validation failed: Text character limit of 500 exceeded");
  // Other 422s (unprocessed media) will not pass on a retry either, but they
  // are not the text's fault.
  const Error media = classify(
      response(422, R"({"error":"Cannot attach files that have not finished processing. Try again in a moment!"})"),
      "mastodon:m", kNow);
  EXPECT_EQ(media.kind(), ErrorKind::permanent);
  EXPECT_THAT(media.what(), HasSubstr("have not finished processing"));
}

TEST(MastodonWire, ClassifiesUnauthorizedWithRelinkHint) {
  const Error e = classify(response(401, R"({"error":"The access token is invalid"})"), "mastodon:m", kNow);
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_THAT(e.what(), StartsWith("mastodon:m: HTTP 401: The access token is invalid"));
  EXPECT_THAT(e.what(), HasSubstr("re-link"));
  EXPECT_EQ(classify(response(403, R"({"error":"This action is not allowed"})"), "c", kNow).kind(), ErrorKind::auth);
}

TEST(MastodonWire, RateLimitWaitsUntilTheIsoReset) {
  const Error e = classify(response(429, R"({"error":"Too many requests"})",
                                    {{"X-RateLimit-Limit", "300"},
                                     {"X-RateLimit-Remaining", "0"},
                                     {"X-RateLimit-Reset", "2026-03-01T12:02:30.019685Z"}}),
                           "mastodon:m", kNow);
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.retry_after, 151s);  // 150.02 s, rounded up
  EXPECT_STREQ(e.what(), "mastodon:m: HTTP 429: Too many requests");
  // Header names are case-insensitive; a later Retry-After wins; a reset in
  // the past means "now".
  const Error both =
      classify(response(429, "{}", {{"x-ratelimit-reset", "2026-03-01T12:00:10Z"}, {"Retry-After", "60"}}), "c", kNow);
  EXPECT_EQ(both.retry_after, 60s);
  const Error past = classify(response(429, "{}", {{"X-RateLimit-Reset", "2026-03-01T11:00:00Z"}}), "c", kNow);
  EXPECT_EQ(past.retry_after, 0s);
  const Error junk = classify(response(429, "{}", {{"X-RateLimit-Reset", "soon"}}), "c", kNow);
  EXPECT_FALSE(junk.retry_after);
}

TEST(MastodonWire, ServerErrorsAreTransientAndKeepTheBodyWhenNotJson) {
  const Error e = classify(response(503, "<html>Bad gateway</html>"), "mastodon:m", kNow);
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_THAT(e.what(), HasSubstr("HTTP 503"));
  EXPECT_THAT(e.what(), HasSubstr("Bad gateway"));
  EXPECT_EQ(classify(response(404, R"({"error":"Record not found"})"), "c", kNow).kind(), ErrorKind::permanent);
}

TEST(MastodonWire, ParsesIsoTimes) {
  auto fmt = [](std::string_view s) {
    const auto t = parse_time(s);
    return t ? model::format_utc(*t) : std::string("none");
  };
  EXPECT_EQ(fmt("2019-12-05T11:34:47.196Z"), "2019-12-05T11:34:47.196Z");
  EXPECT_EQ(fmt("2020-09-08T13:25:00.019685Z"), "2020-09-08T13:25:00.019Z");
  EXPECT_EQ(fmt("2016-03-16T14:34:26+00:00"), "2016-03-16T14:34:26Z");
  EXPECT_EQ(fmt("2016-03-16T16:34:26.5+02:00"), "2016-03-16T14:34:26.500Z");
  EXPECT_EQ(fmt("2016-03-16T10:04:26-0430"), "2016-03-16T14:34:26Z");
  EXPECT_EQ(fmt("2016-03-16T14:34:26"), "none");  // no zone
  EXPECT_EQ(fmt("2016-02-30T00:00:00Z"), "none");
  EXPECT_EQ(fmt("1700000000"), "none");
  EXPECT_EQ(fmt(""), "none");
}

TEST(MastodonWire, HtmlToText) {
  EXPECT_EQ(html_to_text("<p>test content</p>"), "test content");
  EXPECT_EQ(html_to_text("<p>line 1<br />line 2</p><p>para &amp; &lt;2&gt; &#39;q&#39; &#x1F600;</p>"),
            "line 1\nline 2\n\npara & <2> 'q' \U0001F600");
  // Links keep their full text; the "invisible" spans only hide it in the UI.
  EXPECT_EQ(html_to_text(R"(<p>see <a href="https://example.com/x" rel="nofollow"><span class="invisible">https://</span><span class="">example.com/x</span><span class="invisible"></span></a> <a href="https://m.s/tags/tag" class="mention hashtag">#<span>tag</span></a></p>)"),
            "see https://example.com/x #tag");
  EXPECT_EQ(html_to_text("a &bogus; b"), "a &bogus; b");
}

TEST(MastodonWire, NormalizesInstanceUrls) {
  EXPECT_EQ(normalize_instance("mastodon.social"), "https://mastodon.social");
  EXPECT_EQ(normalize_instance("HTTPS://Mastodon.Social/"), "https://mastodon.social");
  EXPECT_EQ(normalize_instance("https://example.org:8443"), "https://example.org:8443");
  EXPECT_EQ(normalize_instance("http://127.0.0.1:4000/"), "http://127.0.0.1:4000");
  EXPECT_EQ(normalize_instance("http://localhost:3000"), "http://localhost:3000");
  for (const char* bad : {"http://mastodon.social", "ftp://x.org", "https://", "https://user:pw@x.org",
                          "https://x.org/?a=1", ""}) {
    try {
      normalize_instance(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage) << bad;
      EXPECT_EQ(std::string(e.what()).find("pw"), std::string::npos) << e.what();
    }
  }
}

// ---------------------------------------------------------------------------
// Adapter against the fake instance

class MastodonAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<MastodonServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    config_.daemon.http_timeout = 3s;
    config_.daemon.connect_timeout = 1s;
    http_ = http::make_client();
    adapter_ = make_adapter("mastodon", Context{*http_, config_});
    account_.platform = "mastodon";
    account_.name = "m";
    account_.options = {{"instance", server_->base_url()}};
    adapter_->configure_account(account_.options);
    secrets_ = {{"access_token", "test-token"}};
    post_.id = 3;
    target_.id = 5;
    dir_ = std::filesystem::temp_directory_path() / ("mastodon_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  PublishRequest request(const std::string& text, const std::string& key = "key-1") {
    text_ = text;
    return PublishRequest{post_, target_, account_, secrets_, text_, key};
  }

  Error publish_error(const std::string& text = "hello", const std::string& key = "key-1") {
    try {
      adapter_->publish(request(text, key));
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "publish did not throw";
    return Error(ErrorKind::permanent, "none");
  }

  std::string media_file(const std::string& name) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << std::string("\x89PNG\r\n\x1a\n fake image bytes", 26);
    return path.string();
  }

  std::unique_ptr<MastodonServer> server_;
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

TEST_F(MastodonAdapterTest, ConfigureAccountValidatesAndFillsDefaults) {
  EXPECT_EQ(adapter_->name(), "mastodon");
  EXPECT_EQ(account_.options["visibility"], "public");
  EXPECT_EQ(account_.options["instance"], server_->base_url());

  nlohmann::json o = {{"instance", "Mastodon.Example/"}, {"visibility", "unlisted"}, {"language", "pt-BR"},
                      {"cw", "spoilers"}, {"thread", "auto"}, {"thread_counter", false}};
  adapter_->configure_account(o);
  EXPECT_EQ(o["instance"], "https://mastodon.example");

  auto usage = [&](nlohmann::json options, std::string_view needle) {
    try {
      adapter_->configure_account(options);
      ADD_FAILURE() << options.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      EXPECT_THAT(e.what(), HasSubstr(std::string(needle))) << e.what();
    }
  };
  usage(nlohmann::json::object(), "'instance' is required");
  usage({{"instance", "https://m.example"}, {"visibility", "friends"}}, "public, unlisted, private, direct");
  usage({{"instance", "https://m.example"}, {"language", "English"}}, "ISO 639");
  usage({{"instance", "https://m.example"}, {"thread", "yes"}}, "auto, never");
  usage({{"instance", "https://m.example"}, {"url", "https://x"}}, "unknown option 'url'");
  usage({{"instance", "https://m.example"}, {"inst", "x"}}, "unknown option 'inst'");
  usage({{"instance", "http://m.example"}}, "https");
}

TEST_F(MastodonAdapterTest, CapabilitiesComeFromTheInstanceOnce) {
  server_->set_max_characters(1000);
  const Capabilities bare = adapter_->capabilities(nullptr);
  EXPECT_EQ(bare.max_length, 500u);
  EXPECT_TRUE(bare.media && bare.threads && bare.idempotency_key && bare.find_recent && bare.needs_credentials);
  EXPECT_EQ(server_->count("GET /api/v2/instance"), 0u) << "no account, no request";

  EXPECT_EQ(adapter_->capabilities(&account_).max_length, 1000u);
  EXPECT_EQ(adapter_->validate("hi", {}, &account_).limit, 1000u);
  EXPECT_EQ(server_->count("GET /api/v2/instance"), 1u) << "cached per adapter";
  const auto got = server_->received();
  EXPECT_FALSE(got.at(0).header("Authorization")) << "the instance endpoint is public";
}

TEST_F(MastodonAdapterTest, UnreachableInstanceFallsBackToDefaults) {
  server_->script("GET /api/v2/instance", {{503, "<html>down</html>", {}, 0ms}});
  EXPECT_EQ(adapter_->capabilities(&account_).max_length, 500u);
}

TEST_F(MastodonAdapterTest, ValidateUsesTheInstanceRules) {
  server_->set_max_characters(100);
  const auto ok = adapter_->validate(repeat("a", 100), {}, &account_);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.length, 100u);
  const auto over = adapter_->validate(repeat("a", 101), {}, &account_);
  EXPECT_THAT(over.problems, ElementsAre("text is 101 characters; mastodon allows 100"));
  // Without an account: Mastodon's default.
  EXPECT_TRUE(adapter_->validate(repeat("a", 101), {}, nullptr).ok());
  // URLs count 23 whatever their length.
  EXPECT_TRUE(adapter_->validate(repeat("a", 76) + " https://example.com/" + repeat("p", 80), {}, &account_).ok());

  // The content warning counts toward the limit.
  account_.options["cw"] = repeat("c", 10);
  EXPECT_THAT(adapter_->validate(repeat("a", 95), {}, &account_).problems,
              ElementsAre("text is 95 characters plus 10 of content warning; mastodon allows 100"));
}

TEST_F(MastodonAdapterTest, ValidateMediaAgainstTheInstance) {
  server_->set_max_media_attachments(2);
  EXPECT_TRUE(adapter_->validate("", {"a.png"}, &account_).ok()) << "media-only statuses need no text";
  EXPECT_THAT(adapter_->validate("", {}, &account_).problems, ElementsAre("text is empty"));
  EXPECT_THAT(adapter_->validate("x", {"a.png", "b.png", "c.png"}, &account_).problems,
              ElementsAre("3 media files; mastodon allows 2 per status"));
  EXPECT_THAT(adapter_->validate("x", {"/tmp/notes.txt"}, &account_).problems,
              ElementsAre(HasSubstr("'notes.txt': unknown file type")));
}

TEST_F(MastodonAdapterTest, ValidateCountsThreadPartsWhenThreadingIsOn) {
  server_->set_max_characters(100);
  account_.options["thread"] = "auto";
  const auto r = adapter_->validate(repeat("word ", 50), {}, &account_);
  EXPECT_TRUE(r.ok()) << r.problems.at(0);
  EXPECT_EQ(r.parts, 3);
  account_.options["thread"] = "never";
  EXPECT_FALSE(adapter_->validate(repeat("word ", 50), {}, &account_).ok());
}

TEST_F(MastodonAdapterTest, PublishesOneStatus) {
  const PublishResult r = adapter_->publish(request("Release 1.2 is out: https://example.com/notes", "key-1"));
  const auto statuses = server_->statuses();
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(r.remote_ids, std::vector<std::string>{statuses[0].id});
  EXPECT_EQ(r.remote_url, statuses[0].url);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(statuses[0].text, "Release 1.2 is out: https://example.com/notes");
  EXPECT_EQ(statuses[0].visibility, "public");
  EXPECT_EQ(statuses[0].idempotency_key, "key-1");

  {
    const auto got = server_->received();
    const auto it = std::find_if(got.begin(), got.end(), [](const auto& g) { return g.path == "/api/v1/statuses"; });
    ASSERT_NE(it, got.end());
    EXPECT_EQ(it->header("Authorization"), "Bearer test-token");
    EXPECT_EQ(it->header("Idempotency-Key"), "key-1");
    EXPECT_EQ(it->header("Content-Type"), "application/json");
    EXPECT_EQ(it->body, R"({"status":"Release 1.2 is out: https://example.com/notes","visibility":"public"})");
  }
}

TEST_F(MastodonAdapterTest, VisibilityContentWarningAndLanguage) {
  account_.options = {{"instance", server_->base_url()}, {"visibility", "unlisted"}, {"language", "de"},
                      {"cw", "Spoiler: Staffel 2"}};
  adapter_->configure_account(account_.options);
  adapter_->publish(request("Hallo Welt", "k-a"));
  // A target option wins over the account's.
  target_.options = {{"visibility", "private"}};
  adapter_->publish(request("Nur für Follower", "k-b"));
  const auto s = server_->statuses();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].visibility, "unlisted");
  EXPECT_EQ(s[0].language, "de");
  EXPECT_EQ(s[0].spoiler_text, "Spoiler: Staffel 2");
  EXPECT_EQ(s[1].visibility, "private");
  EXPECT_EQ(s[1].spoiler_text, "Spoiler: Staffel 2");
}

TEST_F(MastodonAdapterTest, MediaProcessedSynchronously) {
  post_.media = {media_file("cat.png")};
  adapter_->publish(request("a cat"));
  const auto media = server_->media();
  ASSERT_EQ(media.size(), 1u);
  EXPECT_EQ(media[0].file_name, "cat.png");
  EXPECT_EQ(media[0].content_type, "image/png");
  EXPECT_EQ(media[0].size, 26u);
  EXPECT_EQ(media[0].description, "");
  EXPECT_EQ(server_->statuses().at(0).media_ids, std::vector<std::string>{media[0].id});
  EXPECT_EQ(server_->count("GET /api/v1/media/" + media[0].id), 0u);
}

TEST_F(MastodonAdapterTest, MediaProcessedAsynchronouslyIsPolledUntilReady) {
  server_->set_media_processing_polls(2);  // 202, then 206, 206, 200
  post_.media = {media_file("clip.mp4"), media_file("still.jpg")};
  adapter_->publish(request("two files"));
  const auto media = server_->media();
  ASSERT_EQ(media.size(), 2u);
  EXPECT_EQ(media[0].content_type, "video/mp4");
  EXPECT_EQ(server_->count("GET /api/v1/media/" + media[0].id), 3u);
  EXPECT_EQ(server_->count("GET /api/v1/media/" + media[1].id), 3u);
  EXPECT_EQ(server_->statuses().at(0).media_ids, (std::vector<std::string>{media[0].id, media[1].id}));
}

TEST_F(MastodonAdapterTest, MediaProcessingFailureIsReported) {
  server_->set_media_processing_polls(1);
  server_->script("GET /api/v1/media/" + std::to_string(110'000'000'000'000'001LL),
                  {{422, R"({"error":"Validation failed: File could not be processed"})", {}, 0ms}});
  post_.media = {media_file("broken.mp4")};
  const Error e = publish_error();
  EXPECT_EQ(e.kind(), ErrorKind::validation);
  EXPECT_THAT(e.what(), HasSubstr("media broken.mp4"));
  EXPECT_TRUE(server_->statuses().empty());
}

TEST_F(MastodonAdapterTest, ThreadOfThreeRepliesToThePreviousPart) {
  server_->set_max_characters(100);
  target_.options = {{"thread", "auto"}};
  const std::string text = repeat("Sentence number one is here. ", 9);  // 261 characters
  const PublishResult r = adapter_->publish(request(text, "tk"));
  const auto s = server_->statuses();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(r.remote_ids, (std::vector<std::string>{s[0].id, s[1].id, s[2].id}));
  EXPECT_EQ(r.remote_url, s[0].url);
  EXPECT_EQ(s[0].in_reply_to_id, "");
  EXPECT_EQ(s[1].in_reply_to_id, s[0].id);
  EXPECT_EQ(s[2].in_reply_to_id, s[1].id);
  EXPECT_EQ(s[0].idempotency_key, "tk:1");
  EXPECT_EQ(s[2].idempotency_key, "tk:3");
  EXPECT_THAT(s[0].text, ::testing::EndsWith(" (1/3)"));
  EXPECT_THAT(s[2].text, ::testing::EndsWith(" (3/3)"));
  for (const auto& part : s) EXPECT_LE(part.text.size(), 100u);
}

TEST_F(MastodonAdapterTest, MediaGoesOnTheFirstPartOfAThread) {
  server_->set_max_characters(60);
  target_.options = {{"thread", "auto"}, {"thread_counter", false}};
  post_.media = {media_file("a.png")};
  adapter_->publish(request(repeat("lorem ipsum ", 15)));
  const auto s = server_->statuses();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].media_ids.size(), 1u);
  EXPECT_TRUE(s[1].media_ids.empty());
  EXPECT_EQ(s[0].text.find('('), std::string::npos) << "no counter";
}

TEST_F(MastodonAdapterTest, TooLongWithoutThreadingIsRejectedBeforeSending) {
  server_->set_max_characters(50);
  const Error e = publish_error(repeat("a", 51));
  EXPECT_EQ(e.kind(), ErrorKind::validation);
  EXPECT_THAT(e.what(), HasSubstr("thread: auto"));
  EXPECT_EQ(server_->count("POST /api/v1/statuses"), 0u);
}

TEST_F(MastodonAdapterTest, RetryWithTheSameKeyReturnsTheSameStatus) {
  const PublishResult first = adapter_->publish(request("only once", "same-key"));
  const PublishResult again = adapter_->publish(request("only once", "same-key"));
  EXPECT_EQ(first.remote_ids, again.remote_ids);
  EXPECT_EQ(server_->statuses().size(), 1u);
  EXPECT_EQ(server_->count("POST /api/v1/statuses"), 2u);
}

TEST_F(MastodonAdapterTest, LostReplyIsUnknownAndTheRetryCreatesNothingNew) {
  config_.daemon.http_timeout = 400ms;
  // The instance creates the status but the answer comes too late.
  server_->script("POST /api/v1/statuses", {{0, "", {}, 2s}});
  const Error e = publish_error("lost reply", "k-lost");
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_TRUE(e.outcome_unknown);
  ASSERT_EQ(server_->statuses().size(), 1u);
  config_.daemon.http_timeout = 3s;
  const PublishResult r = adapter_->publish(request("lost reply", "k-lost"));
  EXPECT_EQ(r.remote_ids, std::vector<std::string>{server_->statuses().at(0).id});
  EXPECT_EQ(server_->statuses().size(), 1u);
}

TEST_F(MastodonAdapterTest, FailedThreadPartIsRetriedWithoutDuplicatingEarlierParts) {
  server_->set_max_characters(100);
  target_.options = {{"thread", "auto"}};
  const std::string text = repeat("Sentence number one is here. ", 9);
  server_->script("POST /api/v1/statuses", {{0, "", {}, 0ms}, {500, R"({"error":"boom"})", {}, 0ms}});
  const Error e = publish_error(text, "th");
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_THAT(e.what(), HasSubstr("thread part 2/3"));
  const auto first = server_->statuses();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_THAT(e.what(), HasSubstr("already published: status " + first[0].id));

  const PublishResult r = adapter_->publish(request(text, "th"));
  const auto s = server_->statuses();
  ASSERT_EQ(s.size(), 3u) << "part 1 came back from its key, not as a duplicate";
  EXPECT_EQ(r.remote_ids.front(), first[0].id);
  EXPECT_EQ(s[1].in_reply_to_id, first[0].id);
}

// Past the hour Mastodon keeps idempotency keys, only the record of the
// parts already live keeps a retry from posting them again.
TEST_F(MastodonAdapterTest, RecordedThreadPartsAreNotSentAgain) {
  server_->set_max_characters(100);
  target_.options = {{"thread", "auto"}};
  const std::string text = repeat("Sentence number one is here. ", 9);
  server_->script("POST /api/v1/statuses", {{0, "", {}, 0ms}, {0, "", {}, 0ms}, {503, R"({"error":"busy"})", {}, 0ms}});
  std::vector<std::vector<std::string>> recorded;
  PublishRequest first = request(text, "th");
  first.record_parts = [&](const std::vector<std::string>& ids) { recorded.push_back(ids); };
  EXPECT_THROW(adapter_->publish(first), Error);
  const auto live = server_->statuses();
  ASSERT_EQ(live.size(), 2u);
  ASSERT_EQ(recorded.size(), 2u) << "each part is recorded as it lands";
  EXPECT_EQ(recorded[1], (std::vector<std::string>{live[0].id, live[1].id}));

  // The retry uses another key (as if the instance had forgotten the first).
  target_.remote_ids = recorded.back();
  recorded.clear();
  PublishRequest retry = request(text, "th-after-an-hour");
  retry.record_parts = [&](const std::vector<std::string>& ids) { recorded.push_back(ids); };
  const PublishResult r = adapter_->publish(retry);
  const auto s = server_->statuses();
  ASSERT_EQ(s.size(), 3u) << "only the missing part was sent";
  EXPECT_EQ(s[2].in_reply_to_id, live[1].id);
  EXPECT_EQ(r.remote_ids, (std::vector<std::string>{live[0].id, live[1].id, s[2].id}));
  EXPECT_EQ(recorded.back(), r.remote_ids);
}

TEST_F(MastodonAdapterTest, InstanceRejectionIsValidation) {
  // The instance lowered its limit after the adapter read it.
  EXPECT_EQ(adapter_->capabilities(&account_).max_length, 500u);
  server_->set_max_characters(50);
  const Error e = publish_error(repeat("a", 80));
  EXPECT_EQ(e.kind(), ErrorKind::validation);
  EXPECT_EQ(e.http_status, 422);
  EXPECT_STREQ(e.what(), "mastodon:m: HTTP 422: Validation failed: Text character limit of 50 exceeded");
}

TEST_F(MastodonAdapterTest, BadTokenIsAnAuthError) {
  secrets_ = {{"access_token", "revoked"}};
  const Error e = publish_error();
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_EQ(e.http_status, 401);
  EXPECT_THAT(e.what(), HasSubstr("The access token is invalid"));
  EXPECT_THAT(e.what(), HasSubstr("re-link"));
  EXPECT_EQ(std::string(e.what()).find("revoked"), std::string::npos);

  secrets_ = nlohmann::json::object();
  EXPECT_EQ(publish_error().kind(), ErrorKind::auth);
}

TEST_F(MastodonAdapterTest, RateLimitedCarriesTheResetDelay) {
  server_->script("POST /api/v1/statuses", {MastodonServer::rate_limited(120s)});
  const Error e = publish_error();
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.http_status, 429);
  ASSERT_TRUE(e.retry_after);
  EXPECT_GE(*e.retry_after, 118s);
  EXPECT_LE(*e.retry_after, 121s);
  EXPECT_TRUE(server_->statuses().empty());
}

TEST_F(MastodonAdapterTest, ServerErrorIsTransient) {
  server_->script("POST /api/v1/statuses", {{500, R"({"error":"We're sorry, but something went wrong"})", {}, 0ms}});
  const Error e = publish_error();
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.http_status, 500);
  EXPECT_THAT(e.what(), HasSubstr("something went wrong"));
}

TEST_F(MastodonAdapterTest, FindRecentListsTheAccountsStatusesNewestFirst) {
  adapter_->publish(request("first", "a"));
  adapter_->publish(request("second & <b>bold</b>\nline", "b"));
  adapter_->publish(request("third", "c"));
  const auto recent = adapter_->find_recent(account_, secrets_, 2);
  ASSERT_EQ(recent.size(), 2u);
  const auto s = server_->statuses();
  EXPECT_EQ(recent[0].id, s[2].id);
  EXPECT_EQ(recent[0].text, "third");
  EXPECT_EQ(recent[1].text, "second & <b>bold</b>\nline");
  EXPECT_EQ(recent[1].url, s[1].url);
  EXPECT_GT(model::to_millis(recent[0].created_at), 0);
  EXPECT_EQ(server_->count("GET /api/v1/accounts/verify_credentials"), 1u);
  EXPECT_EQ(server_->received().back().target, "/api/v1/accounts/1/statuses?limit=2");
}

TEST_F(MastodonAdapterTest, PreviewIsTheExactRequestWithTheTokenHidden) {
  account_.options["cw"] = "cw";
  const Preview p = adapter_->preview(request("hello", "dry-run"));
  EXPECT_EQ(p.method, "POST");
  EXPECT_EQ(p.url, server_->base_url() + "/api/v1/statuses");
  EXPECT_THAT(p.headers, ::testing::Contains(std::pair<std::string, std::string>{"Authorization", "Bearer ***"}));
  EXPECT_THAT(p.headers, ::testing::Contains(std::pair<std::string, std::string>{"Idempotency-Key", "dry-run"}));
  EXPECT_EQ(p.body, R"({"status":"hello","visibility":"public","spoiler_text":"cw"})");
  EXPECT_EQ(p.to_json().dump().find("test-token"), std::string::npos);
  EXPECT_EQ(server_->count("POST /api/v1/statuses"), 0u);

  post_.media = {"/photos/cat.png"};
  EXPECT_THAT(adapter_->preview(request("hello")).body, HasSubstr(R"("media_ids":["<id of uploaded cat.png>"])"));
}

// The fake itself, where adapters never take it: refusing unprocessed media
// and replies to statuses that do not exist.
TEST_F(MastodonAdapterTest, FakeRefusesUnprocessedMediaAndUnknownReplies) {
  server_->set_media_processing_polls(5);
  http::Request upload;
  upload.method = "POST";
  upload.url = server_->base_url() + "/api/v2/media";
  const Multipart form = media_body("v.mp4", "video/mp4", "bytes", "alt", "B0UND");
  upload.headers = {{"Authorization", "Bearer test-token"}, {"Content-Type", form.content_type}};
  upload.body = form.body;
  const http::Response up = http_->send(upload);
  ASSERT_EQ(up.status, 202);
  const Media m = parse_media(up.body);
  EXPECT_FALSE(m.processed());
  EXPECT_EQ(server_->media().at(0).description, "alt");

  http::Request post;
  post.method = "POST";
  post.url = server_->base_url() + "/api/v1/statuses";
  post.headers = {{"Authorization", "Bearer test-token"}, {"Content-Type", "application/json"}};
  StatusParams params;
  params.status = "x";
  params.media_ids = {m.id};
  post.body = status_body(params);
  const http::Response early = http_->send(post);
  EXPECT_EQ(early.status, 422);
  EXPECT_THAT(error_message(early.body), HasSubstr("not finished processing"));

  params.media_ids.clear();
  params.in_reply_to_id = "999";
  post.body = status_body(params);
  const http::Response orphan = http_->send(post);
  EXPECT_EQ(orphan.status, 404);
  EXPECT_TRUE(server_->statuses().empty());
}

}  // namespace
}  // namespace multivio::platforms::mastodon
