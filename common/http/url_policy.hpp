// SPDX-License-Identifier: MIT
// Which URLs a remote API client may make the daemon call. An account added
// over the REST API names a server (a Mastodon instance, a Bluesky PDS) that
// the daemon then talks to from inside its network: without a check, a
// client could aim it at 127.0.0.1, the cloud metadata address or a private
// host (server-side request forgery).
#pragma once

#include <string>
#include <string_view>

struct sockaddr;

namespace multivio::http {

/// Whether an address is one the public internet routes to: not loopback,
/// private (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10),
/// carrier-grade NAT (100.64/10), unspecified, multicast, broadcast,
/// benchmarking or documentation ranges, nor an IPv4-mapped form of one.
bool is_public_address(const sockaddr* address);

/// Error(usage) naming `what` unless `url` is http(s) with a host whose every
/// resolved address is public. A name that does not resolve is refused too.
/// This checks at the time of the call; a DNS answer that changes later is
/// not covered.
void require_public_url(const std::string& url, std::string_view what);

}  // namespace multivio::http
