// SPDX-License-Identifier: MIT
// X API v2 on 127.0.0.1 for tests, written from X's documented wire format
// and as strict as X where adapters tend to go wrong: Bearer tokens checked
// against an OAuthServer (which also answers /2/oauth2/token, forwarded, so
// refresh tokens rotate and die as X's do) or a fixed token; OAuth 1.0a
// signatures verified with the OAuth fake's own base-string derivation;
// POST /2/tweets validated (text by X's weighted length, counted here
// independently of multivio's rules; 1-4 media ids that exist, belong to the
// user and are processed; a reply target that exists) with a 403 for the
// same text twice; the chunked media upload as a state machine
// (initialize -> append in order -> finalize -> pending / in_progress /
// succeeded / failed with check_after_secs); alt text up to 1000 characters;
// /2/users/me and /2/users/:id/tweets; RFC 7807 problem bodies;
// x-rate-limit-* headers on every answer and 429 once a route's budget is
// spent (and the 24-hour user limit for posts); scripted replies per route.
// Thread-safe; the server runs on its own threads from construction until stop().
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

class OAuthServer;

class XServer {
 public:
  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  /// A scripted answer for one request to a route. status 0 means "handle
  /// the request normally, then wait `delay` before answering" (a reply lost
  /// to a client timeout after the server acted).
  struct Reply {
    int status = 0;
    std::string body;
    HeaderList headers;
    std::chrono::milliseconds delay{0};
  };

  struct Received {
    std::string method;
    std::string path;    // as sent, without the query
    std::string route;   // "METHOD /pattern", e.g. "POST /2/media/upload/:id/append"
    std::string target;  // path and query as sent
    HeaderList headers;
    std::string body;
    int status = 0;  // answered

    std::optional<std::string> header(std::string_view name) const;
  };

  struct User {
    std::string id;
    std::string username;
    std::string name;
  };

  /// A post the server created.
  struct Tweet {
    std::string id;
    std::string text;
    std::string author_id;
    std::string in_reply_to;
    std::vector<std::string> media_ids;
  };

  /// A media upload.
  struct Media {
    std::string id;
    std::string owner_id;
    std::string media_type;
    std::string category;
    std::size_t total_bytes = 0;
    std::size_t received_bytes = 0;
    std::vector<std::size_t> segments;  // sizes, by segment_index
    std::string state;  // "uploading", "pending", "in_progress", "succeeded", "failed"
    std::string alt_text;
  };

  /// Binds 127.0.0.1 on a free port. With `oauth`, Bearer tokens are the ones
  /// it issued, /2/oauth2/token is forwarded to it and GET /i/oauth2/authorize
  /// (x.com's consent page; use base_url() as auth_base too) redirects to its
  /// /authorize; `oauth` must outlive this server. Throws std::runtime_error when no socket can be bound.
  explicit XServer(OAuthServer* oauth = nullptr);
  ~XServer();
  XServer(const XServer&) = delete;
  XServer& operator=(const XServer&) = delete;

  void stop();
  std::string base_url() const;  // "http://127.0.0.1:PORT": api_base and upload_base
  int port() const;

  /// The user OAuth 2.0 tokens act as (default id "1849000000000000001",
  /// username "multivio_fake").
  void set_user(User user);
  /// A Bearer token accepted without the OAuth fake (for tests that need no refresh).
  void add_access_token(std::string token);
  /// OAuth 1.0a credentials accepted, acting as `user`.
  void add_oauth1_user(std::string consumer_key, std::string consumer_secret, std::string token,
                       std::string token_secret, User user);

  /// Per-route request budget in the 15-minute window (default 300 each, 100
  /// for POST /2/tweets); a spent budget answers 429 until `reset_in` passes.
  void set_rate_limit(std::string route, int limit, std::chrono::seconds reset_in = std::chrono::seconds{900});
  /// Posts per user in 24 hours (default 1000); a spent budget answers 429.
  void set_user_daily_limit(int limit, std::chrono::seconds reset_in = std::chrono::hours{24});
  /// Video and GIF uploads need this many STATUS polls (in_progress between)
  /// before they succeed; check_after_secs is what they tell the client to wait.
  void set_processing(int polls, int check_after_secs);
  /// The next finalized video or GIF fails processing with this message.
  void fail_next_processing(std::string message);
  /// The largest APPEND segment accepted (default 5 MB).
  void set_max_segment_bytes(std::size_t bytes);

  /// Replies used in order by the next requests to `route` ("METHOD /pattern"
  /// as in Received::route), before any other handling (authentication included).
  void script(std::string route, std::vector<Reply> replies);
  /// A 429 as X sends it, the window reopening `reset_in` from now.
  static Reply rate_limited(std::chrono::seconds reset_in);
  /// A post as if created earlier, e.g. to test reconciling; returns its id.
  std::string add_tweet(std::string text, std::string author_id = {});

  std::vector<Received> received() const;
  std::size_t count(std::string_view route) const;
  std::vector<Tweet> tweets() const;  // in creation order
  std::vector<Media> media() const;
  /// Requests refused for their credentials (401), with the reason.
  std::vector<std::string> auth_failures() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
