// SPDX-License-Identifier: MIT
#include "tests/fakes/postgres_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace multivio::fakes {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kInstallHint =
    "PostgreSQL server binaries (initdb, postgres) not found under /usr/lib/postgresql/*/bin: run "
    "scripts/install-deps (it installs the postgresql package), or set MULTIVIO_PG_BINDIR";

// Who the server runs as: the postgres user when we are root (the server
// refuses to run as root), else ourselves.
struct Identity {
  uid_t uid;
  gid_t gid;
};

std::optional<Identity> server_identity() {
  if (::geteuid() != 0) return std::nullopt;
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    throw std::runtime_error(
        "tests run as root but there is no 'postgres' user to run the PostgreSQL server as: run scripts/install-deps");
  }
  return Identity{pw->pw_uid, pw->pw_gid};
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const std::string& s, std::size_t n = 2000) { return s.size() <= n ? s : s.substr(s.size() - n); }

struct Spawn {
  std::vector<std::string> argv;
  fs::path output;                    // stdout+stderr go here (appended); empty: /dev/null
  std::optional<Identity> as;         // switch user in the child
  bool die_with_parent = false;       // SIGQUIT when this thread goes away
  fs::path cwd = "/";
};

// fork + exec without a shell. Everything that allocates happens before the
// fork; the child only makes system calls.
pid_t spawn(const Spawn& s) {
  std::vector<char*> argv;
  for (const auto& a : s.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int out = s.output.empty() ? ::open("/dev/null", O_WRONLY | O_CLOEXEC)
                                   : ::open(s.output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (in < 0 || out < 0) {
    if (in >= 0) ::close(in);
    if (out >= 0) ::close(out);
    throw std::runtime_error("cannot open /dev/null or " + s.output.string());
  }
  const std::string cwd = s.cwd.string();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::close_range(3, ~0U, 0);  // nothing of the test process leaks into the server
    if (s.as) {
      const gid_t gid = s.as->gid;
      if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(s.as->uid) != 0) ::_exit(126);
    }
    if (s.die_with_parent) {
      // After setuid: a credential change clears the setting.
      ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
      if (::getppid() != parent) ::_exit(1);
    }
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in);
  ::close(out);
  if (pid < 0) throw std::runtime_error("fork failed");
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int run(const Spawn& s) { return wait_exit(spawn(s)); }

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

fs::path PostgresServer::find_bindir() {
  const auto usable = [](const fs::path& dir) {
    return fs::exists(dir / "initdb") && fs::exists(dir / "postgres") && fs::exists(dir / "psql");
  };
  if (const char* env = std::getenv("MULTIVIO_PG_BINDIR"); env != nullptr && *env != '\0') {
    return usable(env) ? fs::path(env) : fs::path();
  }
  fs::path best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    const int version = std::atoi(name.c_str());
    if (version > best_version && usable(entry.path() / "bin")) {
      best = entry.path() / "bin";
      best_version = version;
    }
  }
  return best;
}

PostgresServer::PostgresServer() : bindir_(find_bindir()) {
  if (bindir_.empty()) {
    const char* env = std::getenv("MULTIVIO_PG_BINDIR");
    throw std::runtime_error(env != nullptr && *env != '\0'
                                 ? "MULTIVIO_PG_BINDIR=" + std::string(env) + " holds no initdb/postgres/psql"
                                 : std::string(kInstallHint));
  }
  const auto who = server_identity();
  std::string tmpl = (fs::temp_directory_path() / "multivio-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
  dir_ = tmpl;
  try {
    if (who && ::chown(dir_.c_str(), who->uid, who->gid) != 0) {
      throw std::runtime_error("cannot hand " + dir_.string() + " to the postgres user");
    }
    const fs::path log = dir_ / "initdb.log";
    const int rc = run({{(bindir_ / "initdb").string(), "-D", (dir_ / "data").string(), "-A", "trust", "-U",
                         "postgres", "-E", "UTF8", "--locale=C", "-N"},
                        log,
                        who,
                        false,
                        dir_});
    if (rc != 0) {
      throw std::runtime_error("initdb failed (exit " + std::to_string(rc) + "): " + tail(read_file(log)));
    }
    start();
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PostgresServer::start() {
  const auto who = server_identity();
  const fs::path log = dir_ / "server.log";
  // A free port can be taken by someone else before the server binds it
  // (tests run in parallel): then try another.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    pid_ = spawn({{(bindir_ / "postgres").string(), "-D", (dir_ / "data").string(), "-k", dir_.string(), "-p",
                   std::to_string(port_), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                   "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c",
                   "max_connections=100"},
                  log,
                  who,
                  ::gettid() == ::getpid(),
                  dir_});
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited = true;
        pid_ = -1;
        break;
      }
      Spawn ready;
      ready.argv = {(bindir_ / "pg_isready").string(), "-q", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
                    "postgres", "-d", "postgres", "-t", "2"};
      if (run(ready) == 0) {
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
    const std::string output = tail(read_file(log));
    if (!exited) {
      stop();
      throw std::runtime_error("PostgreSQL did not accept connections within 60 s: " + output);
    }
    if (output.find("could not bind") == std::string::npos && output.find("in use") == std::string::npos) {
      throw std::runtime_error("PostgreSQL exited at startup: " + output);
    }
  }
  throw std::runtime_error("PostgreSQL found no free port: " + tail(read_file(log)));
}

void PostgresServer::stop() noexcept {
  if (pid_ <= 0) return;
  // SIGINT is the server's "fast" shutdown (pg_ctl stop -m fast): clients
  // are disconnected, then it exits. Escalate if it does not.
  const auto wait_for = [&](std::chrono::milliseconds budget) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD)) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  };
  ::kill(pid_, SIGINT);
  if (!wait_for(20s)) {
    ::kill(pid_, SIGQUIT);
    if (!wait_for(5s)) {
      ::kill(pid_, SIGKILL);
      wait_for(5s);
    }
  }
  pid_ = -1;
}

std::string PostgresServer::url_for(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::psql(const std::string& database, const std::string& sql) const {
  static std::mutex mutex;  // one output file per server
  std::lock_guard lock(mutex);
  const fs::path out = dir_ / ("psql-" + std::to_string(::gettid()) + ".out");
  std::error_code ec;
  fs::remove(out, ec);
  Spawn client;
  client.argv = {(bindir_ / "psql").string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                 "-p", std::to_string(port_), "-U", "postgres", "-d", database, "-c", sql};
  client.output = out;
  const int rc = run(client);
  std::string output = read_file(out);
  fs::remove(out, ec);
  if (rc != 0) throw std::runtime_error("psql '" + sql + "' on " + database + " failed: " + tail(output));
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

std::string PostgresServer::create_database() {
  static std::mutex mutex;
  std::string name;
  {
    std::lock_guard lock(mutex);
    name = "mv_" + std::to_string(++next_db_);
  }
  psql("postgres", "CREATE DATABASE " + name);
  return url_for(name);
}

PostgresServer& shared_postgres() {
  static PostgresServer server;
  return server;
}

std::string fresh_postgres_database() { return shared_postgres().create_database(); }

}  // namespace multivio::fakes
