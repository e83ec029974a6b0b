// SPDX-License-Identifier: MIT
// The `facebook` target: posts on a Facebook Page through the Graph API with
// a Page access token. Text and links go to /{page-id}/feed; one photo is a
// multipart upload to /{page-id}/photos with the text as its message; several
// photos are uploaded unpublished and attached to one feed post. One multivio
// account per Page.
//
// Account options: page_id (required, digits). Per post or target: link (a
// URL Facebook shows as the post's link card).
// Secrets: access_token (the Page token).
// Config (platforms.facebook): api_base (default https://graph.facebook.com),
// auth_base (default https://www.facebook.com), api_version (default v23.0),
// client_id and client_secret or client_secret_env (for --oauth),
// redirect_port.
//
// Linking (`account add facebook --oauth`): Facebook Login code flow as a
// confidential app, the short-lived user token exchanged for a long-lived one
// (fb_exchange_token), then the Page's token from /me/accounts: a Page token
// got this way does not expire, so there is nothing to refresh. Without
// --page-id the user picks one of the Pages the login reaches.
#pragma once

#include <memory>

#include "common/platforms/platform.hpp"

namespace multivio::platforms::facebook {

/// Thread affinity: like http::Client, one adapter per thread.
std::unique_ptr<Adapter> make_adapter(const Context& context);

}  // namespace multivio::platforms::facebook
