// SPDX-License-Identifier: MIT
#include "common/crypto/crypto.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/error.hpp"

namespace multivio::crypto {
namespace {

using testing::HasSubstr;
namespace fs = std::filesystem;

Key test_key(unsigned char fill) {
  Key key;
  key.fill(fill);
  return key;
}

// Runs `fn`, expects an Error of `kind`, and returns its message.
template <typename Fn>
std::string error_of(ErrorKind kind, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(kind_name(e.kind()), kind_name(kind)) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return {};
}

// A fresh directory per test, removed afterwards.
class KeyFile : public testing::Test {
 protected:
  void SetUp() override {
    std::string templ = testing::TempDir() + "mv_crypto_XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

  fs::path dir_;
};

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain);
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
  EXPECT_EQ(base64_encode(std::string("\xff\xfe", 2)), "//4=");
}

TEST(Base64, RejectsInvalidInput) {
  for (const std::string bad : {"Zg=", "Zg", "Z", "Zm9v!A==", "Zm9v YmFy", "Zm9v\nYmFy",
                                "Zg==Zg==", "=Zg=", "A===", "====", "Zm-_", "Zm9vYmFy\n"}) {
    const auto msg = error_of(ErrorKind::usage, [&] { base64_decode(bad); });
    EXPECT_THAT(msg, HasSubstr("invalid base64")) << bad;
  }
}

TEST(Hashing, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256("abc").size(), 32u);
}

TEST(Hashing, HmacRfc4231Case2) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256("Jefe", "x").size(), 32u);
}

TEST(Hashing, HexAndRandom) {
  EXPECT_EQ(hex_encode(std::string("\x00\x0f\xa0\xff", 4)), "000fa0ff");
  EXPECT_EQ(random_bytes(0), "");
  EXPECT_EQ(random_bytes(17).size(), 17u);
  const auto hex = random_hex(16);
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(random_hex(16), random_hex(16));
}

