// SPDX-License-Identifier: MIT
#include "cli/output/table.hpp"

#include <algorithm>
#include <cstdint>

#include "common/text/text.hpp"

namespace multivio::cli::output {
namespace {

// Decodes one code point; invalid bytes decode as themselves so a broken
// string still gets a finite, roughly right width.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
  if (i + extra >= s.size()) extra = 0;  // truncated sequence: count the lead byte alone
  char32_t cp = extra == 0 ? b : (b & (0x3F >> extra));
  for (std::size_t k = 1; k <= extra; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += 1 + extra;
  return cp;
}

int code_point_width(char32_t c) {
  if (c == 0x200B || c == 0x200C || c == 0x200D || (c >= 0x0300 && c <= 0x036F) ||
      (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE00 && c <= 0xFE0F) ||
      (c >= 0xE0100 && c <= 0xE01EF)) {
    return 0;
  }
  if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F) ||
      (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
      (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
      (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x1FA70 && c <= 0x1FAFF) || (c >= 0x20000 && c <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

}  // namespace

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size();) width += code_point_width(next_code_point(text, i));
  return width;
}

std::string one_line(std::string_view text, std::size_t max) {
  // Runs of whitespace (line breaks included) become one space.
  std::string flat;
  for (char c : text::trim(text)) {
    const bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t';
    if (!space) flat += c;
    else if (flat.empty() || flat.back() != ' ') flat += ' ';
  }
  if (max == 0 || text::code_points(flat) <= max) return flat;
  return text::truncate_code_points(flat, max - 1) + "…";
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::vector<std::string> Table::lines(const Paint& paint) const {
  std::size_t columns = headers_.size();
  for (const auto& row : rows_) columns = std::max(columns, row.size());
  std::vector<std::size_t> widths(columns, 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  };
  measure(headers_);
  for (const auto& row : rows_) measure(row);

  auto render = [&](const std::vector<std::string>& row, bool header) {
    std::string out;
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c > 0) out += "  ";
      out += (paint && !header) ? paint(c, row[c]) : row[c];
      if (c + 1 < row.size()) out.append(widths[c] - display_width(row[c]), ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  };

  std::vector<std::string> out;
  if (!headers_.empty()) out.push_back(render(headers_, true));
  for (const auto& row : rows_) out.push_back(render(row, false));
  return out;
}

}  // namespace multivio::cli::output
