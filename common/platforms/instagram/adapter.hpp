// SPDX-License-Identifier: MIT
// The `instagram` target: professional accounts through the Instagram API
// with Instagram Login (graph.instagram.com). Every post carries media, which
// Instagram fetches from a public URL, so files are staged (media.stage)
// just before their container is created: one image, one reel, or a
// carousel of 2-10. A container is created, polled until FINISHED and then
// published; its id is saved as the target's progress before publishing, so
// a retry after an unknown outcome reads the container first and never
// publishes it twice. Long-lived tokens (60 days) are refreshed with
// ig_refresh_token ahead of expiry.
//
// Config (platforms.instagram): api_base (default https://graph.instagram.com),
// api_version (v24.0), auth_base (https://www.instagram.com; when set it also
// serves /oauth/access_token, else https://api.instagram.com does), client_id,
// client_secret or client_secret_env, media_timeout (how long a container may
// stay IN_PROGRESS, default 5 min). Account options: handle. Secrets:
// access_token, expires_at, issued_at (epoch seconds), user_id, username.
#pragma once

#include <memory>

#include "common/platforms/meta/graph.hpp"
#include "common/platforms/platform.hpp"

namespace multivio::platforms::instagram {

/// Thread affinity: like http::Client, one adapter per thread.
std::unique_ptr<Adapter> make_adapter(const Context& context);
/// The same with the wait between container polls replaced (tests).
std::unique_ptr<Adapter> make_adapter_with_sleeper(const Context& context, Sleeper sleeper);

}  // namespace multivio::platforms::instagram