TEST(Hashing, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("token", "token"));
  EXPECT_FALSE(constant_time_equal("token", "tokeN"));
  EXPECT_FALSE(constant_time_equal("token", "token2"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST(Sealer, RoundTrips) {
  const Sealer sealer(test_key(7));
  std::string binary;
  for (int i = 0; i < 256; ++i) binary += static_cast<char>(255 - i);
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 % 251);
  for (const std::string& plain : {std::string(), std::string("secret-token"), binary, big}) {
    const auto sealed = sealer.seal(plain);
    EXPECT_TRUE(sealed.starts_with("mv1:"));
    EXPECT_EQ(sealer.open(sealed), plain);
  }
}

TEST(Sealer, FormatIsNonceCiphertextTag) {
  const auto sealed = Sealer(test_key(1)).seal("hello");
  EXPECT_EQ(base64_decode(sealed.substr(4)).size(), 12u + 5u + 16u);
}

TEST(Sealer, FreshNonceEverySeal) {
  const Sealer sealer(test_key(7));
  const auto a = sealer.seal("same");
  const auto b = sealer.seal("same");
  EXPECT_NE(a, b);
  EXPECT_NE(base64_decode(a.substr(4)).substr(0, 12), base64_decode(b.substr(4)).substr(0, 12));
}

TEST(Sealer, TamperingAnyRegionIsAnAuthError) {
  const Sealer sealer(test_key(7));
  const auto blob = base64_decode(sealer.seal("a secret value").substr(4));
  const std::size_t positions[] = {0, 11, 12, 20, blob.size() - 16, blob.size() - 1};  // nonce, body, tag
  for (const auto pos : positions) {
    auto bad = blob;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
    const auto msg = error_of(ErrorKind::auth, [&] { sealer.open("mv1:" + base64_encode(bad)); });
    EXPECT_EQ(msg, "cannot decrypt a stored secret: wrong key or tampered data") << "byte " << pos;
  }
  // Dropping a ciphertext byte shifts the tag: also caught by authentication.
  auto shortened = blob;
  shortened.erase(13, 1);
  error_of(ErrorKind::auth, [&] { sealer.open("mv1:" + base64_encode(shortened)); });
}

TEST(Sealer, WrongKeyIsAnAuthError) {
  const auto sealed = Sealer(test_key(7)).seal("a secret value");
  const auto msg = error_of(ErrorKind::auth, [&] { Sealer(test_key(8)).open(sealed); });
  EXPECT_THAT(msg, HasSubstr("wrong key or tampered data"));
}

TEST(Sealer, MalformedValuesArePermanentErrors) {
  const Sealer sealer(test_key(7));
  EXPECT_THAT(error_of(ErrorKind::permanent, [&] { sealer.open("plaintext-token"); }), HasSubstr("'mv1:' prefix"));
  EXPECT_THAT(error_of(ErrorKind::permanent, [&] { sealer.open("mv2:AAAA"); }), HasSubstr("'mv1:' prefix"));
  EXPECT_THAT(error_of(ErrorKind::permanent, [&] { sealer.open("mv1:not base64!"); }), HasSubstr("invalid base64"));
  EXPECT_THAT(error_of(ErrorKind::permanent, [&] { sealer.open("mv1:"); }), HasSubstr("truncated"));
  EXPECT_THAT(error_of(ErrorKind::permanent, [&] { sealer.open("mv1:" + base64_encode(std::string(27, 'x'))); }),
              HasSubstr("truncated"));
}

TEST_F(KeyFile, LoadKeyFromEnvWins) {
  const std::string encoded = base64_encode(std::string(32, '\x2a'));
  // The file does not exist: the env value must be used without looking at it.
  EXPECT_EQ(load_key(encoded, (dir_ / "missing").string()), test_key(0x2a));
  EXPECT_EQ(load_key(encoded + "\n", (dir_ / "missing").string()), test_key(0x2a));
}

TEST_F(KeyFile, LoadKeyRejectsBadEnv) {
  const auto file = (dir_ / "key").string();
  write(file, base64_encode(std::string(32, 'k')));
  for (const std::string& bad : {base64_encode(std::string(31, 'k')), base64_encode(std::string(33, 'k')),
                                 std::string("not-base64"), std::string(44, '*')}) {
    EXPECT_EQ(error_of(ErrorKind::auth, [&] { load_key(bad, file); }), "MULTIVIO_KEY is not base64 of 32 bytes");
  }
  EXPECT_THAT(error_of(ErrorKind::auth, [&] { load_key(std::string(), file); }), HasSubstr("MULTIVIO_KEY"));
}

TEST_F(KeyFile, LoadKeyFromFile) {
  const auto file = (dir_ / "key").string();
  write(file, base64_encode(std::string(32, '\x05')) + "\n");
  EXPECT_EQ(load_key(std::nullopt, file), test_key(5));
}

TEST_F(KeyFile, LoadKeyMissingFile) {
  const auto file = (dir_ / "nope" / "key").string();
  EXPECT_EQ(error_of(ErrorKind::auth, [&] { load_key(std::nullopt, file); }),
            "no encryption key: run 'multivio init' or set MULTIVIO_KEY (looked for " + file + ")");
}

TEST_F(KeyFile, LoadKeyCorruptOrWrongLengthFile) {
  const auto file = (dir_ / "key").string();
  for (const std::string& bad :
       {std::string("garbage!\n"), base64_encode(std::string(16, 'k')), std::string(), std::string(4096, 'A')}) {
    write(file, bad);
    const auto msg = error_of(ErrorKind::auth, [&] { load_key(std::nullopt, file); });
    EXPECT_THAT(msg, HasSubstr(file));
    EXPECT_THAT(msg, HasSubstr("corrupted"));
  }
}

TEST_F(KeyFile, CreateKeyFileIsPrivateAndIdempotent) {
  const auto file = (dir_ / "a" / "b" / "key").string();
  ASSERT_TRUE(create_key_file(file));

  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ / "a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir_ / "a" / "b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  const Key first = load_key(std::nullopt, file);
  EXPECT_FALSE(create_key_file(file));
  EXPECT_EQ(load_key(std::nullopt, file), first) << "an existing key must never be replaced";

  // The key it writes works for sealing.
  const Sealer sealer(first);
  EXPECT_EQ(sealer.open(sealer.seal("x")), "x");
}

TEST_F(KeyFile, CreateKeyFileLeavesExistingDirectoryModes) {
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  ASSERT_TRUE(create_key_file((dir_ / "key").string()));
  struct stat st {};
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
}

}  // namespace
}  // namespace multivio::crypto
