// SPDX-License-Identifier: MIT
// Per-network length rules. The X cases marked "conformance" replay
// twitter-text's conformance suite (conformance/tests/validate.yml,
// WeightedTweetsWithDiscountedEmojiCounterTest, and extract.yml for URLs).
#include "common/text/rules.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"

namespace multivio::text {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::vector<std::string> urls(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& span : find_urls(text)) out.emplace_back(text.substr(span.begin, span.end - span.begin));
  return out;
}

// Emoji and other sequences, spelled out so the invisible parts are visible.
const std::string kFamily = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466";  // 👨‍👩‍👧‍👦, 25 bytes
const std::string kThumbsMedium = "\U0001F44D\U0001F3FD";                                 // 👍🏽
const std::string kFlagDe = "\U0001F1E9\U0001F1EA";                                        // 🇩🇪
const std::string kKeycapOne = "1\uFE0F\u20E3";                                            // 1️⃣
const std::string kRedHeart = "\u2764\uFE0F";                                              // ❤️
const std::string kFlagEngland = "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F";
const std::string kGrinning = "\U0001F600";  // 😀, 4 bytes, 2 UTF-16 units
const std::string kPoem =
    "故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。"
    "朱雀桥边野草花，乌衣巷口夕阳斜。旧时王谢堂前燕，飞入寻常百姓家。"
    "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
    "泪湿罗巾梦不成，夜深前殿按歌声。红颜未老恩先断，斜倚薰笼坐到明。"
    "独在异乡为异客，每逢佳节倍思亲。遥知兄弟登高处，遍插茱萸少一人。";  // 160 CJK characters

// ---------------------------------------------------------------------------
// X: twitter-text v3 weighted length

TEST(XWeightedLength, PlainAsciiCountsOnePerCharacter) {
  EXPECT_EQ(x_weighted_length(""), 0u);
  EXPECT_EQ(x_weighted_length("This is a test."), 15u);  // conformance
  EXPECT_EQ(x_weighted_length("I am a Tweet"), 12u);
}

TEST(XWeightedLength, EveryUrlCounts23) {
  // conformance
  EXPECT_EQ(x_weighted_length("http://test.com"), 23u);
  EXPECT_EQ(x_weighted_length("https://test.com"), 23u);
  EXPECT_EQ(x_weighted_length("test.com"), 23u);
  EXPECT_EQ(x_weighted_length("Test https://test.com test https://test.com test.com test"), 86u);
  EXPECT_EQ(x_weighted_length("Hi http://test.co"), 26u);
  EXPECT_EQ(x_weighted_length("http://test.co"), 23u);
  EXPECT_EQ(x_weighted_length(repeat("https://www.twitter.com/aloha ", 10)), 240u);
  // Length of the URL itself does not matter, with or without a scheme.
  EXPECT_EQ(x_weighted_length("https://example.com/" + repeat("a", 500)), 23u);
  EXPECT_EQ(x_weighted_length("example.com/" + repeat("b", 500) + " x"), 25u);
  EXPECT_EQ(x_weighted_length("see t.co"), 27u);
}

TEST(XWeightedLength, LongTweetsFromConformance) {
  const std::string groups = repeat("xxxxxxxxxx-", 25);
  EXPECT_EQ(x_weighted_length("285 chars-" + groups), 285u);
  EXPECT_EQ(x_weighted_length("285 chars- http://www.twitter.com/jack " + repeat("xxxxxxxxxx-", 24)), 299u);
  EXPECT_EQ(x_weighted_length(repeat("xxxxxxxxxx-", 24) + " http://www.twitter.com/jack "), 289u);
}

TEST(XWeightedLength, CjkCountsTwo) {
  EXPECT_EQ(x_weighted_length(kPoem), 320u);          // conformance: 160 CJK
  EXPECT_EQ(x_weighted_length("the" + kPoem), 323u);  // conformance
  EXPECT_EQ(x_weighted_length(repeat("の", 140)), 280u);
  EXPECT_EQ(x_weighted_length("日本語"), 6u);
  EXPECT_EQ(x_weighted_length("한국어"), 6u);
}

