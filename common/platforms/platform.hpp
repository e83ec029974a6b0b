// SPDX-License-Identifier: MIT
// The one interface every network adapter implements, and the registry that
// names them. Adding a network = one folder under platforms/ plus one line in
// registry.cpp. Adapters throw multivio::Error (http::classify for HTTP
// failures) and never pick exit codes or HTTP statuses.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/model/model.hpp"

namespace multivio::http {
class Client;
}
namespace multivio::config {
struct Config;
}

namespace multivio::platforms {

struct Capabilities {
  std::size_t max_length = 0;  // 0: no limit
  std::string length_unit = "characters";  // what max_length counts
  bool media = false;
  bool threads = false;
  bool idempotency_key = false;  // the network dedupes retries by key
  bool find_recent = false;      // can list recent posts to reconcile `unknown`
  bool needs_credentials = true;
};

struct ValidationReport {
  std::size_t length = 0;
  std::size_t limit = 0;  // 0: none
  std::vector<std::string> problems;
  int parts = 1;  // thread size
  bool ok() const { return problems.empty(); }
};

/// Everything one publish call needs. `secrets` is the opened secrets object.
struct PublishRequest {
  const model::Post& post;
  const model::Target& target;
  const model::Account& account;
  const nlohmann::json& secrets;
  std::string text;             // post text or the target's variant
  std::string idempotency_key;  // stable for the target across attempts
};

struct PublishResult {
  std::vector<std::string> remote_ids;
  std::string remote_url;
  int http_status = 0;
};

/// A request exactly as it would be sent, for --dry-run. Secrets are shown
/// redacted ("***").
struct Preview {
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  nlohmann::json to_json() const;
};

struct RemotePost {
  std::string id;
  std::string text;
  std::string url;
  model::Timestamp created_at{};
};

/// Side effects adapters may use; owned by the caller, outlive the adapter.
struct Context {
  http::Client& http;
  const config::Config& config;
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::string_view name() const = 0;
  /// `account` may be null when validating against a bare network name.
  virtual Capabilities capabilities(const model::Account* account) const = 0;
  /// Validates account options given to `account add` and normalises them in
  /// place (defaults filled in). Throws Error(usage) naming the bad option.
  virtual void configure_account(nlohmann::json& options) const = 0;
  /// Moves options that work as credentials (a webhook URL with a token in
  /// its path) into the secrets, which are stored sealed, leaving a display
  /// form behind. Called after configure_account.
  virtual void move_secret_options(nlohmann::json& options, nlohmann::json& secrets) const;
  virtual ValidationReport validate(std::string_view text, const std::vector<std::string>& media,
                                    const model::Account* account) const = 0;
  /// Performs the network call(s). Throws Error on failure.
  virtual PublishResult publish(const PublishRequest& request) = 0;
  /// What publish would send, without sending it.
  virtual Preview preview(const PublishRequest& request) const = 0;
  /// New secrets after refreshing tokens, or nullopt when nothing to refresh.
  virtual std::optional<nlohmann::json> refresh(const model::Account& account, const nlohmann::json& secrets);
  /// Recent posts of the account, newest first, for reconciling `unknown`.
  virtual std::vector<RemotePost> find_recent(const model::Account& account, const nlohmann::json& secrets,
                                              std::size_t limit);
};

/// The common part of Adapter::configure_account: null becomes {}, null
/// values are dropped, and anything but an object or a key outside `known`
/// is Error(usage) "<platform>: unknown option 'x' (known: a, b)".
void check_option_keys(std::string_view platform, nlohmann::json& options,
                       std::initializer_list<std::string_view> known);

/// Registry: names in a fixed order ("feed", "webhook", ...).
std::vector<std::string_view> platform_names();
bool is_platform(std::string_view name);
/// Throws Error(usage) "unknown platform 'twiter' (did you mean 'twitter'?)".
std::unique_ptr<Adapter> make_adapter(std::string_view name, const Context& context);

}  // namespace multivio::platforms
