// SPDX-License-Identifier: MIT
// Text and JSON views of `init` and `account` results.
#pragma once

#include <string>
#include <vector>

#include "cli/output/printer.hpp"
#include "common/app/accounts.hpp"
#include "common/app/link.hpp"
#include "common/app/token_health.hpp"

namespace multivio::cli::output {

void show_init(const Printer& out, const app::InitResult& result);
/// `account add`: the account (JSON), "Added account ..." (text), the ref (quiet).
void show_account_added(const Printer& out, const model::Account& account);
void show_accounts(const Printer& out, const std::vector<model::Account>& accounts);
void show_account(const Printer& out, const model::Account& account, const std::string& zone);
void show_account_removed(const Printer& out, const model::Account& account);
/// `account check`: one row per account (JSON: an array of
/// {account, ok, handle, expires_at, scopes, detail | error, kind}).
void show_account_checks(const Printer& out, const std::vector<app::AccountCheckResult>& results,
                         const std::string& zone);
/// `account expiring`: what expires when and what to do.
void show_expiring_accounts(const Printer& out, const std::vector<app::ExpiringAccount>& accounts,
                            const std::string& zone);
/// `account refresh`: the account (JSON) or one line.
void show_account_refreshed(const Printer& out, const model::Account& account);

}  // namespace multivio::cli::output
