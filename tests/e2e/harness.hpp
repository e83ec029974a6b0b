// SPDX-License-Identifier: MIT
// Runs the real multivio and multiviod binaries in a throw-away home
// (HOME, XDG_CONFIG_HOME, XDG_DATA_HOME) with a clean environment.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace multivio::e2e {

struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};

/// A child process with stdout/stderr sent to files; killed (SIGKILL) when
/// destroyed if still running.
class Process {
 public:
  Process(pid_t pid, std::string err_file) : pid_(pid), err_file_(std::move(err_file)) {}
  Process(Process&& other) noexcept;
  Process& operator=(Process&&) = delete;
  ~Process();

  void signal(int sig) const;
  /// Exit code (128+signal when killed), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  bool running();
  std::string stderr_text() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string err_file_;
  bool reaped_ = false;
};

class Sandbox {
 public:
  Sandbox();
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& dir() const { return dir_; }
  std::string config_file() const { return dir_ + "/home/.config/multivio/config.yaml"; }
  std::string key_file() const { return dir_ + "/home/.config/multivio/key"; }
  std::string db_file() const { return dir_ + "/home/.local/share/multivio/multivio.db"; }

  std::map<std::string, std::string> env;

  /// Runs `multivio args...` with stdin from `input`.
  RunResult cli(const std::vector<std::string>& args, const std::string& input = "") const;
  /// Runs with --json appended; fails the test unless it exits 0 and prints one JSON document.
  nlohmann::json json(std::vector<std::string> args) const;
  /// Starts `multiviod args...` in the background.
  Process daemon(const std::vector<std::string>& args) const;
  /// Runs `multiviod args...` to completion.
  RunResult daemon_run(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const;

  /// Appends YAML to the config file (after `multivio init` wrote it).
  void append_config(const std::string& yaml) const;
  /// All bytes of the database and its WAL, for "no clear-text secret" checks.
  std::string database_bytes() const;
  /// Polls `post show ID --json` until pred(post) or timeout.
  bool wait_for_post(long long id, const std::function<bool(const nlohmann::json&)>& pred,
                     std::chrono::milliseconds timeout) const;

 private:
  std::vector<std::string> environment() const;
  std::string dir_;
  mutable int counter_ = 0;
};

std::string read_file(const std::string& path);

}  // namespace multivio::e2e
