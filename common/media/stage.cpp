// SPDX-License-Identifier: MIT
#include "common/media/stage.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/config/config.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/media/sigv4.hpp"

namespace multivio::media {

namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

// S3 caps presigned URLs at a week; a shorter ttl is the caller's choice.
constexpr seconds kMaxUrlTtl{604'800};

std::string trim_trailing_slashes(std::string text) {
  while (!text.empty() && text.back() == '/') {
    text.pop_back();
  }
  return text;
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw_validation("cannot stage " + path + ": no such file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw_validation("cannot stage " + path + ": the file cannot be read");
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) {
    throw_validation("cannot stage " + path + ": reading the file failed");
  }
  return std::move(bytes).str();
}

// ".jpg" from "photo.JPG". Empty when the name has no plain extension: the
// key must stay a safe URL path, and networks sniff the bytes anyway.
std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool plain = ext.size() >= 2 && ext.size() <= 8 &&
                     std::all_of(ext.begin() + 1, ext.end(), [](unsigned char c) { return std::isalnum(c); });
  return plain ? ext : std::string{};
}

// The text between <Tag> and </Tag> in an S3 XML error body, or "".
std::string xml_field(const std::string& body, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const auto start = body.find(open);
  if (start == std::string::npos) {
    return {};
  }
  const auto from = start + open.size();
  const auto end = body.find("</" + std::string(tag) + ">", from);
  return end == std::string::npos ? std::string{} : body.substr(from, end - from);
}

struct Endpoint {
  std::string scheme;     // "https"
  std::string authority;  // "host[:port]"
  std::string base_path;  // "" or "/prefix" (a store behind a path on a proxy)
};

Endpoint parse_endpoint(const std::string& url) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) {
    throw_usage("media.s3.endpoint must be an http:// or https:// URL");
  }
  Endpoint e;
  e.scheme = url.substr(0, sep);
  const std::string rest = url.substr(sep + 3);
  const auto slash = rest.find('/');
  e.authority = rest.substr(0, slash);
  if (const auto at = e.authority.rfind('@'); at != std::string::npos) {
    e.authority = e.authority.substr(at + 1);  // credentials come from the environment, never the URL
  }
  if (e.authority.empty()) {
    throw_usage("media.s3.endpoint has no host");
  }
  if (slash != std::string::npos) {
    e.base_path = trim_trailing_slashes(rest.substr(slash));
  }
  return e;
}

class S3Stager final : public Stager {
 public:
  S3Stager(const config::MediaStageConfig& cfg, sigv4::Credentials credentials, http::Client& http,
           std::function<std::chrono::system_clock::time_point()> now)
      : endpoint_(parse_endpoint(cfg.s3_endpoint)),
        bucket_(cfg.s3_bucket),
        prefix_(cfg.s3_prefix),
        path_style_(cfg.s3_path_style),
        access_env_(cfg.s3_access_key_env),
        secret_env_(cfg.s3_secret_key_env),
        scope_{cfg.s3_region, "s3"},
        credentials_(std::move(credentials)),
        http_(http),
        now_(std::move(now)) {}

  Staged stage(const std::string& path, const std::string& content_type, seconds ttl) override {
    std::string bytes = read_file(path);
    const std::string sha = crypto::sha256_hex(bytes);
    // Content-addressed, so staging the same file again overwrites the same
    // object instead of leaving a second copy behind.
    const std::string key = prefix_ + sha + lower_extension(path);

    const sigv4::Target put = target("PUT", key);
    http::Request request;
    request.method = "PUT";
    request.url = url_for(put);
    // A large video on a slow uplink: allow roughly 256 KiB/s on top of the base.
    request.total_timeout = std::chrono::milliseconds{60'000} +
                            std::chrono::milliseconds{static_cast<long long>(bytes.size() / 256)};
    request.body = std::move(bytes);
    const std::string type = content_type.empty() ? "application/octet-stream" : content_type;
    request.headers = sigv4::sign_headers(put, {{"Content-Type", type}}, sha, credentials_, scope_, now_());
    const http::Response response = send(request, "staging " + path);
    if (!response.ok()) {
      throw failure(response, "staging " + path);
    }

    ttl = std::clamp(ttl, seconds{1}, kMaxUrlTtl);
    const sigv4::Target get = target("GET", key);
    Staged staged;
    staged.url = url_for(get) + "?" + sigv4::presign_query(get, credentials_, scope_, now_(), ttl);
    staged.key = key;
    spdlog::debug("media: staged {} as {} (url valid {} s)", path, describe() + "/" + key, ttl.count());
    return staged;
  }

  void remove(const Staged& staged) override {
    if (staged.key.empty()) {
      return;
    }
    const sigv4::Target del = target("DELETE", staged.key);
    http::Request request;
    request.method = "DELETE";
    request.url = url_for(del);
    request.headers = sigv4::sign_headers(del, {}, sigv4::kEmptyPayloadSha256, credentials_, scope_, now_());
    const http::Response response = send(request, "deleting staged " + staged.key);
    // 404: already gone, which is what remove() wants.
    if (!response.ok() && response.status != 404) {
      throw failure(response, "deleting staged " + staged.key);
    }
    spdlog::debug("media: deleted staged {}", staged.key);
  }

  std::string describe() const override {
    if (path_style_) {
      return "s3 " + endpoint_.scheme + "://" + endpoint_.authority + endpoint_.base_path + "/" + bucket_;
    }
    return "s3 " + endpoint_.scheme + "://" + bucket_ + "." + endpoint_.authority + endpoint_.base_path;
  }

 private:
  sigv4::Target target(std::string method, const std::string& key) const {
    sigv4::Target t;
    t.method = std::move(method);
    const std::string encoded_key = sigv4::uri_encode(key, false);
    if (path_style_) {
      t.host = endpoint_.authority;
      t.path = endpoint_.base_path + "/" + sigv4::uri_encode(bucket_, true) + "/" + encoded_key;
    } else {
      t.host = bucket_ + "." + endpoint_.authority;
      t.path = endpoint_.base_path + "/" + encoded_key;
    }
    return t;
  }

  std::string url_for(const sigv4::Target& t) const { return endpoint_.scheme + "://" + t.host + t.path; }

  http::Response send(const http::Request& request, const std::string& context) {
    try {
      return http_.send(request);
    } catch (const Error& e) {
      throw e.with_prefix(context + " to " + describe());
    }
  }

  // One sentence from S3's XML error (Code and Message), with a hint where
  // the fix is on the user's side.
  Error failure(const http::Response& response, const std::string& context) const {
    http::Response brief = response;
    const std::string code = xml_field(response.body, "Code");
    const std::string message = xml_field(response.body, "Message");
    brief.body = code.empty() ? std::string{} : code + (message.empty() ? "" : ": " + message);
    Error error = http::classify(brief, context + " to " + describe());
    if (error.kind() == ErrorKind::auth) {
      // The store refusing multivio's own S3 key is a config problem, not the
      // network account's: auth would mark that account as needing re-linking.
      Error config_problem(ErrorKind::permanent, error.what());
      config_problem.http_status = error.http_status;
      error = config_problem;
    }
    if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" || code == "AccessDenied") {
      return error.with_suffix(" (check the credentials in $" + access_env_ + " and $" + secret_env_ +
                               " and media.s3.region)");
    }
    if (code == "NoSuchBucket") {
      return error.with_suffix(" (check media.s3.bucket)");
    }
    if (code == "RequestTimeTooSkewed") {
      return error.with_suffix(" (this machine's clock is off)");
    }
    return error;
  }

