// SPDX-License-Identifier: MIT
// The per-network fault matrix (issue 7): each network's publish call meets
// each fault networks produce, through the real app layer (a SQLite store in
// a temporary directory, app::Publisher, the real adapters and libcurl), and
// the target must end in the state docs/faults.md documents. HTTP faults are
// answered by the network's own fake, in its own error format; transport
// faults come from a FaultyEndpoint that sits in front of every fake and
// breaks only the publish call. A new network is one NetworkFake subclass and
// one line in k_networks.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/app/accounts.hpp"
#include "common/app/context.hpp"
#include "common/app/posts.hpp"
#include "common/app/publisher.hpp"
#include "common/crypto/crypto.hpp"
#include "common/http/client.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/oauth/pkce.hpp"
#include "common/platforms/platform.hpp"
#include "tests/fakes/bluesky_server.hpp"
#include "tests/fakes/faulty_endpoint.hpp"
#include "tests/fakes/mastodon_server.hpp"
#include "tests/fakes/oauth_server.hpp"
#include "tests/fakes/webhook_server.hpp"
#include "tests/fakes/x_server.hpp"

namespace multivio {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using fakes::FaultyEndpoint;
using model::AttemptOutcome;
using model::TargetStatus;
using model::Timestamp;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The Retry-After the 429 faults send, and how soon a network that names its
// rate-limit window's end (Mastodon X-RateLimit-Reset, Bluesky
// RateLimit-Reset) says it reopens: sooner than Retry-After, so an end state
// tells which of the two hints won.
constexpr std::chrono::seconds k_retry_after{120};
constexpr std::chrono::seconds k_window{60};

Timestamp system_now() { return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()); }

// ---- Networks ---------------------------------------------------------------

app::AddAccountRequest account_request(std::string platform, nlohmann::json options, nlohmann::json secrets) {
  app::AddAccountRequest r;
  r.platform = std::move(platform);
  r.name = "main";
  r.options = std::move(options);
  r.secrets = secrets.is_null() ? nlohmann::json::object() : std::move(secrets);
  return r;
}

/// One network's fake as the matrix drives it. Every network talks to the
/// matrix's FaultyEndpoint, which forwards to url().
class NetworkFake {
 public:
  virtual ~NetworkFake() = default;
  /// Registry name of the adapter.
  virtual std::string platform() const = 0;
  /// The fake itself, where the FaultyEndpoint forwards to.
  virtual std::string url() const = 0;
  /// What `account add` is given, the network being at `base_url`.
  virtual app::AddAccountRequest account(const std::string& base_url) = 0;
  /// The call that creates the post, as "METHOD /path".
  virtual std::string publish_route() const = 0;
  /// The next publish call is answered with `status` in the network's own
  /// error format, with `headers` added.
  virtual void fail_next(int status, const HeaderList& headers) = 0;
  /// For a network whose 429 also says when its rate-limit window reopens:
  /// that instant, for the 429 fail_next scripted last.
  virtual std::optional<Timestamp> window_reopens() const { return std::nullopt; }
  /// Expires the access token so that the next publish call is refused with
  /// `status` (0: the network's own expired-token answer) until the adapter
  /// refreshes it. False when the network has no tokens that expire and
  /// refresh: the caller then scripts a plain 401 instead.
  virtual bool expire_token(int status) {
    (void)status;
    return false;
  }
  /// The next publish call is refused for credentials, and so is every way
  /// the adapter has to get new ones.
  virtual void refuse_credentials() { fail_next(401, {}); }
  /// Posts that exist on the network.
  virtual std::size_t posts() const = 0;
  /// The idempotency key a publish request carried.
  virtual std::string key_of(const FaultyEndpoint::Received& request) const = 0;
  /// Whether the network drops a repeat with the same key; the adapter's
  /// Capabilities::idempotency_key must say the same.
  virtual bool dedupes() const = 0;
  /// Whether a post that landed unanswered is found among the account's
  /// recent posts (Capabilities::find_recent on a network without keys).
  virtual bool finds_recent() const { return false; }
  /// The HTTP status an attempt that ended on refused credentials records:
  /// the last call's, which is the token endpoint's where a refresh was tried.
  virtual int rejected_status() const { return 401; }
  /// Config YAML the adapter needs, the network being at `base_url`.
  virtual std::string config(const std::string& base_url) const {
    (void)base_url;
    return {};
  }
};

