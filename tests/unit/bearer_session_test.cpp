// SPDX-License-Identifier: MIT
// The OAuth 2.0 bearer session YouTube, LinkedIn and TikTok share, against a
// scripted http::Client: refresh before expiry, one refresh after a refused
// answer (never a loop), new secrets saved before the retried request goes
// out, and the re-link hint when nothing can refresh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/platforms/bearer_session.hpp"

namespace multivio::platforms {
namespace {

using nlohmann::json;
using std::chrono::system_clock;
using testing::ElementsAre;
using testing::HasSubstr;

constexpr const char* k_hint = "re-link it with 'multivio account add demo --oauth'";

long long epoch_in(std::chrono::seconds from_now) {
  return std::chrono::duration_cast<std::chrono::seconds>((system_clock::now() + from_now).time_since_epoch()).count();
}

// Everything that happens, in order: "send <Authorization>", "save <access
// token>", "refresh <refresh token>".
struct Journal {
  std::vector<std::string> events;
};

// Answers scripted responses in order and notes each request it is sent.
class ScriptedHttp : public http::Client {
 public:
  explicit ScriptedHttp(Journal& journal) : journal_(journal) {}
  std::deque<http::Response> replies;
  std::vector<http::Request> requests;

  http::Response send(const http::Request& request) override {
    requests.push_back(request);
    std::string auth = "(none)";
    for (const auto& [name, value] : request.headers) {
      if (name == "Authorization") auth = value;
    }
    journal_.events.push_back("send " + auth);
    if (replies.empty()) throw Error(ErrorKind::transient, "connection refused");
    http::Response r = replies.front();
    replies.pop_front();
    return r;
  }

 private:
  Journal& journal_;
};

http::Response answer(int status, std::string body = "{}") {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

class BearerSessionTest : public testing::Test {
 protected:
  BearerSessionTest() : http(journal) {}

  // A refresh call that hands out "fresh-1", "fresh-2", ... and, when
  // `rotate`, a new refresh token with each.
  BearerPolicy policy(bool rotate = false) {
    BearerPolicy p;
    p.relink = k_hint;
    p.refresh_refused = "demo refused the refresh token";
    p.refresh = [this, rotate](const json& secrets) {
      journal.events.push_back("refresh " + secrets.value("refresh_token", std::string()));
      ++refreshes;
      Refreshed r;
      r.tokens.access_token = "fresh-" + std::to_string(refreshes);
      if (rotate) r.tokens.refresh_token = "rotated-" + std::to_string(refreshes);
      r.tokens.expires_at = std::chrono::floor<std::chrono::seconds>(system_clock::now()) + std::chrono::hours{2};
      return r;
    };
    return p;
  }

  SaveSecrets saver() {
    return [this](const json& secrets) {
      journal.events.push_back("save " + secrets.value("access_token", std::string()));
      saved.push_back(secrets);
    };
  }

  BearerSession session(const json& secrets, BearerPolicy p) {
    return BearerSession(http, config, "demo:main", secrets, saver(), std::move(p));
  }

  Journal journal;
  ScriptedHttp http;
  config::Config config;
  std::vector<json> saved;
  int refreshes = 0;
};

TEST_F(BearerSessionTest, SendsTheStoredTokenWithTheConfiguredTimeouts) {
  config.daemon.connect_timeout = std::chrono::milliseconds{1234};
  config.daemon.http_timeout = std::chrono::milliseconds{5678};
  auto s = session({{"access_token", "old"}, {"refresh_token", "r0"}, {"expires_at", epoch_in(std::chrono::hours{1})}},
                   policy());
  http.replies = {answer(200)};
  http::Request req = s.request("GET", "http://127.0.0.1:1/me");
  req.headers.emplace_back("authorization", "Bearer stale");  // replaced, not doubled
  EXPECT_EQ(s.send(std::move(req), "demo:main: GET /me").status, 200);
  EXPECT_THAT(journal.events, ElementsAre("send Bearer old"));
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].headers.size(), 1u);
  EXPECT_EQ(http.requests[0].connect_timeout, std::chrono::milliseconds{1234});
  EXPECT_EQ(http.requests[0].total_timeout, std::chrono::milliseconds{5678});
  EXPECT_FALSE(s.refreshed());
  EXPECT_TRUE(saved.empty());
}

TEST_F(BearerSessionTest, RefreshesWithinTheMarginBeforeSendingAndKeepsANonRotatedRefreshToken) {
  auto s = session({{"access_token", "old"},
                    {"refresh_token", "r0"},
                    {"scope", "upload"},
                    {"expires_at", epoch_in(std::chrono::minutes{2})}},
                   policy());
  http.replies = {answer(200)};
  s.send(s.request("POST", "http://127.0.0.1:1/upload"), "demo:main: upload");
  EXPECT_THAT(journal.events, ElementsAre("refresh r0", "save fresh-1", "send Bearer fresh-1"));
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0]["refresh_token"], "r0");  // the answer had none: the old one stays
  EXPECT_EQ(saved[0]["scope"], "upload");
  EXPECT_GT(saved[0]["expires_at"].get<long long>(), epoch_in(std::chrono::hours{1}));
  EXPECT_TRUE(s.refreshed());
}

