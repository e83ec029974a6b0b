// SPDX-License-Identifier: MIT
// Facebook Pages' Graph API wire format as pure functions: request bodies in,
// parsed objects out (the Graph error envelope is meta/graph.hpp's). No
// sockets and no clock of their own, so tests replay literal bodies. Reference: developers.facebook.com
// (Pages API, page/feed, page/photos, Graph errors, rate limiting, Facebook
// Login manual flow and long-lived tokens).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/model/model.hpp"

namespace multivio::platforms::facebook {

/// Page posts may be this long (characters).
inline constexpr std::size_t k_max_message = 63'206;

/// The body of POST /{page-id}/feed (JSON; Graph takes JSON bodies as it
/// takes form fields). Empty fields are left out.
struct FeedParams {
  std::string message;
  std::string link;
  std::vector<std::string> attached_media;  // ids of photos uploaded with published=false
};
std::string feed_body(const FeedParams& params);

/// A multipart/form-data body and its Content-Type (with the boundary).
struct Multipart {
  std::string content_type;
  std::string body;
};

/// POST /{page-id}/photos: the image as `source` and, when `published` is
/// false, published=false (a photo to attach to a feed post later); a
/// published photo carries `message` as its post text.
struct PhotoParams {
  std::string file_name;
  std::string mime_type;
  std::string_view bytes;
  std::string message;
  bool published = true;
};
Multipart photo_body(const PhotoParams& params, std::string_view boundary);

/// POST /{page-id}/videos on the video host: the file as `source`, the post
/// text as `description` (Graph's non-resumable upload, up to 1 GB).
struct VideoParams {
  std::string file_name;
  std::string mime_type;
  std::string_view bytes;
  std::string description;
};
Multipart video_body(const VideoParams& params, std::string_view boundary);

/// {"id"} of a created object (a feed post "PAGEID_POSTID", an unpublished
/// photo). Throws Error(permanent) when the body has no string id.
std::string parse_id(std::string_view body);

/// POST /{page-id}/photos of a published photo: the photo's id and the
/// Page post it made (post_id; empty when Graph leaves it out).
struct PhotoResult {
  std::string id;
  std::string post_id;
};
PhotoResult parse_photo(std::string_view body);

/// A Page as GET /me/accounts lists it (fields id, name, access_token).
struct Page {
  std::string id;
  std::string name;
  std::string access_token;  // a Page token; never expires when the user token was long-lived
  std::vector<std::string> tasks;
};
/// Parses {"data":[...]} of /me/accounts. Entries without an id are skipped.
std::vector<Page> parse_pages(std::string_view body);
/// GET /{page-id}?fields=id,name.
Page parse_page(std::string_view body);

/// A Page post from GET /{page-id}/posts (fields id, message, created_time,
/// permalink_url).
struct Post {
  std::string id;
  std::string message;
  std::string permalink_url;
  std::optional<model::Timestamp> created_time;
};
std::vector<Post> parse_posts(std::string_view body);

/// Graph's time format, "2026-11-26T05:00:00+0000" (also "+00:00" and "Z").
std::optional<model::Timestamp> parse_time(std::string_view text);

/// Where people see a post: https://www.facebook.com/{post-id}.
std::string post_url(std::string_view post_id);

/// {"access_token","token_type","expires_in"} of /oauth/access_token (the
/// fb_exchange_token grant); expires_at is nullopt without expires_in.
struct LongLivedToken {
  std::string access_token;
  std::optional<std::chrono::sys_seconds> expires_at;
};
LongLivedToken parse_long_lived(std::string_view body, std::chrono::system_clock::time_point now);

}  // namespace multivio::platforms::facebook
