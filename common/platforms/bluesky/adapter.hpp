// SPDX-License-Identifier: MIT
// The `bluesky` target: posts to an AT Protocol PDS (bsky.social or any
// other) with an app password. Options: handle (required), pds (default
// https://bsky.social), langs. Secrets: app_password, plus the session
// tokens refresh() adds (access_jwt, refresh_jwt, did, handle, expires_at).
//
// Retries are safe: every post goes to a record key derived from the target's
// idempotency key (wire.hpp rkey_for), the PDS refuses a second record at that
// key, and publish() then reads the existing record back and reports it as
// the result. Links, mentions and hashtags become facets; images are uploaded
// as blobs; with the target option thread: auto a text over the limit is
// published as a self-thread.
#pragma once

#include <memory>

#include "common/platforms/platform.hpp"

namespace multivio::platforms::bluesky {

/// The adapter keeps one session (and resolved handles) for its lifetime;
/// like http::Client, an instance belongs to one thread.
std::unique_ptr<Adapter> make_adapter(const Context& context);

}  // namespace multivio::platforms::bluesky
