// SPDX-License-Identifier: MIT
// Text and JSON views of `init` and `account` results.
#pragma once

#include <string>
#include <vector>

#include "cli/output/printer.hpp"
#include "common/app/accounts.hpp"

namespace multivio::cli::output {

void show_init(const Printer& out, const app::InitResult& result);
/// `account add`: the account (JSON), "Added account ..." (text), the ref (quiet).
void show_account_added(const Printer& out, const model::Account& account);
void show_accounts(const Printer& out, const std::vector<model::Account>& accounts);
void show_account(const Printer& out, const model::Account& account, const std::string& zone);
void show_account_removed(const Printer& out, const model::Account& account);

}  // namespace multivio::cli::output
