// SPDX-License-Identifier: MIT
// The real binaries against a fake webhook receiver on 127.0.0.1: schedule ->
// daemon -> delivery, retries, failures, crashes and graceful stops.
#include <signal.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/fakes/webhook_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::WebhookServer;

// Short leases and backoffs keep these tests in seconds; the logic is the
// same as with the production defaults.
constexpr const char* kFastDaemon =
    "daemon: {workers: 4, max_attempts: 3, retry_base: 200ms, retry_max: 2s, lease: 1s, poll_interval: 200ms, "
    "shutdown_grace: 10s, http_timeout: 20s}\nlog: {format: text, level: debug}";

class PublishTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<WebhookServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config(kFastDaemon);
    const auto r = box_.cli({"account", "add", "webhook", "--name", "hook", "--url", server_->base_url() + "/hook"});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  long long new_post(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"post", "new", "release 1.2 is out", "--to", "webhook:hook"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto post = box_.json(args);
    return post.value("id", 0LL);
  }

  nlohmann::json show(long long id) { return box_.json({"post", "show", std::to_string(id)}); }

  static bool published(const nlohmann::json& p) { return p.value("status", "") == "published"; }

  Sandbox box_;
  std::unique_ptr<WebhookServer> server_;
};

TEST_F(PublishTest, ScheduledPostIsDeliveredExactlyOnceByTheDaemon) {
  const auto id = new_post({"--at", "in 1s"});
  ASSERT_GT(id, 0);
  EXPECT_EQ(show(id)["status"], "scheduled");
  auto daemon = box_.daemon({});
  ASSERT_TRUE(box_.wait_for_post(id, published, 15s)) << daemon.stderr_text();
  std::this_thread::sleep_for(500ms);  // a duplicate would arrive by now
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(10s), 0) << daemon.stderr_text();

  ASSERT_EQ(server_->count(), 1u);
  const auto req = server_->received().front();
  EXPECT_TRUE(req.accepted) << req.reject_reason;
  const auto body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body["text"], "release 1.2 is out");
  EXPECT_EQ(body["post_id"], id);
  const auto post = show(id);
  ASSERT_EQ(post["targets"].size(), 1u);
  EXPECT_EQ(post["targets"][0]["status"], "published");
  EXPECT_EQ(post["targets"][0]["attempts"], 1);
  EXPECT_EQ(post["targets"][0]["account"], "webhook:hook");
  EXPECT_EQ(req.header("Idempotency-Key").value_or(""), body["idempotency_key"]);
}

TEST_F(PublishTest, OncePublishesWhatIsDueAndExits) {
  const auto due = new_post({"--now"});
  const auto later = new_post({"--at", "in 2h"});
  const auto r = box_.daemon_run({"--once"}, 20s);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(published(show(due)));
  EXPECT_EQ(show(later)["status"], "scheduled");
  EXPECT_EQ(server_->count(), 1u);
  // Nothing due: exits at once, still 0.
  EXPECT_EQ(box_.daemon_run({"--once"}, 20s).code, 0);
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(PublishTest, RateLimitedTwiceThenDeliveredOnceWithThreeAttempts) {
  server_->script({{429, R"({"error":"slow down"})", {{"Retry-After", "1"}}, 0ms},
                   {429, R"({"error":"slow down"})", {{"Retry-After", "1"}}, 0ms}});
  const auto id = new_post({"--now"});
  auto daemon = box_.daemon({});
  ASSERT_TRUE(box_.wait_for_post(id, published, 20s)) << daemon.stderr_text();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(10s), 0);

  const auto received = server_->received();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0].status, 429);
  EXPECT_EQ(received[2].status, 200);
  // Retry-After: 1 was honoured between the calls.
  EXPECT_GE(received[1].time - received[0].time, 900ms);
  EXPECT_GE(received[2].time - received[1].time, 900ms);
  const auto target = show(id)["targets"][0];
  EXPECT_EQ(target["attempts"], 3);
  EXPECT_EQ(target["status"], "published");
}

