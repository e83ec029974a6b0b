// SPDX-License-Identifier: MIT
// Compact JWS (RFC 7515) parsing and JWT (RFC 7519) verification for the REST
// listener's OIDC sign-in: RS256 and ES256 only (OpenSSL 3 EVP), never
// `none` or an HMAC, then iss/aud/exp/nbf/iat with a leeway for clock skew.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace multivio::oauth {

using PublicKey = std::shared_ptr<evp_pkey_st>;

/// The signature algorithms accepted (RFC 7518 §3.3, §3.4).
inline constexpr std::string_view kRs256 = "RS256";
inline constexpr std::string_view kEs256 = "ES256";

/// base64url without padding (RFC 7515 §2): only A-Z a-z 0-9 - _, no '=',
/// no whitespace, and unused trailing bits zero so each value has exactly
/// one spelling. nullopt for anything else.
std::optional<std::string> base64url_decode(std::string_view text);

/// A compact JWS split and decoded, not yet verified.
struct Jws {
  nlohmann::json header;  // a JSON object
  nlohmann::json claims;  // a JSON object
  std::string alg;
  std::string kid;  // empty when the header has none
  std::string typ;  // empty when the header has none
  std::string signing_input;  // "header.payload" exactly as received
  std::string signature;      // raw bytes
};

/// Throws Error(auth) for anything that is not three base64url segments of a
/// JSON object header (with a string `alg`), a JSON object payload and a
/// signature, that has a `typ` other than JWT or at+jwt, or that names a
/// `crit` extension (none is understood).
Jws parse_jws(std::string_view token);

/// Whether `signature` is a valid `alg` signature of `input` by `key`.
/// False (never an exception) for a key of the wrong type or size for `alg`
/// (RSA of at least 2048 bits for RS256, P-256 for ES256), a malformed
/// signature, or an algorithm other than RS256 and ES256.
bool verify_signature(std::string_view alg, evp_pkey_st* key, std::string_view input, std::string_view signature);

struct JwtPolicy {
  std::string issuer;    // exact `iss`
  std::string audience;  // must equal `aud` or be one of its entries
  std::chrono::seconds leeway{60};
};

/// The key that may have signed `jws` (by its `kid` and `alg`), or nullptr.
using KeyLookup = std::function<PublicKey(const Jws& jws)>;

/// Verifies the token's algorithm, signature and registered claims at `now`
/// and returns its claims. Throws Error(auth) with one sentence naming the
/// first problem found; the signature is checked before any claim, so an
/// unsigned token learns nothing about the policy.
nlohmann::json verify_jwt(std::string_view token, const KeyLookup& key_for, const JwtPolicy& policy,
                          std::chrono::system_clock::time_point now);

}  // namespace multivio::oauth
