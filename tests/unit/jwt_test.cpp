// SPDX-License-Identifier: MIT
// OIDC bearer JWTs (common/oauth/jwt.*, jwks.*, common/app/oidc.*): RS256 and
// ES256 tokens signed by keys made here verify; expired, early, foreign,
// misdirected, re-signed, unsigned and HMAC-confused tokens do not; the JWKS
// cache honours Cache-Control, refetches once on a rotated kid and no more
// than once a minute; claims map to users and scopes.
#include "common/oauth/jwt.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/app/oidc.hpp"
#include "common/app/users.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/oauth/jwks.hpp"
#include "common/oauth/pkce.hpp"
#include "tests/fakes/oidc_issuer.hpp"

namespace multivio::oauth {
namespace {

using namespace std::chrono_literals;
using fakes::SigningKey;
using nlohmann::json;
using testing::ElementsAre;
using testing::HasSubstr;

constexpr const char* kIssuer = "https://securetoken.google.com/demo-project";
constexpr const char* kAudience = "demo-project";
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'767'225'600));  // 2026-01-01

long long seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

json claims(const std::string& sub = "alice") {
  return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", sub}, {"iat", seconds(kNow) - 10},
          {"exp", seconds(kNow) + 3600}};
}

// Keys are slow to generate (RSA especially): one set for the whole file.
class JwtTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = std::make_unique<SigningKey>(SigningKey::Type::rsa, "rsa-1");
    ec_ = std::make_unique<SigningKey>(SigningKey::Type::p256, "ec-1");
    other_rsa_ = std::make_unique<SigningKey>(SigningKey::Type::rsa, "rsa-1");  // same kid, other key
  }
  static void TearDownTestSuite() {
    rsa_.reset();
    ec_.reset();
    other_rsa_.reset();
  }

  JwtTest() { keys_ = parse_jwks(fakes::jwks_of({rsa_.get(), ec_.get()}).dump(), "test"); }

  json verify(const std::string& token, std::chrono::system_clock::time_point now = kNow) {
    const KeyLookup lookup = [this](const Jws& jws) -> PublicKey {
      for (const auto& k : keys_) {
        if (k.kid == jws.kid && k.alg == jws.alg) return k.key;
      }
      return nullptr;
    };
    return verify_jwt(token, lookup, {kIssuer, kAudience, 60s}, now);
  }

  // The message of the Error(auth) verify() throws, or a failure.
  std::string rejection(const std::string& token, std::chrono::system_clock::time_point now = kNow) {
    try {
      verify(token, now);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::auth) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "accepted: " << token;
    return {};
  }

  static inline std::unique_ptr<SigningKey> rsa_, ec_, other_rsa_;
  std::vector<Jwk> keys_;
};

TEST(Base64url, StrictDecoding) {
  EXPECT_EQ(base64url_decode(""), "");
  EXPECT_EQ(base64url_decode("Zm9v"), "foo");
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(base64url_decode("Zg=="), std::nullopt);  // padding is not base64url
  EXPECT_EQ(base64url_decode("Zh"), std::nullopt);    // non-zero unused bits: a second spelling of "f"
  EXPECT_EQ(base64url_decode("Z"), std::nullopt);     // no byte string has this length
  EXPECT_EQ(base64url_decode("+/8"), std::nullopt);   // the standard alphabet
  EXPECT_EQ(base64url_decode("Zm 9v"), std::nullopt);
}

TEST_F(JwtTest, Rs256AndEs256TokensVerify) {
  const json rs = verify(rsa_->token(claims("alice")));
  EXPECT_EQ(rs["sub"], "alice");
  json es_claims = claims("bob");
  es_claims["aud"] = {"someone-else", kAudience};  // an array that includes us
  es_claims["nbf"] = seconds(kNow) - 5;
  const json es = verify(ec_->token(es_claims));
  EXPECT_EQ(es["sub"], "bob");
  EXPECT_EQ(ec_->sign("x").size(), 64U);
}

