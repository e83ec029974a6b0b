// SPDX-License-Identifier: MIT
// The REST listener end to end: the real multiviod with --listen 127.0.0.1:0
// and --listen-port-file, driven over libcurl (common/http's client). Covers
// every route's success and error paths, two users probing each other's ids
// (404 everywhere, like a missing id), expired/revoked/wrong-scope tokens,
// 401 with WWW-Authenticate, malformed and oversized bodies, and a rate-limit
// burst answered with 429 and Retry-After.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/http/client.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/oauth/pkce.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/fakes/mastodon_server.hpp"
#include "tests/fakes/media_samples.hpp"
#include "tests/fakes/oauth_server.hpp"
#include "tests/fakes/x_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::HasSubstr;

// A running daemon with its REST listener and a client for it.
class Api {
 public:
  Api(const Sandbox& box, const std::string& port_file)
      : daemon_(box.daemon({"--listen", "127.0.0.1:0", "--listen-port-file", port_file})),
        client_(http::make_client()) {
    for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
      const std::string text = read_file(port_file);
      if (!text.empty()) {
        port_ = std::stoi(text);
        break;
      }
      if (!daemon_.running()) break;
      std::this_thread::sleep_for(20ms);
    }
  }
  ~Api() {
    if (daemon_.running()) {
      daemon_.signal(SIGTERM);
      daemon_.wait(15s);
    }
  }

  bool up() const { return port_ > 0; }
  int port() const { return port_; }
  std::string log() const { return daemon_.stderr_text(); }
  Process& daemon() { return daemon_; }

  http::Response call(const std::string& method, const std::string& path, const std::string& token = "",
                      const std::string& body = "", const std::string& authorization = "",
                      const http::Headers& extra = {}) {
    http::Request r;
    r.method = method;
    r.url = "http://127.0.0.1:" + std::to_string(port_) + path;
    r.headers = extra;
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
    if (!authorization.empty()) r.headers.emplace_back("Authorization", authorization);
    if (!body.empty() || method == "POST") {
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = body;
    }
    r.total_timeout = 20s;
    return client_->send(r);
  }
  http::Response get(const std::string& path, const std::string& token = "") { return call("GET", path, token); }
  http::Response post(const std::string& path, const std::string& token, const json& body) {
    return call("POST", path, token, body.dump());
  }

 private:
  Process daemon_;
  std::unique_ptr<http::Client> client_;
  int port_ = 0;
};

json body_of(const http::Response& r) {
  try {
    return json::parse(r.body);
  } catch (const json::exception&) {
    ADD_FAILURE() << "not JSON (HTTP " << r.status << "): " << r.body;
    return json();
  }
}

// The JSON error body every failure carries: {"error":{"code":..,"message":..}}.
std::string error_code(const http::Response& r) {
  const json j = body_of(r);
  if (!j.is_object() || !j.contains("error") || !j["error"].contains("message")) {
    ADD_FAILURE() << "no error body: " << r.body;
    return {};
  }
  return j["error"].value("code", "");
}

// A failure: the status, the JSON error body's code, a JSON content type.
void expect_error(const http::Response& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(error_code(r), code) << r.body;
  EXPECT_THAT(r.header("Content-Type").value_or(""), HasSubstr("application/json"));
}

class RestTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    // The fakes live on 127.0.0.1, which API clients may only name when allowed.
    box_.append_config("daemon: {poll_interval: 1s, http: {max_body: 4096, rate_limit: 10000, allow_private_urls: true}}");
    for (const std::string user : {"alice", "bob"}) {
      ASSERT_EQ(box_.cli({"user", "add", user}).code, 0);
      const auto r = box_.cli({"--as", user, "account", "add", "feed", "--name", user + "-feed", "--path",
                               box_.dir() + "/feed-" + user});
      ASSERT_EQ(r.code, 0) << r.err;
    }
    ASSERT_EQ(box_.cli({"account", "add", "feed", "--name", "local-feed", "--path", box_.dir() + "/feed-local"}).code,
              0);
    alice_ = token("alice", "posts:read,posts:write,accounts:read,accounts:write");
    bob_ = token("bob", "posts:read,posts:write,accounts:read,accounts:write");
    api_ = std::make_unique<Api>(box_, box_.dir() + "/port");
    if (!api_->up()) GTEST_SKIP() << "the listener did not start (no loopback socket?): " << api_->log();
  }

  std::string token(const std::string& user, const std::string& scopes, const std::string& expires = "") {
    std::vector<std::string> args{"token", "create", "--user", user, "--scope", scopes};
    if (!expires.empty()) {
      args.push_back("--expires");
      args.push_back(expires);
    }
    return box_.json(args)["token"].get<std::string>();
  }

  long long account_id(const std::string& ref) {
    const json listed = body_of(api_->get("/v1/accounts", ref == "alice-feed" ? alice_ : bob_));
    for (const auto& a : listed["accounts"]) {
      if (a["name"] == ref) return a["id"].get<long long>();
    }
    ADD_FAILURE() << "no account " << ref;
    return 0;
  }

  json draft(const std::string& token, const std::string& account, const std::string& text = "hello") {
    const auto r = api_->post("/v1/posts", token, {{"text", text}, {"to", {"feed:" + account}}, {"draft", true}});
    EXPECT_EQ(r.status, 201) << r.body;
    return body_of(r);
  }

  Sandbox box_;
  std::string alice_, bob_;
  std::unique_ptr<Api> api_;
};

TEST_F(RestTest, HealthAndOpenApiArePublicMetricsNeedAdmin) {
  auto r = api_->get("/health");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["status"], "ok");
  EXPECT_EQ(body_of(r)["store"], "ok");

  r = api_->get("/openapi.json");
  ASSERT_EQ(r.status, 200);
  const json doc = body_of(r);
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_TRUE(doc["paths"].contains("/v1/posts/{id}/schedule"));

  r = api_->get("/metrics");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("WWW-Authenticate").value_or(""), "Bearer realm=\"multivio\"");
  EXPECT_EQ(api_->get("/metrics", alice_).status, 403);
  const std::string admin = token("local", "admin");
  r = api_->get("/metrics", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.header("Content-Type").value_or(""), HasSubstr("text/plain"));
  EXPECT_THAT(r.body, HasSubstr("multivio_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1\n"));
  EXPECT_THAT(r.body, HasSubstr("route=\"/metrics\",status=\"401\"} 1\n"));
  EXPECT_THAT(r.body, HasSubstr("multivio_rows{table=\"accounts\"} 3\n"));
}

