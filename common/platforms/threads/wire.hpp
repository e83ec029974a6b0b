// SPDX-License-Identifier: MIT
// The Threads API's publishing wire format as pure functions: container
// parameters for a text post (optionally a reply, reply_to_id), an image, a
// video, a carousel item and a carousel, and the media rules. Reference:
// developers.facebook.com/docs/threads/posts; facts in platform-apis.md §4.
// The Graph envelope, tokens and the container loop are meta/graph.hpp's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/oauth/form.hpp"
#include "common/platforms/media_rules.hpp"

namespace multivio::platforms::threads {

inline constexpr std::string_view k_default_api_base = "https://graph.threads.net";
inline constexpr std::string_view k_default_api_version = "v1.0";
inline constexpr std::string_view k_default_auth_base = "https://threads.net";
inline constexpr std::string_view k_scopes[] = {"threads_basic", "threads_content_publish"};
inline constexpr std::size_t k_max_text = 500;
inline constexpr std::size_t k_max_carousel = 20;
inline constexpr std::string_view k_reply_controls[] = {"everyone", "accounts_you_follow", "mentioned_only",
                                                        "parent_post_author_only", "followers_only"};

/// Images (JPEG or PNG, ≤ 8 MB) and videos (MP4/MOV, ≤ 1 GB, ≤ 5 min);
/// up to 20 files, mixed in a carousel.
MediaRules media_rules();

enum class ItemKind { image, video };

/// What every container of a post shares.
struct PostParams {
  std::string text;
  std::string reply_to_id;    // empty: not a reply
  std::string reply_control;  // empty: the account's default
};

/// POST /{user-id}/threads: media_type=TEXT, text, reply_to_id, reply_control.
oauth::Params text_container(const PostParams& post);
/// media_type=IMAGE + image_url or VIDEO + video_url, alt_text; with the
/// post's fields, or is_carousel_item=true instead for a carousel item.
oauth::Params item_container(ItemKind kind, const std::string& url, const std::string& alt, const PostParams* post);
/// media_type=CAROUSEL, children (comma-separated) and the post's fields.
oauth::Params carousel_container(const std::vector<std::string>& children, const PostParams& post);

}  // namespace multivio::platforms::threads
