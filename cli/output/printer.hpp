// SPDX-License-Identifier: MIT
// Where command results go: one JSON document on stdout with --json, text
// otherwise; notes go to stderr and disappear with --quiet. Colour is decided
// once, here, so command code never asks the terminal anything.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace multivio::cli::output {

struct Style {
  bool json = false;
  bool quiet = false;
  bool color = false;
};

/// True when colour is allowed on stdout: a TTY, no --no-color, NO_COLOR
/// unset or empty (https://no-color.org), and TERM is not "dumb".
bool color_wanted(bool no_color_flag);

enum class Color { none, red, green, yellow, blue, dim, bold };

class Printer {
 public:
  explicit Printer(Style style) : style_(style) {}

  bool json() const { return style_.json; }
  bool quiet() const { return style_.quiet; }

  /// Prints the one JSON document of this invocation on stdout.
  void json_doc(const nlohmann::json& doc) const;
  /// A JSON document already printed (model::posts_json), plus a newline.
  void json_text(std::string_view text) const;
  /// A line of the command's result on stdout.
  void line(std::string_view text = {}) const;
  /// Progress and informational text on stderr; silent with --quiet.
  void note(std::string_view text) const;

  std::string paint(std::string_view text, Color color) const;
  /// A target or post status coloured by meaning (published green, failed red...).
  std::string status(std::string_view status) const;

 private:
  Style style_;
};

/// Colour that conveys a status name; Color::none for neutral ones.
Color status_color(std::string_view status);

/// nlohmann::json::dump that never throws on invalid UTF-8 (it is replaced).
std::string dump(const nlohmann::json& doc, int indent);

}  // namespace multivio::cli::output
