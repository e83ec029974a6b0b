// SPDX-License-Identifier: MIT
#include "common/http/client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/fakes/webhook_server.hpp"

namespace multivio::http {
namespace {

using namespace std::chrono_literals;
using fakes::WebhookServer;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<WebhookServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    client_ = make_client();
  }

  Request post(std::string path = "/hook", std::string body = R"({"a":1})") {
    Request r;
    r.method = "POST";
    r.url = server_->base_url() + path;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = std::move(body);
    return r;
  }

  std::unique_ptr<WebhookServer> server_;
  std::unique_ptr<Client> client_;  // declared after the server: closes its connections first
};

TEST_F(HttpTest, OkResponseExposesHeadersCaseInsensitively) {
  server_->script({{200, R"({"id":"42"})", {{"X-Request-Id", "abc"}}, 0ms}});
  Request r = post();
  r.headers.emplace_back("X-Custom", "yes");
  const Response resp = client_->send(r);
  EXPECT_EQ(resp.status, 200);
  EXPECT_TRUE(resp.ok());
  EXPECT_EQ(resp.body, R"({"id":"42"})");
  EXPECT_EQ(resp.header("x-request-id"), "abc");
  EXPECT_EQ(resp.header("X-REQUEST-ID"), "abc");
  EXPECT_EQ(resp.header("content-type"), "application/json");
  EXPECT_FALSE(resp.header("x-missing"));

  const auto got = server_->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].path, "/hook");
  EXPECT_EQ(got[0].body, R"({"a":1})");
  EXPECT_EQ(got[0].header("x-custom"), "yes");
  EXPECT_EQ(got[0].header("User-Agent"), "multivio/0.1");
  EXPECT_TRUE(got[0].accepted);
}

TEST_F(HttpTest, OtherMethodsReachTheServer) {
  Request r;
  r.method = "GET";
  r.url = server_->base_url() + "/x?q=1";
  EXPECT_EQ(client_->send(r).status, 405);
  r.method = "DELETE";
  EXPECT_EQ(client_->send(r).status, 405);
  const auto got = server_->received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].method, "GET");
  EXPECT_EQ(got[0].target, "/x?q=1");
  EXPECT_EQ(got[1].method, "DELETE");
  EXPECT_FALSE(got[1].accepted);
}

TEST_F(HttpTest, RedirectsAreNotFollowedByDefault) {
  server_->script({{302, "moved", {{"Location", "/final"}, {"X-Hop", "1"}}, 0ms}});
  const Response resp = client_->send(post());
  EXPECT_EQ(resp.status, 302);
  EXPECT_EQ(resp.header("location"), "/final");
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(HttpTest, RedirectsAreFollowedWhenAskedAndOnlyLastHeadersKept) {
  server_->script({{302, "moved", {{"Location", "/final"}, {"X-Hop", "1"}}, 0ms},
                   {200, R"({"done":true})", {{"X-Final", "1"}}, 0ms}});
  Request r = post();
  r.follow_redirects = true;
  const Response resp = client_->send(r);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, R"({"done":true})");
  EXPECT_EQ(resp.header("x-final"), "1");
  EXPECT_FALSE(resp.header("x-hop"));
  const auto got = server_->received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].path, "/final");
  EXPECT_EQ(got[1].method, "POST");
}

TEST_F(HttpTest, TooManyRequestsIsTransientWithRetryAfter) {
  server_->script({{429, R"({"error":"slow down"})", {{"Retry-After", "17"}}, 0ms}});
  const Response resp = client_->send(post());
  EXPECT_EQ(resp.status, 429);
  const Error e = classify(resp, "webhook:main");
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.http_status, 429);
  EXPECT_EQ(e.retry_after, 17s);
  EXPECT_STREQ(e.what(), R"(webhook:main: HTTP 429: {"error":"slow down"})");
}

TEST_F(HttpTest, ServerErrorIsTransient) {
  server_->script({{500, "boom\nline two", {}, 0ms}});
  const Error e = classify(client_->send(post()), "ctx");
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_FALSE(e.retry_after);
  EXPECT_STREQ(e.what(), "ctx: HTTP 500: boom line two");
}

