// SPDX-License-Identifier: MIT
// Instagram's (Instagram Login, graph.instagram.com) or Threads'
// (graph.threads.net) publishing API on 127.0.0.1 for tests, written from
// Meta's documented wire format and strict where adapters go wrong:
// access_token checked on every call (190 for unknown, expired or revoked
// tokens, in the Graph error envelope); the code exchange, the long-lived
// exchange (ig_/th_exchange_token, app secret checked) and refresh
// (ig_/th_refresh_token, refused for tokens under 24 h old or expired);
// containers created with their required parameters (image_url, video_url,
// media_type, text, children, reply_to_id), media URLs that must be http(s)
// and are fetched when they point at 127.0.0.1 (a failed fetch is Graph's
// media download error); containers that stay IN_PROGRESS for a few status
// reads before FINISHED, or end in ERROR or EXPIRED when scripted; publishing
// refused for an unfinished, expired or already published container; a
// published post listed under /{user}/media or /{user}/threads with a
// permalink; rate limiting (code 4) and scripted replies, including an answer
// lost after the server acted. Thread-safe; serves from construction until stop().
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multivio::fakes {

class MetaGraphServer {
 public:
  enum class Flavor { instagram, threads };
  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  /// A scripted answer to one request of a route. status 0: handle the
  /// request normally, then hold the answer for `delay` (an answer lost to the
  /// client's timeout after the server acted).
  struct Reply {
    int status = 0;
    std::string body;
    std::chrono::milliseconds delay{0};
  };

  struct Received {
    std::string method;
    std::string route;   // "POST /:user/media_publish", "GET /:id", ...
    std::string target;  // path and query as sent
    std::vector<std::pair<std::string, std::string>> params;  // query and form, decoded
    int status = 0;
    std::optional<std::string> param(std::string_view name) const;
  };

  struct Container {
    std::string id;
    std::string owner;
    std::string media_type;  // IMAGE, VIDEO, REELS, CAROUSEL, TEXT
    std::string url;         // image_url / video_url
    std::string text;        // caption / text
    std::string reply_to;
    std::string alt_text;
    std::vector<std::string> children;
    bool carousel_item = false;
    std::string status;  // IN_PROGRESS, FINISHED, PUBLISHED, ERROR, EXPIRED
    std::size_t fetched_bytes = 0;  // what was fetched from a 127.0.0.1 URL
    std::string media_id;           // once published
  };

  /// A published post.
  struct Media {
    std::string id;
    std::string container_id;
    std::string media_type;
    std::string text;
    std::string reply_to;
    std::vector<std::string> children;
    std::string permalink;
  };

  /// Binds 127.0.0.1 on a free port; API version "v24.0" (Instagram) or
  /// "v1.0" (Threads). Throws std::runtime_error when no socket can be bound.
  explicit MetaGraphServer(Flavor flavor);
  ~MetaGraphServer();
  MetaGraphServer(const MetaGraphServer&) = delete;
  MetaGraphServer& operator=(const MetaGraphServer&) = delete;

  void stop();
  std::string base_url() const;  // "http://127.0.0.1:PORT": api_base and auth_base
  std::string api_version() const;

  /// The account tokens act for (default "17841400000000001" / "fake_creator").
  void set_user(std::string id, std::string username);
  /// A long-lived token, issued `age` ago and valid for `lifetime` from issue.
  void add_token(std::string token, std::chrono::seconds age = std::chrono::hours{48},
                 std::chrono::seconds lifetime = std::chrono::hours{24 * 60});
  /// Makes a token answer 190 (password change, de-authorised app).
  void revoke_token(const std::string& token);
  /// The app the OAuth endpoints accept.
  void set_app(std::string client_id, std::string client_secret);
  /// An authorization code as the consent page would redirect with.
  std::string issue_code(const std::string& redirect_uri);

  /// Status reads a new container answers IN_PROGRESS before FINISHED (default 2).
  void set_processing_polls(int polls);
  /// Every container created so far finishes processing at its next read.
  void finish_processing();
  /// The next created container ends in ERROR with this message after processing.
  void fail_next_container(std::string message);
  /// The next created container ends EXPIRED after processing.
  void expire_next_container();
  /// The next `n` authenticated calls answer the throttling error (code 4).
  void rate_limit_next(int n);
  /// Replies used in order by the next requests to `route` (Received::route).
  void script(std::string route, std::vector<Reply> replies);

  std::vector<Received> received() const;
  std::size_t count(std::string_view route) const;
  std::vector<Container> containers() const;
  std::vector<Media> published() const;  // in publishing order
  /// Tokens currently accepted (after exchanges and refreshes).
  std::vector<std::string> tokens() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A JPEG header (SOI, SOF0 with this frame size) padded to `size` bytes:
/// enough for Meta's checks and multivio's sniffing.
std::string jpeg_bytes(int width, int height, std::size_t size = 2000);
/// An MP4 (ftyp, moov/mvhd with timescale 1000) of `seconds`, padded to `size` bytes.
std::string mp4_bytes(unsigned seconds, std::size_t size = 3000);

/// Serves the files under a directory read-only on 127.0.0.1, as the web
/// server behind `media.public_url` would (GET only; 404 for anything else).
class FileServer {
 public:
  explicit FileServer(std::string root);
  ~FileServer();
  FileServer(const FileServer&) = delete;
  FileServer& operator=(const FileServer&) = delete;
  std::string base_url() const;
  /// Paths requested so far, in order.
  std::vector<std::string> requested() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
