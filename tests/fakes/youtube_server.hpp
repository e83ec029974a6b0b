// SPDX-License-Identifier: MIT
// YouTube Data API v3 on 127.0.0.1 for tests, written from Google's
// documented resumable upload protocol and as strict as Google where
// adapters go wrong: videos.insert sessions need a Bearer token,
// uploadType=resumable, part=snippet,status, X-Upload-Content-Length and
// -Type and a valid video resource (title, description, privacy, publishAt
// only when private); chunk PUTs must continue exactly at the byte the
// server holds, carry a Content-Range for the session's size and, except
// the last, be a multiple of 256 KiB; 308 with Range: bytes=0-N (no Range
// before the first byte) answers them and the `bytes */SIZE` status query.
// Faults: a chunk that crosses a given percentage of the upload can be
// dropped (the bytes up to the mark kept, the connection closed without an
// answer), stalled (kept open until release() or stop(), for crash tests),
// or refused with 503; chunks can be confirmed short (fewer bytes than
// sent); sessions can expire (404); videos.insert can answer 403
// quotaExceeded. Errors use the Google envelope. Also channels.list
// (mine=true) and, with an OAuthServer, /token (forwarded) and the consent
// page (/o/oauth2/v2/auth, redirected). Thread-safe; serves on its own
// threads from construction until stop().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multivio::fakes {

class OAuthServer;

class YouTubeServer {
 public:
  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  struct Received {
    std::string method;
    std::string path;    // without the query
    std::string target;  // path and query as sent
    HeaderList headers;
    std::size_t body_bytes = 0;
    int status = 0;  // answered; 0 when the connection was dropped instead

    std::optional<std::string> header(std::string_view name) const;
  };

  /// A finished upload.
  struct Video {
    std::string id;
    std::string channel_id;
    std::string title;
    std::string description;
    std::vector<std::string> tags;
    std::string category_id;
    std::string privacy;
    std::string publish_at;
    bool made_for_kids = false;
    std::string mime;   // X-Upload-Content-Type
    std::string bytes;  // the file as assembled from the chunks
  };

  enum class Fault {
    drop,   // keep the bytes up to the mark, close the connection without answering
    stall,  // keep the bytes up to the mark, hold the request open until release() or stop()
    error,  // keep nothing, answer 503 backendError
  };

  /// Binds 127.0.0.1 on a free port. With `oauth`, Bearer tokens it issued
  /// are accepted, POST /token is forwarded to it and GET /o/oauth2/v2/auth
  /// redirects to its /authorize (use base_url() as api_base, upload_base,
  /// auth_base and token_base); `oauth` must outlive this server. Throws
  /// std::runtime_error when no socket can be bound.
  explicit YouTubeServer(OAuthServer* oauth = nullptr);
  ~YouTubeServer();
  YouTubeServer(const YouTubeServer&) = delete;
  YouTubeServer& operator=(const YouTubeServer&) = delete;

  void stop();
  std::string base_url() const;  // "http://127.0.0.1:PORT"
  int port() const;

  /// A Bearer token accepted without the OAuth fake.
  void add_access_token(std::string token);
  /// The token is refused from now on (401 authError), as an expired one is.
  void expire_access_token(const std::string& token);
  /// The channel tokens act for (default "UCfakeChannel000000000001", "Multivio Fake").
  void set_channel(std::string id, std::string title);

  /// The first `count` chunk PUTs that reach past `percent`% of their upload get `fault`.
  void fault_at(Fault fault, int percent, int count = 1);
  /// Lets stalled requests go (their connections are then closed unanswered).
  void release();
  /// Whether a request is stalled now.
  bool stalled() const;
  /// The next `count` non-final chunks are confirmed `short_by` bytes short
  /// (the server keeps fewer than it was sent, as Google may).
  void confirm_short(std::uint64_t short_by, int count);
  /// videos.insert answers 403 quotaExceeded while set.
  void set_quota_exceeded(bool exceeded);
  /// Every existing upload session is gone (404) from now on.
  void expire_sessions();
  /// A session as if an earlier client had created it and sent `prefix`
  /// (for resume tests); returns its URI.
  std::string add_session(const std::string& metadata_json, std::uint64_t size, std::string prefix,
                          std::string mime = "video/mp4");

  std::vector<Video> videos() const;
  /// Chunk body bytes received over all sessions, dropped chunks included.
  std::uint64_t bytes_received() const;
  /// Upload sessions created with videos.insert (add_session not counted).
  int sessions_created() const;
  /// Bytes each existing session holds, by creation order.
  std::vector<std::uint64_t> session_bytes() const;
  std::vector<Received> received() const;
  /// Requests refused (4xx) with the reason, for test diagnostics.
  std::vector<std::string> refusals() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A well-formed MP4 of exactly `total_bytes` (at least 256): ftyp, moov
/// with an mvhd stating `duration_s`, then an mdat of patterned bytes that
/// differ from chunk to chunk (so a misplaced chunk shows in a comparison).
std::string sample_mp4(std::size_t total_bytes, std::uint32_t duration_s = 10);

}  // namespace multivio::fakes
