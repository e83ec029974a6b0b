// SPDX-License-Identifier: MIT
// Matching a published post's text to the text multivio sent, as the
// network shows it back (URLs shortened, whitespace normalised).
#include <gtest/gtest.h>

#include "common/app/reconcile.hpp"

namespace multivio::app {
namespace {

TEST(SamePostText, UrlsRewrittenByTheNetworkStillMatch) {
  EXPECT_TRUE(same_post_text("Release 1.2 is out: https://t.co/AbC123xyz", "Release 1.2 is out: https://example.com/notes"));
  EXPECT_TRUE(same_post_text("see https://t.co/a and https://t.co/b", "see example.com/a and https://example.org/b"));
}

TEST(SamePostText, WhitespaceRunsAndTrailingSpaceDoNotMatter) {
  EXPECT_TRUE(same_post_text("two\nlines  here ", "two lines here"));
  EXPECT_TRUE(same_post_text("a\r\n\r\nb", "a \n b"));
}

TEST(SamePostText, DifferentWordsOrUrlCountDoNotMatch) {
  EXPECT_FALSE(same_post_text("Release 1.2 is out", "Release 1.3 is out"));
  EXPECT_FALSE(same_post_text("see https://t.co/a", "see https://example.com/a and https://example.com/b"));
  EXPECT_FALSE(same_post_text("", "something"));
  EXPECT_FALSE(same_post_text("Release 1.2 is out!", "Release 1.2 is out"));
}

}  // namespace
}  // namespace multivio::app
