// SPDX-License-Identifier: MIT
// `multivio token create|list|revoke`: API tokens for the REST listener
// (`multiviod --listen`). The work is in common/app/tokens.cpp.
#include <memory>

#include "cli/cli.hpp"
#include "cli/output/users.hpp"
#include "common/app/tokens.hpp"

namespace multivio::cli {

void add_token_commands(CLI::App& root, Session& session) {
  auto* group = root.add_subcommand("token", "Create, list and revoke API tokens for the REST listener");
  group->require_subcommand(1);
  examples(group, {"multivio token create --user alice --scope posts:read,posts:write --expires 30d",
                   "multivio token list --user alice", "multivio token revoke 3"});

  auto request = std::make_shared<app::NewTokenRequest>();
  auto expires = std::make_shared<std::string>();
  auto* create = group->add_subcommand("create", "Create a token; it is printed once and stored only as a hash");
  create->add_option("--user", request->user, "User id or name that the token acts as")->required();
  create
      ->add_option("--scope", request->scopes,
                   "Comma-separated scopes: accounts:read, accounts:write, posts:read, posts:write, ai, admin")
      ->required()
      ->type_name("SCOPES");
  create->add_option("--expires", *expires, "Lifetime, e.g. 30d or 12h (default: never)")->type_name("IN");
  create->add_option("--name", request->name, "A label shown by 'token list'");
  examples(create, {"multivio token create --user alice --scope posts:read",
                    "multivio token create --user alice --scope posts:read,posts:write --expires 30d --name ci",
                    "multivio --json token create --user bob --scope admin | jq -r .token"});
  session.on_run(create, [&session, request, expires] {
    if (!expires->empty()) request->expires = *expires;
    const auto created = app::create_token(session.ctx(), *request);
    output::show_created_token(session.out(), created, session.ctx().clock().now());
    return 0;
  });

  auto user = std::make_shared<std::string>();
  auto* list = group->add_subcommand("list", "List tokens (never their secrets)");
  list->add_option("--user", *user, "Only this user's tokens (id or name)");
  examples(list, {"multivio token list", "multivio token list --user alice --json"});
  session.on_run(list, [&session, user] {
    const auto tokens =
        app::list_tokens(session.ctx(), user->empty() ? std::nullopt : std::optional<std::string>(*user));
    output::show_tokens(session.out(), tokens, session.ctx().clock().now());
    return 0;
  });

  auto id = std::make_shared<std::int64_t>(0);
  auto* revoke = group->add_subcommand("revoke", "Revoke a token; requests with it answer 401 from then on");
  revoke->add_option("ID", *id, "Token id (see 'token list')")->required()->check(positive("a token id"));
  examples(revoke, {"multivio token revoke 3"});
  session.on_run(revoke, [&session, id] {
    app::revoke_token(session.ctx(), *id);
    session.out().note("token " + std::to_string(*id) + " revoked");
    if (session.out().json()) session.out().json_doc({{"revoked", *id}});
    return 0;
  });
}

}  // namespace multivio::cli
