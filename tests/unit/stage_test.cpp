// SPDX-License-Identifier: MIT
// Media staging against the S3 fake (which checks SigV4 with its own code)
// and the public_url mapping.
#include "common/media/stage.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/config/config.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/media/sigv4.hpp"
#include "tests/fakes/s3_server.hpp"

namespace multivio::media {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kAccess = "AKIDSTAGETEST";
constexpr const char* kSecret = "s3cr3t/STAGE+key";

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("mv-stage-" + crypto::random_hex(8))) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string write_file(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

StagerEnvironment env_with(std::map<std::string, std::string> vars) {
  StagerEnvironment e;
  e.env = [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  return e;
}

StagerEnvironment good_env() {
  return env_with({{"AWS_ACCESS_KEY_ID", kAccess}, {"AWS_SECRET_ACCESS_KEY", kSecret}});
}

// Runs `f`, which must throw multivio::Error, and returns the error.
template <typename F>
Error error_from(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no multivio::Error thrown";
  return Error(ErrorKind::permanent, "none");
}

class S3Stage : public ::testing::Test {
 protected:
  S3Stage() : s3_("media", kAccess, kSecret, "eu-central-1"), http_(http::make_client()) {
    cfg_.media.stage = "s3";
    cfg_.media.s3_endpoint = s3_.endpoint();
    cfg_.media.s3_bucket = "media";
    cfg_.media.s3_region = "eu-central-1";
    bytes_ = "\xff\xd8\xff\xe0 not really a jpeg, but bytes are bytes";
    file_ = write_file(dir_.path() / "Photo.JPG", bytes_);
  }

  std::unique_ptr<Stager> stager(StagerEnvironment env = good_env()) {
    auto s = make_stager(cfg_, *http_, std::move(env));
    EXPECT_NE(s, nullptr);
    return s;
  }

  http::Response get(const std::string& url) {
    http::Request r;
    r.url = url;
    return http_->send(r);
  }

  fakes::S3Server s3_;
  std::unique_ptr<http::Client> http_;
  config::Config cfg_;
  TempDir dir_;
  std::string bytes_;
  std::string file_;
};

TEST_F(S3Stage, UploadsContentAddressedAndThePresignedUrlServesIt) {
  auto stager = this->stager();
  const Staged staged = stager->stage(file_, "image/jpeg", 60s);

  const std::string key = "multivio/" + crypto::sha256_hex(bytes_) + ".jpg";
  EXPECT_EQ(staged.key, key);
  const auto stored = s3_.object(key);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->body, bytes_);
  EXPECT_EQ(stored->content_type, "image/jpeg");
  EXPECT_TRUE(staged.url.starts_with(s3_.endpoint() + "/media/" + key + "?")) << staged.url;
  EXPECT_NE(staged.url.find("X-Amz-Expires=60&"), std::string::npos) << staged.url;
  EXPECT_EQ(staged.url.find(kSecret), std::string::npos);

  // The URL needs no credentials: it is what the network fetches.
  const http::Response fetched = get(staged.url);
  EXPECT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_EQ(fetched.body, bytes_);
  EXPECT_EQ(fetched.header("Content-Type").value_or(""), "image/jpeg");
  EXPECT_EQ(stager->describe(), "s3 " + s3_.endpoint() + "/media");
}

TEST_F(S3Stage, KeysKeepOnlyAPlainExtension) {
  cfg_.media.s3_prefix = "p/";
  auto stager = this->stager();
  const std::string sha = crypto::sha256_hex(bytes_);
  const std::string odd = write_file(dir_.path() / "clip.m p4", bytes_);
  const std::string none = write_file(dir_.path() / "README", bytes_);
  EXPECT_EQ(stager->stage(odd, "video/mp4", 60s).key, "p/" + sha);
  EXPECT_EQ(stager->stage(none, "", 60s).key, "p/" + sha);
  // No content type given: stored as a generic binary.
  EXPECT_EQ(s3_.object("p/" + sha)->content_type, "application/octet-stream");
  EXPECT_THROW(stager->stage(dir_.path().string(), "", 60s), Error) << "a directory is not a file";
}

TEST_F(S3Stage, StagingTheSameFileAgainReusesTheObject) {
  auto stager = this->stager();
  const Staged first = stager->stage(file_, "image/jpeg", 60s);
  const Staged second = stager->stage(file_, "image/jpeg", 60s);
  EXPECT_EQ(first.key, second.key);
  EXPECT_EQ(s3_.objects().size(), 1u);
}

TEST_F(S3Stage, PresignedUrlIsRefusedAfterItsTtl) {
  auto stager = this->stager();
  const Staged staged = stager->stage(file_, "image/jpeg", 60s);
  ASSERT_EQ(get(staged.url).status, 200);

  s3_.advance_clock(61s);
  const http::Response late = get(staged.url);
  EXPECT_EQ(late.status, 403);
  EXPECT_NE(late.body.find("<Code>AccessDenied</Code>"), std::string::npos) << late.body;
  EXPECT_NE(late.body.find("Request has expired"), std::string::npos) << late.body;
}

TEST_F(S3Stage, TamperedPresignedUrlIsRefused) {
  auto stager = this->stager();
  const Staged staged = stager->stage(file_, "image/jpeg", 60s);
  std::string tampered = staged.url;
  const auto at = tampered.find("X-Amz-Expires=60");
  ASSERT_NE(at, std::string::npos);
  tampered.replace(at, 16, "X-Amz-Expires=600");  // a longer life than was signed
  const http::Response r = get(tampered);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos) << r.body;
}

