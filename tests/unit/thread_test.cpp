// SPDX-License-Identifier: MIT
// Thread splitting against the real length rules of X and Mastodon, with
// multi-byte text and URLs, mentions and hashtags at part boundaries.
#include "common/text/thread.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"

namespace multivio::text {
namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

auto x_fits() {
  return [](std::string_view part) { return x_weighted_length(part) <= 280; };
}

auto mastodon_fits(std::size_t limit) {
  return [limit](std::string_view part) { return mastodon_length(part) <= limit; };
}

auto code_points_fit(std::size_t limit) {
  return [limit](std::string_view part) { return code_points(part) <= limit; };
}

// The parts without their " (i/n)" counters, joined by single spaces: every
// word of the original must come back in order.
std::string words(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    const std::size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out += (out.empty() ? "" : " ") + std::string(s.substr(start, i - start));
  }
  return out;
}

std::string strip_counter(const std::string& part) {
  const auto open = part.rfind(" (");
  return open == std::string::npos ? part : part.substr(0, open);
}

std::string rejoin(const std::vector<std::string>& parts, bool counters = true) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + (counters ? strip_counter(p) : p);
  return words(out);
}

TEST(SplitThread, TextThatFitsIsReturnedUnchanged) {
  const std::string text = "  short text, kept exactly as it is\n";
  EXPECT_THAT(split_thread(text, x_fits()), ElementsAre(text));
  EXPECT_THAT(split_thread(repeat("a", 280), x_fits()), ElementsAre(repeat("a", 280)));
}

TEST(SplitThread, SplitsAtParagraphsFirst) {
  const std::string p1 = repeat("First paragraph words. ", 5);   // ~115 chars
  const std::string p2 = repeat("Second paragraph text. ", 5);
  const std::string p3 = repeat("Third one here, longer. ", 5);
  const std::string text = p1 + "\n\n" + p2 + "\n\n" + p3;
  const auto parts = split_thread(text, code_points_fit(260));
  ASSERT_EQ(parts.size(), 2u);
  // A paragraph break inside the limit wins over a later sentence break.
  EXPECT_EQ(parts[0], std::string(trim(p1 + "\n\n" + p2)) + " (1/2)");
  EXPECT_EQ(parts[1], std::string(trim(p3)) + " (2/2)");
}

TEST(SplitThread, ThenAtSentences) {
  const std::string text = "One sentence here that is fairly long. Another sentence follows it! "
                           "A third asks a question? And a fourth ends it.";
  const auto parts = split_thread(text, code_points_fit(80));
  ASSERT_GE(parts.size(), 2u);
  for (const auto& p : parts) {
    EXPECT_LE(code_points(p), 80u) << p;
    const std::string body = strip_counter(p);
    EXPECT_TRUE(body.ends_with(".") || body.ends_with("!") || body.ends_with("?")) << p;
  }
  EXPECT_EQ(rejoin(parts), words(text));
}

TEST(SplitThread, ThenAtWords) {
  const std::string text = repeat("lorem ipsum dolor sit amet ", 30);  // no sentence ends at all
  const auto parts = split_thread(text, x_fits());
  ASSERT_EQ(parts.size(), 3u);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    EXPECT_LE(x_weighted_length(parts[i]), 280u);
    EXPECT_THAT(parts[i], EndsWith(" (" + std::to_string(i + 1) + "/3)"));
    EXPECT_FALSE(strip_counter(parts[i]).ends_with(" "));
  }
  EXPECT_EQ(rejoin(parts), words(text));
}

TEST(SplitThread, WithoutCounter) {
  const std::string text = repeat("word ", 120);  // 600 characters
  const auto parts = split_thread(text, code_points_fit(250), ThreadOptions{false});
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(code_points(parts[0]), 249u);  // 50 words and the spaces between them
  for (const auto& p : parts) EXPECT_THAT(p, Not(HasSubstr("(")));
  EXPECT_EQ(rejoin(parts, false), words(text));
}

TEST(SplitThread, CounterWidthGrowsWithTheNumberOfParts) {
  // 12 parts: "(10/12)" is wider than "(1/9)"; every part must still fit.
  const std::string text = repeat("abcdefghi ", 120);
  const auto parts = split_thread(text, code_points_fit(110));
  ASSERT_GE(parts.size(), 10u);
  const std::string n = std::to_string(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    EXPECT_LE(code_points(parts[i]), 110u) << parts[i];
    EXPECT_THAT(parts[i], EndsWith(" (" + std::to_string(i + 1) + "/" + n + ")"));
  }
  EXPECT_EQ(rejoin(parts), words(text));
}

