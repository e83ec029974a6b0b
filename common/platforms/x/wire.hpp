// SPDX-License-Identifier: MIT
// X API v2's wire format as pure functions: request bodies in, parsed
// entities, rate-limit headers and classified errors out. No sockets and no
// clock of its own, so tests replay recorded bodies. Reference: docs.x.com
// (x-api/posts, x-api/media, fundamentals/rate-limits), RFC 7807 problems.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/model/model.hpp"

namespace multivio::platforms::x {

inline constexpr std::string_view k_default_api_base = "https://api.x.com";
inline constexpr std::string_view k_default_auth_base = "https://x.com";
/// What posting needs: tweet.write (and tweet.read, users.read, which X
/// requires alongside it), offline.access for a refresh token, media.write
/// for the v2 upload.
inline constexpr std::string_view k_scopes[] = {"tweet.read", "tweet.write", "users.read", "offline.access",
                                                "media.write"};
inline constexpr std::size_t k_max_images = 4;
inline constexpr std::size_t k_max_alt_text = 1000;  // code points, POST /2/media/metadata
/// APPEND segments may be up to 5 MB; smaller ones retry cheaper.
inline constexpr std::size_t k_default_chunk_bytes = 4 * 1024 * 1024;

enum class MediaKind { unknown, image, gif, video };

/// A media file as X sees it: its MIME type, upload category and size cap.
struct MediaType {
  MediaKind kind = MediaKind::unknown;
  std::string mime;      // "image/png", "video/mp4", ...
  std::string category;  // "tweet_image", "tweet_gif", "tweet_video"
  std::size_t max_bytes = 0;
};

/// The type from the first bytes of a file (JPEG, PNG, WebP, GIF, MP4/MOV by
/// their signatures, never by the name); kind unknown when none matches.
MediaType sniff_media(std::string_view head);

/// The body of POST /2/tweets.
struct TweetParams {
  std::string text;         // left out when empty (a media-only post)
  std::string in_reply_to;  // reply.in_reply_to_tweet_id; empty: not a reply
  std::vector<std::string> media_ids;
};
std::string tweet_body(const TweetParams& params);

/// POST /2/media/upload/initialize: {"media_type","total_bytes","media_category"}.
std::string initialize_body(const MediaType& type, std::size_t total_bytes);
/// POST /2/media/metadata: {"id","metadata":{"alt_text":{"text"}}}.
std::string metadata_body(std::string_view media_id, std::string_view alt_text);

/// A multipart/form-data body and its Content-Type (with the boundary).
struct Multipart {
  std::string content_type;
  std::string body;
};
/// POST /2/media/upload/{id}/append: fields segment_index and media (the chunk).
Multipart append_body(std::size_t segment_index, std::string_view chunk, std::string_view boundary);

/// A post (a "Tweet" in the API's words).
struct Tweet {
  std::string id;
  std::string text;
  std::string replied_to;  // referenced_tweets[type=replied_to].id, when asked for
  bool has_media = false;  // attachments.media_keys, when asked for
  std::optional<model::Timestamp> created_at;
};

struct User {
  std::string id;
  std::string username;  // the handle, without "@"
  std::string name;
};

/// processing_info of a media upload (FINALIZE, STATUS).
struct Processing {
  std::string state;  // pending, in_progress, succeeded, failed
  std::chrono::seconds check_after{0};
  int progress_percent = 0;
  std::string error;  // error.message (or name) when failed
};

struct UploadedMedia {
  std::string id;
  std::optional<Processing> processing;  // absent: ready to attach
};

/// data of a 201 from POST /2/tweets. Throws Error(permanent) when there is no data.id.
Tweet parse_created_tweet(std::string_view body);
/// data of GET /2/users/:id/tweets (no data member: no posts). Throws
/// Error(permanent) when the body is not a JSON object.
std::vector<Tweet> parse_tweets(std::string_view body);
/// data of GET /2/users/me. Throws Error(permanent) without data.id.
User parse_user(std::string_view body);
/// data of the media upload endpoints. Throws Error(permanent) without data.id
/// (initialize, finalize); STATUS answers may omit the id, pass `fallback_id`.
UploadedMedia parse_media(std::string_view body, std::string_view fallback_id = {});

/// The rate-limit headers X sends on every answer.
struct RateLimit {
  std::optional<long long> remaining;  // x-rate-limit-remaining (the 15-minute window)
  std::optional<std::chrono::sys_seconds> reset;  // x-rate-limit-reset, epoch seconds
  std::optional<long long> user_day_remaining;     // x-user-limit-24hour-remaining
  std::optional<std::chrono::sys_seconds> user_day_reset;
  std::optional<long long> app_day_remaining;  // x-app-limit-24hour-remaining
  std::optional<std::chrono::sys_seconds> app_day_reset;

  /// When a spent window (remaining 0) reopens, the latest of them; nullopt
  /// when nothing is spent.
  std::optional<std::chrono::sys_seconds> exhausted_until() const;
  /// "the daily limit of this user" / "the app's daily limit" / "the 15-minute
  /// rate limit": which spent window exhausted_until() comes from.
  std::string exhausted_window() const;
};
RateLimit parse_rate_limit(const http::Response& response);

/// An RFC 7807 problem (v2) or the older {"errors":[{"message"}]} body.
struct Problem {
  std::string title;
  std::string detail;
  std::string type;  // "about:blank", "https://api.twitter.com/2/problems/invalid-request", ...
  std::vector<std::string> messages;  // errors[].message
};
/// nullopt when the body is neither kind of error object.
std::optional<Problem> parse_problem(std::string_view body);
/// The problem as one sentence: detail (or title), then the errors' messages.
std::string problem_sentence(const Problem& problem);

/// 403 "You are not allowed to create a Tweet with duplicate content."
bool is_duplicate(const http::Response& response);

/// Turns a non-2xx answer into an Error: "<context>: HTTP <status>: <one
/// sentence>". 429, or any answer with a spent window, is transient with
/// retry_after until the window reopens (relative to `now`; the 24-hour
/// windows count); 5xx transient; 401 auth with a re-link hint; 403 duplicate
/// permanent ("duplicate"); 400 invalid-request validation; other 403 auth;
/// other 4xx permanent.
Error classify(const http::Response& response, std::string_view context, std::chrono::system_clock::time_point now);

/// https://x.com/<username>/status/<id>, or https://x.com/i/web/status/<id>
/// when the username is unknown.
std::string post_url(std::string_view username, std::string_view id);

/// A post's text as the user wrote it, as far as the API lets it be known:
/// "&amp;", "&lt;" and "&gt;" decoded, and with `has_media` the t.co link X
/// appends for the attached media removed. Other URLs stay t.co links.
std::string display_text(std::string_view text, bool has_media);

/// A post's text as compared when reconciling: the API returns "&", "<" and
/// ">" as HTML entities and every URL as a t.co link (plus one for attached
/// media), so entities are decoded, URLs dropped and whitespace collapsed.
std::string comparable_text(std::string_view text);

}  // namespace multivio::platforms::x