TEST_F(HttpTest, NotFoundIsPermanentAndUnauthorizedIsAuth) {
  server_->script({{404, "", {}, 0ms}, {401, "no", {}, 0ms}, {403, "forbidden", {}, 0ms}});
  const Error not_found = classify(client_->send(post()), "ctx");
  EXPECT_EQ(not_found.kind(), ErrorKind::permanent);
  EXPECT_EQ(not_found.http_status, 404);
  EXPECT_STREQ(not_found.what(), "ctx: HTTP 404");
  EXPECT_EQ(classify(client_->send(post()), "ctx").kind(), ErrorKind::auth);
  EXPECT_EQ(classify(client_->send(post()), "ctx").kind(), ErrorKind::auth);
}

TEST_F(HttpTest, StalledReplyTimesOutWithUnknownOutcome) {
  server_->script({{200, "late", {}, 5s}});
  Request r = post();
  r.total_timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  try {
    client_->send(r);
    FAIL() << "expected a timeout";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_TRUE(e.outcome_unknown) << e.what();
    EXPECT_NE(std::string(e.what()).find("POST http://127.0.0.1:"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(server_->count(), 1u);  // it did arrive: that is why the outcome is unknown
  // The stalled handler must not hold up shutdown.
  const auto stop_start = std::chrono::steady_clock::now();
  client_.reset();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, 3s);
}

TEST_F(HttpTest, ConnectionRefusedIsTransientAndSafeToRetry) {
  // A port that was just free and is now closed refuses connections.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);

  Request r;
  r.url = "http://user:pw@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x?token=secret";
  try {
    client_->send(r);
    FAIL() << "expected a connection error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_FALSE(e.outcome_unknown);
    const std::string msg = e.what();
    EXPECT_TRUE(msg.starts_with("GET http://***@127.0.0.1:")) << msg;
    EXPECT_EQ(msg.find("secret"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("pw"), std::string::npos) << msg;
  }
}

TEST(HttpClassify, RateLimitResetHeaderSetsRetryAfter) {
  Response resp;
  resp.status = 429;
  const auto reset = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()) + 120s;
  resp.headers = {{"x-rate-limit-reset", std::to_string(reset.count())}};
  const Error e = classify(resp, "x:main");
  ASSERT_TRUE(e.retry_after);
  EXPECT_GE(*e.retry_after, 118s);
  EXPECT_LE(*e.retry_after, 121s);
}

// X sends its window's reset on every answer: a 503 must not wait for it.
TEST(HttpClassify, RateLimitResetOnAServerErrorIsIgnored) {
  Response resp;
  resp.status = 503;
  const auto reset = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()) + 900s;
  resp.headers = {{"x-rate-limit-reset", std::to_string(reset.count())}};
  const Error e = classify(resp, "x:main");
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_FALSE(e.retry_after.has_value());
}

TEST(HttpClassify, LongBodyIsCutTo200Bytes) {
  Response resp;
  resp.status = 400;
  resp.body = std::string(500, 'x');
  const std::string msg = classify(resp, "c").what();
  EXPECT_EQ(msg, "c: HTTP 400: " + std::string(200, 'x'));
}

TEST(HttpRetryAfter, ParsesSecondsDatesAndRejectsGarbage) {
  using std::chrono::sys_days;
  const auto now = std::chrono::system_clock::time_point{sys_days{std::chrono::year{2015} / 10 / 21}} + 7h + 27min;
  EXPECT_EQ(parse_retry_after("120", now), 120s);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), 60s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), 0s);  // past: clamp
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("12abc", now));
  EXPECT_FALSE(parse_retry_after("Wed, 32 Oct 2015 07:28:00 GMT", now));
  EXPECT_FALSE(parse_retry_after("Wed, 21 Foo 2015 07:28:00 GMT", now));
}

TEST(HttpRedactUrl, HidesUserinfoAndQueryValues) {
  EXPECT_EQ(redact_url("https://api.example.com/v1/post"), "https://api.example.com/v1/post");
  EXPECT_EQ(redact_url("https://user:pass@host:8443/p?a=1&b=two&flag#frag"),
            "https://***@host:8443/p?a=***&b=***&flag#frag");
  EXPECT_EQ(redact_url("https://host/cb?code=abc&state=xyz"), "https://host/cb?code=***&state=***");
  EXPECT_EQ(redact_url("https://host?token="), "https://host?token=***");
  EXPECT_EQ(redact_url("http://a@b@host/x"), "http://***@host/x");
}

}  // namespace
}  // namespace multivio::http
