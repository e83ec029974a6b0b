// SPDX-License-Identifier: MIT
// `multivio user add|list|remove`: the users that own accounts, posts and API
// tokens for the REST listener. The work is in common/app/users.cpp.
#include <memory>

#include "cli/cli.hpp"
#include "cli/output/users.hpp"
#include "common/app/users.hpp"

namespace multivio::cli {

void add_user_commands(CLI::App& root, Session& session) {
  auto* group = root.add_subcommand("user", "Manage the users that own accounts, posts and API tokens");
  group->require_subcommand(1);
  examples(group, {"multivio user add alice", "multivio user list", "multivio user remove alice"});

  auto name = std::make_shared<std::string>();
  auto* add = group->add_subcommand("add", "Add a user (the local CLI itself is the user 'local')");
  add->add_option("NAME", *name, "Letters, digits, '.', '_' or '-'")->required();
  examples(add, {"multivio user add alice", "multivio --json user add bob"});
  session.on_run(add, [&session, name] {
    output::show_user(session.out(), app::add_user(session.ctx(), *name));
    return 0;
  });

  auto* list = group->add_subcommand("list", "List users");
  examples(list, {"multivio user list", "multivio --json user list"});
  session.on_run(list, [&session] {
    output::show_users(session.out(), app::list_users(session.ctx()));
    return 0;
  });

  auto ref = std::make_shared<std::string>();
  auto* remove = group->add_subcommand("remove", "Remove a user that owns no accounts or posts, with its tokens");
  remove->add_option("USER", *ref, "User id or name")->required();
  examples(remove, {"multivio user remove alice", "multivio user remove 2"});
  session.on_run(remove, [&session, ref] {
    app::remove_user(session.ctx(), *ref);
    session.out().note("user " + *ref + " removed");
    if (session.out().json()) session.out().json_doc({{"removed", *ref}});
    return 0;
  });
}

}  // namespace multivio::cli
