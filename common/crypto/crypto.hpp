// SPDX-License-Identifier: MIT
// Secrets at rest (AES-256-GCM, OpenSSL EVP), hashing, HMAC, randomness and
// encodings. Depends on nothing else in the project.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace multivio::crypto {

using Key = std::array<unsigned char, 32>;

std::string base64_encode(std::string_view bytes);
/// Throws Error(usage) on malformed input.
std::string base64_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);

/// Cryptographically random bytes (RAND_bytes); throws Error(permanent) on failure.
std::string random_bytes(std::size_t n);
/// n random bytes as 2n lowercase hex characters.
std::string random_hex(std::size_t n);

std::string sha256(std::string_view data);  // raw 32 bytes
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
/// Constant-time comparison (CRYPTO_memcmp); false when sizes differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// Seals and opens secrets with one key. A sealed value is
/// "mv1:" + base64(12-byte random nonce | ciphertext | 16-byte tag).
class Sealer {
 public:
  explicit Sealer(const Key& key) : key_(key) {}
  std::string seal(std::string_view plaintext) const;
  /// Throws Error(auth) "cannot decrypt a stored secret: wrong key or tampered data"
  /// when authentication fails, Error(permanent) when the value is malformed.
  std::string open(std::string_view sealed) const;

 private:
  Key key_;
};

/// The key from `env_value` (MULTIVIO_KEY: base64 of exactly 32 bytes) when
/// set, else from key_file (base64 text). Throws Error(auth) naming the source
/// when missing, unreadable, or not 32 bytes.
Key load_key(const std::optional<std::string>& env_value, const std::string& key_file);

/// Creates key_file with a new random key, mode 0600 (and its directory,
/// 0700), unless it exists. Returns true when it created the file.
bool create_key_file(const std::string& key_file);

}  // namespace multivio::crypto
