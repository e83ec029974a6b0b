// SPDX-License-Identifier: MIT
#include "common/app/token_health.hpp"

#include <spdlog/spdlog.h>

#include "common/app/accounts.hpp"
#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/platforms/platform.hpp"

namespace multivio::app {

namespace {

using namespace std::chrono_literals;

std::optional<model::Timestamp> seconds_field(const nlohmann::json& secrets, const char* key) {
  const auto it = secrets.find(key);
  if (it == secrets.end() || !it->is_number_integer()) return std::nullopt;
  return model::Timestamp(std::chrono::seconds(it->get<std::int64_t>()));
}

// A person must act: "link it again" is the one fix for an expired or
// refused token, whatever the network.
std::string relink_hint(const model::Account& account) {
  return "link it again with 'multivio account add " + account.platform + " --name " + account.name +
         " --oauth' (or new tokens)";
}

}  // namespace

std::optional<model::Timestamp> token_expiry(const nlohmann::json& secrets) {
  return seconds_field(secrets, "expires_at");
}

std::optional<model::Timestamp> refresh_due_at(const nlohmann::json& secrets, std::chrono::milliseconds margin) {
  const auto expires = token_expiry(secrets);
  if (!expires) return std::nullopt;
  if (margin > 0ms) return *expires - margin;
  if (const auto issued = seconds_field(secrets, "issued_at"); issued && *issued < *expires) {
    return *issued + (*expires - *issued) * 4 / 5;
  }
  return *expires - std::chrono::milliseconds(10min);
}

RefreshPass refresh_due_tokens(Context& ctx, model::Timestamp now) {
  RefreshPass pass;
  const auto margin = ctx.config().daemon.token_refresh_margin;
  for (const auto& account : ctx.store().list_accounts()) {
    // An account already waiting for a person is not retried every pass.
    if (account.secrets_sealed.empty() || !account.healthy) continue;
    nlohmann::json secrets;
    std::unique_ptr<platforms::Adapter> adapter;
    try {
      secrets = open_secrets(ctx, account);
      const auto due = refresh_due_at(secrets, margin);
      if (!due || now < *due) continue;
      adapter = ctx.adapter(account.platform);
      if (!adapter->can_refresh(secrets)) continue;  // `account expiring` reports it
      const auto fresh = adapter->refresh(account, secrets);
      if (!fresh) continue;
      save_secrets(ctx, account.id, *fresh);
      ++pass.refreshed;
      const auto until = token_expiry(*fresh);
      spdlog::info("token refreshed account={} expires={}", account.ref(),
                   until ? model::format_utc(*until) : std::string("never"));
    } catch (const Error& e) {
      ++pass.failed;
      if (e.kind() == ErrorKind::auth) {
        ctx.store().set_account_health(account.id, false, std::string(e.what()) + "; " + relink_hint(account));
        spdlog::warn("token refresh refused account={}: {}", account.ref(), e.what());
      } else {
        spdlog::warn("token refresh failed account={} (will try again): {}", account.ref(), e.what());
      }
    }
  }
  return pass;
}

void ensure_fresh_token(Context& ctx, platforms::Adapter& adapter, const model::Account& account,
                        nlohmann::json& secrets, model::Timestamp now) {
  const auto expires = token_expiry(secrets);
  if (!expires || *expires > now + std::chrono::milliseconds(30s)) return;
  if (!adapter.can_refresh(secrets)) {
    throw_auth(account.ref() + ": its access token expired " + model::format_utc(*expires) + " and cannot be " +
               "refreshed; " + relink_hint(account));
  }
  if (auto fresh = adapter.refresh(account, secrets)) {
    save_secrets(ctx, account.id, *fresh);
    secrets = std::move(*fresh);
  }
}

std::vector<ExpiringAccount> expiring_accounts(Context& ctx, std::chrono::milliseconds within) {
  const auto now = ctx.clock().now();
  std::vector<ExpiringAccount> out;
  for (const auto& account : ctx.store().list_accounts()) {
    ExpiringAccount e;
    e.account = account;
    if (!account.healthy) {
      e.reason = "needs a person: " + (account.health_note.empty() ? relink_hint(account) : account.health_note);
      out.push_back(std::move(e));
      continue;
    }
    if (account.secrets_sealed.empty()) continue;
    const nlohmann::json secrets = open_secrets(ctx, account);
    e.expires_at = token_expiry(secrets);
    if (!e.expires_at) continue;
    auto adapter = ctx.adapter(account.platform);
    e.refreshable = adapter->can_refresh(secrets);
    const std::string when = model::format_utc(*e.expires_at);
    if (*e.expires_at <= now) {
      e.reason = "token expired " + when + (e.refreshable ? "; the daemon refreshes it on its next pass or publish"
                                                          : "; " + relink_hint(account));
      // A refreshable one is the daemon's job, unless it is not running.
      out.push_back(std::move(e));
    } else if (!e.refreshable && *e.expires_at <= now + within) {
      e.reason = "token expires " + when + " and cannot be refreshed; " + relink_hint(account) + " before then";
      out.push_back(std::move(e));
    }
  }
  return out;
}

nlohmann::json to_json(const ExpiringAccount& e) {
  return {{"account", e.account.ref()},
          {"id", e.account.id},
          {"expires_at", e.expires_at ? nlohmann::json(model::format_utc(*e.expires_at)) : nlohmann::json()},
          {"refreshable", e.refreshable},
          {"healthy", e.account.healthy},
          {"reason", e.reason}};
}

}  // namespace multivio::app