class WebhookFake final : public NetworkFake {
 public:
  std::string platform() const override { return "webhook"; }
  std::string url() const override { return server_.base_url(); }
  app::AddAccountRequest account(const std::string& base_url) override {
    return account_request("webhook", {{"url", base_url + "/hooks/matrix"}, {"format", "json"}}, {});
  }
  std::string publish_route() const override { return "POST /hooks/matrix"; }
  void fail_next(int status, const HeaderList& headers) override {
    server_.script({{status, R"({"error":"scripted failure"})", headers, 0ms}});
  }
  // A receiver has no post ids: every delivery it answered 2xx is one post.
  std::size_t posts() const override {
    const auto all = server_.received();
    return static_cast<std::size_t>(std::count_if(all.begin(), all.end(), [](const auto& r) {
      return r.accepted && r.status >= 200 && r.status < 300;
    }));
  }
  std::string key_of(const FaultyEndpoint::Received& r) const override {
    return r.header("Idempotency-Key").value_or("");
  }
  bool dedupes() const override { return false; }

 private:
  fakes::WebhookServer server_;
};

class MastodonFake final : public NetworkFake {
 public:
  std::string platform() const override { return "mastodon"; }
  std::string url() const override { return server_.base_url(); }
  app::AddAccountRequest account(const std::string& base_url) override {
    return account_request("mastodon", {{"instance", base_url}}, {{"access_token", "test-token"}});
  }
  std::string publish_route() const override { return "POST /api/v1/statuses"; }
  void fail_next(int status, const HeaderList& headers) override {
    fakes::MastodonServer::Reply reply{status, R"({"error":"scripted failure"})", headers, 0ms};
    if (status == 401) reply.body = R"({"error":"The access token is invalid"})";
    if (status == 429) {
      // Mastodon names the window's end on every 429, as a time.
      const auto now = std::chrono::system_clock::now();
      reopens_ = std::chrono::floor<std::chrono::milliseconds>(now + k_window);
      reply.body = R"({"error":"Too many requests"})";
      reply.headers.insert(reply.headers.begin(), {{"X-RateLimit-Limit", "300"},
                                                   {"X-RateLimit-Remaining", "0"},
                                                   {"X-RateLimit-Reset", fakes::MastodonServer::iso_time(now + k_window)}});
    }
    server_.script(publish_route(), {reply});
  }
  std::optional<Timestamp> window_reopens() const override { return reopens_; }
  // Access tokens do not expire on Mastodon and there is no refresh token:
  // a rejected token needs a person (expire_token stays "not applicable").
  std::size_t posts() const override { return server_.statuses().size(); }
  std::string key_of(const FaultyEndpoint::Received& r) const override {
    return r.header("Idempotency-Key").value_or("");
  }
  bool dedupes() const override { return true; }

 private:
  fakes::MastodonServer server_;
  std::optional<Timestamp> reopens_;
};

