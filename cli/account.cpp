// SPDX-License-Identifier: MIT
// `multivio account ...`: turns flags into an AddAccountRequest (options are
// plain settings, secrets get sealed by the library) and prints results.
#include <filesystem>
#include <memory>

#include "cli/cli.hpp"
#include "cli/input.hpp"
#include "cli/output/accounts.hpp"
#include "common/app/accounts.hpp"
#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/platforms/platform.hpp"
#include "common/text/text.hpp"

namespace multivio::cli {
namespace {

struct AddFlags {
  std::string platform;
  std::string name;
  // Platform options (non-secret), stored as given under the same key.
  std::string url, format, path, title, instance, handle, pds, page_id, author;
  // Credentials.
  std::string secret_env, app_password_env, access_token, refresh_token, token_file;
  long expires_in = 0;
};

// The value of an environment variable named by a flag; secrets are passed by
// name so they never appear in `ps` or shell history.
std::string secret_from_env(const std::string& var, std::string_view flag) {
  const auto value = config::process_env(var);
  if (!value || value->empty()) {
    throw_usage("environment variable " + var + " (named by " + std::string(flag) + ") is not set or empty");
  }
  return *value;
}

// --token-file holds either an OAuth token response (JSON with access_token,
// refresh_token, expires_in) or just the access token.
void read_token_file(const std::string& path, nlohmann::json& secrets) {
  const std::string content(text::trim(input::read_file(path)));
  auto doc = nlohmann::json::parse(content, nullptr, false);
  if (doc.is_object()) {
    if (!doc.contains("access_token")) throw_usage("--token-file " + path + ": no \"access_token\" in the JSON object");
    for (const char* key : {"access_token", "refresh_token", "expires_in"}) {
      if (doc.contains(key)) secrets[key] = doc[key];
    }
  } else if (!content.empty()) {
    secrets["access_token"] = content;
  } else {
    throw_usage("--token-file " + path + " is empty");
  }
}

// Paths are stored absolute: the daemon does not share the CLI's directory.
std::string absolute_path(const std::string& path) {
  return std::filesystem::absolute(config::expand_home(path)).lexically_normal().string();
}

app::AddAccountRequest to_request(const AddFlags& f) {
  app::AddAccountRequest request;
  request.platform = f.platform;
  request.name = f.name.empty() ? "default" : f.name;

  auto set = [](nlohmann::json& object, const char* key, const std::string& value) {
    if (!value.empty()) object[key] = value;
  };
  set(request.options, "url", f.url);
  set(request.options, "format", f.format);
  if (!f.path.empty()) request.options["path"] = absolute_path(f.path);
  set(request.options, "title", f.title);
  set(request.options, "instance", f.instance);
  set(request.options, "handle", f.handle);
  set(request.options, "pds", f.pds);
  set(request.options, "page_id", f.page_id);
  set(request.options, "author", f.author);

  if (!f.token_file.empty()) read_token_file(f.token_file, request.secrets);
  // Explicit flags win over the token file.
  set(request.secrets, "access_token", f.access_token);
  set(request.secrets, "refresh_token", f.refresh_token);
  if (f.expires_in > 0) request.secrets["expires_in"] = f.expires_in;
  if (!f.secret_env.empty()) request.secrets["signing_secret"] = secret_from_env(f.secret_env, "--secret-env");
  if (!f.app_password_env.empty()) {
    request.secrets["app_password"] = secret_from_env(f.app_password_env, "--app-password-env");
  }
  if (request.secrets.contains("refresh_token") && !request.secrets.contains("access_token")) {
    throw_usage("--refresh-token needs --access-token (or a --token-file with one)");
  }
  return request;
}

std::string platform_list() {
  std::string names;
  for (auto name : platforms::platform_names()) {
    if (!names.empty()) names += ", ";
    names += name;
  }
  return names;
}

void add_add(CLI::App& group, Session& session) {
  auto* cmd = group.add_subcommand("add", "Link an account: a network login or a local feed/webhook target");
  auto f = std::make_shared<AddFlags>();
  cmd->add_option("PLATFORM", f->platform, "Network: " + platform_list())->required()->type_name("");
  cmd->add_option("--name", f->name, "Name in refs like x:NAME (default: default)")->type_name("NAME");

  const char* creds = "Credentials";
  cmd->add_option("--access-token", f->access_token, "OAuth access token")->type_name("TOKEN")->group(creds);
  cmd->add_option("--refresh-token", f->refresh_token, "OAuth refresh token")->type_name("TOKEN")->group(creds);
  cmd->add_option("--expires-in", f->expires_in, "Seconds until the access token expires")
      ->type_name("SECONDS")->check(positive())->group(creds);
  cmd->add_option("--token-file", f->token_file, "File with the tokens (OAuth JSON or a bare token); '-' reads stdin")
      ->type_name("FILE")->group(creds);
  cmd->add_option("--secret-env", f->secret_env, "webhook: environment variable holding the signing secret")
      ->type_name("VAR")->group(creds);
  cmd->add_option("--app-password-env", f->app_password_env, "bluesky: environment variable holding the app password")
      ->type_name("VAR")->group(creds);

  const char* opts = "Platform options";
  cmd->add_option("--url", f->url, "webhook: URL to POST to")->type_name("URL")->group(opts);
  cmd->add_option("--format", f->format, "webhook: body format")
      ->check(CLI::IsMember({"json", "slack", "discord"}).description(""))->type_name("json|slack|discord")->group(opts);
  cmd->add_option("--path", f->path, "feed: directory for feed.atom and the JSON Lines log")->type_name("DIR")->group(opts);
  cmd->add_option("--title", f->title, "feed: feed title")->type_name("TITLE")->group(opts);
  cmd->add_option("--instance", f->instance, "mastodon: instance URL, e.g. https://mastodon.social")
      ->type_name("URL")->group(opts);
  cmd->add_option("--handle", f->handle, "bluesky: handle, e.g. me.bsky.social")->type_name("HANDLE")->group(opts);
  cmd->add_option("--pds", f->pds, "bluesky: PDS URL (default https://bsky.social)")->type_name("URL")->group(opts);
  cmd->add_option("--page-id", f->page_id, "facebook: page id")->type_name("ID")->group(opts);
  cmd->add_option("--author", f->author, "linkedin: urn:li:person:... or urn:li:organization:...")
      ->type_name("URN")->group(opts);

  examples(cmd, {"multivio account add feed --name main --path ~/public/feed --title \"Release notes\"",
                 "multivio account add webhook --name ci --url https://hooks.slack.com/services/T/B/X --format slack",
                 "WEBHOOK_SECRET=s3cret multivio account add webhook --name signed --url https://example.com/hook "
                 "--secret-env WEBHOOK_SECRET",
                 "multivio account add mastodon --name main --instance https://mastodon.social "
                 "--access-token \"$ACCESS_TOKEN\"",
                 "BSKY_APP_PASSWORD=xxxx-xxxx-xxxx-xxxx multivio account add bluesky --handle me.bsky.social "
                 "--app-password-env BSKY_APP_PASSWORD"});

  session.on_run(cmd, [&session, f] {
    auto account = app::add_account(session.ctx(), to_request(*f));
    output::show_account_added(session.out(), account);
    return 0;
  });
}

}  // namespace

void add_account_commands(CLI::App& root, Session& session) {
  auto* group = root.add_subcommand("account", "Link, list, inspect and remove accounts");
  group->require_subcommand(1);
  examples(group, {"multivio account add feed --name main --path ~/feed", "multivio account list",
                   "multivio account show feed:main", "multivio account remove 3"});

  add_add(*group, session);

  auto* list = group->add_subcommand("list", "List linked accounts");
  examples(list, {"multivio account list", "multivio account list --json | jq -r '.[].id'"});
  session.on_run(list, [&session] {
    output::show_accounts(session.out(), app::list_accounts(session.ctx()));
    return 0;
  });

  auto ref = std::make_shared<std::string>();
  const char* ref_help = "Account id or platform:name";
  auto* show = group->add_subcommand("show", "Show one account's settings and health (never its secrets)");
  show->add_option("REF", *ref, ref_help)->required()->type_name("");
  examples(show, {"multivio account show feed:main", "multivio account show 3 --json"});
  session.on_run(show, [&session, ref] {
    auto& ctx = session.ctx();
    output::show_account(session.out(), app::resolve_account(ctx, *ref), ctx.zone());
    return 0;
  });

  auto* remove = group->add_subcommand("remove", "Remove an account and its stored secrets");
  remove->add_option("REF", *ref, ref_help)->required()->type_name("");
  examples(remove, {"multivio account remove webhook:ci", "multivio account remove 3"});
  session.on_run(remove, [&session, ref] {
    auto& ctx = session.ctx();
    auto account = app::resolve_account(ctx, *ref);
    app::remove_account(ctx, std::to_string(account.id));
    output::show_account_removed(session.out(), account);
    return 0;
  });
}

}  // namespace multivio::cli
