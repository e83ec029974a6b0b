// SPDX-License-Identifier: MIT
#include "common/schedule/breaker.hpp"

#include <algorithm>

namespace multivio::schedule {

void CircuitBreaker::record_success(const std::string& network) { states_.erase(network); }

std::optional<model::Timestamp> CircuitBreaker::record_transient(const std::string& network, model::Timestamp now) {
  State& s = states_[network];
  ++s.failures;
  // Half-open: the first call after a pause that fails again reopens at once.
  const bool reopening = s.opened > 0 && s.until && now >= *s.until;
  if (s.failures < policy_.threshold && !reopening) return std::nullopt;
  const int doublings = std::min(s.opened, 20);
  const auto interval = std::min<std::chrono::milliseconds>(policy_.base * (1LL << doublings), policy_.max);
  ++s.opened;
  s.failures = 0;
  s.until = now + interval;
  return s.until;
}

std::optional<model::Timestamp> CircuitBreaker::paused_until(const std::string& network,
                                                             model::Timestamp now) const {
  const auto it = states_.find(network);
  if (it == states_.end() || !it->second.until || now >= *it->second.until) return std::nullopt;
  return it->second.until;
}

}  // namespace multivio::schedule
