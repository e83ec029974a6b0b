// SPDX-License-Identifier: MIT
// SigV4 against the values AWS publishes: the signature test suite's
// get-vanilla cases, the signing-key walkthrough, and the S3 header-signed
// and presigned examples. Any drift in canonical form, key derivation or
// encoding changes these signatures.
#include "common/media/sigv4.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"

namespace multivio::media::sigv4 {
namespace {

using namespace std::chrono;

// The SigV4 test suite's credentials and time (20150830T123600Z).
const Credentials kSuite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
// The S3 examples' credentials; note "/bPx" where the suite has "+bPx".
const Credentials kS3{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};

system_clock::time_point utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm};
}

TEST(SigV4, AmzDateIsCompactUtc) {
  EXPECT_EQ(amz_date(utc(2015, 8, 30, 12, 36)), "20150830T123600Z");
  EXPECT_EQ(amz_date(utc(2013, 5, 24)), "20130524T000000Z");
}

TEST(SigV4, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(uri_encode("A-z_0.9~", true), "A-z_0.9~");
  EXPECT_EQ(uri_encode("a b+c$", true), "a%20b%2Bc%24");
  EXPECT_EQ(uri_encode("a/b", true), "a%2Fb");
  EXPECT_EQ(uri_encode("a/b", false), "a/b");
  EXPECT_EQ(uri_encode("=&?*", true), "%3D%26%3F%2A");
  EXPECT_EQ(uri_encode("\xc3\xa9", true), "%C3%A9");
}

TEST(SigV4, CanonicalQuerySortsAfterEncoding) {
  EXPECT_EQ(canonical_query({{"b", "2"}, {"a", "1 1"}, {"A", "/"}}), "A=%2F&a=1%201&b=2");
  EXPECT_EQ(canonical_query({}), "");
}

TEST(SigV4, SuiteGetVanilla) {
  const Target target{"GET", "example.amazonaws.com", "/", {}};
  const Params headers{{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  const Canonical canonical = canonical_request(target, headers, kEmptyPayloadSha256);
  EXPECT_EQ(canonical.request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(crypto::sha256_hex(canonical.request),
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  const Scope scope{"us-east-1", "service"};
  EXPECT_EQ(authorization(target, headers, kEmptyPayloadSha256, kSuite, scope, "20150830T123600Z"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, SuiteGetVanillaQueryOrderKeyCase) {
  const Target target{"GET", "example.amazonaws.com", "/", {{"Param2", "value2"}, {"Param1", "value1"}}};
  const Params headers{{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  const std::string auth =
      authorization(target, headers, kEmptyPayloadSha256, kSuite, {"us-east-1", "service"}, "20150830T123600Z");
  EXPECT_TRUE(auth.ends_with("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")) << auth;
}

TEST(SigV4, SigningKeyWalkthrough) {
  const std::string key = signing_key(kSuite.secret_access_key, "20150830", "us-east-1", "iam");
  EXPECT_EQ(crypto::hex_encode(key), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  const std::string to_sign = string_to_sign(
      "20150830T123600Z", credential_scope("20150830", {"us-east-1", "iam"}),
      "GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; "
      "charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(signature(key, to_sign), "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(SigV4, S3GetObjectExample) {
  const Target target{"GET", "examplebucket.s3.amazonaws.com", "/test.txt", {}};
  const Params headers{{"Host", "examplebucket.s3.amazonaws.com"},
                       {"Range", "bytes=0-9"},
                       {"x-amz-content-sha256", std::string(kEmptyPayloadSha256)},
                       {"x-amz-date", "20130524T000000Z"}};
  EXPECT_EQ(authorization(target, headers, kEmptyPayloadSha256, kS3, {"us-east-1"}, "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, S3PutObjectExampleThroughSignHeaders) {
  const std::string body = "Welcome to Amazon S3.";
  const std::string payload = crypto::sha256_hex(body);
  ASSERT_EQ(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const Target target{"PUT", "examplebucket.s3.amazonaws.com", "/" + uri_encode("test$file.text", false), {}};
  const Params sent = sign_headers(
      target, {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}}, payload,
      kS3, {"us-east-1"}, utc(2013, 5, 24));
  auto find = [&](std::string_view name) {
    for (const auto& [k, v] : sent) {
      if (k == name) {
        return v;
      }
    }
    return std::string("<missing>");
  };
  EXPECT_EQ(find("Host"), "examplebucket.s3.amazonaws.com");
  EXPECT_EQ(find("x-amz-date"), "20130524T000000Z");
  EXPECT_EQ(find("x-amz-content-sha256"), payload);
  EXPECT_EQ(find("x-amz-storage-class"), "REDUCED_REDUNDANCY");
  EXPECT_EQ(find("Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, S3PresignedUrlExample) {
  const Target target{"GET", "examplebucket.s3.amazonaws.com", "/test.txt", {}};
  EXPECT_EQ(presign_query(target, kS3, {"us-east-1"}, utc(2013, 5, 24), seconds{86'400}),
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4, PresignRefusesLifetimesS3Rejects) {
  const Target target{"GET", "h", "/k", {}};
  EXPECT_THROW(presign_query(target, kS3, {"auto"}, utc(2026, 1, 1), seconds{0}), Error);
  EXPECT_THROW(presign_query(target, kS3, {"auto"}, utc(2026, 1, 1), seconds{604'801}), Error);
  EXPECT_NO_THROW(presign_query(target, kS3, {"auto"}, utc(2026, 1, 1), seconds{604'800}));
}

TEST(SigV4, RepeatedHeadersSignAsOneLine) {
  const Target target{"GET", "h", "/", {}};
  const Canonical c = canonical_request(target, {{"Host", "h"}, {"X-A", "  one   two "}, {"x-a", "three"}}, "p");
  EXPECT_EQ(c.request, "GET\n/\n\nhost:h\nx-a:one two,three\n\nhost;x-a\np");
  EXPECT_EQ(c.signed_headers, "host;x-a");
}

}  // namespace
}  // namespace multivio::media::sigv4