TEST_F(BearerSessionTest, AWiderMarginRefreshesADayEarly) {
  BearerPolicy p = policy();
  p.refresh_margin = std::chrono::hours{24};
  auto s = session({{"access_token", "old"}, {"refresh_token", "r0"}, {"expires_at", epoch_in(std::chrono::hours{20})}},
                   std::move(p));
  http.replies = {answer(200)};
  s.send(s.request("GET", "http://127.0.0.1:1/me"), "demo:main");
  EXPECT_EQ(refreshes, 1);
  EXPECT_EQ(journal.events.back(), "send Bearer fresh-1");
}

TEST_F(BearerSessionTest, ARefusedAnswerRefreshesOnceSavesFirstAndResends) {
  auto s = session({{"access_token", "old"}, {"refresh_token", "r0"}}, policy(/*rotate=*/true));
  http.replies = {answer(401), answer(201)};
  EXPECT_EQ(s.send(s.request("POST", "http://127.0.0.1:1/posts"), "demo:main: POST /posts").status, 201);
  // The rotated refresh token is stored before the new access token is used.
  EXPECT_THAT(journal.events, ElementsAre("send Bearer old", "refresh r0", "save fresh-1", "send Bearer fresh-1"));
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0]["refresh_token"], "rotated-1");
}

TEST_F(BearerSessionTest, ATokenRefusedAgainAfterTheRefreshIsNotRefreshedAgain) {
  auto s = session({{"access_token", "old"}, {"refresh_token", "r0"}}, policy(true));
  http.replies = {answer(401), answer(401), answer(401)};
  EXPECT_EQ(s.send(s.request("GET", "http://127.0.0.1:1/me"), "demo:main").status, 401);
  EXPECT_EQ(s.send(s.request("GET", "http://127.0.0.1:1/me"), "demo:main").status, 401);
  EXPECT_EQ(refreshes, 1);
  EXPECT_EQ(http.requests.size(), 3u);
}

TEST_F(BearerSessionTest, ANetworkSpecificRefusalAlsoRefreshes) {
  BearerPolicy p = policy();
  p.refused = [](const http::Response& r) { return r.body.find("access_token_invalid") != std::string::npos; };
  auto s = session({{"access_token", "old"}, {"refresh_token", "r0"}}, std::move(p));
  http.replies = {answer(200, R"({"error":{"code":"access_token_invalid"}})"), answer(200, R"({"data":{}})")};
  EXPECT_EQ(s.send(s.request("POST", "http://127.0.0.1:1/q"), "demo:main").body, R"({"data":{}})");
  EXPECT_EQ(refreshes, 1);
  // With a custom test, a plain 401 is the network's to judge.
  BearerPolicy only_envelope = policy();
  only_envelope.refused = [](const http::Response&) { return false; };
  auto t = session({{"access_token", "old"}, {"refresh_token", "r0"}}, std::move(only_envelope));
  http.replies = {answer(401)};
  EXPECT_EQ(t.send(t.request("GET", "http://127.0.0.1:1/me"), "demo:main").status, 401);
  EXPECT_EQ(refreshes, 1);
}

