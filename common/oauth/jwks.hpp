// SPDX-License-Identifier: MIT
// JSON Web Key Sets (RFC 7517): RSA and EC P-256 signing keys turned into
// OpenSSL keys, and the cache the REST listener's threads share, which reads
// a JWKS file or fetches a JWKS URL and keeps it as long as the issuer's
// Cache-Control allows, within bounds.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/client.hpp"
#include "common/oauth/jwt.hpp"

namespace multivio::oauth {

struct Jwk {
  std::string kid;  // may be empty
  std::string alg;  // kRs256 or kEs256: the one algorithm this key verifies
  PublicKey key;
};

/// The usable signing keys of a JWKS document: RSA (`n`, `e`) for RS256 and
/// EC P-256 (`x`, `y`) for ES256. Entries meant for encryption (`use` other
/// than "sig"), for other algorithms, symmetric (`oct`) or malformed are left
/// out. Throws Error(permanent) when the text is not {"keys": [...]}.
/// `source` names the file or URL in messages.
std::vector<Jwk> parse_jwks(std::string_view text, std::string_view source);

/// How long a fetched JWKS may be kept: Cache-Control max-age, clamped to
/// [floor, ceiling]; the floor when there is no header, no max-age, or
/// no-store / no-cache (a JWKS fetched on every request would be a
/// self-inflicted outage of the issuer).
std::chrono::seconds jwks_max_age(const std::optional<std::string>& cache_control, std::chrono::seconds floor,
                                  std::chrono::seconds ceiling);

/// Keys by `kid`, from a file or a URL. Thread-safe: one instance serves
/// every listener thread; a fetch happens under its lock, so concurrent
/// requests wait for one fetch instead of starting their own.
class JwksCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Options {
    std::string file;  // read on first use and re-read like a fetch
    std::string url;   // used when file is empty
    std::chrono::seconds min_ttl{300};
    std::chrono::seconds max_ttl{86'400};
    /// An unknown kid makes one early refetch (the issuer rotated its keys),
    /// but never more often than this: random kids must not become a way to
    /// hammer the issuer.
    std::chrono::seconds refetch_gap{60};
    std::chrono::milliseconds timeout{10'000};
  };

  /// `client` makes the URL fetches (nullptr: a real one). `clock` is for tests.
  explicit JwksCache(Options options, std::unique_ptr<http::Client> client = nullptr, Clock clock = nullptr);
  ~JwksCache();
  JwksCache(const JwksCache&) = delete;
  JwksCache& operator=(const JwksCache&) = delete;

  /// The key that may verify `jws`: the one with its kid (a kid-less token
  /// needs a set with exactly one key for its alg), of the token's alg;
  /// nullptr when there is none even after the allowed refetch. Throws
  /// Error(transient) when no JWKS could ever be loaded.
  PublicKey find(const Jws& jws);

  /// How many times the file was read or the URL fetched (for tests and logs).
  int loads() const;

 private:
  void load(std::chrono::steady_clock::time_point now);
  PublicKey lookup(const Jws& jws) const;

  Options options_;
  std::unique_ptr<http::Client> client_;
  Clock clock_;
  mutable std::mutex mutex_;
  std::vector<Jwk> keys_;
  bool loaded_ = false;
  std::chrono::steady_clock::time_point expires_{};
  std::optional<std::chrono::steady_clock::time_point> last_attempt_;
  int loads_ = 0;
};

}  // namespace multivio::oauth
