// SPDX-License-Identifier: MIT
// store::open picks the backend by URL scheme: postgresql:// and postgres://
// go to PostgreSQL (when the build has libpqxx), everything else is a SQLite
// file (sqlite:///abs, sqlite:rel, a bare path or :memory:).
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <regex>
#include <vector>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/store/backends.hpp"
#include "common/store/migrations.hpp"
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

std::string backend_name(const std::string& url) { return is_postgres_url(url) ? "postgresql" : "sqlite"; }

#if MULTIVIO_HAVE_POSTGRES
namespace {

// The module resolves these in the executable; referencing them here keeps
// them linked into every program that can open a store.
[[gnu::used]] const void* const k_module_needs[] = {
    reinterpret_cast<const void*>(&crypto::random_hex), reinterpret_cast<const void*>(&check_dump),
    reinterpret_cast<const void*>(&insert_sql),        reinterpret_cast<const void*>(&migrations),
    reinterpret_cast<const void*>(&tables),            reinterpret_cast<const void*>(&throw_not_found),
    reinterpret_cast<const void*>(&throw_permanent),   reinterpret_cast<const void*>(&throw_usage),
    reinterpret_cast<const void*>(&count_post),
};

std::string executable_dir() {
  std::string path(4096, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (n <= 0) return {};
  path.resize(static_cast<std::size_t>(n));
  return path.substr(0, path.rfind('/'));
}

// Loaded once per process, on the first postgresql:// URL.
PostgresOpener postgres_opener() {
  static std::once_flag once;
  static PostgresOpener opener = nullptr;
  static std::string failures;
  std::call_once(once, [] {
    std::vector<std::string> candidates;
    if (const char* given = std::getenv("MULTIVIO_POSTGRES_MODULE"); given != nullptr && *given != '\0') {
      candidates.emplace_back(given);
    }
    if (const std::string dir = executable_dir(); !dir.empty()) {
      candidates.push_back(dir + "/../lib/multivio/multivio_postgres.so");  // an installed tree, relocated
    }
    candidates.emplace_back(MULTIVIO_POSTGRES_MODULE_INSTALLED);
    candidates.emplace_back(MULTIVIO_POSTGRES_MODULE_BUILD);
    for (const auto& path : candidates) {
      if (::access(path.c_str(), R_OK) != 0) continue;
      void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) {
        failures += std::string(failures.empty() ? "" : "; ") + ::dlerror();
        continue;
      }
      using Entry = PostgresOpener (*)();
      if (auto entry = reinterpret_cast<Entry>(::dlsym(handle, "multivio_postgres_opener"))) {
        opener = entry();
        return;
      }
      failures += std::string(failures.empty() ? "" : "; ") + path + " has no multivio_postgres_opener";
    }
    if (failures.empty()) failures = "multivio_postgres.so is not installed (looked in " MULTIVIO_POSTGRES_MODULE_INSTALLED ")";
  });
  if (opener == nullptr) {
    throw_permanent("cannot load the PostgreSQL backend: " + failures +
                    " (set MULTIVIO_POSTGRES_MODULE to the module's path)");
  }
  return opener;
}

}  // namespace
#endif

std::unique_ptr<Store> open(const std::string& url, Migrate migrate) {
  if (is_postgres_url(url)) {
#if MULTIVIO_HAVE_POSTGRES
    return postgres_opener()(url, migrate);
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
  return open_sqlite(sqlite_path(url), migrate);
}

}  // namespace multivio::store
