// SPDX-License-Identifier: MIT
// Pure parts of common/oauth: PKCE, percent-encoding, OAuth 1.0a signatures
// against published examples, OAuth 2.0 URLs, token responses and errors.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/oauth/form.hpp"
#include "common/oauth/oauth1.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/oauth/pkce.hpp"
#include "tests/fakes/oauth_server.hpp"

namespace multivio::oauth {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------- PKCE

// RFC 7636 Appendix B: these 32 octets, their verifier and its S256 challenge.
TEST(Pkce, Rfc7636AppendixB) {
  const unsigned char octets[] = {116, 24,  223, 180, 151, 153, 224, 37,  79, 250, 96, 125, 216, 173, 187, 186,
                                  22,  212, 37,  77,  105, 214, 191, 240, 91, 88,  5,  88,  83,  132, 141, 121};
  const std::string verifier = code_verifier_from_bytes(std::string_view(reinterpret_cast<const char*>(octets), 32));
  EXPECT_EQ(verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  EXPECT_EQ(code_challenge_s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  EXPECT_EQ(kChallengeMethod, "S256");
}

TEST(Pkce, FreshVerifiersAreValidAndDistinct) {
  const Pkce a = make_pkce();
  const Pkce b = make_pkce();
  EXPECT_EQ(a.verifier.size(), 43u);
  EXPECT_TRUE(is_valid_code_verifier(a.verifier));
  EXPECT_NE(a.verifier, b.verifier);
  EXPECT_EQ(a.challenge, code_challenge_s256(a.verifier));
  EXPECT_EQ(a.challenge.size(), 43u);
  EXPECT_EQ(a.challenge.find('='), std::string::npos);
}

TEST(Pkce, VerifierGrammar) {
  EXPECT_FALSE(is_valid_code_verifier(std::string(42, 'a')));
  EXPECT_TRUE(is_valid_code_verifier(std::string(43, 'a')));
  EXPECT_TRUE(is_valid_code_verifier(std::string(128, '~')));
  EXPECT_FALSE(is_valid_code_verifier(std::string(129, 'a')));
  EXPECT_TRUE(is_valid_code_verifier("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ-._~0123456789"));
  EXPECT_FALSE(is_valid_code_verifier(std::string(42, 'a') + "+"));
  EXPECT_FALSE(is_valid_code_verifier(std::string(42, 'a') + "="));
  try {
    code_challenge_s256("short");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
}

TEST(Pkce, Base64UrlHasNoPaddingAndUrlAlphabet) {
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");  // base64 "+/8="
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
}

TEST(Pkce, StateIsRandomAndComparedStrictly) {
  const std::string a = make_state();
  const std::string b = make_state();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), std::string::npos);
  EXPECT_TRUE(state_matches(a, a));
  EXPECT_FALSE(state_matches(a, b));
  EXPECT_FALSE(state_matches(a, a.substr(0, 42)));
  EXPECT_FALSE(state_matches(a, ""));
  EXPECT_FALSE(state_matches("", ""));
}

// ---------------------------------------------------------------- percent-encoding

TEST(Form, PercentEncodeUsesTheUnreservedSetAndUppercaseHex) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("Hello Ladies + Gentlemen, a signed OAuth request!"),
            "Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21");
  EXPECT_EQ(percent_encode("*'()"), "%2A%27%28%29");       // encodeURIComponent would keep these
  EXPECT_EQ(percent_encode("\xE2\x98\x83"), "%E2%98%83");  // U+2603 as UTF-8
  EXPECT_EQ(percent_encode("a/b?c=d&e"), "a%2Fb%3Fc%3Dd%26e");
  EXPECT_EQ(percent_encode(std::string("\0", 1)), "%00");
}

TEST(Form, PercentDecode) {
  EXPECT_EQ(percent_decode("%3D%253D", false), "=%3D");
  EXPECT_EQ(percent_decode("a+b%2b", true), "a b+");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("%e2%98%83", false), "\xE2\x98\x83");
  EXPECT_EQ(percent_decode("%4", false), std::nullopt);
  EXPECT_EQ(percent_decode("abc%", false), std::nullopt);
  EXPECT_EQ(percent_decode("%zz", false), std::nullopt);
}

