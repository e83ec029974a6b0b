// SPDX-License-Identifier: MIT
// The application services the CLI, the daemon and the REST listener call.
// Context opens what a command needs, lazily: a --help or a config error never
// opens the database or reads the key.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/config/config.hpp"
#include "common/crypto/crypto.hpp"
#include "common/http/client.hpp"
#include "common/platforms/platform.hpp"
#include "common/schedule/state.hpp"
#include "common/store/store.hpp"

namespace multivio::app {

struct Options {
  std::optional<std::string> config_path;  // --config
  std::optional<std::string> database;     // --db
  std::string timezone;                    // --tz
  config::EnvLookup env = config::process_env;
  /// Whose accounts and posts the store shows (store::Store::set_user): the
  /// CLI is the local user, the daemon's publishing loop every user.
  std::int64_t user = store::kLocalUser;
};

/// Thread affinity: one Context per thread.
class Context {
 public:
  explicit Context(Options options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Options& options() const { return options_; }
  /// Loaded on first use; throws Error(usage) for a bad config file.
  const config::Config& config();
  /// Replaces the loaded config (SIGHUP reload).
  void reload_config();
  /// Opens (and migrates) the database on first use.
  store::Store& store();
  /// Loads the key on first use; throws Error(auth) when missing or corrupt.
  const crypto::Sealer& sealer();
  http::Client& http();
  const schedule::Clock& clock() const;
  /// Time zone for reading and showing times (DESIGN §3 precedence).
  std::string zone();
  std::unique_ptr<platforms::Adapter> adapter(std::string_view platform);
  schedule::RetryPolicy retry_policy();

  /// Tests inject a clock; the Context does not own it.
  void set_clock(const schedule::Clock* clock) { clock_ = clock; }

 private:
  Options options_;
  std::optional<config::Config> config_;
  std::unique_ptr<store::Store> store_;
  std::optional<crypto::Sealer> sealer_;
  std::unique_ptr<http::Client> http_;
  schedule::SystemClock system_clock_;
  const schedule::Clock* clock_ = &system_clock_;
};

}  // namespace multivio::app