TEST(XWeightedLength, WeightOneRangesAndTheirEdges) {
  EXPECT_EQ(x_weighted_length("\u10FF"), 1u);  // last of 0-4351
  EXPECT_EQ(x_weighted_length("\u1100"), 2u);  // Hangul jamo: first outside
  EXPECT_EQ(x_weighted_length("\u2000"), 1u);  // 8192
  EXPECT_EQ(x_weighted_length("\u200D"), 1u);  // 8205 (ZWJ on its own)
  EXPECT_EQ(x_weighted_length("\u200E"), 2u);  // 8206
  EXPECT_EQ(x_weighted_length("\u2010"), 1u);  // 8208
  EXPECT_EQ(x_weighted_length("\u201F"), 1u);  // 8223
  EXPECT_EQ(x_weighted_length("\u2020"), 2u);  // 8224
  EXPECT_EQ(x_weighted_length("\u2032"), 1u);  // 8242
  EXPECT_EQ(x_weighted_length("\u2037"), 1u);  // 8247
  EXPECT_EQ(x_weighted_length("\u2038"), 2u);  // 8248
  EXPECT_EQ(x_weighted_length("\u20AC"), 2u);  // euro sign
  EXPECT_EQ(x_weighted_length("caf\u00E9 \u0436"), 6u);
  EXPECT_EQ(x_weighted_length("\U00010000\U0010FFFF"), 4u);
}

TEST(XWeightedLength, EmojiSequencesCountTwo) {
  EXPECT_EQ(x_weighted_length(kFamily), 2u);
  EXPECT_EQ(x_weighted_length(kThumbsMedium), 2u);
  EXPECT_EQ(x_weighted_length(kFlagDe), 2u);
  EXPECT_EQ(x_weighted_length(kKeycapOne), 2u);
  EXPECT_EQ(x_weighted_length("#\uFE0F\u20E3"), 2u);
  EXPECT_EQ(x_weighted_length(kRedHeart), 2u);
  EXPECT_EQ(x_weighted_length("\u2764"), 2u);
  EXPECT_EQ(x_weighted_length(kFlagEngland), 2u);
  EXPECT_EQ(x_weighted_length(kFlagDe + "\U0001F1EB\U0001F1F7"), 4u);  // two flags
  // (c) stays text (weight 1) unless VS16 makes it an emoji.
  EXPECT_EQ(x_weighted_length("\u00A9"), 1u);
  EXPECT_EQ(x_weighted_length("\u00A9\uFE0F"), 2u);
  // Plain digits are not keycaps.
  EXPECT_EQ(x_weighted_length("1#*"), 3u);
}

TEST(XWeightedLength, EmojiConformance) {
  EXPECT_EQ(x_weighted_length("H\U0001F431\u263A" + kFamily), 7u);
  EXPECT_EQ(x_weighted_length("\U0001F637\U0001F47E\U0001F621\U0001F525\U0001F4A9"), 10u);
  EXPECT_EQ(x_weighted_length("\U0001F64B\U0001F3FD\U0001F468\u200D\U0001F3A4"), 4u);
  EXPECT_EQ(x_weighted_length(repeat(kFamily, 140)), 280u);
  EXPECT_EQ(x_weighted_length(repeat("\U0001F637", 160)), 320u);
  EXPECT_EQ(x_weighted_length("Unicode 10.0 emoji: \U0001F92A; \U0001F9D5; \U0001F9D5\U0001F3FE; " + kFlagEngland),
            34u);
  EXPECT_EQ(x_weighted_length("Unicode 9.0 emoji: \U0001F920; \U0001F483; \U0001F483\U0001F3FE"), 29u);
}

TEST(XWeightedLength, NormalisesToNfcFirst) {
  EXPECT_EQ(x_weighted_length("e\u0301"), 1u);        // é composed
  EXPECT_EQ(x_weighted_length("A\u0301B"), 2u);       // conformance "ÁB"
  EXPECT_EQ(x_weighted_length("A\uFB2C"), 4u);        // conformance: decomposes into 3
  EXPECT_EQ(x_weighted_length("\u1100\u1161"), 2u);   // jamo compose into one syllable
  EXPECT_EQ(x_weighted_length("q\u0301"), 2u);        // no precomposed form: 1 + 1
}

