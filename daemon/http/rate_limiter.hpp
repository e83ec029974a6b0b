// SPDX-License-Identifier: MIT
// Per-token token buckets for the REST listener (daemon.http.rate_limit): each
// token may make `rate` requests per second, in bursts of up to `rate`.
// Thread-safe; time is passed in so tests need no sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace multivio::daemon::http {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  /// rate 0 turns limiting off.
  explicit RateLimiter(int rate) : rate_(rate) {}

  /// Takes one request from the key's bucket. Returns zero when allowed, or
  /// how long until a request would be (at least one second: Retry-After
  /// counts whole seconds).
  std::chrono::seconds take(std::int64_t key, Clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at{};
  };
  const int rate_;
  std::mutex mutex_;
  std::unordered_map<std::int64_t, Bucket> buckets_;
};

}  // namespace multivio::daemon::http