TEST(Form, ParseAndEncodeForms) {
  const auto q = parse_form("b5=%3D%253D&a3=a&c%40=&a2=r%20b");
  ASSERT_TRUE(q);
  EXPECT_EQ(*q, (Params{{"b5", "=%3D"}, {"a3", "a"}, {"c@", ""}, {"a2", "r b"}}));
  EXPECT_EQ(*parse_form("c2&a3=2+q"), (Params{{"c2", ""}, {"a3", "2 q"}}));
  EXPECT_TRUE(parse_form("&&")->empty());
  EXPECT_FALSE(parse_form("a=%G0"));
  EXPECT_EQ(form_encode({{"a b", "c&d"}, {"e", ""}}), "a%20b=c%26d&e=");
  EXPECT_EQ(find_param(*q, "a3"), "a");
  EXPECT_EQ(find_param(*q, "zz"), std::nullopt);
}

TEST(Form, AppendQuery) {
  EXPECT_EQ(append_query("https://x.com/i/oauth2/authorize", {{"a", "1"}}), "https://x.com/i/oauth2/authorize?a=1");
  EXPECT_EQ(append_query("https://h/p?x=1", {{"a", "b c"}}), "https://h/p?x=1&a=b%20c");
  EXPECT_EQ(append_query("https://h/p?", {{"a", "1"}}), "https://h/p?a=1");
  EXPECT_EQ(append_query("https://h/p#frag", {{"a", "1"}}), "https://h/p?a=1#frag");
  EXPECT_EQ(append_query("https://h/p", {}), "https://h/p");
}

// ---------------------------------------------------------------- OAuth 1.0a

// X's "Creating a signature" worked example (docs.x.com, OAuth 1.0a).
constexpr const char* kXConsumerKey = "xvz1evFS4wEEPTGEFPHBog";
constexpr const char* kXConsumerSecret = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw";
constexpr const char* kXToken = "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb";
constexpr const char* kXTokenSecret = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE";
constexpr const char* kXNonce = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg";
constexpr std::int64_t kXTimestamp = 1318622958;
constexpr const char* kXBody = "status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21";

Oauth1Credentials x_credentials() { return {kXConsumerKey, kXConsumerSecret, kXToken, kXTokenSecret}; }
Oauth1Options x_options() { return Oauth1Options{kXNonce, kXTimestamp, {}}; }

TEST(Oauth1, XDocumentationExample) {
  const std::string url = "https://api.twitter.com/1.1/statuses/update.json?include_entities=true";
  const Params oauth = sign_parameters("POST", url, kXBody, x_credentials(), x_options());
  EXPECT_EQ(find_param(oauth, "oauth_signature"), "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");

  // The intermediate strings the page prints.
  Params unsigned_oauth = oauth;
  std::erase_if(unsigned_oauth, [](const auto& p) { return p.first == "oauth_signature"; });
  const Params all = collect_parameters(url, unsigned_oauth, kXBody);
  EXPECT_EQ(normalize_parameters(all),
            "include_entities=true&oauth_consumer_key=xvz1evFS4wEEPTGEFPHBog&oauth_nonce="
            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg&oauth_signature_method=HMAC-SHA1&oauth_timestamp=1318622958"
            "&oauth_token=370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb&oauth_version=1.0&status=Hello%20Ladies"
            "%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21");
  const std::string base = signature_base_string("POST", url, all);
  EXPECT_EQ(base,
            "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_"
            "consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_"
            "signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeR"
            "NFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520"
            "a%2520signed%2520OAuth%2520request%2521");
  EXPECT_EQ(hmac_sha1_signature(base, kXConsumerSecret, kXTokenSecret), "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");

  EXPECT_EQ(sign("POST", url, kXBody, x_credentials(), x_options()),
            "OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\", "
            "oauth_nonce=\"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg\", "
            "oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\", oauth_signature_method=\"HMAC-SHA1\", "
            "oauth_timestamp=\"1318622958\", oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\", "
            "oauth_version=\"1.0\"");
}