class BlueskyFake final : public NetworkFake {
 public:
  BlueskyFake() {
    server_.add_account(k_handle, k_password);
    // The PDS names its window's end (RateLimit-Reset) on every answer.
    server_.set_rate_limit(3000, k_window);
    reopens_ = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now() + k_window);
  }
  std::string platform() const override { return "bluesky"; }
  std::string url() const override { return server_.base_url(); }
  // A linked account holds a live session, as `account add` leaves it, so
  // an expired access token can be refreshed with the stored refresh token.
  app::AddAccountRequest account(const std::string& base_url) override {
    http::Request req;
    req.method = "POST";
    req.url = server_.base_url() + "/xrpc/com.atproto.server.createSession";
    req.headers = {{"Content-Type", "application/json"}};
    req.body = nlohmann::json{{"identifier", k_handle}, {"password", k_password}}.dump();
    const auto resp = http::make_client()->send(req);
    const auto session = nlohmann::json::parse(resp.body);
    return account_request("bluesky", {{"handle", k_handle}, {"pds", base_url}},
                           {{"app_password", k_password},
                            {"access_jwt", session.at("accessJwt")},
                            {"refresh_jwt", session.at("refreshJwt")},
                            {"did", session.at("did")},
                            {"handle", k_handle}});
  }
  std::string publish_route() const override { return "POST /xrpc/com.atproto.repo.createRecord"; }
  void fail_next(int status, const HeaderList& headers) override {
    server_.script(k_create, {{status, xrpc_error(status), headers, 0ms, false}});
  }
  std::optional<Timestamp> window_reopens() const override { return reopens_; }
  bool expire_token(int status) override {
    if (status == 0) {
      server_.expire_access_tokens();  // 400 ExpiredToken, as the PDS says it
    } else {
      server_.script(k_create, {{status, R"({"error":"ExpiredToken","message":"Token has expired"})", {}, 0ms, false}});
    }
    return true;
  }
  // The access token is refused, the refresh token has expired too and the
  // app password was revoked: nothing the adapter can do.
  void refuse_credentials() override {
    server_.script(k_create, {{401, R"({"error":"InvalidToken","message":"Token could not be verified"})", {}, 0ms,
                               false}});
    server_.expire_refresh_tokens();
    server_.script("com.atproto.server.createSession",
                   {{401, R"({"error":"AuthenticationRequired","message":"Invalid identifier or password"})", {},
                     0ms, false}});
  }
  std::size_t posts() const override { return server_.records().size(); }
  // The key is the record key derived from the target's idempotency key.
  std::string key_of(const FaultyEndpoint::Received& r) const override {
    const auto body = nlohmann::json::parse(r.body, nullptr, false);
    return body.is_object() ? body.value("rkey", "") : "";
  }
  bool dedupes() const override { return true; }

 private:
  static constexpr const char* k_handle = "alice.test";
  static constexpr const char* k_password = "abcd-efgh-ijkl-mnop";
  static constexpr const char* k_create = "com.atproto.repo.createRecord";

  static std::string xrpc_error(int status) {
    switch (status) {
      case 429: return R"({"error":"RateLimitExceeded","message":"Rate Limit Exceeded"})";
      case 401: return R"({"error":"AuthenticationRequired","message":"Authentication Required"})";
      case 502: return R"({"error":"UpstreamFailure","message":"Upstream Failure"})";
      case 503: return R"({"error":"NotEnoughResources","message":"Not Enough Resources"})";
      default: return R"({"error":"InternalServerError","message":"Internal Server Error"})";
    }
  }

  fakes::BlueskyServer server_;
  Timestamp reopens_;
};