TEST(SplitThread, NeverInsideAUrlAtTheBoundary) {
  // The URL straddles the point where 280 would cut; X counts it as 23.
  const std::string url = "https://example.com/a/rather/long/path/to/a/release/notes/page?x=1";
  const std::string text = repeat("aaaa ", 52) + url + " " + repeat("bbbb ", 50);
  const auto parts = split_thread(text, x_fits());
  ASSERT_GE(parts.size(), 2u);
  int found = 0;
  for (const auto& p : parts) {
    EXPECT_LE(x_weighted_length(p), 280u);
    if (p.find(url) != std::string::npos) ++found;
    for (const auto& span : find_urls(p)) {
      // No part carries a fragment of the URL.
      const std::string piece = p.substr(span.begin, span.end - span.begin);
      EXPECT_TRUE(piece == url) << piece;
    }
  }
  EXPECT_EQ(found, 1);
  EXPECT_EQ(rejoin(parts), words(text));
}

TEST(SplitThread, MastodonCountsUrlsAs23WhenSplitting) {
  // 10 URLs of 60+ bytes each count 23: the text is far longer in bytes
  // than the limit but needs only two parts.
  std::string text;
  for (int i = 0; i < 10; ++i) text += "see https://example.org/" + repeat("p", 50) + std::to_string(i) + " ";
  const auto parts = split_thread(text, mastodon_fits(200));
  ASSERT_EQ(parts.size(), 2u);
  for (const auto& p : parts) EXPECT_LE(mastodon_length(p), 200u) << p;
  EXPECT_EQ(rejoin(parts), words(text));
}

TEST(SplitThread, MentionsAndHashtagsStayWhole) {
  // One word with no spaces forces grapheme-level splitting; the mention
  // (with its @domain) and the hashtag inside it may not be cut.
  const std::string mention = "@first.last@social.example.org";
  const std::string tag = "#MultivioRelease";
  const std::string text = repeat("x", 35) + "-" + mention + "-" + tag;
  const auto parts = split_thread(text, code_points_fit(40), ThreadOptions{false});
  EXPECT_THAT(parts, ElementsAre(repeat("x", 35) + "-", mention + "-", tag));
}

TEST(SplitThread, MultiByteTextIsSplitOnGraphemeClusters) {
  // Family emoji (7 code points, one cluster), combining accents and CJK,
  // without any spaces: only grapheme boundaries are available.
  const std::string family = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466";
  const std::string unit = family + "e\u0301" + "日本語";
  const std::string text = repeat(unit, 40);
  const auto fits = [](std::string_view p) { return graphemes(p) <= 30; };
  const auto parts = split_thread(text, fits, ThreadOptions{false});
  ASSERT_GE(parts.size(), 2u);
  std::string joined;
  for (const auto& p : parts) {
    EXPECT_TRUE(valid_utf8(p));
    EXPECT_LE(graphemes(p), 30u);
    EXPECT_FALSE(p.starts_with("\u200D")) << "cut inside the family emoji";
    EXPECT_FALSE(p.starts_with("\u0301")) << "accent separated from its letter";
    joined += p;
  }
  EXPECT_EQ(joined, text);
}

TEST(SplitThread, CjkSentencesEndWithoutSpaces) {
  const std::string sentence = "今日は新しい版を公開しました。";  // 15 code points
  const std::string text = repeat(sentence, 8);
  const auto parts = split_thread(text, code_points_fit(40));
  ASSERT_GE(parts.size(), 3u);
  for (const auto& p : parts) {
    EXPECT_LE(code_points(p), 40u);
    EXPECT_TRUE(strip_counter(p).ends_with("。")) << p;
  }
}

TEST(SplitThread, XWeightsCjkDouble) {
  const std::string text = repeat("日本語のテキスト ", 40);  // 8 CJK (weight 2) + space per word
  const auto parts = split_thread(text, x_fits());
  for (const auto& p : parts) EXPECT_LE(x_weighted_length(p), 280u);
  EXPECT_EQ(parts.size(), 3u);
  EXPECT_EQ(rejoin(parts), words(text));
}

TEST(SplitThread, UnbreakableTokenThatDoesNotFitIsAValidationError) {
  const std::string url = "https://example.com/" + repeat("x", 100);
  const std::string text = "intro " + url + " outro";
  try {
    split_thread(text, code_points_fit(60));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::validation);
    EXPECT_THAT(e.what(), HasSubstr("https://example.com/xxx"));
    EXPECT_THAT(e.what(), HasSubstr("does not fit"));
  }
  // Under X's rules the same URL counts 23 and splits fine.
  EXPECT_NO_THROW(split_thread(text + " " + repeat("z ", 200), x_fits()));
}

TEST(SplitThread, InvalidUtf8IsAValidationError) {
  try {
    split_thread("abc \xFF def", code_points_fit(3));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::validation);
  }
}

TEST(SplitThread, PartsAreTrimmedAndNeverEmpty) {
  const std::string text = "\n\n   " + repeat("alpha beta gamma.   \n\n\n", 20) + "   ";
  const auto parts = split_thread(text, code_points_fit(100));
  for (const auto& p : parts) {
    EXPECT_FALSE(strip_counter(p).empty());
    EXPECT_THAT(p, Not(StartsWith(" ")));
    EXPECT_THAT(p, Not(StartsWith("\n")));
  }
  EXPECT_EQ(rejoin(parts), words(text));
}

}  // namespace
}  // namespace multivio::text
