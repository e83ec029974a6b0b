// SPDX-License-Identifier: MIT
// Account services: init, add, resolve refs, list, remove.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/app/context.hpp"

namespace multivio::app {

struct InitOptions {
  std::string timezone;  // written to a new config file when given
};
struct InitResult {
  std::string config_file;
  std::string key_file;  // empty when the key comes from MULTIVIO_KEY
  std::string database;
  bool created_config = false;
  bool created_key = false;
  int schema_version = 0;
};
/// Idempotent: writes a config file when none exists, creates the key file
/// (0600) unless MULTIVIO_KEY is set, creates and migrates the database.
InitResult init(Context& ctx, const InitOptions& options);

struct AddAccountRequest {
  std::string platform;
  std::string name;  // default: "default"
  nlohmann::json options = nlohmann::json::object();  // checked by the adapter
  nlohmann::json secrets = nlohmann::json::object();  // sealed before storing
  std::string handle;  // as the network reported it while linking; may be empty
};
model::Account add_account(Context& ctx, AddAccountRequest request);

/// REF is a numeric id or "platform:name". Throws Error(not_found), or
/// Error(usage) for a malformed ref.
model::Account resolve_account(Context& ctx, std::string_view ref);
std::vector<model::Account> list_accounts(Context& ctx);
void remove_account(Context& ctx, std::string_view ref);
/// The opened secrets of an account (empty object when none).
nlohmann::json open_secrets(Context& ctx, const model::Account& account);
/// Seals and stores an account's whole secrets object in one write (new or
/// rotated tokens).
void save_secrets(Context& ctx, std::int64_t account_id, const nlohmann::json& secrets);

}  // namespace multivio::app
