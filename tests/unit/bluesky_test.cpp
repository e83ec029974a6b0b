// SPDX-License-Identifier: MIT
// The Bluesky wire layer on literal payloads, then the adapter against the
// fake PDS (tests/fakes/bluesky_server).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/config/config.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/platforms/bluesky/adapter.hpp"
#include "common/platforms/bluesky/wire.hpp"
#include "common/platforms/platform.hpp"
#include "tests/fakes/bluesky_server.hpp"

namespace multivio::platforms::bluesky {
namespace {

using namespace std::chrono_literals;
using fakes::BlueskyServer;
namespace fs = std::filesystem;

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// Enough of each format for sniffing and dimensions; no pixel data.
std::string png(std::uint32_t w, std::uint32_t h) {
  return std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + "IHDR" + be32(w) + be32(h) +
         std::string("\x08\x06\0\0\0", 5) + be32(0) + be32(0) + "IEND" + be32(0xAE426082);
}
std::string jpeg(std::uint16_t w, std::uint16_t h) {
  std::string s("\xFF\xD8", 2);
  s += std::string("\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);  // APP0
  s += std::string("\xFF\xC0\x00\x11\x08", 5);
  s += {static_cast<char>(h >> 8), static_cast<char>(h), static_cast<char>(w >> 8), static_cast<char>(w)};
  s += std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10);
  return s + std::string("\xFF\xD9", 2);
}

std::string make_jwt(const nlohmann::json& payload) {
  auto b64url = [](std::string s) {
    s = crypto::base64_encode(s);
    std::replace(s.begin(), s.end(), '+', '-');
    std::replace(s.begin(), s.end(), '/', '_');
    while (!s.empty() && s.back() == '=') s.pop_back();
    return s;
  };
  return b64url(R"({"alg":"HS256"})") + "." + b64url(payload.dump()) + ".sig";
}

http::Response response(int status, std::string body, http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

// ---- Record keys ----

TEST(BlueskyWire, TidEncodingMatchesTheSpec) {
  EXPECT_EQ(encode_tid(0), "2222222222222");
  // atproto TID examples: timestamp 1724171495793000 us with clock ids 512 and 816.
  EXPECT_EQ(encode_tid((std::uint64_t{1724171495793000} << 10) | 512), "3l25zusnsfck2");
  EXPECT_EQ(encode_tid((std::uint64_t{1724171495793000} << 10) | 816), "3l25zusnsfctk");
  EXPECT_EQ(decode_tid("3l25zusnsfctk"), (std::uint64_t{1724171495793000} << 10) | 816);
  EXPECT_TRUE(is_tid("3jzfcijpj2z2a"));
  EXPECT_FALSE(is_tid("3jzfcijpj2z2"));    // 12 characters
  EXPECT_FALSE(is_tid("3jzfcijpj2z2a2"));  // 14
  EXPECT_FALSE(is_tid("kjzfcijpj2z2a"));   // top bit set
  EXPECT_FALSE(is_tid("3jzfcijpj2z1a"));   // '1' is not in the alphabet
  EXPECT_FALSE(is_tid("3JZFCIJPJ2Z2A"));
  // The top bit never leaks into the encoding.
  EXPECT_TRUE(is_tid(encode_tid(~std::uint64_t{0})));
}

TEST(BlueskyWire, RecordKeysAreDeterministicValidAndAnchoredToTheirPost) {
  const model::Timestamp created = model::from_millis(1'767'225'600'000);  // 2026-01-01T00:00:00Z
  const std::string a = rkey_for("target-key-1", created);
  EXPECT_TRUE(is_tid(a)) << a;
  EXPECT_EQ(rkey_for("target-key-1", created), a) << "a retry must use the same record key";
  EXPECT_NE(rkey_for("target-key-2", created), a);
  EXPECT_NE(rkey_for("target-key-1:1", created), a);

  const std::uint64_t us = *decode_tid(a) >> 10;
  EXPECT_GE(us, 1'767'225'600'000'000u);
  EXPECT_LT(us, 1'767'225'600'001'000u) << "the hash only picks the microsecond within the millisecond";
  // Parts of a thread, one millisecond apart, sort in order.
  EXPECT_LT(a, rkey_for("target-key-1:1", created + 1ms));
  EXPECT_LT(rkey_for("target-key-1:1", created + 1ms), rkey_for("target-key-1:2", created + 2ms));
}

// ---- Facets ----

std::size_t bytes_at(const std::string& text, std::string_view needle) {
  const auto pos = text.find(needle);
  EXPECT_NE(pos, std::string::npos) << needle;
  return pos;
}

TEST(BlueskyWire, FacetOffsetsAreUtf8BytesAfterMultiByteText) {
  // "é" is 2 bytes, the family emoji (ZWJ sequence) 18, "日本語" 9.
  const std::string text =
      "Café 👩‍👩‍👧 née: see https://example.com/a?b=1, ask @alice.bsky.social. #日本語 #tag2!";
  const auto facets = find_facets(text);
  ASSERT_EQ(facets.size(), 4u);

  EXPECT_EQ(facets[0].kind, FacetKind::link);
  EXPECT_EQ(facets[0].byte_start, bytes_at(text, "https://"));
  EXPECT_EQ(facets[0].byte_end, bytes_at(text, ", ask"));  // the comma is not part of the URL
  EXPECT_EQ(facets[0].value, "https://example.com/a?b=1");

  EXPECT_EQ(facets[1].kind, FacetKind::mention);
  EXPECT_EQ(facets[1].byte_start, bytes_at(text, "@alice"));
  EXPECT_EQ(facets[1].byte_end, bytes_at(text, ". #"));  // sentence dot excluded
  EXPECT_EQ(facets[1].value, "alice.bsky.social");

  EXPECT_EQ(facets[2].kind, FacetKind::tag);
  EXPECT_EQ(facets[2].byte_start, bytes_at(text, "#日本語"));
  EXPECT_EQ(facets[2].byte_end, facets[2].byte_start + 1 + 9);
  EXPECT_EQ(facets[2].value, "日本語");

  EXPECT_EQ(facets[3].value, "tag2");  // "!" dropped
  EXPECT_EQ(facets[3].byte_end, text.size() - 1);

  // Every offset falls on a UTF-8 boundary.
  for (const auto& f : facets) {
    for (auto off : {f.byte_start, f.byte_end}) {
      ASSERT_TRUE(off == text.size() || (static_cast<unsigned char>(text[off]) & 0xC0) != 0x80) << off;
    }
  }
}

TEST(BlueskyWire, FacetDetectionEdges) {
  auto kinds = [](std::string_view text) {
    std::string out;
    for (const auto& f : find_facets(text)) {
      out += (out.empty() ? "" : ",") +
             std::string(f.kind == FacetKind::link      ? "link:"
                         : f.kind == FacetKind::mention ? "mention:"
                                                        : "tag:") +
             f.value;
    }
    return out;
  };
  EXPECT_EQ(kinds("docs at example.com/docs."), "link:https://example.com/docs");
  EXPECT_EQ(kinds("HTTPS://Example.com x"), "link:HTTPS://Example.com");
  EXPECT_EQ(kinds("see https://example.com/#not-a-tag"), "link:https://example.com/#not-a-tag");
  EXPECT_EQ(kinds("mail me@example.com"), "");  // neither a mention nor a link
  EXPECT_EQ(kinds("@alice alone"), "");         // not a domain
  EXPECT_EQ(kinds("(@bob.test)"), "mention:bob.test");
  EXPECT_EQ(kinds("@bob.test_x"), "");
  EXPECT_EQ(kinds("#123 #1a #️⃣ x#tag"), "tag:1a");
  EXPECT_EQ(kinds("＃タグ。"), "tag:タグ");  // full-width sign, ideographic full stop dropped
  EXPECT_EQ(kinds("#a#b"), "tag:a#b");
  EXPECT_EQ(kinds("# alone"), "");
  EXPECT_EQ(kinds("#" + std::string(65, 'x')), "") << "over 64 graphemes";
  EXPECT_EQ(kinds("#" + std::string(64, 'x')), "tag:" + std::string(64, 'x'));
}

TEST(BlueskyWire, FacetJsonShapes) {
  const FacetSpan link{FacetKind::link, 6, 15, "https://example.com"};
  EXPECT_EQ(
      facet_json(link).dump(),
      R"({"index":{"byteStart":6,"byteEnd":15},"features":[{"$type":"app.bsky.richtext.facet#link","uri":"https://example.com"}]})");
  EXPECT_EQ(facet_json({FacetKind::mention, 0, 9, "bob.test"}, "did:plc:bob")["features"][0].dump(),
            R"({"$type":"app.bsky.richtext.facet#mention","did":"did:plc:bob"})");
  EXPECT_EQ(facet_json({FacetKind::tag, 0, 4, "tag"})["features"][0]["tag"], "tag");
}

TEST(BlueskyWire, Handles) {
  EXPECT_TRUE(is_handle("alice.bsky.social"));
  EXPECT_TRUE(is_handle("a-b.example.com"));
  EXPECT_FALSE(is_handle("alice"));
  EXPECT_FALSE(is_handle("-a.example.com"));
  EXPECT_FALSE(is_handle("a..com"));
  EXPECT_FALSE(is_handle("alice.123"));
  EXPECT_FALSE(is_handle("al_ice.com"));
}

// ---- Sessions and errors ----

TEST(BlueskyWire, SessionsAndJwtExpiry) {
  const auto s = parse_session(
      R"({"accessJwt":"a.b.c","refreshJwt":"d.e.f","handle":"alice.test","did":"did:plc:abc","active":true})");
  EXPECT_EQ(s.access_jwt, "a.b.c");
  EXPECT_EQ(s.refresh_jwt, "d.e.f");
  EXPECT_EQ(s.did, "did:plc:abc");
  EXPECT_EQ(s.handle, "alice.test");
  EXPECT_THROW(parse_session(R"({"accessJwt":"a","did":"did:plc:abc"})"), Error);
  EXPECT_THROW(parse_session("<html>"), Error);

  EXPECT_EQ(jwt_expiry(make_jwt({{"exp", 1767225600}, {"sub", "did:plc:abc"}})), std::chrono::sys_seconds{1767225600s});
  EXPECT_EQ(jwt_expiry(make_jwt({{"sub", "x"}})), std::nullopt);
  EXPECT_EQ(jwt_expiry("not-a-jwt"), std::nullopt);
  EXPECT_EQ(jwt_expiry("a.!!!.c"), std::nullopt);
}

TEST(BlueskyWire, ErrorClassification) {
  const auto now = std::chrono::system_clock::time_point{1'800'000'000s};
  const auto expired = response(400, R"({"error":"ExpiredToken","message":"Token has expired"})");
  EXPECT_TRUE(is_expired_token(expired));
  Error e = classify_xrpc(expired, "bluesky:main: createRecord", now);
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_EQ(std::string(e.what()), "bluesky:main: createRecord: HTTP 400 ExpiredToken: Token has expired");
  EXPECT_EQ(e.http_status, 400);

  EXPECT_FALSE(is_expired_token(response(401, R"({"error":"ExpiredToken"})")));
  EXPECT_EQ(
      classify_xrpc(response(401, R"({"error":"AuthMissing","message":"Authentication Required"})"), "c", now).kind(),
      ErrorKind::auth);
  EXPECT_EQ(classify_xrpc(response(400, R"({"error":"InvalidToken"})"), "c", now).kind(), ErrorKind::auth);
  EXPECT_EQ(classify_xrpc(response(400, R"({"error":"InvalidRecord","message":"x"})"), "c", now).kind(),
            ErrorKind::validation);
  EXPECT_EQ(classify_xrpc(response(400, R"({"error":"BlobTooLarge"})"), "c", now).kind(), ErrorKind::validation);
  EXPECT_EQ(classify_xrpc(response(400, R"({"error":"InvalidRequest","message":"x"})"), "c", now).kind(),
            ErrorKind::permanent);
  EXPECT_EQ(classify_xrpc(response(502, "<html>bad gateway</html>"), "c", now).kind(), ErrorKind::transient);
  EXPECT_EQ(std::string(classify_xrpc(response(502, "<html>bad\ngateway</html>"), "c", now).what()),
            "c: HTTP 502: <html>bad gateway</html>");

  const Error limited = classify_xrpc(
      response(429, R"({"error":"RateLimitExceeded","message":"Rate Limit Exceeded"})",
               {{"ratelimit-limit", "3000"}, {"ratelimit-remaining", "0"}, {"ratelimit-reset", "1800000042"}}),
      "c", now);
  EXPECT_EQ(limited.kind(), ErrorKind::transient);
  EXPECT_EQ(limited.retry_after, 42s);
  // Retry-After and RateLimit-Reset together: the later one wins.
  EXPECT_EQ(classify_xrpc(response(429, "{}", {{"Retry-After", "60"}, {"RateLimit-Reset", "1800000042"}}), "c", now)
                .retry_after,
            60s);
  EXPECT_EQ(classify_xrpc(response(429, "{}", {{"RateLimit-Reset", "1700000000"}}), "c", now).retry_after, 0s);
  // Sent on every answer, the window's end is no reason to wait after a 5xx.
  EXPECT_EQ(classify_xrpc(response(503, "{}", {{"RateLimit-Reset", "1800003600"}}), "c", now).retry_after,
            std::nullopt);
  EXPECT_EQ(classify_xrpc(response(503, "{}", {{"Retry-After", "30"}, {"RateLimit-Reset", "1800003600"}}), "c", now)
                .retry_after,
            30s);
}

// ---- Records, blobs, times ----

TEST(BlueskyWire, RecordsAndUrls) {
  const auto ref = parse_strong_ref(
      R"({"uri":"at://did:plc:abc/app.bsky.feed.post/3l25zusnsfctk","cid":"bafyreiabc","commit":{"cid":"x","rev":"y"}})");
  EXPECT_EQ(ref.cid, "bafyreiabc");
  EXPECT_EQ(rkey_of(ref.uri), "3l25zusnsfctk");
  EXPECT_EQ(post_url("alice.test", "3l25zusnsfctk"), "https://bsky.app/profile/alice.test/post/3l25zusnsfctk");
  EXPECT_THROW(parse_strong_ref(R"({"uri":"https://x"})"), Error);

  const Json blob =
      parse_blob(R"({"blob":{"$type":"blob","ref":{"$link":"bafkrei"},"mimeType":"image/png","size":9}})");
  EXPECT_EQ(blob["ref"]["$link"], "bafkrei");
  EXPECT_THROW(parse_blob("{}"), Error);

  const auto posts = parse_records(R"({"records":[
      {"uri":"at://did:plc:a/app.bsky.feed.post/3aaaaaaaaaaa2","cid":"c1","value":{"text":"old","createdAt":"2026-01-01T00:00:00Z"}},
      {"uri":"at://did:plc:a/app.bsky.feed.post/3aaaaaaaaaaa3","cid":"c2","value":{"text":"new","createdAt":"2026-01-01T02:00:00.500+01:00"}},
      {"uri":"bogus"}],"cursor":"x"})",
                                   "alice.test");
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].text, "new");
  EXPECT_EQ(posts[0].url, "https://bsky.app/profile/alice.test/post/3aaaaaaaaaaa3");
  EXPECT_EQ(model::format_utc(posts[0].created_at), "2026-01-01T01:00:00.500Z");
  EXPECT_EQ(posts[1].id, "at://did:plc:a/app.bsky.feed.post/3aaaaaaaaaaa2");
}

TEST(BlueskyWire, Datetimes) {
  const auto t = std::chrono::system_clock::time_point{1'767'225'600'123ms};
  EXPECT_EQ(format_datetime(t), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(parse_datetime("2026-01-01T00:00:00.123Z"), model::from_millis(1'767'225'600'123));
  EXPECT_EQ(parse_datetime("2026-01-01T01:00:00-01:00"), model::from_millis(1'767'232'800'000));
  EXPECT_EQ(parse_datetime("2026-01-01T00:00:00"), std::nullopt) << "a zone is required";
  EXPECT_EQ(parse_datetime("2026-02-30T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_datetime(""), std::nullopt);
}

TEST(BlueskyWire, ImagesBySniffingAndDimensions) {
  EXPECT_EQ(sniff_image(png(640, 480)), "image/png");
  EXPECT_EQ(image_dimensions(png(640, 480)), std::make_pair(640u, 480u));
  EXPECT_EQ(sniff_image(jpeg(1200, 800)), "image/jpeg");
  EXPECT_EQ(image_dimensions(jpeg(1200, 800)), std::make_pair(1200u, 800u));
  const std::string gif = std::string("GIF89a") + std::string("\x20\x03\x58\x02", 4) + std::string(8, '\0');
  EXPECT_EQ(sniff_image(gif), "image/gif");
  EXPECT_EQ(image_dimensions(gif), std::make_pair(800u, 600u));
  std::string webp = std::string("RIFF\0\0\0\0WEBPVP8X", 16) + std::string("\x0a\0\0\0\0\0\0\0", 8) +
                     std::string("\x7f\x02\x00\xdf\x01\x00", 6);
  EXPECT_EQ(sniff_image(webp), "image/webp");
  EXPECT_EQ(image_dimensions(webp), std::make_pair(640u, 480u));
  EXPECT_EQ(sniff_image("%PDF-1.7"), "");
  EXPECT_EQ(sniff_image("hello world"), "");
  EXPECT_EQ(image_dimensions("GIF89a"), std::nullopt);
}

TEST(BlueskyWire, RecordBodies) {
  PostRecord p;
  p.text = "hi";
  p.created_at = "2026-01-01T00:00:00.000Z";
  EXPECT_EQ(make_record(p).dump(),
            R"({"$type":"app.bsky.feed.post","text":"hi","createdAt":"2026-01-01T00:00:00.000Z"})");
  p.langs = {"en"};
  p.root = StrongRef{"at://r", "c1"};
  p.parent = StrongRef{"at://p", "c2"};
  const Json body = create_record_body("did:plc:abc", "3l25zusnsfctk", make_record(p));
  EXPECT_EQ(
      body.dump(),
      R"({"repo":"did:plc:abc","collection":"app.bsky.feed.post","rkey":"3l25zusnsfctk","record":{"$type":"app.bsky.feed.post","text":"hi","createdAt":"2026-01-01T00:00:00.000Z","langs":["en"],"reply":{"root":{"uri":"at://r","cid":"c1"},"parent":{"uri":"at://p","cid":"c2"}}}})");
  EXPECT_FALSE(body.contains("validate"));
}

// ---- The adapter against the fake PDS ----

class BlueskyAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<BlueskyServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    did_ = server_->add_account("alice.test", "abcd-efgh-ijkl-mnop");
    server_->add_handle("bob.test", "did:plc:bobbobbobbobbobbobbobbob");
    config_.daemon.http_timeout = 5s;
    config_.daemon.connect_timeout = 2s;
    http_ = http::make_client();
    adapter_ = fresh();

    account_.platform = "bluesky";
    account_.name = "main";
    account_.options = {{"handle", "@Alice.Test"}, {"pds", server_->base_url() + "/"}};
    adapter_->configure_account(account_.options);
    secrets_ = {{"app_password", "abcd-efgh-ijkl-mnop"}};

    post_.id = 7;
    post_.created_at = model::from_millis(1'767'225'600'000);
    target_.id = 9;
    target_.post_id = 7;

    std::string tmpl = (fs::temp_directory_path() / "multivio-bsky-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Adapter> fresh() { return make_adapter("bluesky", Context{*http_, config_}); }

  PublishRequest request(const std::string& text, const std::string& key = "key-1") {
    text_ = text;
    key_ = key;
    return PublishRequest{post_, target_, account_, secrets_, text_, key_};
  }

  Error publish_error(Adapter& adapter, const std::string& text) {
    try {
      adapter.publish(request(text));
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "publish did not throw";
    return Error(ErrorKind::permanent, "none");
  }

  std::string write_file(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::unique_ptr<BlueskyServer> server_;
  std::string did_;
  config::Config config_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<Adapter> adapter_;
  model::Account account_;
  model::Post post_;
  model::Target target_;
  nlohmann::json secrets_;
  std::string text_, key_, dir_;
};

TEST_F(BlueskyAdapterTest, ConfigureAccountNormalisesAndRejects) {
  EXPECT_EQ(account_.options["handle"], "alice.test");
  EXPECT_EQ(account_.options["pds"], server_->base_url());
  nlohmann::json o = {{"handle", "me.bsky.social"}, {"langs", "en, pt-BR"}};
  adapter_->configure_account(o);
  EXPECT_EQ(o["pds"], "https://bsky.social");
  EXPECT_EQ(o["langs"], nlohmann::json({"en", "pt-BR"}));

  auto usage = [&](nlohmann::json opts) {
    try {
      adapter_->configure_account(opts);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
      return std::string(e.what());
    }
    ADD_FAILURE() << "accepted " << opts.dump();
    return std::string();
  };
  EXPECT_NE(usage(nlohmann::json::object()).find("'handle' is required"), std::string::npos);
  EXPECT_NE(usage({{"handle", "alice"}}).find("not a valid handle"), std::string::npos);
  EXPECT_NE(usage({{"handle", "a.test"}, {"pds", "ftp://x"}}).find("http"), std::string::npos);
  EXPECT_NE(usage({{"handle", "a.test"}, {"langs", {"en", "de", "fr", "it"}}}).find("at most 3"), std::string::npos);
  EXPECT_NE(usage({{"handle", "a.test"}, {"langs", "english!"}}).find("language tag"), std::string::npos);
  EXPECT_NE(usage({{"handle", "a.test"}, {"instance", "x"}}).find("unknown option 'instance'"), std::string::npos);
}

TEST_F(BlueskyAdapterTest, ValidateCountsGraphemesAndChecksImages) {
  EXPECT_TRUE(adapter_->validate(std::string(300, 'a'), {}, &account_).ok());
  const auto over = adapter_->validate(std::string(301, 'a'), {}, &account_);
  EXPECT_FALSE(over.ok());
  EXPECT_EQ(over.length, 301u);
  EXPECT_EQ(over.limit, 300u);
  // 300 flags are 300 graphemes but 2400 bytes: fine; 3001 bytes are not.
  std::string flags;
  for (int i = 0; i < 300; ++i) flags += "🇯🇵";
  EXPECT_TRUE(adapter_->validate(flags, {}, &account_).ok());

  const std::string ok = write_file("ok.png", png(10, 10));
  const std::string big = write_file("big.png", png(10, 10) + std::string(2'000'000, '\0'));
  const std::string pdf = write_file("doc.pdf", "%PDF-1.7 ...");
  EXPECT_TRUE(adapter_->validate("hi", {ok}, &account_).ok());
  const auto r = adapter_->validate("hi", {ok, big, pdf, dir_ + "/missing.png"}, &account_);
  ASSERT_EQ(r.problems.size(), 3u) << r.problems.size();
  EXPECT_NE(r.problems[0].find(big), std::string::npos) << r.problems[0];
  EXPECT_NE(r.problems[0].find("2,000,000"), std::string::npos) << r.problems[0];
  EXPECT_NE(r.problems[1].find("doc.pdf"), std::string::npos) << r.problems[1];
  EXPECT_NE(r.problems[2].find("missing.png"), std::string::npos) << r.problems[2];
  EXPECT_FALSE(adapter_->validate("hi", {ok, ok, ok, ok, ok}, &account_).ok());
}

TEST_F(BlueskyAdapterTest, PublishesAPostWithFacets) {
  const std::string text = "Grüße 👋 from @bob.test and @nobody.test: see example.com/docs #multivio";
  const PublishResult r = adapter_->publish(request(text));
  ASSERT_EQ(server_->records().size(), 1u);
  const auto rec = server_->records().front();
  const std::string rkey = rkey_for("key-1", post_.created_at);
  EXPECT_EQ(rec.rkey, rkey);
  EXPECT_EQ(rec.did, did_);
  EXPECT_EQ(r.remote_ids, std::vector<std::string>{rec.uri});
  EXPECT_EQ(r.remote_url, "https://bsky.app/profile/alice.test/post/" + rkey);
  EXPECT_EQ(r.http_status, 200);

  EXPECT_EQ(rec.value["text"], text);
  EXPECT_TRUE(parse_datetime(rec.value["createdAt"].get<std::string>()).has_value());
  const auto& facets = rec.value["facets"];
  ASSERT_EQ(facets.size(), 3u) << facets.dump();  // @nobody.test does not resolve: plain text
  EXPECT_EQ(facets[0]["index"]["byteStart"], text.find("@bob.test"));
  EXPECT_EQ(facets[0]["index"]["byteEnd"], text.find("@bob.test") + 9);
  EXPECT_EQ(facets[0]["features"][0]["did"], "did:plc:bobbobbobbobbobbobbobbob");
  EXPECT_EQ(facets[1]["features"][0]["uri"], "https://example.com/docs");
  EXPECT_EQ(facets[1]["index"]["byteStart"], text.find("example.com"));
  EXPECT_EQ(facets[2]["features"][0]["tag"], "multivio");
  EXPECT_EQ(facets[2]["index"]["byteEnd"], text.size());

  // One session, createRecord without `validate`, resolveHandle once per handle.
  EXPECT_EQ(server_->sessions_created(), 1);
  const auto creates = server_->received("com.atproto.repo.createRecord");
  ASSERT_EQ(creates.size(), 1u);
  EXPECT_FALSE(nlohmann::json::parse(creates[0].body).contains("validate"));
  EXPECT_TRUE(creates[0].header("Authorization").value_or("").starts_with("Bearer ey"));
  EXPECT_EQ(server_->count("com.atproto.identity.resolveHandle"), 2u);
  const auto login = server_->received("com.atproto.server.createSession").at(0);
  EXPECT_EQ(nlohmann::json::parse(login.body)["identifier"], "alice.test");
}

TEST_F(BlueskyAdapterTest, LangsFromTheAccount) {
  account_.options["langs"] = {"en", "de"};
  adapter_->publish(request("hello"));
  EXPECT_EQ(server_->records().at(0).value["langs"], nlohmann::json({"en", "de"}));
}

TEST_F(BlueskyAdapterTest, PostLanguageOverridesTheAccountLangs) {
  account_.options["langs"] = {"en", "de"};
  post_.options = {{"language", "fr"}};
  adapter_->publish(request("bonjour"));
  EXPECT_EQ(server_->records().at(0).value["langs"], nlohmann::json({"fr"}));
}

TEST_F(BlueskyAdapterTest, PublishesImagesAsBlobs) {
  post_.media = {write_file("a.png", png(640, 480)), write_file("b.jpg", jpeg(1200, 800))};
  adapter_->publish(request("two pictures"));
  const auto uploads = server_->received("com.atproto.repo.uploadBlob");
  ASSERT_EQ(uploads.size(), 2u);
  EXPECT_EQ(uploads[0].header("Content-Type"), "image/png");
  EXPECT_EQ(uploads[1].header("Content-Type"), "image/jpeg");
  EXPECT_EQ(uploads[0].body, png(640, 480));
  const auto embed = server_->records().at(0).value["embed"];
  EXPECT_EQ(embed["$type"], "app.bsky.embed.images");
  ASSERT_EQ(embed["images"].size(), 2u);
  EXPECT_EQ(embed["images"][0]["alt"], "");
  EXPECT_EQ(embed["images"][0]["aspectRatio"], nlohmann::json({{"width", 640}, {"height", 480}}));
  EXPECT_EQ(embed["images"][1]["aspectRatio"], nlohmann::json({{"width", 1200}, {"height", 800}}));
  EXPECT_EQ(embed["images"][1]["image"]["ref"]["$link"], server_->blobs().at(1).cid);
}

TEST_F(BlueskyAdapterTest, AltTextComesFromThePostOptions) {
  post_.media = {write_file("a.png", png(64, 48)), write_file("b.png", png(32, 32))};
  post_.options = {{"alt", {"Build times, last 30 days"}}};
  adapter_->publish(request("charts"));
  const auto images = server_->records().at(0).value["embed"]["images"];
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0]["alt"], "Build times, last 30 days");
  EXPECT_EQ(images[1]["alt"], "") << "no alt given for the second image";
}

TEST_F(BlueskyAdapterTest, NewSessionsAreSavedAsTheyAreIssued) {
  std::vector<nlohmann::json> saved;
  PublishRequest first = request("first", "key-a");
  first.save_secrets = [&](const nlohmann::json& s) { saved.push_back(s); };
  adapter_->publish(first);
  ASSERT_EQ(saved.size(), 1u) << "createSession's tokens are stored";
  EXPECT_EQ(saved[0]["app_password"], "abcd-efgh-ijkl-mnop") << "the rest of the secrets is kept";
  EXPECT_EQ(saved[0]["did"], did_);
  EXPECT_FALSE(saved[0].value("refresh_jwt", "").empty());

  // A fresh adapter (the next daemon run) starts from the saved session,
  // and a refresh rotates it: the new pair is saved at once.
  secrets_ = saved[0];
  auto next = fresh();
  server_->expire_access_tokens();
  PublishRequest second = request("second", "key-b");
  second.save_secrets = [&](const nlohmann::json& s) { saved.push_back(s); };
  next->publish(second);
  EXPECT_EQ(server_->sessions_created(), 1) << "no second login with the app password";
  EXPECT_EQ(server_->sessions_refreshed(), 1);
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_NE(saved[1]["refresh_jwt"], saved[0]["refresh_jwt"]) << "the rotated refresh token replaced the dead one";
}

TEST_F(BlueskyAdapterTest, CheckAccountAsksThePdsWhoTheSessionIs) {
  std::vector<nlohmann::json> saved;
  const AccountCheck check =
      adapter_->check_account(account_, secrets_, [&](const nlohmann::json& s) { saved.push_back(s); });
  EXPECT_EQ(check.handle, "alice.test");
  EXPECT_NE(check.detail.find(did_), std::string::npos) << check.detail;
  EXPECT_TRUE(check.expires_at.has_value());
  EXPECT_EQ(saved.size(), 1u);
  EXPECT_EQ(server_->received("com.atproto.server.getSession").size(), 1u);

  secrets_ = {{"app_password", "wrong"}};
  try {
    fresh()->check_account(account_, secrets_, nullptr);
    ADD_FAILURE() << "a wrong app password must not pass the check";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
  }
}

TEST_F(BlueskyAdapterTest, ValidateWithThreadAutoCountsParts) {
  std::string text;
  for (int i = 0; i < 12; ++i) text += "This sentence is one of several in a long post. ";
  EXPECT_FALSE(adapter_->validate(text, {}, &account_).ok());
  const auto r = adapter_->validate(text, {}, &account_, {{"thread", "auto"}});
  EXPECT_TRUE(r.ok()) << r.problems.front();
  EXPECT_EQ(r.parts, 2) << "576 graphemes in parts of at most 300";
}

TEST_F(BlueskyAdapterTest, TooLargeImageIsAValidationErrorAndNothingIsSent) {
  post_.media = {write_file("huge.png", png(10, 10) + std::string(2'000'000, 'x'))};
  const Error e = publish_error(*adapter_, "big one");
  EXPECT_EQ(e.kind(), ErrorKind::validation);
  EXPECT_NE(std::string(e.what()).find("huge.png"), std::string::npos) << e.what();
  EXPECT_TRUE(server_->received().empty());
}

TEST_F(BlueskyAdapterTest, LongTextWithThreadAutoBecomesASelfThread) {
  target_.options = {{"thread", "auto"}};
  std::string text;
  for (int i = 1; i <= 12; ++i) {
    text += "Sentence number " + std::to_string(i) + " of a release note with ünïcödé and #multivio in it. ";
  }
  const PublishResult r = adapter_->publish(request(text));
  const auto records = server_->records();
  ASSERT_GE(records.size(), 3u);
  ASSERT_EQ(r.remote_ids.size(), records.size());
  EXPECT_FALSE(records[0].value.contains("reply"));
  for (std::size_t i = 1; i < records.size(); ++i) {
    EXPECT_EQ(r.remote_ids[i], records[i].uri);
    EXPECT_EQ(records[i].value["reply"]["root"]["uri"], records[0].uri);
    EXPECT_EQ(records[i].value["reply"]["root"]["cid"], records[0].cid);
    EXPECT_EQ(records[i].value["reply"]["parent"]["uri"], records[i - 1].uri);
    EXPECT_EQ(records[i].rkey, rkey_for("key-1:" + std::to_string(i), post_.created_at + std::chrono::milliseconds(i)));
  }
  EXPECT_EQ(r.remote_url, "https://bsky.app/profile/alice.test/post/" + records[0].rkey);

  // Without thread: auto the same text is refused before anything is sent.
  target_.options = nlohmann::json::object();
  const auto before = server_->received().size();
  EXPECT_EQ(publish_error(*fresh(), text).kind(), ErrorKind::validation);
  EXPECT_EQ(server_->received().size(), before);
}

TEST_F(BlueskyAdapterTest, ThreadInterruptedMidwayContinuesOnRetryWithoutDuplicates) {
  target_.options = {{"thread", "auto"}};
  std::string text;
  for (int i = 1; i <= 12; ++i) text += "Part of a long announcement, sentence " + std::to_string(i) + ". ";
  // Part 1 is written but its answer is lost (502); part 2 fails before
  // anything is written (503).
  server_->script("com.atproto.repo.createRecord",
                  {{502, R"({"error":"UpstreamFailure","message":"lost"})", {}, 0ms, true},
                   {503, R"({"error":"UpstreamFailure","message":"down"})", {}, 0ms, false}});
  const Error e = publish_error(*adapter_, text);
  EXPECT_EQ(e.kind(), ErrorKind::transient) << e.what();
  EXPECT_NE(std::string(e.what()).find("thread part 2 of"), std::string::npos) << e.what();
  ASSERT_EQ(server_->records().size(), 1u) << "part 1 landed (its answer was lost), part 2 did not";

  const PublishResult r = fresh()->publish(request(text));
  const auto records = server_->records();
  EXPECT_EQ(r.remote_ids.size(), records.size());
  EXPECT_EQ(r.remote_ids.front(), records.front().uri);
  std::set<std::string> keys;
  for (const auto& rec : records) keys.insert(rec.rkey);
  EXPECT_EQ(keys.size(), records.size()) << "no part was written twice";
}

TEST_F(BlueskyAdapterTest, ExpiredAccessTokenIsRefreshedOnceThenSucceeds) {
  adapter_->publish(request("first", "key-a"));
  server_->expire_access_tokens();
  const PublishResult r = adapter_->publish(request("second", "key-b"));
  EXPECT_EQ(r.remote_ids.size(), 1u);
  EXPECT_EQ(server_->records().size(), 2u);
  EXPECT_EQ(server_->sessions_created(), 1);
  EXPECT_EQ(server_->sessions_refreshed(), 1);
  const auto creates = server_->received("com.atproto.repo.createRecord");
  ASSERT_EQ(creates.size(), 3u);
  EXPECT_EQ(creates[1].status, 400);
  EXPECT_EQ(creates[1].error, "ExpiredToken");
  EXPECT_EQ(creates[2].status, 200);
  EXPECT_NE(creates[1].header("Authorization"), creates[2].header("Authorization"));
  const auto refresh = server_->received("com.atproto.server.refreshSession").at(0);
  EXPECT_TRUE(refresh.header("Authorization").value_or("").starts_with("Bearer "));
  EXPECT_TRUE(refresh.body.empty());
}

TEST_F(BlueskyAdapterTest, A401RenewsTheSessionOnceThenIsAnAuthError) {
  const std::string refused = R"({"error":"InvalidToken","message":"Token could not be verified"})";
  server_->script("com.atproto.repo.createRecord", {{401, refused, {}, 0ms, false}, {401, refused, {}, 0ms, false}});
  const Error e = publish_error(*adapter_, "hello");
  EXPECT_EQ(e.kind(), ErrorKind::auth) << e.what();
  EXPECT_EQ(e.http_status, 401);
  EXPECT_EQ(server_->sessions_refreshed(), 1);
  EXPECT_EQ(server_->count("com.atproto.repo.createRecord"), 2u) << "one more try after renewing, no more";
  EXPECT_TRUE(server_->records().empty());
}

TEST_F(BlueskyAdapterTest, ExpiredRefreshTokenFallsBackToANewSession) {
  adapter_->publish(request("first", "key-a"));
  server_->expire_access_tokens();
  server_->expire_refresh_tokens();
  adapter_->publish(request("second", "key-b"));
  EXPECT_EQ(server_->sessions_created(), 2);
  EXPECT_EQ(server_->records().size(), 2u);
}

TEST_F(BlueskyAdapterTest, RetryWithTheSameKeyFindsTheFirstRecord) {
  const PublishResult first = adapter_->publish(request("hello once"));
  // A new attempt is a new adapter (new session) with the same target key.
  const PublishResult again = fresh()->publish(request("hello once"));
  EXPECT_EQ(again.remote_ids, first.remote_ids);
  EXPECT_EQ(again.remote_url, first.remote_url);
  EXPECT_EQ(server_->records().size(), 1u);
  const auto creates = server_->received("com.atproto.repo.createRecord");
  ASSERT_EQ(creates.size(), 2u);
  EXPECT_EQ(creates[1].error, "InvalidRequest");
  EXPECT_EQ(server_->count("com.atproto.repo.getRecord"), 1u);
}

TEST_F(BlueskyAdapterTest, DuplicateReportedAs500LikeTheReferencePdsIsFoundToo) {
  server_->set_duplicate_status(500);
  const PublishResult first = adapter_->publish(request("hello once"));
  const PublishResult again = fresh()->publish(request("hello once"));
  EXPECT_EQ(again.remote_ids, first.remote_ids);
  EXPECT_EQ(server_->records().size(), 1u);
}

TEST_F(BlueskyAdapterTest, LostAnswerThenRetryDoesNotDuplicate) {
  server_->script("com.atproto.repo.createRecord",
                  {{504, R"({"error":"UpstreamTimeout"})", {}, 0ms, /*after_processing=*/true}});
  // The 504 answer triggers the key lookup, which finds the record at once.
  const PublishResult r = adapter_->publish(request("landed"));
  EXPECT_EQ(server_->records().size(), 1u);
  EXPECT_EQ(r.remote_ids.front(), server_->records().front().uri);
}

TEST_F(BlueskyAdapterTest, ServerErrorWithNothingWrittenIsTransient) {
  server_->script("com.atproto.repo.createRecord", {{500, R"({"error":"InternalServerError"})", {}, 0ms, false}});
  const Error e = publish_error(*adapter_, "not yet");
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.http_status, 500);
  EXPECT_TRUE(server_->records().empty());
  EXPECT_EQ(server_->count("com.atproto.repo.getRecord"), 1u);
  adapter_->publish(request("not yet"));
  EXPECT_EQ(server_->records().size(), 1u);
}

TEST_F(BlueskyAdapterTest, SameKeyWithDifferentTextIsRefusedNotReported) {
  adapter_->publish(request("one text"));
  const Error e = publish_error(*fresh(), "another text");
  EXPECT_EQ(e.kind(), ErrorKind::permanent);
  EXPECT_NE(std::string(e.what()).find("already holds a different post"), std::string::npos) << e.what();
  EXPECT_EQ(server_->records().size(), 1u);
}

TEST_F(BlueskyAdapterTest, RateLimitIsTransientWithTheResetTime) {
  const auto reset =
      std::chrono::duration_cast<std::chrono::seconds>((std::chrono::system_clock::now() + 120s).time_since_epoch())
          .count();
  server_->script("com.atproto.repo.createRecord", {{429,
                                                     R"({"error":"RateLimitExceeded","message":"Rate Limit Exceeded"})",
                                                     {{"RateLimit-Reset", std::to_string(reset)}},
                                                     0ms,
                                                     false}});
  const Error e = publish_error(*adapter_, "too fast");
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  ASSERT_TRUE(e.retry_after.has_value());
  EXPECT_GE(*e.retry_after, 115s);
  EXPECT_LE(*e.retry_after, 121s);
  EXPECT_EQ(server_->count("com.atproto.repo.getRecord"), 0u) << "a refused request wrote nothing";
}

TEST_F(BlueskyAdapterTest, RateLimitAtThePdsLevel) {
  server_->set_rate_limit(1, 300s);  // createSession passes, createRecord does not
  const Error e = publish_error(*adapter_, "hello");
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.http_status, 429);
  ASSERT_TRUE(e.retry_after.has_value());
  EXPECT_LE(*e.retry_after, 301s);
  EXPECT_EQ(server_->received().back().error, "RateLimitExceeded");
}

TEST_F(BlueskyAdapterTest, WrongAppPasswordIsAnAuthErrorWithoutThePassword) {
  secrets_ = {{"app_password", "zzzz-zzzz-zzzz-zzzz"}};
  const Error e = publish_error(*adapter_, "hello");
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_EQ(e.http_status, 401);
  const std::string msg = e.what();
  EXPECT_TRUE(msg.starts_with("bluesky:main: createSession: HTTP 401 AuthenticationRequired")) << msg;
  EXPECT_EQ(msg.find("zzzz"), std::string::npos) << msg;

  secrets_ = nlohmann::json::object();
  EXPECT_EQ(publish_error(*fresh(), "hello").kind(), ErrorKind::auth);
}

TEST_F(BlueskyAdapterTest, RefreshReturnsSessionSecretsThatPublishReuses) {
  const auto refreshed = adapter_->refresh(account_, secrets_);
  ASSERT_TRUE(refreshed.has_value());
  EXPECT_EQ((*refreshed)["app_password"], "abcd-efgh-ijkl-mnop");
  EXPECT_EQ((*refreshed)["did"], did_);
  EXPECT_FALSE((*refreshed)["access_jwt"].get<std::string>().empty());
  EXPECT_FALSE((*refreshed)["refresh_jwt"].get<std::string>().empty());
  EXPECT_GT(
      (*refreshed)["expires_at"].get<std::int64_t>(),
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  EXPECT_EQ(server_->sessions_created(), 1);

  // Publishing with the stored tokens needs no login.
  secrets_ = *refreshed;
  fresh()->publish(request("with stored tokens"));
  EXPECT_EQ(server_->sessions_created(), 1);

  // A second refresh uses refreshSession, not the password.
  const auto again = fresh()->refresh(account_, secrets_);
  EXPECT_EQ(server_->sessions_refreshed(), 1);
  EXPECT_NE((*again)["refresh_jwt"], (*refreshed)["refresh_jwt"]);
}

TEST_F(BlueskyAdapterTest, FindRecentListsNewestFirst) {
  adapter_->publish(request("older", "key-a"));
  post_.created_at += 1min;
  adapter_->publish(request("newer", "key-b"));
  const auto posts = fresh()->find_recent(account_, secrets_, 10);
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].text, "newer");
  EXPECT_EQ(posts[1].text, "older");
  EXPECT_TRUE(posts[0].url.starts_with("https://bsky.app/profile/alice.test/post/"));
  EXPECT_EQ(server_->received("com.atproto.repo.listRecords").at(0).param("repo"), "alice.test");
  EXPECT_EQ(fresh()->find_recent(account_, secrets_, 1).size(), 1u);
}

TEST_F(BlueskyAdapterTest, PreviewIsTheCreateRecordCallWithTokensRedacted) {
  post_.media = {write_file("a.png", png(8, 6))};
  secrets_["did"] = did_;
  const Preview p = adapter_->preview(request("hi @bob.test #tag https://example.com"));
  EXPECT_EQ(p.method, "POST");
  EXPECT_EQ(p.url, server_->base_url() + "/xrpc/com.atproto.repo.createRecord");
  const auto headers = nlohmann::json(p.to_json())["headers"];
  EXPECT_EQ(headers["Authorization"], "Bearer ***");
  const auto body = nlohmann::json::parse(p.body);
  EXPECT_EQ(body["repo"], did_);
  EXPECT_EQ(body["collection"], "app.bsky.feed.post");
  EXPECT_EQ(body["rkey"], rkey_for("key-1", post_.created_at));
  EXPECT_FALSE(body.contains("validate"));
  EXPECT_EQ(body["record"]["text"], "hi @bob.test #tag https://example.com");
  EXPECT_EQ(body["record"]["facets"].size(), 2u) << "mentions are resolved at publish time";
  EXPECT_EQ(body["record"]["embed"]["images"][0]["aspectRatio"]["width"], 8);
  EXPECT_EQ(p.body.find("abcd-efgh"), std::string::npos);
  EXPECT_TRUE(server_->received().empty()) << "a preview sends nothing";
}

TEST_F(BlueskyAdapterTest, CapabilitiesAndRegistry) {
  const auto c = adapter_->capabilities(&account_);
  EXPECT_EQ(c.max_length, 300u);
  EXPECT_EQ(c.length_unit, "graphemes");
  EXPECT_TRUE(c.media);
  EXPECT_TRUE(c.threads);
  EXPECT_TRUE(c.idempotency_key);
  EXPECT_TRUE(c.find_recent);
  EXPECT_TRUE(is_platform("bluesky"));
  EXPECT_EQ(adapter_->name(), "bluesky");
}

}  // namespace
}  // namespace multivio::platforms::bluesky
