// SPDX-License-Identifier: MIT
// Builds the command tree, parses, runs the selected command, and is the one
// place where errors become a line on stderr and an exit status (style §8).
#include "cli/cli.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>
#include <vector>

#include "cli/output/help_formatter.hpp"
#include "cli/output/table.hpp"
#include "common/app/users.hpp"
#include "common/error.hpp"
#include "common/text/text.hpp"
#include "common/log/log.hpp"

#ifndef MULTIVIO_VERSION
#define MULTIVIO_VERSION "unknown"
#endif

namespace multivio::cli {

app::Context& Session::ctx() {
  if (!ctx_) {
    app::Options options;
    if (!globals.config.empty()) options.config_path = globals.config;
    if (!globals.database.empty()) options.database = globals.database;
    options.timezone = globals.timezone;
    ctx_ = std::make_unique<app::Context>(std::move(options));
    // Library log lines go to stderr, never into a --json document. The CLI
    // prints results itself, so info lines ("published post=...") would
    // repeat them: it logs warnings unless the config or MULTIVIO_LOG_LEVEL
    // asks for a level explicitly.
    const auto& cfg = ctx_->config();
    const auto origin = cfg.origins.find("log.level");
    const bool explicit_level = origin != cfg.origins.end() && origin->second != "default";
    log::setup("multivio", explicit_level ? cfg.log.level : globals.quiet ? "error" : "warn", cfg.log.format);
    // Whoever runs the CLI can read the whole database anyway; --as only
    // picks whose accounts and posts the commands work on.
    if (!globals.as_user.empty()) ctx_->store().set_user(app::resolve_user(*ctx_, globals.as_user).id);
  }
  return *ctx_;
}

const output::Printer& Session::out() {
  if (!out_) out_.emplace(output::Style{globals.json, globals.quiet, output::color_wanted(globals.no_color)});
  return *out_;
}

remote::Client* Session::remote() {
  if (globals.remote.empty()) return nullptr;
  if (!remote_) {
    remote::Options options;
    options.url = globals.remote;
    options.token = globals.api_token;
    options.zone = zone();
    remote_ = std::make_unique<remote::Client>(std::move(options));
  }
  return remote_.get();
}

const std::function<int()>* Session::action(const CLI::App* command) const {
  auto it = actions_.find(command);
  return it == actions_.end() ? nullptr : &it->second;
}

CLI::Validator positive(const std::string& what) {
  return CLI::Validator(
      [what](std::string& value) -> std::string {
        const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
        return digits && value.find_first_not_of('0') != std::string::npos
                   ? std::string()
                   : "expected " + what + ", got '" + value + "'";
      },
      "");
}

void examples(CLI::App* command, std::initializer_list<const char*> lines) {
  std::string footer = "Examples:";
  for (const char* line : lines) footer.append("\n  ").append(line);
  command->footer(footer);
}

namespace {

// --json must shape errors that happen before or during parsing too, so it
// is looked for in the raw arguments (up to a "--" separator).
bool json_in_argv(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) return false;
    if (std::strcmp(argv[i], "--json") == 0) return true;
  }
  return false;
}

CLI::App* selected_leaf(CLI::App& root) {
  CLI::App* app = &root;
  while (!app->get_subcommands().empty()) app = app->get_subcommands().front();
  return app;
}

std::string command_path(const CLI::App* app) {
  std::string path = app->get_name();
  for (const CLI::App* p = app->get_parent(); p != nullptr; p = p->get_parent()) path = p->get_name() + " " + path;
  return path;
}

// " (did you mean 'x'?)" for the closest candidate within a typo's reach
// (ninja's ChooseTool), or "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = c.starts_with(word) && !word.empty() ? 1 : text::edit_distance(word, c);
    if (d < best_distance) {
      best = &c;
      best_distance = d;
    }
  }
  return best != nullptr ? " (did you mean '" + *best + "'?)" : "";
}

