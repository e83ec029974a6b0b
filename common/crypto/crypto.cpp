// SPDX-License-Identifier: MIT
#include "common/crypto/crypto.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/error.hpp"

namespace multivio::crypto {
namespace {

constexpr std::string_view kSealPrefix = "mv1:";
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
constexpr std::string_view kAuthFailure = "cannot decrypt a stored secret: wrong key or tampered data";

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

CipherCtx new_cipher_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw_permanent("cannot allocate a cipher context");
  return ctx;
}

// The OpenSSL one-shot APIs take int lengths; secrets are tiny, so anything
// near INT_MAX is a bug upstream rather than something to stream.
int int_size(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX / 2)) throw_permanent("input too large for encryption or encoding");
  return static_cast<int>(n);
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view ws = " \t\r\n";
  const auto begin = s.find_first_not_of(ws);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(ws) - begin + 1);
}

// Decodes base64 text that must hold exactly one key; nullopt otherwise.
std::optional<Key> decode_key(std::string_view text) {
  std::string raw;
  try {
    raw = base64_decode(trim(text));
  } catch (const Error&) {
    return std::nullopt;
  }
  if (raw.size() != Key{}.size()) return std::nullopt;
  Key key;
  std::memcpy(key.data(), raw.data(), key.size());
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

std::string errno_text(int err) { return std::strerror(err); }

// Creates each missing directory of `dir` with mode 0700; existing ones are
// left alone (never chmod someone's ~/.config).
void make_private_dirs(const std::filesystem::path& dir) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) == 0 || errno == EEXIST) continue;
    throw_permanent("cannot create directory " + partial.string() + ": " + errno_text(errno));
  }
  if (!std::filesystem::is_directory(dir)) throw_permanent(dir.string() + " exists and is not a directory");
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  if (in.empty()) return out;
  // EVP_EncodeBlock writes a trailing NUL, which the std::string already reserves.
  const int n = EVP_EncodeBlock(bytes(out), bytes(in), int_size(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  // EVP_DecodeBlock silently skips whitespace and ignores padding, so validate
  // strictly first: standard alphabet, padded to a multiple of 4, '=' only at the end.
  if (text.size() % 4 != 0) throw_usage("invalid base64: length is not a multiple of 4");
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    if (!is_base64_char(text[i])) {
      throw_usage("invalid base64: unexpected character at offset " + std::to_string(i));
    }
  }
  if (text.empty()) return {};
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(bytes(out), bytes(text), int_size(text.size()));
  if (n < 0) throw_usage("invalid base64");
  // DecodeBlock counts the zero bytes that padding stands for; drop them.
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string hex_encode(std::string_view in) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(in.size() * 2);
  for (const unsigned char c : in) {
    out += digits[c >> 4];
    out += digits[c & 0x0f];
  }
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(bytes(out), int_size(n)) != 1) throw_permanent("the system random generator failed");
  return out;
}

std::string random_hex(std::size_t n) { return hex_encode(random_bytes(n)); }

std::string sha256(std::string_view data) {
  std::string out(32, '\0');
  if (EVP_Digest(data.data(), data.size(), bytes(out), nullptr, EVP_sha256(), nullptr) != 1) {
    throw_permanent("SHA-256 failed");
  }
  return out;
}

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), int_size(key.size()), bytes(data), data.size(), bytes(out), &len) == nullptr) {
    throw_permanent("HMAC-SHA256 failed");
  }
  return out;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) { return hex_encode(hmac_sha256(key, data)); }

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Only the contents are secret; an early return on length leaks nothing new.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Sealer::seal(std::string_view plaintext) const {
  const int len = int_size(plaintext.size());
  std::string blob = random_bytes(kNonceSize);
  blob.resize(kNonceSize + plaintext.size() + kTagSize);
  auto* nonce = bytes(blob);
  auto* body = nonce + kNonceSize;

  const CipherCtx ctx = new_cipher_ctx();
  int out_len = 0;
  int final_len = 0;
  // GCM's default IV length is 12 bytes, which is what we use.
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), body, &out_len, bytes(plaintext), len) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), body + out_len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, body + plaintext.size()) != 1) {
    throw_permanent("cannot encrypt a secret");
  }
  return std::string(kSealPrefix) + base64_encode(blob);
}

std::string Sealer::open(std::string_view sealed) const {
  if (!sealed.starts_with(kSealPrefix)) {
    throw_permanent("cannot decrypt a stored secret: not a sealed value (no 'mv1:' prefix)");
  }
  std::string blob;
  try {
    blob = base64_decode(sealed.substr(kSealPrefix.size()));
  } catch (const Error& e) {
    throw_permanent(std::string("cannot decrypt a stored secret: ") + e.what());
  }
  if (blob.size() < kNonceSize + kTagSize) throw_permanent("cannot decrypt a stored secret: value is truncated");

  const std::size_t body_size = blob.size() - kNonceSize - kTagSize;
  auto* nonce = bytes(blob);
  auto* body = nonce + kNonceSize;
  auto* tag = body + body_size;
  std::string plain(body_size, '\0');

  const CipherCtx ctx = new_cipher_ctx();
  int out_len = 0;
  int final_len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), bytes(plain), &out_len, body, int_size(body_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1) {
    throw_permanent("cannot decrypt a stored secret");
  }
  // Final is where GCM checks the tag: failure means wrong key or altered bytes.
  if (EVP_DecryptFinal_ex(ctx.get(), bytes(plain) + out_len, &final_len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    throw_auth(std::string(kAuthFailure));
  }
  return plain;
}

Key load_key(const std::optional<std::string>& env_value, const std::string& key_file) {
  if (env_value) {
    // An empty value is reported, not skipped: in CI it usually means a
    // secret that was not passed through, and falling back would hide that.
    if (auto key = decode_key(*env_value)) return *key;
    throw_auth(env_value->empty() ? "MULTIVIO_KEY is set but empty" : "MULTIVIO_KEY is not base64 of 32 bytes");
  }

  const int fd = ::open(key_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      throw_auth("no encryption key: run 'multivio init' or set MULTIVIO_KEY (looked for " + key_file + ")");
    }
    throw_auth("cannot read key file " + key_file + ": " + errno_text(errno));
  }
  // A key file is ~45 bytes; read a little more so an oversized file is
  // reported as corrupted instead of being read whole.
  std::string text(256, '\0');
  std::size_t used = 0;
  while (used < text.size()) {
    const ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw_auth("cannot read key file " + key_file + ": " + errno_text(err));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(used);
  auto key = decode_key(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!key) throw_auth("key file " + key_file + " is corrupted: expected base64 of 32 bytes");
  return *key;
}

bool create_key_file(const std::string& key_file) {
  const std::filesystem::path path(key_file);
  if (path.has_parent_path()) make_private_dirs(path.parent_path());

  // O_EXCL makes "exists" and "create" one atomic step, so two concurrent
  // `multivio init` runs never overwrite each other's key.
  const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw_permanent("cannot create key file " + key_file + ": " + errno_text(errno));
  }
  std::string text = base64_encode(random_bytes(Key{}.size())) + "\n";
  // The umask can only clear bits, but make the mode exact anyway.
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int err = errno;
  ok = ::close(fd) == 0 && ok;
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) {
    // A half-written key file would block the next init and fail every load.
    ::unlink(key_file.c_str());
    throw_permanent("cannot write key file " + key_file + ": " + errno_text(err));
  }
  return true;
}

}  // namespace multivio::crypto
