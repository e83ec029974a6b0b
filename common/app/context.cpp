// SPDX-License-Identifier: MIT
#include "common/app/context.hpp"

#include "common/schedule/when.hpp"

namespace multivio::app {

Context::Context(Options options) : options_(std::move(options)) {}
Context::~Context() = default;

const config::Config& Context::config() {
  if (!config_) reload_config();
  return *config_;
}

void Context::reload_config() {
  config::Config loaded = config::load(options_.config_path, options_.env);
  if (options_.database && !options_.database->empty()) {
    loaded.database = *options_.database;
    loaded.origins["database"] = "flag --db";
  }
  config_ = std::move(loaded);
}

store::Store& Context::store() {
  if (!store_) {
    store_ = store::open(config().database);
    store_->set_user(options_.user);
  }
  return *store_;
}

const crypto::Sealer& Context::sealer() {
  if (!sealer_) sealer_.emplace(crypto::load_key(options_.env("MULTIVIO_KEY"), config().key_file));
  return *sealer_;
}

http::Client& Context::http() {
  if (!http_) http_ = http::make_client();
  return *http_;
}

const schedule::Clock& Context::clock() const { return *clock_; }

std::string Context::zone() {
  std::string zone = schedule::effective_zone(options_.timezone, config().timezone, options_.env("TZ"));
  schedule::check_zone(zone);
  return zone;
}

std::unique_ptr<platforms::Adapter> Context::adapter(std::string_view platform) {
  return platforms::make_adapter(platform, platforms::Context{http(), config()});
}

schedule::RetryPolicy Context::retry_policy() {
  const auto& d = config().daemon;
  return schedule::RetryPolicy{d.max_attempts, d.retry_base, d.retry_max, 0.2};
}

}  // namespace multivio::app
