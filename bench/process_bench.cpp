// SPDX-License-Identifier: MIT
// Whole-process benchmarks of the real multivio and multiviod binaries, each
// scenario in a throw-away home (HOME, XDG_CONFIG_HOME, XDG_DATA_HOME under
// /tmp) with a clean environment; every server is on 127.0.0.1.
//
//   a  multivio --help: wall time and max RSS
//   b  multivio post list --json over 10,000 posts (default limit and --limit 10000)
//   c  create+schedule through 100 CLI calls
//   d  multiviod --once throughput: 5,000 due posts to a webhook fake with 20 ms latency
//   e  due-time precision with the daemon running; inotify wake-up for a post due in 1 s
//   f  daemon idle: CPU and RSS over 60 s
//   g  1, 2 and 3 `multiviod --once` on one PostgreSQL database (the test
//      fake server), and 1 on SQLite: 2,000 due posts, 20 ms webhook latency
//
// Usage: bench_process [--quick] [--only a,b,...] [--out results.json]
// Prints a markdown table on stdout and progress on stderr. Exit status 1
// when a correctness check failed (lines marked FAIL); a missed goal is
// reported (MISS) but does not fail the run.
#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/model/model.hpp"
#include "common/store/store.hpp"
#include "tests/fakes/postgres_server.hpp"
#include "tests/fakes/webhook_server.hpp"

namespace multivio::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using model::Timestamp;

// ---------------------------------------------------------------- helpers

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

Timestamp now_ms() { return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()); }

double load1() {
  double l[3] = {0, 0, 0};
  return ::getloadavg(l, 3) > 0 ? l[0] : -1;
}

std::string fixed(double v, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  while (lines-- > 0 && pos > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos);
}

struct Stats {
  std::size_t n = 0;
  double min = 0, median = 0, p95 = 0, p99 = 0, max = 0, mean = 0;
};

/// Nearest-rank percentiles.
Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto pct = [&](double p) {
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
  };
  s.n = v.size();
  s.min = v.front();
  s.max = v.back();
  s.median = pct(50);
  s.p95 = pct(95);
  s.p99 = pct(99);
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  return s;
}

Json to_json(const Stats& s) {
  return {{"n", s.n}, {"min", s.min}, {"median", s.median}, {"p95", s.p95},
          {"p99", s.p99}, {"max", s.max}, {"mean", s.mean}};
}

// ---------------------------------------------------------------- processes

struct Run {
  int code = -1;  // exit status, 128+signal, or -1 when killed on timeout
  double wall_ms = 0;
  long maxrss_kb = 0;
  double cpu_ms = 0;  // user + system
  std::string out;
  std::string err;
};

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

/// Blocks until the child exits or the timeout passes (then SIGKILLs it), and
/// reaps it with its resource usage. Returns the wait status; timed_out set.
int reap(pid_t pid, std::chrono::milliseconds timeout, rusage& ru, bool& timed_out) {
  timed_out = false;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int rc = 0;
    do {
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    ::close(pidfd);
    if (rc == 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
    }
  } else {
    // No pidfd (kernel < 5.3): poll the child instead; coarser but bounded.
    const auto deadline = Clock::now() + timeout;
    int status = 0;
    for (;;) {
      const pid_t r = ::wait4(pid, &status, WNOHANG, &ru);
      if (r == pid) return status;
      if (Clock::now() >= deadline) {
        timed_out = true;
        ::kill(pid, SIGKILL);
        break;
      }
      std::this_thread::sleep_for(200us);
    }
  }
  int status = 0;
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  return status;
}

pid_t spawn(const std::string& program, const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& out_file, const std::string& err_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv{const_cast<char*>(program.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));
  return pid;
}

/// A background process (the daemon); SIGKILLed when destroyed if still running.
class Child {
 public:
  Child(pid_t pid, std::string err_file) : pid_(pid), err_file_(std::move(err_file)) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(err_file_); }

  /// Waits (bounded) until the log contains `text`; false when the process
  /// died or the timeout passed.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (log().find(text) != std::string::npos) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return false;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  /// Waits for the process to exit by itself (SIGKILL after the timeout);
  /// returns the exit code (-1: killed) and its CPU time in ms.
  std::pair<int, double> wait(std::chrono::milliseconds timeout) {
    if (reaped_) return {-1, 0};
    rusage ru{};
    bool timed_out = false;
    const int status = reap(pid_, timeout, ru, timed_out);
    reaped_ = true;
    const double cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
                          (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
    return {timed_out ? -1 : decode_status(status), cpu_ms};
  }

  /// SIGTERM, then SIGKILL after the timeout. Returns the exit code (-1: killed).
  int stop(std::chrono::milliseconds timeout) {
    if (reaped_) return -1;
    ::kill(pid_, SIGTERM);
    rusage ru{};
    bool timed_out = false;
    const int status = reap(pid_, timeout, ru, timed_out);
    reaped_ = true;
    return timed_out ? -1 : decode_status(status);
  }

 private:
  pid_t pid_;
  std::string err_file_;
  bool reaped_ = false;
};

/// A throw-away home with its own config, key and database.
class Sandbox {
 public:
  explicit Sandbox(const std::string& name) {
    std::string templ = (std::filesystem::temp_directory_path() / ("multivio-bench-" + name + ".XXXXXX")).string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
    std::filesystem::create_directories(dir_ + "/home");
    env_["HOME"] = dir_ + "/home";
    env_["XDG_CONFIG_HOME"] = dir_ + "/home/.config";
    env_["XDG_DATA_HOME"] = dir_ + "/home/.local/share";
    env_["PATH"] = "/usr/local/bin:/usr/bin:/bin";
    env_["TZ"] = "UTC";
    env_["LANG"] = "C.UTF-8";
  }
  ~Sandbox() {
    std::error_code ec;
    if (!std::getenv("MULTIVIO_KEEP_SANDBOX")) std::filesystem::remove_all(dir_, ec);
  }
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& dir() const { return dir_; }
  std::string config_file() const { return dir_ + "/home/.config/multivio/config.yaml"; }
  const std::string& database() const { return database_; }

