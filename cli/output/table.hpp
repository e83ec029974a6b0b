// SPDX-License-Identifier: MIT
// Aligned text columns for list output. Cells are plain text; colour is added
// after padding so escape codes never skew the alignment.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace multivio::cli::output {

/// Terminal columns a UTF-8 string occupies: wide East Asian characters and
/// most emoji count 2, combining marks 0. Deliberately locale-independent
/// (wcwidth() answers -1 for every non-ASCII character in the C locale).
std::size_t display_width(std::string_view text);

/// Text for one table cell: line breaks and tabs become spaces and the result
/// is cut to at most `max` code points, ending in "…" when cut.
std::string one_line(std::string_view text, std::size_t max);

/// "a, b, c" (or with another separator).
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

class Table {
 public:
  /// Styles a cell after padding: (column, raw cell text) -> text to print.
  using Paint = std::function<std::string(std::size_t column, const std::string& cell)>;

  /// An empty header list prints no header row.
  explicit Table(std::vector<std::string> headers = {}) : headers_(std::move(headers)) {}

  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }

  /// Rendered lines (header first); columns separated by two spaces, the last
  /// column not padded, no trailing spaces.
  std::vector<std::string> lines(const Paint& paint = {}) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace multivio::cli::output
