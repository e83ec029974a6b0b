// SPDX-License-Identifier: MIT
#include "common/app/accounts.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>

#include "common/schedule/when.hpp"

namespace multivio::app {
namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

std::string known_refs(Context& ctx) {
  std::string out;
  for (const auto& a : ctx.store().list_accounts()) out += (out.empty() ? "" : ", ") + a.ref();
  return out.empty() ? "none yet: see 'multivio account add --help'" : out;
}

std::string config_path_for_init(Context& ctx) {
  if (ctx.options().config_path) return *ctx.options().config_path;
  if (auto env = ctx.options().env("MULTIVIO_CONFIG"); env && !env->empty()) return *env;
  return config::default_paths(ctx.options().env).config_file;
}

void write_new_config(const std::string& path, const InitOptions& options, const Options& global) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) throw_permanent("cannot create " + dir.string() + ": " + ec.message());
  std::ofstream out(path, std::ios::out | std::ios::trunc);
  if (!out) throw_permanent("cannot write " + path);
  out << "# multivio configuration: every key is optional; see multivio.yaml(5).\n";
  if (global.database && !global.database->empty()) {
    out << "database: " << *global.database << "\n";
  } else {
    out << "# database: sqlite:///path/to/multivio.db\n";
  }
  if (!options.timezone.empty()) {
    out << "timezone: " << options.timezone << "\n";
  } else {
    out << "# timezone: Europe/Berlin\n";
  }
  out << "# daemon: {workers: 8, max_attempts: 5, retry_base: 30s, lease: 120s}\n";
  if (!out.flush()) throw_permanent("cannot write " + path);
}

}  // namespace

InitResult init(Context& ctx, const InitOptions& options) {
  if (!options.timezone.empty()) schedule::check_zone(options.timezone);
  InitResult result;
  result.config_file = config_path_for_init(ctx);
  if (!std::filesystem::exists(result.config_file)) {
    write_new_config(result.config_file, options, ctx.options());
    result.created_config = true;
  }
  // Load what is now on disk, exactly as every later command will.
  Options loaded = ctx.options();
  loaded.config_path = result.config_file;
  Context fresh(loaded);
  const auto& cfg = fresh.config();
  result.key_file = cfg.key_file;
  if (auto env_key = ctx.options().env("MULTIVIO_KEY"); env_key && !env_key->empty()) {
    crypto::load_key(env_key, cfg.key_file);  // validates it
    result.key_file.clear();  // no key file: the key comes from the environment
  } else {
    result.created_key = crypto::create_key_file(cfg.key_file);
    crypto::load_key(std::nullopt, cfg.key_file);
  }
  result.database = store::redact_url(cfg.database);
  result.schema_version = fresh.store().schema_version();
  return result;
}

model::Account add_account(Context& ctx, AddAccountRequest request) {
  if (request.name.empty()) request.name = "main";
  if (!valid_name(request.name)) {
    throw_usage("invalid account name '" + request.name + "' (use 1-64 letters, digits, '.', '_' or '-')");
  }
  auto adapter = ctx.adapter(request.platform);
  adapter->configure_account(request.options);
  adapter->move_secret_options(request.options, request.secrets);
  if (adapter->capabilities(nullptr).needs_credentials && request.secrets.empty()) {
    throw_auth(request.platform + " accounts need credentials (see 'multivio account add --help')");
  }
  // A lifetime given at add time (--expires-in) becomes an instant, which
  // stays true however long the account sits unused.
  if (auto it = request.secrets.find("expires_in"); it != request.secrets.end() && it->is_number_integer()) {
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(ctx.clock().now().time_since_epoch());
    request.secrets["expires_at"] = now_s.count() + it->get<std::int64_t>();
    request.secrets["issued_at"] = now_s.count();
    request.secrets.erase("expires_in");
  }
  model::Account account;
  account.platform = request.platform;
  account.name = request.name;
  account.handle = request.handle;
  account.options = std::move(request.options);
  if (!request.secrets.empty()) account.secrets_sealed = ctx.sealer().seal(request.secrets.dump());
  account.created_at = ctx.clock().now();
  return ctx.store().add_account(account);
}

model::Account resolve_account(Context& ctx, std::string_view ref) {
  if (ref.empty()) throw_usage("empty account reference (use an id or platform:name, e.g. feed:main)");
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(ref.data(), ref.data() + ref.size(), id);
  if (ec == std::errc() && end == ref.data() + ref.size()) {
    if (auto a = ctx.store().find_account(id)) return *a;
    throw_not_found("no account with id " + std::string(ref) + " (accounts: " + known_refs(ctx) + ")");
  }
  const auto colon = ref.find(':');
  if (colon == std::string_view::npos) {
    // A bare platform name is accepted when it is unambiguous.
    std::vector<model::Account> matches;
    for (auto& a : ctx.store().list_accounts()) {
      if (a.platform == ref) matches.push_back(std::move(a));
    }
    if (matches.size() == 1) return matches.front();
    if (matches.empty()) {
      throw_not_found("no account '" + std::string(ref) + "' (accounts: " + known_refs(ctx) + ")");
    }
    throw_usage("'" + std::string(ref) + "' matches several accounts; use platform:name (" + known_refs(ctx) + ")");
  }
  const std::string platform(ref.substr(0, colon));
  const std::string name(ref.substr(colon + 1));
  if (auto a = ctx.store().find_account(platform, name)) return *a;
  throw_not_found("no account '" + std::string(ref) + "' (accounts: " + known_refs(ctx) + ")");
}

std::vector<model::Account> list_accounts(Context& ctx) { return ctx.store().list_accounts(); }

void remove_account(Context& ctx, std::string_view ref) {
  const auto account = resolve_account(ctx, ref);
  ctx.store().remove_account(account.id);
}

nlohmann::json open_secrets(Context& ctx, const model::Account& account) {
  if (account.secrets_sealed.empty()) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(ctx.sealer().open(account.secrets_sealed));
  } catch (const nlohmann::json::exception&) {
    throw_permanent("stored secrets of " + account.ref() + " are not valid JSON");
  }
}

}  // namespace multivio::app

namespace multivio::app {

void save_secrets(Context& ctx, std::int64_t account_id, const nlohmann::json& secrets) {
  ctx.store().update_account_secrets(account_id, ctx.sealer().seal(secrets.dump()));
}

}  // namespace multivio::app
