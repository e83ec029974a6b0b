// SPDX-License-Identifier: MIT
#include "tests/fakes/oidc_issuer.hpp"

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/oauth/pkce.hpp"

namespace multivio::fakes {

namespace {

constexpr int kP256Bytes = 32;

struct BnFree {
  void operator()(BIGNUM* bn) const noexcept { BN_free(bn); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

Bn bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error(std::string("no key parameter ") + name);
  return Bn(bn);
}

std::string bn_bytes(const BIGNUM* bn, int width) {
  std::string out(static_cast<std::size_t>(width > 0 ? width : BN_num_bytes(bn)), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) < 0) {
    throw std::runtime_error("BN_bn2binpad failed");
  }
  return out;
}

}  // namespace

SigningKey::SigningKey(Type type, std::string kid, int rsa_bits) : type_(type), kid_(std::move(kid)) {
  EVP_PKEY* raw = type == Type::rsa ? EVP_RSA_gen(static_cast<unsigned>(rsa_bits)) : EVP_EC_gen("P-256");
  if (raw == nullptr) throw std::runtime_error("OpenSSL cannot generate a test key");
  key_ = std::shared_ptr<evp_pkey_st>(raw, EVP_PKEY_free);
}

nlohmann::json SigningKey::jwk() const {
  nlohmann::json jwk{{"kid", kid_}, {"use", "sig"}, {"alg", alg()}};
  if (type_ == Type::rsa) {
    jwk["kty"] = "RSA";
    jwk["n"] = oauth::base64url(bn_bytes(bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_N).get(), 0));
    jwk["e"] = oauth::base64url(bn_bytes(bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_E).get(), 0));
  } else {
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["x"] = oauth::base64url(bn_bytes(bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X).get(), kP256Bytes));
    jwk["y"] = oauth::base64url(bn_bytes(bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y).get(), kP256Bytes));
  }
  return jwk;
}

std::string SigningKey::public_pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) throw std::runtime_error("PEM_write_bio_PUBKEY failed");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string SigningKey::sign(std::string_view input) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) != 1) {
    throw std::runtime_error("EVP_DigestSign failed");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data, input.size()) != 1) {
    throw std::runtime_error("EVP_DigestSign failed");
  }
  signature.resize(size);
  if (type_ == Type::rsa) return signature;
  // OpenSSL signs ECDSA in DER; JWS carries R and S as fixed-width integers.
  const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size())), ECDSA_SIG_free);
  if (!sig) throw std::runtime_error("d2i_ECDSA_SIG failed");
  return bn_bytes(ECDSA_SIG_get0_r(sig.get()), kP256Bytes) + bn_bytes(ECDSA_SIG_get0_s(sig.get()), kP256Bytes);
}

std::string SigningKey::token(const nlohmann::json& claims, const nlohmann::json& extra_header) const {
  nlohmann::json header{{"alg", alg()}, {"typ", "JWT"}, {"kid", kid_}};
  header.update(extra_header);
  return compact_jws(header, claims, sign(signing_input(header, claims)));
}

std::string signing_input(const nlohmann::json& header, const nlohmann::json& claims) {
  return oauth::base64url(header.dump()) + "." + oauth::base64url(claims.dump());
}

std::string compact_jws(const nlohmann::json& header, const nlohmann::json& claims, std::string_view signature) {
  return signing_input(header, claims) + "." + oauth::base64url(signature);
}

nlohmann::json jwks_of(const std::vector<const SigningKey*>& keys) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto* key : keys) list.push_back(key->jwk());
  return {{"keys", list}};
}

struct JwksServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  mutable std::mutex mutex;
  std::string body = R"({"keys":[]})";
  std::string cache_control = "public, max-age=3600";
  int status = 200;
  std::atomic<int> requests{0};
};

JwksServer::JwksServer() : impl_(std::make_unique<Impl>()) {
  auto& impl = *impl_;
  impl.server.Get("/jwks", [&impl](const httplib::Request&, httplib::Response& res) {
    ++impl.requests;
    std::lock_guard lock(impl.mutex);
    res.status = impl.status;
    if (impl.status != 200) {
      res.set_content(R"({"error":"temporarily_unavailable"})", "application/json");
      return;
    }
    res.set_header("Cache-Control", impl.cache_control);
    res.set_content(impl.body, "application/json");
  });
  impl.server.set_keep_alive_timeout(1);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("JWKS fake: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

JwksServer::~JwksServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void JwksServer::set_jwks(nlohmann::json jwks, std::string cache_control) {
  std::lock_guard lock(impl_->mutex);
  impl_->body = jwks.dump();
  impl_->cache_control = std::move(cache_control);
}

void JwksServer::set_status(int status) {
  std::lock_guard lock(impl_->mutex);
  impl_->status = status;
}

std::string JwksServer::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port) + "/jwks"; }

int JwksServer::requests() const { return impl_->requests.load(); }

}  // namespace multivio::fakes