// The same example as first published for the v1 URL, with the signature
// "Authorizing a request" still prints.
TEST(Oauth1, XDocumentationOriginalV1Url) {
  const Params oauth = sign_parameters("POST", "https://api.twitter.com/1/statuses/update.json?include_entities=true",
                                       kXBody, x_credentials(), x_options());
  EXPECT_EQ(find_param(oauth, "oauth_signature"), "tnnArxj06cWHq44gCs1OSKk/jLY=");
}

// RFC 5849 §3.4.1.1 / §3.4.1.3: the request
//   POST /request?b5=%3D%253D&a3=a&c%40=&a2=r%20b   body: c2&a3=2+q
// with the Authorization header parameters of §3.4.1.
TEST(Oauth1, Rfc5849BaseStringExample) {
  const Params header{{"realm", "Example"},
                      {"oauth_consumer_key", "9djdj82h48djs9d2"},
                      {"oauth_token", "kkk9d7dh3k39sjv7"},
                      {"oauth_signature_method", "HMAC-SHA1"},
                      {"oauth_timestamp", "137131201"},
                      {"oauth_nonce", "7d8f3e4a"},
                      {"oauth_signature", "djosJKDKJSD8743243%2Fjdk33klY%3D"}};
  const std::string url = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b";
  const Params all = collect_parameters(url, header, "c2&a3=2+q");
  EXPECT_EQ(all.size(), 11u);  // realm and oauth_signature are excluded
  EXPECT_EQ(normalize_parameters(all),
            "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a"
            "&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7");
  EXPECT_EQ(signature_base_string("POST", url, all),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540"
            "%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHM"
            "AC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7");
  // With the RFC's client and token secrets (j49sk3j29djd, dh893hdasih9); the
  // value was cross-checked with `openssl dgst -sha1 -hmac`.
  EXPECT_EQ(hmac_sha1_signature(signature_base_string("POST", url, all), "j49sk3j29djd", "dh893hdasih9"),
            "r6/TJjbCOr97/+UU0NsvSne7s5g=");
}

// RFC 5849 §3.4.1.2's examples, plus the cases around them.
TEST(Oauth1, BaseStringUri) {
  EXPECT_EQ(base_string_uri("HTTP://EXAMPLE.COM:80/r%20v/X?id=123"), "http://example.com/r%20v/X");
  EXPECT_EQ(base_string_uri("https://www.example.net:8080/?q=1"), "https://www.example.net:8080/");
  EXPECT_EQ(base_string_uri("https://api.x.com:443/2/tweets#frag"), "https://api.x.com/2/tweets");
  EXPECT_EQ(base_string_uri("http://127.0.0.1:8080"), "http://127.0.0.1:8080/");
  EXPECT_EQ(base_string_uri("https://user:pw@Api.X.com/p"), "https://api.x.com/p");
  EXPECT_THROW(base_string_uri("ftp://example.com/"), Error);
  EXPECT_THROW(base_string_uri("/relative"), Error);
}

TEST(Oauth1, NormalizationSortsByNameThenValueAfterEncoding) {
  // "a%20" sorts before "a=" only after encoding; duplicates sort by value.
  EXPECT_EQ(normalize_parameters({{"b", "2"}, {"a", "z"}, {"a", "y"}, {"a b", "1"}, {"A", "0"}}),
            "A=0&a=y&a=z&a%20b=1&b=2");
}

