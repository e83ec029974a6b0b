// SPDX-License-Identifier: MIT
// A publisher that dies mid-call on a network that dedupes by idempotency key
// (the feed: an entry id already written is not written again): the next
// daemon repeats the call with the same key, and the post exists once.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "common/app/accounts.hpp"
#include "common/app/context.hpp"
#include "common/store/store.hpp"
#include "tests/e2e/harness.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config("daemon: {lease: 1s, poll_interval: 200ms}\nlog: {format: text}");
    ASSERT_EQ(box_.cli({"account", "add", "feed", "--name", "main", "--path", box_.dir() + "/feed"}).code, 0);
  }

  /// The library as the dead daemon used it, on the sandbox's config and key.
  std::unique_ptr<app::Context> context() {
    app::Options options;
    options.env = [env = box_.env](const std::string& name) -> std::optional<std::string> {
      const auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    return std::make_unique<app::Context>(options);
  }

  /// Claims the post's target as a daemon that then dies: the attempt row is
  /// written, and the call is made or not.
  void die_mid_call(long long post_id, bool call_landed) {
    auto ctx = context();
    auto claims = ctx->store().claim_post(post_id, ctx->clock().now(), "ghost", 300ms);
    ASSERT_EQ(claims.size(), 1u);
    const auto attempt = ctx->store().begin_attempt(claims[0].target.id, "ghost", ctx->clock().now());
    if (call_landed) {
      const auto secrets = app::open_secrets(*ctx, claims[0].account);
      platforms::PublishRequest request{claims[0].post, claims[0].target, claims[0].account, secrets,
                                        claims[0].post.text, attempt.idempotency_key};
      ctx->adapter("feed")->publish(request);
    }
  }

  std::size_t feed_lines() {
    std::ifstream in(box_.dir() + "/feed/feed.jsonl");
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) n += line.empty() ? 0 : 1;
    return n;
  }

  Sandbox box_;
};

TEST_F(RecoveryTest, CallThatLandedIsNotDuplicated) {
  const auto post = box_.json({"post", "new", "landed before the crash", "--to", "feed:main", "--draft"});
  const long long id = post["id"];
  die_mid_call(id, true);
  ASSERT_EQ(feed_lines(), 1u);
  std::this_thread::sleep_for(400ms);  // the dead daemon's lease runs out
  const auto r = box_.daemon_run({"--once"}, 20s);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("reconciling"), std::string::npos) << r.err;
  const auto shown = box_.json({"post", "show", std::to_string(id)});
  EXPECT_EQ(shown["status"], "published") << shown;
  EXPECT_EQ(shown["targets"][0]["attempts"], 2);
  EXPECT_EQ(feed_lines(), 1u) << "the same key was used, so the feed kept one entry";
}

TEST_F(RecoveryTest, CallThatNeverLandedIsPublishedOnce) {
  const auto post = box_.json({"post", "new", "lost in the crash", "--to", "feed:main", "--draft"});
  const long long id = post["id"];
  die_mid_call(id, false);
  std::this_thread::sleep_for(400ms);
  const auto r = box_.daemon_run({"--once"}, 20s);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(box_.json({"post", "show", std::to_string(id)})["status"], "published");
  EXPECT_EQ(feed_lines(), 1u);
}

/// A post that was due an hour ago, as after a long outage.
long long overdue_post(app::Context& ctx, const std::string& text) {
  const auto account = ctx.store().find_account("feed", "main");
  store::NewPost post;
  post.text = text;
  post.scheduled_at = ctx.clock().now() - std::chrono::hours(1);
  post.targets.push_back({account->id, std::nullopt, nlohmann::json::object()});
  return ctx.store().create_post(post, ctx.clock().now()).post.id;
}

TEST_F(RecoveryTest, OverduePostsFollowTheLatePolicy) {
  auto ctx = context();
  const long long skipped = overdue_post(*ctx, "skip me");
  {
    std::ofstream(box_.config_file()) << "daemon: {lease: 1s, poll_interval: 200ms, late_grace: 10m, "
                                         "late_policy: skip}\nlog: {format: text}\n";
  }
  EXPECT_EQ(box_.json({"post", "list", "--status", "overdue"}).size(), 1u);
  auto r = box_.daemon_run({"--once"}, 20s);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("overdue"), std::string::npos) << r.err;
  auto shown = box_.json({"post", "show", std::to_string(skipped)});
  EXPECT_EQ(shown["status"], "cancelled");
  EXPECT_NE(shown["targets"][0]["error"].get<std::string>().find("skipped"), std::string::npos) << shown;
  EXPECT_EQ(feed_lines(), 0u);

  const long long held = overdue_post(*ctx, "ask me");
  {
    std::ofstream(box_.config_file()) << "daemon: {lease: 1s, poll_interval: 200ms, late_grace: 10m, "
                                         "late_policy: ask}\nlog: {format: text}\n";
  }
  r = box_.daemon_run({"--once"}, 20s);
  EXPECT_EQ(r.code, 0) << r.err;
  shown = box_.json({"post", "show", std::to_string(held)});
  EXPECT_EQ(shown["status"], "draft") << "held for a person";
  const auto listed = box_.json({"post", "list", "--status", "overdue"});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], held);
  EXPECT_EQ(feed_lines(), 0u);
  ASSERT_EQ(box_.cli({"post", "publish", std::to_string(held)}).code, 0);
  EXPECT_EQ(feed_lines(), 1u);

  const long long late = overdue_post(*ctx, "publish me anyway");
  {
    std::ofstream(box_.config_file()) << "daemon: {late_grace: 10m, late_policy: publish}\nlog: {format: text}\n";
  }
  r = box_.daemon_run({"--once"}, 20s);
  EXPECT_EQ(box_.json({"post", "show", std::to_string(late)})["status"], "published") << r.err;
  EXPECT_NE(r.err.find("overdue"), std::string::npos) << "reported even when published: " << r.err;
}

}  // namespace
}  // namespace multivio::e2e
