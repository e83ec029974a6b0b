// SPDX-License-Identifier: MIT
// Text and JSON output of `multivio user ...` and `multivio token ...`.
#pragma once

#include <vector>

#include "cli/output/printer.hpp"
#include "common/app/tokens.hpp"
#include "common/app/users.hpp"

namespace multivio::cli::output {

void show_user(const Printer& out, const store::User& user);
void show_users(const Printer& out, const std::vector<store::User>& users);
/// Prints the clear token once, on stdout, and a reminder on stderr.
void show_created_token(const Printer& out, const app::CreatedToken& created, model::Timestamp now);
void show_tokens(const Printer& out, const std::vector<store::ApiToken>& tokens, model::Timestamp now);

}  // namespace multivio::cli::output
