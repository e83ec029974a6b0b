// SPDX-License-Identifier: MIT
// TikTok's Content Posting API on 127.0.0.1 for tests, written from TikTok's
// documents and as strict as they are where adapters go wrong: Bearer tokens
// with scopes; the {data, error:{code, message, log_id}} envelope on every
// answer; creator_info; video init checked field by field, the privacy level
// against creator_info and the FILE_UPLOAD chunk rules of the media transfer
// guide (5-64 MB chunks, total_chunk_count = floor(size / chunk_size), the
// last chunk up to 128 MB, whole files under 5 MB, 1-1000 chunks); PUTs to
// the upload URL checked for Content-Type, Content-Range, order and size,
// answering 206 until the last chunk and 201 then; status fetch moving
// PROCESSING_UPLOAD -> PROCESSING_DOWNLOAD -> PUBLISH_COMPLETE (or FAILED)
// over polls; per-minute rate limits (init 6, status fetch 30 per token);
// /v2/oauth/token/ with client_key and rotating refresh tokens (an old one is
// refused once rotated); /v2/user/info/. Thread-safe; the server runs on its
// own thread from construction until stop().
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multivio::fakes {

class TikTokServer {
 public:
  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  /// A scripted answer, used before any other handling (authentication included).
  struct Reply {
    int status = 200;
    std::string body;
    HeaderList headers;
  };

  struct Received {
    std::string method;
    std::string route;   // "METHOD /path", e.g. "PUT /upload/"
    std::string target;  // path and query as sent
    HeaderList headers;
    std::string body;    // empty for PUTs to the upload URL (see Video::bytes)
    std::size_t body_size = 0;
    int status = 0;  // answered
    std::string code;  // error.code answered ("ok" on success)

    std::optional<std::string> header(std::string_view name) const;
  };

  struct User {
    std::string open_id = "open-fake-0001";
    std::string username = "multivio_fake";
    std::string display_name = "Multivio Fake";
  };

  /// What creator_info/query answers.
  struct Creator {
    std::vector<std::string> privacy_level_options{"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"};
    bool comment_disabled = false;
    bool duet_disabled = false;
    bool stitch_disabled = false;
    int max_video_post_duration_sec = 600;
  };

  /// One video init and what arrived for it.
  struct Video {
    std::string publish_id;
    std::string post_id;  // set once PUBLISH_COMPLETE reports it
    std::string title;
    std::string privacy_level;
    bool disable_comment = false;
    bool disable_duet = false;
    bool disable_stitch = false;
    std::uint64_t video_size = 0;
    std::uint64_t chunk_size = 0;
    std::uint64_t total_chunk_count = 0;
    std::string bytes;  // received so far, in order
    std::vector<std::string> content_types;  // per PUT
    std::string status;  // PROCESSING_UPLOAD, PROCESSING_DOWNLOAD, PUBLISH_COMPLETE, FAILED
  };

  struct Tokens {
    std::string access_token;
    std::string refresh_token;
  };

  /// Binds 127.0.0.1 on a free port. Throws std::runtime_error when no socket can be bound.
  TikTokServer();
  ~TikTokServer();
  TikTokServer(const TikTokServer&) = delete;
  TikTokServer& operator=(const TikTokServer&) = delete;

  void stop();
  std::string base_url() const;  // "http://127.0.0.1:PORT": api_base
  int port() const;

  void set_user(User user);
  void set_creator(Creator creator);
  /// A token accepted as is (scopes: user.info.basic,video.publish unless given).
  void add_access_token(std::string token, std::string scope = "user.info.basic,video.publish");
  /// The app whose client_key and client_secret /v2/oauth/token/ accepts.
  void set_client(std::string client_key, std::string client_secret);
  /// An access and refresh token pair as a code exchange would grant.
  Tokens issue_tokens(std::chrono::seconds expires_in = std::chrono::seconds{7200});
  /// Every access token issued or added so far is refused from now on.
  void expire_access_tokens();
  bool refresh_token_valid(std::string_view token) const;
  /// Status polls in PROCESSING_DOWNLOAD after the upload completes (default 2).
  void set_processing_polls(int polls);
  /// PUBLISH_COMPLETE polls that report no post id yet (default 0).
  void set_post_id_delay(int polls);
  /// The next completed upload ends FAILED with this fail_reason.
  void fail_next(std::string fail_reason);
  /// An unaudited app: only SELF_ONLY posts are accepted.
  void set_unaudited(bool unaudited);
  /// Requests per minute per token for a route ("POST /v2/post/publish/video/init/": 6,
  /// "POST /v2/post/publish/status/fetch/": 30 by default).
  void set_rate_limit(std::string route, int per_minute);
  void script(std::string route, std::vector<Reply> replies);
  /// A 429 rate_limit_exceeded envelope as TikTok sends it.
  static Reply rate_limited();
  /// The bytes of a minimal MP4 (ftyp, mdat of varied filler, moov with an
  /// mvhd stating `duration_ms`), exactly `size` bytes (at least 200), for
  /// tests that upload a video and compare what arrived.
  static std::string mp4(std::int64_t duration_ms, std::size_t size);

  std::vector<Received> received() const;
  std::size_t count(std::string_view route) const;
  std::vector<Video> videos() const;  // in init order
  /// Videos that reached PUBLISH_COMPLETE.
  std::vector<Video> published() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
