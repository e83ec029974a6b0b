// SPDX-License-Identifier: MIT
// Database services behind `multivio db`: status, migrate and copy. Unlike
// every other command these open the database without migrating it, so a
// database that is behind can be inspected (and copied to only once migrated).
// URLs in results are redacted. Errors are multivio::Error.
#pragma once

#include <string>
#include <vector>

#include "common/app/context.hpp"
#include "common/store/copy.hpp"

namespace multivio::app {

struct PendingMigration {
  int version = 0;
  std::string name;
};

struct DbStatus {
  std::string backend;   // "sqlite" or "postgresql"
  std::string database;  // the URL, password redacted
  int version = 0;       // the database's schema version
  int latest = 0;        // the newest version this build knows
  std::vector<PendingMigration> pending;
  store::RowCounts rows;
};
/// Reads only. Throws Error(not_found) for a SQLite file that does not exist.
DbStatus db_status(Context& ctx);

struct MigrateResult {
  std::string backend;
  std::string database;
  int from = 0;
  int to = 0;
};
/// Applies the pending migrations (creating a SQLite file that does not exist).
MigrateResult db_migrate(Context& ctx);

struct CopyRequest {
  std::string to;       // destination URL
  bool force = false;   // replace a destination that holds rows
};
struct CopyResult {
  std::string backend;      // source
  std::string database;
  std::string to_backend;   // destination
  std::string to_database;
  bool replaced = false;
  std::vector<store::CopiedTable> tables;
};
/// Copies the configured database to request.to (see store::copy). A SQLite
/// destination file this call created is removed again when the copy fails.
CopyResult db_copy(Context& ctx, const CopyRequest& request);

}  // namespace multivio::app
