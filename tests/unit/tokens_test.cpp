// SPDX-License-Identifier: MIT
// API tokens and users (common/app/tokens.*, users.*): the clear token is
// returned once and only its SHA-256 is stored; verification refuses unknown,
// expired and revoked tokens alike; scopes parse strictly and admin implies
// every scope.
#include "common/app/tokens.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "common/app/users.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"

namespace multivio::app {
namespace {

namespace fs = std::filesystem;
using testing::ElementsAre;
using testing::HasSubstr;

class FixedClock final : public schedule::Clock {
 public:
  model::Timestamp now() const override { return t; }
  model::Timestamp t = model::from_millis(1'767'225'600'000);  // 2026-01-01T00:00:00Z
};

class TokensTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "multivio-tokens-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Options options;
    options.database = "sqlite://" + dir_ + "/multivio.db";
    const std::string home = dir_;
    options.env = [home](const std::string& name) -> std::optional<std::string> {
      if (name == "HOME") return home;
      if (name == "XDG_CONFIG_HOME") return home + "/config";
      if (name == "XDG_DATA_HOME") return home + "/data";
      return std::nullopt;
    };
    ctx_ = std::make_unique<Context>(std::move(options));
    ctx_->set_clock(&clock_);
  }
  void TearDown() override {
    ctx_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  CreatedToken create(const std::string& scopes, std::optional<std::string> expires = std::nullopt) {
    NewTokenRequest r;
    r.user = "alice";
    r.scopes = {scopes};
    r.expires = std::move(expires);
    r.name = "test";
    return create_token(*ctx_, r);
  }

  static ErrorKind kind_of(const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.kind();
    }
    ADD_FAILURE() << "no error thrown";
    return ErrorKind::permanent;
  }

  std::string dir_;
  FixedClock clock_;
  std::unique_ptr<Context> ctx_;
};

TEST_F(TokensTest, ClearTokenIsReturnedOnceAndOnlyItsHashIsStored) {
  add_user(*ctx_, "alice");
  const auto created = create("posts:read");
  EXPECT_TRUE(created.secret.starts_with("mvt_"));
  // 32 random bytes in unpadded base64url: 43 characters, no '+', '/' or '='.
  EXPECT_EQ(created.secret.size(), 4u + 43u);
  EXPECT_EQ(created.secret.find_first_of("+/="), std::string::npos);
  EXPECT_EQ(created.token.hash, crypto::sha256_hex(created.secret));
  EXPECT_EQ(hash_token(created.secret).size(), 64u);
  for (const auto& t : ctx_->store().list_tokens(std::nullopt)) {
    EXPECT_NE(t.hash, created.secret);
    EXPECT_EQ(to_json(t, clock_.now()).dump().find(t.hash), std::string::npos) << "JSON shows the hash";
  }
  EXPECT_NE(create("posts:read").secret, created.secret);
}

TEST_F(TokensTest, VerifyAcceptsTheTokenAndRefusesAnythingElseAlike) {
  const auto alice = add_user(*ctx_, "alice");
  const auto created = create("posts:read");
  const auto token = verify_token(ctx_->store(), created.secret, clock_.now());
  EXPECT_EQ(token.user_id, alice.id);

  std::string altered = created.secret;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad : {altered, std::string("mvt_"), std::string(), created.token.hash,
                                 created.secret.substr(4), created.secret + "x"}) {
    try {
      verify_token(ctx_->store(), bad, clock_.now());
      ADD_FAILURE() << "accepted a wrong token";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::auth);
      EXPECT_STREQ(e.what(), "invalid, expired or revoked API token");
    }
  }
}

