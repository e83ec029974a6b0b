// SPDX-License-Identifier: MIT
// Instagram content publishing (Instagram API with Instagram Login,
// graph.instagram.com) as pure functions: the container parameters for an
// image, a reel, a carousel item and a carousel, the media rules, and the
// parsing of media lists. Reference: developers.facebook.com/docs/
// instagram-platform/content-publishing; facts in platform-apis.md §3.
// The Graph envelope, tokens and the container loop are meta/graph.hpp's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/oauth/form.hpp"
#include "common/platforms/media_rules.hpp"

namespace multivio::platforms::instagram {

inline constexpr std::string_view k_default_api_base = "https://graph.instagram.com";
inline constexpr std::string_view k_default_api_version = "v24.0";
inline constexpr std::string_view k_default_auth_base = "https://www.instagram.com";
/// The code exchange lives on another host than the consent page; a
/// configured auth_base serves both.
inline constexpr std::string_view k_default_token_url = "https://api.instagram.com/oauth/access_token";
inline constexpr std::string_view k_scopes[] = {"instagram_business_basic", "instagram_business_content_publish"};
inline constexpr std::size_t k_max_caption = 2200;
inline constexpr std::size_t k_max_mentions = 20;
inline constexpr std::size_t k_max_carousel = 10;

/// Images (JPEG, ≤ 8 MB, aspect 4:5 to 1.91:1) and reels (MP4/MOV, 3 s to
/// 15 min, ≤ 300 MB); 1 to 10 files, mixed in a carousel; never text alone.
MediaRules media_rules();

/// "@name" mentions in a caption (Instagram allows 20).
std::size_t count_mentions(std::string_view caption);

enum class ItemKind { image, video };

/// POST /{ig-user-id}/media for one file: image_url (+ alt_text) or
/// media_type=REELS + video_url; as a carousel item is_carousel_item=true
/// (and media_type=VIDEO for a video) without a caption.
oauth::Params item_container(ItemKind kind, const std::string& url, const std::string& caption,
                             const std::string& alt, bool carousel_item);
/// POST /{ig-user-id}/media: media_type=CAROUSEL, children (comma-separated), caption.
oauth::Params carousel_container(const std::vector<std::string>& children, const std::string& caption);

}  // namespace multivio::platforms::instagram