TEST(XWeightedLength, HostLabelLimits) {
  // conformance: a 64-character label is not a domain, so no URL
  EXPECT_EQ(x_weighted_length("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com"), 68u);
  // conformance: internationalised labels must fit 63 bytes once punycoded
  const std::string text = repeat("あいうえおかきくけこ", 12) + " http://" + repeat("あいうえおかきくけこ", 5);
  EXPECT_EQ(x_weighted_length(text + "あいう.com"), 358u);
  EXPECT_EQ(x_weighted_length(text + "あい.com"), 264u);
}

TEST(XWeightedLength, DirectionalMarksAndInvalidCharacters) {
  // conformance
  EXPECT_EQ(x_weighted_length("\u2066\u202Ahttp://foobar.پاکستان/\u202C\u2069"), 31u);
  EXPECT_EQ(x_weighted_length("ABC\u202A\uFFFFABC\uFFFE"), 12u);
}

TEST(XWeightedLength, InvalidUtf8IsCountedAsReplacementCharacters) {
  EXPECT_EQ(x_weighted_length("ab\xFF"), 4u);
}

// ---------------------------------------------------------------------------
// find_urls

TEST(FindUrls, ByteOffsets) {
  const auto spans = find_urls("text http://example.com.");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].begin, 5u);
  EXPECT_EQ(spans[0].end, 23u);

  const auto multibyte = find_urls("日本 example.com/ä");  // offsets in bytes, not characters
  ASSERT_EQ(multibyte.size(), 1u);
  EXPECT_EQ(multibyte[0].begin, 7u);
  EXPECT_EQ(multibyte[0].end, 7u + 12u + 2u);

  EXPECT_THAT(find_urls(""), IsEmpty());
  EXPECT_THAT(find_urls("no links here."), IsEmpty());
}

TEST(FindUrls, TrailingPunctuationIsNotPartOfTheUrl) {
  EXPECT_THAT(urls("see https://example.com/path."), ElementsAre("https://example.com/path"));
  EXPECT_THAT(urls("https://example.com/a?q=1&x=y#frag, next"), ElementsAre("https://example.com/a?q=1&x=y#frag"));
  EXPECT_THAT(urls("Really? example.com/path?!"), ElementsAre("example.com/path"));
  EXPECT_THAT(urls("'https://example.com/x';"), ElementsAre("https://example.com/x"));
  EXPECT_THAT(urls("\"https://example.com/q\""), ElementsAre("https://example.com/q"));
  EXPECT_THAT(urls("example.com: great"), ElementsAre("example.com"));
  EXPECT_THAT(urls("text http://xo.com/~matthew+%ff-,.;x"), ElementsAre("http://xo.com/~matthew+%ff-,.;x"));
  EXPECT_THAT(urls("Go to http://example.com/a+ or http://example.com/a-"),
              ElementsAre("http://example.com/a+", "http://example.com/a-"));
  EXPECT_THAT(urls("text http://foo.com?#foo text"), ElementsAre("http://foo.com?#foo"));
}

TEST(FindUrls, BalancedParenthesesStay) {
  EXPECT_THAT(urls("text http://en.wikipedia.org/wiki/Primer_(film)"),
              ElementsAre("http://en.wikipedia.org/wiki/Primer_(film)"));
  EXPECT_THAT(urls("(see http://en.wikipedia.org/wiki/Primer_(film))"),
              ElementsAre("http://en.wikipedia.org/wiki/Primer_(film)"));
  EXPECT_THAT(urls("(see https://example.com/foo)"), ElementsAre("https://example.com/foo"));
  EXPECT_THAT(urls("(http://twitter.com"), ElementsAre("http://twitter.com"));
  EXPECT_THAT(urls("[example.com/a]"), ElementsAre("example.com/a"));
  EXPECT_THAT(urls("text http://msdn.microsoft.com/ja-jp/library/system.net.httpwebrequest(v=VS.100).aspx"),
              ElementsAre("http://msdn.microsoft.com/ja-jp/library/system.net.httpwebrequest(v=VS.100).aspx"));
}