TEST_F(BearerSessionTest, ExtraFieldsOfTheRefreshAnswerAreStoredWithTheTokens) {
  BearerPolicy p = policy(true);
  auto inner = p.refresh;
  p.refresh = [inner](const json& secrets) {
    Refreshed r = inner(secrets);
    r.extra["open_id"] = "user-7";
    return r;
  };
  auto s = session({{"access_token", "old"}, {"refresh_token", "r0"}, {"open_id", "user-1"}}, std::move(p));
  s.refresh();
  EXPECT_EQ(s.secrets()["open_id"], "user-7");
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0], s.secrets());
}

TEST_F(BearerSessionTest, PreSignedUrlsGetNoTokenAndNoRefresh) {
  auto s = session({{"access_token", "old"}, {"refresh_token", "r0"}}, policy());
  http.replies = {answer(401)};
  EXPECT_EQ(s.send(s.request("PUT", "http://127.0.0.1:1/signed?sig=x"), "demo:main: upload", false).status, 401);
  EXPECT_THAT(journal.events, ElementsAre("send (none)"));
}

TEST_F(BearerSessionTest, AnExpiredTokenWithoutARefreshTokenIsRefusedBeforeSending) {
  auto s = session({{"access_token", "old"}, {"expires_at", epoch_in(-std::chrono::hours{72})}}, policy());
  try {
    s.send(s.request("GET", "http://127.0.0.1:1/me"), "demo:main");
    FAIL() << "sent with an expired token";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_THAT(e.what(), HasSubstr("demo:main: the access token expired 3 days ago and no refresh token is stored"));
    EXPECT_THAT(e.what(), HasSubstr(k_hint));
  }
  EXPECT_TRUE(http.requests.empty());
  EXPECT_EQ(refreshes, 0);
}

TEST_F(BearerSessionTest, WithoutARefreshTokenARefusalIsReturnedAndRefreshNamesTheHint) {
  // Inside the margin but not yet expired: worth trying as is.
  auto s = session({{"access_token", "old"}, {"expires_at", epoch_in(std::chrono::minutes{1})}}, policy());
  http.replies = {answer(401)};
  EXPECT_EQ(s.send(s.request("GET", "http://127.0.0.1:1/me"), "demo:main").status, 401);
  EXPECT_EQ(http.requests.size(), 1u);
  try {
    s.refresh();
    FAIL() << "refreshed without a refresh token";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_THAT(e.what(), HasSubstr("no refresh token is stored; " + std::string(k_hint)));
  }
  EXPECT_EQ(refreshes, 0);
  EXPECT_TRUE(saved.empty());
}

TEST_F(BearerSessionTest, ARefusedRefreshTokenAsksForRelinkingAndSendsNothingMore) {
  BearerPolicy p = policy();
  p.refresh = [](const json&) -> Refreshed {
    oauth::AuthError e("demo:main: token refresh: HTTP 400: invalid_grant: re-link", "invalid_grant", true);
    e.http_status = 400;
    throw e;
  };
  auto s = session({{"access_token", "old"}, {"refresh_token", "r0"}}, std::move(p));
  http.replies = {answer(401)};
  try {
    s.send(s.request("GET", "http://127.0.0.1:1/me"), "demo:main");
    FAIL() << "a refused refresh token went unnoticed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_EQ(e.http_status, 400);
    EXPECT_EQ(std::string(e.what()), "demo:main: demo refused the refresh token: " + std::string(k_hint));
  }
  EXPECT_EQ(http.requests.size(), 1u);
  EXPECT_TRUE(saved.empty());
}

TEST_F(BearerSessionTest, NoAccessTokenIsAnAuthErrorWithTheHint) {
  try {
    auto s = session({{"refresh_token", "r0"}}, policy());
    FAIL() << "a session without an access token";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_EQ(std::string(e.what()), "demo:main: no access token is stored; " + std::string(k_hint));
  }
}

TEST_F(BearerSessionTest, UpdateSavesAtOnce) {
  auto s = session({{"access_token", "old"}}, policy());
  s.update({{"channel_id", "UC1"}});
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0]["channel_id"], "UC1");
  EXPECT_EQ(saved[0]["access_token"], "old");
}

}  // namespace
}  // namespace multivio::platforms