  /// Runs a program to completion through the bench_spawn launcher, which
  /// times it and reports its own max RSS; output files are read and removed.
  Run run(const std::string& program, const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s,
          const std::map<std::string, std::string>& extra_env = {}) const {
    const std::string base = dir_ + "/run" + std::to_string(++counter_);
    const auto timeout_s = std::chrono::duration_cast<std::chrono::seconds>(timeout).count() + 1;
    std::vector<std::string> launcher_args{base + ".res", std::to_string(timeout_s), program};
    launcher_args.insert(launcher_args.end(), args.begin(), args.end());
    Run r;
    rusage ru{};
    bool timed_out = false;
    const pid_t pid = spawn(BENCH_SPAWN, launcher_args, environment(extra_env), base + ".out", base + ".err");
    const int status = reap(pid, timeout + 10s, ru, timed_out);  // backstop; the launcher enforces timeout
    std::istringstream res(read_file(base + ".res"));
    long long wall_us = 0, cpu_us = 0;
    if (timed_out || decode_status(status) != 0 || !(res >> r.code >> wall_us >> r.maxrss_kb >> cpu_us)) {
      r.code = -1;
    }
    r.wall_ms = static_cast<double>(wall_us) / 1000.0;
    r.cpu_ms = static_cast<double>(cpu_us) / 1000.0;
    r.out = read_file(base + ".out");
    r.err = read_file(base + ".err");
    for (const char* ext : {".out", ".err", ".res"}) std::filesystem::remove(base + ext);
    return r;
  }
  Run cli(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s) const {
    return run(MULTIVIO_CLI, args, timeout);
  }
  /// Runs the CLI and throws unless it exits 0.
  Run must(const std::vector<std::string>& args) const {
    auto r = cli(args);
    if (r.code != 0) {
      std::string joined;
      for (const auto& a : args) joined += " " + a;
      throw std::runtime_error("multivio" + joined + " exited " + std::to_string(r.code) + ": " + r.err);
    }
    return r;
  }
  /// `multivio init --json`; remembers the database URL it reports.
  /// With MULTIVIO_BENCH_SETUP_SQL set, runs that SQL on the new database with
  /// the sqlite3 shell: for what-if experiments (say, an index) without
  /// changing the product. Results are then not the product's numbers.
  void init(const std::string& database = "") {
    std::vector<std::string> args{"init", "--json"};
    if (!database.empty()) args.insert(args.begin(), {"--db", database});
    database_ = Json::parse(must(args).out).at("database").get<std::string>();
    if (const char* sql = std::getenv("MULTIVIO_BENCH_SETUP_SQL"); sql && *sql) {
      const auto r = run("/usr/bin/sqlite3", {store::local_file(database_), sql}, 30s);
      if (r.code != 0) throw std::runtime_error("MULTIVIO_BENCH_SETUP_SQL failed: " + r.err);
      std::cerr << "  (experiment: ran MULTIVIO_BENCH_SETUP_SQL on " << database_ << ")\n";
    }
  }

  std::unique_ptr<Child> start_daemon(const std::vector<std::string>& args) const {
    const std::string base = dir_ + "/daemon" + std::to_string(++counter_);
    const pid_t pid = spawn(MULTIVIOD, args, environment(), base + ".out", base + ".err");
    return std::make_unique<Child>(pid, base + ".err");
  }

  void append_config(const std::string& yaml) const {
    std::ofstream out(config_file(), std::ios::app);
    out << yaml << "\n";
  }

 private:
  std::vector<std::string> environment(const std::map<std::string, std::string>& extra = {}) const {
    auto env = env_;
    for (const auto& [k, v] : extra) env[k] = v;
    std::vector<std::string> out;
    for (const auto& [k, v] : env) out.push_back(k + "=" + v);
    return out;
  }
  std::string dir_;
  std::string database_;
  std::map<std::string, std::string> env_;
  mutable int counter_ = 0;
};

/// Creates `n` posts through the library in one transaction; returns their
/// ids and due times. at(i) gives post i's schedule time.
std::vector<std::pair<std::int64_t, Timestamp>> create_posts(const std::string& database, const std::string& platform,
                                                             const std::string& account, int n,
                                                             const std::function<Timestamp(int)>& at) {
  auto st = store::open(database);
  const auto acct = st->find_account(platform, account);
  if (!acct) throw std::runtime_error("no account " + platform + ":" + account);
  std::vector<std::pair<std::int64_t, Timestamp>> out;
  out.reserve(static_cast<std::size_t>(n));
  const auto now = now_ms();
  st->transaction([&] {
    for (int i = 0; i < n; ++i) {
      store::NewPost p;
      p.text = "benchmark post " + std::to_string(i) + " with a little text, like a real announcement";
      p.scheduled_at = at(i);
      p.timezone = "UTC";
      p.targets.push_back(store::NewTarget{acct->id, std::nullopt, Json::object()});
      const auto created = st->create_post(p, now);
      out.emplace_back(created.post.id, *p.scheduled_at);
    }
  });
  return out;
}

