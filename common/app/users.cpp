// SPDX-License-Identifier: MIT
#include "common/app/users.hpp"

#include <algorithm>
#include <cctype>

#include "common/error.hpp"

namespace multivio::app {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

store::User add_user(Context& ctx, const std::string& name) {
  const bool allowed = std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
  });
  if (name.empty() || name.size() > 64 || !allowed || all_digits(name)) {
    throw_usage("user name '" + name + "' must be 1-64 letters, digits, '.', '_' or '-', and not only digits");
  }
  return ctx.store().add_user(name, ctx.clock().now());
}

std::vector<store::User> list_users(Context& ctx) { return ctx.store().list_users(); }

store::User resolve_user(Context& ctx, std::string_view ref) {
  std::optional<store::User> user;
  if (all_digits(ref) && ref.size() < 19) {
    user = ctx.store().find_user(std::stoll(std::string(ref)));
  } else {
    user = ctx.store().find_user(std::string(ref));
  }
  if (!user) throw_not_found("user " + std::string(ref) + " does not exist (see 'multivio user list')");
  return *user;
}

void remove_user(Context& ctx, std::string_view ref) { ctx.store().remove_user(resolve_user(ctx, ref).id); }

nlohmann::json to_json(const store::User& user) {
  return {{"id", user.id}, {"name", user.name}, {"created_at", model::format_utc(user.created_at)}};
}

}  // namespace multivio::app
