// SPDX-License-Identifier: MIT
// A real PostgreSQL server for tests: Debian's server binaries
// (/usr/lib/postgresql/<version>/bin), a fresh cluster (initdb) in a
// temporary directory, listening on 127.0.0.1 on a free port, run as the
// `postgres` user when the tests run as root (the server refuses root). It
// stops and its directory is removed on destruction; if the test process dies
// first, the server gets SIGQUIT (when it was started from the main thread).
//
// Databases are cheap: create_database() returns the URL of a new empty one,
// so each test can have its own. No dependency on libpqxx: it drives the
// server's own tools.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace multivio::fakes {

class PostgresServer {
 public:
  /// Finds the binaries, runs initdb and starts the server; returns once it
  /// accepts connections. Throws std::runtime_error when the binaries are
  /// missing (the message says to run scripts/install-deps) or the server
  /// does not come up (the message holds the end of its log).
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  /// postgresql://postgres@127.0.0.1:PORT/postgres (the maintenance database).
  std::string url() const { return url_for("postgres"); }
  std::string url_for(const std::string& database) const;
  /// Creates a new empty database and returns its URL
  /// (postgresql://postgres@127.0.0.1:PORT/mv_<n>). Thread-safe.
  std::string create_database();
  /// Runs one SQL command through psql on `database`; returns psql's output
  /// (unaligned, tuples only). Throws std::runtime_error when it fails.
  std::string psql(const std::string& database, const std::string& sql) const;

  /// The directory of initdb/postgres/pg_ctl, or empty when not installed.
  static std::filesystem::path find_bindir();

 private:
  void start();
  void stop() noexcept;

  std::filesystem::path bindir_;
  std::filesystem::path dir_;   // the temporary directory (data/ and server.log inside)
  int port_ = 0;
  pid_t pid_ = -1;
  int next_db_ = 0;
};

/// One server per process, started on first use and stopped at exit: what
/// unit, e2e and bench tests share. Throws like the constructor.
PostgresServer& shared_postgres();

/// A new empty database on the shared server (its URL).
std::string fresh_postgres_database();

}  // namespace multivio::fakes
