// SPDX-License-Identifier: MIT
// The `youtube` target: uploads the post's one video with videos.insert's
// resumable protocol as the linked Google account. The text's first line is
// the title, the rest the description. The upload session URI and the bytes
// the server confirmed are kept in the target's progress after every chunk,
// so a retry (after a dropped connection, a 5xx or a crash) asks the session
// how far it got and sends only the rest; a spent daily quota defers the
// target to the quota reset (midnight Pacific Time) instead of failing it.
//
// Config (platforms.youtube): api_base (default https://www.googleapis.com),
// upload_base (default api_base), auth_base (https://accounts.google.com, for
// /o/oauth2/v2/auth), token_base (https://oauth2.googleapis.com, for /token),
// client_id, client_secret or client_secret_env (Google's installed-app
// secret, which is not confidential), upload_chunk_bytes (a multiple of
// 256 KiB), media_timeout (per chunk request).
// Options (account, post or target): privacy (private | unlisted | public,
// default private), tags (list or comma-separated), category (a numeric
// category id), made_for_kids (bool); per post or target also publish_at
// (RFC 3339; the video stays private until then).
// Secrets: access_token, refresh_token, expires_at (epoch seconds), scope,
// channel_id.
#pragma once

#include <memory>

#include "common/platforms/platform.hpp"

namespace multivio::platforms::youtube {

/// Thread affinity: like http::Client, one adapter per thread.
std::unique_ptr<Adapter> make_adapter(const Context& context);

}  // namespace multivio::platforms::youtube
