// SPDX-License-Identifier: MIT
// The OAuth flows end to end, in process, against the strict fake
// authorization server: browser → loopback → code exchange → rotating
// refresh, and the OAuth 1.0a PIN flow and signed requests.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/oauth/loopback.hpp"
#include "common/oauth/oauth1.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/oauth/pkce.hpp"
#include "tests/fakes/oauth_server.hpp"

namespace multivio::oauth {
namespace {

using namespace std::chrono_literals;
using fakes::OAuthServer;

class OAuthFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<OAuthServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    http_ = http::make_client();
    server_->add_client({"public-cli", "", OAuthServer::ClientAuthMethod::any, {}, true});
    server_->add_client({"basic-cli", "s3:cr+t%", OAuthServer::ClientAuthMethod::basic, {}, true});
    server_->add_client({"body-cli", "b0dy", OAuthServer::ClientAuthMethod::body, {}, true});
  }

  OAuth2Config config(const std::string& client_id = "public-cli", const std::string& secret = "",
                      ClientAuth auth = ClientAuth::body) const {
    OAuth2Config c;
    c.authorize_url = server_->authorize_url();
    c.token_url = server_->token_url();
    c.client_id = client_id;
    c.client_secret = secret;
    c.client_auth = auth;
    c.connect_timeout = 2s;
    c.total_timeout = 5s;
    c.context = "x";
    return c;
  }

  // A browser: GET, following redirects (to the loopback receiver).
  http::Response browse(const std::string& url, bool follow = true) {
    http::Request r;
    r.url = url;
    r.follow_redirects = follow;
    r.total_timeout = 5s;
    return http_->send(r);
  }

  http::Response userinfo(const std::string& access_token) {
    http::Request r;
    r.url = server_->userinfo_url();
    r.headers = {{"Authorization", "Bearer " + access_token}};
    return http_->send(r);
  }

  // Links through the loopback receiver and returns the first token set.
  TokenSet link(const OAuth2Config& c) {
    const Pkce pkce = make_pkce();
    const std::string state = make_state();
    LoopbackReceiver receiver(state);
    server_->set_authorize_mode(OAuthServer::AuthorizeMode::approve);
    AuthorizationRequest request{receiver.redirect_uri(), {"tweet.read", "offline.access"}, state, pkce.challenge, {}};
    EXPECT_EQ(browse(authorization_url(c, request)).status, 200);
    const AuthorizationResponse answer = receiver.wait(5s);
    return exchange_code(*http_, c, answer.code, receiver.redirect_uri(), pkce.verifier,
                         std::chrono::system_clock::now());
  }

  std::unique_ptr<OAuthServer> server_;
  std::unique_ptr<http::Client> http_;
};