std::vector<std::string> visible_commands(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); })) {
    names.push_back(sub->get_name());
  }
  return names;
}

// Long option names usable at `app`: its own and, through fallthrough, its parents'.
std::vector<std::string> option_names(const CLI::App* app) {
  std::vector<std::string> names;
  for (; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* opt : app->get_options()) {
      for (const auto& n : opt->get_lnames()) names.push_back("--" + n);
    }
  }
  return names;
}

// What a multiviod REST listener offers; everything else needs the
// database, the key or this machine's files.
void check_remote(const Session& session, const CLI::App* leaf) {
  const auto& g = session.globals;
  if (g.remote.empty()) {
    if (!g.api_token.empty() && std::getenv("MULTIVIO_API_TOKEN") == nullptr) throw_usage("--api-token needs --remote URL");
    return;
  }
  if (!g.database.empty()) throw_usage("--db and --remote cannot be combined");
  if (!g.as_user.empty()) throw_usage("--as does not work with --remote: the API token decides whose posts you see");
  static const std::vector<std::string> kRemote{
      "multivio post new",      "multivio post check",     "multivio post list",      "multivio post show",
      "multivio post schedule", "multivio post cancel",    "multivio post delete",    "multivio post retry",
      "multivio post edit",     "multivio post publish",   "multivio account add",    "multivio account list",
      "multivio account show",  "multivio account check",  "multivio account refresh", "multivio account remove",
      "multivio ai generate",   "multivio ai transform",   "multivio ai hashtags",    "multivio completion"};
  const std::string path = command_path(leaf);
  if (std::find(kRemote.begin(), kRemote.end(), path) == kRemote.end()) {
    throw_usage("'" + path + "' does not work with --remote; run it on the daemon's host");
  }
}

void print_error(bool json, std::string_view code, const std::string& message) {
  if (json) {
    const nlohmann::json doc = {{"error", {{"code", code}, {"message", message}}}};
    std::cerr << output::dump(doc, -1) << '\n';
  } else {
    std::cerr << "multivio: error: " << message << '\n';
  }
}

// CLI11's messages are correct but generic; unknown commands and options get
// a name and a suggestion, and every usage error points at the right --help.
int usage_failure(CLI::App& root, const CLI::ParseError& e, bool json) {
  const CLI::App* leaf = selected_leaf(root);
  const std::string path = command_path(leaf);
  const std::vector<std::string> rest = root.remaining(true);
  std::string message = e.what();

  const auto commands = visible_commands(leaf);
  const auto word = std::find_if(rest.begin(), rest.end(), [](const std::string& r) { return !r.starts_with("-"); });
  if (!commands.empty()) {
    // A group (or the root) was given no command, or a misspelt one.
    if (word != rest.end()) {
      message = "unknown command '" + *word + "' for '" + path + "'" + did_you_mean(*word, commands);
    } else if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      message = "'" + path + "' needs a command: " + output::join(commands);
    }
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && !rest.empty() && rest.front().starts_with("-") &&
      rest.front() != "-") {
    const std::string name = rest.front().substr(0, rest.front().find('='));
    message = "unknown option '" + name + "'" + did_you_mean(name, option_names(leaf));
  } else if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && commands.empty() && word != rest.end()) {
    message = "unexpected argument '" + *word + "'";
    // The usual cause: an unquoted post text split into several words.
    if (leaf->get_option_no_throw("TEXT") != nullptr) message += " (quote a TEXT that contains spaces)";
  }

  // Errors are one line (DESIGN §4), so the pointer to help shares it.
  print_error(json, kind_name(ErrorKind::usage), message + "; run '" + path + " --help' for usage");
  return exit_code(ErrorKind::usage);
}

// Help lists subcommands under their group name; "Commands" reads better
// than CLI11's "Subcommands". Hidden ones (group "") stay hidden.
void name_command_groups(CLI::App* app) {
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_group() == "Subcommands") sub->group("Commands");
    name_command_groups(sub);
  }
}

