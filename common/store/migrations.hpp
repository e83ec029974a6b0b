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
};

std::span<const Migration> migrations();

}  // namespace multivio::store
