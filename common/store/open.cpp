// SPDX-License-Identifier: MIT
// store::open picks the backend by URL scheme: postgresql:// and postgres://
// go to PostgreSQL (when the build has libpqxx), everything else is a SQLite
// file (sqlite:///abs, sqlite:rel, a bare path or :memory:).
#include <regex>

#include "common/error.hpp"
#include "common/store/backends.hpp"
#include "common/store/store.hpp"

namespace multivio::store {

bool is_postgres_url(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string redact_url(const std::string& url) {
  std::string out = url;
  if (const auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto start = scheme + 3;
    auto end = out.find_first_of("/?#", start);
    if (end == std::string::npos) end = out.size();
    const std::string authority = out.substr(start, end - start);
    if (const auto at = authority.rfind('@'); at != std::string::npos) {
      if (const auto colon = authority.find(':'); colon != std::string::npos && colon < at) {
        out.replace(start + colon + 1, at - colon - 1, "***");
      }
    }
  }
  // libpq also takes the password as a parameter (?password=... or a
  // key=value connection string).
  static const std::regex param(R"((password\s*=\s*)('[^']*'|[^&\s]*))", std::regex::icase);
  return std::regex_replace(out, param, "$1***");
}

std::string local_file(const std::string& url) {
  if (url.find("://") != std::string::npos && url.rfind("sqlite://", 0) != 0) return {};
  const std::string path = sqlite_path(url);
  return path == ":memory:" ? std::string() : path;
}

std::unique_ptr<Store> open(const std::string& url) {
  if (is_postgres_url(url)) {
#if MULTIVIO_HAVE_POSTGRES
    return open_postgres(url);
#else
    throw_usage("this build of multivio has no PostgreSQL support (libpqxx was not found when it was built; run "
                "scripts/install-deps and rebuild), so " + redact_url(url) +
                " cannot be opened: use sqlite:///path/to/file.db");
#endif
  }
  if (url.find("://") != std::string::npos && url.rfind("sqlite://", 0) != 0) {
    throw_usage("unsupported database URL '" + redact_url(url) +
                "' (expected sqlite:///path/to/file.db or postgresql://user@host:port/database)");
  }
  return open_sqlite(sqlite_path(url));
}

}  // namespace multivio::store
