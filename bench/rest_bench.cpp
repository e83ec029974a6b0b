// SPDX-License-Identifier: MIT
// Load on the REST listener: the real multiviod --listen 127.0.0.1:0 in a
// throw-away home with 50 posts, and GET /v1/posts (the default page of 20
// posts with their targets) from C keep-alive connections, N requests in all.
// Bounded in count and in time (60 s of requests at most; the daemon is
// stopped at the end).
//
// Usage: bench_rest [--requests N] [--connections C]
// Prints one markdown row on stdout, progress on stderr. Exit status 1 when
// a request failed or the setup did not work.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/http/client.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string home;

std::vector<std::string> environment() {
  return {"HOME=" + home, "XDG_CONFIG_HOME=" + home + "/.config", "XDG_DATA_HOME=" + home + "/.local/share",
          "PATH=/usr/bin:/bin", "TZ=UTC"};
}

pid_t spawn(const std::string& program, const std::vector<std::string>& args, const std::string& out_file) {
  std::vector<std::string> all{program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto env = environment();
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, (out_file + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + program);
  return pid;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs the CLI to completion; returns stdout, throws on a non-zero exit.
std::string cli(const std::vector<std::string>& args) {
  const std::string out = home + "/cli.out";
  const pid_t pid = spawn(MULTIVIO_CLI, args, out);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("multivio " + args.front() + " failed: " + slurp(out + ".err"));
  }
  return slurp(out);
}

// utime + stime of a process in seconds, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

int main(int argc, char** argv) try {
  int requests = 20'000;
  int connections = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--requests") requests = std::max(1, std::atoi(argv[i + 1]));
    if (flag == "--connections") connections = std::clamp(std::atoi(argv[i + 1]), 1, 256);
  }
  std::string tmpl = (fs::temp_directory_path() / "multivio-bench-rest-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  home = tmpl;

  std::cerr << "bench_rest: setting up 50 posts in " << home << "\n";
  cli({"init"});
  {
    std::ofstream config(home + "/.config/multivio/config.yaml", std::ios::app);
    config << "\ndaemon: {http: {rate_limit: 0}}\nlog: {level: warn}\n";
  }
  cli({"account", "add", "feed", "--name", "main", "--path", home + "/feed"});
  for (int i = 0; i < 50; ++i) cli({"post", "new", "post number " + std::to_string(i), "--to", "feed:main", "--draft"});
  const auto token = nlohmann::json::parse(
      cli({"--json", "token", "create", "--user", "local", "--scope", "posts:read", "--name", "bench"}))["token"]
                         .get<std::string>();

  const std::string port_file = home + "/port";
  const pid_t daemon = spawn(MULTIVIOD, {"--listen", "127.0.0.1:0", "--listen-port-file", port_file}, home + "/d.out");
  int port = 0;
  for (auto until = Clock::now() + 20s; Clock::now() < until && port == 0; std::this_thread::sleep_for(20ms)) {
    const auto text = slurp(port_file);
    if (!text.empty()) port = std::stoi(text);
  }
  if (port == 0) throw std::runtime_error("the listener did not start: " + slurp(home + "/d.out.err"));

  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v1/posts";
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(connections));
  const auto deadline = Clock::now() + 60s;
  const double daemon_cpu_before = cpu_seconds(daemon);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      // One client per thread: its curl handle keeps the connection alive.
      auto client = multivio::http::make_client();
      multivio::http::Request r;
      r.url = url;
      r.headers.emplace_back("Authorization", "Bearer " + token);
      auto& mine = latencies[static_cast<std::size_t>(c)];
      while (next.fetch_add(1) < requests && Clock::now() < deadline) {
        const auto t0 = Clock::now();
        try {
          const auto res = client->send(r);
          if (res.status != 200 || res.body.size() < 100) ++failed;
        } catch (const std::exception&) {
          ++failed;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double daemon_cpu = cpu_seconds(daemon) - daemon_cpu_before;
  ::kill(daemon, SIGTERM);
  int status = 0;
  ::waitpid(daemon, &status, 0);

  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const auto pct = [&](double p) { return all.empty() ? 0.0 : all[static_cast<std::size_t>(p * (all.size() - 1))]; };
  const double rate = static_cast<double>(all.size()) / seconds;
  std::printf("| GET /v1/posts (20 of 50 posts) | %zu requests, %d keep-alive connections | %.0f req/s | p50 %.2f ms, "
              "p99 %.2f ms | daemon CPU %.0f us/request | %d failed |\n",
              all.size(), connections, rate, pct(0.5), pct(0.99),
              all.empty() ? 0.0 : daemon_cpu * 1e6 / static_cast<double>(all.size()), failed.load());
  if (std::getenv("MULTIVIO_KEEP_SANDBOX") == nullptr) {
    std::error_code ec;
    fs::remove_all(home, ec);
  }
  return failed.load() == 0 && static_cast<int>(all.size()) == requests ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "bench_rest: " << e.what() << "\n";
  return 1;
}
