// SPDX-License-Identifier: MIT
#include "cli/output/db.hpp"

#include "cli/output/table.hpp"

namespace multivio::cli::output {

void show_db_status(const Printer& out, const app::DbStatus& s) {
  if (out.json()) {
    auto pending = nlohmann::json::array();
    for (const auto& m : s.pending) pending.push_back({{"version", m.version}, {"name", m.name}});
    auto rows = nlohmann::json::object();
    for (const auto& [table, n] : s.rows.tables) rows[table] = n;
    auto targets = nlohmann::json::object();
    for (const auto& [status, n] : s.rows.targets_by_status) targets[status] = n;
    out.json_doc({{"backend", s.backend},
                  {"database", s.database},
                  {"schema_version", s.version},
                  {"latest_version", s.latest},
                  {"pending_count", s.pending.size()},
                  {"pending", pending},
                  {"rows", rows},
                  {"targets_by_status", targets}});
    return;
  }
  Table table;
  table.add({"backend", s.backend});
  table.add({"database", s.database});
  std::string schema = "version " + std::to_string(s.version) + " (latest " + std::to_string(s.latest) + ")";
  if (s.version > s.latest) schema += ", newer than this multivio";
  table.add({"schema", schema});
  std::vector<std::string> names;
  for (const auto& m : s.pending) names.push_back(std::to_string(m.version) + " " + m.name);
  table.add({"pending", names.empty() ? "none" : std::to_string(names.size()) + ": " + join(names, "; ")});
  for (const auto& [name, n] : s.rows.tables) {
    std::string cell = std::to_string(n);
    if (name == "targets" && !s.rows.targets_by_status.empty()) {
      std::vector<std::string> by;
      for (const auto& [status, count] : s.rows.targets_by_status) by.push_back(status + " " + std::to_string(count));
      cell += " (" + join(by) + ")";
    }
    table.add({name, cell});
  }
  for (const auto& line : table.lines()) out.line(line);
  if (!s.pending.empty()) out.note("Run 'multivio db migrate' to apply the pending migrations.");
}

void show_db_migrated(const Printer& out, const app::MigrateResult& r) {
  if (out.json()) {
    out.json_doc({{"backend", r.backend}, {"database", r.database}, {"from", r.from}, {"to", r.to}});
    return;
  }
  if (r.from == r.to) return out.line("already at version " + std::to_string(r.to));
  out.line("schema version " + std::to_string(r.from) + " → " + std::to_string(r.to));
}

void show_db_copied(const Printer& out, const app::CopyResult& r) {
  if (out.json()) {
    auto tables = nlohmann::json::array();
    for (const auto& t : r.tables) tables.push_back({{"table", t.table}, {"source", t.source}, {"copied", t.copied}});
    out.json_doc({{"from", {{"backend", r.backend}, {"database", r.database}}},
                  {"to", {{"backend", r.to_backend}, {"database", r.to_database}}},
                  {"replaced", r.replaced},
                  {"tables", tables}});
    return;
  }
  if (!out.quiet()) {
    out.line("Copied " + r.database + " (" + r.backend + ") to " + r.to_database + " (" + r.to_backend + ")" +
             (r.replaced ? ", replacing its contents" : ""));
  }
  Table table({"TABLE", "SOURCE", "COPIED"});
  for (const auto& t : r.tables) table.add({t.table, std::to_string(t.source), std::to_string(t.copied)});
  for (const auto& line : table.lines()) out.line(line);
}

}  // namespace multivio::cli::output