// The whole story the issue asks for: authorize URL → browser → loopback →
// exchange with the verifier → refresh rotates → the old refresh token is
// dead → AuthError with relink_required.
TEST_F(OAuthFlowTest, LoopbackPkceExchangeRefreshRotationAndRelink) {
  const OAuth2Config c = config();
  const Pkce pkce = make_pkce();
  const std::string state = make_state();
  LoopbackReceiver receiver(state);
  server_->set_authorize_mode(OAuthServer::AuthorizeMode::approve);

  AuthorizationRequest request;
  request.redirect_uri = receiver.redirect_uri();
  request.scopes = {"tweet.read", "tweet.write", "users.read", "offline.access"};
  request.state = state;
  request.code_challenge = pkce.challenge;
  const http::Response page = browse(authorization_url(c, request));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("you can close this tab"), std::string::npos);

  const auto seen = server_->authorize_requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].code_challenge_method, "S256");
  EXPECT_EQ(seen[0].code_challenge, pkce.challenge);
  EXPECT_EQ(seen[0].scope, "tweet.read tweet.write users.read offline.access");
  EXPECT_EQ(seen[0].redirect_uri, receiver.redirect_uri());

  const AuthorizationResponse answer = receiver.wait(5s);
  EXPECT_EQ(answer.state, state);
  const auto now = std::chrono::system_clock::now();
  const TokenSet first = exchange_code(*http_, c, answer.code, receiver.redirect_uri(), pkce.verifier, now);
  EXPECT_FALSE(first.access_token.empty());
  EXPECT_FALSE(first.refresh_token.empty());
  EXPECT_EQ(first.token_type, "bearer");
  EXPECT_EQ(first.scope, "tweet.read tweet.write users.read offline.access");
  ASSERT_TRUE(first.expires_at);
  EXPECT_EQ(*first.expires_at, std::chrono::floor<std::chrono::seconds>(now) + 7200s);
  EXPECT_EQ(userinfo(first.access_token).status, 200);

  const TokenSet refreshed = refresh_access_token(*http_, c, first.refresh_token, std::chrono::system_clock::now());
  EXPECT_NE(refreshed.refresh_token, first.refresh_token);  // rotated
  EXPECT_NE(refreshed.access_token, first.access_token);
  const TokenSet stored = merge_refreshed(first, refreshed);
  EXPECT_EQ(stored.refresh_token, refreshed.refresh_token);
  EXPECT_FALSE(server_->refresh_token_valid(first.refresh_token));
  EXPECT_EQ(userinfo(stored.access_token).status, 200);

  try {
    refresh_access_token(*http_, c, first.refresh_token, std::chrono::system_clock::now());
    FAIL() << "the rotated-out refresh token still worked";
  } catch (const AuthError& e) {
    EXPECT_TRUE(e.relink_required);
    EXPECT_EQ(e.oauth_error, "invalid_grant");
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_EQ(e.http_status, 400);
    EXPECT_NE(std::string(e.what()).find("re-link"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).rfind("x: token refresh: HTTP 400: invalid_grant", 0), 0u) << e.what();
  }
  // Reuse detection: the replay also ended the newest grant in the chain.
  EXPECT_FALSE(server_->refresh_token_valid(stored.refresh_token));
  EXPECT_EQ(userinfo(stored.access_token).status, 401);
}

TEST_F(OAuthFlowTest, ConsentPageThenApproveOrDeny) {
  const std::string state = make_state();
  const Pkce pkce = make_pkce();
  LoopbackReceiver receiver(state);
  const std::string url = authorization_url(config(), {receiver.redirect_uri(), {"write"}, state, pkce.challenge, {}});
  EXPECT_EQ(browse(url).status, 200);                 // the consent page, no redirect yet
  EXPECT_EQ(browse(server_->approve()).status, 200);  // the user clicks Allow
  const AuthorizationResponse answer = receiver.wait(5s);
  EXPECT_FALSE(exchange_code(*http_, config(), answer.code, receiver.redirect_uri(), pkce.verifier,
                             std::chrono::system_clock::now())
                   .access_token.empty());

  LoopbackReceiver second(state);
  server_->set_authorize_mode(OAuthServer::AuthorizeMode::deny);
  browse(authorization_url(config(), {second.redirect_uri(), {"write"}, state, pkce.challenge, {}}));
  try {
    second.wait(5s);
    FAIL() << "no throw";
  } catch (const AuthError& e) {
    EXPECT_EQ(e.oauth_error, "access_denied");
  }
}

TEST_F(OAuthFlowTest, NoBrowserPasteOfTheRedirectUrl) {
  const std::string state = make_state();
  const Pkce pkce = make_pkce();
  const std::string redirect = "http://127.0.0.1:8765/callback";  // nothing listens: the user copies the URL
  browse(authorization_url(config(), {redirect, {"write"}, state, pkce.challenge, {}}));
  const AuthorizationResponse answer = parse_pasted_redirect(server_->approve() + "\n", state);
  const TokenSet t =
      exchange_code(*http_, config(), answer.code, redirect, pkce.verifier, std::chrono::system_clock::now());
  EXPECT_EQ(userinfo(t.access_token).status, 200);
}

