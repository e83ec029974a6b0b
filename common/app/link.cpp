// SPDX-License-Identifier: MIT
#include "common/app/link.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/oauth/loopback.hpp"
#include "common/oauth/pkce.hpp"
#include "common/text/text.hpp"

namespace multivio::app {
namespace {

constexpr int k_paste_port = 8765;

// Linking state kept between links (Mastodon app registrations), sealed in
// the secrets table under "link:<name>".
platforms::LinkStash stash_for(Context& ctx) {
  platforms::LinkStash stash;
  stash.get = [&ctx](const std::string& name) -> std::optional<nlohmann::json> {
    const auto sealed = ctx.store().get_secret("link:" + name);
    if (!sealed) return std::nullopt;
    auto value = nlohmann::json::parse(ctx.sealer().open(*sealed), nullptr, false);
    if (value.is_discarded()) return std::nullopt;
    return value;
  };
  stash.put = [&ctx](const std::string& name, const nlohmann::json& value) {
    ctx.store().put_secret("link:" + name, ctx.sealer().seal(value.dump()), ctx.clock().now());
  };
  return stash;
}

// An account name that is already taken fails before the user is sent to a
// browser, not after they approved.
void require_free_name(Context& ctx, const AddAccountRequest& request) {
  const std::string name = request.name.empty() ? "main" : request.name;
  if (ctx.store().find_account(request.platform, name)) {
    throw_usage("account " + request.platform + ":" + name + " already exists; pick another --name or remove it first");
  }
}

// The one the user picks by number or id; a lone choice needs no question.
std::string pick_choice(const std::vector<platforms::LinkChoice>& choices, const std::string& option,
                        const std::string& platform, const LinkPrompt& prompt) {
  if (choices.empty()) throw_usage(platform + ": this login reaches nothing to link (" + option + ")");
  if (choices.size() == 1) return choices.front().id;
  std::string question = "This login reaches:\n";
  for (std::size_t i = 0; i < choices.size(); ++i) {
    question += "  " + std::to_string(i + 1) + ") " + choices[i].name + " (" + choices[i].id + ")\n";
  }
  question += "Link which one (number or id)? ";
  const std::string answer(text::trim(prompt.read_line(question)));
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (answer == choices[i].id || answer == std::to_string(i + 1)) return choices[i].id;
  }
  std::string flag = option;
  std::replace(flag.begin(), flag.end(), '_', '-');
  throw_usage("'" + answer + "' is none of the " + std::to_string(choices.size()) + " choices; give --" + flag +
              " to pick without asking");
}

}  // namespace

model::Account link_oauth2(Context& ctx, OAuth2LinkRequest request, const LinkPrompt& prompt) {
  auto& account = request.account;
  require_free_name(ctx, account);
  auto adapter = ctx.adapter(account.platform);
  // An account picked after login (a Facebook Page) is checked once picked.
  const std::string choice_option = adapter->link_choice_option();
  const bool pick = !choice_option.empty() && !account.options.contains(choice_option);
  if (!pick) adapter->configure_account(account.options);

  // Networks that match the redirect URI exactly (X) need the port the app
  // was registered with: platforms.NAME.redirect_port.
  if (request.port == 0) {
    const auto& platforms = ctx.config().platforms;
    if (auto p = platforms.find(account.platform); p != platforms.end()) {
      if (auto port = p->second.find("redirect_port"); port != p->second.end() && !port->second.empty()) {
        request.port = std::stoi(port->second);
      }
    }
  }
  const oauth::Pkce pkce = oauth::make_pkce();
  const std::string state = oauth::make_state();
  // The receiver binds first so the redirect URI (with its port) is final
  // before the network sees it.
  std::optional<oauth::LoopbackReceiver> receiver;
  std::string redirect_uri;
  if (request.no_browser) {
    redirect_uri = "http://127.0.0.1:" + std::to_string(request.port != 0 ? request.port : k_paste_port) + "/callback";
  } else {
    receiver.emplace(state, request.port);
    redirect_uri = receiver->redirect_uri();
  }

  platforms::LinkStash stash = stash_for(ctx);
  auto link = adapter->oauth2_link(account.options, redirect_uri, stash);
  if (!link) throw_usage(account.platform + " accounts are not linked with --oauth (see 'multivio account add --help')");
  link->config.context = account.platform;

  oauth::AuthorizationRequest authz;
  authz.redirect_uri = redirect_uri;
  authz.scopes = link->scopes;
  authz.state = state;
  authz.code_challenge = pkce.challenge;
  authz.extra = link->extra;
  prompt.show_url(oauth::authorization_url(link->config, authz), !request.no_browser);

  oauth::AuthorizationResponse answer;
  if (receiver) {
    answer = receiver->wait(request.timeout);
    receiver->stop();
  } else {
    answer = oauth::parse_pasted_redirect(prompt.read_line("Paste the URL your browser was sent to (or the code): "),
                                          state);
  }
  const oauth::TokenSet tokens = oauth::exchange_code(ctx.http(), link->config, answer.code, redirect_uri,
                                                      pkce.verifier, std::chrono::system_clock::now());
  if (pick) {
    account.options[choice_option] = pick_choice(adapter->link_choices(tokens, account.options), choice_option,
                                                 account.platform, prompt);
    adapter->configure_account(account.options);
  }
  nlohmann::json secrets = adapter->secrets_from_tokens(tokens, account.options, account.handle);
  for (const auto& [key, value] : link->secrets.items()) secrets[key] = value;
  account.secrets = std::move(secrets);
  return add_account(ctx, std::move(account));
}

