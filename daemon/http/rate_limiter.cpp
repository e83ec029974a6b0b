// SPDX-License-Identifier: MIT
#include "daemon/http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace multivio::daemon::http {

std::chrono::seconds RateLimiter::take(std::int64_t key, Clock::time_point now) {
  if (rate_ <= 0) return std::chrono::seconds{0};
  std::lock_guard lock(mutex_);
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{static_cast<double>(rate_), now});
  Bucket& b = it->second;
  if (!fresh) {
    const double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(static_cast<double>(rate_), b.tokens + std::max(0.0, elapsed) * rate_);
    b.at = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::chrono::seconds{0};
  }
  const double wait = (1.0 - b.tokens) / rate_;
  return std::chrono::seconds{std::max<long long>(1, static_cast<long long>(std::ceil(wait)))};
}

}  // namespace multivio::daemon::http
