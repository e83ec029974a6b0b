// SPDX-License-Identifier: MIT
// The REST listener of `multiviod --listen HOST:PORT` (DESIGN §7): cpp-httplib
// on a bounded pool of threads, each with its own app::Context. One wrapper
// around every route does Bearer authentication, scopes, body and rate limits,
// JSON errors and the ErrorKind -> HTTP status mapping. httplib.h stays out of
// this header (it is slow to compile). Private to daemon/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/app/context.hpp"
#include "daemon/http/routes.hpp"

namespace multivio::daemon::http {

struct ServerOptions {
  std::string listen;     // HOST:PORT; port 0 picks a free one
  std::string port_file;  // when set, the bound port is written here once listening
  app::Options app;       // each pool thread opens its own Context from these
  int max_body = 1 << 20;
  int max_upload = 64 << 20;  // routes marked `upload` (multipart files) only
  int rate_limit = 20;    // per token per second; 0: off
  int threads = 8;
  // Exact browser origins allowed to call the API (CORS); empty: none.
  std::vector<std::string> cors_origins;
  // PEM files; both set: HTTPS only. One without the other is an error.
  std::string tls_cert;
  std::string tls_key;
};

class Server {
 public:
  /// `services` must outlive the server.
  Server(ServerOptions options, Services& services);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and starts serving on a thread of its own. Throws Error(usage) for
  /// a malformed HOST:PORT or a TLS certificate or key that is missing,
  /// unreadable, not PEM or not a pair, and Error(permanent) when the address
  /// cannot be bound or the port file cannot be written.
  void start();
  /// The bound port (valid after start()).
  int port() const;
  /// Stops accepting, lets requests in flight finish, joins the threads.
  /// Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// "127.0.0.1:8080" -> {"127.0.0.1", 8080}; "[::1]:0" -> {"::1", 0}.
/// Throws Error(usage).
std::pair<std::string, int> parse_listen(const std::string& listen);

}  // namespace multivio::daemon::http