/// DT_NEEDED entries of a 64-bit ELF file, in order (empty when unreadable).
std::vector<std::string> needed_libraries(const std::string& path) {
  const std::string f = read_file(path);
  std::vector<std::string> out;
  auto fits = [&](std::uint64_t off, std::uint64_t len) { return off <= f.size() && len <= f.size() - off; };
  if (!fits(0, sizeof(Elf64_Ehdr)) || f.compare(0, 4, ELFMAG) != 0 || f[EI_CLASS] != ELFCLASS64) return out;
  Elf64_Ehdr eh;
  std::memcpy(&eh, f.data(), sizeof eh);
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || !fits(eh.e_shoff, std::uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr))) {
    return out;
  }
  auto section = [&](std::size_t i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, f.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof sh);
    return sh;
  };
  for (std::size_t i = 0; i < eh.e_shnum; ++i) {
    const auto dyn = section(i);
    if (dyn.sh_type != SHT_DYNAMIC || dyn.sh_link >= eh.e_shnum || !fits(dyn.sh_offset, dyn.sh_size)) continue;
    const auto strtab = section(dyn.sh_link);
    if (!fits(strtab.sh_offset, strtab.sh_size)) continue;
    for (std::uint64_t off = 0; off + sizeof(Elf64_Dyn) <= dyn.sh_size; off += sizeof(Elf64_Dyn)) {
      Elf64_Dyn d;
      std::memcpy(&d, f.data() + dyn.sh_offset + off, sizeof d);
      if (d.d_tag == DT_NULL) break;
      if (d.d_tag == DT_NEEDED && d.d_un.d_val < strtab.sh_size) {
        out.emplace_back(f.c_str() + strtab.sh_offset + d.d_un.d_val);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- report

struct Options {
  bool quick = false;
  std::string only = "abcdefg";
  std::string out_file;
  std::vector<int> workers{8, 16};
};

class Report {
 public:
  void row(const std::string& scenario, const std::string& metric, const std::string& value, const std::string& goal,
           const std::string& verdict, double load) {
    rows_.push_back({scenario, metric, value, goal, verdict, fixed(load, 2)});
    if (verdict == "FAIL") failed_ = true;
    std::cerr << "  " << scenario << " | " << metric << " | " << value << " | " << goal << " | " << verdict
              << " | load " << fixed(load, 2) << "\n";
  }
  void fail(const std::string& scenario, const std::string& what, double load) {
    row(scenario, what, "-", "-", "FAIL", load);
  }
  Json& json() { return json_; }
  bool failed() const { return failed_; }

  void print_markdown(std::ostream& out) const {
    out << "| scenario | metric | value | goal | verdict | load (1 min) |\n";
    out << "|---|---|---|---|---|---|\n";
    for (const auto& r : rows_) {
      out << "| " << r[0] << " | " << r[1] << " | " << r[2] << " | " << r[3] << " | " << r[4] << " | " << r[5]
          << " |\n";
    }
  }
  Json rows_json() const {
    Json a = Json::array();
    for (const auto& r : rows_) {
      a.push_back({{"scenario", r[0]}, {"metric", r[1]}, {"value", r[2]}, {"goal", r[3]}, {"verdict", r[4]},
                   {"load1", r[5]}});
    }
    return a;
  }

 private:
  std::vector<std::array<std::string, 6>> rows_;
  Json json_ = Json::object();
  bool failed_ = false;
};

std::string verdict(bool ok) { return ok ? "ok" : "MISS"; }

// ---------------------------------------------------------------- scenarios

void scenario_help(const Options& o, Report& rep) {
  const int runs = o.quick ? 20 : 200;
  std::cerr << "[a] multivio --help x" << runs << "\n";
  Sandbox box("help");
  for (int i = 0; i < 5; ++i) box.cli({"--help"});  // warm the page cache
  const double load0 = load1();
  std::vector<double> wall;
  long rss = 0;
  for (int i = 0; i < runs; ++i) {
    const auto r = box.cli({"--help"}, 10s);
    if (r.code != 0 || r.out.empty()) {
      rep.fail("a --help", "exit " + std::to_string(r.code) + " " + r.err, load1());
      return;
    }
    wall.push_back(r.wall_ms);
    rss = std::max(rss, r.maxrss_kb);
  }
  const double load = std::max(load0, load1());
  const auto s = stats(wall);
  rep.row("a `multivio --help`", "wall median (" + std::to_string(runs) + " runs)", fixed(s.median, 2) + " ms",
          "≤ 5 ms", verdict(s.median <= 5), load);
  rep.row("a `multivio --help`", "wall p95", fixed(s.p95, 2) + " ms", "≤ 5 ms", verdict(s.p95 <= 5), load);
  rep.row("a `multivio --help`", "max RSS", fixed(rss / 1024.0, 1) + " MB", "≤ 8 MB", verdict(rss <= 8 * 1024), load);
  Json j = {{"wall_ms", to_json(s)}, {"maxrss_kb", rss}, {"load1", load}};

  // Floors, measured the same way: process creation alone (/bin/true), and
  // /bin/true with multivio's direct shared libraries preloaded, which makes
  // the dynamic loader do what it does for multivio before main().
  const auto needed = needed_libraries(MULTIVIO_CLI);
  std::string preload;
  for (const auto& lib : needed) preload += (preload.empty() ? "" : ":") + lib;
  const std::vector<std::tuple<std::string, std::string, std::map<std::string, std::string>>> floors = {
      {"/bin/true", "/bin/true", {}},
      {"/bin/true + multivio's " + std::to_string(needed.size()) + " direct libraries (LD_PRELOAD)", "/bin/true",
       {{"LD_PRELOAD", preload}}},
  };
  for (const auto& [name, program, env] : floors) {
    for (int i = 0; i < 5; ++i) box.run(program, {}, 10s, env);
    std::vector<double> fw;
    long frss = 0;
    const double fl0 = load1();
    for (int i = 0; i < runs; ++i) {
      const auto r = box.run(program, {}, 10s, env);
      if (r.code != 0) {
        rep.fail("a floor: " + name, "exit " + std::to_string(r.code) + " " + r.err, load1());
        break;
      }
      fw.push_back(r.wall_ms);
      frss = std::max(frss, r.maxrss_kb);
    }
    const auto fs = stats(fw);
    const double fl = std::max(fl0, load1());
    rep.row("a floor: " + name, "wall median / p95, max RSS",
            fixed(fs.median, 2) + " / " + fixed(fs.p95, 2) + " ms, " + fixed(frss / 1024.0, 1) + " MB", "-", "", fl);
    j[env.empty() ? "floor_true" : "floor_libs"] = {
        {"wall_ms", to_json(fs)}, {"maxrss_kb", frss}, {"load1", fl}, {"libraries", needed}};
  }
  rep.json()["a_help"] = j;
}

void scenario_list(const Options& o, Report& rep) {
  const int posts = o.quick ? 500 : 10'000;
  const int runs = o.quick ? 10 : 50;
  std::cerr << "[b] post list --json over " << posts << " posts x" << runs << "\n";
  Sandbox box("list");
  box.init();
  box.must({"account", "add", "feed", "--name", "main", "--path", box.dir() + "/feed"});
  const auto t0 = Clock::now();
  const auto now = now_ms();
  create_posts(box.database(), "feed", "main", posts, [&](int i) { return now + 2h + std::chrono::seconds{i}; });
  const double create_ms = ms_since(t0);

  Json j = {{"posts", posts}, {"library_create_ms", create_ms}};
  rep.row("b setup", std::to_string(posts) + " posts through the library, one transaction",
          fixed(create_ms, 0) + " ms", "-", "", load1());
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::size_t expect;
  };
  const std::vector<Case> cases = {
      {"default limit (100)", {"post", "list", "--json"}, static_cast<std::size_t>(std::min(posts, 100))},
      {"--limit " + std::to_string(posts), {"post", "list", "--json", "--limit", std::to_string(posts)},
       static_cast<std::size_t>(posts)},
  };
  for (const auto& c : cases) {
    for (int i = 0; i < 3; ++i) box.cli(c.args);  // warm up
    const double load0 = load1();
    std::vector<double> wall;
    long rss = 0;
    std::size_t bytes = 0;
    for (int i = 0; i < runs; ++i) {
      const auto r = box.cli(c.args, 30s);
      if (r.code != 0) {
        rep.fail("b `post list --json` " + c.name, "exit " + std::to_string(r.code) + " " + r.err, load1());
        return;
      }
      if (i == 0) {
        Json doc;
        try {
          doc = Json::parse(r.out);
        } catch (const std::exception& e) {
          rep.fail("b `post list --json` " + c.name, std::string("not JSON: ") + e.what(), load1());
          return;
        }
        if (!doc.is_array() || doc.size() != c.expect) {
          rep.fail("b `post list --json` " + c.name,
                   "expected " + std::to_string(c.expect) + " posts, got " +
                       std::to_string(doc.is_array() ? doc.size() : 0),
                   load1());
          return;
        }
        bytes = r.out.size();
      }
      wall.push_back(r.wall_ms);
      rss = std::max(rss, r.maxrss_kb);
    }
    const double load = std::max(load0, load1());
    const auto s = stats(wall);
    const std::string scn = "b `post list --json` " + c.name + ", " + std::to_string(posts) + " posts";
    rep.row(scn, "wall median (" + std::to_string(runs) + " runs)", fixed(s.median, 2) + " ms", "≤ 10 ms",
            verdict(s.median <= 10), load);
    rep.row(scn, "wall p95", fixed(s.p95, 2) + " ms", "≤ 10 ms", verdict(s.p95 <= 10), load);
    rep.row(scn, "max RSS / output", fixed(rss / 1024.0, 1) + " MB / " + fixed(bytes / 1024.0, 0) + " KiB", "-", "",
            load);
    j[c.args.size() > 3 ? "limit_all" : "limit_default"] = {
        {"wall_ms", to_json(s)}, {"maxrss_kb", rss}, {"output_bytes", bytes}, {"load1", load}};
  }
  rep.json()["b_list"] = j;
}

void scenario_cli_create(const Options& o, Report& rep) {
  const int calls = o.quick ? 10 : 100;
  std::cerr << "[c] post new through " << calls << " CLI calls\n";
  Sandbox box("create");
  box.init();
  box.must({"account", "add", "feed", "--name", "main", "--path", box.dir() + "/feed"});
  const double load0 = load1();
  std::vector<double> wall;
  long rss = 0;
  const auto t0 = Clock::now();
  for (int i = 0; i < calls; ++i) {
    const auto r = box.cli({"post", "new", "text " + std::to_string(i), "--to", "feed:main", "--at", "in 2h"}, 30s);
    if (r.code != 0) {
      rep.fail("c `post new` x" + std::to_string(calls), "exit " + std::to_string(r.code) + " " + r.err, load1());
      return;
    }
    wall.push_back(r.wall_ms);
    rss = std::max(rss, r.maxrss_kb);
  }
  const double total = ms_since(t0);
  const double load = std::max(load0, load1());
  const auto listed = Json::parse(box.must({"post", "list", "--json", "--limit", "1000"}).out);
  if (listed.size() != static_cast<std::size_t>(calls)) {
    rep.fail("c `post new`", "listed " + std::to_string(listed.size()) + " posts", load);
    return;
  }
  const auto s = stats(wall);
  const std::string scn = "c `post new … --at \"in 2h\"` x" + std::to_string(calls);
  rep.row(scn, "total", fixed(total, 0) + " ms", "-", "", load);
  rep.row(scn, "per call median / p95", fixed(s.median, 2) + " / " + fixed(s.p95, 2) + " ms", "-", "", load);
  rep.row(scn, "max RSS", fixed(rss / 1024.0, 1) + " MB", "-", "", load);
  rep.json()["c_cli_create"] = {{"calls", calls}, {"total_ms", total}, {"per_call_ms", to_json(s)},
                                {"maxrss_kb", rss}, {"load1", load}};
}

// The fake's pool (tests/fakes/webhook_server.cpp): one request in flight per thread.
int fake_threads() { return fakes::WebhookServer::kThreads; }

/// What the fake received, checked against the posts that were due.
struct Delivery {
  std::size_t received = 0;
  std::size_t accepted = 0;
  std::size_t distinct = 0;
  bool exact = false;  // one accepted request per post, each post once, nothing else
  std::string summary() const {
    return "received " + std::to_string(received) + ", accepted " + std::to_string(accepted) +
           ", distinct post_id " + std::to_string(distinct);
  }
};

Delivery check_delivery(const fakes::WebhookServer& fake,
                        const std::vector<std::pair<std::int64_t, Timestamp>>& created) {
  Delivery d;
  const auto received = fake.received();
  d.received = received.size();
  std::set<std::int64_t> ids;
  std::size_t bad_bodies = 0;
  for (const auto& rec : received) {
    if (!rec.accepted) continue;
    ++d.accepted;
    try {
      ids.insert(Json::parse(rec.body).at("post_id").get<std::int64_t>());
    } catch (const std::exception&) {
      ++bad_bodies;
    }
  }
  d.distinct = ids.size();
  std::set<std::int64_t> expected;
  for (const auto& [id, at] : created) expected.insert(id);
  d.exact = d.received == created.size() && d.accepted == created.size() && ids == expected && bad_bodies == 0;
  return d;
}

/// Posts the store shows as published (every target published).
std::size_t published_posts(const std::string& database, int limit) {
  auto st = store::open(database);
  store::PostFilter f;
  f.status = model::PostStatus::published;
  f.limit = limit;
  return st->list_posts(f).size();
}

void scenario_throughput(const Options& o, Report& rep) {
  const int posts = o.quick ? 500 : 5000;
  const auto latency = 20ms;
  Json all = Json::object();
  for (const int workers : o.workers) {
    std::cerr << "[d] multiviod --once: " << posts << " posts, workers " << workers << ", fake latency 20 ms\n";
    const std::string scn = "d `multiviod --once` " + std::to_string(posts) + " posts, workers " +
                            std::to_string(workers) + ", 20 ms";
    fakes::WebhookServer fake;
    fake.set_latency(latency);
    Sandbox box("once");
    box.init();
    box.append_config("daemon: {workers: " + std::to_string(workers) + "}");
    box.must({"account", "add", "webhook", "--name", "hook", "--url", fake.base_url() + "/hook"});
    const auto due = now_ms() - 1s;
    const auto created = create_posts(box.database(), "webhook", "hook", posts, [&](int) { return due; });

    const double ideal = workers / (latency.count() / 1000.0);
    const double ceiling = std::min(workers, fake_threads()) / (latency.count() / 1000.0);
    // Bounded: 4x the ideal time, at least 60 s.
    const auto timeout = std::max<std::chrono::milliseconds>(
        60s, std::chrono::milliseconds{static_cast<long long>(4000.0 * posts / ideal)});
    const double load0 = load1();
    const auto r = box.run(MULTIVIOD, {"--once"}, timeout);
    const double load = std::max(load0, load1());

    // Correctness: exactly one accepted request per post.
    const Delivery delivery = check_delivery(fake, created);
    const bool exact = r.code == 0 && delivery.exact;
    if (!exact) {
      rep.row(scn, "delivery check",
              "exit " + std::to_string(r.code) + ", " + delivery.summary() + " of " + std::to_string(posts),
              "exactly " + std::to_string(posts) + ", no duplicates", "FAIL", load);
      std::cerr << tail(r.err, 10) << "\n";
    } else {
      rep.row(scn, "delivery check", std::to_string(delivery.accepted) + " accepted, " +
                                         std::to_string(delivery.distinct) + " distinct post_id, exit 0",
              "exactly " + std::to_string(posts) + ", no duplicates", "ok", load);
    }
    // The store agrees: every post published.
    if (const auto published = published_posts(box.database(), posts + 10);
        published != static_cast<std::size_t>(posts)) {
      rep.row(scn, "store check", std::to_string(published) + " published", std::to_string(posts), "FAIL", load);
    }
    const double rate = posts / (r.wall_ms / 1000.0);
    const double fraction = rate / ideal;
    rep.row(scn, "wall / throughput",
            fixed(r.wall_ms / 1000.0, 2) + " s / " + fixed(rate, 0) + " posts/s = " + fixed(100 * fraction, 0) +
                "% of " + fixed(ideal, 0) + "/s (mean in flight " + fixed(rate * latency.count() / 1000.0, 1) + ")",
            "≥ 80% of workers÷latency", verdict(fraction >= 0.8), load);
    if (ceiling < ideal) {
      rep.row(scn, "fake receiver ceiling",
              std::to_string(fake_threads()) + " httplib threads → ≤ " + fixed(ceiling, 0) + "/s (" +
                  fixed(100 * rate / ceiling, 0) + "% of it)",
              "-", "", load);
    }
    rep.row(scn, "daemon CPU / max RSS",
            fixed(r.cpu_ms / 1000.0, 2) + " s (" + fixed(r.cpu_ms * 1000.0 / posts, 0) + " µs/post) / " +
                fixed(r.maxrss_kb / 1024.0, 1) + " MB",
            "-", "", load);
    all["workers_" + std::to_string(workers)] = {
        {"posts", posts},         {"workers", workers},          {"latency_ms", latency.count()},
        {"wall_ms", r.wall_ms},   {"posts_per_s", rate},         {"ideal_per_s", ideal},
        {"fraction", fraction},   {"fake_threads", fake_threads()}, {"fake_ceiling_per_s", ceiling},
        {"exit", r.code},         {"accepted", delivery.accepted}, {"distinct_post_ids", delivery.distinct},
        {"exact", exact},         {"cpu_ms", r.cpu_ms},          {"maxrss_kb", r.maxrss_kb},
        {"load1", load}};
  }
  rep.json()["d_throughput"] = all;
}

// g: the same workload as d, but k daemons (`multiviod --once`, started
// together) share one PostgreSQL database on the fake server, against
// SQLite with one daemon. The wall time runs from the first start to the
// last exit, so start-up is included.
void scenario_multi_daemon(const Options& o, Report& rep) {
  const int posts = o.quick ? 300 : 2000;
  const int workers = 8;
  const auto latency = 20ms;
  struct Case {
    std::string backend;
    int daemons;
  };
  const std::vector<Case> cases{{"sqlite", 1}, {"postgresql", 1}, {"postgresql", 2}, {"postgresql", 3}};
  Json all = Json::array();
  for (const auto& c : cases) {
    const std::string scn = "g " + std::to_string(c.daemons) + " × `multiviod --once` on " + c.backend + ", " +
                            std::to_string(posts) + " posts, " + std::to_string(workers) + " workers each, 20 ms";
    std::string database;
    if (c.backend == "postgresql") {
      try {
        database = fakes::fresh_postgres_database();
      } catch (const std::exception& e) {
        rep.row(scn, "skipped", std::string("no PostgreSQL server: ") + e.what(), "-", "", load1());
        continue;
      }
    }
    std::cerr << "[g] " << c.daemons << " daemon(s) on " << c.backend << ": " << posts << " posts\n";
    fakes::WebhookServer fake;
    fake.set_latency(latency);
    Sandbox box("multi");
    box.init(database);
    box.append_config("daemon: {workers: " + std::to_string(workers) + "}\nlog: {format: text, level: info}");
    box.must({"account", "add", "webhook", "--name", "hook", "--url", fake.base_url() + "/hook"});
    const auto due = now_ms() - 1s;
    const auto created = create_posts(box.database(), "webhook", "hook", posts, [&](int) { return due; });

    const double ideal = c.daemons * workers / (latency.count() / 1000.0);
    const double ceiling = std::min(c.daemons * workers, fake_threads()) / (latency.count() / 1000.0);
    const auto timeout = std::max<std::chrono::milliseconds>(
        60s, std::chrono::milliseconds{static_cast<long long>(4000.0 * posts / ideal)});
    const double load0 = load1();
    const auto t0 = Clock::now();
    std::vector<std::unique_ptr<Child>> daemons;
    for (int i = 0; i < c.daemons; ++i) daemons.push_back(box.start_daemon({"--once"}));
    bool all_ok = true;
    double cpu_ms = 0;
    std::vector<int> per_daemon;
    const std::regex stopped(R"(stopped published=(\d+))");
    for (auto& d : daemons) {
      const auto [code, cpu] = d->wait(timeout);
      cpu_ms += cpu;
      all_ok = all_ok && code == 0;
      std::smatch m;
      const std::string log = d->log();
      per_daemon.push_back(std::regex_search(log, m, stopped) ? std::stoi(m[1]) : -1);
      if (code != 0) std::cerr << tail(log, 10) << "\n";
    }
    const double wall_ms = ms_since(t0);
    const double load = std::max(load0, load1());

    const Delivery delivery = check_delivery(fake, created);
    const std::size_t published = published_posts(box.database(), posts + 10);
    const bool exact = all_ok && delivery.exact && published == static_cast<std::size_t>(posts);
    std::string split;
    for (const int n : per_daemon) split += (split.empty() ? "" : " + ") + std::to_string(n);
    rep.row(scn, "delivery check",
            (all_ok ? "exit 0, " : "a daemon failed, ") + delivery.summary() + ", published " +
                std::to_string(published) + " (per daemon " + split + ")",
            "exactly " + std::to_string(posts) + ", no duplicates", exact ? "ok" : "FAIL", load);
    const double rate = posts / (wall_ms / 1000.0);
    rep.row(scn, "wall / throughput",
            fixed(wall_ms / 1000.0, 2) + " s / " + fixed(rate, 0) + " posts/s = " + fixed(100 * rate / ideal, 0) +
                "% of " + fixed(ideal, 0) + "/s",
            "-", "", load);
    rep.row(scn, "daemon CPU (all daemons)",
            fixed(cpu_ms / 1000.0, 2) + " s (" + fixed(cpu_ms * 1000.0 / posts, 0) + " µs/post)", "-", "", load);
    all.push_back({{"backend", c.backend}, {"daemons", c.daemons},        {"workers", workers},
                   {"posts", posts},       {"latency_ms", latency.count()}, {"wall_ms", wall_ms},
                   {"posts_per_s", rate},  {"ideal_per_s", ideal},          {"fake_ceiling_per_s", ceiling},
                   {"per_daemon", per_daemon}, {"cpu_ms", cpu_ms},          {"exact", exact},
                   {"load1", load}});
  }
  rep.json()["g_multi_daemon"] = all;
}

void scenario_precision(const Options& o, Report& rep) {
  const int posts = o.quick ? 20 : 200;
  const auto spread = o.quick ? 4s : 20s;
  const int wakes = o.quick ? 3 : 8;
  std::cerr << "[e] due-time precision: " << posts << " posts over " << spread.count() << " s, " << wakes
            << " inotify wake-ups\n";
  fakes::WebhookServer fake;
  Sandbox box("due");
  box.init();
  box.must({"account", "add", "webhook", "--name", "hook", "--url", fake.base_url() + "/hook"});
  auto daemon = box.start_daemon({});
  if (!daemon->wait_for_log("started", 15s)) {
    rep.fail("e due precision", "daemon did not start: " + tail(daemon->log(), 5), load1());
    return;
  }
  std::this_thread::sleep_for(500ms);

  // Posts at odd millisecond offsets, created through the library while the
  // daemon sleeps (nothing due yet).
  const double load0 = load1();
  const auto first = now_ms() + 3s;
  const auto step = std::chrono::duration_cast<std::chrono::milliseconds>(spread) / posts;
  const auto created = create_posts(box.database(), "webhook", "hook", posts, [&](int i) {
    return first + step * i + std::chrono::milliseconds{(i * 37) % 100};
  });
  std::map<std::int64_t, Timestamp> due(created.begin(), created.end());
  const bool all = fake.wait_for(static_cast<std::size_t>(posts), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                      spread + 3s + 20s));
  const double load = std::max(load0, load1());

  auto lateness_of = [&](const std::vector<fakes::WebhookServer::Received>& received,
                         std::map<std::int64_t, double>& out) {
    for (const auto& rec : received) {
      try {
        const auto id = Json::parse(rec.body).at("post_id").get<std::int64_t>();
        const auto it = due.find(id);
        if (it == due.end() || out.count(id)) continue;
        out[id] = std::chrono::duration<double, std::milli>(rec.time - it->second).count();
      } catch (const std::exception&) {
      }
    }
  };
  std::map<std::int64_t, double> late;
  lateness_of(fake.received(), late);
  std::vector<double> values;
  for (const auto& [id, ms] : late) values.push_back(ms);
  const auto s = stats(values);
  const auto early = std::count_if(values.begin(), values.end(), [](double v) { return v < 0; });
  const std::string scn = "e due precision, " + std::to_string(posts) + " posts over " +
                          std::to_string(spread.count()) + " s (poll_interval default)";
  if (!all || late.size() != static_cast<std::size_t>(posts) || fake.count() != static_cast<std::size_t>(posts)) {
    rep.row(scn, "delivery check",
            std::to_string(fake.count()) + " received, " + std::to_string(late.size()) + " matched of " +
                std::to_string(posts),
            "all, once", "FAIL", load);
  }
  if (early > 0) rep.row(scn, "published early", std::to_string(early) + " posts", "0", "FAIL", load);
  rep.row(scn, "lateness p50 / p99 / max",
          fixed(s.median, 1) + " / " + fixed(s.p99, 1) + " / " + fixed(s.max, 1) + " ms", "p99 ≤ 100 ms",
          verdict(s.p99 <= 100), load);
  Json j = {{"posts", posts}, {"spread_s", spread.count()}, {"lateness_ms", to_json(s)}, {"early", early},
            {"load1", load}};

  // A post created by the CLI 1 s before it is due while the daemon sleeps
  // (nothing due: it sleeps poll_interval, 2 s by default, from the last
  // delivery). Created 100-900 ms after that delivery, the post would be
  // 100-900 ms late without the inotify wake-up; with it, a few ms.
  std::vector<double> wake_late, cli_ms;
  const double load2 = load1();
  for (int k = 0; k < wakes; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds{100 + (k * 113) % 800});
    const std::size_t before = fake.count();
    const auto at = now_ms() + 1s;
    const auto r = box.cli({"post", "new", "wake " + std::to_string(k), "--to", "webhook:hook", "--at",
                            model::format_utc(at), "--json"},
                           10s);
    if (r.code != 0) {
      rep.fail("e inotify wake-up", "post new exit " + std::to_string(r.code) + " " + r.err, load1());
      break;
    }
    cli_ms.push_back(r.wall_ms);
    const auto id = Json::parse(r.out).at("id").get<std::int64_t>();
    due[id] = at;
    if (!fake.wait_for(before + 1, 10s)) {
      rep.fail("e inotify wake-up", "post " + std::to_string(id) + " not delivered within 10 s", load1());
      break;
    }
    std::map<std::int64_t, double> l;
    lateness_of(fake.received(), l);
    if (l.count(id)) wake_late.push_back(l[id]);
  }
  const int code = daemon->stop(40s);
  const double load3 = std::max(load2, load1());
  const auto w = stats(wake_late);
  rep.row("e inotify wake-up: `post new --at <now+1s>` while the daemon sleeps",
          "lateness median / max (" + std::to_string(wake_late.size()) + " runs)",
          fixed(w.median, 1) + " / " + fixed(w.max, 1) + " ms", "≤ 100 ms", verdict(w.max <= 100), load3);
  if (code != 0) rep.row("e daemon", "SIGTERM exit", std::to_string(code), "0", "FAIL", load3);
  j["inotify"] = {{"runs", wake_late.size()}, {"lateness_ms", to_json(w)}, {"cli_post_new_ms", to_json(stats(cli_ms))},
                  {"load1", load3}};
  rep.json()["e_precision"] = j;
}

