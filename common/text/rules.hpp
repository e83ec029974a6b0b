// SPDX-License-Identifier: MIT
// Each network's text length rules as pure functions, so `post check`, the AI
// validation loop and the adapters all count the same way. Depends on
// nothing else in the project (utf8proc for normalisation and graphemes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace multivio::text {

struct LengthReport {
  std::size_t length = 0;  // in `unit`
  std::size_t limit = 0;   // 0: no limit
  std::string unit;        // "weighted characters", "characters", "graphemes", ...
  std::vector<std::string> problems;  // empty when the text is acceptable
  bool ok() const { return problems.empty(); }
};

struct UrlSpan {
  std::size_t begin = 0;  // byte offsets into the text
  std::size_t end = 0;
};

/// Networks with known rules: x, mastodon, bluesky, threads, linkedin,
/// facebook, instagram, tiktok, youtube, discord, slack.
bool has_rules(std::string_view network);
std::vector<std::string_view> networks_with_rules();

/// Measures text for a network. `limit_override` > 0 replaces the default
/// limit (Mastodon instances configure their own). Empty text, invalid
/// UTF-8 and every rule broken are listed as problems, each one sentence
/// naming the numbers ("text is 312 weighted characters; x allows 280").
/// Throws Error(usage) for a network without rules.
LengthReport measure(std::string_view network, std::string_view text, std::size_t limit_override = 0);

/// twitter-text v3: NFC first; code points in the v3 weight-1 ranges count 1,
/// everything else 2; emoji sequences count 2; every URL counts 23.
std::size_t x_weighted_length(std::string_view text);
/// Mastodon: grapheme clusters (as the server counts), every http(s) URL
/// counts 23, @user@domain counts as @user.
std::size_t mastodon_length(std::string_view text);
/// Extended grapheme clusters (utf8proc).
std::size_t graphemes(std::string_view text);
/// URLs with a scheme (http/https) or a bare domain with a known TLD
/// ("example.com/path"), as twitter-text finds them.
std::vector<UrlSpan> find_urls(std::string_view text);

}  // namespace multivio::text
