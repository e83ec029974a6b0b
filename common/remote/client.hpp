// SPDX-License-Identifier: MIT
// `multivio --remote URL`: the post, account, check and ai services of
// common/app, called over a multiviod REST listener instead of a local
// database. Every function answers the same types the local call does (the
// API's JSON read back with the from_json functions), so the CLI prints
// both the same way, and maps the API's {"error":{"code","message"}} back
// to the ErrorKind the local call would have thrown.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/app/ai.hpp"
#include "common/app/link.hpp"
#include "common/app/posts.hpp"
#include "common/http/client.hpp"

namespace multivio::remote {

struct Options {
  std::string url;    // base URL of the listener, e.g. https://multivio.example.com
  std::string token;  // API token (multivio token create); never logged or printed
  /// Time zone WHEN values (--at, --since, --until) are read in: the CLI's,
  /// not the daemon's. They travel as UTC instants.
  std::string zone = "UTC";
  std::chrono::milliseconds connect_timeout{10'000};
  /// Publishing and model calls wait for the networks: they get longer.
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds slow_timeout{300'000};
};

/// Throws Error(usage) for a URL that is not http(s)://, or plain http:// to
/// a host other than loopback (the token would cross the network in clear
/// text), and Error(auth) for an empty token.
void check_options(const Options& options);

/// The API's error body back to the error the local call would throw:
/// the code picks the kind (forbidden: auth, too_large: usage,
/// rate_limited: transient), the message is the server's. Without such a
/// body, http::classify decides.
Error error_from_response(const http::Response& response, std::string_view context);

/// Thread affinity: one Client per thread (it owns an http::Client).
class Client {
 public:
  explicit Client(Options options, std::unique_ptr<http::Client> http = http::make_client());

  // Posts. Flags the API has no field for (--media, --dry-run, --ai, ...)
  // are refused with Error(usage) naming the flag.
  app::NewPostResult new_post(const app::NewPostRequest& request);
  std::vector<model::Post> list_posts(const app::ListRequest& request);
  model::Post get_post(std::int64_t id);
  model::Post edit_post(const app::EditRequest& request);
  model::Post schedule_post(std::int64_t id, const std::string& when);
  model::Post cancel_post(std::int64_t id);
  void delete_post(std::int64_t id);
  model::Post retry_post(std::int64_t id);
  app::PublishOutcome publish_post(std::int64_t id);
  std::vector<app::CheckResult> check(const std::string& text, const std::vector<std::string>& to,
                                      const nlohmann::json& options);

  // Accounts. REF is an id, platform:name or an unambiguous platform, as locally.
  std::vector<model::Account> list_accounts();
  model::Account resolve_account(std::string_view ref);
  model::Account add_account(const app::AddAccountRequest& request);
  void remove_account(const model::Account& account);
  std::vector<app::AccountCheckResult> check_accounts(const std::vector<std::string>& refs);
  model::Account refresh_account(std::string_view ref);

  // AI. generate streams the text to request.on_delta when it is set.
  app::AiText generate(const app::GenerateRequest& request);
  std::vector<app::AiText> transform(const std::string& text, const std::vector<std::string>& networks,
                                     const app::Style& style, bool fit);
  std::vector<std::string> hashtags(const std::string& text, int count, const std::vector<std::string>& networks);

 private:
  nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json* body,
                      std::chrono::milliseconds timeout, int* status = nullptr);
  http::Request request(const std::string& method, const std::string& path, const nlohmann::json* body,
                        std::chrono::milliseconds timeout) const;
  std::string utc_when(const std::string& when) const;

  Options options_;
  std::unique_ptr<http::Client> http_;
};

// The inverses of the app's to_json for what the API answers.
app::CheckResult check_result_from_json(const nlohmann::json& doc);
/// `account` is the account the check was for (the answer names only its ref and id).
app::AccountCheckResult account_check_from_json(const nlohmann::json& doc, model::Account account);
app::AiText ai_text_from_json(const nlohmann::json& doc);
/// "usage" -> ErrorKind::usage, ...; nullopt for a name kind_name never gives.
std::optional<ErrorKind> kind_from_name(std::string_view name);

}  // namespace multivio::remote
