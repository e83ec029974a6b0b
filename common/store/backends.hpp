// SPDX-License-Identifier: MIT
// Internal to common/store: the backends open.cpp dispatches to. Callers use
// store::open() and store::local_file() from store.hpp instead.
#pragma once

#include <memory>
#include <string>

#include "common/store/store.hpp"

namespace multivio::store {

/// The file path inside a SQLite URL ("sqlite:///path", "sqlite:rel", a bare
/// path or ":memory:"). Throws usage for another scheme or an empty path.
std::string sqlite_path(const std::string& url);
/// Opens (creating) the SQLite database at path and runs migrations.
std::unique_ptr<Store> open_sqlite(const std::string& path);

/// True for postgresql:// and postgres:// URLs.
bool is_postgres_url(const std::string& url);
/// Connects to the PostgreSQL database at url and runs migrations. Only
/// linked when the build has libpqxx (MULTIVIO_HAVE_POSTGRES).
std::unique_ptr<Store> open_postgres(const std::string& url);

}  // namespace multivio::store
