// SPDX-License-Identifier: MIT
// AWS Signature Version 4 for S3-compatible stores: the canonical request,
// the string to sign, the signing key, header signing (Authorization with
// x-amz-content-sha256) and query-string presigning (X-Amz-Expires).
// Pure functions of their inputs: the caller passes the time, so tests can
// pin it to the published AWS examples.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multivio::media::sigv4 {

/// Hex SHA-256 of the empty string: the payload hash of a bodiless request.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// What a presigned URL signs in place of a payload hash it cannot know.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

using Params = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

struct Scope {
  std::string region;  // "us-east-1"; Cloudflare R2 uses "auto"
  std::string service = "s3";
};

/// What is signed about a request apart from its headers.
struct Target {
  std::string method;  // "GET", "PUT", ...
  std::string host;    // the Host header: host, plus ":port" when not the scheme's default
  std::string path;    // the canonical URI, already URI-encoded ("/bucket/key")
  Params query;        // name/value pairs, not encoded
};

/// "20150830T123600Z" (UTC).
std::string amz_date(std::chrono::system_clock::time_point time);

/// SigV4 URI encoding: the RFC 3986 unreserved characters stay, every other
/// byte becomes %XX (uppercase hex); '/' stays when !encode_slash.
std::string uri_encode(std::string_view text, bool encode_slash);

/// "A=1&b=2": names and values encoded, then sorted by name, then value.
std::string canonical_query(const Params& query);

struct Canonical {
  std::string request;         // the canonical request text
  std::string signed_headers;  // "host;x-amz-date"
};
/// `headers` are every header to sign, Host included; names are lowercased,
/// values trimmed with inner runs of spaces collapsed, then sorted by name.
Canonical canonical_request(const Target& target, const Params& headers, std::string_view payload_sha256);

/// "20150830/us-east-1/service/aws4_request".
std::string credential_scope(std::string_view date, const Scope& scope);
/// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical_request>".
std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request);
/// HMAC chain "AWS4"+secret → date → region → service → "aws4_request"; raw bytes.
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
/// Lowercase hex HMAC-SHA256 of string_to_sign under signing_key.
std::string signature(std::string_view signing_key, std::string_view string_to_sign);

/// The Authorization header value for a request whose signed headers
/// (Host and X-Amz-Date among them) are `headers`.
std::string authorization(const Target& target, const Params& headers, std::string_view payload_sha256,
                          const Credentials& credentials, const Scope& scope, std::string_view amz_date);

/// The headers to send for an S3 request signed in the Authorization header:
/// `headers` (e.g. Content-Type) plus Host, x-amz-date, x-amz-content-sha256
/// and Authorization. `payload_sha256` is the hex SHA-256 of the body.
Params sign_headers(const Target& target, Params headers, std::string_view payload_sha256,
                    const Credentials& credentials, const Scope& scope, std::chrono::system_clock::time_point now);

/// The query string (already encoded, without '?') of a presigned request
/// that only signs Host and is valid for `expires` (1 s to 7 days) from `now`.
std::string presign_query(const Target& target, const Credentials& credentials, const Scope& scope,
                          std::chrono::system_clock::time_point now, std::chrono::seconds expires);

}  // namespace multivio::media::sigv4
