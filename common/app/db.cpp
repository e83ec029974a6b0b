// SPDX-License-Identifier: MIT
#include "common/app/db.hpp"

#include <filesystem>

#include "common/error.hpp"
#include "common/store/migrations.hpp"

namespace multivio::app {
namespace {

// Opens url without migrating; errors name the (redacted) database, which
// matters when two are involved.
std::unique_ptr<store::Store> open_as_is(const std::string& url, store::Migrate mode, std::string_view role) {
  try {
    return store::open(url, mode);
  } catch (const Error& e) {
    const std::string shown = store::redact_url(url);
    if (std::string_view(e.what()).find(shown) != std::string_view::npos) throw;  // already names it
    throw e.with_prefix(std::string(role) + " " + shown);
  }
}

// Removes a SQLite file (and its WAL and shared-memory files) that a failed
// copy created, so "nothing changed" holds for a new destination too.
class CreatedFileGuard {
 public:
  explicit CreatedFileGuard(const std::string& url) {
    const std::string file = store::local_file(url);
    if (!file.empty() && !std::filesystem::exists(file)) file_ = file;
  }
  ~CreatedFileGuard() {
    if (file_.empty()) return;
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(file_ + suffix, ec);
  }
  CreatedFileGuard(const CreatedFileGuard&) = delete;
  CreatedFileGuard& operator=(const CreatedFileGuard&) = delete;
  void keep() { file_.clear(); }

 private:
  std::string file_;
};

}  // namespace

DbStatus db_status(Context& ctx) {
  const std::string url = ctx.config().database;
  auto db = open_as_is(url, store::Migrate::no, "database");
  DbStatus status;
  status.backend = store::backend_name(url);
  status.database = store::redact_url(url);
  status.version = db->schema_version();
  status.latest = store::migrations().back().version;
  for (const auto& m : store::migrations()) {
    if (m.version > status.version) status.pending.push_back(PendingMigration{m.version, m.name});
  }
  status.rows = db->row_counts();
  return status;
}

MigrateResult db_migrate(Context& ctx) {
  const std::string url = ctx.config().database;
  auto db = open_as_is(url, store::Migrate::later, "database");
  MigrateResult result;
  result.backend = store::backend_name(url);
  result.database = store::redact_url(url);
  result.from = db->schema_version();
  result.to = db->migrate();
  return result;
}

CopyResult db_copy(Context& ctx, const CopyRequest& request) {
  if (request.to.empty()) throw_usage("db copy needs a destination: --to URL");
  const std::string url = ctx.config().database;
  CopyResult result;
  result.backend = store::backend_name(url);
  result.database = store::redact_url(url);
  result.to_backend = store::backend_name(request.to);
  result.to_database = store::redact_url(request.to);
  result.replaced = request.force;

  auto from = open_as_is(url, store::Migrate::no, "source");
  CreatedFileGuard created(request.to);
  auto to = open_as_is(request.to, store::Migrate::later, "destination");
  result.tables = store::copy(*from, *to, request.force);
  to.reset();  // closed (WAL checkpointed) before the guard decides
  created.keep();
  return result;
}

}  // namespace multivio::app
