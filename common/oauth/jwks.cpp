// SPDX-License-Identifier: MIT
#include "common/oauth/jwks.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <spdlog/spdlog.h>

#include "common/error.hpp"

namespace multivio::oauth {

namespace {

constexpr std::size_t kP256Coordinate = 32;

struct BnFree {
  void operator()(BIGNUM* bn) const noexcept { BN_free(bn); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const noexcept { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const noexcept { OSSL_PARAM_free(params); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const noexcept { EVP_PKEY_CTX_free(ctx); }
};

PublicKey own(EVP_PKEY* key) { return PublicKey(key, EVP_PKEY_free); }

std::optional<std::string> member_bytes(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  auto bytes = base64url_decode(it->get<std::string>());
  if (!bytes || bytes->empty()) return std::nullopt;
  return bytes;
}

// A public key from OSSL_PARAMs, and checked: a JWKS is input from the
// network, and a point off the curve must not reach a verification.
PublicKey from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  PublicKey key = own(raw);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return key;
}

PublicKey rsa_key(const nlohmann::json& jwk) {
  const auto n = member_bytes(jwk, "n");
  const auto e = member_bytes(jwk, "e");
  if (!n || !e) return nullptr;
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                                                 static_cast<int>(n->size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                                                 static_cast<int>(e->size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return nullptr;
  }
  return from_params("RSA", bld.get());
}

PublicKey p256_key(const nlohmann::json& jwk) {
  const auto x = member_bytes(jwk, "x");
  const auto y = member_bytes(jwk, "y");
  // RFC 7518 §6.2.1.2: each coordinate is the full field size, zero-padded.
  if (!x || !y || x->size() != kP256Coordinate || y->size() != kP256Coordinate) return nullptr;
  const std::string point = '\x04' + *x + *y;  // SEC 1 uncompressed form
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return nullptr;
  }
  return from_params("EC", bld.get());
}

std::string string_member(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The key as a Jwk, or nullopt when multivio cannot or must not use it.
std::optional<Jwk> usable(const nlohmann::json& entry) {
  if (!entry.is_object()) return std::nullopt;
  const std::string kty = string_member(entry, "kty");
  const std::string use = string_member(entry, "use");
  const std::string alg = string_member(entry, "alg");
  if (!use.empty() && use != "sig") return std::nullopt;
  Jwk jwk;
  jwk.kid = string_member(entry, "kid");
  if (kty == "RSA" && (alg.empty() || alg == kRs256)) {
    jwk.alg = kRs256;
    jwk.key = rsa_key(entry);
  } else if (kty == "EC" && string_member(entry, "crv") == "P-256" && (alg.empty() || alg == kEs256)) {
    jwk.alg = kEs256;
    jwk.key = p256_key(entry);
  } else {
    return std::nullopt;
  }
  if (!jwk.key) {
    spdlog::warn("oidc: JWKS key kid='{}' ({}) is malformed; ignored", jwk.kid, kty);
    return std::nullopt;
  }
  return jwk;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_permanent("cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::vector<Jwk> parse_jwks(std::string_view text, std::string_view source) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    throw_permanent("the JWKS from " + std::string(source) + " is not a JSON object with a \"keys\" array");
  }
  std::vector<Jwk> keys;
  for (const auto& entry : doc["keys"]) {
    if (auto jwk = usable(entry)) keys.push_back(std::move(*jwk));
  }
  return keys;
}

std::chrono::seconds jwks_max_age(const std::optional<std::string>& cache_control, std::chrono::seconds floor,
                                  std::chrono::seconds ceiling) {
  if (!cache_control) return floor;
  std::optional<long long> max_age;
  std::string_view rest = *cache_control;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view directive = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!directive.empty() && std::isspace(static_cast<unsigned char>(directive.front()))) directive.remove_prefix(1);
    while (!directive.empty() && std::isspace(static_cast<unsigned char>(directive.back()))) directive.remove_suffix(1);
    const auto equals = directive.find('=');
    const std::string name = lower(directive.substr(0, equals));
    if (name == "no-store" || name == "no-cache") return floor;
    if (name != "max-age" || equals == std::string_view::npos) continue;
    std::string_view value = directive.substr(equals + 1);
    // RFC 9111 §1.2.2 allows the quoted form, and asks senders not to use it.
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    long long seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range) {
      max_age = ceiling.count();  // RFC 9111 §1.2.2: treat an overflow as "very large"
    } else if (ec == std::errc() && end == value.data() + value.size() && !value.empty() && seconds >= 0) {
      max_age = seconds;
    }
  }
  if (!max_age) return floor;
  return std::clamp(std::chrono::seconds(*max_age), floor, ceiling);
}

JwksCache::JwksCache(Options options, std::unique_ptr<http::Client> client, Clock clock)
    : options_(std::move(options)), client_(std::move(client)), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

JwksCache::~JwksCache() = default;

int JwksCache::loads() const {
  std::lock_guard lock(mutex_);
  return loads_;
}

void JwksCache::load(std::chrono::steady_clock::time_point now) {
  const bool from_file = !options_.file.empty();
  const std::string source = from_file ? options_.file : http::redact_url(options_.url);
  last_attempt_ = now;
  ++loads_;
  try {
    std::string text;
    std::chrono::seconds ttl = options_.min_ttl;
    if (from_file) {
      text = read_text_file(options_.file);
    } else {
      if (!client_) client_ = http::make_client();
      http::Request request;
      request.url = options_.url;
      request.headers.emplace_back("Accept", "application/json");
      request.connect_timeout = options_.timeout;
      request.total_timeout = options_.timeout;
      const http::Response response = client_->send(request);
      if (!response.ok()) throw http::classify(response, "GET " + source);
      text = response.body;
      ttl = jwks_max_age(response.header("Cache-Control"), options_.min_ttl, options_.max_ttl);
    }
    keys_ = parse_jwks(text, source);
    loaded_ = true;
    expires_ = now + ttl;
    if (keys_.empty()) spdlog::warn("oidc: the JWKS from {} has no RS256 or ES256 signing key", source);
    spdlog::debug("oidc: loaded {} keys from {}, kept for {}s", keys_.size(), source, ttl.count());
  } catch (const Error& e) {
    if (!loaded_) {
      throw Error(ErrorKind::transient, "cannot load the OIDC signing keys (JWKS) from " + source + ": " + e.what());
    }
    // The keys we have were valid a moment ago; an issuer outage should not
    // lock every user out, so keep them and try again after the gap.
    spdlog::warn("oidc: cannot refresh the JWKS from {}; keeping the previous keys: {}", source, e.what());
    expires_ = now + options_.refetch_gap;
  }
}

PublicKey JwksCache::lookup(const Jws& jws) const {
  PublicKey only;
  int candidates = 0;
  for (const auto& jwk : keys_) {
    if (jwk.alg != jws.alg) continue;
    if (!jws.kid.empty() && jwk.kid == jws.kid) return jwk.key;
    ++candidates;
    only = jwk.key;
  }
  return jws.kid.empty() && candidates == 1 ? only : nullptr;
}

PublicKey JwksCache::find(const Jws& jws) {
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  if (!loaded_ || now >= expires_) load(now);
  if (PublicKey key = lookup(jws)) return key;
  if (last_attempt_ && now - *last_attempt_ < options_.refetch_gap) return nullptr;
  load(now);
  return lookup(jws);
}

}  // namespace multivio::oauth