TEST(Oauth1, RequestSigningCoversFormBodiesOnly) {
  const Oauth1Credentials creds = x_credentials();
  http::Request json;
  json.method = "POST";
  json.url = "https://api.x.com/2/tweets";
  json.headers = {{"Content-Type", "application/json"}, {"authorization", "Bearer old"}};
  json.body = R"({"text":"hi"})";
  sign(json, creds, x_options());
  ASSERT_EQ(json.headers.size(), 2u);  // the old Authorization header is replaced
  EXPECT_EQ(json.headers[1].first, "Authorization");
  EXPECT_EQ(json.headers[1].second, sign("POST", json.url, "", creds, x_options()));

  http::Request form = json;
  form.headers = {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"}};
  form.body = "status=hi";
  sign(form, creds, x_options());
  EXPECT_EQ(form.headers.back().second, sign("POST", form.url, "status=hi", creds, x_options()));
  EXPECT_NE(form.headers.back().second, json.headers[1].second);
}

TEST(Oauth1, DefaultsAreRandomNonceAndCurrentTime) {
  const Params a = sign_parameters("GET", "https://api.x.com/2/users/me", "", x_credentials());
  const Params b = sign_parameters("GET", "https://api.x.com/2/users/me", "", x_credentials());
  EXPECT_NE(find_param(a, "oauth_nonce"), find_param(b, "oauth_nonce"));
  EXPECT_EQ(find_param(a, "oauth_nonce")->size(), 32u);
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  EXPECT_NEAR(static_cast<double>(std::stoll(*find_param(a, "oauth_timestamp"))), static_cast<double>(now.count()), 5);
}

TEST(Oauth1, HeaderCarriesOnlyProtocolParameters) {
  EXPECT_EQ(authorization_header({{"status", "x"}, {"oauth_callback", "http://h/c?a=b"}, {"oauth_token", "t"}}),
            "OAuth oauth_callback=\"http%3A%2F%2Fh%2Fc%3Fa%3Db\", oauth_token=\"t\"");
  Oauth1Options bad;
  bad.extra = {{"status", "x"}};
  EXPECT_THROW(sign("GET", "https://h/", "", x_credentials(), bad), Error);
  EXPECT_THROW(sign("GET", "https://h/", "", Oauth1Credentials{}), Error);
}

TEST(Oauth1, TemporaryRequestsHaveNoTokenAndSignWithAnEmptyTokenSecret) {
  Oauth1Options options = x_options();
  options.extra = {{"oauth_callback", "oob"}};
  const Params p = sign_parameters("POST", "https://api.x.com/oauth/request_token", "",
                                   {kXConsumerKey, kXConsumerSecret, "", ""}, options);
  EXPECT_EQ(find_param(p, "oauth_token"), std::nullopt);
  EXPECT_EQ(find_param(p, "oauth_callback"), "oob");
  Params unsigned_p = p;
  std::erase_if(unsigned_p, [](const auto& kv) { return kv.first == "oauth_signature"; });
  const std::string base =
      signature_base_string("POST", "https://api.x.com/oauth/request_token",
                            collect_parameters("https://api.x.com/oauth/request_token", unsigned_p, ""));
  EXPECT_EQ(find_param(p, "oauth_signature"), hmac_sha1_signature(base, kXConsumerSecret, ""));
}

// The fake server's own derivation must agree with the published examples,
// or a signer bug and a verifier bug could cancel out.
TEST(Oauth1, FakeServerDerivationMatchesPublishedExamples) {
  const fakes::OAuthServer::Pairs x_header{{"oauth_consumer_key", kXConsumerKey},
                                           {"oauth_nonce", kXNonce},
                                           {"oauth_signature", "ignored"},
                                           {"oauth_signature_method", "HMAC-SHA1"},
                                           {"oauth_timestamp", "1318622958"},
                                           {"oauth_token", kXToken},
                                           {"oauth_version", "1.0"}};
  const auto base = fakes::oauth1_base_string("POST", "https://api.twitter.com/1.1/statuses/update.json",
                                              "include_entities=true", x_header, kXBody);
  ASSERT_TRUE(base);
  EXPECT_EQ(fakes::oauth1_signature(*base, kXConsumerSecret, kXTokenSecret), "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");

  const fakes::OAuthServer::Pairs rfc_header{{"realm", "Example"},
                                             {"oauth_consumer_key", "9djdj82h48djs9d2"},
                                             {"oauth_token", "kkk9d7dh3k39sjv7"},
                                             {"oauth_signature_method", "HMAC-SHA1"},
                                             {"oauth_timestamp", "137131201"},
                                             {"oauth_nonce", "7d8f3e4a"}};
  EXPECT_EQ(fakes::oauth1_base_string("post", "http://example.com/request", "b5=%3D%253D&a3=a&c%40=&a2=r%20b",
                                      rfc_header, "c2&a3=2+q"),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540"
            "%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHM"
            "AC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7");
}

// ---------------------------------------------------------------- OAuth 2.0

const auto kNow = std::chrono::system_clock::time_point{std::chrono::seconds{1'800'000'000}} + 250ms;

OAuth2Config x_config() {
  OAuth2Config c;
  c.authorize_url = "https://x.com/i/oauth2/authorize";
  c.token_url = "https://api.x.com/2/oauth2/token";
  c.client_id = "cli ent";
  c.context = "x";
  return c;
}

TEST(Oauth2, AuthorizationUrl) {
  AuthorizationRequest r;
  r.redirect_uri = "http://127.0.0.1:8765/callback";
  r.scopes = {"tweet.read", "tweet.write", "offline.access"};
  r.state = "st-1";
  r.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  r.extra = {{"force_login", "true"}};
  const std::string url = authorization_url(x_config(), r);
  EXPECT_EQ(url,
            "https://x.com/i/oauth2/authorize?response_type=code&client_id=cli%20ent&redirect_uri=http%3A%2F%2F127.0.0"
            ".1%3A8765%2Fcallback&scope=tweet.read%20tweet.write%20offline.access&state=st-1&code_challenge=E9Melhoa2O"
            "wvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&force_login=true");

  OAuth2Config comma = x_config();
  comma.authorize_url = "https://h/auth?tenant=a";
  comma.scope_separator = ",";
  AuthorizationRequest plain;
  plain.scopes = {"a", "b"};
  const auto params = parse_form(authorization_url(comma, plain).substr(std::string("https://h/auth?").size()));
  ASSERT_TRUE(params);
  EXPECT_EQ(find_param(*params, "tenant"), "a");
  EXPECT_EQ(find_param(*params, "scope"), "a,b");
  EXPECT_EQ(find_param(*params, "code_challenge_method"), std::nullopt);  // no challenge, no method
  EXPECT_EQ(find_param(*params, "state"), std::nullopt);
}

TEST(Oauth2, ParsesTokenResponses) {
  const TokenSet t = parse_token_response(
      R"({"token_type":"bearer","expires_in":7200,"access_token":"AT","scope":"tweet.read offline.access",)"
      R"("refresh_token":"RT"})",
      kNow);
  EXPECT_EQ(t.access_token, "AT");
  EXPECT_EQ(t.refresh_token, "RT");
  EXPECT_EQ(t.scope, "tweet.read offline.access");
  EXPECT_EQ(t.token_type, "bearer");
  ASSERT_TRUE(t.expires_at);
  EXPECT_EQ(t.expires_at->time_since_epoch(), std::chrono::seconds{1'800'007'200});

  // Mastodon: no lifetime, no refresh token.
  const TokenSet m = parse_token_response(
      R"({"access_token":"ZA-Yj3","token_type":"Bearer","scope":"write:statuses","created_at":1573979017})", kNow);
  EXPECT_FALSE(m.expires_at);
  EXPECT_TRUE(m.refresh_token.empty());

  EXPECT_EQ(parse_token_response(R"({"access_token":"a","expires_in":"3600"})", kNow).expires_at->time_since_epoch(),
            std::chrono::seconds{1'800'003'600});
  for (const char* bad : {"", "not json", "[]", R"({"token_type":"bearer"})", R"({"access_token":""})"}) {
    try {
      parse_token_response(bad, kNow);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::permanent) << bad;
    }
  }
}

TEST(Oauth2, MergeRefreshedNeverDropsARefreshToken) {
  TokenSet old{"old-at", "old-rt", std::chrono::sys_seconds{std::chrono::seconds{100}}, "a b", "bearer"};
  TokenSet fresh{"new-at", "", std::chrono::sys_seconds{std::chrono::seconds{7300}}, "", ""};
  const TokenSet kept = merge_refreshed(old, fresh);
  EXPECT_EQ(kept.access_token, "new-at");
  EXPECT_EQ(kept.refresh_token, "old-rt");
  EXPECT_EQ(kept.scope, "a b");
  EXPECT_EQ(kept.token_type, "bearer");
  EXPECT_EQ(kept.expires_at, fresh.expires_at);

  fresh.refresh_token = "new-rt";
  fresh.scope = "a";
  const TokenSet rotated = merge_refreshed(old, fresh);
  EXPECT_EQ(rotated.refresh_token, "new-rt");
  EXPECT_EQ(rotated.scope, "a");
}

http::Response response(int status, std::string body, http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

// What throw_token_error threw, flattened for assertions.
struct Thrown {
  bool auth_error = false;  // an oauth::AuthError, not just an Error
  bool relink = false;
  std::string oauth_error;
  ErrorKind kind = ErrorKind::permanent;
  std::string message;
  int http_status = 0;
  std::optional<std::chrono::seconds> retry_after;
};

Thrown token_error(const http::Response& r) {
  try {
    throw_token_error(r, "x: token refresh");
  } catch (const AuthError& a) {
    return {true, a.relink_required, a.oauth_error, a.kind(), a.what(), a.http_status, a.retry_after};
  } catch (const Error& e) {
    return {false, false, "", e.kind(), e.what(), e.http_status, e.retry_after};
  }
  return {};
}

TEST(Oauth2, DeadGrantsNeedRelinking) {
  for (const char* body :
       {R"({"error":"invalid_grant","error_description":"Refresh token revoked"})", R"({"error":"invalid_token"})",
        // X's answer for a used or revoked refresh token.
        R"({"error":"invalid_request","error_description":"Value passed for the token was invalid."})"}) {
    const Thrown t = token_error(response(400, body));
    EXPECT_TRUE(t.auth_error) << body;
    EXPECT_EQ(t.kind, ErrorKind::auth);
    EXPECT_TRUE(t.relink) << body;
    EXPECT_EQ(t.http_status, 400);
    EXPECT_NE(t.message.find("re-link"), std::string::npos) << t.message;
    EXPECT_EQ(t.message.rfind("x: token refresh: HTTP 400: ", 0), 0u) << t.message;
  }
  const Thrown t = token_error(response(400, R"({"error":"invalid_grant"})"));
  EXPECT_EQ(t.oauth_error, "invalid_grant");
  EXPECT_EQ(exit_code(t.kind), 5);
}

TEST(Oauth2, ClientRegistrationProblemsAreAuthWithoutRelink) {
  for (const auto& r :
       {response(401, R"({"error":"invalid_client"})"),
        response(401, R"({"error":"unauthorized_client","error_description":"Missing valid authorization header"})"),
        response(401, ""), response(403, "<html>forbidden</html>")}) {
    const Thrown t = token_error(r);
    EXPECT_TRUE(t.auth_error) << r.body;
    EXPECT_EQ(t.kind, ErrorKind::auth);
    EXPECT_FALSE(t.relink) << r.body;
    EXPECT_NE(t.message.find("client"), std::string::npos) << t.message;
  }
}

TEST(Oauth2, ServerTroubleIsTransientAndKeepsRetryAfter) {
  for (int status : {500, 502, 503, 429, 408}) {
    const Thrown t = token_error(response(status, R"({"error":"invalid_grant"})", {{"Retry-After", "17"}}));
    EXPECT_FALSE(t.auth_error) << status;
    EXPECT_EQ(t.kind, ErrorKind::transient) << status;
    EXPECT_EQ(t.retry_after, std::chrono::seconds{17}) << status;
    EXPECT_EQ(t.http_status, status);
  }
}

TEST(Oauth2, OtherRefusalsArePermanent) {
  for (const auto& r : {response(400, R"({"error":"invalid_scope"})"), response(400, R"({"error":"invalid_request"})"),
                        response(400, "<html>bad</html>"), response(404, "")}) {
    const Thrown t = token_error(r);
    EXPECT_FALSE(t.auth_error) << r.body;
    EXPECT_EQ(t.kind, ErrorKind::permanent) << r.body;
  }
}

TEST(Oauth2, AuthErrorPrefixKeepsTheFlag) {
  AuthError e("HTTP 400: invalid_grant", "invalid_grant", true);
  e.http_status = 400;
  const AuthError p = e.with_prefix("x:main");
  EXPECT_STREQ(p.what(), "x:main: HTTP 400: invalid_grant");
  EXPECT_TRUE(p.relink_required);
  EXPECT_EQ(p.oauth_error, "invalid_grant");
  EXPECT_EQ(p.http_status, 400);
}

}  // namespace
}  // namespace multivio::oauth
