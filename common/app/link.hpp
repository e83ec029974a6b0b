// SPDX-License-Identifier: MIT
// Linking accounts interactively (`account add NETWORK --oauth`, `--oauth1`)
// and asking networks about linked accounts (`account check`, `account
// refresh`). The flows are network-neutral: each adapter says where its
// endpoints are and what to keep (platforms::Adapter::oauth2_link & co.).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/app/accounts.hpp"
#include "common/platforms/platform.hpp"

namespace multivio::app {

/// The terminal's side of an interactive flow, supplied by the CLI.
struct LinkPrompt {
  /// Shows the URL the user must open (and may open a browser).
  std::function<void(const std::string& url, bool browser)> show_url;
  /// Reads one line the user pastes (a redirect URL, a code or a PIN).
  std::function<std::string(const std::string& prompt)> read_line;
};

struct OAuth2LinkRequest {
  AddAccountRequest account;  // platform, name, options (secrets come from the flow)
  /// true: print the URL and read the redirect URL (or code) the user pastes,
  /// for SSH sessions; false: a loopback receiver on 127.0.0.1 takes it.
  bool no_browser = false;
  /// Loopback port; 0: platforms.NAME.redirect_port, else random (with
  /// no_browser 8765: the pasted URL must match a registered one).
  int port = 0;
  std::chrono::seconds timeout{300};
};
/// Authorization code + PKCE (S256) with a checked state; stores the account
/// with the granted tokens and the handle the network reports.
model::Account link_oauth2(Context& ctx, OAuth2LinkRequest request, const LinkPrompt& prompt);

struct OAuth1LinkRequest {
  AddAccountRequest account;
  std::string consumer_key, consumer_secret;
  /// Token credentials the user already has; empty: the PIN flow asks the
  /// user to approve the app and paste the PIN.
  std::string token, token_secret;
};
model::Account link_oauth1(Context& ctx, OAuth1LinkRequest request, const LinkPrompt& prompt);

struct AccountCheckResult {
  model::Account account;
  bool ok = false;
  platforms::AccountCheck check;  // when ok
  std::string problem;            // when not ok: one sentence
  ErrorKind kind = ErrorKind::permanent;  // when not ok
};
/// {"account", "id", "ok"} plus handle, expires_at, scopes and detail when
/// ok, or error, kind and relink (credentials refused) when not: the form
/// `account check --json` and the REST API share.
nlohmann::json to_json(const AccountCheckResult& result);

/// Asks each account's network who it is. A working account is marked
/// healthy again; credentials the network rejects mark it unhealthy. Never
/// throws for one account's failure: it is reported in its result.
std::vector<AccountCheckResult> check_accounts(Context& ctx, const std::vector<std::string>& refs);

/// Refreshes the account's tokens now and stores them; Error(usage) when the
/// network has nothing to refresh.
model::Account refresh_account(Context& ctx, std::string_view ref);

}  // namespace multivio::app