TEST(FindUrls, EmailsAndMentionsAreNotUrls) {
  EXPECT_THAT(find_urls("mail john@example.com today"), IsEmpty());
  EXPECT_THAT(find_urls("mail first.last@example.co.uk"), IsEmpty());
  EXPECT_THAT(find_urls("mail info.de@example.com"), IsEmpty());
  EXPECT_THAT(find_urls("cc @alice@mastodon.social and @bob.bsky.social"), IsEmpty());
  EXPECT_THAT(find_urls("@jack.com #example.com $example.com"), IsEmpty());
  EXPECT_THAT(find_urls("@http://twitter.com"), IsEmpty());
  EXPECT_THAT(urls("mail john@example.com or visit example.com"), ElementsAre("example.com"));
}

TEST(FindUrls, SchemeLessNeedsAKnownTld) {
  EXPECT_THAT(urls("foo.com foo.net foo.org foo.edu foo.gov"),
              ElementsAre("foo.com", "foo.net", "foo.org", "foo.edu", "foo.gov"));
  // conformance
  EXPECT_THAT(
      urls("foo.baz foo.co.jp www.xxxxxxx.baz www.foo.co.uk wwwww.xxxxxxx foo.comm foo.somecom foo.govedu foo.jp"),
      ElementsAre("foo.co.jp", "www.foo.co.uk", "foo.jp"));
  EXPECT_THAT(urls("t.co/abcde bit.ly/abcde"), ElementsAre("t.co/abcde", "bit.ly/abcde"));
  EXPECT_THAT(urls("MLB.tv vine.co twitch.tv t.co"), ElementsAre("MLB.tv", "vine.co", "twitch.tv", "t.co"));
  EXPECT_THAT(urls("new.social x.ai dev.to my.app site.xyz"),
              ElementsAre("new.social", "x.ai", "dev.to", "my.app", "site.xyz"));
  EXPECT_THAT(find_urls("e.g. i.e. v1.2.3 node.js 3.14"), IsEmpty());
  EXPECT_THAT(urls("@user Try http:// example.com/path"), ElementsAre("example.com/path"));
}

TEST(FindUrls, SchemeUrls) {
  EXPECT_THAT(urls("http://example.com"), ElementsAre("http://example.com"));
  EXPECT_THAT(urls("HTTPS://www.ExaMPLE.COM/index.html"), ElementsAre("HTTPS://www.ExaMPLE.COM/index.html"));
  EXPECT_THAT(urls("text http://somehost.com:3000"), ElementsAre("http://somehost.com:3000"));
  EXPECT_THAT(urls("http://user:PASSW0RD@example.com:8080/login.php"),
              ElementsAre("http://user:PASSW0RD@example.com:8080/login.php"));
  EXPECT_THAT(urls("http://192.168.0.1/index.html?src=asdf"), ElementsAre("http://192.168.0.1/index.html?src=asdf"));
  EXPECT_THAT(urls("http://[3ffe:1900:4545:3:200:f8ff:fe21:67cf]:80/index.html"),
              ElementsAre("http://[3ffe:1900:4545:3:200:f8ff:fe21:67cf]:80/index.html"));
  EXPECT_THAT(urls("test http://sub_domain-dash.twitter.com"), ElementsAre("http://sub_domain-dash.twitter.com"));
  EXPECT_THAT(urls("test http://a.b.cd"), ElementsAre("http://a.b.cd"));
  // With a scheme, any alphabetic TLD will do.
  EXPECT_THAT(urls("http://example.engineer/x"), ElementsAre("http://example.engineer/x"));
  EXPECT_THAT(urls("text http://\u272Adf.ws/ejp"), ElementsAre("http://\u272Adf.ws/ejp"));
  const std::string cyrillic = "http://twitter.com/Русские_слова";
  EXPECT_THAT(urls("Go to " + cyrillic), ElementsAre(cyrillic));
  EXPECT_THAT(urls("Go to https://en.m.wikipedia.org/wiki/Hatfield\u2013McCoy_feud please"),
              ElementsAre("https://en.m.wikipedia.org/wiki/Hatfield\u2013McCoy_feud"));
}

