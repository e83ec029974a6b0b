// SPDX-License-Identifier: MIT
#include "common/oauth/jwt.hpp"

#include <array>
#include <cctype>
#include <cmath>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "common/error.hpp"

namespace multivio::oauth {

namespace {

constexpr std::size_t kEs256Half = 32;  // R and S are each one P-256 field element
constexpr int kMinRsaBits = 2048;       // RFC 7518 §3.3: "2048 bits or larger MUST be used"

int base64url_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// ID tokens say "JWT" (or nothing), RFC 9068 access tokens "at+jwt"; other
// types (logout tokens, DPoP proofs) are JWTs meant for something else.
bool bearer_typ(std::string_view typ) {
  std::string lower(typ);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.starts_with("application/")) lower.erase(0, 12);
  return lower == "jwt" || lower == "at+jwt";
}

[[noreturn]] void malformed() { throw_auth("the bearer token is not a well-formed JWT"); }

nlohmann::json json_object(std::string_view segment) {
  const auto bytes = base64url_decode(segment);
  if (!bytes) malformed();
  nlohmann::json doc = nlohmann::json::parse(*bytes, nullptr, false);
  if (!doc.is_object()) malformed();
  return doc;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const noexcept { ECDSA_SIG_free(sig); }
};

// EVP wants ECDSA signatures DER-encoded; JWS sends R || S, each 32 bytes
// big-endian (RFC 7518 §3.4). Empty when the signature is not that shape.
std::string es256_to_der(std::string_view raw) {
  if (raw.size() != 2 * kEs256Half) return {};
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  if (!sig) return {};
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(bytes, kEs256Half, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + kEs256Half, kEs256Half, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  const int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return {};
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return {};
  return der;
}

bool key_fits(std::string_view alg, EVP_PKEY* key) {
  if (alg == kRs256) return EVP_PKEY_is_a(key, "RSA") == 1 && EVP_PKEY_get_bits(key) >= kMinRsaBits;
  if (alg != kEs256 || EVP_PKEY_is_a(key, "EC") != 1) return false;
  std::array<char, 64> group{};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &length) != 1) return false;
  const std::string_view name(group.data(), length);
  return name == "prime256v1" || name == "P-256";
}

// A NumericDate (RFC 7519 §2): seconds since the epoch, possibly fractional.
std::optional<double> numeric_date(const nlohmann::json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    throw_auth(std::string("the JWT's ") + name + " claim is not a number of seconds");
  }
  return it->get<double>();
}

bool audience_matches(const nlohmann::json& aud, const std::string& expected) {
  if (aud.is_string()) return aud.get<std::string>() == expected;
  if (!aud.is_array()) return false;
  for (const auto& entry : aud) {
    if (entry.is_string() && entry.get<std::string>() == expected) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> base64url_decode(std::string_view text) {
  // A length of 1 mod 4 cannot come from any byte string.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const int value = base64url_value(c);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero, or two spellings would decode alike.
  if ((buffer & ((1U << bits) - 1)) != 0) return std::nullopt;
  return out;
}

Jws parse_jws(std::string_view token) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos || first == 0 ||
      second == first + 1) {
    malformed();
  }
  Jws jws;
  jws.header = json_object(token.substr(0, first));
  jws.claims = json_object(token.substr(first + 1, second - first - 1));
  const auto signature = base64url_decode(token.substr(second + 1));
  if (!signature) malformed();
  jws.signature = *signature;
  jws.signing_input = std::string(token.substr(0, second));
  const auto alg = jws.header.find("alg");
  if (alg == jws.header.end() || !alg->is_string()) malformed();
  jws.alg = alg->get<std::string>();
  if (const auto kid = jws.header.find("kid"); kid != jws.header.end()) {
    if (!kid->is_string()) malformed();
    jws.kid = kid->get<std::string>();
  }
  if (const auto typ = jws.header.find("typ"); typ != jws.header.end()) {
    if (!typ->is_string()) malformed();
    jws.typ = typ->get<std::string>();
    if (!bearer_typ(jws.typ)) throw_auth("a JWT of type '" + jws.typ + "' is not a sign-in token");
  }
  // RFC 7515 §4.1.11: a recipient that does not understand a listed
  // extension must reject the token, and multivio understands none.
  if (jws.header.contains("crit")) throw_auth("the JWT names critical header extensions multivio does not support");
  return jws;
}

bool verify_signature(std::string_view alg, evp_pkey_st* key, std::string_view input, std::string_view signature) {
  if (key == nullptr || !key_fits(alg, key)) return false;
  std::string der;
  if (alg == kEs256) {
    der = es256_to_der(signature);
    if (der.empty()) return false;
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

nlohmann::json verify_jwt(std::string_view token, const KeyLookup& key_for, const JwtPolicy& policy,
                          std::chrono::system_clock::time_point now) {
  const Jws jws = parse_jws(token);
  // The algorithm comes from the token, so only asymmetric ones are allowed:
  // an HMAC would let anyone who has the public key sign with it.
  if (jws.alg != kRs256 && jws.alg != kEs256) {
    throw_auth("JWTs signed with " + (jws.alg.empty() ? std::string("no algorithm") : "'" + jws.alg + "'") +
               " are not accepted; the issuer must sign with RS256 or ES256");
  }
  const PublicKey key = key_for(jws);
  if (!key) throw_auth("the JWT was signed by a key the issuer's JWKS does not list");
  if (!verify_signature(jws.alg, key.get(), jws.signing_input, jws.signature)) {
    throw_auth("the JWT's signature does not verify");
  }

  const auto& claims = jws.claims;
  const auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || iss->get<std::string>() != policy.issuer) {
    throw_auth("the JWT was not issued by the configured OIDC issuer");
  }
  const auto aud = claims.find("aud");
  if (aud == claims.end() || !audience_matches(*aud, policy.audience)) {
    throw_auth("the JWT is not meant for this audience");
  }
  const double at = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double leeway = static_cast<double>(policy.leeway.count());
  const auto exp = numeric_date(claims, "exp");
  if (!exp) throw_auth("the JWT has no expiry (exp)");
  if (at >= *exp + leeway) throw_auth("the JWT has expired");
  if (const auto nbf = numeric_date(claims, "nbf"); nbf && at + leeway < *nbf) {
    throw_auth("the JWT is not valid yet (nbf)");
  }
  if (const auto iat = numeric_date(claims, "iat"); iat && at + leeway < *iat) {
    throw_auth("the JWT was issued in the future (iat)");
  }
  return claims;
}

}  // namespace multivio::oauth