// X: OAuth 2.0 tokens from the OAuth fake (refreshed through X's token
// endpoint, which the X fake forwards), no idempotency key, and unknown
// outcomes looked up among the user's recent posts.
class XFake final : public NetworkFake {
 public:
  XFake() : server_(&oauth_) { oauth_.add_client({k_client, "", fakes::OAuthServer::ClientAuthMethod::any, {}, true}); }
  std::string platform() const override { return "x"; }
  std::string url() const override { return server_.base_url(); }
  std::string config(const std::string& base_url) const override {
    return "platforms:\n  x:\n    api_base: " + base_url + "\n    client_id: " + k_client + "\n";
  }
  // Tokens as `account add x --oauth` leaves them.
  app::AddAccountRequest account(const std::string&) override {
    const oauth::Pkce pkce = oauth::make_pkce();
    const std::string redirect = "http://127.0.0.1:9/callback";
    const std::string code = oauth_.issue_code(k_client, redirect, pkce.challenge, "tweet.read tweet.write");
    oauth::OAuth2Config c;
    c.token_url = server_.base_url() + "/2/oauth2/token";
    c.client_id = k_client;
    const auto tokens =
        oauth::exchange_code(*http::make_client(), c, code, redirect, pkce.verifier, std::chrono::system_clock::now());
    return account_request("x", nlohmann::json::object(), platforms::token_secrets(tokens));
  }
  std::string publish_route() const override { return "POST /2/tweets"; }
  void fail_next(int status, const HeaderList& headers) override {
    fakes::XServer::Reply reply{status, problem(status), headers, 0ms};
    if (status == 429) {
      // X names the window's end (epoch seconds) on every answer.
      const auto limited = fakes::XServer::rate_limited(k_window);
      reply.body = limited.body;
      reply.headers.insert(reply.headers.begin(), limited.headers.begin(), limited.headers.end());
      reopens_ = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now() + k_window);
    }
    server_.script(publish_route(), {reply});
  }
  std::optional<Timestamp> window_reopens() const override { return reopens_; }
  // X answers an expired access token with a 401; a refresh fixes it.
  bool expire_token(int) override {
    oauth_.expire_access_tokens();
    return true;
  }
  // The token expired and the refresh token was revoked.
  void refuse_credentials() override {
    oauth_.expire_access_tokens();
    oauth_.script_token_replies(
        {{400, R"({"error":"invalid_grant","error_description":"Value passed for the token was invalid."})", {}}});
  }
  std::size_t posts() const override { return server_.tweets().size(); }
  // X has no idempotency key: every try must at least be the same post.
  std::string key_of(const FaultyEndpoint::Received& r) const override {
    const auto body = nlohmann::json::parse(r.body, nullptr, false);
    return body.is_object() ? body.value("text", "") : "";
  }
  bool dedupes() const override { return false; }
  bool finds_recent() const override { return true; }
  int rejected_status() const override { return 400; }  // invalid_grant from the refresh

 private:
  static constexpr const char* k_client = "faults-x-client";

  static std::string problem(int status) {
    return nlohmann::json{{"title", status == 401 ? "Unauthorized" : "Scripted failure"},
                          {"detail", status == 401 ? "Unauthorized" : "scripted failure"},
                          {"type", "about:blank"},
                          {"status", status}}
        .dump();
  }

  fakes::OAuthServer oauth_;  // before server_, which forwards to it
  fakes::XServer server_;
  std::optional<Timestamp> reopens_;
};

struct Network {
  const char* name;
  std::unique_ptr<NetworkFake> (*make)();
};

template <class T>
std::unique_ptr<NetworkFake> make_fake() {
  return std::make_unique<T>();
}

const Network k_networks[] = {
    {"webhook", make_fake<WebhookFake>},
    {"mastodon", make_fake<MastodonFake>},
    {"bluesky", make_fake<BlueskyFake>},
    {"x", make_fake<XFake>},
};

// ---- Faults and what they must lead to ----------------------------------

enum class Fault {
  rate_limited_retry_after,  // 429 with Retry-After
  rate_limited,              // 429 without Retry-After
  http_500,
  http_502,
  http_503,
  reset,                   // connection reset before the server saw the request
  reset_after_processing,  // the server acted, then the connection was reset
  no_answer,               // the server acted, the answer never arrives (client timeout)
  expired_token,           // the network's own expired-token answer, which a refresh fixes
  unauthorized_refreshable,  // a 401 that a refresh fixes
  unauthorized,              // a 401 that nothing fixes
};

struct FaultCase {
  Fault fault;
  const char* name;
};

