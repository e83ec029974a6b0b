// SPDX-License-Identifier: MIT
// Versioned schema changes, applied in order on open and recorded in
// schema_migrations. Never edit a released migration: append a new one.
#pragma once

#include <span>

namespace multivio::store {

struct Migration {
  int version;
  const char* name;
  const char* sqlite;    // may hold several statements
  const char* postgres;  // the same change for PostgreSQL
  /// SQLite rebuilds a table (its way to drop a constraint): run with foreign
  /// keys off, so dropping the old table cascades nothing, and checked with
  /// foreign_key_check before commit.
  bool sqlite_rebuilds_tables = false;
};

std::span<const Migration> migrations();

/// Every table the migrations create except the schema_migrations
/// bookkeeping, parents before the tables that reference them: what
/// `multivio db copy` copies and `db status` counts. A migration that adds a
/// table adds it here (the store test compares this list with the schema).
std::span<const char* const> tables();

}  // namespace multivio::store
