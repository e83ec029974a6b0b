// SPDX-License-Identifier: MIT
// A raw TCP endpoint on 127.0.0.1 that breaks HTTP exchanges below the HTTP
// level, where no cpp-httplib fake can: it resets the connection or never
// answers. Alone it does that to every request; in front of another fake (the
// upstream) it forwards every request that has no fault scripted, so a
// network's whole flow runs and exactly one call breaks. Network-agnostic: it
// only knows request lines, headers and Content-Length bodies.
// Thread-safe; serves on its own threads from construction until stop().
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multivio::fakes {

class FaultyEndpoint {
 public:
  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  enum class Mode {
    pass,    // forward to the upstream and relay its answer
    reset,   // read the request, then close with SO_LINGER {1, 0}: the client sees a connection reset
    silent,  // read the request, then never answer (until the client hangs up or stop())
  };

  struct Received {
    std::string method;
    std::string path;    // without the query string
    std::string target;  // path and query as sent
    HeaderList headers;
    std::string body;
    Mode mode = Mode::pass;  // what was done with it
    bool forwarded = false;  // whether the upstream saw it (and may have acted on it)

    /// "METHOD /path", the form script() matches.
    std::string route() const { return method + " " + path; }
    /// Case-insensitive lookup of the first header with this name.
    std::optional<std::string> header(std::string_view name) const;
  };

  /// Binds 127.0.0.1 on a free port. Every request not scripted otherwise
  /// gets `mode`; Mode::pass needs `upstream` ("http://127.0.0.1:PORT", the
  /// only kind of upstream supported). Throws std::runtime_error when no
  /// socket can be bound (tests GTEST_SKIP then), std::invalid_argument for
  /// a bad upstream.
  explicit FaultyEndpoint(Mode mode, std::string upstream = {});
  ~FaultyEndpoint();
  FaultyEndpoint(const FaultyEndpoint&) = delete;
  FaultyEndpoint& operator=(const FaultyEndpoint&) = delete;

  /// Wakes every connection (silent ones included), closes them and joins
  /// all threads. Idempotent; never waits for a client or the upstream.
  void stop();

  std::string base_url() const;  // "http://127.0.0.1:PORT"
  int port() const;

  /// The next `count` requests whose route() equals `route` get `mode`.
  /// With `after_upstream` the request is forwarded first and the upstream's
  /// answer then withheld: the server acted, but the client never learns it.
  void script(std::string route, Mode mode, int count = 1, bool after_upstream = false);

  std::vector<Received> received() const;
  /// Requests to `route` ("METHOD /path") so far, whatever was done with them.
  std::size_t count(std::string_view route) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
