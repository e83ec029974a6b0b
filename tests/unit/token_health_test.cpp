// SPDX-License-Identifier: MIT
// Token health: when a token is due for a refresh, the daemon's refresh pass
// against X's fake token endpoint (a refused refresh marks the account for a
// person), the publisher's guard against a token known to be expired, and
// what `account expiring` lists.
#include "common/app/token_health.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/app/accounts.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/oauth/pkce.hpp"
#include "common/platforms/platform.hpp"
#include "tests/fakes/oauth_server.hpp"
#include "tests/fakes/x_server.hpp"

namespace multivio::app {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using fakes::OAuthServer;
using fakes::XServer;
using nlohmann::json;

constexpr const char* kClient = "health-client";

std::int64_t epoch_s(model::Timestamp t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
model::Timestamp from_s(std::int64_t s) { return model::Timestamp(std::chrono::seconds(s)); }

TEST(RefreshDueAt, MarginThenEightyPercentOfTheLifetimeThenTenMinutes) {
  const json no_expiry = {{"access_token", "a"}};
  EXPECT_FALSE(refresh_due_at(no_expiry, 0ms));
  const json lifetime = {{"access_token", "a"}, {"issued_at", 1000}, {"expires_at", 1000 + 7200}};
  EXPECT_EQ(*refresh_due_at(lifetime, 0ms), from_s(1000 + 5760));  // 80% of two hours
  EXPECT_EQ(*refresh_due_at(lifetime, 30min), from_s(1000 + 7200 - 1800));
  const json bare = {{"access_token", "a"}, {"expires_at", 5000}};
  EXPECT_EQ(*refresh_due_at(bare, 0ms), from_s(5000 - 600));
  // A nonsensical issue time (after the expiry) falls back too.
  const json odd = {{"access_token", "a"}, {"issued_at", 9000}, {"expires_at", 5000}};
  EXPECT_EQ(*refresh_due_at(odd, 0ms), from_s(5000 - 600));
}

class TokenHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);
    try {
      oauth_ = std::make_unique<OAuthServer>();
      x_ = std::make_unique<XServer>(oauth_.get());
    } catch (const std::exception& e) {
      GTEST_SKIP() << "no loopback socket: " << e.what();
    }
    oauth_->add_client({kClient, "", OAuthServer::ClientAuthMethod::any, {}, true});
    std::string tmpl = (fs::temp_directory_path() / "multivio-health-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "config.yaml") << "daemon:\n  http_timeout: 5s\n  connect_timeout: 2s\nplatforms:\n  x:\n"
                                        << "    api_base: " << x_->base_url() << "\n    auth_base: " << x_->base_url()
                                        << "\n    client_id: " << kClient << "\n";
    env_ = {{"HOME", dir_.string()}, {"TZ", "UTC"}, {"MULTIVIO_KEY", crypto::base64_encode(crypto::random_bytes(32))}};
    Options o;
    o.config_path = (dir_ / "config.yaml").string();
    o.database = (dir_ / "multivio.db").string();
    o.env = [env = env_](const std::string& name) -> std::optional<std::string> {
      const auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    ctx_ = std::make_unique<Context>(o);
  }

  void TearDown() override {
    ctx_.reset();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // Real tokens from the fake's code exchange, stored with the given times.
  model::Account add_x(const std::string& name, std::int64_t issued_at, std::int64_t expires_at,
                       bool with_refresh_token = true) {
    auto http = http::make_client();
    const oauth::Pkce pkce = oauth::make_pkce();
    const std::string redirect = "http://127.0.0.1:9/callback";
    oauth::OAuth2Config c;
    c.token_url = x_->base_url() + "/2/oauth2/token";
    c.client_id = kClient;
    const auto tokens = oauth::exchange_code(*http, c, oauth_->issue_code(kClient, redirect, pkce.challenge), redirect,
                                             pkce.verifier, std::chrono::system_clock::now());
    AddAccountRequest r;
    r.platform = "x";
    r.name = name;
    r.secrets = {{"access_token", tokens.access_token}, {"issued_at", issued_at}, {"expires_at", expires_at}};
    if (with_refresh_token) r.secrets["refresh_token"] = tokens.refresh_token;
    return add_account(*ctx_, r);
  }

  json secrets_of(const model::Account& a) { return open_secrets(*ctx_, *ctx_->store().find_account(a.id)); }
  std::size_t token_grants() const { return oauth_->token_requests().size(); }

  std::unique_ptr<OAuthServer> oauth_;
  std::unique_ptr<XServer> x_;
  fs::path dir_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<Context> ctx_;
};

TEST_F(TokenHealthTest, RefreshPassRenewsOnlyTokensThatAreDue) {
  const std::int64_t now = epoch_s(ctx_->clock().now());
  const auto due = add_x("due", now - 7000, now + 200);         // past 80% of its life
  const auto fresh = add_x("fresh", now - 100, now + 7100);     // early in its life
  const auto stuck = add_x("stuck", now - 7000, now + 200, false);  // nothing to refresh with
  const json due_before = secrets_of(due);
  const std::size_t grants = token_grants();

  const auto pass = refresh_due_tokens(*ctx_, ctx_->clock().now());
  EXPECT_EQ(pass.refreshed, 1);
  EXPECT_EQ(pass.failed, 0);
  EXPECT_EQ(token_grants(), grants + 1);
  const json due_after = secrets_of(due);
  EXPECT_NE(due_after["access_token"], due_before["access_token"]);
  EXPECT_TRUE(oauth_->access_token_valid(due_after["access_token"].get<std::string>()));
  EXPECT_GT(due_after["expires_at"].get<std::int64_t>(), now + 3600);
  EXPECT_EQ(secrets_of(fresh)["expires_at"], now + 7100);
  EXPECT_EQ(secrets_of(stuck)["expires_at"], now + 200);

  // Nothing is due any more: a second pass calls nobody.
  EXPECT_EQ(refresh_due_tokens(*ctx_, ctx_->clock().now()).refreshed, 0);
  EXPECT_EQ(token_grants(), grants + 1);
}

TEST_F(TokenHealthTest, ARefusedRefreshMarksTheAccountForAPerson) {
  const std::int64_t now = epoch_s(ctx_->clock().now());
  const auto a = add_x("revoked", now - 7000, now + 100);
  oauth_->script_token_replies({{400, R"({"error":"invalid_grant","error_description":"revoked"})", {}}});
  const auto pass = refresh_due_tokens(*ctx_, ctx_->clock().now());
  EXPECT_EQ(pass.refreshed, 0);
  EXPECT_EQ(pass.failed, 1);
  const auto stored = ctx_->store().find_account(a.id);
  EXPECT_FALSE(stored->healthy);
  EXPECT_NE(stored->health_note.find("account add x --name revoked --oauth"), std::string::npos)
      << stored->health_note;
  // An account waiting for a person is not retried every pass.
  const std::size_t grants = token_grants();
  refresh_due_tokens(*ctx_, ctx_->clock().now());
  EXPECT_EQ(token_grants(), grants);
  // ... and `account expiring` names it whatever the window.
  const auto listed = expiring_accounts(*ctx_, 1min);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].account.id, a.id);
  EXPECT_NE(listed[0].reason.find("needs a person"), std::string::npos);
}