constexpr FaultCase k_faults[] = {
    {Fault::rate_limited_retry_after, "rate_limited_retry_after"},
    {Fault::rate_limited, "rate_limited"},
    {Fault::http_500, "http_500"},
    {Fault::http_502, "http_502"},
    {Fault::http_503, "http_503"},
    {Fault::reset, "reset"},
    {Fault::reset_after_processing, "reset_after_processing"},
    {Fault::no_answer, "no_answer"},
    {Fault::expired_token, "expired_token"},
    {Fault::unauthorized_refreshable, "unauthorized_refreshable"},
    {Fault::unauthorized, "unauthorized"},
};

// Readable parameters in gtest's messages.
void PrintTo(const Network& n, std::ostream* os) { *os << n.name; }
void PrintTo(const FaultCase& f, std::ostream* os) { *os << f.name; }

// When a retry_wait target is due again.
enum class Due {
  none,         // not in retry_wait
  server_hint,  // Retry-After, or the window's end where the network names one (the later)
  backoff,      // retry_base with jitter (first attempt)
};

struct Expected {
  TargetStatus status;
  AttemptOutcome outcome;
  int http_status;     // on the attempt row; 0: no HTTP answer; -1: any 2xx
  Due due;
  std::size_t calls;   // publish requests the first attempt made
  std::size_t posts;   // posts on the network after it
  bool healthy;        // the account afterwards
};

// The documented table (docs/faults.md), as a function of the fault and
// what the network can do: dedupe repeats, refresh tokens, name its window.
Expected expected(Fault fault, const NetworkFake& net, bool refreshable) {
  const bool dedupes = net.dedupes();
  const Expected retry{TargetStatus::retry_wait, AttemptOutcome::transient, 0, Due::backoff, 1, 0, true};
  const Expected unknown{TargetStatus::unknown, AttemptOutcome::unknown, 0, Due::none, 1, 0, true};
  const Expected rejected{TargetStatus::failed, AttemptOutcome::permanent, net.rejected_status(), Due::none, 1, 0,
                          false};
  switch (fault) {
    case Fault::rate_limited_retry_after: {
      Expected e = retry;
      e.http_status = 429;
      e.due = Due::server_hint;
      return e;
    }
    case Fault::rate_limited: {
      Expected e = retry;
      e.http_status = 429;
      e.due = net.window_reopens() ? Due::server_hint : Due::backoff;
      return e;
    }
    case Fault::http_500:
    case Fault::http_502:
    case Fault::http_503: {
      Expected e = retry;
      e.http_status = fault == Fault::http_500 ? 500 : fault == Fault::http_502 ? 502 : 503;
      return e;
    }
    case Fault::reset:
      // The request was sent, so it may have arrived: only a network that
      // drops repeats makes another try safe.
      return dedupes ? retry : unknown;
    case Fault::reset_after_processing:
    case Fault::no_answer: {
      // The post landed: a network that lists recent posts shows it, and the
      // target is published though the attempt's own outcome stays unknown.
      if (!dedupes && net.finds_recent()) {
        return {TargetStatus::published, AttemptOutcome::unknown, 0, Due::none, 1, 1, true};
      }
      Expected e = dedupes ? retry : unknown;
      e.posts = 1;
      return e;
    }
    case Fault::expired_token:
    case Fault::unauthorized_refreshable:
      if (refreshable) {
        // One refresh, the same call once more, published.
        return {TargetStatus::published, AttemptOutcome::ok, -1, Due::none, 2, 1, true};
      }
      return rejected;
    case Fault::unauthorized: return rejected;
  }
  return rejected;
}

// ---- The app layer in a temporary home --------------------------------------

