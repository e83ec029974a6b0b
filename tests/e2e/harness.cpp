// SPDX-License-Identifier: MIT
#include "tests/e2e/harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

extern char** environ;

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;

pid_t spawn(const std::string& program, const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& in_file, const std::string& out_file, const std::string& err_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_file.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + program);
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Process::Process(Process&& other) noexcept
    : pid_(other.pid_), err_file_(std::move(other.err_file_)), reaped_(other.reaped_) {
  other.pid_ = -1;
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void Process::signal(int sig) const {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

int Process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return decode_status(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(10ms);
  }
}

bool Process::running() {
  if (reaped_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    return false;
  }
  return true;
}

std::string Process::stderr_text() const { return read_file(err_file_); }

Sandbox::Sandbox() {
  std::string templ = (std::filesystem::temp_directory_path() / "multivio-e2e.XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  std::filesystem::create_directories(dir_ + "/home");
  env["HOME"] = dir_ + "/home";
  env["XDG_CONFIG_HOME"] = dir_ + "/home/.config";
  env["XDG_DATA_HOME"] = dir_ + "/home/.local/share";
  env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  env["TZ"] = "UTC";
  env["LANG"] = "C.UTF-8";
}

Sandbox::~Sandbox() {
  std::error_code ec;
  if (!::getenv("MULTIVIO_KEEP_SANDBOX")) std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> Sandbox::environment() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

RunResult Sandbox::cli(const std::vector<std::string>& args, const std::string& input) const {
  const std::string base = dir_ + "/run" + std::to_string(++counter_);
  {
    std::ofstream in(base + ".in", std::ios::binary);
    in << input;
  }
  const pid_t pid = spawn(MULTIVIO_CLI, args, environment(), base + ".in", base + ".out", base + ".err");
  int status = 0;
  ::waitpid(pid, &status, 0);
  return RunResult{decode_status(status), read_file(base + ".out"), read_file(base + ".err")};
}

nlohmann::json Sandbox::json(std::vector<std::string> args) const {
  args.push_back("--json");
  const auto r = cli(args);
  std::string joined;
  for (const auto& a : args) joined += a + " ";
  EXPECT_EQ(r.code, 0) << "multivio " << joined << "\nstdout: " << r.out << "\nstderr: " << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "multivio " << joined << " printed no JSON: " << r.out;
    return nullptr;
  }
}

Process Sandbox::daemon(const std::vector<std::string>& args) const {
  const std::string base = dir_ + "/daemon" + std::to_string(++counter_);
  { std::ofstream in(base + ".in"); }
  const pid_t pid = spawn(MULTIVIOD, args, environment(), base + ".in", base + ".out", base + ".err");
  return Process(pid, base + ".err");
}

RunResult Sandbox::daemon_run(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
  const std::string base = dir_ + "/daemon" + std::to_string(++counter_);
  { std::ofstream in(base + ".in"); }
  const pid_t pid = spawn(MULTIVIOD, args, environment(), base + ".in", base + ".out", base + ".err");
  Process p(pid, base + ".err");
  const int code = p.wait(timeout);
  return RunResult{code, read_file(base + ".out"), read_file(base + ".err")};
}

void Sandbox::append_config(const std::string& yaml) const {
  std::ofstream out(config_file(), std::ios::app);
  out << yaml << "\n";
}

std::string Sandbox::database_bytes() const {
  return read_file(db_file()) + read_file(db_file() + "-wal") + read_file(db_file() + "-journal");
}

bool Sandbox::wait_for_post(long long id, const std::function<bool(const nlohmann::json&)>& pred,
                            std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto r = cli({"post", "show", std::to_string(id), "--json"});
    if (r.code == 0) {
      try {
        if (pred(nlohmann::json::parse(r.out))) return true;
      } catch (const nlohmann::json::exception&) {
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

}  // namespace multivio::e2e
