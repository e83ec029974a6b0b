// SPDX-License-Identifier: MIT
// TikTok Content Posting API's wire format as pure functions: the
// {data, error:{code, message, log_id}} envelope and its error codes, the
// chunk plan of a FILE_UPLOAD, request bodies and parsed answers. No sockets
// and no clock, so tests replay literal bodies. Reference:
// developers.tiktok.com (content-posting-api-reference-direct-post,
// content-posting-api-media-transfer-guide, oauth-user-access-token-management).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/http/client.hpp"

namespace multivio::platforms::tiktok {

inline constexpr std::string_view k_default_api_base = "https://open.tiktokapis.com";
inline constexpr std::string_view k_default_auth_base = "https://www.tiktok.com";
/// Direct Post needs video.publish; user.info.basic answers "who am I".
inline constexpr std::string_view k_scopes[] = {"user.info.basic", "video.publish"};
inline constexpr std::size_t k_max_title = 2200;  // UTF-16 code units

// The media transfer guide's chunk rules ("MB" there is 1024 * 1024 bytes).
inline constexpr std::uint64_t k_mib = 1024 * 1024;
inline constexpr std::uint64_t k_min_chunk = 5 * k_mib;
inline constexpr std::uint64_t k_max_chunk = 64 * k_mib;
inline constexpr std::uint64_t k_max_final_chunk = 128 * k_mib;
inline constexpr std::uint64_t k_max_chunks = 1000;
/// Small enough that a failed PUT retries cheaply, large enough for few requests.
inline constexpr std::uint64_t k_default_chunk = 10 * k_mib;

/// One PUT: bytes first..last of the file, both inclusive (as Content-Range).
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t size() const { return last - first + 1; }
};

/// source_info's chunk_size and total_chunk_count and the ranges they imply.
struct ChunkPlan {
  std::uint64_t video_size = 0;
  std::uint64_t chunk_size = 0;
  std::uint64_t total_chunk_count = 0;
  std::vector<ByteRange> ranges;  // total_chunk_count of them; the last takes the trailing bytes
};

/// The plan for a file of `video_size` bytes with chunks of about `preferred`
/// bytes (clamped to 5-64 MB): under 5 MB, or not above `preferred`, one chunk
/// of the whole file; otherwise total_chunk_count = floor(size / chunk_size)
/// with the remainder added to the last chunk, which stays within 128 MB; a
/// file over 64 MB always in two chunks or more; at most 1000 chunks (the
/// chunk grows when needed). Throws Error(validation) for an empty file or
/// one too large to plan.
ChunkPlan plan_chunks(std::uint64_t video_size, std::uint64_t preferred = k_default_chunk);

/// "bytes 0-5242879/12000000".
std::string content_range(const ByteRange& range, std::uint64_t total);

/// The envelope every answer carries.
struct Envelope {
  nlohmann::json data = nlohmann::json::object();
  std::string code;  // error.code: "ok" on success
  std::string message;
  std::string log_id;
};
/// nullopt when the body is not a JSON object with an error object.
std::optional<Envelope> parse_envelope(std::string_view body);

/// The error an answer means: "<context>: HTTP <status>: <code>: <message>".
/// access_token_invalid, scope_not_authorized, scope_permission_missed and 401:
/// auth; rate_limit_exceeded, spam_risk_too_many_posts and 429: transient with
/// retry_after (Retry-After, else a minute: the windows are per minute);
/// internal_error and 5xx: transient; invalid_params,
/// privacy_level_option_mismatch, unaudited_client_can_only_post_to_private_accounts
/// and the *_check_failed codes: validation; anything else permanent.
Error to_error(const http::Response& response, std::string_view context);

/// data of a 2xx answer whose error.code is "ok"; anything else throws to_error().
nlohmann::json expect_data(const http::Response& response, std::string_view context);

struct CreatorInfo {
  std::string username;
  std::string nickname;
  std::vector<std::string> privacy_level_options;
  bool comment_disabled = false;
  bool duet_disabled = false;
  bool stitch_disabled = false;
  std::optional<std::int64_t> max_video_post_duration_sec;
};
/// Throws Error(permanent) when privacy_level_options is missing.
CreatorInfo parse_creator_info(const nlohmann::json& data);

struct PostInfo {
  std::string title;
  std::string privacy_level;
  bool disable_comment = false;
  bool disable_duet = false;
  bool disable_stitch = false;
};
/// POST /v2/post/publish/video/init/ with source FILE_UPLOAD.
std::string init_body(const PostInfo& post, const ChunkPlan& plan);

struct InitResult {
  std::string publish_id;
  std::string upload_url;
};
/// Throws Error(permanent) without publish_id or upload_url.
InitResult parse_init(const nlohmann::json& data);

/// POST /v2/post/publish/status/fetch/.
std::string status_body(std::string_view publish_id);

struct PublishStatus {
  std::string status;  // PROCESSING_UPLOAD, PROCESSING_DOWNLOAD, SEND_TO_USER_INBOX, PUBLISH_COMPLETE, FAILED
  std::string fail_reason;
  std::vector<std::string> post_ids;  // publicaly_available_post_id (sic), as strings
  std::uint64_t uploaded_bytes = 0;
};
/// Throws Error(permanent) without status.
PublishStatus parse_status(const nlohmann::json& data);

struct User {
  std::string open_id;
  std::string username;
  std::string display_name;
};
/// data.user of GET /v2/user/info/. Throws Error(permanent) without open_id.
User parse_user(const nlohmann::json& data);

/// https://www.tiktok.com/@<username>/video/<id>; empty when either is unknown.
std::string post_url(std::string_view username, std::string_view post_id);

}  // namespace multivio::platforms::tiktok
