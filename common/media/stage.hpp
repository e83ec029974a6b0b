// SPDX-License-Identifier: MIT
// Media staging: Instagram and Threads fetch media from a public URL instead
// of taking an upload, so a local file must first be made reachable.
// `media.stage: s3` uploads to any S3-compatible store (AWS S3, Cloudflare R2,
// MinIO) with Signature Version 4 and hands out a presigned GET URL;
// `media.stage: public_url` maps the library file to a URL under which the
// user already serves the media directory.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace multivio::config {
struct Config;
}
namespace multivio::http {
class Client;
}

namespace multivio::media {

struct Staged {
  std::string url;  // what the network GETs
  std::string key;  // what remove() needs (the object key); empty: nothing to remove
};

class Stager {
 public:
  virtual ~Stager() = default;
  /// Makes `path` reachable; the URL stays valid for at least `ttl`.
  /// Throws Error (transient for network failures, permanent/validation for
  /// refusals) naming the file. Never ErrorKind::auth, even when the store
  /// rejects its credentials: auth would blame the network account.
  virtual Staged stage(const std::string& path, const std::string& content_type, std::chrono::seconds ttl) = 0;
  /// Deletes what stage() uploaded; a no-op for public_url. Best effort: a
  /// failure is logged by the caller, never fails a publish that succeeded.
  virtual void remove(const Staged& staged) = 0;
  /// "s3 https://r2.example/bucket", "public_url https://cdn.example/media".
  virtual std::string describe() const = 0;
};

/// The stager `media.stage` configures, or nullptr when none is configured.
/// Throws Error(usage) naming the missing setting when the section is
/// incomplete. `http` must outlive the stager.
std::unique_ptr<Stager> make_stager(const config::Config& config, http::Client& http);

/// What a stager reads from outside the config; tests replace it.
struct StagerEnvironment {
  /// Looks up the credential variables media.s3.*_env name; empty: the process environment.
  std::function<std::optional<std::string>(const std::string&)> env;
  /// The signing clock; empty: the system clock.
  std::function<std::chrono::system_clock::time_point()> now;
};
/// make_stager() with the environment and clock replaced.
std::unique_ptr<Stager> make_stager(const config::Config& config, http::Client& http, StagerEnvironment environment);

/// The validation problem a network that needs staging reports when
/// make_stager() returns nullptr: says what to configure.
std::string staging_required_problem(const std::string& network);

}  // namespace multivio::media
