// SPDX-License-Identifier: MIT
// A publisher that dies mid-call on a network that dedupes by idempotency key
// (the feed: an entry id already written is not written again): the next
// daemon repeats the call with the same key, and the post exists once.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "common/app/accounts.hpp"
#include "common/app/context.hpp"
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

}  // namespace
}  // namespace multivio::e2e
