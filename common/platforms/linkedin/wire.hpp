// SPDX-License-Identifier: MIT
// LinkedIn's Posts, Images and Videos APIs (api.linkedin.com/rest, versioned
// by the LinkedIn-Version header, Rest.li protocol 2.0.0) and the OpenID
// userinfo endpoint as pure functions: bodies in, parsed answers and
// classified errors out. No sockets, no clock. Reference:
// learn.microsoft.com/linkedin (Posts API, Images API, Videos API, little text
// format, error handling).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/http/client.hpp"

namespace multivio::platforms::linkedin {

inline constexpr std::string_view k_default_api_base = "https://api.linkedin.com";
inline constexpr std::string_view k_default_auth_base = "https://www.linkedin.com";
/// Monthly versions are sunset about a year after release; platforms.linkedin.api_version overrides it.
inline constexpr std::string_view k_default_api_version = "202510";
inline constexpr std::string_view k_restli_protocol = "2.0.0";
inline constexpr std::size_t k_max_commentary = 3000;  // characters
inline constexpr std::size_t k_max_images = 20;        // multiImage takes 2 to 20

inline constexpr std::string_view k_person_prefix = "urn:li:person:";
inline constexpr std::string_view k_organization_prefix = "urn:li:organization:";

/// `commentary` is "little text": these characters have a meaning there and
/// an unescaped one silently truncates the post, so each gets a backslash.
inline constexpr std::string_view k_reserved = "\\|{}@[]()<>#*_~";
std::string escape_little_text(std::string_view text);

/// One image of a post: its URN and alt text (empty: none).
struct ImageRef {
  std::string urn;
  std::string alt;
};

/// The body of POST /rest/posts. Exactly one of: no media, `images` (one is
/// content.media, several content.multiImage), or `video`.
struct PostParams {
  std::string author;  // urn:li:person:... or urn:li:organization:...
  std::string text;    // as the user wrote it; escaped here
  std::vector<ImageRef> images;
  std::string video;  // urn:li:video:...
};
std::string post_body(const PostParams& params);

/// POST /rest/images?action=initializeUpload.
std::string image_init_body(std::string_view owner);
/// POST /rest/videos?action=initializeUpload (no captions, no thumbnail).
std::string video_init_body(std::string_view owner, std::uint64_t file_size);
/// POST /rest/videos?action=finalizeUpload: the ETags of the parts in order.
std::string video_finalize_body(std::string_view video, std::string_view upload_token,
                                const std::vector<std::string>& etags);

struct ImageUpload {
  std::string upload_url;
  std::string image;  // urn:li:image:...
};
/// value of the image initializeUpload answer. Throws Error(permanent)
/// without value.uploadUrl or value.image.
ImageUpload parse_image_upload(std::string_view body);

/// One part of a video: PUT bytes [first_byte, last_byte] (inclusive) here.
struct UploadPart {
  std::string url;
  std::uint64_t first_byte = 0;
  std::uint64_t last_byte = 0;
};
struct VideoUpload {
  std::string video;         // urn:li:video:...
  std::string upload_token;  // may be empty; sent back as is
  std::vector<UploadPart> parts;
};
/// value of the video initializeUpload answer. Throws Error(permanent) when
/// the video URN or the instructions are missing, or the parts do not cover
/// 0..file_size-1 contiguously.
VideoUpload parse_video_upload(std::string_view body, std::uint64_t file_size);

/// GET /rest/videos/{urn}: status (WAITING_UPLOAD, PROCESSING, AVAILABLE,
/// PROCESSING_FAILED) and, when failed, the reason.
struct VideoStatus {
  std::string status;
  std::string failure;
};
VideoStatus parse_video_status(std::string_view body);

/// GET /v2/userinfo (OpenID Connect): sub is the member id of urn:li:person:<sub>.
struct Member {
  std::string sub;
  std::string name;
};
/// Throws Error(permanent) without sub.
Member parse_userinfo(std::string_view body);
/// GET /rest/organizations/{id}: localizedName, or empty.
std::string parse_organization_name(std::string_view body);

/// The created post's URN from the x-restli-id header of a 201 (the body is
/// empty). nullopt when the header is missing or not a URN.
std::optional<std::string> created_post_urn(const http::Response& response);

/// The error envelope {status, serviceErrorCode, code, message}.
struct ServiceError {
  int status = 0;
  long long service_code = 0;
  std::string code;  // REVOKED_ACCESS_TOKEN, ...
  std::string message;
};
std::optional<ServiceError> parse_error(std::string_view body);

/// A non-2xx answer as an Error "<context>: HTTP <status>: <message>":
/// 401 (and the token codes 65600/65601, REVOKED/EXPIRED/INVALID_ACCESS_TOKEN)
/// auth with a re-link hint; 429 transient (LinkedIn's daily quotas, no
/// headers: retry_after from Retry-After when sent); 5xx transient; 403 auth
/// (a missing permission); 400 and 422 permanent with LinkedIn's message;
/// 426 permanent naming the API version; other 4xx permanent.
Error error_for(const http::Response& response, std::string_view context);

/// The author kind from its URN prefix.
bool is_person(std::string_view author);
bool is_organization(std::string_view author);
/// The id after the URN prefix ("urn:li:organization:5515715" -> "5515715").
std::string urn_id(std::string_view urn);

/// https://www.linkedin.com/feed/update/<urn>
std::string post_url(std::string_view urn);

}  // namespace multivio::platforms::linkedin
