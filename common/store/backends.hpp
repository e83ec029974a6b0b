// SPDX-License-Identifier: MIT
// Internal to common/store: the backends open.cpp dispatches to. Callers use
// store::open() and store::local_file() from store.hpp instead.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/store/store.hpp"

namespace multivio::store {

/// The file path inside a SQLite URL ("sqlite:///path", "sqlite:rel", a bare
/// path or ":memory:"). Throws usage for another scheme or an empty path.
std::string sqlite_path(const std::string& url);
/// Opens the SQLite database at path as store::open() describes.
std::unique_ptr<Store> open_sqlite(const std::string& path, Migrate migrate = Migrate::on_open);

// Shared by the backends' load_tables (copy.cpp).
/// Throws Error(permanent) unless dump names a table of tables() and every
/// row holds one value per column.
void check_dump(const TableDump& dump);
/// INSERT INTO "table" ("col", ...) VALUES (...), ... for `rows` rows, with
/// placeholder(i) for the i-th value of the statement (row-major).
std::string insert_sql(const TableDump& dump, std::size_t rows,
                       const std::function<std::string(std::size_t)>& placeholder);

/// One row per post (of every user): whether it has a time, then its
/// targets per TargetTally group; the same SQL on both engines.
inline constexpr const char* kPostTallySql =
    "SELECT CASE WHEN p.scheduled_at IS NULL THEN 0 ELSE 1 END, "
    "SUM(CASE WHEN t.status = 'draft' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN t.status IN ('scheduled', 'retry_wait') THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN t.status IN ('claimed', 'publishing') THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN t.status = 'published' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN t.status = 'failed' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN t.status = 'unknown' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN t.status = 'cancelled' THEN 1 ELSE 0 END) "
    "FROM posts p LEFT JOIN targets t ON t.post_id = p.id GROUP BY p.id, p.scheduled_at";
/// Counts one kPostTallySql row (its eight values, in order) into
/// counts.posts_by_status.
void count_post(RowCounts& counts, const std::int64_t (&row)[8]);

/// True for postgresql:// and postgres:// URLs.
bool is_postgres_url(const std::string& url);
/// Connects to the PostgreSQL database at url and runs migrations (with
/// Migrate::on_open). Lives in the multivio_postgres module (built when the
/// build has libpqxx), which exports it as multivio_postgres_opener().
std::unique_ptr<Store> open_postgres(const std::string& url, Migrate migrate = Migrate::on_open);
using PostgresOpener = std::unique_ptr<Store> (*)(const std::string& url, Migrate migrate);

}  // namespace multivio::store
