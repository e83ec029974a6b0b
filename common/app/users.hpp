// SPDX-License-Identifier: MIT
// User services (`multivio user add|list|remove`). Every account, post and API
// token belongs to a user; the local CLI acts as store::kLocalUser ("local").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/app/context.hpp"

namespace multivio::app {

/// Throws Error(usage) for a name that is empty, longer than 64 bytes, not
/// [A-Za-z0-9._-] or all digits (a ref that is all digits is an id), or taken.
store::User add_user(Context& ctx, const std::string& name);
std::vector<store::User> list_users(Context& ctx);
/// REF is a numeric id or a name; Error(not_found) when there is none.
store::User resolve_user(Context& ctx, std::string_view ref);
/// Removes the user and its tokens; Error(usage) for the local user and while
/// it still owns accounts or posts.
void remove_user(Context& ctx, std::string_view ref);

nlohmann::json to_json(const store::User& user);

}  // namespace multivio::app
