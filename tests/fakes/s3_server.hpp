// SPDX-License-Identifier: MIT
// An S3-compatible object store on 127.0.0.1 for tests: one bucket, PUT/GET/
// HEAD/DELETE object, path-style (/bucket/key) or virtual-hosted
// (Host: bucket.<host>) addressing. Every request must carry AWS Signature
// Version 4, in the Authorization header or as a presigned query string; the
// fake recomputes it with its own implementation (not common/media/sigv4)
// and answers the way S3 does: SignatureDoesNotMatch 403, "Request has
// expired" AccessDenied 403, RequestTimeTooSkewed 403, NoSuchKey 404, as S3's
// XML error documents. Thread-safe; serves from construction to destruction.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace multivio::fakes {

class S3Server {
 public:
  struct Object {
    std::string body;
    std::string content_type;
  };

  struct Received {
    std::string method;
    std::string target;  // path and query as sent
    std::string key;     // object key, decoded; empty when not addressed to the bucket
    bool presigned = false;
    int status = 0;
    std::string error_code;  // S3's <Code> when refused, e.g. "SignatureDoesNotMatch"
  };

  /// Binds 127.0.0.1 on a free port. Throws std::runtime_error when no
  /// socket can be bound.
  S3Server(std::string bucket, std::string access_key_id, std::string secret_access_key,
           std::string region = "us-east-1");
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  int port() const;

  /// Moves the fake's clock (which judges expiry and skew) by `delta`.
  void advance_clock(std::chrono::seconds delta);
  /// The next n accepted requests are answered with this S3 error instead.
  void fail_next(int n, int status, std::string code, std::string message);

  std::optional<Object> object(const std::string& key) const;
  std::map<std::string, Object> objects() const;
  void put_object(const std::string& key, Object object);
  std::vector<Received> received() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The fake's own SigV4 pieces, exposed so its test can pin them to AWS's
/// published example values independently of the client's implementation.
namespace s3sig {
/// Lowercase hex HMAC-SHA256 signature of `string_to_sign` with the key
/// derived from secret/date/region/service.
std::string sign(std::string_view secret, std::string_view date, std::string_view region, std::string_view service,
                 std::string_view string_to_sign);
std::string sha256_hex(std::string_view data);
}  // namespace s3sig

}  // namespace multivio::fakes