void build(CLI::App& root, Session& session) {
  // Inherited by every subcommand added below: options a subcommand does not
  // know are offered to its parent, so global options work in any position.
  root.fallthrough();
  root.require_subcommand(0, 1);
  auto formatter = std::make_shared<output::HelpFormatter>();
  formatter->column_width(30);
  formatter->label("REQUIRED", "(required)");
  formatter->label("Positionals", "Arguments");
  formatter->label("SUBCOMMAND", "COMMAND");
  root.formatter(formatter);

  auto& g = session.globals;
  const char* global = "Global options (before or after the command)";
  root.add_option("--config", g.config, "Config file (default: $XDG_CONFIG_HOME/multivio/config.yaml; env MULTIVIO_CONFIG)")
      ->type_name("PATH")->group(global);
  root.add_option("--db", g.database, "Database URL, overrides the config (env MULTIVIO_DB)")
      ->type_name("URL")->group(global);
  root.add_option("--tz", g.timezone, "Time zone for reading and showing times (default: config, TZ, UTC)")
      ->type_name("ZONE")->group(global);
  root.add_option("--as", g.as_user, "Work on this user's accounts and posts (default: the user 'local')")
      ->type_name("USER")->group(global);
  root.add_option("--remote", g.remote,
                  "Run the command through the REST API of a multiviod --listen at URL instead of the local database")
      ->type_name("URL")->group(global);
  root.add_option("--api-token", g.api_token, "API token for --remote (env MULTIVIO_API_TOKEN, which keeps it out of ps)")
      ->envname("MULTIVIO_API_TOKEN")->type_name("TOKEN")->group(global);
  root.add_flag("--json", g.json, "Print one JSON document on stdout")->group(global);
  root.add_flag("-q,--quiet", g.quiet, "Print results only, no notes")->group(global);
  root.add_flag("--no-color", g.no_color, "No colour (also when NO_COLOR is set or stdout is not a terminal)")
      ->group(global);
  root.set_version_flag("--version", "multivio " MULTIVIO_VERSION)->group(global);
  root.get_help_ptr()->group(global);

  add_init_command(root, session);
  add_account_commands(root, session);
  add_post_commands(root, session);
  add_ai_commands(root, session);
  add_db_commands(root, session);
  add_user_commands(root, session);
  add_token_commands(root, session);
  add_media_commands(root, session);
  add_completion_command(root, session);
  name_command_groups(&root);

  root.footer(
      "Examples:\n"
      "  multivio init\n"
      "  multivio account add feed --name main --path ~/feed\n"
      "  multivio post new \"v1.2 is out\" --to feed:main --at \"tomorrow 09:00\"\n"
      "  multivio --json post list --status scheduled\n"
      "\nRun 'multivio COMMAND --help' for a command's options and examples.");
}

}  // namespace

int run(int argc, char** argv) {
  Session session;
  CLI::App root{"Schedule and publish social-media posts from the terminal.", "multivio"};
  build(root, session);

  try {
    root.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return root.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_failure(root, e, json_in_argv(argc, argv));
  }

  const CLI::App* leaf = selected_leaf(root);
  const auto* action = session.action(leaf);
  if (action == nullptr) {  // bare `multivio`: show what there is to do
    std::cout << root.help();
    return 0;
  }

  const bool json = session.globals.json;
  try {
    check_remote(session, leaf);
    const int status = (*action)();
    std::cout.flush();
    if (!std::cout) {
      print_error(json, kind_name(ErrorKind::permanent), "cannot write to standard output");
      return 1;
    }
    return status;
  } catch (const Error& e) {
    std::cout.flush();
    print_error(json, kind_name(e.kind()), e.what());
    return exit_code(e.kind());
  } catch (const std::exception& e) {
    std::cout.flush();
    print_error(json, "internal", std::string("internal: ") + e.what());
    return 1;
  }
}

}  // namespace multivio::cli