TEST(FindUrls, InvalidHostsAreNotUrls) {
  EXPECT_THAT(find_urls("text http://no-tld"), IsEmpty());
  EXPECT_THAT(find_urls("text http://tld-too-short.x"), IsEmpty());
  EXPECT_THAT(find_urls("http://256.1.2.3/"), IsEmpty());
  EXPECT_THAT(find_urls("http://www.-domain4352.com/"), IsEmpty());
  EXPECT_THAT(find_urls("http://www.domain4352-.com/"), IsEmpty());
  EXPECT_THAT(find_urls("text http://domain-dash_2314352345_dfasd.foo-cow_4352.com"), IsEmpty());
  EXPECT_THAT(find_urls("Hello http://xn--\u306F\u3058\u3081\u3088\u3046.com/index.html"), IsEmpty());
  EXPECT_THAT(find_urls("ftp://www.example.com/"), IsEmpty());
}

TEST(FindUrls, ScriptBoundariesEndUrls) {
  // conformance
  EXPECT_THAT(urls("test http://example.com\u3060\u3088\u306D.comtest/hogehoge"), ElementsAre("http://example.com"));
  EXPECT_THAT(urls("text http://domain.com-that-you-should-have-put-a-space-after"), ElementsAre("http://domain.com"));
  EXPECT_THAT(urls("これは日本語です。example.com/path/index.html中国語example.com/path한국"),
              ElementsAre("example.com/path/index.html", "example.com/path"));
  EXPECT_THAT(urls("http://twitter.com/これは日本語です。example.com中国語http://t.co/abcde한국twitter.comテストexample2.com"
                   "テストhttp://twitter.com/abcde"),
              ElementsAre("http://twitter.com/", "example.com", "http://t.co/abcde", "twitter.com", "example2.com",
                          "http://twitter.com/abcde"));
  EXPECT_THAT(urls("twitter.jp日本語it.so中国語foo.jp it.so foo.jp"),
              ElementsAre("twitter.jp", "it.so", "foo.jp", "it.so", "foo.jp"));
  EXPECT_THAT(urls("http://exampleこれは日本語です.com/path/index.html http://" + repeat("あ", 300) + ".com/path/index.html"),
              ElementsAre("http://exampleこれは日本語です.com/path/index.html"));
  EXPECT_THAT(urls("link: https://example.com/a😀"), ElementsAre("https://example.com/a"));
}

TEST(FindUrls, InvalidUtf8KeepsOffsetsIntoTheOriginal) {
  const auto spans = find_urls("\xFF\xFE example.com");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].begin, 3u);
  EXPECT_EQ(spans[0].end, 14u);
}

// ---------------------------------------------------------------------------
// graphemes

TEST(Graphemes, ExtendedClusters) {
  EXPECT_EQ(graphemes(""), 0u);
  EXPECT_EQ(graphemes("abc"), 3u);
  EXPECT_EQ(graphemes("e\u0301"), 1u);
  EXPECT_EQ(graphemes(kFamily), 1u);
  EXPECT_EQ(graphemes(kThumbsMedium), 1u);
  EXPECT_EQ(graphemes(kFlagDe + "\U0001F1EB\U0001F1F7"), 2u);
  EXPECT_EQ(graphemes(kKeycapOne), 1u);
  EXPECT_EQ(graphemes(kRedHeart), 1u);
  EXPECT_EQ(graphemes(kFlagEngland), 1u);
  EXPECT_EQ(graphemes("\r\n"), 1u);
  EXPECT_EQ(graphemes("\u1100\u1161\u11A8"), 1u);  // one Hangul syllable in jamo
  EXPECT_EQ(graphemes("日本語"), 3u);
  EXPECT_EQ(graphemes("a\xFF" "b"), 3u);  // an ill-formed byte is one cluster
}

// ---------------------------------------------------------------------------
// Mastodon

