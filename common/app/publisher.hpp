// SPDX-License-Identifier: MIT
// Publishes one claimed target: commits the attempt row, calls the adapter,
// decides the next state and records it. Shared by the daemon's workers and
// `post publish`. Thread affinity: one Publisher per worker thread.
#pragma once

#include <random>
#include <string>

#include "common/app/context.hpp"

namespace multivio::app {

class Publisher {
 public:
  Publisher(Context& ctx, std::string owner);
  /// Never throws for network or platform failures: they become the result.
  /// Credentials the network rejected mark the account unhealthy.
  store::AttemptResult publish(const store::Claim& claim);
  /// Whether the last publish failed on credentials (the account needs
  /// re-linking).
  bool last_failed_on_credentials() const { return credentials_failed_; }

 private:
  Context& ctx_;
  std::string owner_;
  std::mt19937_64 rng_;
  bool credentials_failed_ = false;
};

/// "host:pid:random" identifying a lease owner.
std::string make_owner_id(std::string_view role);

}  // namespace multivio::app
