// SPDX-License-Identifier: MIT
// The `threads` target: posts through the Threads API (graph.threads.net) as
// a container that is then published. Text posts need no staging; images and
// videos are staged (media.stage) because Threads fetches them from a public
// URL. Long texts become a thread with `thread: auto`: each part after the
// first replies (reply_to_id) to the one before, and parts already live are
// recorded so a retry continues after them. Before each publish the
// container id is saved as the target's progress, so a retry reads the
// container first and never publishes a part twice. Long-lived tokens are
// exchanged (th_exchange_token) at linking and refreshed (th_refresh_token)
// ahead of expiry.
//
// Config (platforms.threads): api_base (default https://graph.threads.net;
// also serves /oauth/access_token), api_version (v1.0), auth_base
// (https://threads.net, the consent page), client_id, client_secret or
// client_secret_env (the Threads app's, not the parent Meta app's),
// thread_counter, media_timeout (default 5 min). Account options: handle,
// thread (auto | never), thread_counter, reply_control. Secrets: access_token,
// expires_at, issued_at, user_id, username.
#pragma once

#include <memory>

#include "common/platforms/meta/graph.hpp"
#include "common/platforms/platform.hpp"

namespace multivio::platforms::threads {

/// Thread affinity: like http::Client, one adapter per thread.
std::unique_ptr<Adapter> make_adapter(const Context& context);
/// The same with the wait between container polls replaced (tests).
std::unique_ptr<Adapter> make_adapter_with_sleeper(const Context& context, Sleeper sleeper);

}  // namespace multivio::platforms::threads
