// SPDX-License-Identifier: MIT
// Where command text comes from: an argument, standard input ("-"), a file,
// or the user's editor. Throws multivio::Error(usage) for anything unusable.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace multivio::cli::input {

/// All of standard input, trailing whitespace removed (a piped `echo` adds a newline nobody means to post).
std::string read_stdin();
/// One line from standard input, without its line ending; Error(usage) at
/// end of input.
std::string read_line_stdin();
/// A secret from standard input: at a terminal, asked with `prompt` on
/// stderr and not echoed; otherwise the first line piped in. Error(usage)
/// at end of input.
std::string read_secret(const std::string& prompt);
/// Opens `url` with $BROWSER (a command; the URL is its last argument), or
/// xdg-open when a display is available. Does not wait for it. false when
/// neither is available.
bool open_browser(const std::string& url);

/// A file's contents, or standard input for "-".
std::string read_file(const std::string& path);

/// The value of a TEXT argument: "-" reads standard input.
std::string text_arg(const std::string& arg);

/// Opens $VISUAL, else $EDITOR, else vi on a temporary file holding
/// `initial` above a scissors line and `help`; returns what is above the
/// scissors line, trimmed. A scissors line (as in `git commit -v`) rather than
/// '#' comments, because posts start lines with hashtags. Throws usage when the
/// editor fails or the result is empty.
std::string edit(const std::string& initial, const std::string& help);

/// Splits "REF=TEXT" at the first '='; `flag` names the option in errors.
std::pair<std::string, std::string> split_assignment(const std::string& value, std::string_view flag);

}  // namespace multivio::cli::input
