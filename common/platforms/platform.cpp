// SPDX-License-Identifier: MIT
#include "common/platforms/platform.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/error.hpp"

namespace multivio::platforms {

std::optional<nlohmann::json> Adapter::refresh(const model::Account&, const nlohmann::json&) {
  return std::nullopt;  // nothing expires
}

std::vector<RemotePost> Adapter::find_recent(const model::Account&, const nlohmann::json&, std::size_t) {
  return {};
}

nlohmann::json Preview::to_json() const {
  nlohmann::json h = nlohmann::json::object();
  for (const auto& [name, value] : headers) {
    h[name] = value;
  }
  // A JSON body is shown as JSON so --dry-run --json output stays one document.
  nlohmann::json b = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (b.is_discarded()) {
    b = body;
  }
  return {{"method", method}, {"url", url}, {"headers", std::move(h)}, {"body", std::move(b)}};
}

void Adapter::move_secret_options(nlohmann::json&, nlohmann::json&) const {}

AccountCheck Adapter::check_account(const model::Account& account, const nlohmann::json&, const SaveSecrets&) {
  AccountCheck check;
  check.handle = account.handle;
  check.detail = "local target; nothing to ask a network";
  return check;
}

std::optional<OAuth2Link> Adapter::oauth2_link(const nlohmann::json&, const std::string&, LinkStash&) {
  return std::nullopt;
}

nlohmann::json Adapter::secrets_from_tokens(const oauth::TokenSet& tokens, const nlohmann::json&, std::string&) {
  return token_secrets(tokens);
}

std::optional<oauth::Oauth1Server> Adapter::oauth1_server(const nlohmann::json&) const { return std::nullopt; }

void real_sleep(std::chrono::milliseconds duration) { std::this_thread::sleep_for(duration); }

bool Adapter::can_refresh(const nlohmann::json& secrets) const {
  const auto it = secrets.find("refresh_token");
  return it != secrets.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
}

nlohmann::json token_secrets(const oauth::TokenSet& tokens) {
  nlohmann::json out = {{"access_token", tokens.access_token}};
  // With the expiry, the lifetime: the daemon refreshes at 80% of it.
  if (tokens.expires_at) {
    out["issued_at"] = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
  }
  if (!tokens.refresh_token.empty()) out["refresh_token"] = tokens.refresh_token;
  if (tokens.expires_at) out["expires_at"] = tokens.expires_at->time_since_epoch().count();
  if (!tokens.scope.empty()) out["scope"] = tokens.scope;
  return out;
}

const nlohmann::json* layered_option(const PublishRequest& request, std::string_view key) {
  for (const nlohmann::json* options : {&request.target.options, &request.post.options, &request.account.options}) {
    if (!options->is_object()) continue;
    if (auto it = options->find(key); it != options->end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

std::string layered_string(const PublishRequest& request, std::string_view key, std::string fallback) {
  const nlohmann::json* v = layered_option(request, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : fallback;
}

bool layered_bool(const PublishRequest& request, std::string_view key, bool fallback) {
  const nlohmann::json* v = layered_option(request, key);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
}

const nlohmann::json* find_option(const nlohmann::json& options, const model::Account* account, std::string_view key) {
  for (const nlohmann::json* layer : {&options, account != nullptr ? &account->options : nullptr}) {
    if (layer == nullptr || !layer->is_object()) continue;
    if (auto it = layer->find(key); it != layer->end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

std::string option_string(const nlohmann::json& options, const model::Account* account, std::string_view key,
                          std::string fallback) {
  const nlohmann::json* v = find_option(options, account, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : fallback;
}

bool option_bool(const nlohmann::json& options, const model::Account* account, std::string_view key, bool fallback) {
  const nlohmann::json* v = find_option(options, account, key);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
}

nlohmann::json publish_options(const model::Post& post, const model::Target& target) {
  nlohmann::json merged = post.options.is_object() ? post.options : nlohmann::json::object();
  if (target.options.is_object()) {
    for (const auto& [key, value] : target.options.items()) merged[key] = value;
  }
  return merged;
}

std::string alt_text(const model::Post& post, std::size_t index) {
  if (!post.options.is_object()) return {};
  const auto it = post.options.find("alt");
  if (it == post.options.end() || !it->is_array() || index >= it->size()) return {};
  const auto& v = (*it)[index];
  return v.is_string() ? v.get<std::string>() : std::string();
}

void check_option_keys(std::string_view platform, nlohmann::json& options,
                       std::initializer_list<std::string_view> known) {
  const std::string name(platform);
  if (options.is_null()) options = nlohmann::json::object();
  if (!options.is_object()) throw_usage(name + ": account options must be an object");
  for (auto it = options.begin(); it != options.end();) {
    if (it->is_null()) {
      it = options.erase(it);
      continue;
    }
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      std::string list;
      for (const auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      throw_usage(name + ": unknown option '" + it.key() + "' (known: " + list + ")");
    }
    ++it;
  }
}

}  // namespace multivio::platforms
