// SPDX-License-Identifier: MIT
#include "cli/input.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "common/error.hpp"

namespace multivio::cli::input {
namespace {

constexpr std::string_view kScissors = "# ------------------------ >8 ------------------------";

std::string trim_end(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

std::string trim_start_lines(std::string s) {
  // Drop leading blank lines only: leading spaces on the first line may be meant.
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') start = i + 1;
    else if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') break;
  }
  return s.substr(start);
}

// Runs the editor through the shell so "code --wait" or "emacs -nw" work,
// while the file name travels as "$1" and is never re-parsed.
int run_editor(const std::string& editor, const std::string& path) {
  const std::string command = editor + " \"$1\"";
  // Like git: the editor owns the terminal; ^C there must not kill us and
  // leave the temporary file behind.
  struct sigaction ignore {}, old_int {}, old_quit {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGQUIT, &ignore, &old_quit);
  const pid_t pid = fork();
  if (pid == 0) {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    execl("/bin/sh", "sh", "-c", command.c_str(), "multivio-editor", path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = -1;
  if (pid > 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  if (pid < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string editor_command() {
  for (const char* name : {"VISUAL", "EDITOR"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "vi";
}

}  // namespace

std::string read_line_stdin() {
  std::string line;
  if (!std::getline(std::cin, line)) throw_usage("no input on standard input");
  return trim_end(std::move(line));
}

std::string read_secret(const std::string& prompt) {
  if (::isatty(STDIN_FILENO) == 0) return read_line_stdin();
  termios old_mode{};
  const bool have_mode = ::tcgetattr(STDIN_FILENO, &old_mode) == 0;
  if (have_mode) {
    termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::fprintf(stderr, "%s", prompt.c_str());
  std::fflush(stderr);
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (have_mode) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_mode);
  std::fprintf(stderr, "\n");
  if (!got) throw_usage("no input on standard input");
  return trim_end(std::move(line));
}

bool open_browser(const std::string& url) {
  std::string command;
  if (const char* browser = std::getenv("BROWSER"); browser != nullptr && *browser != '\0') {
    command = std::string(browser) + " \"$1\"";
  } else if ((std::getenv("DISPLAY") != nullptr || std::getenv("WAYLAND_DISPLAY") != nullptr) &&
             access("/usr/bin/xdg-open", X_OK) == 0) {
    command = "/usr/bin/xdg-open \"$1\"";
  } else {
    return false;
  }
  // Double fork: the browser outlives nothing of ours and leaves no zombie;
  // its output must not mix with ours (stdout may be a JSON document).
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (fork() == 0) {
      const int devnull = ::open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
      }
      execl("/bin/sh", "sh", "-c", command.c_str(), "multivio-browser", url.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return true;
}

std::string read_stdin() {
  std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  return trim_end(std::move(text));
}

std::string read_file(const std::string& path) {
  if (path == "-") return read_stdin();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_usage("cannot read '" + path + "': " + std::strerror(errno));
  return std::string{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string text_arg(const std::string& arg) { return arg == "-" ? read_stdin() : arg; }

std::string edit(const std::string& initial, const std::string& help) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string path = std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") + "/multivio-XXXXXX.txt";
  const int fd = mkstemps(path.data(), 4);  // 0600: drafts can be private
  if (fd < 0) throw_usage("cannot create a temporary file for the editor: " + std::string(std::strerror(errno)));
  ::close(fd);

  struct Remove {
    const std::string& path;
    ~Remove() { std::remove(path.c_str()); }
  } remove_on_exit{path};

  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << initial << (initial.empty() ? "" : "\n") << "\n" << kScissors << "\n"
        << "# Do not modify or remove the line above.\n"
        << "# Everything below it is ignored; an empty text cancels.\n";
    std::istringstream lines(help);
    for (std::string line; std::getline(lines, line);) out << "# " << line << "\n";
    if (!out) throw_usage("cannot write the temporary file " + path);
  }

  const std::string editor = editor_command();
  const int status = run_editor(editor, path);
  if (status != 0) {
    throw_usage("editor '" + editor + "' exited with status " + std::to_string(status) + "; nothing was saved");
  }

  std::string text = read_file(path);
  if (const auto cut = text.find(kScissors); cut != std::string::npos) text.erase(cut);
  text = trim_end(trim_start_lines(std::move(text)));
  if (text.empty()) throw_usage("empty text from the editor; nothing was saved");
  return text;
}

std::pair<std::string, std::string> split_assignment(const std::string& value, std::string_view flag) {
  const auto eq = value.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw_usage(std::string(flag) + " expects REF=TEXT, got '" + value + "'");
  }
  return {value.substr(0, eq), value.substr(eq + 1)};
}

}  // namespace multivio::cli::input
