// SPDX-License-Identifier: MIT
// A test OIDC issuer: signing keys made with OpenSSL (RSA and P-256), JWTs
// signed the way RFC 7515/7518 say (ES256 as raw R||S), and a JWKS endpoint
// on 127.0.0.1 that answers with a Cache-Control header like Google's and
// Firebase's do. Shared by the JWT unit tests and the OIDC e2e test.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

struct evp_pkey_st;

namespace multivio::fakes {

/// One private signing key and its public JWK.
class SigningKey {
 public:
  enum class Type { rsa, p256 };
  /// Throws std::runtime_error when OpenSSL cannot generate the key.
  SigningKey(Type type, std::string kid, int rsa_bits = 2048);

  const std::string& kid() const { return kid_; }
  std::string alg() const { return type_ == Type::rsa ? "RS256" : "ES256"; }
  /// The public half as a JWK with kty, kid, use "sig" and alg.
  nlohmann::json jwk() const;
  /// The public key as PEM (SubjectPublicKeyInfo), what an HS256 confusion
  /// attack would use as the HMAC secret.
  std::string public_pem() const;
  /// The JWS signature of `input`: PKCS#1 v1.5 for RSA, R||S for P-256.
  std::string sign(std::string_view input) const;
  /// A compact JWS of `claims` with header {alg, typ "JWT", kid} plus `extra_header`.
  std::string token(const nlohmann::json& claims, const nlohmann::json& extra_header = nlohmann::json::object()) const;

 private:
  Type type_;
  std::string kid_;
  std::shared_ptr<evp_pkey_st> key_;
};

/// "base64url(header).base64url(claims).base64url(signature)"; the signature
/// is whatever the caller made of the first two parts (see signing_input).
std::string compact_jws(const nlohmann::json& header, const nlohmann::json& claims, std::string_view signature);
std::string signing_input(const nlohmann::json& header, const nlohmann::json& claims);

/// {"keys": [each key's jwk()]}.
nlohmann::json jwks_of(const std::vector<const SigningKey*>& keys);

/// GET /jwks on 127.0.0.1 serving the current set with its Cache-Control;
/// any other path or method is 404. Thread-safe.
class JwksServer {
 public:
  /// Throws std::runtime_error when 127.0.0.1 cannot be bound.
  JwksServer();
  ~JwksServer();
  JwksServer(const JwksServer&) = delete;
  JwksServer& operator=(const JwksServer&) = delete;

  void set_jwks(nlohmann::json jwks, std::string cache_control = "public, max-age=3600");
  /// Answer the next requests with this status (e.g. 503) until reset with 200.
  void set_status(int status);
  std::string url() const;  // http://127.0.0.1:PORT/jwks
  int requests() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
