// SPDX-License-Identifier: MIT
// LinkedIn's API on 127.0.0.1 for tests, written from LinkedIn's documented
// wire format and strict where adapters go wrong: Bearer tokens (fixed ones,
// or the OAuth fake's, whose token endpoint is forwarded as
// /oauth/v2/accessToken and consent page as /oauth/v2/authorization); every
// /rest/ call needs LinkedIn-Version (missing: 400 VERSION_MISSING; older
// than the oldest served version: 426 NONEXISTENT_VERSION) and
// X-Restli-Protocol-Version: 2.0.0; POST /rest/posts checks the body schema
// (author the token may post as, commentary, visibility, distribution,
// lifecycleState, content), refuses commentary with an unescaped little-text
// reserved character, answers 201 with an empty body and x-restli-id; the
// Images API (initializeUpload, one PUT with the bearer token) and the Videos
// API (initializeUpload with per-part instructions, PUTs answered with
// ETags, finalizeUpload checking them in order, status PROCESSING then
// AVAILABLE or PROCESSING_FAILED); /v2/userinfo; /rest/organizations/{id};
// error envelopes {status, serviceErrorCode, code, message}; a 429 mode and
// an expired-token mode (401, serviceErrorCode 65601). Thread-safe; the
// server runs on its own threads from construction until stop().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multivio::fakes {

class OAuthServer;

class LinkedInServer {
 public:
  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  struct Received {
    std::string method;
    std::string path;   // as sent, without the query
    std::string route;  // "METHOD /pattern", e.g. "POST /rest/videos?action=finalizeUpload", "PUT /upload/video/:id/:part"
    HeaderList headers;
    std::string body;
    int status = 0;  // answered

    std::optional<std::string> header(std::string_view name) const;
  };

  struct Member {
    std::string sub;
    std::string name;
  };

  /// A post the server created.
  struct Post {
    std::string urn;
    std::string author;
    std::string commentary;  // as sent (escaped)
    std::string text;        // unescaped: what members see
    std::string visibility;
    std::vector<std::string> media;     // image or video URNs, in order
    std::vector<std::string> alt_texts;  // per media, "" when none
  };

  struct Image {
    std::string urn;
    std::string owner;
    std::size_t bytes = 0;
    std::string status;  // WAITING_UPLOAD, AVAILABLE
  };

  struct Video {
    std::string urn;
    std::string owner;
    std::size_t size = 0;
    std::string upload_token;
    std::vector<std::size_t> part_sizes;  // bytes received per part (0: not yet)
    std::vector<std::string> etags;
    std::string status;  // WAITING_UPLOAD, PROCESSING, AVAILABLE, PROCESSING_FAILED
    int polls_left = 0;
    std::string failure;
  };

  /// Binds 127.0.0.1 on a free port. With `oauth`, Bearer tokens it issued
  /// are accepted and the OAuth endpoints forward to it; `oauth` must outlive
  /// this server. Throws std::runtime_error when no socket can be bound.
  explicit LinkedInServer(OAuthServer* oauth = nullptr);
  ~LinkedInServer();
  LinkedInServer(const LinkedInServer&) = delete;
  LinkedInServer& operator=(const LinkedInServer&) = delete;

  void stop();
  std::string base_url() const;  // "http://127.0.0.1:PORT": api_base and auth_base
  int port() const;

  /// The member every token acts as (default sub "yC6fQv2Lh8", "Ada Fake").
  void set_member(Member member);
  /// A Bearer token accepted without the OAuth fake.
  void add_access_token(std::string token);
  /// A page the member administers (may post as urn:li:organization:<id>).
  void add_organization(std::string id, std::string name);
  /// LinkedIn-Version values older than this answer 426 (default "202501").
  void set_oldest_version(std::string yyyymm);
  /// Bytes per video upload part (default 4 MiB, as LinkedIn).
  void set_video_part_bytes(std::size_t bytes);
  /// Status polls a finalized video answers PROCESSING before AVAILABLE (default 1).
  void set_processing_polls(int polls);
  /// The next finalized video ends PROCESSING_FAILED with this reason.
  void fail_next_processing(std::string reason);
  /// The next `count` POST /rest/posts answer 429 (the daily quota is spent).
  void set_rate_limited(int count);
  /// Every token accepted so far now answers 401 with serviceErrorCode 65601;
  /// tokens issued later (a refresh) work.
  void expire_tokens();

  /// Files LinkedIn takes, with the headers multivio's sniffer reads: an
  /// 800x600 PNG and an MP4 of `seconds` (mvhd), each padded to `size` bytes.
  static std::string png_file(std::size_t size);
  static std::string mp4_file(std::uint32_t seconds, std::size_t size);

  std::vector<Received> received() const;
  std::size_t count(std::string_view route) const;
  std::vector<Post> posts() const;  // in creation order
  std::vector<Image> images() const;
  std::vector<Video> videos() const;
  /// Requests refused for their credentials or headers, with the reason.
  std::vector<std::string> refusals() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
