// SPDX-License-Identifier: MIT
// A circuit breaker per network: after `threshold` transient failures in a
// row the network is paused for an interval that doubles each time it opens
// again (up to `max`), so a network that is down does not burn every
// target's attempts; a success closes it. Pure: the caller passes the time.
// Thread affinity: none (callers lock).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "common/model/model.hpp"

namespace multivio::schedule {

struct BreakerPolicy {
  int threshold = 5;
  std::chrono::milliseconds base{30'000};
  std::chrono::milliseconds max{1'800'000};
};

class CircuitBreaker {
 public:
  explicit CircuitBreaker(BreakerPolicy policy = {}) : policy_(policy) {}

  void set_policy(BreakerPolicy policy) { policy_ = policy; }
  void record_success(const std::string& network);
  /// Returns the instant the network reopens when this failure opened it.
  std::optional<model::Timestamp> record_transient(const std::string& network, model::Timestamp now);
  /// The instant a paused network may be called again; nullopt when closed.
  std::optional<model::Timestamp> paused_until(const std::string& network, model::Timestamp now) const;

 private:
  struct State {
    int failures = 0;  // transient failures in a row
    int opened = 0;    // times opened since the last success
    std::optional<model::Timestamp> until;
  };
  BreakerPolicy policy_;
  std::map<std::string, State> states_;
};

}  // namespace multivio::schedule