TEST_F(S3Stage, RemoveDeletesTheObjectAndToleratesAMissingOne) {
  auto stager = this->stager();
  const Staged staged = stager->stage(file_, "image/jpeg", 60s);
  stager->remove(staged);
  EXPECT_FALSE(s3_.object(staged.key).has_value());
  const http::Response gone = get(staged.url);
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(gone.body.find("<Code>NoSuchKey</Code>"), std::string::npos) << gone.body;
  EXPECT_NO_THROW(stager->remove(staged));
  EXPECT_NO_THROW(stager->remove(Staged{"https://x", ""}));

  const auto log = s3_.received();
  ASSERT_FALSE(log.empty());
  int deletes = 0;
  for (const auto& r : log) {
    if (r.method == "DELETE") {
      ++deletes;
      EXPECT_EQ(r.status, 204);
      EXPECT_FALSE(r.presigned);
    }
  }
  EXPECT_EQ(deletes, 2);
}

TEST_F(S3Stage, WrongSecretIsAClearAuthError) {
  auto stager = this->stager(env_with({{"AWS_ACCESS_KEY_ID", kAccess}, {"AWS_SECRET_ACCESS_KEY", "wrong-secret"}}));
  const Error e = error_from([&] { stager->stage(file_, "image/jpeg", 60s); });
  // Not auth: that would mark the network account as needing re-linking.
  EXPECT_EQ(e.kind(), ErrorKind::permanent);
  EXPECT_EQ(e.http_status, 403);
  const std::string what = e.what();
  EXPECT_NE(what.find("Photo.JPG"), std::string::npos) << what;
  EXPECT_NE(what.find("SignatureDoesNotMatch"), std::string::npos) << what;
  EXPECT_NE(what.find("$AWS_SECRET_ACCESS_KEY"), std::string::npos) << what;
  EXPECT_EQ(what.find("wrong-secret"), std::string::npos) << what;
  EXPECT_EQ(what.find('<'), std::string::npos) << "no raw XML in a user message: " << what;
  EXPECT_TRUE(s3_.objects().empty());
}

TEST_F(S3Stage, WrongRegionAndUnknownKeyAreRefused) {
  cfg_.media.s3_region = "us-east-1";
  auto wrong_region = this->stager();
  EXPECT_EQ(error_from([&] { wrong_region->stage(file_, "image/jpeg", 60s); }).kind(), ErrorKind::permanent);

  cfg_.media.s3_region = "eu-central-1";
  auto unknown = this->stager(env_with({{"AWS_ACCESS_KEY_ID", "AKIDOTHER"}, {"AWS_SECRET_ACCESS_KEY", kSecret}}));
  const Error e = error_from([&] { unknown->stage(file_, "image/jpeg", 60s); });
  EXPECT_EQ(e.kind(), ErrorKind::permanent);
  EXPECT_NE(std::string(e.what()).find("InvalidAccessKeyId"), std::string::npos) << e.what();
}

