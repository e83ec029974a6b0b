// SPDX-License-Identifier: MIT
// multiviod's service behaviour: systemd notifications, SIGHUP reloads,
// JSON logs without secrets.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/fakes/webhook_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;

/// A datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{0, 200'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }

  /// Collects messages until one contains `needle` or the timeout passes.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        log_ += std::string(buf, static_cast<std::size_t>(n)) + "\n--\n";
        if (std::string(buf, static_cast<std::size_t>(n)).find(needle) != std::string::npos) return true;
      }
    }
    return false;
  }
  const std::string& log() const { return log_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::string log_;
};

TEST(DaemonTest, NotifiesSystemdAndReloadsOnSighup) {
  Sandbox box;
  ASSERT_EQ(box.cli({"init"}).code, 0);
  NotifySocket notify(box.dir() + "/notify.sock");
  ASSERT_TRUE(notify.bound());
  box.env["NOTIFY_SOCKET"] = box.dir() + "/notify.sock";
  auto daemon = box.daemon({"--log-format", "text"});
  ASSERT_TRUE(notify.wait_for("READY=1", 10s)) << notify.log() << daemon.stderr_text();

  // A reload picks up a changed config; a broken one keeps the old.
  box.append_config("log: {level: debug}");
  daemon.signal(SIGHUP);
  ASSERT_TRUE(notify.wait_for("RELOADING=1", 10s)) << notify.log();
  EXPECT_TRUE(notify.wait_for("READY=1", 10s)) << notify.log();
  box.append_config("bogus_key: 1");
  daemon.signal(SIGHUP);
  ASSERT_TRUE(notify.wait_for("READY=1", 10s)) << notify.log();
  EXPECT_TRUE(daemon.running()) << "a bad config on reload must not stop the daemon";

  daemon.signal(SIGTERM);
  EXPECT_TRUE(notify.wait_for("STOPPING=1", 10s)) << notify.log();
  EXPECT_EQ(daemon.wait(10s), 0);
  const auto log = daemon.stderr_text();
  EXPECT_NE(log.find("reloaded config"), std::string::npos) << log;
  EXPECT_NE(log.find("bogus_key"), std::string::npos) << "the reload error names the key: " << log;
}

TEST(DaemonTest, LogsJsonLinesWithIdsAndNoSecrets) {
  std::unique_ptr<fakes::WebhookServer> server;
  try {
    server = std::make_unique<fakes::WebhookServer>();
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
  }
  Sandbox box;
  ASSERT_EQ(box.cli({"init"}).code, 0);
  box.append_config("log: {level: debug}");
  box.env["HOOK_SECRET"] = "whsec_LOG_CANARY_987";
  ASSERT_EQ(box.cli({"account", "add", "webhook", "--name", "hook", "--url",
                     server->base_url() + "/services/T0KEN_IN_PATH", "--secret-env", "HOOK_SECRET"})
                .code,
            0);
  server->script({{500, R"({"error":"boom"})", {}, 0ms}});
  const auto post = box.json({"post", "new", "hello logs", "--to", "webhook:hook", "--now"});
  // stderr is a file, not a terminal: the default format is JSON lines.
  const auto first = box.daemon_run({"--once"}, 20s);
  EXPECT_EQ(first.code, 0) << first.err;  // a transient error leaves the post in retry_wait
  ASSERT_EQ(box.cli({"post", "retry", std::to_string(post["id"].get<long long>())}).code, 2)
      << "retry_wait is not retryable by hand; the daemon retries it";

  bool saw_target = false;
  std::istringstream lines(first.err);
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    if (j.contains("target") && j.contains("post")) {
      saw_target = true;
      EXPECT_EQ(j["post"], post["id"]) << line;
    }
  }
  EXPECT_TRUE(saw_target) << first.err;
  EXPECT_EQ(first.err.find("whsec_LOG_CANARY_987"), std::string::npos) << first.err;
  EXPECT_EQ(first.err.find("T0KEN_IN_PATH"), std::string::npos) << first.err;
}

}  // namespace
}  // namespace multivio::e2e
