// SPDX-License-Identifier: MIT
// The `mastodon` target: statuses on any Mastodon instance through its REST
// API with a user access token (Bearer), media through /api/v2/media, long
// texts as threads of replies, and retries made safe by Idempotency-Key.
//
// Account options: instance (required; https://host), visibility (public,
// unlisted, private, direct; default public), language (ISO 639, optional),
// cw (a content warning put on every status, optional), thread (never |
// auto; default never), thread_counter (bool, default true). visibility,
// language, cw, thread and thread_counter may also be set per post
// (post.options) or per target (target.options), which win in that order.
// Secrets: access_token.
//
// The instance's limits (GET /api/v2/instance) are fetched once per adapter
// object and instance, and fall back to Mastodon's defaults (500 characters,
// 4 attachments, 23 per URL) when the instance cannot be asked.
#pragma once

#include <memory>

#include "common/platforms/platform.hpp"

namespace multivio::platforms::mastodon {

/// Thread affinity: like http::Client, one adapter per thread.
std::unique_ptr<Adapter> make_adapter(const Context& context);

}  // namespace multivio::platforms::mastodon