TEST_F(PublishTest, ServerErrorForeverEndsFailedAfterMaxAttempts) {
  server_->set_default({500, R"({"error":"boom"})", {}, 0ms});
  const auto id = new_post({"--now"});
  auto daemon = box_.daemon({});
  ASSERT_TRUE(box_.wait_for_post(id, [](const auto& p) { return p["status"] == "failed"; }, 20s))
      << daemon.stderr_text();
  std::this_thread::sleep_for(700ms);  // no further attempt may follow
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(10s), 0);
  EXPECT_EQ(server_->count(), 3u);  // max_attempts: 3
  const auto target = show(id)["targets"][0];
  EXPECT_EQ(target["attempts"], 3);
  EXPECT_NE(target["error"].get<std::string>().find("HTTP 500"), std::string::npos) << target;
}

TEST_F(PublishTest, BreakerPausesAFailingNetworkWithoutBurningAttempts) {
  {
    std::ofstream(box_.config_file()) << "daemon: {workers: 1, max_attempts: 5, retry_base: 100ms, lease: 5s, "
                                         "poll_interval: 200ms, breaker_threshold: 2, breaker_base: 30s}\n"
                                         "log: {format: text}\n";
  }
  ASSERT_EQ(box_.cli({"account", "add", "feed", "--name", "main", "--path", box_.dir() + "/feed"}).code, 0);
  server_->set_default({503, R"({"error":"down"})", {}, 0ms});
  std::vector<long long> hooks;
  for (int i = 0; i < 3; ++i) hooks.push_back(new_post({"--now"}));
  const auto feed = box_.json({"post", "new", "other networks go on", "--to", "feed:main", "--now"});
  auto daemon = box_.daemon({});
  ASSERT_TRUE(box_.wait_for_post(feed["id"], published, 15s)) << daemon.stderr_text();
  std::this_thread::sleep_for(1500ms);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(10s), 0);
  EXPECT_EQ(server_->count(), 2u) << "two failures open the breaker; nothing more is sent for 30 s";
  int attempts = 0;
  for (const auto id : hooks) attempts += show(id)["targets"][0]["attempts"].get<int>();
  EXPECT_EQ(attempts, 2) << "paused targets keep their attempts";
  EXPECT_NE(daemon.stderr_text().find("pausing network=webhook"), std::string::npos) << daemon.stderr_text();
}

TEST_F(PublishTest, FailuresAreNotifiedInOneBatch) {
  WebhookServer alerts;
  {
    std::ofstream(box_.config_file()) << "daemon: {workers: 4, max_attempts: 1, poll_interval: 200ms}\n"
                                         "notify: {batch_window: 1s, webhook: {url: "
                                      << alerts.base_url() << "/alerts, format: json}}\nlog: {format: text}\n";
  }
  server_->set_default({400, R"({"error":"rejected"})", {}, 0ms});
  for (int i = 0; i < 3; ++i) new_post({"--now"});
  const auto r = box_.daemon_run({"--once"}, 20s);
  EXPECT_EQ(r.code, 1) << r.err;
  ASSERT_TRUE(alerts.wait_for(1, 10s)) << r.err;
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(alerts.count(), 1u) << "a burst of failures is one message";
  const auto body = nlohmann::json::parse(alerts.received()[0].body);
  ASSERT_EQ(body["events"].size(), 3u) << body;
  EXPECT_EQ(body["events"][0]["kind"], "target_failed");
  EXPECT_EQ(body["events"][0]["account"], "webhook:hook");
}

