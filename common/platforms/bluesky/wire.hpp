// SPDX-License-Identifier: MIT
// The Bluesky (AT Protocol XRPC) wire layer as pure functions: record keys
// (TIDs), session and error bodies, rich-text facets, image sniffing and the
// app.bsky.feed.post record. Nothing here touches a socket or the clock
// unless a time is passed in, so every function is tested on literal payloads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/model/model.hpp"
#include "common/platforms/platform.hpp"

namespace multivio::http {
struct Response;
}

namespace multivio::platforms::bluesky {

using Json = nlohmann::ordered_json;  // request bodies keep a readable field order

inline constexpr std::string_view k_post_collection = "app.bsky.feed.post";
inline constexpr std::string_view k_default_pds = "https://bsky.social";
/// app.bsky.embed.images: at most 4 images, each blob at most 2,000,000 bytes
/// (the lexicon's maxSize, raised from 1,000,000).
inline constexpr std::size_t k_max_images = 4;
inline constexpr std::uintmax_t k_max_image_bytes = 2'000'000;
/// app.bsky.feed.post: langs has at most 3 entries.
inline constexpr std::size_t k_max_langs = 3;

// ---- Record keys -----------------------------------------------------------

/// A TID: the 64-bit value (top bit cleared) as 13 base32-sortable
/// characters ("234567abcdefghijklmnopqrstuvwxyz"); 0 is "2222222222222".
std::string encode_tid(std::uint64_t value);
/// The value of a well-formed TID; nullopt otherwise (wrong length or
/// alphabet, or a first character outside "234567abcdefghij").
std::optional<std::uint64_t> decode_tid(std::string_view tid);
bool is_tid(std::string_view tid);

/// The record key multivio chooses for one post, the same on every attempt:
/// a TID whose timestamp is `anchor` (the post's creation time) plus a
/// sub-millisecond offset, and whose clock id, both taken from SHA-256(key).
/// Retries of a target therefore write to the same key and the PDS refuses a
/// second record; keys of different targets differ in 20 hash bits even when
/// anchored to the same millisecond, and stay roughly in creation order so
/// listRecords (which sorts by key) lists recent posts first.
std::string rkey_for(std::string_view key, model::Timestamp anchor);

// ---- Sessions --------------------------------------------------------------

struct Session {
  std::string access_jwt;
  std::string refresh_jwt;
  std::string did;
  std::string handle;
};

/// createSession / refreshSession output. Throws Error(permanent) when a
/// token or the DID is missing.
Session parse_session(std::string_view body);

/// The `exp` claim of a JWT (read, not verified); nullopt when absent or
/// unreadable.
std::optional<std::chrono::sys_seconds> jwt_expiry(std::string_view jwt);

// ---- Errors ----------------------------------------------------------------

/// An XRPC error body {"error":"Name","message":"..."}; empty fields when
/// the body is not one.
struct XrpcError {
  std::string name;
  std::string message;
};
XrpcError parse_error(std::string_view body);

/// 400 {"error":"ExpiredToken"}: the access token ran out (not 401).
bool is_expired_token(const http::Response& response);

/// Turns a non-2xx XRPC response into an Error whose message is
/// "<context>: HTTP <status> <Name>: <message>":
///   429 and 5xx (and 408) transient, with retry_after from Retry-After or,
///   on a 429 only, RateLimit-Reset (unix seconds), whichever is later;
///   401, 403 and 400 ExpiredToken / InvalidToken / AuthMissing /
///   AuthRequired / AuthenticationRequired auth;
///   400 BlobTooLarge / InvalidRecord and 413 validation;
///   everything else permanent.
Error classify_xrpc(const http::Response& response, std::string_view context,
                    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// ---- Records ---------------------------------------------------------------

/// {uri, cid} of a record (createRecord or getRecord output). Throws
/// Error(permanent) when either is missing.
struct StrongRef {
  std::string uri;
  std::string cid;
};
StrongRef parse_strong_ref(std::string_view body);

/// The last path segment of "at://<did>/<collection>/<rkey>".
std::string rkey_of(std::string_view at_uri);
/// https://bsky.app/profile/<handle>/post/<rkey>
std::string post_url(std::string_view handle, std::string_view rkey);

/// uploadBlob output's `blob` object ({$type:"blob", ref:{$link}, mimeType,
/// size}), passed on verbatim into the embed. Throws Error(permanent) when
/// there is none.
Json parse_blob(std::string_view body);

/// listRecords output as RemotePosts, newest createdAt first. `handle` builds
/// the bsky.app URL. Malformed entries are skipped.
std::vector<RemotePost> parse_records(std::string_view body, std::string_view handle);

/// "2026-12-01T08:00:00.000Z": atproto datetimes always carry a zone.
std::string format_datetime(std::chrono::system_clock::time_point t);
/// RFC 3339 / atproto datetime with a "Z" or "+hh:mm" zone; nullopt otherwise.
std::optional<model::Timestamp> parse_datetime(std::string_view text);

// ---- Facets ----------------------------------------------------------------

enum class FacetKind { link, mention, tag };

/// A span of the text that becomes a facet. Offsets are UTF-8 bytes, end
/// exclusive. `value` is the link URI (https:// added to a bare domain), the
/// handle without "@", or the tag without "#".
struct FacetSpan {
  FacetKind kind = FacetKind::link;
  std::size_t byte_start = 0;
  std::size_t byte_end = 0;
  std::string value;
};

/// Links (text::find_urls), @handle mentions (preceded by the start, a space
/// or "("; a syntactically valid domain) and #hashtags (preceded by the start
/// or a space, not all digits, trailing punctuation dropped, at most 64
/// graphemes and 640 bytes, never inside a link), sorted by byte_start and
/// never overlapping. Punctuation follows Unicode's P categories for ASCII,
/// Latin-1 and the general, CJK and full-width punctuation blocks.
std::vector<FacetSpan> find_facets(std::string_view text);

/// One app.bsky.richtext.facet. For a mention, `did` is the resolved DID.
Json facet_json(const FacetSpan& span, std::string_view did = {});

/// A handle as atproto accepts it: ASCII labels of letters, digits and
/// hyphens (1-63 characters, no hyphen at either end), at least two, the last
/// not starting with a digit, 253 characters at most.
bool is_handle(std::string_view handle);

// ---- Images ----------------------------------------------------------------

/// "image/png", "image/jpeg", "image/webp" or "image/gif" from the first
/// bytes of a file; empty for anything else.
std::string_view sniff_image(std::string_view head);

/// Width and height read from a PNG IHDR, a GIF screen descriptor, a JPEG
/// SOFn segment or a WebP VP8/VP8L/VP8X header; nullopt when not found.
std::optional<std::pair<std::uint32_t, std::uint32_t>> image_dimensions(std::string_view bytes);

// ---- The post record -------------------------------------------------------

struct PostRecord {
  std::string text;
  std::string created_at;  // format_datetime
  std::vector<std::string> langs;
  Json facets = Json::array();
  Json embed;  // null: none
  std::optional<StrongRef> root;
  std::optional<StrongRef> parent;
};

/// The app.bsky.feed.post record, optional fields left out when empty.
Json make_record(const PostRecord& post);

/// com.atproto.repo.createRecord input. `validate` is never sent: the PDS
/// checks the record against the lexicon, as it should.
Json create_record_body(std::string_view repo, std::string_view rkey, const Json& record);

}  // namespace multivio::platforms::bluesky
