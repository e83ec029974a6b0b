// SPDX-License-Identifier: MIT
// Counters the REST listener keeps for /metrics: HTTP requests by route
// pattern, method and status, and this daemon's publish attempts by network
// and outcome with a latency histogram. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace multivio::daemon::http {

class Metrics {
 public:
  /// `route` is the pattern ("/v1/posts/{id}"), never the raw path, so ids
  /// do not become label values; unmatched paths count as "unmatched".
  void count_request(const std::string& method, const std::string& route, int status);
  /// Prometheus text exposition of the counters (one # HELP/# TYPE block).
  std::string render_requests() const;

  /// One publish attempt this daemon made: its network, outcome (ok,
  /// transient, permanent, unknown) and how long the adapter took.
  void observe_attempt(const std::string& network, std::string_view outcome, std::chrono::duration<double> took);
  /// multivio_publish_attempts_total{network,outcome} and the
  /// multivio_publish_duration_seconds{network} histogram.
  std::string render_publishing() const;

  /// Upper bounds (seconds) of the latency histogram's buckets (+Inf aside).
  static constexpr std::array<double, 10> kLatencyBuckets{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

 private:
  struct Histogram {
    std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};  // not cumulative; rendering sums
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> attempts_;
  std::map<std::string, Histogram> latency_;
};

/// A Prometheus label value with \, " and newline escaped.
std::string label_value(const std::string& value);

}  // namespace multivio::daemon::http
