// SPDX-License-Identifier: MIT
#include "cli/output/accounts.hpp"

#include "cli/output/table.hpp"
#include "common/schedule/when.hpp"

namespace multivio::cli::output {
namespace {

std::string health(const model::Account& a) { return a.healthy ? "healthy" : "unhealthy"; }

std::string option_value(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : dump(v, -1); }

void print_rows(const Printer& out, const Table& table) {
  for (const auto& line : table.lines()) out.line(line);
}

}  // namespace

void show_init(const Printer& out, const app::InitResult& r) {
  if (out.json()) {
    out.json_doc({{"config_file", r.config_file},
                  {"key_file", r.key_file},
                  {"database", r.database},
                  {"created_config", r.created_config},
                  {"created_key", r.created_key},
                  {"schema_version", r.schema_version}});
    return;
  }
  if (out.quiet()) return;
  Table table;
  table.add({"config", r.config_file, r.created_config ? "created" : "kept"});
  // No key file when the key comes from MULTIVIO_KEY (CI).
  if (r.key_file.empty()) table.add({"key", "MULTIVIO_KEY", "from the environment"});
  else table.add({"key", r.key_file, r.created_key ? "created" : "kept"});
  table.add({"database", r.database, "schema v" + std::to_string(r.schema_version)});
  print_rows(out, table);
}

void show_account_added(const Printer& out, const model::Account& a) {
  if (out.json()) return out.json_doc(model::to_json(a));
  if (out.quiet()) return out.line(a.ref());
  out.line("Added account " + std::to_string(a.id) + " " + a.ref() + (a.handle.empty() ? "" : " (" + a.handle + ")"));
}

void show_accounts(const Printer& out, const std::vector<model::Account>& accounts) {
  if (out.json()) {
    auto doc = nlohmann::json::array();
    for (const auto& a : accounts) doc.push_back(model::to_json(a));
    return out.json_doc(doc);
  }
  if (accounts.empty()) return out.note("No accounts yet. Add one with: multivio account add feed --name main --path DIR");
  Table table({"ID", "REF", "HANDLE", "STATUS"});
  for (const auto& a : accounts) table.add({std::to_string(a.id), a.ref(), a.handle, health(a)});
  for (const auto& line : table.lines([&](std::size_t col, const std::string& cell) {
         return col == 3 ? out.status(cell) : cell;
       })) {
    out.line(line);
  }
}

void show_account(const Printer& out, const model::Account& a, const std::string& zone) {
  if (out.json()) return out.json_doc(model::to_json(a));
  Table table;
  table.add({"id", std::to_string(a.id)});
  table.add({"ref", a.ref()});
  table.add({"platform", a.platform});
  table.add({"name", a.name});
  if (!a.handle.empty()) table.add({"handle", a.handle});
  table.add({"status", health(a) + (a.health_note.empty() ? "" : ": " + a.health_note)});
  table.add({"created", schedule::format_local(a.created_at, zone)});
  table.add({"secrets", a.secrets_sealed.empty() ? "none" : "stored, encrypted"});
  for (const auto& [key, value] : a.options.items()) table.add({key, option_value(value)});
  print_rows(out, table);
}

void show_account_removed(const Printer& out, const model::Account& a) {
  if (out.json()) return out.json_doc({{"removed", true}, {"account", model::to_json(a)}});
  if (out.quiet()) return;
  out.line("Removed account " + std::to_string(a.id) + " " + a.ref());
}

}  // namespace multivio::cli::output

namespace multivio::cli::output {

void show_account_checks(const Printer& out, const std::vector<app::AccountCheckResult>& results,
                         const std::string& zone) {
  if (out.json()) {
    auto doc = nlohmann::json::array();
    for (const auto& r : results) doc.push_back(app::to_json(r));
    return out.json_doc(doc);
  }
  if (results.empty()) return out.note("No accounts to check.");
  Table table({"ACCOUNT", "STATUS", "HANDLE", "TOKEN EXPIRES", "DETAIL"});
  for (const auto& r : results) {
    if (r.ok) {
      std::string detail = r.check.detail;
      if (!r.check.scopes.empty()) {
        std::string scopes;
        for (const auto& s : r.check.scopes) scopes += (scopes.empty() ? "" : " ") + s;
        detail += (detail.empty() ? "scopes: " : "; scopes: ") + scopes;
      }
      table.add({r.account.ref(), "ok", r.check.handle,
                 r.check.expires_at ? schedule::format_local(*r.check.expires_at, zone) : "-", detail});
    } else {
      const bool relink = r.kind == ErrorKind::auth;
      table.add({r.account.ref(), relink ? "re-link" : "failed", r.account.handle, "-", r.problem});
    }
  }
  for (const auto& line : table.lines()) out.line(line);
}

void show_expiring_accounts(const Printer& out, const std::vector<app::ExpiringAccount>& accounts,
                            const std::string& zone) {
  if (out.json()) {
    auto doc = nlohmann::json::array();
    for (const auto& a : accounts) doc.push_back(app::to_json(a));
    return out.json_doc(doc);
  }
  if (accounts.empty()) return out.note("No account needs attention in that window.");
  Table table({"ACCOUNT", "EXPIRES", "REFRESHABLE", "WHAT TO DO"});
  for (const auto& a : accounts) {
    table.add({a.account.ref(), a.expires_at ? schedule::format_local(*a.expires_at, zone) : "-",
               a.refreshable ? "yes" : "no", a.reason});
  }
  for (const auto& line : table.lines()) out.line(line);
}

void show_account_refreshed(const Printer& out, const model::Account& account) {
  if (out.json()) return out.json_doc(model::to_json(account));
  if (out.quiet()) return out.line(account.ref());
  out.line("Refreshed the tokens of " + account.ref());
}

}  // namespace multivio::cli::output
