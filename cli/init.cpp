// SPDX-License-Identifier: MIT
// `multivio init`: config file, key file and database, idempotently.
#include <memory>

#include "cli/cli.hpp"
#include "cli/output/accounts.hpp"
#include "common/app/accounts.hpp"

namespace multivio::cli {

void add_init_command(CLI::App& root, Session& session) {
  auto* cmd = root.add_subcommand("init", "Create the config file, the secret key and the database (safe to re-run)");
  auto timezone = std::make_shared<std::string>();
  // Same variable as the global --db, so `multivio --db X init` and
  // `multivio init --db X` mean the same; it is listed here for discoverability.
  cmd->add_option("--db", session.globals.database,
                  "Database URL, e.g. sqlite:///srv/multivio/multivio.db")
      ->type_name("URL");
  cmd->add_option("--timezone", *timezone, "Time zone written to a new config file, e.g. Europe/Berlin")
      ->type_name("ZONE");
  examples(cmd, {"multivio init",
                 "multivio init --timezone Europe/Berlin",
                 "multivio init --db sqlite:///srv/multivio/multivio.db",
                 "MULTIVIO_KEY=$(openssl rand -base64 32) multivio --json init   # CI: key from the environment"});

  session.on_run(cmd, [&session, timezone] {
    app::InitOptions options;
    options.timezone = *timezone;
    output::show_init(session.out(), app::init(session.ctx(), options));
    return 0;
  });
}

}  // namespace multivio::cli
