// SPDX-License-Identifier: MIT
// PKCE (RFC 7636) verifiers and S256 challenges, and the OAuth `state` value
// that ties a redirect to the request that started it.
#pragma once

#include <string>
#include <string_view>

namespace multivio::oauth {

/// The only challenge method multivio sends (RFC 7636 §4.2: S256 is mandatory to implement).
inline constexpr std::string_view kChallengeMethod = "S256";

/// One authorization attempt's verifier (kept secret, sent to the token
/// endpoint) and its challenge (sent in the authorization URL).
struct Pkce {
  std::string verifier;
  std::string challenge;
};

/// base64url without padding (RFC 7636 Appendix A).
std::string base64url(std::string_view bytes);

/// A verifier from 32 random bytes: 43 characters of the unreserved set.
/// Throws Error(permanent) when the system has no randomness.
std::string make_code_verifier();
/// base64url(bytes); exposed so tests can feed RFC 7636 Appendix B's octets.
std::string code_verifier_from_bytes(std::string_view bytes);
/// 43-128 characters, each ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 7636 §4.1).
bool is_valid_code_verifier(std::string_view verifier) noexcept;
/// base64url(SHA-256(ASCII(verifier))). Throws Error(usage) when the verifier
/// is not valid: a server would reject it at the token endpoint anyway.
std::string code_challenge_s256(std::string_view verifier);
/// A fresh verifier and its challenge.
Pkce make_pkce();

/// 32 random bytes, base64url: unguessable and safe in a URL unescaped.
std::string make_state();
/// Constant-time comparison of the state we sent with the one that came back;
/// false when either is empty (a missing state never matches).
bool state_matches(std::string_view expected, std::string_view received) noexcept;

}  // namespace multivio::oauth
