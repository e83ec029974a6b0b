// SPDX-License-Identifier: MIT
// The `linkedin` target: posts through the versioned Posts API (POST
// /rest/posts) as a member (urn:li:person:..., scope w_member_social) or an
// organisation page (urn:li:organization:..., w_organization_social), with
// text escaped for LinkedIn's little text format, one or several images
// (Images API) or one video (Videos API: multi-part upload with ETags,
// finalize, wait until AVAILABLE). Access tokens live 60 days: their expiry
// is stored and reported, an expired one without a refresh token is an auth
// error naming the re-link command, and refresh tokens (approved partner
// apps only) are used when present.
//
// Config (platforms.linkedin): api_base (default https://api.linkedin.com),
// auth_base (https://www.linkedin.com, for /oauth/v2/authorization and
// /oauth/v2/accessToken), api_version (LinkedIn-Version, YYYYMM, default in
// wire.hpp), client_id, client_secret or client_secret_env, media_timeout
// (how long to wait for video processing). Account options: author.
// Secrets: access_token, refresh_token, expires_at (epoch seconds), scope.
// Progress (per target): uploaded image and video URNs, so a retry does not
// upload again.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "common/platforms/platform.hpp"

namespace multivio::platforms::linkedin {

/// Thread affinity: like http::Client, one adapter per thread.
std::unique_ptr<Adapter> make_adapter(const Context& context);
std::unique_ptr<Adapter> make_adapter_with_sleeper(const Context& context, Sleeper sleeper);

}  // namespace multivio::platforms::linkedin