TEST(MastodonLength, UrlsCount23WhateverTheirLength) {
  EXPECT_EQ(mastodon_length("see https://example.com/a/very/long/path/that/goes/on/and/on/and/on"), 4u + 23u);
  EXPECT_EQ(mastodon_length("http://x.co"), 23u);
  EXPECT_EQ(mastodon_length("a http://example.com b https://example.org/c"), 1u + 1 + 23 + 3 + 23);
  // Mastodon only shortens links with a scheme.
  EXPECT_EQ(mastodon_length("example.com/" + repeat("x", 40)), 52u);
}

TEST(MastodonLength, RemoteMentionsCountOnlyTheUser) {
  EXPECT_EQ(mastodon_length("@alice@mastodon.social hello"), 12u);
  EXPECT_EQ(mastodon_length("cc @alice@mastodon.social, @bob@example.org."), 3u + 6 + 2 + 4 + 1);
  EXPECT_EQ(mastodon_length("hi @bob"), 7u);
  EXPECT_EQ(mastodon_length("@first.last@social.example.org"), 11u);
  EXPECT_EQ(mastodon_length("mail me@example.com"), 19u);  // not a mention: preceded by a word character
  EXPECT_EQ(mastodon_length("@alice@mastodon.social https://example.com/" + repeat("p", 50)), 6u + 1 + 23);
}

TEST(MastodonLength, CountsGraphemesLikeTheServer) {
  EXPECT_EQ(mastodon_length(kFamily), 1u);
  EXPECT_EQ(mastodon_length("e\u0301"), 1u);
  EXPECT_EQ(mastodon_length("日本語"), 3u);
}

// ---------------------------------------------------------------------------
// measure: every network at and one over its limit

struct Case {
  std::string_view network;
  std::string at_limit;
  std::string over_limit;
  std::size_t limit;
  std::string_view problem;  // for over_limit
};

class AtAndOverLimit : public ::testing::TestWithParam<Case> {};

TEST_P(AtAndOverLimit, AcceptsAtLimitAndNamesTheNumbersOver) {
  const Case& c = GetParam();
  const auto ok = measure(c.network, c.at_limit);
  EXPECT_TRUE(ok.ok()) << (ok.problems.empty() ? "" : ok.problems.front());
  EXPECT_EQ(ok.length, c.limit);
  EXPECT_EQ(ok.limit, c.limit);

  const auto over = measure(c.network, c.over_limit);
  EXPECT_FALSE(over.ok());
  EXPECT_EQ(over.length, c.limit + 1);
  EXPECT_THAT(over.problems, ElementsAre(std::string(c.problem)));
}

