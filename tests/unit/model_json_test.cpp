// SPDX-License-Identifier: MIT
// model::posts_json must print exactly what dump(2) of to_json prints: the
// CLI's --json output stays the same document, only faster to make.
#include <gtest/gtest.h>

#include <random>

#include "common/model/model.hpp"

namespace multivio::model {
namespace {

std::string reference(const std::vector<Post>& posts) {
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& p : posts) doc.push_back(to_json(p));
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

Target target(std::int64_t id, TargetStatus status) {
  Target t;
  t.id = id;
  t.post_id = 1;
  t.account_id = 3;
  t.account_ref = "mastodon:main";
  t.platform = "mastodon";
  t.status = status;
  return t;
}

Post sample() {
  Post p;
  p.id = 42;
  p.text = "Release 1.2 \"quoted\" \\ back\nslash\ttab\x01\x1f\x7f é 日本 👩‍💻 🇩🇪";
  p.media = {"/tmp/a b.png", "/tmp/ü.jpg"};
  p.tags = {"release", ""};
  p.scheduled_at = from_millis(1'767'225'600'123);
  p.timezone = "Europe/Berlin";
  p.key = "ci-1234";
  p.options = {{"thread", "auto"}, {"alt", {"A chart", "日本"}}, {"nested", {{"a", {1, 2.5, nullptr, true}}, {"b", {}}}}};
  p.created_at = from_millis(1'767'000'000'000);
  p.updated_at = from_millis(1'767'000'000'500);
  auto a = target(7, TargetStatus::published);
  a.remote_ids = {"1", "2"};
  a.remote_url = "https://m.example/@me/1";
  a.published_at = from_millis(1'767'225'601'000);
  a.variant = "short";
  auto b = target(8, TargetStatus::retry_wait);
  b.next_attempt_at = from_millis(1'767'225'700'000);
  b.error = "mastodon:main: HTTP 503";
  b.options = {{"visibility", "unlisted"}};
  b.attempts = 2;
  p.targets = {a, b};
  return p;
}

TEST(PostsJson, SameBytesAsTheDom) {
  EXPECT_EQ(posts_json({}), reference({}));
  Post bare;
  EXPECT_EQ(posts_json({bare}), reference({bare}));
  const Post full = sample();
  EXPECT_EQ(posts_json({full}), reference({full}));
  EXPECT_EQ(posts_json({full, bare, full}), reference({full, bare, full}));
}

TEST(PostsJson, CompactStyleMatchesDumpMinusOne) {
  for (const Post& p : {Post{}, sample()}) {
    std::string compact;
    append_json(compact, p, JsonOptions{false, 0, std::nullopt});
    EXPECT_EQ(compact, to_json(p).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  // The key can be shown differently (the REST API strips a user prefix).
  Post keyed = sample();
  keyed.key = "u7:release-1";
  std::string out;
  append_json(out, keyed, JsonOptions{false, 0, std::string("release-1")});
  auto expected = to_json(keyed);
  expected["key"] = "release-1";
  EXPECT_EQ(out, expected.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

TEST(PostsJson, InvalidUtf8IsReplacedAsDumpDoes) {
  for (const std::string& bad : {std::string("\x80"), std::string("a\xC0\x80z"), std::string("\xED\xA0\x80"),
                                std::string("\xE2\x82"), std::string("\xF5\x80\x80\x80"), std::string("\xF4\x90\x80\x80"),
                                std::string("ok \xF0\x9F\x98"), std::string("\xE0\x80\xAF")}) {
    Post p = sample();
    p.text = bad;
    p.tags = {bad};
    p.targets[0].error = bad;
    EXPECT_EQ(posts_json({p}), reference({p})) << "case of " << bad.size() << " bytes";
  }
}

TEST(PostsJson, RandomBytesMatch) {
  std::mt19937 rng(20261126);
  std::uniform_int_distribution<int> len(0, 12);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> pick(0, 3);
  const std::string pieces[] = {"é", "👩‍💻", "\n", "\""};
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    for (int i = len(rng); i > 0; --i) {
      if (pick(rng) == 0) {
        s += pieces[static_cast<std::size_t>(pick(rng))];
      } else {
        s += static_cast<char>(byte(rng));
      }
    }
    Post p;
    p.id = round;
    p.text = s;
    p.timezone = s;
    ASSERT_EQ(posts_json({p}), reference({p})) << "round " << round;
  }
}

}  // namespace
}  // namespace multivio::model