TEST_F(JwtTest, TimeClaimsWithLeeway) {
  json c = claims();
  c["exp"] = seconds(kNow) - 30;  // inside the 60 s leeway
  EXPECT_NO_THROW(verify(rsa_->token(c)));
  c["exp"] = seconds(kNow) - 61;
  EXPECT_EQ(rejection(rsa_->token(c)), "the JWT has expired");
  c = claims();
  c.erase("exp");
  EXPECT_EQ(rejection(rsa_->token(c)), "the JWT has no expiry (exp)");
  c = claims();
  c["nbf"] = seconds(kNow) + 120;
  EXPECT_EQ(rejection(rsa_->token(c)), "the JWT is not valid yet (nbf)");
  c["nbf"] = seconds(kNow) + 30;
  EXPECT_NO_THROW(verify(rsa_->token(c)));
  c = claims();
  c["iat"] = seconds(kNow) + 600;
  EXPECT_EQ(rejection(rsa_->token(c)), "the JWT was issued in the future (iat)");
  c = claims();
  c["exp"] = "tomorrow";
  EXPECT_THAT(rejection(rsa_->token(c)), HasSubstr("exp claim is not a number"));
}

TEST_F(JwtTest, WrongIssuerOrAudience) {
  json c = claims();
  c["iss"] = "https://evil.example";
  EXPECT_EQ(rejection(ec_->token(c)), "the JWT was not issued by the configured OIDC issuer");
  c = claims();
  c["iss"] = std::string(kIssuer) + "/";  // exact match, no normalising
  EXPECT_EQ(rejection(ec_->token(c)), "the JWT was not issued by the configured OIDC issuer");
  c = claims();
  c["aud"] = "other-project";
  EXPECT_EQ(rejection(ec_->token(c)), "the JWT is not meant for this audience");
  c["aud"] = json::array({"a", "b"});
  EXPECT_EQ(rejection(ec_->token(c)), "the JWT is not meant for this audience");
  c.erase("aud");
  EXPECT_EQ(rejection(ec_->token(c)), "the JWT is not meant for this audience");
}

TEST_F(JwtTest, SignedByAnotherKey) {
  EXPECT_EQ(rejection(other_rsa_->token(claims())), "the JWT's signature does not verify");
  const SigningKey stranger(SigningKey::Type::p256, "unknown-kid");
  EXPECT_EQ(rejection(stranger.token(claims())), "the JWT was signed by a key the issuer's JWKS does not list");
  // A valid signature under a tampered payload.
  const std::string good = rsa_->token(claims("alice"));
  const std::string forged = fakes::signing_input(json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "rsa-1"}},
                                                  claims("mallory")) +
                             good.substr(good.rfind('.'));
  EXPECT_EQ(rejection(forged), "the JWT's signature does not verify");
}

TEST_F(JwtTest, AlgNoneAndHmacConfusionAreRefused) {
  const json none_header{{"alg", "none"}, {"typ", "JWT"}};
  EXPECT_EQ(rejection(fakes::compact_jws(none_header, claims(), "")),
            "JWTs signed with 'none' are not accepted; the issuer must sign with RS256 or ES256");
  // The classic confusion: HMAC keyed with the public key a verifier holds.
  const json hs_header{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "rsa-1"}};
  const std::string mac = crypto::hmac_sha256(rsa_->public_pem(), fakes::signing_input(hs_header, claims()));
  EXPECT_THAT(rejection(fakes::compact_jws(hs_header, claims(), mac)), HasSubstr("'HS256' are not accepted"));
  // RS256 named on an EC key's signature: the key lookup is per algorithm.
  EXPECT_EQ(rejection(fakes::compact_jws({{"alg", "RS256"}, {"kid", "ec-1"}}, claims(),
                                         ec_->sign(fakes::signing_input({{"alg", "RS256"}, {"kid", "ec-1"}}, claims())))),
            "the JWT was signed by a key the issuer's JWKS does not list");
  // verify_signature itself refuses a key of the wrong type for the alg.
  const std::string input = "a.b";
  EXPECT_TRUE(verify_signature(kEs256, keys_[1].key.get(), input, ec_->sign(input)));
  EXPECT_FALSE(verify_signature(kRs256, keys_[1].key.get(), input, ec_->sign(input)));
  EXPECT_FALSE(verify_signature("HS256", keys_[0].key.get(), input, rsa_->sign(input)));
}