  Endpoint endpoint_;
  std::string bucket_;
  std::string prefix_;
  bool path_style_;
  std::string access_env_;
  std::string secret_env_;
  sigv4::Scope scope_;
  sigv4::Credentials credentials_;
  http::Client& http_;
  std::function<std::chrono::system_clock::time_point()> now_;
};

// Files are served from <data_dir>/media by the user's own web server, so
// only library files have a URL. A file elsewhere is refused rather than
// copied in: copying would bypass the library's records (`media list`,
// `media rm`), and `multivio media add` does it properly.
class PublicUrlStager final : public Stager {
 public:
  PublicUrlStager(std::string base_url, const std::string& data_dir)
      : base_(trim_trailing_slashes(std::move(base_url))), root_(fs::path(data_dir) / "media") {}

  Staged stage(const std::string& path, const std::string&, seconds) override {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      throw_validation("cannot stage " + path + ": no such file");
    }
    const fs::path file = fs::weakly_canonical(path, ec);
    const fs::path root = fs::weakly_canonical(root_, ec);
    const fs::path relative = file.lexically_relative(root);
    if (ec || relative.empty() || *relative.begin() == ".." || relative.is_absolute()) {
      throw_validation(path + " is not in the media library (" + root_.string() +
                       "), so media.public_url cannot serve it: add it with `multivio media add " + path + "`");
    }
    return Staged{base_ + "/" + sigv4::uri_encode(relative.generic_string(), false), ""};
  }

  void remove(const Staged&) override {}

  std::string describe() const override { return "public_url " + base_; }

 private:
  std::string base_;
  fs::path root_;
};

std::string require(const std::string& value, const std::string& key) {
  if (value.empty()) {
    throw_usage("media.stage needs " + key + " to be set");
  }
  return value;
}

std::string credential(const StagerEnvironment& environment, const std::string& env_key,
                       const std::string& variable) {
  require(variable, env_key);
  const std::optional<std::string> value =
      environment.env ? environment.env(variable) : config::process_env(variable);
  if (!value || value->empty()) {
    throw_usage("media.stage is s3 but $" + variable + " (named by " + env_key + ") is not set");
  }
  return *value;
}

}  // namespace

std::unique_ptr<Stager> make_stager(const config::Config& config, http::Client& http) {
  return make_stager(config, http, StagerEnvironment{});
}

std::unique_ptr<Stager> make_stager(const config::Config& config, http::Client& http, StagerEnvironment environment) {
  const config::MediaStageConfig& cfg = config.media;
  if (cfg.stage.empty()) {
    return nullptr;
  }
  if (cfg.stage == "public_url") {
    require(cfg.public_url, "media.public_url");
    require(config.data_dir, "data_dir");
    return std::make_unique<PublicUrlStager>(cfg.public_url, config.data_dir);
  }
  if (cfg.stage == "s3") {
    require(cfg.s3_endpoint, "media.s3.endpoint");
    require(cfg.s3_bucket, "media.s3.bucket");
    require(cfg.s3_region, "media.s3.region");
    sigv4::Credentials credentials{credential(environment, "media.s3.access_key_env", cfg.s3_access_key_env),
                                   credential(environment, "media.s3.secret_key_env", cfg.s3_secret_key_env)};
    std::function<std::chrono::system_clock::time_point()> now = std::move(environment.now);
    if (!now) {
      now = [] { return std::chrono::system_clock::now(); };
    }
    return std::make_unique<S3Stager>(cfg, std::move(credentials), http, std::move(now));
  }
  throw_usage("media.stage must be s3 or public_url, not '" + cfg.stage + "'");
}

std::string staging_required_problem(const std::string& network) {
  return network +
         " fetches media from a public URL: set media.stage to s3 (with media.s3.endpoint, media.s3.bucket and "
         "credentials in $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY) or to public_url (with media.public_url) "
         "in the config";
}

}  // namespace multivio::media