TEST_F(PublishTest, PermanentRejectionFailsWithoutRetry) {
  server_->set_default({400, R"({"error":"bad payload"})", {}, 0ms});
  const auto id = new_post({"--now"});
  const auto r = box_.daemon_run({"--once"}, 20s);
  EXPECT_EQ(r.code, 1) << "--once exits 1 when a target failed";
  EXPECT_EQ(show(id)["status"], "failed");
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(PublishTest, KilledMidCallLeavesTargetUnknownAndNeverResends) {
  server_->set_default({200, "ok", {}, 4000ms});  // a stalling receiver
  const auto id = new_post({"--now"});
  {
    auto daemon = box_.daemon({});
    ASSERT_TRUE(server_->wait_for(1, 10s)) << daemon.stderr_text();
    daemon.signal(SIGKILL);
    daemon.wait(5s);
  }
  EXPECT_EQ(show(id)["targets"][0]["status"], "publishing");
  auto restarted = box_.daemon({});
  ASSERT_TRUE(box_.wait_for_post(id, [](const auto& p) { return p["targets"][0]["status"] == "unknown"; }, 15s))
      << restarted.stderr_text();
  std::this_thread::sleep_for(1500ms);
  restarted.signal(SIGTERM);
  EXPECT_EQ(restarted.wait(10s), 0);
  EXPECT_EQ(server_->count(), 1u) << "an interrupted call must not be sent again";
  const auto listed = box_.json({"post", "list", "--status", "unknown"});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], id);

  // The human decides: retry sends it again, once.
  server_->set_default({200, "ok", {}, 0ms});
  ASSERT_EQ(box_.cli({"post", "retry", std::to_string(id)}).code, 0);
  EXPECT_EQ(box_.daemon_run({"--once"}, 20s).code, 0);
  EXPECT_TRUE(published(show(id)));
  EXPECT_EQ(server_->count(), 2u);
}

TEST_F(PublishTest, SigtermDuringSlowCallLetsItFinishAndExitsZero) {
  server_->set_default({200, "ok", {}, 1500ms});
  const auto id = new_post({"--now"});
  auto daemon = box_.daemon({});
  ASSERT_TRUE(server_->wait_for(1, 10s)) << daemon.stderr_text();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(15s), 0) << daemon.stderr_text();
  EXPECT_TRUE(published(show(id)));
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(PublishTest, ForegroundPublishAndDryRun) {
  const auto id = new_post({"--draft"});
  EXPECT_EQ(show(id)["status"], "draft");
  const auto preview = box_.json({"post", "publish", std::to_string(id), "--dry-run"});
  EXPECT_EQ(server_->count(), 0u);
  // The URL is shown without its path: webhook paths carry tokens.
  EXPECT_NE(preview.dump().find(server_->base_url() + "/***"), std::string::npos) << preview;
  EXPECT_EQ(show(id)["status"], "draft") << "a dry run changes nothing";

  const auto r = box_.cli({"post", "publish", std::to_string(id)});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(published(show(id)));
  EXPECT_EQ(server_->count(), 1u);
  EXPECT_NE(box_.cli({"post", "publish", std::to_string(id)}).code, 0) << "nothing left to publish";
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(PublishTest, SignedWebhookIsVerifiedByTheReceiver) {
  server_->require_signature("whsec_test_4242");
  box_.env["HOOK_SECRET"] = "whsec_test_4242";
  auto r = box_.cli({"account", "add", "webhook", "--name", "signed", "--url", server_->base_url() + "/signed",
                     "--format", "slack", "--secret-env", "HOOK_SECRET"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto post = box_.json({"post", "new", "signed hello", "--to", "webhook:signed", "--now"});
  EXPECT_EQ(box_.daemon_run({"--once"}, 20s).code, 0);
  ASSERT_EQ(server_->count(), 1u);
  const auto req = server_->received().front();
  EXPECT_TRUE(req.accepted) << req.reject_reason;
  EXPECT_EQ(nlohmann::json::parse(req.body), nlohmann::json({{"text", "signed hello"}}));
  EXPECT_TRUE(published(show(post["id"])));
  // The secret is stored sealed: never in clear text in the database files.
  EXPECT_EQ(box_.database_bytes().find("whsec_test_4242"), std::string::npos);
  EXPECT_EQ(box_.database_bytes().find("/signed"), std::string::npos) << "webhook URL paths are sealed too";
}

}  // namespace
}  // namespace multivio::e2e
