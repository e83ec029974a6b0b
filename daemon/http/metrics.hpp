// SPDX-License-Identifier: MIT
// Counters the REST listener keeps for /metrics: HTTP requests by route
// pattern, method and status. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace multivio::daemon::http {

class Metrics {
 public:
  /// `route` is the pattern ("/v1/posts/{id}"), never the raw path, so ids
  /// do not become label values; unmatched paths count as "unmatched".
  void count_request(const std::string& method, const std::string& route, int status);
  /// Prometheus text exposition of the counters (one # HELP/# TYPE block).
  std::string render_requests() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
};

/// A Prometheus label value with \, " and newline escaped.
std::string label_value(const std::string& value);

}  // namespace multivio::daemon::http