TEST_F(OAuthFlowTest, WrongVerifierFailsAndBurnsTheCode) {
  const Pkce pkce = make_pkce();
  const std::string redirect = "http://127.0.0.1:9/callback";
  const std::string code = server_->issue_code("public-cli", redirect, pkce.challenge);
  try {
    exchange_code(*http_, config(), code, redirect, make_code_verifier(), std::chrono::system_clock::now());
    FAIL() << "wrong verifier accepted";
  } catch (const AuthError& e) {
    EXPECT_EQ(e.oauth_error, "invalid_grant");
  }
  EXPECT_EQ(server_->token_requests().back().reason, "PKCE verification failed");
  EXPECT_THROW(exchange_code(*http_, config(), code, redirect, pkce.verifier, std::chrono::system_clock::now()),
               AuthError);
}

TEST_F(OAuthFlowTest, CodesAreSingleUseAndBoundToTheRedirectUri) {
  const Pkce pkce = make_pkce();
  const std::string redirect = "http://127.0.0.1:9/callback";
  const std::string code = server_->issue_code("public-cli", redirect, pkce.challenge);
  EXPECT_THROW(exchange_code(*http_, config(), code, "http://127.0.0.1:10/callback", pkce.verifier,
                             std::chrono::system_clock::now()),
               AuthError);
  EXPECT_EQ(server_->token_requests().back().reason, "redirect_uri does not match the authorization request");

  const std::string code2 = server_->issue_code("public-cli", redirect, pkce.challenge);
  const TokenSet t = exchange_code(*http_, config(), code2, redirect, pkce.verifier, std::chrono::system_clock::now());
  EXPECT_TRUE(server_->access_token_valid(t.access_token));
  EXPECT_THROW(exchange_code(*http_, config(), code2, redirect, pkce.verifier, std::chrono::system_clock::now()),
               AuthError);
  EXPECT_FALSE(server_->access_token_valid(t.access_token));  // a replayed code revokes its tokens
}

TEST_F(OAuthFlowTest, ConfidentialClientsAuthenticateAsConfigured) {
  // Basic with form-encoded halves (the secret has ":", "+" and "%").
  const TokenSet basic = link(config("basic-cli", "s3:cr+t%", ClientAuth::basic));
  EXPECT_TRUE(server_->access_token_valid(basic.access_token));
  EXPECT_NE(server_->token_requests().back().authorization.rfind("Basic ", 0), std::string::npos);
  const TokenSet refreshed = refresh_access_token(*http_, config("basic-cli", "s3:cr+t%", ClientAuth::basic),
                                                  basic.refresh_token, std::chrono::system_clock::now());
  EXPECT_FALSE(refreshed.access_token.empty());

  const TokenSet body = link(config("body-cli", "b0dy", ClientAuth::body));
  EXPECT_TRUE(server_->access_token_valid(body.access_token));
  EXPECT_EQ(server_->token_requests().back().authorization, "");

  // X's answer when a confidential client sends its secret in the body: not a
  // dead grant, a client configuration problem.
  try {
    link(config("basic-cli", "s3:cr+t%", ClientAuth::body));
    FAIL() << "no throw";
  } catch (const AuthError& e) {
    EXPECT_FALSE(e.relink_required);
    EXPECT_EQ(e.oauth_error, "unauthorized_client");
    EXPECT_EQ(e.http_status, 401);
  }
  try {
    link(config("body-cli", "wrong", ClientAuth::body));
    FAIL() << "no throw";
  } catch (const AuthError& e) {
    EXPECT_FALSE(e.relink_required);
    EXPECT_EQ(e.oauth_error, "invalid_client");
  }
}

TEST_F(OAuthFlowTest, ScriptedServerTroubleIsTransientAndLeavesTheGrantIntact) {
  const TokenSet t = link(config());
  server_->script_token_replies({{500, "<html>oops</html>", {}},
                                 {429, R"({"title":"Too Many Requests"})", {{"Retry-After", "17"}}},
                                 {400, R"({"error":"invalid_grant","error_description":"scripted"})", {}}});
  try {
    refresh_access_token(*http_, config(), t.refresh_token, std::chrono::system_clock::now());
    FAIL() << "no throw";
  } catch (const AuthError&) {
    FAIL() << "a 500 is not an auth error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_EQ(e.http_status, 500);
  }
  try {
    refresh_access_token(*http_, config(), t.refresh_token, std::chrono::system_clock::now());
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_EQ(e.retry_after, 17s);
  }
  try {
    refresh_access_token(*http_, config(), t.refresh_token, std::chrono::system_clock::now());
    FAIL() << "no throw";
  } catch (const AuthError& e) {
    EXPECT_TRUE(e.relink_required);
  }
  // The scripted answers consumed nothing: the real refresh still works.
  EXPECT_FALSE(
      refresh_access_token(*http_, config(), t.refresh_token, std::chrono::system_clock::now()).access_token.empty());
}

