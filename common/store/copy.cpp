// SPDX-License-Identifier: MIT
#include "common/store/copy.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/store/backends.hpp"
#include "common/store/migrations.hpp"

namespace multivio::store {
namespace {

// A table or column name from a database as a quoted SQL identifier; both
// engines take "..." with doubled quotes.
std::string quoted(const std::string& name) {
  std::string out = "\"";
  for (const char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

std::int64_t RowCounts::rows(const std::string& table) const {
  const auto it = std::find_if(tables.begin(), tables.end(), [&](const auto& t) { return t.first == table; });
  return it == tables.end() ? 0 : it->second;
}

void count_post(RowCounts& counts, const std::int64_t (&row)[8]) {
  const model::TargetTally tally{row[1], row[2], row[3], row[4], row[5], row[6], row[7]};
  ++counts.posts_by_status[std::string(model::to_string(model::derive_post_status(tally, row[0] != 0)))];
}

void check_dump(const TableDump& dump) {
  const auto names = tables();
  if (std::find(names.begin(), names.end(), dump.table) == names.end()) {
    throw_permanent("'" + dump.table + "' is not a table multivio copies");
  }
  for (const auto& row : dump.rows) {
    if (row.size() != dump.columns.size()) {
      throw_permanent("table " + dump.table + ": a row has " + std::to_string(row.size()) + " values for " +
                      std::to_string(dump.columns.size()) + " columns");
    }
  }
}

std::string insert_sql(const TableDump& dump, std::size_t rows,
                       const std::function<std::string(std::size_t)>& placeholder) {
  std::vector<std::string> columns;
  for (const auto& c : dump.columns) columns.push_back(quoted(c));
  std::string sql = "INSERT INTO " + quoted(dump.table) + " (" + join(columns) + ") VALUES ";
  std::size_t index = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<std::string> values;
    for (std::size_t c = 0; c < columns.size(); ++c) values.push_back(placeholder(index++));
    sql += (r == 0 ? "(" : ", (") + join(values) + ")";
  }
  return sql;
}

std::vector<CopiedTable> copy(Store& from, Store& to, bool replace) {
  // Checked before anything is written: --force on the source itself would
  // delete what it is about to copy.
  if (from.identity() == to.identity()) throw_usage("the source and the destination are the same database");
  const int latest = migrations().back().version;
  const int source_version = from.schema_version();
  if (source_version < latest) {
    throw_usage("the source database is at schema version " + std::to_string(source_version) + ", behind this " +
                "multivio's " + std::to_string(latest) + ": run 'multivio db migrate' on it first");
  }
  if (source_version > latest) {
    throw_usage("the source database is at schema version " + std::to_string(source_version) +
                ", newer than this multivio knows (" + std::to_string(latest) + "): use a newer multivio");
  }
  if (const int v = to.schema_version(); v > latest) {
    throw_usage("the destination database is at schema version " + std::to_string(v) +
                ", newer than this multivio knows (" + std::to_string(latest) + "): use a newer multivio");
  }

  const std::vector<TableDump> dumps = from.dump_tables();
  for (const auto& d : dumps) {
    if (static_cast<std::int64_t>(d.rows.size()) != d.counted) {
      throw_permanent("table " + d.table + ": read " + std::to_string(d.rows.size()) + " rows from the source, " +
                      "which counts " + std::to_string(d.counted));
    }
  }

  std::vector<CopiedTable> report;
  // Migration, checks, rows and the count are one transaction: whatever
  // fails, the destination keeps its old schema and rows.
  to.transaction([&] {
    to.migrate();
    if (!replace) {
      std::vector<std::string> held;
      for (const auto& [table, n] : to.row_counts().tables) {
        // The migration seeds the local user: that row alone is not content.
        if (n > (table == "users" ? 1 : 0)) held.push_back(table + ": " + std::to_string(n));
      }
      if (!held.empty()) {
        throw_usage("the destination database is not empty (" + join(held) +
                    "); pass --force to replace its contents with the source's");
      }
    }
    // Cleared even without replace: an "empty" destination still holds the
    // seeded local user, which the source's users table brings back.
    to.load_tables(dumps, true);
    const RowCounts after = to.row_counts();
    for (const auto& d : dumps) {
      const std::int64_t copied = after.rows(d.table);
      if (copied != d.counted) {
        throw_permanent("table " + d.table + ": the source has " + std::to_string(d.counted) +
                        " rows but the destination " + std::to_string(copied) + " after copying; nothing was copied");
      }
      report.push_back(CopiedTable{d.table, d.counted, copied});
    }
  });
  return report;
}

}  // namespace multivio::store
