// SPDX-License-Identifier: MIT
// Splits a text that is too long for one post into a thread of parts, each of
// which a network accepts. Network-neutral: the caller says what "fits" means
// (text::measure for its network and limit). Depends on nothing else in the
// project but the text rules (URLs) and utf8proc (grapheme clusters).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace multivio::text {

struct ThreadOptions {
  /// Append " (i/n)" to every part of a thread of two or more parts.
  bool counter = true;
};

/// Returns the text unchanged as the only part when fits(text); otherwise
/// parts in order, each trimmed of surrounding whitespace and (with
/// opts.counter) ending in " (i/n)", with fits(part) true for every part.
///
/// Breaks are chosen greedily, as far along as fits, preferring a paragraph
/// break (blank line), then a sentence end (".", "!", "?", "…" before a
/// space, a line break, or CJK "。！？"), then a space, and only as a last
/// resort a grapheme-cluster boundary inside a long word. A part never ends
/// inside a URL (text::find_urls), an @mention (with its @domain), a
/// #hashtag or a grapheme cluster.
///
/// fits must be monotonic: a part with less text (and the same counter)
/// fits whenever the longer one does, as under every length rule. Throws Error(validation) naming the token when a
/// single unbreakable token (with its counter) does not fit on its own, and
/// for text that is not valid UTF-8.
std::vector<std::string> split_thread(std::string_view text, const std::function<bool(std::string_view)>& fits,
                                      const ThreadOptions& opts = {});

}  // namespace multivio::text
