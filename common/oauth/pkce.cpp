// SPDX-License-Identifier: MIT
#include "common/oauth/pkce.hpp"

#include <algorithm>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"

namespace multivio::oauth {

namespace {

constexpr std::size_t kRandomBytes = 32;  // RFC 7636 §4.1 recommends a 32-octet sequence

bool is_unreserved(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

}  // namespace

std::string base64url(std::string_view bytes) {
  std::string text = crypto::base64_encode(bytes);
  while (!text.empty() && text.back() == '=') {
    text.pop_back();
  }
  std::replace(text.begin(), text.end(), '+', '-');
  std::replace(text.begin(), text.end(), '/', '_');
  return text;
}

std::string code_verifier_from_bytes(std::string_view bytes) { return base64url(bytes); }

std::string make_code_verifier() { return code_verifier_from_bytes(crypto::random_bytes(kRandomBytes)); }

bool is_valid_code_verifier(std::string_view verifier) noexcept {
  return verifier.size() >= 43 && verifier.size() <= 128 &&
         std::all_of(verifier.begin(), verifier.end(), is_unreserved);
}

std::string code_challenge_s256(std::string_view verifier) {
  if (!is_valid_code_verifier(verifier)) {
    throw_usage("PKCE code_verifier must be 43-128 characters from A-Z a-z 0-9 - . _ ~ (got " +
                std::to_string(verifier.size()) + " characters)");
  }
  return base64url(crypto::sha256(verifier));
}

Pkce make_pkce() {
  Pkce pkce;
  pkce.verifier = make_code_verifier();
  pkce.challenge = code_challenge_s256(pkce.verifier);
  return pkce;
}

std::string make_state() { return base64url(crypto::random_bytes(kRandomBytes)); }

bool state_matches(std::string_view expected, std::string_view received) noexcept {
  return !expected.empty() && !received.empty() && crypto::constant_time_equal(expected, received);
}

}  // namespace multivio::oauth
