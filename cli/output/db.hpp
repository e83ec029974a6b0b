// SPDX-License-Identifier: MIT
// Text and JSON views of `multivio db` results.
#pragma once

#include "cli/output/printer.hpp"
#include "common/app/db.hpp"

namespace multivio::cli::output {

void show_db_status(const Printer& out, const app::DbStatus& status);
void show_db_migrated(const Printer& out, const app::MigrateResult& result);
void show_db_copied(const Printer& out, const app::CopyResult& result);

}  // namespace multivio::cli::output