struct ProcSample {
  double cpu_s = 0;
  long rss_kb = 0, hwm_kb = 0;
  int threads = 0;
  long long switches = 0;  // voluntary + involuntary, all threads
};

long status_field(const std::string& status, const std::string& key) {
  const auto pos = status.find("\n" + key + ":");
  if (pos == std::string::npos) return 0;
  return std::strtol(status.c_str() + pos + key.size() + 2, nullptr, 10);
}

ProcSample sample(pid_t pid) {
  ProcSample s;
  const std::string base = "/proc/" + std::to_string(pid);
  const std::string stat = read_file(base + "/stat");
  // Fields after the ")" of comm: state is field 3; utime 14, stime 15.
  const auto close = stat.rfind(')');
  std::istringstream in(stat.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; in >> x;) f.push_back(x);
  if (f.size() > 12) {
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    s.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / tick;
  }
  const std::string status = "\n" + read_file(base + "/status");
  s.rss_kb = status_field(status, "VmRSS");
  s.hwm_kb = status_field(status, "VmHWM");
  s.threads = static_cast<int>(status_field(status, "Threads"));
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator(base + "/task", ec)) {
    const std::string ts = "\n" + read_file(t.path().string() + "/status");
    s.switches += status_field(ts, "voluntary_ctxt_switches") + status_field(ts, "nonvoluntary_ctxt_switches");
  }
  return s;
}