class Home {
 public:
  Home() {
    std::string tmpl = (fs::temp_directory_path() / "multivio-faults-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    // A short HTTP timeout keeps the never-answered calls at about a second.
    std::ofstream(dir_ / "config.yaml") << "daemon:\n  http_timeout: 1s\n  connect_timeout: 1s\n";
    env_ = {{"HOME", dir_.string()},
            {"XDG_CONFIG_HOME", (dir_ / "config").string()},
            {"XDG_DATA_HOME", (dir_ / "data").string()},
            {"XDG_STATE_HOME", (dir_ / "state").string()},
            {"XDG_CACHE_HOME", (dir_ / "cache").string()},
            {"TZ", "UTC"},
            {"MULTIVIO_KEY", crypto::base64_encode(crypto::random_bytes(32))}};
  }
  ~Home() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Home(const Home&) = delete;
  Home& operator=(const Home&) = delete;

  void append_config(const std::string& yaml) const {
    std::ofstream(dir_ / "config.yaml", std::ios::app) << yaml;
  }

  app::Options options() const {
    app::Options o;
    o.config_path = (dir_ / "config.yaml").string();
    o.database = (dir_ / "multivio.db").string();
    o.env = [env = env_](const std::string& name) -> std::optional<std::string> {
      const auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    return o;
  }

 private:
  fs::path dir_;
  std::map<std::string, std::string> env_;
};

class FaultMatrix : public ::testing::TestWithParam<std::tuple<Network, FaultCase>> {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::off); }

  void SetUp() override {
    const auto& [network, fault] = GetParam();
    try {
      net_ = network.make();
      edge_ = std::make_unique<FaultyEndpoint>(FaultyEndpoint::Mode::pass, net_->url());
    } catch (const std::runtime_error& e) {
      GTEST_SKIP() << "no loopback socket: " << e.what();
    }
    home_.append_config(net_->config(edge_->base_url()));
    ctx_ = std::make_unique<app::Context>(home_.options());
    account_ = app::add_account(*ctx_, net_->account(edge_->base_url()));
    app::NewPostRequest post;
    post.text = std::string("fault matrix: ") + network.name + " " + fault.name;
    post.to = {account_.ref()};
    post.draft = true;
    post_id_ = app::new_post(*ctx_, post).post.id;
  }

  /// One attempt, as the daemon's worker makes it; [before, after] brackets
  /// the instant the outcome was decided.
  store::AttemptResult attempt() {
    const std::string owner = "faults-test";
    auto claims = ctx_->store().claim_post(post_id_, ctx_->clock().now(), owner, 5min);
    if (claims.size() != 1) throw std::runtime_error("expected one claim, got " + std::to_string(claims.size()));
    app::Publisher publisher(*ctx_, owner);
    before_ = system_now();
    auto result = publisher.publish(claims.front());
    after_ = system_now();
    return result;
  }

  model::Target target() { return ctx_->store().find_post(post_id_)->targets.at(0); }
  std::vector<model::Attempt> attempts() { return ctx_->store().attempts(target().id); }
  bool healthy() { return ctx_->store().find_account(account_.id)->healthy; }

  // Keys of every publish request the endpoint saw, in order.
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& r : edge_->received()) {
      if (r.route() == net_->publish_route()) out.push_back(net_->key_of(r));
    }
    return out;
  }

  Home home_;
  std::unique_ptr<NetworkFake> net_;
  std::unique_ptr<FaultyEndpoint> edge_;  // destroyed before net_: it forwards to it
  std::unique_ptr<app::Context> ctx_;
  model::Account account_;
  std::int64_t post_id_ = 0;
  Timestamp before_{};
  Timestamp after_{};
};

