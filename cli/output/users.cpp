// SPDX-License-Identifier: MIT
#include "cli/output/users.hpp"

#include "cli/output/table.hpp"

namespace multivio::cli::output {

void show_user(const Printer& out, const store::User& user) {
  if (out.json()) return out.json_doc(app::to_json(user));
  out.line("user " + std::to_string(user.id) + " " + user.name);
}

void show_users(const Printer& out, const std::vector<store::User>& users) {
  if (out.json()) {
    auto doc = nlohmann::json::array();
    for (const auto& u : users) doc.push_back(app::to_json(u));
    return out.json_doc(doc);
  }
  Table table({"ID", "NAME", "CREATED"});
  for (const auto& u : users) table.add({std::to_string(u.id), u.name, model::format_utc(u.created_at)});
  for (const auto& line : table.lines()) out.line(line);
}

void show_created_token(const Printer& out, const app::CreatedToken& created, model::Timestamp now) {
  if (out.json()) {
    auto doc = app::to_json(created.token, now);
    doc["token"] = created.secret;
    return out.json_doc(doc);
  }
  out.line(created.secret);
  out.note("token " + std::to_string(created.token.id) + " created with scopes " + join(created.token.scopes) +
           (created.token.expires_at ? ", expires " + model::format_utc(*created.token.expires_at) : "") +
           ". It is shown only now: store it safely.");
}

void show_tokens(const Printer& out, const std::vector<store::ApiToken>& tokens, model::Timestamp now) {
  if (out.json()) {
    auto doc = nlohmann::json::array();
    for (const auto& t : tokens) doc.push_back(app::to_json(t, now));
    return out.json_doc(doc);
  }
  Table table({"ID", "USER", "NAME", "SCOPES", "STATE", "EXPIRES", "LAST USED"});
  for (const auto& t : tokens) {
    const auto j = app::to_json(t, now);
    table.add({std::to_string(t.id), std::to_string(t.user_id), t.name, join(t.scopes), j["state"].get<std::string>(),
               t.expires_at ? model::format_utc(*t.expires_at) : "never",
               t.last_used_at ? model::format_utc(*t.last_used_at) : "-"});
  }
  for (const auto& line : table.lines()) out.line(line);
}

}  // namespace multivio::cli::output
