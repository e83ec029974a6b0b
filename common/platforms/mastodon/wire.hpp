// SPDX-License-Identifier: MIT
// Mastodon's REST wire format as pure functions: request bodies in, parsed
// entities and classified errors out. No sockets, no clock of its own, so the
// tests replay recorded bodies. Reference: docs.joinmastodon.org (methods/
// statuses, methods/media, methods/instance, api/rate-limits).
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

namespace multivio::platforms::mastodon {

/// configuration.statuses of GET /api/v2/instance; the defaults are
/// Mastodon's own, used when the instance does not say.
struct InstanceLimits {
  std::size_t max_characters = 500;
  std::size_t max_media_attachments = 4;
  std::size_t characters_reserved_per_url = 23;
};

/// A Status entity, the fields multivio uses.
struct Status {
  std::string id;
  std::string url;   // may be empty (null for some remote or scheduled statuses)
  std::string uri;
  std::string content;  // HTML
  std::string in_reply_to_id;
  std::optional<model::Timestamp> created_at;
};

/// A MediaAttachment: `url` stays null while the full-size file is processed.
struct Media {
  std::string id;
  std::string url;
  bool processed() const { return !url.empty(); }
};

/// The body of POST /api/v1/statuses.
struct StatusParams {
  std::string status;
  std::string visibility;  // public, unlisted, private, direct; empty: the account's default
  std::string language;    // ISO 639; empty: omitted
  std::string spoiler_text;
  std::string in_reply_to_id;
  std::vector<std::string> media_ids;
};

/// A multipart/form-data body and its Content-Type (with the boundary).
struct Multipart {
  std::string content_type;
  std::string body;
};

/// The visibilities POST /api/v1/statuses accepts, in the docs' order.
inline constexpr std::string_view k_visibilities[] = {"public", "unlisted", "private", "direct"};

/// Parses GET /api/v2/instance. Fields that are missing or not positive
/// integers keep their defaults (older servers and forks omit some). Throws
/// Error(permanent) when the body is not a JSON object.
InstanceLimits parse_instance(std::string_view body);

/// Parses a Status. Throws Error(permanent) when the body is not a JSON
/// object with a string id.
Status parse_status(std::string_view body);
/// Parses an array of Status (GET /api/v1/accounts/:id/statuses).
std::vector<Status> parse_statuses(std::string_view body);
/// Parses a MediaAttachment (POST /api/v2/media, GET /api/v1/media/:id).
Media parse_media(std::string_view body);
/// The `id` of the Account from GET /api/v1/accounts/verify_credentials.
std::string parse_account_id(std::string_view body);

/// Who a token belongs to (GET /api/v1/accounts/verify_credentials).
struct Credentials {
  std::string id;
  std::string username;  // "alice"
  std::string url;       // profile page
};
Credentials parse_credentials(std::string_view body);

/// An app registration (POST /api/v1/apps): always a confidential client.
struct AppRegistration {
  std::string client_id;
  std::string client_secret;
};
/// The JSON body of POST /api/v1/apps.
std::string app_body(std::string_view client_name, std::string_view redirect_uri, std::string_view scopes,
                     std::string_view website);
/// Throws Error(permanent) without client_id and client_secret.
AppRegistration parse_app(std::string_view body);

/// The JSON body of POST /api/v1/statuses; optional fields are left out
/// when empty.
std::string status_body(const StatusParams& params);

/// The multipart body of POST /api/v2/media: `file` (with its file name and
/// MIME type) and `description` (alt text, left out when empty).
Multipart media_body(std::string_view file_name, std::string_view mime_type, std::string_view bytes,
                     std::string_view description, std::string_view boundary);

/// A MIME type from the file extension (jpg, png, gif, webp, mp4, ...);
/// application/octet-stream when unknown, which Mastodon then rejects.
std::string mime_type_for(std::string_view path);

/// Mastodon's error message: "error" and, when present, "error_description"
/// of the body; empty when the body has neither.
std::string error_message(std::string_view body);

/// Turns a non-2xx response into an Error, as http::classify does, with
/// Mastodon's own message instead of the raw body and these refinements:
/// 422 "Validation failed: ..." -> validation; 401 -> auth with a hint to
/// re-link the account; 429 -> retry_after from X-RateLimit-Reset (an ISO
/// 8601 time) or Retry-After, whichever is later, relative to `now`.
Error classify(const http::Response& response, std::string_view context, std::chrono::system_clock::time_point now);

/// ISO 8601 / RFC 3339 time as Mastodon writes it ("2019-12-05T11:34:47.196Z",
/// "...+00:00", fractions of any length); nullopt when malformed.
std::optional<model::Timestamp> parse_time(std::string_view text);

/// Status HTML as plain text: tags removed, <br> as a line break, paragraphs
/// separated by a blank line, character references decoded.
std::string html_to_text(std::string_view html);

/// "https://host[:port]" from what the user typed: a scheme is added when
/// missing, scheme and host are lowercased, one trailing "/" is removed.
/// http:// is accepted only for loopback hosts (tests, local instances).
/// Throws Error(usage) when it is not such a URL.
std::string normalize_instance(std::string_view url);

}  // namespace multivio::platforms::mastodon
