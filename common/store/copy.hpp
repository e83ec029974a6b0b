// SPDX-License-Identifier: MIT
// Copying a whole database to another, across backends (`multivio db copy`):
// every table of store::tables() with its ids, sealed secrets as stored.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/store/store.hpp"

namespace multivio::store {

/// Rows of one table: counted in the source's snapshot and in the
/// destination after loading, before the destination commits.
struct CopiedTable {
  std::string table;
  std::int64_t source = 0;
  std::int64_t copied = 0;
};

/// Copies everything from `from` to `to` in one destination transaction that
/// first migrates `to` to the latest version; on any error the destination
/// is left as it was. `from` is only read (one snapshot) and must be at the
/// latest version. Throws Error(usage) when both are one database, when a
/// schema is behind (source) or ahead (either), and when `to` holds rows and
/// replace is false; Error(permanent) when a count differs or a row is refused.
std::vector<CopiedTable> copy(Store& from, Store& to, bool replace);

}  // namespace multivio::store