TEST_F(OAuthFlowTest, WithoutRotationTheOldRefreshTokenIsKept) {
  const TokenSet t = link(config());
  server_->set_rotate_refresh_tokens(false);
  server_->set_expires_in(60s);
  const auto now = std::chrono::system_clock::now();
  const TokenSet fresh = refresh_access_token(*http_, config(), t.refresh_token, now);
  EXPECT_TRUE(fresh.refresh_token.empty());
  EXPECT_EQ(*fresh.expires_at, std::chrono::floor<std::chrono::seconds>(now) + 60s);
  const TokenSet stored = merge_refreshed(t, fresh);
  EXPECT_EQ(stored.refresh_token, t.refresh_token);
  EXPECT_FALSE(refresh_access_token(*http_, config(), stored.refresh_token, std::chrono::system_clock::now())
                   .access_token.empty());
}

TEST_F(OAuthFlowTest, MissingRefreshTokenAndUnreachableServer) {
  try {
    refresh_access_token(*http_, config(), "", std::chrono::system_clock::now());
    FAIL() << "no throw";
  } catch (const AuthError& e) {
    EXPECT_TRUE(e.relink_required);
  }
  OAuth2Config down = config();
  down.token_url = server_->token_url();
  server_->stop();
  try {
    refresh_access_token(*http_, down, "rt", std::chrono::system_clock::now());
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_EQ(std::string(e.what()).rfind("x: token refresh: ", 0), 0u) << e.what();
  }
}

// ---------------------------------------------------------------- OAuth 1.0a

class OAuth1FlowTest : public OAuthFlowTest {
 protected:
  void SetUp() override {
    OAuthFlowTest::SetUp();
    if (IsSkipped()) return;
    server_->add_consumer("ck-123", "cs-456&?");
    server_->add_oauth1_token("ck-123", "783214-tok", "tok secret");
    endpoints_.base_url = server_->base_url();
    endpoints_.connect_timeout = 2s;
    endpoints_.total_timeout = 5s;
    endpoints_.context = "x";
  }

  Oauth1Credentials linked() const { return {"ck-123", "cs-456&?", "783214-tok", "tok secret"}; }

  http::Response send_signed(http::Request r, const Oauth1Credentials& creds) {
    sign(r, creds);
    r.total_timeout = 5s;
    return http_->send(r);
  }

  Oauth1Server endpoints_;
};

TEST_F(OAuth1FlowTest, PinFlowThenASignedRequest) {
  const TemporaryCredentials temporary = request_temporary_credentials(*http_, endpoints_, "ck-123", "cs-456&?");
  EXPECT_FALSE(temporary.token.empty());
  const std::string url = authorize_url(endpoints_, temporary.token);
  EXPECT_EQ(url, server_->base_url() + "/oauth/authorize?oauth_token=" + temporary.token);
  const http::Response page = browse(url);  // the user approves and reads the PIN
  const auto pin = server_->oauth1_pin(temporary.token);
  ASSERT_TRUE(pin);
  EXPECT_NE(page.body.find(*pin), std::string::npos);

  const TokenCredentials token =
      request_token_credentials(*http_, endpoints_, "ck-123", "cs-456&?", temporary, " " + *pin + "\n");
  EXPECT_EQ(token.user_id, "783214");
  EXPECT_EQ(token.screen_name, "fakeuser");

  http::Request r;
  r.url = server_->protected_url("/1.1/account/verify_credentials.json?include_email=false&x=a%20b");
  const http::Response ok = send_signed(r, {"ck-123", "cs-456&?", token.token, token.token_secret});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("fakeuser"), std::string::npos);

  // The PIN is single use.
  EXPECT_THROW(request_token_credentials(*http_, endpoints_, "ck-123", "cs-456&?", temporary, *pin), Error);
}

