// SPDX-License-Identifier: MIT
// The `feed` target: an Atom 1.0 file plus a JSON Lines log in a directory,
// for offline use and for anything that can read a feed. The JSON Lines log
// is the source of truth; feed.atom is regenerated from its newest entries
// under a lock, so several daemon workers may publish to one directory.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/platforms/platform.hpp"

namespace multivio::platforms::feed {

std::unique_ptr<Adapter> make_adapter(const Context& context);

/// Text as XML 1.0 character data: escapes & < > " ' (and CR, which parsers
/// would normalise away) and drops characters XML 1.0 forbids and bytes that
/// are not UTF-8.
std::string xml_escape(std::string_view text);

}  // namespace multivio::platforms::feed
