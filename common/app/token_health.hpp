// SPDX-License-Identifier: MIT
// Token health for every network: when a refreshable token is due for a
// refresh (80% of its lifetime, or `daemon.token_refresh_margin` before it
// expires), the daemon's refresh pass, the publisher's guard against a token
// known to be expired, and `multivio account expiring`.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/app/context.hpp"

namespace multivio::platforms {
class Adapter;
}

namespace multivio::app {

/// Secrets' `expires_at` (epoch seconds), when stored.
std::optional<model::Timestamp> token_expiry(const nlohmann::json& secrets);

/// When a refreshable token should be refreshed: `margin` before it expires
/// when margin > 0; else at 80% of its lifetime when `issued_at` is known;
/// else 10 minutes before it expires. nullopt when it does not expire.
std::optional<model::Timestamp> refresh_due_at(const nlohmann::json& secrets, std::chrono::milliseconds margin);

struct RefreshPass {
  int refreshed = 0;
  int failed = 0;  // refused (account marked as needing a person) or unreachable
};

/// Refreshes every account's token that is due at `now` (every user's: the
/// daemon's store is unscoped). A refusal marks the account unhealthy with a
/// re-link note; a network failure is logged and tried again next pass.
RefreshPass refresh_due_tokens(Context& ctx, model::Timestamp now);

/// Before publishing: a token known to be expired (or within 30 s of it) is
/// refreshed first when the network can, and otherwise is Error(auth) naming
/// the account and what to do, without calling the network.
/// `secrets` is replaced by the fresh ones.
void ensure_fresh_token(Context& ctx, platforms::Adapter& adapter, const model::Account& account,
                        nlohmann::json& secrets, model::Timestamp now);

/// One account whose credentials need a person soon.
struct ExpiringAccount {
  model::Account account;
  std::optional<model::Timestamp> expires_at;  // the access token's
  bool refreshable = false;
  std::string reason;  // one sentence: what expires when, and what to do
};

/// Accounts (of the current user) whose credentials stop working within
/// `within` unless a person acts: tokens that cannot be refreshed and expire
/// in the window, tokens already expired, accounts marked as needing
/// re-linking. Refreshable tokens the daemon renews are not listed.
std::vector<ExpiringAccount> expiring_accounts(Context& ctx, std::chrono::milliseconds within);

nlohmann::json to_json(const ExpiringAccount& expiring);

}  // namespace multivio::app