TEST_F(S3Stage, SkewedClockIsRefusedWithAHint) {
  StagerEnvironment env = good_env();
  env.now = [] { return std::chrono::system_clock::now() - 1h; };
  auto stager = this->stager(std::move(env));
  const Error e = error_from([&] { stager->stage(file_, "image/jpeg", 60s); });
  EXPECT_NE(std::string(e.what()).find("RequestTimeTooSkewed"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("clock"), std::string::npos) << e.what();
}

TEST_F(S3Stage, ServerTroubleIsTransient) {
  auto stager = this->stager();
  s3_.fail_next(1, 503, "SlowDown", "Please reduce your request rate.");
  const Error e = error_from([&] { stager->stage(file_, "image/jpeg", 60s); });
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_NE(std::string(e.what()).find("SlowDown"), std::string::npos) << e.what();
  // The next try goes through.
  EXPECT_NO_THROW(stager->stage(file_, "image/jpeg", 60s));
}

TEST_F(S3Stage, UnreachableStoreIsTransient) {
  cfg_.media.s3_endpoint = "http://127.0.0.1:1";
  auto stager = this->stager();
  EXPECT_EQ(error_from([&] { stager->stage(file_, "image/jpeg", 60s); }).kind(), ErrorKind::transient);
}

TEST_F(S3Stage, MissingFileIsAValidationErrorNamingIt) {
  auto stager = this->stager();
  const std::string missing = (dir_.path() / "nope.png").string();
  const Error e = error_from([&] { stager->stage(missing, "image/png", 60s); });
  EXPECT_EQ(e.kind(), ErrorKind::validation);
  EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
}

TEST_F(S3Stage, VirtualHostedStyleNamesTheBucketInTheHost) {
  cfg_.media.s3_endpoint = "http://localhost:" + std::to_string(s3_.port());
  cfg_.media.s3_path_style = false;
  auto stager = this->stager();
  EXPECT_EQ(stager->describe(), "s3 http://media.localhost:" + std::to_string(s3_.port()));
  Staged staged;
  try {
    staged = stager->stage(file_, "image/jpeg", 60s);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::transient) {
      GTEST_SKIP() << "media.localhost does not resolve here: " << e.what();
    }
    throw;
  }
  EXPECT_TRUE(staged.url.starts_with("http://media.localhost:" + std::to_string(s3_.port()) + "/multivio/"))
      << staged.url;
  EXPECT_TRUE(s3_.object(staged.key).has_value());
  EXPECT_EQ(get(staged.url).body, bytes_);
}

TEST(S3Fake, RefusesUnsignedAndBadlySignedRequests) {
  fakes::S3Server s3("media", kAccess, kSecret);
  s3.put_object("k.txt", {"hello", "text/plain"});
  auto http = http::make_client();

  http::Request anonymous;
  anonymous.url = s3.endpoint() + "/media/k.txt";
  const http::Response r1 = http->send(anonymous);
  EXPECT_EQ(r1.status, 403);
  EXPECT_NE(r1.body.find("<Code>AccessDenied</Code>"), std::string::npos) << r1.body;

  const std::string host = "127.0.0.1:" + std::to_string(s3.port());
  const sigv4::Credentials creds{kAccess, kSecret};
  const sigv4::Scope scope{"us-east-1"};

  // A body that is not the one whose hash was signed.
  http::Request put;
  put.method = "PUT";
  put.url = s3.endpoint() + "/media/k.txt";
  put.body = "tampered";
  put.headers = sigv4::sign_headers({"PUT", host, "/media/k.txt", {}}, {}, crypto::sha256_hex("original"), creds,
                                    scope, std::chrono::system_clock::now());
  const http::Response r2 = http->send(put);
  EXPECT_EQ(r2.status, 400);
  EXPECT_NE(r2.body.find("<Code>XAmzContentSHA256Mismatch</Code>"), std::string::npos) << r2.body;

  // An x-amz-* header sent but left out of the signature.
  http::Request get;
  get.url = s3.endpoint() + "/media/k.txt";
  get.headers = sigv4::sign_headers({"GET", host, "/media/k.txt", {}}, {}, sigv4::kEmptyPayloadSha256, creds, scope,
                                    std::chrono::system_clock::now());
  get.headers.emplace_back("x-amz-meta-extra", "1");
  const http::Response r3 = http->send(get);
  EXPECT_EQ(r3.status, 403);
  EXPECT_NE(r3.body.find("not signed"), std::string::npos) << r3.body;

  // Correctly signed, it is served.
  get.headers.pop_back();
  const http::Response r4 = http->send(get);
  EXPECT_EQ(r4.status, 200) << r4.body;
  EXPECT_EQ(r4.body, "hello");

  // HEAD answers with the status alone, as S3 does.
  for (const std::string key : {"k.txt", "missing.txt"}) {
    http::Request head;
    head.method = "HEAD";
    head.url = s3.endpoint() + "/media/" + key;
    head.headers = sigv4::sign_headers({"HEAD", host, "/media/" + key, {}}, {}, sigv4::kEmptyPayloadSha256, creds,
                                       scope, std::chrono::system_clock::now());
    const http::Response r5 = http->send(head);
    EXPECT_EQ(r5.status, key == "k.txt" ? 200 : 404) << key;
    EXPECT_TRUE(r5.body.empty());
  }
}