void scenario_idle(const Options& o, Report& rep) {
  const auto idle = o.quick ? 10s : 60s;
  std::cerr << "[f] daemon idle for " << idle.count() << " s\n";
  Sandbox box("idle");
  box.init();
  box.must({"account", "add", "webhook", "--name", "hook", "--url", "http://127.0.0.1:9/hook"});
  auto daemon = box.start_daemon({});
  if (!daemon->wait_for_log("started", 15s)) {
    rep.fail("f daemon idle", "daemon did not start: " + tail(daemon->log(), 5), load1());
    return;
  }
  const double load0 = load1();
  const auto s0 = sample(daemon->pid());
  std::this_thread::sleep_for(idle);
  const auto s1 = sample(daemon->pid());
  const double load = std::max(load0, load1());
  const int code = daemon->stop(40s);
  const double idle_cpu = s1.cpu_s - s0.cpu_s;
  const double wakeups = static_cast<double>(s1.switches - s0.switches) / static_cast<double>(idle.count());
  const std::string scn = "f `multiviod` idle " + std::to_string(idle.count()) + " s, nothing due";
  rep.row(scn, "CPU during idle window / since start",
          fixed(idle_cpu, 2) + " s / " + fixed(s1.cpu_s, 2) + " s", "~0 s", verdict(idle_cpu <= 0.1), load);
  rep.row(scn, "VmRSS / VmHWM", fixed(s1.rss_kb / 1024.0, 1) + " / " + fixed(s1.hwm_kb / 1024.0, 1) + " MB",
          "≤ 15 MB", verdict(s1.rss_kb <= 15 * 1024), load);
  rep.row(scn, "threads / context switches per s", std::to_string(s1.threads) + " / " + fixed(wakeups, 2), "-", "",
          load);
  if (code != 0) rep.row(scn, "SIGTERM exit", std::to_string(code), "0", "FAIL", load);
  rep.json()["f_idle"] = {{"idle_s", idle.count()},     {"cpu_idle_s", idle_cpu},  {"cpu_total_s", s1.cpu_s},
                          {"vmrss_kb", s1.rss_kb},      {"vmhwm_kb", s1.hwm_kb},   {"threads", s1.threads},
                          {"switches_per_s", wakeups}, {"exit", code},            {"load1", load}};
}

