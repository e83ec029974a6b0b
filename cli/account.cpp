// SPDX-License-Identifier: MIT
// `multivio account ...`: turns flags into an AddAccountRequest (options are
// plain settings, secrets get sealed by the library) and prints results.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/cli.hpp"
#include "cli/input.hpp"
#include "cli/output/accounts.hpp"
#include "common/app/accounts.hpp"
#include "common/app/link.hpp"
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
  // Interactive linking.
  bool oauth = false, no_browser = false, oauth1 = false;
  int port = 0;
  std::string consumer_key_env, consumer_secret_env, token_env, token_secret_env;
};

// The terminal side of a link: the URL goes to stderr (stdout stays a JSON
// document for --json), $BROWSER or xdg-open opens it when available, and
// pasted input comes from stdin.
app::LinkPrompt terminal_prompt() {
  app::LinkPrompt prompt;
  prompt.show_url = [](const std::string& url, bool browser) {
    std::fprintf(stderr, "Open this URL to approve multivio:\n\n  %s\n\n", url.c_str());
    if (browser && input::open_browser(url)) std::fprintf(stderr, "(opened in your browser; waiting for it)\n");
    std::fflush(stderr);
  };
  prompt.read_line = [](const std::string& question) {
    std::fprintf(stderr, "%s", question.c_str());
    std::fflush(stderr);
    return input::read_line_stdin();
  };
  return prompt;
}

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
  } else if (f.platform == "bluesky" && !f.oauth) {
    // Never on the command line: typed at a hidden prompt, or piped in.
    std::string password;
    try {
      password = text::trim(input::read_secret("App password for " +
                                               (f.handle.empty() ? std::string("bluesky") : f.handle) + ": "));
    } catch (const Error&) {
      password.clear();
    }
    if (password.empty()) {
      throw_usage("no app password: pipe it on standard input or name a variable with --app-password-env");
    }
    request.secrets["app_password"] = password;
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
  cmd->add_option("--app-password-env", f->app_password_env, "bluesky: environment variable holding the app password (without it, it is read from standard input)")
      ->type_name("VAR")->group(creds);

  const char* linking = "Linking in a browser";
  auto* oauth = cmd->add_flag("--oauth", f->oauth,
                              "x, mastodon: approve multivio in a browser (OAuth 2.0 with PKCE); a receiver on "
                              "127.0.0.1 takes the answer")
                    ->group(linking);
  cmd->add_flag("--no-browser", f->no_browser,
                "With --oauth over SSH: print the URL and paste back the URL the browser ends on (or the code)")
      ->needs(oauth)
      ->group(linking);
  cmd->add_option("--port", f->port, "With --oauth: loopback port for the answer (default: random; 8765 with "
                                     "--no-browser). Register http://127.0.0.1:PORT/callback with the network")
      ->type_name("PORT")->check(CLI::Range(1, 65535))->needs(oauth)->group(linking);
  auto* oauth1 = cmd->add_flag("--oauth1", f->oauth1,
                               "x: OAuth 1.0a with the app's consumer key/secret; without --token-env a PIN flow "
                               "approves it")
                     ->excludes(oauth)
                     ->group(linking);
  cmd->add_option("--consumer-key-env", f->consumer_key_env, "x --oauth1: variable holding the consumer (API) key")
      ->type_name("VAR")->needs(oauth1)->group(linking);
  cmd->add_option("--consumer-secret-env", f->consumer_secret_env, "x --oauth1: variable holding the consumer secret")
      ->type_name("VAR")->needs(oauth1)->group(linking);
  cmd->add_option("--token-env", f->token_env, "x --oauth1: variable holding the access token")
      ->type_name("VAR")->needs(oauth1)->group(linking);
  cmd->add_option("--token-secret-env", f->token_secret_env, "x --oauth1: variable holding the access token secret")
      ->type_name("VAR")->needs(oauth1)->group(linking);

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
  cmd->add_option("--page-id", f->page_id, "facebook: Page id (with --oauth: skips the question which Page)")
      ->type_name("ID")->group(opts);
  cmd->add_option("--author", f->author, "linkedin: urn:li:person:... or urn:li:organization:...")
      ->type_name("URN")->group(opts);

  examples(cmd, {"multivio account add feed --name main --path ~/public/feed --title \"Release notes\"",
                 "multivio account add webhook --name ci --url https://hooks.slack.com/services/T/B/X --format slack",
                 "WEBHOOK_SECRET=s3cret multivio account add webhook --name signed --url https://example.com/hook "
                 "--secret-env WEBHOOK_SECRET",
                 "multivio account add x --name main --oauth",
                 "multivio account add x --name main --oauth --no-browser   # over SSH",
                 "multivio account add x --oauth1 --consumer-key-env X_API_KEY --consumer-secret-env X_API_SECRET "
                 "--token-env X_TOKEN --token-secret-env X_TOKEN_SECRET",
                 "multivio account add mastodon --name main --instance https://mastodon.social --oauth",
                 "FB_APP_SECRET=... multivio account add facebook --name cafe --oauth   # then pick the Page",
                 "multivio account add mastodon --name main --instance https://mastodon.social "
                 "--access-token \"$ACCESS_TOKEN\"",
                 "BSKY_APP_PASSWORD=xxxx-xxxx-xxxx-xxxx multivio account add bluesky --handle me.bsky.social "
                 "--app-password-env BSKY_APP_PASSWORD"});

  session.on_run(cmd, [&session, f] {
    model::Account account;
    if (auto* remote = session.remote()) {
      if (f->oauth || f->oauth1) {
        throw_usage("--oauth and --oauth1 do not work with --remote; link the account with tokens (--access-token, "
                    "--token-file) or on the daemon's host");
      }
      output::show_account_added(session.out(), remote->add_account(to_request(*f)));
      return 0;
    }
    auto& ctx = session.ctx();
    if (f->oauth) {
      app::OAuth2LinkRequest request;
      request.account = to_request(*f);
      if (!request.account.secrets.empty()) throw_usage("--oauth gets the tokens itself; drop the token flags");
      request.no_browser = f->no_browser;
      request.port = f->port;
      account = app::link_oauth2(ctx, std::move(request), terminal_prompt());
    } else if (f->oauth1) {
      app::OAuth1LinkRequest request;
      request.account = to_request(*f);
      if (f->consumer_key_env.empty() || f->consumer_secret_env.empty()) {
        throw_usage("--oauth1 needs --consumer-key-env and --consumer-secret-env");
      }
      request.consumer_key = secret_from_env(f->consumer_key_env, "--consumer-key-env");
      request.consumer_secret = secret_from_env(f->consumer_secret_env, "--consumer-secret-env");
      if (!f->token_env.empty()) request.token = secret_from_env(f->token_env, "--token-env");
      if (!f->token_secret_env.empty()) {
        request.token_secret = secret_from_env(f->token_secret_env, "--token-secret-env");
      }
      account = app::link_oauth1(ctx, std::move(request), terminal_prompt());
    } else {
      account = app::add_account(ctx, to_request(*f));
    }
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
    auto* remote = session.remote();
    output::show_accounts(session.out(), remote ? remote->list_accounts() : app::list_accounts(session.ctx()));
    return 0;
  });

  auto ref = std::make_shared<std::string>();
  const char* ref_help = "Account id or platform:name";
  auto* show = group->add_subcommand("show", "Show one account's settings and health (never its secrets)");
  show->add_option("REF", *ref, ref_help)->required()->type_name("");
  examples(show, {"multivio account show feed:main", "multivio account show 3 --json"});
  session.on_run(show, [&session, ref] {
    auto* remote = session.remote();
    output::show_account(session.out(), remote ? remote->resolve_account(*ref) : app::resolve_account(session.ctx(), *ref),
                         session.zone());
    return 0;
  });

  auto refs = std::make_shared<std::vector<std::string>>();
  auto* check = group->add_subcommand(
      "check", "Ask each network who the account is: handle, token expiry, scopes (exit 5 if one needs re-linking)");
  check->add_option("REF", *refs, "Accounts to check (default: all)")->type_name("");
  examples(check, {"multivio account check", "multivio account check x:main --json | jq '.[0].expires_at'"});
  session.on_run(check, [&session, refs] {
    auto* remote = session.remote();
    const auto results = remote ? remote->check_accounts(*refs) : app::check_accounts(session.ctx(), *refs);
    output::show_account_checks(session.out(), results, session.zone());
    int code = 0;
    for (const auto& r : results) {
      if (!r.ok) code = std::max(code, exit_code(r.kind));
    }
    return code;
  });

  auto within = std::make_shared<std::string>("14d");
  auto* expiring = group->add_subcommand(
      "expiring", "List accounts whose tokens stop working within a window unless a person acts (exit 1 if any)");
  expiring->add_option("--within", *within, "Window, e.g. 7d, 36h (default 14d)")->type_name("DURATION");
  examples(expiring, {"multivio account expiring", "multivio account expiring --within 7d --json",
                      "multivio account expiring --within 14d || echo 'relink before the release'"});
  session.on_run(expiring, [&session, within] {
    if (session.remote()) throw_usage("account expiring reads the local database; run it where the daemon runs");
    const auto window = config::parse_duration(*within);
    const auto accounts = app::expiring_accounts(session.ctx(), window);
    output::show_expiring_accounts(session.out(), accounts, session.zone());
    return accounts.empty() ? 0 : 1;
  });

  auto* refresh = group->add_subcommand("refresh", "Refresh an account's access token now and store the new tokens");
  refresh->add_option("REF", *ref, ref_help)->required()->type_name("");
  examples(refresh, {"multivio account refresh x:main"});
  session.on_run(refresh, [&session, ref] {
    auto* remote = session.remote();
    output::show_account_refreshed(session.out(),
                                   remote ? remote->refresh_account(*ref) : app::refresh_account(session.ctx(), *ref));
    return 0;
  });

  auto* remove = group->add_subcommand("remove", "Remove an account and its stored secrets");
  remove->add_option("REF", *ref, ref_help)->required()->type_name("");
  examples(remove, {"multivio account remove webhook:ci", "multivio account remove 3"});
  session.on_run(remove, [&session, ref] {
    auto* remote = session.remote();
    const auto account = remote ? remote->resolve_account(*ref) : app::resolve_account(session.ctx(), *ref);
    if (remote) remote->remove_account(account);
    else app::remove_account(session.ctx(), std::to_string(account.id));
    output::show_account_removed(session.out(), account);
    return 0;
  });
}

}  // namespace multivio::cli
