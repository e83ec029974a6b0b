// SPDX-License-Identifier: MIT
#include "common/text/text.hpp"

#include <gtest/gtest.h>

namespace multivio::text {
namespace {

using namespace std::string_literals;

TEST(Utf8, AcceptsWellFormed) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii\n\t"));
  EXPECT_TRUE(valid_utf8("\0"s));
  EXPECT_TRUE(valid_utf8("caf\xC3\xA9"));                 // é
  EXPECT_TRUE(valid_utf8("\xE2\x82\xAC"));                // €
  EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80"));            // 😀
  EXPECT_TRUE(valid_utf8("\xC2\x80\xDF\xBF"));            // U+0080, U+07FF
  EXPECT_TRUE(valid_utf8("\xE0\xA0\x80\xEF\xBF\xBF"));    // U+0800, U+FFFF
  EXPECT_TRUE(valid_utf8("\xED\x9F\xBF\xEE\x80\x80"));    // U+D7FF, U+E000 around the surrogates
  EXPECT_TRUE(valid_utf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));  // U+10000, U+10FFFF
}

TEST(Utf8, RejectsMalformed) {
  EXPECT_FALSE(valid_utf8("\x80"));                  // lone continuation
  EXPECT_FALSE(valid_utf8("a\xBF" "b"));
  EXPECT_FALSE(valid_utf8("\xC3"));                  // truncated
  EXPECT_FALSE(valid_utf8("\xE2\x82"));
  EXPECT_FALSE(valid_utf8("\xF0\x9F\x98"));
  EXPECT_FALSE(valid_utf8("\xC3" "A"));              // bad continuation
  EXPECT_FALSE(valid_utf8("\xE2\x28\xA1"));
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));              // overlong '/'
  EXPECT_FALSE(valid_utf8("\xC1\xBF"));
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));          // overlong 3-byte
  EXPECT_FALSE(valid_utf8("\xE0\x9F\xBF"));
  EXPECT_FALSE(valid_utf8("\xF0\x80\x80\xAF"));      // overlong 4-byte
  EXPECT_FALSE(valid_utf8("\xF0\x8F\xBF\xBF"));
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));          // U+D800
  EXPECT_FALSE(valid_utf8("\xED\xBF\xBF"));          // U+DFFF
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));      // U+110000
  EXPECT_FALSE(valid_utf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(valid_utf8("\xFE"));
  EXPECT_FALSE(valid_utf8("\xFF"));
}

TEST(Utf8, SequenceLength) {
  EXPECT_EQ(utf8_sequence_length(""), 0u);
  EXPECT_EQ(utf8_sequence_length("ab"), 1u);
  EXPECT_EQ(utf8_sequence_length("\xC3\xA9x"), 2u);
  EXPECT_EQ(utf8_sequence_length("\xE2\x82\xAC"), 3u);
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x98\x80!"), 4u);
  EXPECT_EQ(utf8_sequence_length("\xED\xA0\x80"), 0u);
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F"), 0u);
}

TEST(CodePoints, CountsSequencesNotBytes) {
  EXPECT_EQ(code_points(""), 0u);
  EXPECT_EQ(code_points("hello"), 5u);
  EXPECT_EQ(code_points("caf\xC3\xA9"), 4u);
  EXPECT_EQ(code_points("\xE2\x82\xAC" "5"), 2u);
  EXPECT_EQ(code_points("\xF0\x9F\x98\x80\xF0\x9F\x98\x80"), 2u);
  // Combining accent: two code points, one grapheme (grapheme counting lives elsewhere).
  EXPECT_EQ(code_points("e\xCC\x81"), 2u);
}

TEST(Trim, AsciiWhitespaceOnly) {
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t\r\n\f\v"), "");
  EXPECT_EQ(trim("  hi there \n"), "hi there");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim("\xC2\xA0x\xC2\xA0"), "\xC2\xA0x\xC2\xA0");  // NBSP is not ASCII whitespace
}

TEST(Truncate, NeverSplitsASequence) {
  EXPECT_EQ(truncate_code_points("hello", 10), "hello");
  EXPECT_EQ(truncate_code_points("hello", 5), "hello");
  EXPECT_EQ(truncate_code_points("hello", 3), "hel");
  EXPECT_EQ(truncate_code_points("hello", 0), "");
  EXPECT_EQ(truncate_code_points("", 3), "");
  EXPECT_EQ(truncate_code_points("caf\xC3\xA9!", 4), "caf\xC3\xA9");
  EXPECT_EQ(truncate_code_points("caf\xC3\xA9!", 3), "caf");
  EXPECT_EQ(truncate_code_points("\xF0\x9F\x98\x80\xF0\x9F\x98\x81", 1), "\xF0\x9F\x98\x80");
  const std::string mixed = "a\xE2\x82\xAC" "b\xF0\x9F\x98\x80" "c";
  for (std::size_t n = 0; n <= 6; ++n) {
    const std::string cut = truncate_code_points(mixed, n);
    EXPECT_TRUE(valid_utf8(cut)) << n;
    EXPECT_EQ(code_points(cut), std::min<std::size_t>(n, 5)) << n;
  }
}

}  // namespace
}  // namespace multivio::text