TEST_P(FaultMatrix, EndsInTheDocumentedState) {
  const auto& [network, fault_case] = GetParam();
  const Fault fault = fault_case.fault;
  const std::string route = net_->publish_route();

  // The production flag that decides unknown versus retry must match what
  // the network does.
  ASSERT_EQ(ctx_->adapter(net_->platform())->capabilities(&account_).idempotency_key, net_->dedupes());

  bool refreshable = false;
  switch (fault) {
    case Fault::rate_limited_retry_after:
      net_->fail_next(429, {{"Retry-After", std::to_string(k_retry_after.count())}});
      break;
    case Fault::rate_limited: net_->fail_next(429, {}); break;
    case Fault::http_500: net_->fail_next(500, {}); break;
    case Fault::http_502: net_->fail_next(502, {}); break;
    case Fault::http_503: net_->fail_next(503, {}); break;
    case Fault::reset: edge_->script(route, FaultyEndpoint::Mode::reset); break;
    case Fault::reset_after_processing: edge_->script(route, FaultyEndpoint::Mode::reset, 1, true); break;
    case Fault::no_answer: edge_->script(route, FaultyEndpoint::Mode::silent, 1, true); break;
    case Fault::expired_token:
    case Fault::unauthorized_refreshable:
      refreshable = net_->expire_token(fault == Fault::expired_token ? 0 : 401);
      // Not applicable where tokens neither expire nor refresh (webhook,
      // Mastodon): the same call gets a plain 401, which must take the
      // unfixable path.
      if (!refreshable) net_->fail_next(401, {});
      break;
    case Fault::unauthorized: net_->refuse_credentials(); break;
  }
  const Expected want = expected(fault, *net_, refreshable);

  const store::AttemptResult result = attempt();
  const model::Target t = target();
  const auto rows = attempts();
  SCOPED_TRACE("error: " + t.error);

  EXPECT_EQ(model::to_string(result.next_status), model::to_string(want.status));
  EXPECT_EQ(model::to_string(t.status), model::to_string(want.status));
  EXPECT_EQ(t.attempts, 1);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(model::to_string(rows[0].outcome), model::to_string(want.outcome));
  if (want.http_status < 0) {
    EXPECT_TRUE(rows[0].http_status >= 200 && rows[0].http_status < 300) << rows[0].http_status;
  } else {
    EXPECT_EQ(rows[0].http_status, want.http_status);
  }
  if (want.status == TargetStatus::published) {
    EXPECT_TRUE(t.error.empty()) << t.error;
  } else {
    EXPECT_NE(t.error.find(account_.ref()), std::string::npos) << "the error names the account: " << t.error;
  }
  EXPECT_EQ(healthy(), want.healthy);
  EXPECT_EQ(edge_->count(route), want.calls) << "publish requests in the first attempt";
  EXPECT_EQ(net_->posts(), want.posts) << "posts on the network after the first attempt";

  switch (want.due) {
    case Due::none: break;
    case Due::server_hint: {
      ASSERT_TRUE(t.next_attempt_at.has_value());
      // Retry-After is a delay from when the answer came; the window's end
      // an instant the network names (to the second, so +/- 1 s).
      Timestamp lo = fault == Fault::rate_limited_retry_after ? before_ + k_retry_after : Timestamp::min();
      Timestamp hi = fault == Fault::rate_limited_retry_after ? after_ + k_retry_after : Timestamp::min();
      if (const auto reopens = net_->window_reopens()) {
        lo = std::max(lo, *reopens - 1s);
        hi = std::max(hi, *reopens + 1s);
      }
      EXPECT_GE(*t.next_attempt_at, lo) << model::format_utc(*t.next_attempt_at);
      EXPECT_LE(*t.next_attempt_at, hi) << model::format_utc(*t.next_attempt_at);
      break;
    }
    case Due::backoff: {
      ASSERT_TRUE(t.next_attempt_at.has_value());
      const auto policy = ctx_->retry_policy();
      const auto spread = std::chrono::duration_cast<std::chrono::milliseconds>(policy.base * policy.jitter);
      EXPECT_GE(*t.next_attempt_at, before_ + policy.base - spread) << model::format_utc(*t.next_attempt_at);
      EXPECT_LE(*t.next_attempt_at, after_ + policy.base + spread) << model::format_utc(*t.next_attempt_at);
      break;
    }
  }

  if (want.status != TargetStatus::retry_wait) return;

  // The retry, with the fault gone: the same key again, and one post on the
  // network, even where the first call had landed.
  const store::AttemptResult again = attempt();
  EXPECT_EQ(model::to_string(again.next_status), "published") << again.error;
  EXPECT_EQ(target().attempts, 2);
  EXPECT_EQ(net_->posts(), 1u) << "no duplicate post";
  const auto sent = keys();
  ASSERT_EQ(sent.size(), want.calls + 1);
  EXPECT_FALSE(sent.front().empty());
  EXPECT_TRUE(std::all_of(sent.begin(), sent.end(), [&](const std::string& k) { return k == sent.front(); }))
      << "every try carries the target's key";
}

