// SPDX-License-Identifier: MIT
// Reconciling `unknown` targets on networks that cannot dedupe a repeated
// call but can list the account's recent posts (X): a post that did land is
// found there and recorded, so nobody re-sends it by hand.
#pragma once

#include <string_view>

#include "common/app/context.hpp"

namespace multivio::app {

/// Two texts are the same post when they match after URLs (which networks
/// shorten, e.g. to t.co) are masked and whitespace runs are collapsed.
bool same_post_text(std::string_view published, std::string_view expected);

/// Looks for an unknown target's text among its account's recent posts and,
/// when found, records the target as published with that id. Only a single
/// post is reconciled this way (a thread's later parts are not). Returns
/// false, changing nothing, when the network cannot list posts, the post is
/// not there, or listing fails (the target stays unknown and reported).
bool reconcile_from_recent(Context& ctx, const model::Target& target);

}  // namespace multivio::app