TEST(S3Fake, OwnSignerMatchesThePublishedS3Example) {
  // AWS's GET Object example (examplebucket/test.txt, Range bytes=0-9).
  EXPECT_EQ(fakes::s3sig::sign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3",
                               "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                               "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(fakes::s3sig::sha256_hex(""), sigv4::kEmptyPayloadSha256);
}

class PublicUrlStage : public ::testing::Test {
 protected:
  PublicUrlStage() : http_(http::make_client()) {
    cfg_.data_dir = dir_.path().string();
    cfg_.media.stage = "public_url";
    cfg_.media.public_url = "https://cdn.example/multivio-media/";
  }
  TempDir dir_;
  std::unique_ptr<http::Client> http_;
  config::Config cfg_;
};

TEST_F(PublicUrlStage, MapsALibraryFileUnderTheBaseUrl) {
  const std::string sha(64, 'a');
  const std::string file = write_file(dir_.path() / "media" / "aa" / (sha + ".jpg"), "x");
  auto stager = make_stager(cfg_, *http_);
  ASSERT_NE(stager, nullptr);
  const Staged staged = stager->stage(file, "image/jpeg", 60s);
  EXPECT_EQ(staged.url, "https://cdn.example/multivio-media/aa/" + sha + ".jpg");
  EXPECT_TRUE(staged.key.empty());
  EXPECT_NO_THROW(stager->remove(staged));
  EXPECT_TRUE(fs::exists(file)) << "remove() must not touch the library";
  EXPECT_EQ(stager->describe(), "public_url https://cdn.example/multivio-media");
}

TEST_F(PublicUrlStage, AFileOutsideTheLibraryIsRefusedWithTheFix) {
  const std::string outside = write_file(dir_.path() / "elsewhere" / "pic.png", "x");
  // A path that only looks like it is inside.
  const std::string sneaky = write_file(dir_.path() / "media-other" / "pic.png", "x");
  fs::create_directories(dir_.path() / "media");
  auto stager = make_stager(cfg_, *http_);
  for (const std::string& file : {outside, sneaky, (dir_.path() / "media" / ".." / "elsewhere" / "pic.png").string()}) {
    const Error e = error_from([&] { stager->stage(file, "image/png", 60s); });
    EXPECT_EQ(e.kind(), ErrorKind::validation);
    EXPECT_NE(std::string(e.what()).find("multivio media add"), std::string::npos) << e.what();
  }
  const Error missing = error_from([&] { stager->stage((dir_.path() / "media" / "zz.png").string(), "", 60s); });
  EXPECT_EQ(missing.kind(), ErrorKind::validation);
}

TEST(MakeStager, NothingConfiguredMeansNoStager) {
  config::Config cfg;
  auto http = http::make_client();
  EXPECT_EQ(make_stager(cfg, *http), nullptr);
}

TEST(MakeStager, IncompleteConfigNamesTheMissingSetting) {
  auto http = http::make_client();
  auto usage_message = [&](const config::Config& cfg, StagerEnvironment env) {
    const Error e = error_from([&] { make_stager(cfg, *http, std::move(env)); });
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
    return std::string(e.what());
  };
  config::Config cfg;
  cfg.data_dir = "/tmp";
  cfg.media.stage = "public_url";
  EXPECT_NE(usage_message(cfg, {}).find("media.public_url"), std::string::npos);

  cfg.media.stage = "s3";
  EXPECT_NE(usage_message(cfg, good_env()).find("media.s3.endpoint"), std::string::npos);
  cfg.media.s3_endpoint = "https://acct.r2.cloudflarestorage.com";
  EXPECT_NE(usage_message(cfg, good_env()).find("media.s3.bucket"), std::string::npos);
  cfg.media.s3_bucket = "b";
  cfg.media.s3_region = "";
  EXPECT_NE(usage_message(cfg, good_env()).find("media.s3.region"), std::string::npos);
  cfg.media.s3_region = "auto";

  const std::string no_secret = usage_message(cfg, env_with({{"AWS_ACCESS_KEY_ID", kAccess}}));
  EXPECT_NE(no_secret.find("$AWS_SECRET_ACCESS_KEY"), std::string::npos) << no_secret;
  EXPECT_NE(no_secret.find("media.s3.secret_key_env"), std::string::npos) << no_secret;
  EXPECT_EQ(no_secret.find(kAccess), std::string::npos) << "never echo a credential: " << no_secret;

  cfg.media.s3_access_key_env = "R2_KEY";
  cfg.media.s3_secret_key_env = "R2_SECRET";
  auto stager = make_stager(cfg, *http, env_with({{"R2_KEY", "k"}, {"R2_SECRET", "s"}}));
  ASSERT_NE(stager, nullptr);
  EXPECT_EQ(stager->describe(), "s3 https://acct.r2.cloudflarestorage.com/b");
}

TEST(MakeStager, StagingRequiredProblemSaysWhatToConfigure) {
  const std::string text = staging_required_problem("instagram");
  EXPECT_TRUE(text.starts_with("instagram ")) << text;
  for (const char* word : {"media.stage", "s3", "media.s3.endpoint", "media.s3.bucket", "public_url",
                           "media.public_url"}) {
    EXPECT_NE(text.find(word), std::string::npos) << word << " missing from: " << text;
  }
}

}  // namespace
}  // namespace multivio::media
