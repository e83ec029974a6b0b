// SPDX-License-Identifier: MIT
#include "common/media/sigv4.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/oauth/form.hpp"
#include "common/oauth/oauth1.hpp"

namespace multivio::media::sigv4 {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
// S3 refuses presigned URLs that claim to live longer than a week.
constexpr std::chrono::seconds kMaxExpires{604'800};

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Leading and trailing blanks go and inner runs of spaces become one, as the
// canonical header form requires.
std::string canonical_value(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t') {
      in_space = !out.empty();
      continue;
    }
    if (in_space) {
      out += ' ';
      in_space = false;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string amz_date(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string uri_encode(std::string_view text, bool encode_slash) {
  if (encode_slash) {
    return oauth::percent_encode(text);
  }
  // Object keys keep their '/' separators; every segment is encoded alone.
  std::string out;
  while (true) {
    const auto slash = text.find('/');
    out += oauth::percent_encode(text.substr(0, slash));
    if (slash == std::string_view::npos) {
      return out;
    }
    out += '/';
    text.remove_prefix(slash + 1);
  }
}

// SigV4's canonical query string is OAuth 1.0a's normalized parameter string:
// both RFC 3986-encode names and values, sort the pairs bytewise and join them.
std::string canonical_query(const Params& query) { return oauth::normalize_parameters(query); }

Canonical canonical_request(const Target& target, const Params& headers, std::string_view payload_sha256) {
  Params canonical;
  canonical.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    canonical.emplace_back(lowercase(name), canonical_value(value));
  }
  std::stable_sort(canonical.begin(), canonical.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  Canonical out;
  std::string header_block;
  for (std::size_t i = 0; i < canonical.size(); ++i) {
    const auto& [name, value] = canonical[i];
    if (i > 0 && canonical[i - 1].first == name) {
      // A repeated header signs as one line with the values comma-joined.
      header_block.pop_back();
      header_block += "," + value + "\n";
      continue;
    }
    header_block += name + ":" + value + "\n";
    if (!out.signed_headers.empty()) {
      out.signed_headers += ';';
    }
    out.signed_headers += name;
  }
  out.request = target.method + "\n" + (target.path.empty() ? std::string("/") : target.path) + "\n" +
                canonical_query(target.query) + "\n" + header_block + "\n" + out.signed_headers + "\n" +
                std::string(payload_sha256);
  return out;
}

std::string credential_scope(std::string_view date, const Scope& scope) {
  return std::string(date) + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request) {
  return std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         crypto::sha256_hex(canonical_request);
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  const std::string k_date = crypto::hmac_sha256("AWS4" + std::string(secret), date);
  const std::string k_region = crypto::hmac_sha256(k_date, region);
  const std::string k_service = crypto::hmac_sha256(k_region, service);
  return crypto::hmac_sha256(k_service, "aws4_request");
}

std::string signature(std::string_view signing_key, std::string_view string_to_sign) {
  return crypto::hmac_sha256_hex(signing_key, string_to_sign);
}

std::string authorization(const Target& target, const Params& headers, std::string_view payload_sha256,
                          const Credentials& credentials, const Scope& scope, std::string_view amz_date) {
  const std::string_view date = amz_date.substr(0, 8);
  const Canonical canonical = canonical_request(target, headers, payload_sha256);
  const std::string cred_scope = credential_scope(date, scope);
  const std::string sig =
      signature(signing_key(credentials.secret_access_key, date, scope.region, scope.service),
                string_to_sign(amz_date, cred_scope, canonical.request));
  return std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" + cred_scope +
         ", SignedHeaders=" + canonical.signed_headers + ", Signature=" + sig;
}

Params sign_headers(const Target& target, Params headers, std::string_view payload_sha256,
                    const Credentials& credentials, const Scope& scope, std::chrono::system_clock::time_point now) {
  const std::string date = amz_date(now);
  headers.emplace_back("Host", target.host);
  headers.emplace_back("x-amz-date", date);
  headers.emplace_back("x-amz-content-sha256", std::string(payload_sha256));
  std::string auth = authorization(target, headers, payload_sha256, credentials, scope, date);
  headers.emplace_back("Authorization", std::move(auth));
  return headers;
}

std::string presign_query(const Target& target, const Credentials& credentials, const Scope& scope,
                          std::chrono::system_clock::time_point now, std::chrono::seconds expires) {
  if (expires < std::chrono::seconds{1} || expires > kMaxExpires) {
    throw Error(ErrorKind::usage, "a presigned URL must expire between 1 second and 7 days after signing");
  }
  const std::string date = amz_date(now);
  const std::string_view day = std::string_view(date).substr(0, 8);
  Target presigned = target;
  presigned.query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  presigned.query.emplace_back("X-Amz-Credential", credentials.access_key_id + "/" + credential_scope(day, scope));
  presigned.query.emplace_back("X-Amz-Date", date);
  presigned.query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
  presigned.query.emplace_back("X-Amz-SignedHeaders", "host");
  const Canonical canonical = canonical_request(presigned, {{"host", target.host}}, kUnsignedPayload);
  const std::string sig =
      signature(signing_key(credentials.secret_access_key, day, scope.region, scope.service),
                string_to_sign(date, credential_scope(day, scope), canonical.request));
  return canonical_query(presigned.query) + "&X-Amz-Signature=" + sig;
}

}  // namespace multivio::media::sigv4