TEST_F(JwtTest, MalformedTokens) {
  const std::string good = ec_->token(claims());
  const auto [h, rest] = std::pair{good.substr(0, good.find('.')), good.substr(good.find('.') + 1)};
  const std::string p = rest.substr(0, rest.find('.'));
  const std::string s = rest.substr(rest.find('.') + 1);
  const std::string malformed = "the bearer token is not a well-formed JWT";
  for (const std::string& token : {h + "." + p, good + ".x", "." + p + "." + s, h + ".." + s, h + "." + p + "." + s + "=",
                                   h + "=." + p + "." + s, oauth::base64url("not json") + "." + p + "." + s,
                                   oauth::base64url("[1]") + "." + p + "." + s,
                                   oauth::base64url(R"({"typ":"JWT"})") + "." + p + "." + s, std::string("abc")}) {
    EXPECT_EQ(rejection(token), malformed) << token;
  }
  EXPECT_EQ(rejection(ec_->token(claims(), {{"crit", {"exp"}}})),
            "the JWT names critical header extensions multivio does not support");
  EXPECT_EQ(rejection(ec_->token(claims(), {{"typ", "logout+jwt"}})), "a JWT of type 'logout+jwt' is not a sign-in token");
  EXPECT_NO_THROW(verify(ec_->token(claims(), {{"typ", "at+jwt"}})));
  // ES256 signatures are exactly 64 bytes: a DER one is refused.
  const json header{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", "ec-1"}};
  EXPECT_EQ(rejection(fakes::compact_jws(header, claims(), ec_->sign("x") + "pad")), "the JWT's signature does not verify");
}

TEST_F(JwtTest, JwksKeepsOnlyUsableSigningKeys) {
  json doc = fakes::jwks_of({rsa_.get(), ec_.get()});
  doc["keys"].push_back({{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}});
  json enc = ec_->jwk();
  enc["kid"] = "enc";
  enc["use"] = "enc";
  doc["keys"].push_back(enc);
  json off_curve = ec_->jwk();
  off_curve["kid"] = "bad";
  off_curve["y"] = oauth::base64url(std::string(32, '\x01'));
  doc["keys"].push_back(off_curve);
  json es384 = ec_->jwk();
  es384["kid"] = "p384";
  es384["crv"] = "P-384";
  doc["keys"].push_back(es384);
  const auto keys = parse_jwks(doc.dump(), "test");
  ASSERT_EQ(keys.size(), 2U);
  EXPECT_EQ(keys[0].kid, "rsa-1");
  EXPECT_EQ(keys[0].alg, kRs256);
  EXPECT_EQ(keys[1].kid, "ec-1");
  EXPECT_EQ(keys[1].alg, kEs256);
  EXPECT_THROW(parse_jwks("[]", "test"), Error);
  EXPECT_THROW(parse_jwks(R"({"keys":{}})", "test"), Error);

  // A 1024-bit RSA key parses but verifies nothing (RFC 7518 §3.3).
  const SigningKey weak(SigningKey::Type::rsa, "weak", 1024);
  const auto weak_keys = parse_jwks(fakes::jwks_of({&weak}).dump(), "test");
  ASSERT_EQ(weak_keys.size(), 1U);
  EXPECT_FALSE(verify_signature(kRs256, weak_keys[0].key.get(), "a.b", weak.sign("a.b")));
}

TEST(JwksMaxAge, CacheControlParsing) {
  const auto age = [](std::optional<std::string> header) { return jwks_max_age(header, 300s, 86'400s); };
  EXPECT_EQ(age(std::nullopt), 300s);
  EXPECT_EQ(age("public, max-age=19204, must-revalidate, no-transform"), 19'204s);  // Google's shape
  EXPECT_EQ(age("Max-Age=3600"), 3600s);
  EXPECT_EQ(age("max-age=\"7200\""), 7200s);
  EXPECT_EQ(age("max-age=10"), 300s);          // clamped up
  EXPECT_EQ(age("max-age=31536000"), 86'400s);  // clamped down
  EXPECT_EQ(age("max-age=99999999999999999999999"), 86'400s);
  EXPECT_EQ(age("max-age=abc"), 300s);
  EXPECT_EQ(age("max-age=-5"), 300s);
  EXPECT_EQ(age("no-store"), 300s);
  EXPECT_EQ(age("max-age=3600, no-cache"), 300s);
  EXPECT_EQ(age("s-maxage=9000"), 300s);
}

// Time moved by hand: the cache's expiry and refetch gap without sleeping.
struct ManualClock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point(std::chrono::hours(1000));
  JwksCache::Clock fn() {
    return [this] { return now; };
  }
};

TEST_F(JwtTest, JwksCacheRefetchesOnRotationAtMostOncePerMinute) {
  std::unique_ptr<fakes::JwksServer> server;
  try {
    server = std::make_unique<fakes::JwksServer>();
  } catch (const std::exception& e) {
    GTEST_SKIP() << e.what();
  }
  const SigningKey next(SigningKey::Type::p256, "ec-2");
  server->set_jwks(fakes::jwks_of({ec_.get()}), "public, max-age=600");
  ManualClock clock;
  JwksCache::Options options;
  options.url = server->url();
  options.timeout = 5s;
  JwksCache cache(options, nullptr, clock.fn());
  const auto jws = [](const std::string& token) { return parse_jws(token); };

  EXPECT_NE(cache.find(jws(ec_->token(claims()))), nullptr);
  EXPECT_NE(cache.find(jws(ec_->token(claims()))), nullptr);
  EXPECT_EQ(server->requests(), 1);

  // The issuer has not published ec-2 yet: one refetch, then none for a minute.
  clock.now += 61s;
  EXPECT_EQ(cache.find(jws(next.token(claims()))), nullptr);
  EXPECT_EQ(server->requests(), 2);
  clock.now += 30s;
  EXPECT_EQ(cache.find(jws(next.token(claims()))), nullptr);
  EXPECT_EQ(server->requests(), 2);

  // Rotated: the next unknown kid after the gap fetches the new set.
  server->set_jwks(fakes::jwks_of({&next}), "public, max-age=600");
  clock.now += 31s;
  EXPECT_NE(cache.find(jws(next.token(claims()))), nullptr);
  EXPECT_EQ(server->requests(), 3);
  EXPECT_EQ(cache.find(jws(ec_->token(claims()))), nullptr);  // gone from the set, and within the gap

  // max-age=600 runs out: the set is fetched again on the next use.
  clock.now += 601s;
  EXPECT_NE(cache.find(jws(next.token(claims()))), nullptr);
  EXPECT_EQ(server->requests(), 4);

  // An outage keeps the keys we have and retries only after the gap.
  server->set_status(503);
  clock.now += 601s;
  EXPECT_NE(cache.find(jws(next.token(claims()))), nullptr);
  EXPECT_EQ(server->requests(), 5);
  EXPECT_NE(cache.find(jws(next.token(claims()))), nullptr);
  EXPECT_EQ(server->requests(), 5);
}

TEST_F(JwtTest, JwksCacheWithoutAnySetIsTransient) {
  std::unique_ptr<fakes::JwksServer> server;
  try {
    server = std::make_unique<fakes::JwksServer>();
  } catch (const std::exception& e) {
    GTEST_SKIP() << e.what();
  }
  server->set_status(503);
  JwksCache::Options options;
  options.url = server->url();
  options.timeout = 5s;
  JwksCache cache(options);
  try {
    cache.find(parse_jws(ec_->token(claims())));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_THAT(e.what(), HasSubstr("cannot load the OIDC signing keys (JWKS) from http://127.0.0.1:"));
  }
}

}  // namespace
}  // namespace multivio::oauth

namespace multivio::app {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::ElementsAre;
using testing::HasSubstr;
namespace fs = std::filesystem;

TEST(OidcScopes, FromScopeOrScpClaims) {
  EXPECT_THAT(oidc_scopes(json::object()),
              ElementsAre("accounts:read", "accounts:write", "posts:read", "posts:write", "ai"));
  EXPECT_THAT(oidc_scopes({{"scope", "openid posts:read  email posts:write"}}),
              ElementsAre("posts:read", "posts:write"));
  EXPECT_THAT(oidc_scopes({{"scp", {"admin", "profile"}}}), ElementsAre("admin"));
  EXPECT_THAT(oidc_scopes({{"scp", "ai"}}), ElementsAre("ai"));
  EXPECT_TRUE(oidc_scopes({{"scope", "openid profile"}}).empty());
}

class OidcUserTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("multivio-oidc-" + crypto::random_hex(8));
    fs::create_directories(dir_);
    // Only the database matters here; HOME keeps config lookups in the scratch directory.
    Options options;
    options.database = "sqlite://" + (dir_ / "multivio.db").string();
    options.env = [home = dir_.string()](const std::string& name) {
      return name == "HOME" ? std::optional(home) : std::nullopt;
    };
    ctx_ = std::make_unique<Context>(std::move(options));
  }
  void TearDown() override {
    ctx_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string auth_error(const json& claims, bool auto_create) {
    try {
      oidc_identity(*ctx_, claims, auto_create);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::auth);
      return e.what();
    }
    ADD_FAILURE() << "accepted " << claims.dump();
    return {};
  }

  fs::path dir_;
  std::unique_ptr<Context> ctx_;
};

TEST_F(OidcUserTest, SubMapsToTheUserOfThatName) {
  const store::User alice = add_user(*ctx_, "alice");
  const OidcIdentity identity = oidc_identity(*ctx_, {{"sub", "alice"}, {"scope", "posts:read"}}, false);
  EXPECT_EQ(identity.user.id, alice.id);
  EXPECT_THAT(identity.scopes, ElementsAre("posts:read"));

  EXPECT_EQ(auth_error({{"sub", "bob"}}, false), "no multivio user for this identity");
  EXPECT_FALSE(ctx_->store().find_user(std::string("bob")));
  EXPECT_EQ(auth_error(json::object(), true), "the JWT names no subject (sub)");
  EXPECT_EQ(auth_error({{"sub", 42}}, true), "the JWT names no subject (sub)");
  EXPECT_THAT(auth_error({{"sub", "auth0|123"}}, true), HasSubstr("cannot be a multivio user name"));
}

TEST_F(OidcUserTest, AutoCreateMakesTheUserOnce) {
  const OidcIdentity first = oidc_identity(*ctx_, {{"sub", "Xk3fIrebaseUid28charsLongAbc"}}, true);
  const OidcIdentity again = oidc_identity(*ctx_, {{"sub", "Xk3fIrebaseUid28charsLongAbc"}}, true);
  EXPECT_EQ(first.user.id, again.user.id);
  EXPECT_EQ(first.user.name, "Xk3fIrebaseUid28charsLongAbc");
  EXPECT_NE(first.user.id, store::kLocalUser);
}

TEST(OidcVerifierConfig, IncompleteConfigIsAUsageError) {
  config::OidcConfig c;
  c.issuer = "https://issuer.example";
  c.jwks_file = "/nonexistent/jwks.json";
  EXPECT_THROW(OidcVerifier{c}, Error);  // no audience
  c.audience = "aud";
  c.jwks_url = "https://issuer.example/jwks";
  EXPECT_THROW(OidcVerifier{c}, Error);  // both sources
  c.jwks_url.clear();
  OidcVerifier verifier(c);
  const fakes::SigningKey key(fakes::SigningKey::Type::p256, "k");
  const std::string token = key.token({{"iss", c.issuer}, {"aud", "aud"}, {"exp", 4'102'444'800}});
  try {
    verifier.verify(token, std::chrono::system_clock::now());
    ADD_FAILURE() << "no error for a missing JWKS file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/jwks.json"));
  }
}

}  // namespace
}  // namespace multivio::app
