// SPDX-License-Identifier: MIT
// The one name -> factory table. A new network adds one line here.
#include <algorithm>
#include <array>

#include "common/error.hpp"
#include "common/text/text.hpp"
#include "common/platforms/bluesky/adapter.hpp"
#include "common/platforms/facebook/adapter.hpp"
#include "common/platforms/feed/feed.hpp"
#include "common/platforms/instagram/adapter.hpp"
#include "common/platforms/threads/adapter.hpp"
#include "common/platforms/linkedin/adapter.hpp"
#include "common/platforms/mastodon/adapter.hpp"
#include "common/platforms/platform.hpp"
#include "common/platforms/webhook/webhook.hpp"
#include "common/platforms/tiktok/adapter.hpp"
#include "common/platforms/x/adapter.hpp"
#include "common/platforms/youtube/adapter.hpp"

namespace multivio::platforms {

namespace {

struct Entry {
  std::string_view name;
  std::unique_ptr<Adapter> (*make)(const Context&);
};

constexpr std::array k_platforms{
    Entry{"feed", feed::make_adapter},
    Entry{"webhook", webhook::make_adapter},
    Entry{"mastodon", mastodon::make_adapter},
    Entry{"bluesky", bluesky::make_adapter},
    Entry{"x", x::make_adapter},
    Entry{"facebook", facebook::make_adapter},
    Entry{"instagram", instagram::make_adapter},
    Entry{"threads", threads::make_adapter},
    Entry{"tiktok", tiktok::make_adapter},
    Entry{"linkedin", linkedin::make_adapter},
    Entry{"youtube", youtube::make_adapter},
};

}  // namespace

std::vector<std::string_view> platform_names() {
  std::vector<std::string_view> names;
  for (const auto& e : k_platforms) {
    names.push_back(e.name);
  }
  return names;
}

bool is_platform(std::string_view name) {
  return std::any_of(k_platforms.begin(), k_platforms.end(), [&](const Entry& e) { return e.name == name; });
}

std::unique_ptr<Adapter> make_adapter(std::string_view name, const Context& context) {
  for (const auto& e : k_platforms) {
    if (e.name == name) {
      return e.make(context);
    }
  }
  std::string known;
  std::string_view best;
  std::size_t best_distance = 0;
  for (const auto& e : k_platforms) {
    known += (known.empty() ? "" : ", ") + std::string(e.name);
    const std::size_t d = text::edit_distance(name, e.name);
    if (best.empty() || d < best_distance) {
      best = e.name;
      best_distance = d;
    }
  }
  // Only suggest a name that is plausibly a typo, not any name at all.
  const bool close = best_distance <= std::max<std::size_t>(2, best.size() / 3);
  throw Error(ErrorKind::usage, "unknown platform '" + std::string(name) + "' (" +
                                    (close ? "did you mean '" + std::string(best) + "'?; " : "") +
                                    "known: " + known + ")");
}

}  // namespace multivio::platforms