TEST_F(TokensTest, ExpiredTokensAreRefusedFromTheirExpiryOn) {
  add_user(*ctx_, "alice");
  const auto created = create("posts:read", "1h");
  EXPECT_EQ(*created.token.expires_at, clock_.now() + std::chrono::hours(1));
  clock_.t += std::chrono::minutes(59);
  EXPECT_NO_THROW(verify_token(ctx_->store(), created.secret, clock_.now()));
  clock_.t += std::chrono::minutes(1);
  EXPECT_EQ(kind_of([&] { verify_token(ctx_->store(), created.secret, clock_.now()); }), ErrorKind::auth);
  EXPECT_EQ(to_json(ctx_->store().list_tokens(std::nullopt).front(), clock_.now())["state"], "expired");
  EXPECT_EQ(kind_of([&] { create("posts:read", "0s"); }), ErrorKind::usage);
  EXPECT_EQ(kind_of([&] { create("posts:read", "soon"); }), ErrorKind::usage);
}

TEST_F(TokensTest, RevokedTokensAreRefused) {
  add_user(*ctx_, "alice");
  const auto created = create("posts:read");
  revoke_token(*ctx_, created.token.id);
  EXPECT_EQ(kind_of([&] { verify_token(ctx_->store(), created.secret, clock_.now()); }), ErrorKind::auth);
  EXPECT_EQ(to_json(ctx_->store().list_tokens(std::nullopt).front(), clock_.now())["state"], "revoked");
  EXPECT_EQ(kind_of([&] { revoke_token(*ctx_, created.token.id + 1); }), ErrorKind::not_found);
}

TEST_F(TokensTest, ScopesParseStrictlyAndAdminImpliesAll) {
  EXPECT_THAT(parse_scopes("posts:read, posts:write,posts:read"), ElementsAre("posts:read", "posts:write"));
  EXPECT_EQ(kind_of([] { parse_scopes("posts:read,posts:delete"); }), ErrorKind::usage);
  add_user(*ctx_, "alice");
  EXPECT_EQ(kind_of([&] { create(""); }), ErrorKind::usage);
  const auto reader = create("posts:read");
  EXPECT_TRUE(has_scope(reader.token, "posts:read"));
  EXPECT_FALSE(has_scope(reader.token, "posts:write"));
  EXPECT_FALSE(has_scope(reader.token, "admin"));
  const auto admin = create("admin");
  for (const auto scope : kScopes) EXPECT_TRUE(has_scope(admin.token, scope)) << scope;
}

TEST_F(TokensTest, TokensNeedAnExistingUserAndUsersNeedGoodNames) {
  NewTokenRequest r;
  r.user = "nobody";
  r.scopes = {"posts:read"};
  EXPECT_EQ(kind_of([&] { create_token(*ctx_, r); }), ErrorKind::not_found);
  for (const char* bad : {"", "12", "a b", "x/y", "ü"}) {
    EXPECT_EQ(kind_of([&] { add_user(*ctx_, bad); }), ErrorKind::usage) << bad;
  }
  const auto bob = add_user(*ctx_, "bob.smith-2");
  EXPECT_EQ(resolve_user(*ctx_, std::to_string(bob.id)).name, "bob.smith-2");
  EXPECT_EQ(resolve_user(*ctx_, "local").id, store::kLocalUser);
  r.user = "bob.smith-2";
  create_token(*ctx_, r);
  EXPECT_EQ(list_tokens(*ctx_, std::string("bob.smith-2")).size(), 1u);
  EXPECT_EQ(list_tokens(*ctx_, std::string("local")).size(), 0u);
  remove_user(*ctx_, "bob.smith-2");
  EXPECT_EQ(list_tokens(*ctx_, std::nullopt).size(), 0u);
  EXPECT_EQ(kind_of([&] { remove_user(*ctx_, "local"); }), ErrorKind::usage);
}

TEST(ErrorStatus, EveryKindHasTheHttpStatusOfDesignSection7) {
  EXPECT_EQ(http_status_for(ErrorKind::usage), 400);
  EXPECT_EQ(http_status_for(ErrorKind::validation), 422);
  EXPECT_EQ(http_status_for(ErrorKind::not_found), 404);
  EXPECT_EQ(http_status_for(ErrorKind::auth), 401);
  EXPECT_EQ(http_status_for(ErrorKind::transient), 503);
  EXPECT_EQ(http_status_for(ErrorKind::permanent), 500);
}

}  // namespace
}  // namespace multivio::app
