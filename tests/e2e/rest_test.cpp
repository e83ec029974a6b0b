// SPDX-License-Identifier: MIT
// The REST listener end to end: the real multiviod with --listen 127.0.0.1:0
// and --listen-port-file, driven over libcurl (common/http's client). Covers
// every route's success and error paths, two users probing each other's ids
// (404 everywhere, like a missing id), expired/revoked/wrong-scope tokens,
// 401 with WWW-Authenticate, malformed and oversized bodies, and a rate-limit
// burst answered with 429 and Retry-After.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "common/http/client.hpp"
#include "tests/e2e/harness.hpp"

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
  std::string log() const { return daemon_.stderr_text(); }
  Process& daemon() { return daemon_; }

  http::Response call(const std::string& method, const std::string& path, const std::string& token = "",
                      const std::string& body = "", const std::string& authorization = "") {
    http::Request r;
    r.method = method;
    r.url = "http://127.0.0.1:" + std::to_string(port_) + path;
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

class RestTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config("daemon: {poll_interval: 1s, http: {max_body: 4096, rate_limit: 10000}}");
    for (const std::string user : {"alice", "bob"}) {
      ASSERT_EQ(box_.cli({"user", "add", user}).code, 0);
      const auto r = box_.cli({"--as", user, "account", "add", "feed", "--name", user + "-feed", "--path",
                               box_.dir() + "/feed-" + user});
      ASSERT_EQ(r.code, 0) << r.err;
    }
    ASSERT_EQ(box_.cli({"account", "add", "feed", "--name", "local-feed", "--path", box_.dir() + "/feed-local"}).code,
              0);
    alice_ = token("alice", "posts:read,posts:write,accounts:read");
    bob_ = token("bob", "posts:read,posts:write,accounts:read");
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
  const auto expect = [&](const http::Response& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(error_code(r), code) << r.body;
    EXPECT_THAT(r.header("Content-Type").value_or(""), HasSubstr("application/json"));
  };
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
             {"POST", "/v1/posts/" + foreign + "/schedule", R"({"at": "in 1h"})"}}) {
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
  EXPECT_EQ(api_->get("/v1/accounts/" + a_acct, bob_).status, 404);
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
  const std::string accounts_only = token("alice", "accounts:read");
  EXPECT_EQ(api_->get("/v1/posts", accounts_only).status, 403);
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

}  // namespace
}  // namespace multivio::e2e
