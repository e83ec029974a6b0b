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

/// True for postgresql:// and postgres:// URLs.
bool is_postgres_url(const std::string& url);
/// Connects to the PostgreSQL database at url and runs migrations (with
/// Migrate::on_open). Lives in the multivio_postgres module (built when the
/// build has libpqxx), which exports it as multivio_postgres_opener().
std::unique_ptr<Store> open_postgres(const std::string& url, Migrate migrate = Migrate::on_open);
using PostgresOpener = std::unique_ptr<Store> (*)(const std::string& url, Migrate migrate);

}  // namespace multivio::store
