// SPDX-License-Identifier: MIT
// The `webhook` target: one HTTP POST per post to a URL, as generic JSON or in
// Slack's or Discord's incoming-webhook shape, optionally signed Stripe-style
// so the receiver can check origin and freshness.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/platforms/platform.hpp"

namespace multivio::platforms::webhook {

std::unique_ptr<Adapter> make_adapter(const Context& context);

/// The X-Multivio-Signature value: "t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" keyed with secret>". Receivers recompute it and reject
/// timestamps too far from their clock (replays).
std::string signature_header(std::string_view secret, std::string_view body, std::int64_t unix_seconds);

}  // namespace multivio::platforms::webhook
