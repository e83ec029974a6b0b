// SPDX-License-Identifier: MIT
#include "common/schedule/state.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace multivio::schedule {
namespace {

using namespace std::chrono;
using model::AttemptOutcome;
using model::TargetStatus;

const model::Timestamp kNow = model::from_millis(1'800'000'000'000);

RetryPolicy no_jitter() {
  RetryPolicy p;
  p.base = seconds{30};
  p.max = hours{1};
  p.jitter = 0.0;
  return p;
}

Error error(ErrorKind kind, std::string message = "boom") { return Error(kind, std::move(message)); }

TEST(Backoff, DoublesFromBase) {
  std::mt19937_64 rng(1);
  const RetryPolicy p = no_jitter();
  EXPECT_EQ(backoff(1, p, std::nullopt, rng), seconds{30});
  EXPECT_EQ(backoff(2, p, std::nullopt, rng), seconds{60});
  EXPECT_EQ(backoff(3, p, std::nullopt, rng), seconds{120});
  EXPECT_EQ(backoff(7, p, std::nullopt, rng), seconds{1920});
}

TEST(Backoff, CappedAtMaxEvenForHugeAttempts) {
  std::mt19937_64 rng(1);
  const RetryPolicy p = no_jitter();
  EXPECT_EQ(backoff(8, p, std::nullopt, rng), hours{1});
  EXPECT_EQ(backoff(64, p, std::nullopt, rng), hours{1});
  EXPECT_EQ(backoff(1'000'000, p, std::nullopt, rng), hours{1});
  EXPECT_EQ(backoff(0, p, std::nullopt, rng), seconds{30});
}

TEST(Backoff, JitterStaysWithinBoundsAndSpreads) {
  std::mt19937_64 rng(42);
  RetryPolicy p = no_jitter();
  p.jitter = 0.2;
  std::vector<milliseconds> samples;
  for (int i = 0; i < 5000; ++i) samples.push_back(backoff(3, p, std::nullopt, rng));
  const auto [lo, hi] = std::minmax_element(samples.begin(), samples.end());
  EXPECT_GE(*lo, milliseconds{96'000});
  EXPECT_LE(*hi, milliseconds{144'000});
  // Uniform over +/-20%: 5000 draws reach well into both tails.
  EXPECT_LT(*lo, milliseconds{100'000});
  EXPECT_GT(*hi, milliseconds{140'000});
}

TEST(Backoff, JitterNeverExceedsMaxNorGoesNegative) {
  std::mt19937_64 rng(7);
  RetryPolicy p = no_jitter();
  p.jitter = 1.0;
  for (int i = 0; i < 2000; ++i) {
    const auto d = backoff(20, p, std::nullopt, rng);
    EXPECT_GE(d, milliseconds{0});
    EXPECT_LE(d, hours{1});
  }
  p.jitter = 5.0;  // nonsense fractions are clamped, not trusted
  for (int i = 0; i < 2000; ++i) EXPECT_GE(backoff(1, p, std::nullopt, rng), milliseconds{0});
}

TEST(Backoff, SameSeedSameDelays) {
  RetryPolicy p;
  std::mt19937_64 a(99), b(99);
  for (int i = 1; i < 10; ++i) EXPECT_EQ(backoff(i, p, std::nullopt, a), backoff(i, p, std::nullopt, b));
}

TEST(Backoff, RetryAfterWinsWithoutJitterAndIsCapped) {
  std::mt19937_64 rng(3);
  RetryPolicy p;
  p.jitter = 0.5;
  EXPECT_EQ(backoff(1, p, seconds{5}, rng), seconds{5});
  EXPECT_EQ(backoff(6, p, seconds{5}, rng), seconds{5});
  EXPECT_EQ(backoff(1, p, seconds{0}, rng), seconds{0});
  EXPECT_EQ(backoff(1, p, hours{10}, rng), p.max);
  EXPECT_EQ(backoff(1, p, seconds{-3}, rng), seconds{0});
}

TEST(Succeeded, Published) {
  const auto r = succeeded({"111", "112"}, "https://example.test/111", 201);
  EXPECT_EQ(r.outcome, AttemptOutcome::ok);
  EXPECT_EQ(r.next_status, TargetStatus::published);
  EXPECT_EQ(r.http_status, 201);
  EXPECT_EQ(r.remote_ids, (std::vector<std::string>{"111", "112"}));
  EXPECT_EQ(r.remote_url, "https://example.test/111");
  EXPECT_FALSE(r.next_attempt_at);
  EXPECT_TRUE(r.error.empty());
}

TEST(Failed, TransientWithAttemptsLeftWaits) {
  std::mt19937_64 rng(1);
  const RetryPolicy p = no_jitter();
  Error e = error(ErrorKind::transient, "HTTP 503: try later");
  e.http_status = 503;
  for (int attempt = 1; attempt < p.max_attempts; ++attempt) {
    const auto r = failed(e, attempt, false, p, kNow, rng);
    EXPECT_EQ(r.outcome, AttemptOutcome::transient);
    EXPECT_EQ(r.next_status, TargetStatus::retry_wait);
    ASSERT_TRUE(r.next_attempt_at);
    EXPECT_EQ(*r.next_attempt_at, kNow + seconds{30} * (1 << (attempt - 1)));
    EXPECT_EQ(r.error, "HTTP 503: try later");
    EXPECT_EQ(r.http_status, 503);
  }
}

TEST(Failed, TransientHonoursRetryAfter) {
  std::mt19937_64 rng(1);
  Error e = error(ErrorKind::transient, "HTTP 429");
  e.http_status = 429;
  e.retry_after = seconds{90};
  const auto r = failed(e, 1, false, RetryPolicy{}, kNow, rng);
  EXPECT_EQ(r.next_status, TargetStatus::retry_wait);
  EXPECT_EQ(*r.next_attempt_at, kNow + seconds{90});
}

TEST(Failed, TransientOnTheLastAttemptFails) {
  std::mt19937_64 rng(1);
  const RetryPolicy p = no_jitter();
  for (int attempt : {p.max_attempts, p.max_attempts + 1}) {
    const auto r = failed(error(ErrorKind::transient), attempt, false, p, kNow, rng);
    EXPECT_EQ(r.outcome, AttemptOutcome::transient);
    EXPECT_EQ(r.next_status, TargetStatus::failed);
    EXPECT_FALSE(r.next_attempt_at);
    EXPECT_EQ(r.error, "boom");
  }
}

TEST(Failed, NonTransientKindsFailAtOnce) {
  std::mt19937_64 rng(1);
  for (ErrorKind kind : {ErrorKind::permanent, ErrorKind::auth, ErrorKind::validation, ErrorKind::usage,
                         ErrorKind::not_found}) {
    Error e = error(kind, "HTTP 4xx");
    e.http_status = 422;
    e.retry_after = seconds{5};  // irrelevant without a retry
    const auto r = failed(e, 1, true, RetryPolicy{}, kNow, rng);
    EXPECT_EQ(r.outcome, AttemptOutcome::permanent) << kind_name(kind);
    EXPECT_EQ(r.next_status, TargetStatus::failed) << kind_name(kind);
    EXPECT_FALSE(r.next_attempt_at);
    EXPECT_EQ(r.http_status, 422);
    EXPECT_EQ(r.error, "HTTP 4xx");
  }
}

TEST(Failed, UnknownOutcomeWithoutDedupeIsUnknown) {
  std::mt19937_64 rng(1);
  Error e = error(ErrorKind::transient, "timeout after the request was sent");
  e.outcome_unknown = true;
  for (int attempt : {1, 5}) {
    const auto r = failed(e, attempt, false, RetryPolicy{}, kNow, rng);
    EXPECT_EQ(r.outcome, AttemptOutcome::unknown);
    EXPECT_EQ(r.next_status, TargetStatus::unknown);
    EXPECT_FALSE(r.next_attempt_at);
    EXPECT_EQ(r.error, "timeout after the request was sent");
  }
}

TEST(Failed, UnknownOutcomeWithDedupeRetriesWithTheSameKey) {
  std::mt19937_64 rng(1);
  const RetryPolicy p = no_jitter();
  Error e = error(ErrorKind::permanent, "connection reset mid-request");
  e.outcome_unknown = true;
  const auto r = failed(e, 2, true, p, kNow, rng);
  EXPECT_EQ(r.outcome, AttemptOutcome::transient);
  EXPECT_EQ(r.next_status, TargetStatus::retry_wait);
  EXPECT_EQ(*r.next_attempt_at, kNow + seconds{60});
}

TEST(Failed, UnknownOutcomeWithDedupeOutOfAttemptsStaysUnknown) {
  std::mt19937_64 rng(1);
  const RetryPolicy p = no_jitter();
  Error e = error(ErrorKind::transient, "timeout");
  e.outcome_unknown = true;
  const auto r = failed(e, p.max_attempts, true, p, kNow, rng);
  EXPECT_EQ(r.outcome, AttemptOutcome::unknown);
  EXPECT_EQ(r.next_status, TargetStatus::unknown);
  EXPECT_FALSE(r.next_attempt_at);
}

constexpr TargetStatus kAll[] = {TargetStatus::draft,      TargetStatus::scheduled, TargetStatus::claimed,
                                 TargetStatus::publishing, TargetStatus::published, TargetStatus::retry_wait,
                                 TargetStatus::failed,     TargetStatus::unknown,   TargetStatus::cancelled};

TEST(Allowed, ExactlyTheDesignArrows) {
  using S = TargetStatus;
  const std::vector<std::pair<S, S>> arrows = {
      {S::draft, S::scheduled},        {S::draft, S::cancelled},       {S::scheduled, S::claimed},
      {S::scheduled, S::cancelled},    {S::scheduled, S::draft},       {S::claimed, S::publishing},
      {S::claimed, S::scheduled},      {S::claimed, S::cancelled},     {S::publishing, S::published},
      {S::publishing, S::retry_wait},  {S::publishing, S::failed},     {S::publishing, S::unknown},
      {S::retry_wait, S::claimed},     {S::retry_wait, S::cancelled},  {S::retry_wait, S::scheduled},
      {S::failed, S::scheduled},       {S::unknown, S::scheduled},     {S::unknown, S::published},
      {S::cancelled, S::scheduled},
  };
  for (S from : kAll) {
    for (S to : kAll) {
      const bool expected = std::find(arrows.begin(), arrows.end(), std::pair{from, to}) != arrows.end();
      EXPECT_EQ(allowed(from, to), expected) << static_cast<int>(from) << " -> " << static_cast<int>(to);
    }
  }
}

TEST(Allowed, ForbiddenMovesSpelledOut) {
  using S = TargetStatus;
  for (S to : kAll) EXPECT_FALSE(allowed(S::published, to));
  EXPECT_FALSE(allowed(S::scheduled, S::publishing));  // must be claimed first
  EXPECT_FALSE(allowed(S::publishing, S::cancelled));  // the call is in flight
  EXPECT_FALSE(allowed(S::publishing, S::scheduled));
  EXPECT_FALSE(allowed(S::unknown, S::claimed));       // never silently re-posted
  EXPECT_FALSE(allowed(S::failed, S::claimed));
  EXPECT_FALSE(allowed(S::draft, S::claimed));
  EXPECT_FALSE(allowed(S::scheduled, S::scheduled));
}

TEST(SystemClock, MillisecondsNearNow) {
  const SystemClock clock;
  const auto before = floor<milliseconds>(system_clock::now());
  const auto t = clock.now();
  EXPECT_GE(t, before);
  EXPECT_LE(t, before + seconds{5});
}

}  // namespace
}  // namespace multivio::schedule
