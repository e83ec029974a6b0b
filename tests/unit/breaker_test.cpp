// SPDX-License-Identifier: MIT
#include "common/schedule/breaker.hpp"

#include <gtest/gtest.h>

namespace multivio::schedule {
namespace {

using namespace std::chrono_literals;

model::Timestamp at(long long seconds) { return model::from_millis(1'800'000'000'000LL + seconds * 1000); }

TEST(CircuitBreaker, OpensAfterThresholdFailuresInARow) {
  CircuitBreaker b({3, 10s, 60s});
  EXPECT_FALSE(b.record_transient("x", at(0)));
  EXPECT_FALSE(b.record_transient("x", at(1)));
  const auto until = b.record_transient("x", at(2));
  ASSERT_TRUE(until);
  EXPECT_EQ(*until, at(12));
  EXPECT_EQ(b.paused_until("x", at(5)), at(12));
  EXPECT_FALSE(b.paused_until("x", at(12))) << "reopens at the instant";
  EXPECT_FALSE(b.paused_until("mastodon", at(5))) << "other networks continue";
}

TEST(CircuitBreaker, SuccessResetsTheCount) {
  CircuitBreaker b({3, 10s, 60s});
  b.record_transient("x", at(0));
  b.record_transient("x", at(1));
  b.record_success("x");
  EXPECT_FALSE(b.record_transient("x", at(2)));
  EXPECT_FALSE(b.record_transient("x", at(3)));
  EXPECT_TRUE(b.record_transient("x", at(4)));
}

TEST(CircuitBreaker, FailureAfterAPauseReopensWithADoubledIntervalUpToMax) {
  CircuitBreaker b({2, 10s, 35s});
  b.record_transient("x", at(0));
  ASSERT_EQ(b.record_transient("x", at(0)), at(10));
  EXPECT_EQ(b.record_transient("x", at(10)), at(30)) << "half-open: one failure reopens, for 20 s";
  EXPECT_EQ(b.record_transient("x", at(30)), at(65)) << "40 s capped at 35 s";
  b.record_success("x");
  EXPECT_FALSE(b.paused_until("x", at(31)));
  EXPECT_FALSE(b.record_transient("x", at(70)));
}

}  // namespace
}  // namespace multivio::schedule