// ---------------------------------------------------------------- main

Json machine() {
  utsname u{};
  ::uname(&u);
  std::string cpu;
  std::istringstream in(read_file("/proc/cpuinfo"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  char date[64];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return {{"date", date},
          {"nproc", std::thread::hardware_concurrency()},
          {"cpu", cpu},
          {"kernel", std::string(u.sysname) + " " + u.release},
          {"multivio", MULTIVIO_CLI},
          {"multiviod", MULTIVIOD}};
}

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0 << " [--quick] [--only a,b,c,d,e,f,g] [--workers 8,16] [--out FILE]\n";
  return 2;
}

int main_impl(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--only" && i + 1 < argc) {
      o.only = argv[++i];
    } else if (a == "--out" && i + 1 < argc) {
      o.out_file = argv[++i];
    } else if (a == "--workers" && i + 1 < argc) {
      o.workers.clear();
      std::istringstream in(argv[++i]);
      for (std::string w; std::getline(in, w, ',');) o.workers.push_back(std::stoi(w));
    } else {
      return usage(argv[0]);
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  Report rep;
  const Json m = machine();
  std::cerr << "bench_process: " << m.dump() << (o.quick ? " (quick)" : "") << "\n";
  const std::vector<std::pair<char, std::function<void(const Options&, Report&)>>> scenarios = {
      {'a', scenario_help},       {'b', scenario_list},      {'c', scenario_cli_create},
      {'d', scenario_throughput}, {'e', scenario_precision}, {'f', scenario_idle},
      {'g', scenario_multi_daemon},
  };
  for (const auto& [key, fn] : scenarios) {
    if (o.only.find(key) == std::string::npos) continue;
    try {
      fn(o, rep);
    } catch (const std::exception& e) {
      rep.fail(std::string(1, key), std::string("error: ") + e.what(), load1());
    }
  }
  std::cout << "\nmultivio benchmarks, " << m["date"].get<std::string>() << ", " << m["cpu"].get<std::string>()
            << " x" << m["nproc"] << ", " << m["kernel"].get<std::string>() << (o.quick ? ", --quick" : "") << "\n\n";
  rep.print_markdown(std::cout);
  if (!o.out_file.empty()) {
    Json doc = {{"machine", m}, {"quick", o.quick}, {"results", rep.json()}, {"rows", rep.rows_json()}};
    std::ofstream out(o.out_file);
    out << doc.dump(2) << "\n";
    if (!out) {
      std::cerr << "cannot write " << o.out_file << "\n";
      return 1;
    }
  }
  return rep.failed() ? 1 : 0;
}

}  // namespace
}  // namespace multivio::bench

int main(int argc, char** argv) { return multivio::bench::main_impl(argc, argv); }
