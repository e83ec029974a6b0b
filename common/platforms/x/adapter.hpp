// SPDX-License-Identifier: MIT
// The `x` target: posts through X API v2 (POST /2/tweets) as the linked user,
// with OAuth 2.0 user tokens (refreshed before they expire and once on a 401,
// rotated refresh tokens saved before use) or OAuth 1.0a signatures; media
// through the chunked v2 upload with alt text; long texts as reply chains that
// continue after the parts an earlier attempt published; and, since X has no
// idempotency keys, a "duplicate content" refusal after an unknown outcome
// reconciled against the user's recent posts.
//
// Config (platforms.x): api_base (default https://api.x.com), auth_base
// (https://x.com, for /i/oauth2/authorize), upload_base (default api_base),
// client_id, client_secret or client_secret_env (a confidential client: HTTP
// Basic at the token endpoint), thread_counter (true/false), upload_chunk_bytes (APPEND segment
// size, at most 5 MB), media_timeout (how long to wait for video processing).
// Account options: handle, thread (auto | never), thread_counter (bool), also
// settable per post or target. Secrets: access_token, refresh_token,
// expires_at (epoch seconds; expires_in is turned into it), scope; or
// consumer_key, consumer_secret, token, token_secret; plus user_id and
// username once known.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "common/platforms/platform.hpp"

namespace multivio::platforms::x {

/// Thread affinity: like http::Client, one adapter per thread.
std::unique_ptr<Adapter> make_adapter(const Context& context);
/// The same with the wait between processing polls replaced.
std::unique_ptr<Adapter> make_adapter_with_sleeper(const Context& context, Sleeper sleeper);

}  // namespace multivio::platforms::x
