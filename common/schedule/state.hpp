// SPDX-License-Identifier: MIT
// The target state machine's decisions, as pure functions: what an attempt's
// outcome means for the target, and how long to back off. The store applies
// them; nothing here reads a clock or does I/O.
#pragma once

#include <chrono>
#include <optional>
#include <random>

#include "common/error.hpp"
#include "common/model/model.hpp"
#include "common/store/store.hpp"

namespace multivio::schedule {

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds base{30'000};
  std::chrono::milliseconds max{3'600'000};
  double jitter = 0.2;  // +/- fraction applied to the exponential delay
};

/// base * 2^(attempt-1), capped at max, with +/- jitter. When the server gave
/// a Retry-After, that wins (capped at max). attempt is 1-based.
std::chrono::milliseconds backoff(int attempt, const RetryPolicy& policy,
                                  std::optional<std::chrono::seconds> retry_after, std::mt19937_64& rng);

/// Success -> published.
store::AttemptResult succeeded(std::vector<std::string> remote_ids, std::string remote_url, int http_status);

/// Maps an error after attempt number `attempt` to the next state:
/// outcome_unknown and no idempotency -> unknown; transient with attempts
/// left -> retry_wait at now+backoff; otherwise failed.
store::AttemptResult failed(const Error& error, int attempt, bool network_dedupes, const RetryPolicy& policy,
                            model::Timestamp now, std::mt19937_64& rng);

/// Whether a target in `from` may move to `to` (DESIGN §3 arrows).
bool allowed(model::TargetStatus from, model::TargetStatus to) noexcept;

/// Source of time, injected so tests never wait.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual model::Timestamp now() const = 0;
};
class SystemClock final : public Clock {
 public:
  model::Timestamp now() const override;
};

}  // namespace multivio::schedule
