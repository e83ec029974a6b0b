// SPDX-License-Identifier: MIT
// The `tiktok` target: one video per post through the Content Posting API's
// Direct Post, as the linked user: creator_info first (the privacy levels the
// account may use and its longest video), video init with a FILE_UPLOAD chunk
// plan, the chunks PUT in order with Content-Range, then status polls until
// PUBLISH_COMPLETE within media_timeout. The publish_id is saved as progress
// right after init, so a retry checks that publish instead of posting again.
// Access tokens are refreshed before they expire and once on a refusal; the
// rotated refresh token is saved before the new access token is used.
//
// Config (platforms.tiktok): api_base (default https://open.tiktokapis.com,
// also the token endpoint's host), auth_base (https://www.tiktok.com, for
// /v2/auth/authorize/), client_id (the app's client key), client_secret or
// client_secret_env, upload_chunk_bytes (5-64 MB, default 10 MB),
// media_timeout (how long to wait for PUBLISH_COMPLETE, default 10 min).
// Account options: handle, privacy_level (PUBLIC_TO_EVERYONE,
// MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY; unset: SELF_ONLY when
// creator_info offers it, the only level unaudited apps may use),
// disable_comment, disable_duet, disable_stitch; all settable per post or
// target too. Secrets: access_token, refresh_token, expires_at (epoch
// seconds), refresh_expires_at, scope, open_id, username.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "common/platforms/platform.hpp"

namespace multivio::platforms::tiktok {

/// Thread affinity: like http::Client, one adapter per thread.
std::unique_ptr<Adapter> make_adapter(const Context& context);
/// The same with the wait between status polls replaced.
std::unique_ptr<Adapter> make_adapter_with_sleeper(const Context& context, Sleeper sleeper);

}  // namespace multivio::platforms::tiktok