TEST_F(OAuth1FlowTest, WrongPinIsAnAuthErrorThatSaysSo) {
  const TemporaryCredentials temporary = request_temporary_credentials(*http_, endpoints_, "ck-123", "cs-456&?");
  browse(authorize_url(endpoints_, temporary.token));
  try {
    request_token_credentials(*http_, endpoints_, "ck-123", "cs-456&?", temporary, "0000000x");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_NE(std::string(e.what()).find("PIN was not accepted"), std::string::npos) << e.what();
  }
  EXPECT_THROW(request_token_credentials(*http_, endpoints_, "ck-123", "cs-456&?", temporary, "  "), Error);
}

TEST_F(OAuth1FlowTest, UnknownConsumerIsRefused) {
  try {
    request_temporary_credentials(*http_, endpoints_, "nobody", "x");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_EQ(e.http_status, 401);
  }
}

TEST_F(OAuth1FlowTest, FormBodiesUnicodeAndJsonBodiesVerify) {
  http::Request form;
  form.method = "POST";
  form.url = server_->protected_url("/1.1/statuses/update.json?include_entities=true");
  form.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  form.body = "status=" + percent_encode("Hello Ladies + Gentlemen, a signed OAuth request! \xE2\x98\x83 *'()");
  EXPECT_EQ(send_signed(form, linked()).status, 200);

  // The fake's independent base string equals ours for the same request.
  Oauth1Options fixed;
  fixed.nonce = "n-1";
  const Params protocol = sign_parameters("POST", form.url, form.body, linked(), fixed);
  http::Request again = form;
  again.headers.emplace_back("Authorization", authorization_header(protocol));
  again.total_timeout = 5s;
  EXPECT_EQ(http_->send(again).status, 200);
  Params unsigned_protocol = protocol;
  std::erase_if(unsigned_protocol, [](const auto& p) { return p.first == "oauth_signature"; });
  EXPECT_EQ(server_->oauth1_checks().back().base_string,
            signature_base_string("POST", form.url, collect_parameters(form.url, unsigned_protocol, form.body)));

  http::Request json;
  json.method = "POST";
  json.url = server_->protected_url("/2/tweets");
  json.headers = {{"Content-Type", "application/json"}};
  json.body = R"({"text":"hello"})";
  EXPECT_EQ(send_signed(json, linked()).status, 200);
}

TEST_F(OAuth1FlowTest, TamperedRequestsAreRefused) {
  http::Request r;
  r.method = "POST";
  r.url = server_->protected_url("/1.1/statuses/update.json");
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  r.body = "status=hi";
  sign(r, linked());
  r.total_timeout = 5s;

  // One character of the signature changed.
  http::Request bad_signature = r;
  std::string& header = bad_signature.headers.back().second;
  const auto at = header.find("oauth_signature=\"") + 17;
  header[at] = header[at] == 'A' ? 'B' : 'A';
  EXPECT_EQ(http_->send(bad_signature).status, 401);
  EXPECT_EQ(server_->oauth1_checks().back().reason, "signature mismatch");

  // The body changed after signing.
  http::Request bad_body = r;
  bad_body.body = "status=hj";
  EXPECT_EQ(http_->send(bad_body).status, 401);
  EXPECT_EQ(server_->oauth1_checks().back().reason, "signature mismatch");

  // The wrong token secret.
  Oauth1Credentials wrong = linked();
  wrong.token_secret = "guess";
  EXPECT_EQ(send_signed(r, wrong).status, 401);

  // The untouched request passes once; the same nonce again is a replay.
  EXPECT_EQ(http_->send(r).status, 200);
  EXPECT_EQ(http_->send(r).status, 401);
  EXPECT_EQ(server_->oauth1_checks().back().reason, "nonce replayed");

  // A stale timestamp.
  Oauth1Options old;
  old.timestamp = 1318622958;
  http::Request stale = r;
  sign(stale, linked(), old);
  EXPECT_EQ(http_->send(stale).status, 401);
  EXPECT_EQ(server_->oauth1_checks().back().reason, "timestamp outside the 300 s window");
}

}  // namespace
}  // namespace multivio::oauth