INSTANTIATE_TEST_SUITE_P(
    Networks, AtAndOverLimit,
    ::testing::Values(
        Case{"x", repeat("a", 280), repeat("a", 281), 280, "text is 281 weighted characters; x allows 280"},
        Case{"x", repeat("の", 140), repeat("の", 140) + "a", 280, "text is 281 weighted characters; x allows 280"},
        Case{"x", repeat(kFamily, 140), repeat(kFamily, 140) + "!", 280, "text is 281 weighted characters; x allows 280"},
        Case{"x", "https://example.com/" + repeat("p", 300) + " " + repeat("a", 256),
             "https://example.com/" + repeat("p", 300) + " " + repeat("a", 257), 280,
             "text is 281 weighted characters; x allows 280"},
        Case{"mastodon", repeat("a", 500), repeat("a", 501), 500, "text is 501 characters; mastodon allows 500"},
        Case{"mastodon", repeat("a", 476) + " https://example.com/" + repeat("p", 100),
             repeat("a", 477) + " https://example.com/" + repeat("p", 100), 500,
             "text is 501 characters; mastodon allows 500"},
        Case{"bluesky", repeat("a", 300), repeat("a", 301), 300, "text is 301 graphemes; bluesky allows 300"},
        Case{"bluesky", repeat(kThumbsMedium, 300), repeat(kThumbsMedium, 301), 300,
             "text is 301 graphemes; bluesky allows 300"},
        Case{"threads", repeat("a", 500), repeat("a", 501), 500, "text is 501 characters; threads allows 500"},
        Case{"threads", repeat(kGrinning, 125), repeat(kGrinning, 125) + "a", 500,
             "text is 501 characters; threads allows 500"},
        Case{"linkedin", repeat("a", 3000), repeat("a", 3001), 3000, "text is 3001 characters; linkedin allows 3000"},
        Case{"facebook", repeat("a", 63206), repeat("a", 63207), 63206,
             "text is 63207 characters; facebook allows 63206"},
        Case{"instagram", repeat("a", 2200), repeat("a", 2201), 2200, "text is 2201 characters; instagram allows 2200"},
        Case{"tiktok", repeat("a", 2200), repeat("a", 2201), 2200, "text is 2201 UTF-16 code units; tiktok allows 2200"},
        Case{"tiktok", repeat(kGrinning, 1100), repeat(kGrinning, 1100) + "a", 2200,
             "text is 2201 UTF-16 code units; tiktok allows 2200"},
        Case{"youtube", repeat("a", 5000), repeat("a", 5001), 5000, "text is 5001 bytes; youtube allows 5000"},
        Case{"youtube", repeat("\u00E9", 2500), repeat("\u00E9", 2500) + "a", 5000,
             "text is 5001 bytes; youtube allows 5000"},
        Case{"discord", repeat("a", 2000), repeat("a", 2001), 2000, "text is 2001 characters; discord allows 2000"},
        Case{"discord", repeat(kGrinning, 2000), repeat(kGrinning, 2001), 2000,
             "text is 2001 characters; discord allows 2000"},
        Case{"slack", repeat("a", 40000), repeat("a", 40001), 40000, "text is 40001 characters; slack allows 40000"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(info.param.network) + "_" + std::to_string(info.index);
    });

TEST(Measure, UnitsAndDefaults) {
  EXPECT_EQ(measure("x", "hi").unit, "weighted characters");
  EXPECT_EQ(measure("bluesky", "hi").unit, "graphemes");
  EXPECT_EQ(measure("tiktok", "hi").unit, "UTF-16 code units");
  EXPECT_EQ(measure("youtube", "hi").unit, "bytes");
  EXPECT_EQ(measure("slack", "hi").unit, "characters");
  const auto r = measure("x", "Hello " + kFamily + " https://example.com/long/path");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.length, 6u + 2 + 1 + 23);
  EXPECT_EQ(r.limit, 280u);
}

TEST(Measure, LimitOverride) {
  const std::string text = repeat("a", 600);
  EXPECT_FALSE(measure("mastodon", text).ok());
  const auto r = measure("mastodon", text, 1000);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.limit, 1000u);
  EXPECT_THAT(measure("mastodon", text, 550).problems, ElementsAre("text is 600 characters; mastodon allows 550"));
  EXPECT_TRUE(measure("x", repeat("a", 1000), 25000).ok());  // paid accounts
}

TEST(Measure, EmptyAndWhitespaceOnlyText) {
  for (std::string_view network : networks_with_rules()) {
    const auto empty = measure(network, "");
    EXPECT_THAT(empty.problems, ElementsAre("text is empty")) << network;
    EXPECT_EQ(empty.length, 0u) << network;
    EXPECT_THAT(measure(network, " \t\r\n").problems, ElementsAre("text is empty")) << network;
    EXPECT_THAT(measure(network, "\u00A0\u3000").problems, ElementsAre("text is empty")) << network;
    EXPECT_TRUE(measure(network, " x ").ok()) << network;
  }
}

TEST(Measure, InvalidUtf8) {
  for (std::string_view network : networks_with_rules()) {
    const auto r = measure(network, "abc\xC3(");
    EXPECT_THAT(r.problems, ElementsAre("text is not valid UTF-8")) << network;
    EXPECT_EQ(r.length, 5u) << network;
    EXPECT_EQ(r.unit, "bytes") << network;
  }
}

TEST(Measure, UnknownNetworkIsAUsageError) {
  try {
    measure("foo", "hello");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(),
                 "no text rules for network 'foo' (known: x, mastodon, bluesky, threads, linkedin, facebook, instagram, "
                 "tiktok, youtube, discord, slack)");
  }
  EXPECT_THROW(measure("X", "hello"), Error);
}

