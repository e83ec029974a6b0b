// SPDX-License-Identifier: MIT
// Text measurement shared by adapters. Depends on nothing else in the project.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace multivio::text {

/// Bytes in the well-formed UTF-8 sequence that starts s; 0 when s is empty
/// or starts with an ill-formed one (overlong, surrogate, > U+10FFFF, cut short).
std::size_t utf8_sequence_length(std::string_view s) noexcept;
/// True when s is valid UTF-8.
bool valid_utf8(std::string_view s) noexcept;
/// Unicode code points in valid UTF-8 (Discord and Slack count these).
std::size_t code_points(std::string_view s) noexcept;
/// s with leading and trailing ASCII whitespace removed.
std::string_view trim(std::string_view s) noexcept;
/// Levenshtein distance in bytes, for "did you mean" hints.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// Cuts s to at most max code points, never inside a UTF-8 sequence.
std::string truncate_code_points(std::string_view s, std::size_t max);

}  // namespace multivio::text
