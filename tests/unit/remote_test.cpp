// SPDX-License-Identifier: MIT
// The remote CLI's library side: every answer of the REST API read back into
// the types the local calls return (to_json(from_json(doc)) == doc), API
// errors mapped to the local ErrorKinds, the URL and token checks, and
// paging through GET /v1/posts, against a scripted http::Client.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

#include "common/app/ai.hpp"
#include "common/app/link.hpp"
#include "common/app/posts.hpp"
#include "common/error.hpp"
#include "common/model/model.hpp"
#include "common/remote/client.hpp"

namespace multivio::remote {
namespace {

using nlohmann::json;
using testing::HasSubstr;

model::Post sample_post() {
  model::Post p;
  p.id = 12;
  p.text = "v1.2 is out";
  p.media = {"/tmp/a.png"};
  p.tags = {"release", "v1.2"};
  p.scheduled_at = model::from_millis(1'796'115'600'123);
  p.timezone = "Europe/Berlin";
  p.key = "ci-77";
  p.options = {{"thread", "auto"}};
  p.created_at = model::from_millis(1'790'000'000'000);
  p.updated_at = model::from_millis(1'790'000'100'000);
  model::Target t;
  t.id = 3;
  t.post_id = 12;
  t.account_id = 5;
  t.account_ref = "x:main";
  t.platform = "x";
  t.variant = "short";
  t.status = model::TargetStatus::retry_wait;
  t.attempts = 2;
  t.next_attempt_at = model::from_millis(1'796'115'700'000);
  t.remote_ids = {"1", "2"};
  t.remote_url = "https://x.com/i/1";
  t.error = "HTTP 503";
  t.published_at = model::from_millis(1'796'115'650'000);
  p.targets.push_back(t);
  model::Target bare;
  bare.id = 4;
  bare.account_ref = "feed:main";
  bare.platform = "feed";
  bare.status = model::TargetStatus::published;
  p.targets.push_back(bare);
  return p;
}

TEST(RemoteJson, PostsAccountsAndTimesRoundTrip) {
  const auto post = sample_post();
  const json doc = model::to_json(post);
  const auto back = model::post_from_json(doc);
  EXPECT_EQ(model::to_json(back), doc);
  EXPECT_EQ(back.status(), post.status());
  EXPECT_EQ(back.targets.at(0).post_id, 12);

  model::Post draft;  // no schedule, no key, no targets
  draft.id = 1;
  EXPECT_EQ(model::to_json(model::post_from_json(model::to_json(draft))), model::to_json(draft));

  model::Account a;
  a.id = 5;
  a.platform = "mastodon";
  a.name = "main";
  a.handle = "@me@example.social";
  a.options = {{"instance", "https://example.social"}};
  a.secrets_sealed = "sealed bytes";
  a.healthy = false;
  a.health_note = "token revoked";
  a.created_at = model::from_millis(1'790'000'000'000);
  const auto account = model::account_from_json(model::to_json(a));
  EXPECT_EQ(model::to_json(account), model::to_json(a));
  EXPECT_NE(account.secrets_sealed, "sealed bytes") << "secrets never travel";
  a.secrets_sealed.clear();
  EXPECT_TRUE(model::account_from_json(model::to_json(a)).secrets_sealed.empty());

  for (const char* t : {"2026-12-01T08:00:00Z", "2026-12-01T08:00:00.007Z", "1970-01-01T00:00:00Z"}) {
    EXPECT_EQ(model::format_utc(model::parse_utc(t)), t);
  }
  for (const char* t : {"", "2026-12-01 08:00:00Z", "2026-12-01T08:00:00", "2026-13-01T08:00:00Z",
                        "2026-12-01T08:00:00.7Z", "2026-12-01T08:00:00+01:00", "2026-02-30T08:00:00Z"}) {
    EXPECT_THROW(model::parse_utc(t), Error) << t;
  }
}

TEST(RemoteJson, MalformedDocumentsArePermanentErrors) {
  json doc = model::to_json(sample_post());
  doc.erase("targets");
  try {
    model::post_from_json(doc);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::permanent);
    EXPECT_THAT(e.what(), HasSubstr("targets"));
  }
  doc = model::to_json(sample_post());
  doc["targets"][0]["status"] = "bogus";
  EXPECT_THROW(model::post_from_json(doc), Error);
  doc = model::to_json(sample_post());
  doc["id"] = "12";
  EXPECT_THROW(model::post_from_json(doc), Error);
}

TEST(RemoteJson, CheckResultsAccountChecksAndAiTextsRoundTrip) {
  app::CheckResult c{"x", "x", platforms::ValidationReport{300, 280, {"300 characters; x allows 280"}, 1}};
  EXPECT_EQ(app::to_json(check_result_from_json(app::to_json(c))), app::to_json(c));

  model::Account account;
  account.id = 7;
  account.platform = "x";
  account.name = "main";
  app::AccountCheckResult ok;
  ok.account = account;
  ok.ok = true;
  ok.check = platforms::AccountCheck{"@me", model::from_millis(1'796'115'600'000), {"tweet.write"}, "user 1"};
  EXPECT_EQ(app::to_json(account_check_from_json(app::to_json(ok), account)), app::to_json(ok));
  app::AccountCheckResult failed;
  failed.account = account;
  failed.problem = "the network refused the token";
  failed.kind = ErrorKind::auth;
  const auto back = account_check_from_json(app::to_json(failed), account);
  EXPECT_EQ(back.kind, ErrorKind::auth);
  EXPECT_EQ(app::to_json(back), app::to_json(failed));

  app::AiText t;
  t.network = "x";
  t.text = "hello #release";
  t.length = 14;
  t.limit = 280;
  t.rewrites = 1;
  t.fit_note = "shortened at a sentence";
  t.usage = ai::Usage{"grok-test", 17, 6, std::chrono::milliseconds(42)};
  EXPECT_EQ(app::to_json(ai_text_from_json(app::to_json(t))), app::to_json(t));
  app::AiText any;  // no network, no fit note
  EXPECT_EQ(app::to_json(ai_text_from_json(app::to_json(any))), app::to_json(any));
}

http::Response answer(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

json error_body(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

TEST(RemoteErrors, ApiCodesBecomeTheLocalKinds) {
  const std::pair<const char*, ErrorKind> cases[] = {
      {"usage", ErrorKind::usage},         {"validation", ErrorKind::validation},
      {"not_found", ErrorKind::not_found}, {"auth", ErrorKind::auth},
      {"transient", ErrorKind::transient}, {"permanent", ErrorKind::permanent},
      {"forbidden", ErrorKind::auth},      {"too_large", ErrorKind::usage},
      {"rate_limited", ErrorKind::transient}, {"method_not_allowed", ErrorKind::permanent},
  };
  for (const auto& [code, kind] : cases) {
    const Error e = error_from_response(answer(400, error_body(code, "the reason")), "the API");
    EXPECT_EQ(e.kind(), kind) << code;
    EXPECT_EQ(e.http_status, 400);
  }
  // The server's message as a local call would have said it...
  EXPECT_STREQ(error_from_response(answer(404, error_body("not_found", "post 9 does not exist")), "the API").what(),
               "post 9 does not exist");
  // ...but a refused API token names who refused it.
  EXPECT_STREQ(error_from_response(answer(401, error_body("auth", "unknown token")), "the API at U").what(),
               "the API at U: unknown token");

  auto limited = answer(429, error_body("rate_limited", "more than 10 requests per second"));
  limited.headers.emplace_back("Retry-After", "3");
  EXPECT_EQ(error_from_response(limited, "the API").retry_after, std::chrono::seconds(3));

  // Not an API error body (a proxy's page): classified by status.
  http::Response proxy;
  proxy.status = 502;
  proxy.body = "<html>Bad Gateway</html>";
  EXPECT_EQ(error_from_response(proxy, "the API").kind(), ErrorKind::transient);
}

TEST(RemoteOptions, PlainHttpOnlyToLoopbackAndATokenIsNeeded) {
  auto options = [](std::string url, std::string token = "mv_t") {
    Options o;
    o.url = std::move(url);
    o.token = std::move(token);
    return o;
  };
  for (const char* ok : {"https://multivio.example.com", "https://10.0.0.1:8443/", "http://127.0.0.1:8080",
                         "http://localhost:1", "http://[::1]:80", "http://127.0.0.2"}) {
    EXPECT_NO_THROW(check_options(options(ok))) << ok;
  }
  for (const char* bad : {"http://example.com", "http://127.0.0.1.example.com", "http://user@10.0.0.1",
                          "ftp://127.0.0.1", "example.com", "https://"}) {
    try {
      check_options(options(bad));
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage) << bad;
    }
  }
  try {
    check_options(options("https://example.com", ""));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_THAT(e.what(), HasSubstr("MULTIVIO_API_TOKEN"));
  }
}

// Answers scripted responses in order and records the requests.
class ScriptedHttp : public http::Client {
 public:
  std::deque<http::Response> replies;
  std::vector<http::Request> requests;

  http::Response send(const http::Request& request) override {
    requests.push_back(request);
    if (replies.empty()) throw Error(ErrorKind::transient, "connection refused");
    auto r = replies.front();
    replies.pop_front();
    return r;
  }
};

json page(int from, int count, bool more) {
  model::Post p = sample_post();
  json posts = json::array();
  for (int i = 0; i < count; ++i) {
    p.id = from - i;
    posts.push_back(model::to_json(p));
  }
  return {{"posts", posts}, {"next_cursor", more ? json(std::to_string(from - count + 1)) : json(nullptr)}};
}

TEST(RemoteClient, ListPagesThroughTheCursorUpToTheLimit) {
  auto http = std::make_unique<ScriptedHttp>();
  auto* raw = http.get();
  raw->replies = {answer(200, page(300, 100, true)), answer(200, page(200, 50, true))};
  Options o;
  o.url = "http://127.0.0.1:8080/";
  o.token = "mv_secret";
  Client client(o, std::move(http));
  app::ListRequest request;
  request.limit = 150;
  request.status = "scheduled";
  request.to = "x:main";
  const auto posts = client.list_posts(request);
  ASSERT_EQ(posts.size(), 150u);
  EXPECT_EQ(posts.front().id, 300);
  EXPECT_EQ(posts.back().id, 151);
  ASSERT_EQ(raw->requests.size(), 2u);
  EXPECT_EQ(raw->requests[0].url, "http://127.0.0.1:8080/v1/posts?limit=100&status=scheduled&to=x%3Amain");
  EXPECT_EQ(raw->requests[1].url, "http://127.0.0.1:8080/v1/posts?limit=50&status=scheduled&to=x%3Amain&cursor=201");
  const auto& headers = raw->requests[0].headers;
  EXPECT_NE(std::find(headers.begin(), headers.end(), std::pair<std::string, std::string>{"Authorization", "Bearer mv_secret"}),
            headers.end());

  // The last page (next_cursor null) ends the list early.
  auto http2 = std::make_unique<ScriptedHttp>();
  http2->replies = {answer(200, page(3, 3, false))};
  Client short_list(o, std::move(http2));
  EXPECT_EQ(short_list.list_posts(app::ListRequest{}).size(), 3u);
}

TEST(RemoteClient, CreatedOrExistingAndUnreachable) {
  auto http = std::make_unique<ScriptedHttp>();
  auto* raw = http.get();
  raw->replies = {answer(201, model::to_json(sample_post())), answer(200, model::to_json(sample_post()))};
  Options o;
  o.url = "http://127.0.0.1:9";
  o.token = "mv_secret";
  Client client(o, std::move(http));
  app::NewPostRequest request;
  request.text = "v1.2 is out";
  request.to = {"x:main"};
  request.at = "2030-01-01T09:00:00+01:00";
  request.variants = {{"x:main", "short"}};
  EXPECT_TRUE(client.new_post(request).created);
  const json sent = json::parse(raw->requests[0].body);
  EXPECT_EQ(sent["at"], "2030-01-01T08:00:00Z") << "WHEN travels as a UTC instant";
  EXPECT_EQ(sent["variants"], json({{"x:main", "short"}}));
  EXPECT_FALSE(client.new_post(request).created);

  request.media = {"/tmp/a.png"};
  try {
    client.new_post(request);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_THAT(e.what(), HasSubstr("--media"));
  }

  try {
    client.get_post(1);  // nothing scripted: the connection fails
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_THAT(e.what(), HasSubstr("cannot reach the multivio API at http://127.0.0.1:9"));
  }
}

}  // namespace
}  // namespace multivio::remote