TEST(Measure, KnownNetworks) {
  EXPECT_THAT(networks_with_rules(), ElementsAre("x", "mastodon", "bluesky", "threads", "linkedin", "facebook",
                                                 "instagram", "tiktok", "youtube", "discord", "slack"));
  for (std::string_view network : networks_with_rules()) EXPECT_TRUE(has_rules(network));
  EXPECT_FALSE(has_rules(""));
  EXPECT_FALSE(has_rules("twitter"));
}

TEST(Measure, XRejectsNoncharacters) {
  const auto r = measure("x", "ABC\u202A\uFFFFABC\uFFFE");
  EXPECT_EQ(r.length, 12u);
  EXPECT_THAT(r.problems, ElementsAre("text contains U+FFFF, which x does not accept"));
  EXPECT_THAT(measure("x", "\uFEFFhello").problems, ElementsAre("text contains U+FEFF, which x does not accept"));
  EXPECT_TRUE(measure("x", "\u2066\u202Ahttp://example.com/\u202C\u2069").ok());
}

TEST(Measure, BlueskyBytesLimitWithFewGraphemes) {
  // 120 family emoji: 120 graphemes, exactly 3000 bytes.
  const std::string at = repeat(kFamily, 120);
  ASSERT_EQ(at.size(), 3000u);
  const auto ok = measure("bluesky", at);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.length, 120u);

  const auto over = measure("bluesky", at + "a");
  EXPECT_EQ(over.length, 121u);
  EXPECT_THAT(over.problems, ElementsAre("text is 3001 bytes; bluesky allows 3000"));

  // Japanese: 1001 graphemes of 3 bytes each break both limits.
  const auto both = measure("bluesky", repeat("の", 1001));
  EXPECT_THAT(both.problems,
              ElementsAre("text is 1001 graphemes; bluesky allows 300", "text is 3003 bytes; bluesky allows 3000"));
}

TEST(Measure, ThreadsCountsEmojiAsUtf8Bytes) {
  EXPECT_EQ(measure("threads", kGrinning).length, 4u);
  EXPECT_EQ(measure("threads", kRedHeart).length, 6u);
  EXPECT_EQ(measure("threads", kFlagDe).length, 8u);
  EXPECT_EQ(measure("threads", kFamily).length, 25u);
  EXPECT_EQ(measure("threads", "caf\u00E9 日本").length, 7u);
}

TEST(Measure, ThreadsAllowsFiveDistinctLinks) {
  const std::string five = "a.com b.com https://c.com/x d.org e.net a.com https://c.com/x";
  EXPECT_TRUE(measure("threads", five).ok());
  EXPECT_THAT(measure("threads", five + " f.io").problems, ElementsAre("text has 6 links; threads allows 5"));
}

TEST(Measure, InstagramHashtags) {
  const std::string five = "Sunset #one #two #three #four #fünf";
  EXPECT_TRUE(measure("instagram", five).ok());
  EXPECT_THAT(measure("instagram", five + " #six").problems, ElementsAre("text has 6 hashtags; instagram allows 5"));
  // Not hashtags: numbers only, inside a word or an entity, URL fragments, a bare '#'.
  EXPECT_TRUE(measure("instagram", five + " #1 a#b &#39; # https://example.com/#anchor").ok());
  EXPECT_THAT(measure("instagram", "#a #b #c #d #e \uFF03f").problems,
              ElementsAre("text has 6 hashtags; instagram allows 5"));
  // Both rules can fail at once.
  EXPECT_EQ(measure("instagram", repeat("#tag ", 441)).problems.size(), 2u);
}

TEST(Measure, YoutubeRejectsAngleBrackets) {
  EXPECT_THAT(measure("youtube", "a <b> c").problems,
              ElementsAre("text contains '<' or '>', which youtube does not allow in a description"));
  EXPECT_EQ(measure("youtube", "日本").length, 6u);
}

TEST(Measure, DiscordAndSlackCountCodePoints) {
  EXPECT_EQ(measure("discord", kFamily).length, 7u);
  EXPECT_EQ(measure("slack", "e\u0301").length, 2u);
  EXPECT_EQ(measure("tiktok", kFamily).length, 11u);
}

}  // namespace
}  // namespace multivio::text
