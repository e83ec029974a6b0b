// SPDX-License-Identifier: MIT
// YouTube Data API v3's wire format as pure functions: the video resource
// sent with videos.insert, the Google error envelope turned into an Error
// (quota errors deferred to the next quota reset, midnight Pacific Time),
// and the resumable upload protocol's Range / Content-Range headers. No
// sockets and no clock of its own. Reference: developers.google.com/youtube
// (v3/docs/videos/insert, v3/guides/using_resumable_upload_protocol,
// v3/docs/errors).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/http/client.hpp"

namespace multivio::platforms::youtube {

inline constexpr std::string_view k_default_api_base = "https://www.googleapis.com";
inline constexpr std::string_view k_default_auth_base = "https://accounts.google.com";
inline constexpr std::string_view k_default_token_base = "https://oauth2.googleapis.com";
inline constexpr std::string_view k_upload_scope = "https://www.googleapis.com/auth/youtube.upload";
/// channels.list (account check, the handle at linking) needs read access.
inline constexpr std::string_view k_readonly_scope = "https://www.googleapis.com/auth/youtube.readonly";
/// Resumable uploads take chunks in multiples of this, except the last.
inline constexpr std::uint64_t k_chunk_granularity = 256 * 1024;
inline constexpr std::size_t k_max_title = 100;          // characters
inline constexpr std::size_t k_max_description = 5000;   // bytes
inline constexpr std::size_t k_max_tags_total = 500;     // characters, all tags together

/// snippet and status of a video resource, as videos.insert takes them.
struct VideoMetadata {
  std::string title;
  std::string description;
  std::vector<std::string> tags;
  std::string category_id;  // left out when empty (YouTube picks one)
  std::string privacy = "private";  // private | unlisted | public
  std::string publish_at;  // RFC 3339; only with privacy "private"
  bool made_for_kids = false;
};

/// The JSON body of the session-creating POST: {"snippet":{...},"status":{...}}.
std::string video_body(const VideoMetadata& metadata);

/// The title and description a post's text becomes: the first line, and the
/// rest with leading blank lines dropped. Both trimmed.
struct TitleAndDescription {
  std::string title;
  std::string description;
};
TitleAndDescription split_text(std::string_view text);

/// Every rule YouTube puts on a title and description, as problem sentences.
std::vector<std::string> text_problems(const TitleAndDescription& text);

/// Tags from a JSON array of strings or one comma-separated string; empty
/// entries dropped. Throws Error(validation) for any other shape.
std::vector<std::string> parse_tags(const nlohmann::json& value);
/// The problems of a tag list: more than 500 characters in all, or `<`/`>`.
std::vector<std::string> tag_problems(const std::vector<std::string>& tags);

/// Whether `value` is an RFC 3339 date-time with a time zone
/// ("2026-12-01T09:00:00Z", "...+01:00").
bool is_rfc3339(std::string_view value);

/// One entry of the envelope's errors[].
struct Reason {
  std::string reason;  // "quotaExceeded", "authError", "uploadLimitExceeded", ...
  std::string domain;  // "youtube.quota", "global", ...
  std::string message;
};

/// {"error":{"code","message","errors":[{"reason","domain","message"}]}}.
struct GoogleError {
  int code = 0;
  std::string message;
  std::vector<Reason> errors;
  bool has_reason(std::string_view reason) const;
};
/// nullopt when the body is not a Google error envelope.
std::optional<GoogleError> parse_error(std::string_view body);

/// The next midnight in Pacific Time (US rules: PDT, UTC-7, from the second
/// Sunday of March 02:00 to the first Sunday of November 02:00; PST, UTC-8,
/// otherwise) strictly after `now`: when the daily API quota resets.
std::chrono::sys_seconds next_quota_reset(std::chrono::system_clock::time_point now);

/// Turns a non-2xx answer into an Error "<context>: HTTP <status>: <message>
/// (<reason>)". quotaExceeded / dailyLimitExceeded: transient, retry_after
/// until next_quota_reset(now); rateLimitExceeded / userRateLimitExceeded,
/// 429 and 5xx: transient; 401 and authError: auth; other 403 reasons
/// (forbidden, insufficientPermissions): auth; uploadLimitExceeded,
/// invalidTitle and other 4xx: permanent, 400s validation.
Error classify(const http::Response& response, std::string_view context, std::chrono::system_clock::time_point now);

/// The number of bytes the server holds, from the Range header of a 308
/// ("bytes=0-N" means N + 1). A 308 without Range means none (0); nullopt
/// when the header is malformed or does not start at byte 0.
std::optional<std::uint64_t> confirmed_bytes(const http::Response& response);

/// "bytes FIRST-LAST/TOTAL" for a chunk [first, last]; "bytes */TOTAL" for a
/// status query (first == last == nullopt).
std::string content_range(std::optional<std::uint64_t> first, std::optional<std::uint64_t> last,
                          std::uint64_t total);

/// The video resource's id from a 200/201. Throws Error(permanent) without one.
std::string parse_video_id(std::string_view body);

struct Channel {
  std::string id;
  std::string title;
};
/// items[0] of channels.list?mine=true. Throws Error(permanent) when the body
/// is not JSON; Error(auth) when the account has no channel.
Channel parse_channel(std::string_view body);

/// https://www.youtube.com/watch?v=<id>
std::string watch_url(std::string_view id);

}  // namespace multivio::platforms::youtube