TEST_F(RestTest, PostsSuccessPaths) {
  // Create (201), then the same idempotency key answers the same post (200).
  auto r = api_->post("/v1/posts", alice_,
                      {{"text", "first"}, {"to", {"feed:alice-feed"}}, {"draft", true}, {"key", "k-1"}, {"tags", {"a"}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const json first = body_of(r);
  EXPECT_EQ(first["status"], "draft");
  EXPECT_EQ(first["key"], "k-1");
  EXPECT_EQ(first["targets"][0]["account"], "feed:alice-feed");
  r = api_->post("/v1/posts", alice_, {{"text", "first"}, {"to", {"feed:alice-feed"}}, {"draft", true}, {"key", "k-1"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["id"], first["id"]);
  const std::string id = std::to_string(first["id"].get<long long>());

  // Show.
  r = api_->get("/v1/posts/" + id, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["text"], "first");

  // List with cursor pagination: three posts, two pages of two.
  draft(alice_, "alice-feed", "second");
  draft(alice_, "alice-feed", "third");
  r = api_->get("/v1/posts?limit=2", alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  json page = body_of(r);
  ASSERT_EQ(page["posts"].size(), 2u);
  EXPECT_EQ(page["posts"][0]["text"], "third");
  ASSERT_TRUE(page["next_cursor"].is_string());
  r = api_->get("/v1/posts?limit=2&cursor=" + page["next_cursor"].get<std::string>(), alice_);
  page = body_of(r);
  ASSERT_EQ(page["posts"].size(), 1u);
  EXPECT_EQ(page["posts"][0]["text"], "first");
  EXPECT_TRUE(page["next_cursor"].is_null());
  r = api_->get("/v1/posts?status=draft&to=feed:alice-feed", alice_);
  EXPECT_EQ(body_of(r)["posts"].size(), 3u) << r.body;

  // Schedule, cancel, retry, delete.
  r = api_->post("/v1/posts/" + id + "/schedule", alice_, {{"at", "in 2h"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["status"], "scheduled");
  r = api_->post("/v1/posts/" + id + "/cancel", alice_, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["status"], "cancelled");
  r = api_->post("/v1/posts/" + id + "/retry", alice_, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["targets"][0]["status"], "scheduled");
  r = api_->post("/v1/posts/" + id + "/cancel", alice_, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  r = api_->call("DELETE", "/v1/posts/" + id, alice_);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(api_->get("/v1/posts/" + id, alice_).status, 404);

  // A post published by the daemon's loop, created over the API.
  r = api_->post("/v1/posts", alice_, {{"text", "goes out"}, {"to", {"feed:alice-feed"}}, {"now", true}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string live = std::to_string(body_of(r)["id"].get<long long>());
  std::string status;
  for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
    status = body_of(api_->get("/v1/posts/" + live, alice_))["status"];
    if (status == "published") break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, "published") << api_->log();
}

TEST_F(RestTest, PostsErrorPaths) {
  const auto expect = expect_error;
  expect(api_->call("POST", "/v1/posts", alice_, "{not json"), 400, "usage");
  expect(api_->call("POST", "/v1/posts", alice_, "[1,2]"), 400, "usage");
  expect(api_->post("/v1/posts", alice_, {{"to", {"feed:alice-feed"}}}), 400, "usage");
  expect(api_->post("/v1/posts", alice_, {{"text", "x"}, {"to", "feed:alice-feed"}}), 400, "usage");
  expect(api_->post("/v1/posts", alice_, {{"text", "x"}, {"to", {"feed:alice-feed"}}, {"media", {"/etc/passwd"}}}),
         400, "usage");
  expect(api_->post("/v1/posts", alice_, {{"text", "x"}, {"to", {"feed:alice-feed"}}, {"at", "someday"}}), 400,
         "usage");
  expect(api_->post("/v1/posts", alice_, {{"text", "  "}, {"to", {"feed:alice-feed"}}}), 422, "validation");
  expect(api_->post("/v1/posts", alice_, {{"text", "x"}, {"to", {"feed:nope"}}}), 404, "not_found");

  const std::string id = std::to_string(draft(alice_, "alice-feed")["id"].get<long long>());
  expect(api_->post("/v1/posts/" + id + "/schedule", alice_, json::object()), 400, "usage");
  expect(api_->post("/v1/posts/" + id + "/schedule", alice_, {{"at", "yesterday-ish"}}), 400, "usage");
  expect(api_->post("/v1/posts/" + id + "/retry", alice_, json::object()), 400, "usage");  // nothing failed
  api_->post("/v1/posts/" + id + "/cancel", alice_, json::object());
  expect(api_->post("/v1/posts/" + id + "/cancel", alice_, json::object()), 400, "usage");

  expect(api_->get("/v1/posts/abc", alice_), 404, "not_found");
  expect(api_->get("/v1/posts/999999", alice_), 404, "not_found");
  expect(api_->call("DELETE", "/v1/posts/999999", alice_), 404, "not_found");
  expect(api_->get("/v1/posts?limit=0", alice_), 400, "usage");
  expect(api_->get("/v1/posts?limit=101", alice_), 400, "usage");
  expect(api_->get("/v1/posts?cursor=abc", alice_), 400, "usage");
  expect(api_->get("/v1/posts?status=bogus", alice_), 400, "usage");
  expect(api_->get("/v1/nothing", alice_), 404, "not_found");
  auto r = api_->call("PUT", "/v1/posts", alice_, "{}");
  expect(r, 405, "method_not_allowed");
  EXPECT_EQ(r.header("Allow").value_or(""), "GET, POST");
}

TEST_F(RestTest, EditThenPublishInTheForeground) {
  const json post = draft(alice_, "alice-feed", "before");
  const std::string id = std::to_string(post["id"].get<long long>());
  auto r = api_->call("PATCH", "/v1/posts/" + id, alice_, json{{"text", "after"}, {"tags", {"x", "y"}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["text"], "after");
  EXPECT_EQ(body_of(r)["tags"], json({"x", "y"}));
  r = api_->call("PATCH", "/v1/posts/" + id, alice_, json{{"variants", {{"feed:alice-feed", "alice's variant"}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["text"], "after") << "a PATCH without text keeps it";
  EXPECT_EQ(body_of(r)["tags"], json({"x", "y"}));

  // Publish now: the answer comes after the network (here the feed) took it.
  r = api_->post("/v1/posts/" + id + "/publish", alice_, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["status"], "published") << r.body;
  EXPECT_EQ(body_of(r)["targets"][0]["status"], "published");
  EXPECT_THAT(read_file(box_.dir() + "/feed-alice/feed.jsonl"), HasSubstr("alice's variant"));

  expect_error(api_->post("/v1/posts/" + id + "/publish", alice_, json::object()), 400, "usage");
  expect_error(api_->post("/v1/posts/999999/publish", alice_, json::object()), 404, "not_found");
}

TEST_F(RestTest, EditErrorPathsChangeNothing) {
  const std::string id = std::to_string(draft(alice_, "alice-feed", "kept")["id"].get<long long>());
  const std::string path = "/v1/posts/" + id;
  expect_error(api_->call("PATCH", path, alice_, "{}"), 400, "usage");
  expect_error(api_->call("PATCH", path, alice_, "{oops"), 400, "usage");
  expect_error(api_->call("PATCH", path, alice_, R"({"text": 5})"), 400, "usage");
  expect_error(api_->call("PATCH", path, alice_, R"({"tags": "a"})"), 400, "usage");
  expect_error(api_->call("PATCH", path, alice_, R"({"to": ["feed:bob-feed"]})"), 400, "usage");
  expect_error(api_->call("PATCH", path, alice_, R"({"variants": {"feed:alice-feed": 1}})"), 400, "usage");
  expect_error(api_->call("PATCH", path, alice_, R"({"variants": {"feed:nope": "x"}})"), 404, "not_found");
  expect_error(api_->call("PATCH", path, alice_, R"({"text": "   "})"), 422, "validation");
  expect_error(api_->call("PATCH", "/v1/posts/999999", alice_, R"({"text": "x"})"), 404, "not_found");
  const auto r = api_->get(path, alice_);
  EXPECT_EQ(body_of(r)["text"], "kept") << r.body;
  EXPECT_EQ(body_of(r)["status"], "draft");
}

TEST_F(RestTest, AccountsAndCheck) {
  auto r = api_->get("/v1/accounts", alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  const json accounts = body_of(r)["accounts"];
  ASSERT_EQ(accounts.size(), 1u) << "only alice's own account";
  EXPECT_EQ(accounts[0]["ref"], "feed:alice-feed");
  EXPECT_EQ(r.body.find("\"secrets\":"), std::string::npos);
  const std::string id = std::to_string(accounts[0]["id"].get<long long>());
  r = api_->get("/v1/accounts/" + id, alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["name"], "alice-feed");
  EXPECT_EQ(api_->get("/v1/accounts/999", alice_).status, 404);
  EXPECT_EQ(api_->get("/v1/accounts/feed:alice-feed", alice_).status, 404) << "ids only in paths";

  r = api_->post("/v1/check", alice_, {{"text", "short"}, {"to", {"feed:alice-feed", "mastodon"}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["ok"], true) << r.body;
  EXPECT_EQ(body_of(r)["results"].size(), 2u);
  r = api_->post("/v1/check", alice_, {{"text", std::string(600, 'x')}, {"to", {"mastodon"}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["ok"], false) << r.body;
  EXPECT_EQ(api_->post("/v1/check", alice_, {{"text", "x"}}).status, 400);
  EXPECT_EQ(api_->post("/v1/check", alice_, {{"text", "x"}, {"to", json::array()}}).status, 400);
  EXPECT_EQ(api_->post("/v1/check", alice_, {{"text", "x"}, {"to", {"feed:nope"}}}).status, 404);
}

TEST_F(RestTest, UsersCannotSeeOrTouchEachOthersResources) {
  const json a_post = draft(alice_, "alice-feed", "alice's secret plans");
  const std::string a = std::to_string(a_post["id"].get<long long>());
  const std::string a_acct = std::to_string(account_id("alice-feed"));
  api_->post("/v1/posts", alice_, {{"text", "keyed"}, {"to", {"feed:alice-feed"}}, {"draft", true}, {"key", "shared"}});
  const auto local = box_.json({"post", "new", "local post", "--to", "feed:local-feed", "--draft"});
  const std::string l = std::to_string(local["id"].get<long long>());

  // Bob probing alice's (and the CLI user's) ids: 404 on every route,
  // byte for byte the answer for an id that does not exist.
  for (const std::string& foreign : {a, l}) {
    const auto missing = api_->get("/v1/posts/999999", bob_);
    for (const auto& [method, path, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"GET", "/v1/posts/" + foreign, ""},
             {"DELETE", "/v1/posts/" + foreign, ""},
             {"POST", "/v1/posts/" + foreign + "/cancel", "{}"},
             {"POST", "/v1/posts/" + foreign + "/retry", "{}"},
             {"POST", "/v1/posts/" + foreign + "/schedule", R"({"at": "in 1h"})"},
             {"PATCH", "/v1/posts/" + foreign, R"({"text": "bob was here"})"},
             {"POST", "/v1/posts/" + foreign + "/publish", "{}"}}) {
      const auto r = api_->call(method, path, bob_, body);
      EXPECT_EQ(r.status, 404) << method << " " << path << ": " << r.body;
      EXPECT_EQ(error_code(r), "not_found") << method << " " << path;
    }
    auto r = api_->get("/v1/posts/" + foreign, bob_);
    std::string expected = missing.body;
    const auto pos = expected.find("999999");
    ASSERT_NE(pos, std::string::npos) << expected;
    expected.replace(pos, 6, foreign);
    EXPECT_EQ(r.body, expected) << "a foreign id must read exactly like a missing one";
  }
  for (const std::string& ref : {a_acct, std::string("feed:alice-feed"), std::string("feed:local-feed")}) {
    EXPECT_EQ(api_->post("/v1/posts", bob_, {{"text", "x"}, {"to", {ref}}, {"draft", true}}).status, 404) << ref;
    EXPECT_EQ(api_->post("/v1/check", bob_, {{"text", "x"}, {"to", {ref}}}).status, 404) << ref;
  }
  const std::string l_acct = std::to_string(box_.json({"account", "show", "feed:local-feed"})["id"].get<long long>());
  for (const std::string& foreign : {a_acct, l_acct}) {
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/v1/accounts/" + foreign},
             {"DELETE", "/v1/accounts/" + foreign},
             {"POST", "/v1/accounts/" + foreign + "/check"},
             {"POST", "/v1/accounts/" + foreign + "/refresh"}}) {
      const auto r = api_->call(method, path, bob_, method == "POST" ? "{}" : "");
      EXPECT_EQ(r.status, 404) << method << " " << path << ": " << r.body;
      EXPECT_EQ(error_code(r), "not_found") << method << " " << path;
    }
  }
  EXPECT_EQ(api_->get("/v1/posts?to=feed:alice-feed", bob_).status, 404);
  auto r = api_->get("/v1/accounts", bob_);
  ASSERT_EQ(body_of(r)["accounts"].size(), 1u) << r.body;
  EXPECT_EQ(body_of(r)["accounts"][0]["name"], "bob-feed");
  r = api_->get("/v1/posts", bob_);
  EXPECT_EQ(body_of(r)["posts"].size(), 0u) << r.body;

  // The same idempotency key makes bob a post of his own.
  r = api_->post("/v1/posts", bob_, {{"text", "bob keyed"}, {"to", {"feed:bob-feed"}}, {"draft", true}, {"key", "shared"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r)["text"], "bob keyed");
  EXPECT_EQ(body_of(r)["key"], "shared");

  // Nothing of alice's changed; the CLI's user still sees only its own post.
  r = api_->get("/v1/posts/" + a, alice_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["status"], "draft");
  EXPECT_EQ(body_of(r)["text"], "alice's secret plans");
  EXPECT_EQ(api_->get("/v1/accounts/" + a_acct, alice_).status, 200) << "alice's account is still there";
  EXPECT_EQ(box_.json({"account", "show", "feed:local-feed"})["name"], "local-feed");
  EXPECT_EQ(body_of(api_->get("/v1/posts", alice_))["posts"].size(), 2u);
  const auto cli_list = box_.json({"post", "list"});
  EXPECT_EQ(cli_list.size(), 1u) << cli_list.dump();
}

TEST_F(RestTest, TokensThatAreMissingBadExpiredRevokedOrLackAScope) {
  const auto expect_401 = [&](const http::Response& r, bool invalid) {
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(error_code(r), "auth");
    EXPECT_EQ(r.header("WWW-Authenticate").value_or(""),
              invalid ? "Bearer realm=\"multivio\", error=\"invalid_token\"" : "Bearer realm=\"multivio\"");
  };
  expect_401(api_->get("/v1/posts"), false);
  expect_401(api_->get("/v1/posts", "mvt_not-a-real-token"), true);
  expect_401(api_->get("/v1/posts", alice_ + "x"), true);
  expect_401(api_->call("GET", "/v1/posts", "", "", "Basic YWxpY2U6c2VjcmV0"), true);
  expect_401(api_->call("GET", "/v1/posts", "", "", "Bearer"), true);

  const std::string expiring = token("alice", "posts:read", "1s");
  EXPECT_EQ(api_->get("/v1/posts", expiring).status, 200);
  std::this_thread::sleep_for(1100ms);
  expect_401(api_->get("/v1/posts", expiring), true);

  const auto created = box_.json({"token", "create", "--user", "alice", "--scope", "posts:read"});
  const std::string revoked = created["token"];
  EXPECT_EQ(api_->get("/v1/posts", revoked).status, 200);
  ASSERT_EQ(box_.cli({"token", "revoke", std::to_string(created["id"].get<long long>())}).code, 0);
  expect_401(api_->get("/v1/posts", revoked), true);
  const auto listed = box_.json({"token", "list", "--user", "alice"});
  bool saw_revoked = false;
  for (const auto& t : listed) saw_revoked = saw_revoked || t["state"] == "revoked";
  EXPECT_TRUE(saw_revoked) << listed.dump();
  EXPECT_EQ(listed.dump().find(revoked), std::string::npos) << "token list never shows secrets";

  const std::string reader = token("alice", "posts:read");
  auto r = api_->post("/v1/posts", reader, {{"text", "x"}, {"to", {"feed:alice-feed"}}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(error_code(r), "forbidden");
  EXPECT_EQ(api_->call("DELETE", "/v1/posts/1", reader).status, 403);
  EXPECT_EQ(api_->call("PATCH", "/v1/posts/1", reader, R"({"text": "x"})").status, 403);
  EXPECT_EQ(api_->post("/v1/posts/1/publish", reader, json::object()).status, 403);
  const std::string accounts_only = token("alice", "accounts:read");
  EXPECT_EQ(api_->get("/v1/posts", accounts_only).status, 403);
  // accounts:read may check an account; adding, removing and refreshing need accounts:write.
  EXPECT_EQ(api_->post("/v1/accounts", accounts_only, {{"platform", "feed"}}).status, 403);
  EXPECT_EQ(api_->call("DELETE", "/v1/accounts/1", accounts_only).status, 403);
  EXPECT_EQ(api_->post("/v1/accounts/1/refresh", accounts_only, json::object()).status, 403);
  EXPECT_EQ(api_->post("/v1/accounts/999999/check", accounts_only, json::object()).status, 404);
  EXPECT_EQ(api_->post("/v1/accounts/999999/check", reader, json::object()).status, 403);
  EXPECT_EQ(api_->get("/v1/accounts", accounts_only).status, 200);
  EXPECT_EQ(api_->get("/v1/accounts", reader).status, 403);

  // Tokens never reach the log.
  EXPECT_EQ(api_->log().find(alice_), std::string::npos);
  EXPECT_EQ(api_->log().find(revoked), std::string::npos);
}

TEST_F(RestTest, OversizedBodiesAre413AndTheListenerCarriesOn) {
  const json big{{"text", std::string(10'000, 'x')}, {"to", {"feed:alice-feed"}}, {"draft", true}};
  auto r = api_->post("/v1/posts", alice_, big);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(error_code(r), "too_large");
  const json fits{{"text", std::string(3'000, 'x')}, {"to", {"feed:alice-feed"}}, {"draft", true}};
  EXPECT_EQ(api_->post("/v1/posts", alice_, fits).status, 201);
  EXPECT_EQ(api_->get("/health").status, 200);
}

// Adding accounts with their tokens over the API, against the fake Mastodon
// and X servers: check, refresh and remove, and secrets that never come back.
class RestAccountsTest : public testing::Test {
 protected:
  void SetUp() override {
    try {
      mastodon_ = std::make_unique<fakes::MastodonServer>();
      oauth_ = std::make_unique<fakes::OAuthServer>();
      x_ = std::make_unique<fakes::XServer>(oauth_.get());
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    mastodon_->set_access_token("masto-secret-token");
    oauth_->add_client({"x-rest-client", "", fakes::OAuthServer::ClientAuthMethod::any, {}, true});
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config("daemon: {http: {rate_limit: 10000, allow_private_urls: true}}\nplatforms:\n  x:\n"
                       "    api_base: " + x_->base_url() +
                       "\n    auth_base: " + x_->base_url() + "\n    client_id: x-rest-client\n");
    ASSERT_EQ(box_.cli({"user", "add", "alice"}).code, 0);
    writer_ = box_.json({"token", "create", "--user", "alice", "--scope", "accounts:read,accounts:write"})["token"];
    api_ = std::make_unique<Api>(box_, box_.dir() + "/port");
    if (!api_->up()) GTEST_SKIP() << "the listener did not start: " << api_->log();
  }

  // Tokens from a real code exchange at the fake X, as a client would hold them.
  oauth::TokenSet x_tokens() {
    auto client = http::make_client();
    const oauth::Pkce pkce = oauth::make_pkce();
    const std::string redirect = "http://127.0.0.1:9/callback";
    oauth::OAuth2Config c;
    c.token_url = x_->base_url() + "/2/oauth2/token";
    c.client_id = "x-rest-client";
    return oauth::exchange_code(*client, c, oauth_->issue_code("x-rest-client", redirect, pkce.challenge), redirect,
                                pkce.verifier, std::chrono::system_clock::now());
  }

  Sandbox box_;
  std::unique_ptr<fakes::MastodonServer> mastodon_;
  std::unique_ptr<fakes::OAuthServer> oauth_;
  std::unique_ptr<fakes::XServer> x_;
  std::string writer_;
  std::unique_ptr<Api> api_;
};

// Feed paths and webhook URLs act from the daemon's host: only an admin
// token may add them over the API.
TEST_F(RestAccountsTest, FeedAndWebhookAccountsNeedTheAdminScope) {
  const json webhook = {{"platform", "webhook"}, {"name", "w"}, {"options", {{"url", "http://127.0.0.1:9/hook"}}}};
  const json feed = {{"platform", "feed"}, {"name", "f"}, {"options", {{"path", box_.dir() + "/rest-feed"}}}};
  expect_error(api_->post("/v1/accounts", writer_, webhook), 403, "forbidden");
  expect_error(api_->post("/v1/accounts", writer_, feed), 403, "forbidden");
  EXPECT_TRUE(box_.json({"--as", "alice", "account", "list"}).empty()) << "nothing was added";
  const std::string admin = box_.json({"token", "create", "--user", "alice", "--scope", "admin"})["token"];
  EXPECT_EQ(api_->post("/v1/accounts", admin, webhook).status, 201);
  EXPECT_EQ(api_->post("/v1/accounts", admin, feed).status, 201);
}

TEST_F(RestAccountsTest, AddCheckRefreshAndRemove) {
  auto r = api_->post("/v1/accounts", writer_,
                      {{"platform", "mastodon"},
                       {"name", "m"},
                       {"options", {{"instance", mastodon_->base_url()}}},
                       {"secrets", {{"access_token", "masto-secret-token"}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const json masto = body_of(r);
  EXPECT_EQ(masto["ref"], "mastodon:m");
  EXPECT_EQ(masto["has_secrets"], true);
  EXPECT_EQ(r.body.find("masto-secret-token"), std::string::npos) << "secrets are never echoed";
  const std::string m = std::to_string(masto["id"].get<long long>());
  EXPECT_EQ(box_.json({"--as", "alice", "account", "list"}).size(), 1u) << "it is alice's account";

  r = api_->post("/v1/accounts/" + m + "/check", writer_, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["ok"], true) << r.body;
  EXPECT_THAT(body_of(r)["handle"].get<std::string>(), HasSubstr("alice"));
  EXPECT_TRUE(body_of(r).contains("expires_at"));
  EXPECT_TRUE(body_of(r)["scopes"].is_array());
  // Mastodon tokens do not expire: nothing to refresh.
  expect_error(api_->post("/v1/accounts/" + m + "/refresh", writer_, json::object()), 400, "usage");

  // The instance stops accepting the token: the check still answers 200,
  // with ok false and kind auth (re-link), and the account turns unhealthy.
  mastodon_->set_access_token("another-token");
  r = api_->post("/v1/accounts/" + m + "/check", writer_, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["ok"], false);
  EXPECT_EQ(body_of(r)["kind"], "auth");
  EXPECT_EQ(body_of(r)["relink"], true);
  EXPECT_FALSE(body_of(r)["error"].get<std::string>().empty());
  EXPECT_EQ(body_of(api_->get("/v1/accounts/" + m, writer_))["healthy"], false);

  // X with OAuth 2.0 tokens: refresh goes to the token endpoint and stores
  // the rotated tokens; the answer is the account, without them.
  const auto tokens = x_tokens();
  r = api_->post("/v1/accounts", writer_,
                 {{"platform", "x"},
                  {"name", "main"},
                  {"secrets",
                   {{"access_token", tokens.access_token}, {"refresh_token", tokens.refresh_token}, {"expires_in", 7200}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string x = std::to_string(body_of(r)["id"].get<long long>());
  r = api_->post("/v1/accounts/" + x + "/refresh", writer_, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["ref"], "x:main");
  EXPECT_EQ(r.body.find(tokens.refresh_token), std::string::npos);
  EXPECT_EQ(r.body.find("access_token"), std::string::npos);
  EXPECT_EQ(x_->count("POST /2/oauth2/token"), 2u) << "the test's exchange, then the refresh";
  r = api_->post("/v1/accounts/" + x + "/check", writer_, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["ok"], true) << r.body;
  EXPECT_TRUE(body_of(r)["expires_at"].is_string()) << r.body;

  // Remove: 204, then the id is gone for every route.
  r = api_->call("DELETE", "/v1/accounts/" + m, writer_);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(r.body.empty());
  expect_error(api_->get("/v1/accounts/" + m, writer_), 404, "not_found");
  expect_error(api_->call("DELETE", "/v1/accounts/" + m, writer_), 404, "not_found");
  expect_error(api_->post("/v1/accounts/" + m + "/check", writer_, json::object()), 404, "not_found");

  // Neither the tokens nor the secrets reach the daemon's log.
  for (const std::string& secret : {writer_, std::string("masto-secret-token"), tokens.access_token,
                                    tokens.refresh_token}) {
    EXPECT_EQ(api_->log().find(secret), std::string::npos);
  }
}

TEST_F(RestAccountsTest, AddErrorPathsStoreNothing) {
  const auto add = [&](const json& body) { return api_->post("/v1/accounts", writer_, body); };
  // Feed accounts need the admin scope over the API (see the test above).
  const std::string admin = box_.json({"token", "create", "--user", "alice", "--scope", "admin"})["token"];
  const auto add_as_admin = [&](const json& body) { return api_->post("/v1/accounts", admin, body); };
  expect_error(api_->call("POST", "/v1/accounts", writer_, "{nope"), 400, "usage");
  expect_error(add({{"name", "m"}}), 400, "usage");
  expect_error(add({{"platform", 7}}), 400, "usage");
  expect_error(add({{"platform", "myspace"}}), 400, "usage");
  expect_error(add({{"platform", "mastodon"}, {"secrets", {{"access_token", "t"}}}}), 400, "usage");  // no instance
  expect_error(add({{"platform", "mastodon"}, {"options", "x"}}), 400, "usage");
  expect_error(add({{"platform", "mastodon"}, {"options", {{"instance", mastodon_->base_url()}}}, {"secrets", "t"}}),
               400, "usage");
  expect_error(add_as_admin({{"platform", "feed"}, {"name", "bad name!"}, {"options", {{"path", box_.dir() + "/f"}}}}),
               400, "usage");
  expect_error(add({{"platform", "feed"}, {"options", {{"path", box_.dir() + "/f"}}}, {"token", "x"}}), 400, "usage");
  // Credentials the network needs but the body lacks: the account is the
  // problem, not the caller's API token (422, never 401).
  auto r = add({{"platform", "mastodon"}, {"options", {{"instance", mastodon_->base_url()}}}});
  expect_error(r, 422, "auth");
  EXPECT_FALSE(r.header("WWW-Authenticate").has_value());
  expect_error(add({{"platform", "x"}, {"secrets", {{"refresh_token", "r"}}}}), 400, "usage");
  EXPECT_EQ(body_of(api_->get("/v1/accounts", writer_))["accounts"].size(), 0u);

  // A taken name is refused and the first account stays.
  ASSERT_EQ(add_as_admin({{"platform", "feed"}, {"name", "f"}, {"options", {{"path", box_.dir() + "/f"}}}}).status, 201);
  expect_error(add_as_admin({{"platform", "feed"}, {"name", "f"}, {"options", {{"path", box_.dir() + "/g"}}}}), 400,
               "usage");
  EXPECT_EQ(body_of(api_->get("/v1/accounts", writer_))["accounts"].size(), 1u);
}

TEST(RestCors, PreflightAndAnswersCarryCorsHeadersForAllowedOriginsOnly) {
  Sandbox box;
  ASSERT_EQ(box.cli({"init"}).code, 0);
  box.append_config("daemon: {http: {rate_limit: 10000, cors_origins: [https://app.example.com]}}");
  ASSERT_EQ(box.cli({"user", "add", "alice"}).code, 0);
  const std::string token = box.json({"token", "create", "--user", "alice", "--scope", "posts:read"})["token"];
  Api api(box, box.dir() + "/port");
  if (!api.up()) GTEST_SKIP() << "the listener did not start: " << api.log();
  const http::Headers allowed{{"Origin", "https://app.example.com"}};
  const http::Headers evil{{"Origin", "https://evil.example.com"}};
  const http::Headers asking{{"Access-Control-Request-Method", "POST"},
                             {"Access-Control-Request-Headers", "authorization, content-type"}};
  const auto with = [](http::Headers a, const http::Headers& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };

  // The preflight needs no token and names the path's methods.
  auto r = api.call("OPTIONS", "/v1/posts", "", "", "", with(allowed, asking));
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.header("Access-Control-Allow-Origin").value_or(""), "https://app.example.com");
  EXPECT_EQ(r.header("Access-Control-Allow-Methods").value_or(""), "GET, POST");
  EXPECT_EQ(r.header("Access-Control-Allow-Headers").value_or(""), "Authorization, Content-Type");
  EXPECT_EQ(r.header("Access-Control-Max-Age").value_or(""), "600");
  EXPECT_EQ(r.header("Vary").value_or(""), "Origin");
  r = api.call("OPTIONS", "/v1/posts/7", "", "", "", with(allowed, asking));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("Access-Control-Allow-Methods").value_or(""), "GET, PATCH, DELETE");

  // Another origin, or none: no CORS header at all, so the browser refuses.
  for (const auto& headers : {with(evil, asking), asking}) {
    r = api.call("OPTIONS", "/v1/posts", "", "", "", headers);
    EXPECT_EQ(r.status, 204);
    EXPECT_FALSE(r.header("Access-Control-Allow-Origin").has_value());
    EXPECT_FALSE(r.header("Access-Control-Allow-Methods").has_value());
    EXPECT_FALSE(r.header("Access-Control-Allow-Headers").has_value());
  }
  expect_error(api.call("OPTIONS", "/v1/nothing", "", "", "", with(allowed, asking)), 404, "not_found");

  // Real answers: success and errors alike carry the origin, so the page
  // can read why it failed; a foreign origin's answers carry nothing.
  r = api.call("GET", "/v1/posts", token, "", "", allowed);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Access-Control-Allow-Origin").value_or(""), "https://app.example.com");
  EXPECT_EQ(r.header("Vary").value_or(""), "Origin");
  r = api.call("GET", "/v1/posts", "", "", "", allowed);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("Access-Control-Allow-Origin").value_or(""), "https://app.example.com");
  r = api.call("GET", "/v1/posts", token, "", "", evil);
  EXPECT_EQ(r.status, 200) << "CORS is the browser's guard; the token still decides";
  EXPECT_FALSE(r.header("Access-Control-Allow-Origin").has_value());
  EXPECT_FALSE(r.header("Vary").has_value());
  r = api.call("GET", "/health", "", "", "", {{"Origin", "https://app.example.com:8443"}});
  EXPECT_FALSE(r.header("Access-Control-Allow-Origin").has_value()) << "origins match exactly, port included";
}

TEST_F(RestTest, NoCorsHeadersWithoutConfiguredOrigins) {
  for (const auto& method : {"GET", "OPTIONS"}) {
    const auto r = api_->call(method, "/v1/posts", alice_, "", "", {{"Origin", "http://127.0.0.1:5173"}});
    EXPECT_LT(r.status, 300) << method << ": " << r.body;
    EXPECT_FALSE(r.header("Access-Control-Allow-Origin").has_value()) << method;
  }
}

// ---- TLS ---------------------------------------------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey p256_key() {
  Pkey key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

// A self-signed certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1, so
// a client that verifies the host accepts it), valid for a day.
std::unique_ptr<X509, X509Free> self_signed(EVP_PKEY* key) {
  std::unique_ptr<X509, X509Free> cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) throw std::runtime_error("X509V3_EXT_conf_nid failed");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
  return cert;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> out(BIO_new_file(path.c_str(), "w"));
  if (!out) throw std::runtime_error("cannot write " + path);
  const int ok = cert != nullptr ? PEM_write_bio_X509(out.get(), cert)
                                 : PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  if (ok != 1) throw std::runtime_error("cannot write PEM to " + path);
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

// One GET with libcurl itself (common/http has no CA setting): verifies the
// peer against `ca_file` and the host name 127.0.0.1.
struct Fetched {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string error;
};
Fetched fetch(const std::string& url, const std::string& ca_file) {
  Fetched f;
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  if (!ca_file.empty()) curl_easy_setopt(curl.get(), CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &f.body);
  f.code = curl_easy_perform(curl.get());
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &f.status);
  f.error = error;
  return f;
}

class RestTlsTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    key_ = p256_key();
    auto cert = self_signed(key_.get());
    cert_file_ = box_.dir() + "/cert.pem";
    key_file_ = box_.dir() + "/key.pem";
    write_pem(cert_file_, cert.get(), nullptr);
    write_pem(key_file_, nullptr, key_.get());
  }
  void use_tls(const std::string& cert, const std::string& key) const {
    box_.append_config("daemon: {tls: {cert: '" + cert + "', key: '" + key + "'}}");
  }

  Sandbox box_;
  Pkey key_;
  std::string cert_file_, key_file_;
};

TEST_F(RestTlsTest, ServesHttpsWithTheConfiguredCertificateAndNoPlainHttp) {
  use_tls(cert_file_, key_file_);
  ASSERT_EQ(box_.cli({"user", "add", "alice"}).code, 0);
  Api api(box_, box_.dir() + "/port");
  if (!api.up()) GTEST_SKIP() << "the listener did not start: " << api.log();
  const std::string base = "https://127.0.0.1:" + std::to_string(api.port());

  auto f = fetch(base + "/health", cert_file_);
  ASSERT_EQ(f.code, CURLE_OK) << f.error << "\n" << api.log();
  EXPECT_EQ(f.status, 200);
  EXPECT_EQ(json::parse(f.body)["status"], "ok") << f.body;
  f = fetch(base + "/v1/posts", cert_file_);
  EXPECT_EQ(f.code, CURLE_OK) << f.error;
  EXPECT_EQ(f.status, 401) << "the same routes and wrapper behind TLS";

  // Without the certificate as CA the client refuses the server.
  f = fetch(base + "/health", box_.dir() + "/no-such-ca.pem");
  EXPECT_NE(f.code, CURLE_OK);
  // Plain HTTP to the TLS port gets no HTTP answer.
  f = fetch("http://127.0.0.1:" + std::to_string(api.port()) + "/health", "");
  EXPECT_NE(f.code, CURLE_OK) << "HTTP " << f.status << ": " << f.body;
  EXPECT_NE(f.status, 200);
  // The listener carries on after that.
  EXPECT_EQ(fetch(base + "/health", cert_file_).status, 200);
  EXPECT_THAT(api.log(), HasSubstr("listening on https://127.0.0.1:"));
}

TEST_F(RestTlsTest, AMissingUnreadableOrMismatchedCertificateStopsTheStartWithExit2) {
  const auto start = [&](const std::string& cert, const std::string& key) {
    Sandbox& box = box_;
    std::filesystem::remove(box.config_file());
    EXPECT_EQ(box.cli({"init"}).code, 0);
    if (!cert.empty() || !key.empty()) {
      box.append_config("daemon: {tls: {cert: '" + cert + "', key: '" + key + "'}}");
    }
    return box.daemon_run({"--listen", "127.0.0.1:0"}, 20s);
  };
  auto r = start(box_.dir() + "/missing.pem", key_file_);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("cannot read daemon.tls.cert"));

  r = start(cert_file_, "");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("set both"));

  // A file that is not PEM at all.
  const std::string junk = box_.dir() + "/junk.pem";
  std::ofstream(junk) << "not a certificate\n";
  r = start(junk, key_file_);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("is not a PEM certificate"));

  // Another key than the certificate's.
  const Pkey other = p256_key();
  const std::string other_file = box_.dir() + "/other-key.pem";
  write_pem(other_file, nullptr, other.get());
  r = start(cert_file_, other_file);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("daemon.tls.key"));
  EXPECT_THAT(r.err, HasSubstr(other_file));
}

// Server-side request forgery: an account's URL is a server the daemon calls
// from inside its network, so API clients may name only public ones.
TEST(RestSsrf, PrivateAndLoopbackUrlsAreRefusedToApiClientsButNotToAdmins) {
  Sandbox box;
  ASSERT_EQ(box.cli({"init"}).code, 0);
  box.append_config("daemon: {http: {rate_limit: 10000}}");
  ASSERT_EQ(box.cli({"user", "add", "alice"}).code, 0);
  const std::string alice =
      box.json({"token", "create", "--user", "alice", "--scope", "accounts:read,accounts:write"})["token"];
  const std::string admin = box.json({"token", "create", "--user", "local", "--scope", "admin"})["token"];
  fakes::MastodonServer mastodon;
  Api api(box, box.dir() + "/port");
  if (!api.up()) GTEST_SKIP() << "the listener did not start: " << api.log();
  const auto add = [&](const std::string& token, const std::string& key, const std::string& url) {
    const std::string platform = key == "pds" ? "bluesky" : "mastodon";
    json options{{key, url}};
    if (platform == "bluesky") options["handle"] = "me.example.com";
    return api.post("/v1/accounts", token,
                    {{"platform", platform}, {"name", "n"}, {"options", options}, {"secrets", {{"access_token", "t"}}}});
  };
  for (const std::string& url : {mastodon.base_url(), std::string("http://169.254.169.254/latest/meta-data"),
                                std::string("https://10.1.2.3"), std::string("http://[::1]:8080"),
                                std::string("https://192.168.1.1"), std::string("http://[::ffff:127.0.0.1]/"),
                                std::string("localhost")}) {
    const auto r = add(alice, "instance", url);
    expect_error(r, 400, "usage");
    EXPECT_THAT(r.body, HasSubstr("options.instance")) << url;
  }
  expect_error(add(alice, "pds", "http://127.0.0.1:2583"), 400, "usage");
  EXPECT_TRUE(body_of(api.get("/v1/accounts", alice))["accounts"].empty()) << "nothing was stored";
  // The operator's admin token may point at its own network.
  const auto r = add(admin, "instance", mastodon.base_url());
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST(UserAndTokenCommands, ManageUsersAndShowTokensOnce) {
  Sandbox box;
  ASSERT_EQ(box.cli({"init"}).code, 0);
  const auto added = box.json({"user", "add", "carol"});
  EXPECT_EQ(added["name"], "carol");
  EXPECT_EQ(box.cli({"user", "add", "carol"}).code, 2) << "a taken name is a usage error";
  EXPECT_EQ(box.cli({"user", "add", "123"}).code, 2);
  const auto users = box.json({"user", "list"});
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0]["name"], "local");
  EXPECT_THAT(box.cli({"user", "list"}).out, HasSubstr("carol"));

  // Text output: the token alone on stdout, the reminder on stderr.
  const auto created = box.cli({"token", "create", "--user", "carol", "--scope", "posts:read", "--name", "ci"});
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_TRUE(created.out.starts_with("mvt_")) << created.out;
  EXPECT_THAT(created.err, HasSubstr("shown only now"));
  const std::string secret = created.out.substr(0, created.out.find('\n'));
  const auto listed = box.cli({"token", "list"});
  EXPECT_THAT(listed.out, HasSubstr("ci"));
  EXPECT_THAT(listed.out, HasSubstr("active"));
  EXPECT_EQ(listed.out.find(secret), std::string::npos);
  EXPECT_EQ(box.database_bytes().find(secret), std::string::npos) << "only the hash is stored";

  EXPECT_EQ(box.cli({"token", "create", "--user", "carol", "--scope", "posts:delete"}).code, 2);
  EXPECT_EQ(box.cli({"token", "create", "--user", "nobody", "--scope", "posts:read"}).code, 4);
  EXPECT_EQ(box.cli({"token", "revoke", "999"}).code, 4);
  EXPECT_EQ(box.cli({"--as", "nobody", "post", "list"}).code, 4);

  // carol's posts are hers: the CLI's own user does not see them.
  ASSERT_EQ(box.cli({"--as", "carol", "account", "add", "feed", "--name", "carol-feed", "--path", box.dir() + "/f"}).code,
            0);
  ASSERT_EQ(box.cli({"--as", "carol", "post", "new", "hers", "--to", "feed:carol-feed", "--draft"}).code, 0);
  EXPECT_EQ(box.json({"post", "list"}).size(), 0u);
  EXPECT_EQ(box.json({"--as", "carol", "post", "list"}).size(), 1u);
  EXPECT_EQ(box.cli({"user", "remove", "carol"}).code, 2) << "carol still owns a post and an account";
  EXPECT_EQ(box.cli({"user", "remove", "local"}).code, 2);
  const auto post_id = box.json({"--as", "carol", "post", "list"})[0]["id"].get<long long>();
  ASSERT_EQ(box.cli({"--as", "carol", "post", "delete", std::to_string(post_id)}).code, 0);
  ASSERT_EQ(box.cli({"--as", "carol", "account", "remove", "feed:carol-feed"}).code, 0);
  EXPECT_EQ(box.cli({"user", "remove", "carol"}).code, 0);
  EXPECT_EQ(box.json({"token", "list"}).size(), 0u) << "the user's tokens go with it";
}

TEST(RestRateLimit, ABurstOverTheLimitGets429WithRetryAfter) {
  Sandbox box;
  ASSERT_EQ(box.cli({"init"}).code, 0);
  box.append_config("daemon: {http: {rate_limit: 5}}");
  ASSERT_EQ(box.cli({"user", "add", "alice"}).code, 0);
  const std::string one = box.json({"token", "create", "--user", "alice", "--scope", "posts:read"})["token"];
  const std::string two = box.json({"token", "create", "--user", "alice", "--scope", "posts:read"})["token"];
  Api api(box, box.dir() + "/port");
  if (!api.up()) GTEST_SKIP() << "the listener did not start: " << api.log();
  int ok = 0, limited = 0;
  for (int i = 0; i < 30; ++i) {
    const auto r = api.get("/v1/posts", one);
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      EXPECT_EQ(error_code(r), "rate_limited");
      const int retry = std::stoi(r.header("Retry-After").value_or("0"));
      EXPECT_GE(retry, 1);
      EXPECT_LE(retry, 1);
    }
  }
  EXPECT_GE(ok, 5);
  EXPECT_GT(limited, 0);
  EXPECT_LT(ok, 30);
  EXPECT_EQ(api.get("/v1/posts", two).status, 200) << "each token has its own bucket";
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(api.get("/v1/posts", one).status, 200) << "the bucket refills";
}

TEST(RestListener, StopsWithTheDaemonAndRefusesABadAddress) {
  Sandbox box;
  ASSERT_EQ(box.cli({"init"}).code, 0);
  const auto bad = box.daemon_run({"--listen", "127.0.0.1:notaport"}, 20s);
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("HOST:PORT"));
  Api api(box, box.dir() + "/port");
  if (!api.up()) GTEST_SKIP() << "the listener did not start: " << api.log();
  EXPECT_EQ(api.get("/health").status, 200);
  api.daemon().signal(SIGTERM);
  EXPECT_EQ(api.daemon().wait(15s), 0) << api.log();
}

// One Server-Sent Event as a test reads it.
struct SseEvent {
  std::string id;
  std::string event;
  json data;
};

// Reads /v1/events until `done` says so, then hangs up (the sink throws,
// which aborts the transfer: a client that disconnects).
struct StopReading {};
std::vector<SseEvent> read_events(int port, const std::string& token, const std::string& query,
                                  const std::string& last_event_id,
                                  const std::function<bool(const std::vector<SseEvent>&)>& done) {
  http::Request r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/events" + query;
  r.headers.emplace_back("Authorization", "Bearer " + token);
  r.headers.emplace_back("Accept", "text/event-stream");
  if (!last_event_id.empty()) r.headers.emplace_back("Last-Event-ID", last_event_id);
  r.total_timeout = 20s;
  std::vector<SseEvent> events;
  std::string pending;
  try {
    http::make_client()->send_streaming(r, [&](const http::Response& head, std::string_view chunk) {
      EXPECT_EQ(head.status, 200);
      EXPECT_THAT(head.header("Content-Type").value_or(""), HasSubstr("text/event-stream"));
      pending += chunk;
      for (auto end = pending.find("\n\n"); end != std::string::npos; end = pending.find("\n\n")) {
        const std::string block = pending.substr(0, end);
        pending.erase(0, end + 2);
        SseEvent e;
        std::istringstream lines(block);
        for (std::string line; std::getline(lines, line);) {
          if (line.starts_with("id: ")) e.id = line.substr(4);
          if (line.starts_with("event: ")) e.event = line.substr(7);
          if (line.starts_with("data: ")) e.data = json::parse(line.substr(6));
        }
        if (e.event == "target") events.push_back(std::move(e));
      }
      if (done(events)) throw StopReading{};
    });
    ADD_FAILURE() << "the event stream ended by itself";
  } catch (const StopReading&) {
  }
  return events;
}

bool published(const std::vector<SseEvent>& events, const std::string& post_id) {
  return std::any_of(events.begin(), events.end(), [&](const SseEvent& e) {
    return std::to_string(e.data["post_id"].get<long long>()) == post_id && e.data["status"] == "published";
  });
}

TEST_F(RestTest, EventsStreamStatusChangesAndResumeAfterADisconnect) {
  const std::string first = std::to_string(draft(alice_, "alice-feed", "one")["id"].get<long long>());
  ASSERT_EQ(api_->post("/v1/posts/" + first + "/publish", alice_, json::object()).status, 200);

  // ?after=0 replays what is kept: the first post's changes, ending published.
  const auto seen = read_events(api_->port(), alice_, "?after=0", "",
                                [&](const std::vector<SseEvent>& events) { return published(events, first); });
  ASSERT_FALSE(seen.empty());
  for (const auto& e : seen) {
    EXPECT_EQ(std::to_string(e.data["post_id"].get<long long>()), first);
    EXPECT_EQ(e.data["account"], "feed:alice-feed");
  }
  EXPECT_FALSE(seen.back().data["remote_url"].get<std::string>().empty());
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LT(std::stoll(seen[i - 1].id), std::stoll(seen[i].id));

  // While nobody listens, a second post is published; resuming from the last
  // id seen delivers its changes and nothing from before.
  const std::string second = std::to_string(draft(alice_, "alice-feed", "two")["id"].get<long long>());
  ASSERT_EQ(api_->post("/v1/posts/" + second + "/publish", alice_, json::object()).status, 200);
  const auto resumed = read_events(api_->port(), alice_, "", seen.back().id,
                                   [&](const std::vector<SseEvent>& events) { return published(events, second); });
  ASSERT_FALSE(resumed.empty());
  EXPECT_GT(std::stoll(resumed.front().id), std::stoll(seen.back().id));
  for (const auto& e : resumed) EXPECT_EQ(std::to_string(e.data["post_id"].get<long long>()), second);

  // Bob replays everything kept and sees only his own post's changes.
  const std::string bobs = std::to_string(draft(bob_, "bob-feed", "bob")["id"].get<long long>());
  ASSERT_EQ(api_->post("/v1/posts/" + bobs + "/publish", bob_, json::object()).status, 200);
  const auto bob_seen = read_events(api_->port(), bob_, "?after=0", "",
                                    [&](const std::vector<SseEvent>& events) { return published(events, bobs); });
  for (const auto& e : bob_seen) EXPECT_EQ(std::to_string(e.data["post_id"].get<long long>()), bobs);

  // A stream that starts without an id waits for new changes only: once it
  // is open (its first bytes arrived), a third post is published.
  std::thread later;
  const auto fresh = read_events(api_->port(), alice_, "", "", [&](const std::vector<SseEvent>& events) {
    if (!later.joinable()) {
      later = std::thread([&] {
        const std::string third = std::to_string(draft(alice_, "alice-feed", "three")["id"].get<long long>());
        EXPECT_EQ(api_->post("/v1/posts/" + third + "/publish", alice_, json::object()).status, 200);
      });
    }
    return !events.empty() && events.back().data["status"] == "published";
  });
  if (later.joinable()) later.join();
  ASSERT_FALSE(fresh.empty());
  EXPECT_GT(std::stoll(fresh.front().id), std::stoll(resumed.back().id));

  expect_error(api_->get("/v1/events?after=abc", alice_), 400, "usage");
  EXPECT_EQ(api_->get("/v1/events").status, 401);
}

TEST_F(RestTest, MetricsCountTheDaemonsPublishAttemptsByNetworkAndOutcome) {
  const auto r = api_->post("/v1/posts", alice_, {{"text", "due now"}, {"to", {"feed:alice-feed"}}, {"now", true}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = std::to_string(body_of(r)["id"].get<long long>());
  // The daemon's loop publishes it (the listener only stored it).
  for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
    if (body_of(api_->get("/v1/posts/" + id, alice_))["status"] == "published") break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(body_of(api_->get("/v1/posts/" + id, alice_))["status"], "published");
  const std::string admin = token("local", "admin");
  const std::string text = api_->get("/metrics", admin).body;
  EXPECT_THAT(text, HasSubstr("multivio_publish_attempts_total{network=\"feed\",outcome=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE multivio_publish_duration_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("multivio_publish_duration_seconds_bucket{network=\"feed\",le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("multivio_publish_duration_seconds_count{network=\"feed\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("multivio_targets{status=\"published\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("multivio_posts{status=\"published\"} 1\n"));
}

// A multipart/form-data body as a browser or curl -F sends it.
std::string multipart(const std::string& boundary, const std::vector<std::array<std::string, 3>>& parts) {
  std::string body;
  for (const auto& [name, filename, content] : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"";
    if (!filename.empty()) body += "; filename=\"" + filename + "\"\r\nContent-Type: application/octet-stream";
    body += "\r\n\r\n" + content + "\r\n";
  }
  return body + "--" + boundary + "--\r\n";
}

TEST_F(RestTest, MediaUploadListShowRemoveAndUseInAPost) {
  const std::string boundary = "mvtestboundary42";
  const http::Headers form{{"Content-Type", "multipart/form-data; boundary=" + boundary}};
  const std::string png = fakes::sample_png(640, 480);
  auto upload = [&](const std::string& token, const std::vector<std::array<std::string, 3>>& parts) {
    http::Request r;
    r.method = "POST";
    r.url = "http://127.0.0.1:" + std::to_string(api_->port()) + "/v1/media";
    r.headers = form;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    r.body = multipart(boundary, parts);
    r.total_timeout = 20s;
    return http::make_client()->send(r);
  };
  auto r = upload(alice_, {{"file", "chart.bin", png}, {"alt", "", "a chart"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const json item = body_of(r);
  EXPECT_EQ(item["kind"], "png");  // from the bytes, not the name
  EXPECT_EQ(item["width"], 640);
  EXPECT_EQ(item["alt"], "a chart");
  EXPECT_FALSE(item.contains("path")) << "the daemon's file system stays private";
  const std::string id = std::to_string(item["id"].get<long long>());
  // The same bytes again: the same item, 200.
  r = upload(alice_, {{"file", "again.png", png}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["id"], item["id"]);

  EXPECT_EQ(body_of(api_->get("/v1/media", alice_))["media"].size(), 1u);
  EXPECT_EQ(body_of(api_->get("/v1/media/" + id, alice_))["sha256"], item["sha256"]);
  // Bob cannot see, use or remove it: 404 as for a missing id.
  expect_error(api_->get("/v1/media/" + id, bob_), 404, "not_found");
  expect_error(api_->call("DELETE", "/v1/media/" + id, bob_), 404, "not_found");
  EXPECT_TRUE(body_of(api_->get("/v1/media", bob_))["media"].empty());
  expect_error(api_->post("/v1/posts", bob_, {{"text", "x"}, {"to", {"feed:bob-feed"}}, {"draft", true}, {"media", {item["id"]}}}),
               404, "not_found");

  // A post uses it by id; a path is refused (it would name a daemon file).
  r = api_->post("/v1/posts", alice_,
                 {{"text", "with media"}, {"to", {"feed:alice-feed"}}, {"draft", true}, {"media", {item["id"]}}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r)["media"].size(), 1u);
  expect_error(api_->post("/v1/posts", alice_,
                          {{"text", "x"}, {"to", {"feed:alice-feed"}}, {"draft", true}, {"media", {"/etc/passwd"}}}),
               400, "usage");

  // Bad uploads change nothing.
  expect_error(upload(alice_, {{"alt", "", "no file"}}), 400, "usage");
  expect_error(upload(alice_, {{"file", "a.png", png}, {"other", "", "x"}}), 400, "usage");
  expect_error(upload(alice_, {{"file", "empty.png", ""}}), 422, "validation");
  expect_error(api_->post("/v1/media", alice_, json{{"file", "x"}}), 400, "usage");  // JSON is not a form
  const std::string reader = token("alice", "posts:read");
  EXPECT_EQ(upload(reader, {{"file", "b.png", fakes::sample_png(2, 2)}}).status, 403);
  EXPECT_EQ(body_of(api_->get("/v1/media", alice_))["media"].size(), 1u);

  EXPECT_EQ(api_->call("DELETE", "/v1/media/" + id, alice_).status, 204);
  expect_error(api_->get("/v1/media/" + id, alice_), 404, "not_found");
}

}  // namespace
}  // namespace multivio::e2e