TEST_F(TokenHealthTest, PublisherGuardRefreshesAnExpiredTokenOrRefusesWithoutCallingTheNetwork) {
  const std::int64_t now = epoch_s(ctx_->clock().now());
  const auto refreshable = add_x("r", now - 7300, now - 100);
  const auto dead = add_x("d", now - 7300, now - 100, false);
  auto adapter = ctx_->adapter("x");

  json secrets = secrets_of(refreshable);
  const std::size_t grants = token_grants();
  ensure_fresh_token(*ctx_, *adapter, *ctx_->store().find_account(refreshable.id), secrets, ctx_->clock().now());
  EXPECT_EQ(token_grants(), grants + 1);
  EXPECT_GT(secrets["expires_at"].get<std::int64_t>(), now);
  EXPECT_EQ(secrets_of(refreshable), secrets);  // stored before use

  json dead_secrets = secrets_of(dead);
  try {
    ensure_fresh_token(*ctx_, *adapter, *ctx_->store().find_account(dead.id), dead_secrets, ctx_->clock().now());
    ADD_FAILURE() << "an expired token without a refresh token was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_NE(std::string(e.what()).find("x:d: its access token expired"), std::string::npos) << e.what();
  }
  EXPECT_EQ(token_grants(), grants + 1);

  // A token that is still good is left alone.
  json good = secrets_of(refreshable);
  ensure_fresh_token(*ctx_, *adapter, *ctx_->store().find_account(refreshable.id), good, ctx_->clock().now());
  EXPECT_EQ(token_grants(), grants + 1);
}

TEST_F(TokenHealthTest, ExpiringListsWhatAPersonMustRenewWithinTheWindow) {
  const std::int64_t now = epoch_s(ctx_->clock().now());
  const auto days = [](int n) { return static_cast<std::int64_t>(n) * 86400; };
  const auto soon = add_x("soon", now - days(50), now + days(3), false);   // LinkedIn-like: no refresh
  add_x("later", now - days(30), now + days(30), false);                  // outside a 14-day window
  add_x("auto", now - days(1), now + days(3), true);                      // the daemon renews it
  const auto gone = add_x("gone", now - days(60), now - 60, false);       // already expired

  auto listed = expiring_accounts(*ctx_, std::chrono::hours(24 * 14));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].account.id, soon.id);
  EXPECT_FALSE(listed[0].refreshable);
  EXPECT_EQ(listed[0].expires_at, from_s(now + days(3)));
  EXPECT_NE(listed[0].reason.find("cannot be refreshed"), std::string::npos) << listed[0].reason;
  EXPECT_EQ(listed[1].account.id, gone.id);
  EXPECT_NE(listed[1].reason.find("token expired"), std::string::npos) << listed[1].reason;
  const json doc = to_json(listed[0]);
  EXPECT_EQ(doc["account"], "x:soon");
  EXPECT_EQ(doc["refreshable"], false);

  listed = expiring_accounts(*ctx_, std::chrono::hours(24));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].account.id, gone.id);
}

}  // namespace
}  // namespace multivio::app
