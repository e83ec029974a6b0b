// SPDX-License-Identifier: MIT
#include "cli/output/printer.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

namespace multivio::cli::output {

bool color_wanted(bool no_color_flag) {
  if (no_color_flag) return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

std::string dump(const nlohmann::json& doc, int indent) {
  // Remote error texts and user files can carry broken UTF-8; printing must
  // not fail because of them.
  return doc.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Printer::json_doc(const nlohmann::json& doc) const { std::cout << dump(doc, 2) << '\n'; }

void Printer::json_text(std::string_view text) const {
  std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
  std::cout << '\n';
}

void Printer::line(std::string_view text) const { std::cout << text << '\n'; }

void Printer::note(std::string_view text) const {
  if (!style_.quiet) std::cerr << text << '\n';
}

std::string Printer::paint(std::string_view text, Color color) const {
  if (!style_.color || color == Color::none || text.empty()) return std::string(text);
  const char* code = "";
  switch (color) {
    case Color::red: code = "31"; break;
    case Color::green: code = "32"; break;
    case Color::yellow: code = "33"; break;
    case Color::blue: code = "34"; break;
    case Color::dim: code = "2"; break;
    case Color::bold: code = "1"; break;
    case Color::none: break;
  }
  return std::string("\x1b[") + code + "m" + std::string(text) + "\x1b[0m";
}

Color status_color(std::string_view s) {
  if (s == "published" || s == "ok" || s == "healthy") return Color::green;
  if (s == "failed" || s == "unhealthy" || s == "FAIL") return Color::red;
  if (s == "unknown" || s == "partial" || s == "retry_wait") return Color::yellow;
  if (s == "scheduled" || s == "claimed" || s == "publishing") return Color::blue;
  if (s == "draft" || s == "cancelled") return Color::dim;
  return Color::none;
}

std::string Printer::status(std::string_view s) const { return paint(s, status_color(s)); }

}  // namespace multivio::cli::output
