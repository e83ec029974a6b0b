// SPDX-License-Identifier: MIT
// The multivio command line. run() builds the CLI11 tree (one add_*_commands
// per command group file), parses, runs the one selected command, and turns
// every error into one line on stderr plus the exit status of DESIGN §4.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/output/printer.hpp"
#include "common/app/context.hpp"
#include "common/remote/client.hpp"

namespace multivio::cli {

/// Options accepted before or after any subcommand.
struct GlobalOptions {
  std::string config;    // --config
  std::string database;  // --db
  std::string timezone;  // --tz
  std::string as_user;   // --as: act as this user instead of "local"
  std::string remote;    // --remote: a multiviod REST listener instead of the database
  std::string api_token; // --api-token or MULTIVIO_API_TOKEN, for --remote
  bool json = false;
  bool quiet = false;
  bool no_color = false;
};

/// What the commands of one invocation share. The Context is created on first
/// use so --help, --version and parse errors never read the config, the key
/// or the database.
class Session {
 public:
  GlobalOptions globals;

  app::Context& ctx();
  /// Valid once parsing is done (it depends on --json, -q, --no-color).
  const output::Printer& out();
  /// The API client with --remote, else nullptr: commands call it instead
  /// of common/app and print its answers the same way.
  remote::Client* remote();
  /// Time zone for reading and showing times.
  std::string zone() { return ctx().zone(); }

  /// Registers the action run when `command` is the selected leaf subcommand.
  /// An action returns the exit status; failures are thrown as multivio::Error.
  void on_run(const CLI::App* command, std::function<int()> action) { actions_[command] = std::move(action); }
  const std::function<int()>* action(const CLI::App* command) const;

 private:
  std::unique_ptr<app::Context> ctx_;
  std::optional<output::Printer> out_;
  std::unique_ptr<remote::Client> remote_;
  std::map<const CLI::App*, std::function<int()>> actions_;
};

/// Accepts 1, 2, ...; otherwise "expected <what>, got 'x'" (CLI11's
/// PositiveNumber prints its whole double range instead).
CLI::Validator positive(const std::string& what = "a positive whole number");

/// Sets a help footer of example invocations ("Examples:" plus one per line).
void examples(CLI::App* command, std::initializer_list<const char*> lines);

// One per command group file.
void add_init_command(CLI::App& root, Session& session);
void add_account_commands(CLI::App& root, Session& session);
void add_post_commands(CLI::App& root, Session& session);
void add_ai_commands(CLI::App& root, Session& session);
void add_db_commands(CLI::App& root, Session& session);
void add_user_commands(CLI::App& root, Session& session);
void add_token_commands(CLI::App& root, Session& session);
void add_media_commands(CLI::App& root, Session& session);
void add_completion_command(CLI::App& root, Session& session);

int run(int argc, char** argv);

}  // namespace multivio::cli