INSTANTIATE_TEST_SUITE_P(Networks, FaultMatrix, ::testing::Combine(::testing::ValuesIn(k_networks),
                                                                    ::testing::ValuesIn(k_faults)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param).name;
                         });

// ---- The faulty endpoint itself -------------------------------------------

TEST(FaultyEndpoint, ResetIsATransportErrorThatMayHaveArrived) {
  std::unique_ptr<FaultyEndpoint> edge;
  try {
    edge = std::make_unique<FaultyEndpoint>(FaultyEndpoint::Mode::reset);
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << e.what();
  }
  http::Request req;
  req.method = "POST";
  req.url = edge->base_url() + "/x?y=1";
  req.body = "hello";
  try {
    http::make_client()->send(req);
    FAIL() << "a reset connection returned a response";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient) << e.what();
    EXPECT_TRUE(e.outcome_unknown) << e.what();
  }
  ASSERT_EQ(edge->received().size(), 1u);
  EXPECT_EQ(edge->received()[0].route(), "POST /x");
  EXPECT_EQ(edge->received()[0].target, "/x?y=1");
  EXPECT_EQ(edge->received()[0].body, "hello");
  EXPECT_FALSE(edge->received()[0].forwarded);
}

TEST(FaultyEndpoint, SilenceEndsInATimeoutAndStopDoesNotHang) {
  std::unique_ptr<FaultyEndpoint> edge;
  try {
    edge = std::make_unique<FaultyEndpoint>(FaultyEndpoint::Mode::silent);
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << e.what();
  }
  http::Request req;
  req.url = edge->base_url() + "/";
  req.total_timeout = 300ms;
  try {
    http::make_client()->send(req);
    FAIL() << "a silent endpoint answered";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient) << e.what();
    EXPECT_TRUE(e.outcome_unknown) << "the request went out before the timeout: " << e.what();
  }
  // A second connection that is still open when the endpoint stops.
  std::thread client([url = edge->base_url()] {
    http::Request r;
    r.url = url + "/held";
    r.total_timeout = 10s;
    try {
      http::make_client()->send(r);
    } catch (const Error&) {
      // Cut off by stop(): expected.
    }
  });
  for (int i = 0; i < 500 && edge->count("GET /held") == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(edge->count("GET /held"), 1u);
  edge->stop();  // returns although a client still waits for an answer
  client.join();
  edge.reset();
}

TEST(FaultyEndpoint, PassesOtherRequestsThroughAndClosesAfterEach) {
  std::unique_ptr<fakes::WebhookServer> upstream;
  std::unique_ptr<FaultyEndpoint> edge;
  try {
    upstream = std::make_unique<fakes::WebhookServer>();
    edge = std::make_unique<FaultyEndpoint>(FaultyEndpoint::Mode::pass, upstream->base_url());
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << e.what();
  }
  edge->script("POST /b", FaultyEndpoint::Mode::reset);
  const auto client = http::make_client();
  http::Request req;
  req.method = "POST";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = R"({"n":1})";
  req.url = edge->base_url() + "/a";
  EXPECT_EQ(client->send(req).status, 200);
  const auto answer = client->send(req);  // the same handle: no stale connection may be reused
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.header("Connection").value_or(""), "close");
  req.url = edge->base_url() + "/b";
  EXPECT_THROW(client->send(req), Error);
  EXPECT_EQ(client->send(req).status, 200) << "only the scripted request is broken";
  EXPECT_EQ(upstream->count(), 3u);
  EXPECT_EQ(edge->count("POST /a"), 2u);
  EXPECT_EQ(edge->count("POST /b"), 2u);
}

}  // namespace
}  // namespace multivio