model::Account link_oauth1(Context& ctx, OAuth1LinkRequest request, const LinkPrompt& prompt) {
  auto& account = request.account;
  require_free_name(ctx, account);
  if (request.consumer_key.empty() || request.consumer_secret.empty()) {
    throw_usage("--oauth1 needs the app's consumer key and secret (--consumer-key-env, --consumer-secret-env)");
  }
  if (request.token.empty() != request.token_secret.empty()) {
    throw_usage("give both --token-env and --token-secret-env, or neither to approve the app with a PIN");
  }
  auto adapter = ctx.adapter(account.platform);
  adapter->configure_account(account.options);
  auto server = adapter->oauth1_server(account.options);
  if (!server) throw_usage(account.platform + " accounts are not linked with --oauth1 (only x is)");
  server->context = account.platform;

  nlohmann::json secrets = {{"consumer_key", request.consumer_key}, {"consumer_secret", request.consumer_secret}};
  if (!request.token.empty()) {
    secrets["token"] = request.token;
    secrets["token_secret"] = request.token_secret;
  } else {
    const auto temporary =
        oauth::request_temporary_credentials(ctx.http(), *server, request.consumer_key, request.consumer_secret);
    prompt.show_url(oauth::authorize_url(*server, temporary.token), false);
    const std::string pin = std::string(text::trim(prompt.read_line("Enter the PIN the page shows: ")));
    if (pin.empty()) throw_usage("no PIN entered");
    const auto granted = oauth::request_token_credentials(ctx.http(), *server, request.consumer_key,
                                                          request.consumer_secret, temporary, pin);
    secrets["token"] = granted.token;
    secrets["token_secret"] = granted.token_secret;
    if (!granted.user_id.empty()) secrets["user_id"] = granted.user_id;
    if (!granted.screen_name.empty()) {
      secrets["username"] = granted.screen_name;
      account.handle = granted.screen_name;
    }
  }
  account.secrets = std::move(secrets);
  return add_account(ctx, std::move(account));
}

std::vector<AccountCheckResult> check_accounts(Context& ctx, const std::vector<std::string>& refs) {
  std::vector<model::Account> accounts;
  if (refs.empty()) {
    accounts = list_accounts(ctx);
  } else {
    for (const auto& ref : refs) accounts.push_back(resolve_account(ctx, ref));
  }
  std::vector<AccountCheckResult> out;
  for (auto& account : accounts) {
    AccountCheckResult r;
    try {
      auto adapter = ctx.adapter(account.platform);
      const nlohmann::json secrets = open_secrets(ctx, account);
      const std::int64_t id = account.id;
      r.check = adapter->check_account(account, secrets,
                                       [&ctx, id](const nlohmann::json& fresh) { save_secrets(ctx, id, fresh); });
      r.ok = true;
      if (!account.healthy) {
        ctx.store().set_account_health(account.id, true, "");
        account.healthy = true;
        account.health_note.clear();
      }
    } catch (const Error& e) {
      r.problem = e.what();
      r.kind = e.kind();
      if (e.kind() == ErrorKind::auth && account.healthy) {
        ctx.store().set_account_health(account.id, false, e.what());
        account.healthy = false;
        account.health_note = e.what();
      }
    }
    r.account = std::move(account);
    out.push_back(std::move(r));
  }
  return out;
}

nlohmann::json to_json(const AccountCheckResult& r) {
  nlohmann::json doc = {{"account", r.account.ref()}, {"id", r.account.id}, {"ok", r.ok}};
  if (r.ok) {
    doc["handle"] = r.check.handle;
    doc["expires_at"] = r.check.expires_at ? nlohmann::json(model::format_utc(*r.check.expires_at)) : nlohmann::json();
    doc["scopes"] = r.check.scopes;
    doc["detail"] = r.check.detail;
  } else {
    doc["error"] = r.problem;
    doc["kind"] = std::string(kind_name(r.kind));
    doc["relink"] = r.kind == ErrorKind::auth;
  }
  return doc;
}

model::Account refresh_account(Context& ctx, std::string_view ref) {
  const auto account = resolve_account(ctx, ref);
  auto adapter = ctx.adapter(account.platform);
  std::optional<nlohmann::json> fresh;
  try {
    fresh = adapter->refresh(account, open_secrets(ctx, account));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::auth) ctx.store().set_account_health(account.id, false, e.what());
    throw;
  }
  if (!fresh) throw_usage(account.ref() + ": nothing to refresh (its credentials do not expire)");
  save_secrets(ctx, account.id, *fresh);
  if (!account.healthy) ctx.store().set_account_health(account.id, true, "");
  return resolve_account(ctx, ref);
}

}  // namespace multivio::app
