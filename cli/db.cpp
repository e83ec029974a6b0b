// SPDX-License-Identifier: MIT
// `multivio db ...`: schema status, migrations and copying a database to
// another backend. The work is in common/app/db.cpp.
#include <memory>

#include "cli/cli.hpp"
#include "cli/output/db.hpp"
#include "common/app/db.hpp"

namespace multivio::cli {

void add_db_commands(CLI::App& root, Session& session) {
  auto* group = root.add_subcommand("db", "Inspect, migrate and copy the database (SQLite or PostgreSQL)");
  group->require_subcommand(1);
  examples(group, {"multivio db status", "multivio db migrate",
                   "multivio db copy --to postgresql://multivio@127.0.0.1:5432/multivio"});

  auto* status = group->add_subcommand(
      "status", "Show the backend, schema version, pending migrations and row counts (changes nothing)");
  examples(status, {"multivio db status", "multivio --db postgresql:///multivio db status --json"});
  session.on_run(status, [&session] {
    output::show_db_status(session.out(), app::db_status(session.ctx()));
    return 0;
  });

  auto* migrate = group->add_subcommand("migrate", "Apply pending schema migrations");
  examples(migrate, {"multivio db migrate", "multivio --json db migrate"});
  session.on_run(migrate, [&session] {
    output::show_db_migrated(session.out(), app::db_migrate(session.ctx()));
    return 0;
  });

  auto request = std::make_shared<app::CopyRequest>();
  auto* copy = group->add_subcommand(
      "copy", "Copy everything, ids and encrypted secrets included, to another database (SQLite or PostgreSQL)");
  copy->add_option("--to", request->to, "Destination database URL (migrated to the latest schema first)")
      ->required()
      ->type_name("URL");
  copy->add_flag("--force", request->force, "Replace the destination's rows when it is not empty");
  examples(copy, {"multivio db copy --to postgresql://multivio:PASSWORD@127.0.0.1:5432/multivio",
                  "multivio --db postgresql:///multivio db copy --to sqlite:///srv/backup/multivio.db --force",
                  "multivio --json db copy --to sqlite:///tmp/copy.db | jq '.tables'"});
  session.on_run(copy, [&session, request] {
    output::show_db_copied(session.out(), app::db_copy(session.ctx(), *request));
    return 0;
  });
}

}  // namespace multivio::cli
