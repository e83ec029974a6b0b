// SPDX-License-Identifier: MIT
#include "common/schedule/state.hpp"

#include <algorithm>
#include <cmath>

namespace multivio::schedule {

using model::AttemptOutcome;
using model::TargetStatus;
using std::chrono::milliseconds;

milliseconds backoff(int attempt, const RetryPolicy& policy, std::optional<std::chrono::seconds> retry_after,
                     std::mt19937_64& rng) {
  const milliseconds cap = std::max(policy.max, milliseconds{0});
  if (retry_after) {
    // The server knows its own rate limits better than our estimate; no jitter.
    return std::clamp(std::chrono::duration_cast<milliseconds>(*retry_after), milliseconds{0}, cap);
  }
  milliseconds delay = std::clamp(policy.base, milliseconds{0}, cap);
  // Doubling stops at the cap, so large attempt numbers cannot overflow.
  for (int i = 1; i < attempt && delay < cap; ++i) {
    delay = std::min(delay * 2, cap);
  }
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  if (jitter > 0.0) {
    std::uniform_real_distribution<double> spread(-jitter, jitter);
    const double jittered = static_cast<double>(delay.count()) * (1.0 + spread(rng));
    // Clamped to the cap as well: `max` is a promise to the user, not a midpoint.
    delay = std::clamp(milliseconds{std::llround(jittered)}, milliseconds{0}, cap);
  }
  return delay;
}

store::AttemptResult succeeded(std::vector<std::string> remote_ids, std::string remote_url, int http_status) {
  store::AttemptResult r;
  r.outcome = AttemptOutcome::ok;
  r.next_status = TargetStatus::published;
  r.http_status = http_status;
  r.remote_ids = std::move(remote_ids);
  r.remote_url = std::move(remote_url);
  return r;
}

store::AttemptResult failed(const Error& error, int attempt, bool network_dedupes, const RetryPolicy& policy,
                            model::Timestamp now, std::mt19937_64& rng) {
  store::AttemptResult r;
  r.error = error.what();
  r.http_status = error.http_status;

  // The post may be live; only a network that dedupes by idempotency key makes
  // another try safe (DESIGN §3). Everything else is the human's call.
  const bool unknown = error.outcome_unknown;
  const bool retryable = error.kind() == ErrorKind::transient || (unknown && network_dedupes);
  if (unknown && !network_dedupes) {
    r.outcome = AttemptOutcome::unknown;
    r.next_status = TargetStatus::unknown;
    return r;
  }
  if (retryable && attempt < policy.max_attempts) {
    r.outcome = AttemptOutcome::transient;
    r.next_status = TargetStatus::retry_wait;
    r.next_attempt_at = now + backoff(attempt, policy, error.retry_after, rng);
    return r;
  }
  if (unknown) {
    // Out of attempts while the last call's fate is unknown: "failed" would
    // claim nothing went out, which may be false.
    r.outcome = AttemptOutcome::unknown;
    r.next_status = TargetStatus::unknown;
    return r;
  }
  r.outcome = retryable ? AttemptOutcome::transient : AttemptOutcome::permanent;
  r.next_status = TargetStatus::failed;
  return r;
}

bool allowed(TargetStatus from, TargetStatus to) noexcept {
  using S = TargetStatus;
  switch (from) {
    case S::draft: return to == S::scheduled || to == S::cancelled;
    case S::scheduled: return to == S::claimed || to == S::cancelled || to == S::draft;
    // Back to scheduled when the lease is lost or released unused.
    case S::claimed: return to == S::publishing || to == S::scheduled || to == S::cancelled;
    case S::publishing:
      return to == S::published || to == S::retry_wait || to == S::failed || to == S::unknown;
    case S::retry_wait: return to == S::claimed || to == S::cancelled || to == S::scheduled;
    case S::failed: return to == S::scheduled;
    // Reconciliation may find the post live.
    case S::unknown: return to == S::scheduled || to == S::published;
    case S::cancelled: return to == S::scheduled;
    case S::published: return false;
  }
  return false;
}

model::Timestamp SystemClock::now() const {
  return std::chrono::floor<milliseconds>(std::chrono::system_clock::now());
}

}  // namespace multivio::schedule
