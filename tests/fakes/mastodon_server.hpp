// SPDX-License-Identifier: MIT
// A Mastodon instance on 127.0.0.1 for tests, as strict as a real one where
// adapters tend to go wrong: a Bearer token on every authenticated route
// (401 {"error":"The access token is invalid"}), /api/v2/instance driving the
// limits, statuses validated by the instance's own length rule (counted here
// independently of multivio's text rules: code points of spoiler_text plus
// status, every http(s) URL as characters_reserved_per_url), Idempotency-Key
// replays answered with the original status, in_reply_to_id that must exist,
// media that is processed asynchronously (202, then 206 on GET until done)
// and refused in a status until it is, X-RateLimit-* headers on every answer
// (X-RateLimit-Reset as an ISO 8601 time) and scriptable failures.
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

class MastodonServer {
 public:
  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  /// A scripted answer for one request to a route. status 0 means "handle
  /// the request normally" (a status is created), then wait `delay` before
  /// answering: a reply lost to a client timeout after the server acted.
  struct Reply {
    int status = 0;
    std::string body;
    HeaderList headers;
    std::chrono::milliseconds delay{0};
  };

  struct Received {
    std::string method;
    std::string path;    // without the query string
    std::string target;  // path and query as sent
    HeaderList headers;
    std::string body;
    std::chrono::system_clock::time_point time;
    int status = 0;  // status answered

    /// Case-insensitive lookup of the first header with this name.
    std::optional<std::string> header(std::string_view name) const;
  };

  /// A status the instance created.
  struct Status {
    std::string id;
    std::string text;
    std::string visibility;
    std::string language;
    std::string spoiler_text;
    std::string in_reply_to_id;
    std::vector<std::string> media_ids;
    std::string idempotency_key;
    std::string url;
  };

  /// A media attachment uploaded through /api/v2/media.
  struct Media {
    std::string id;
    std::string file_name;
    std::string content_type;
    std::size_t size = 0;
    std::string description;
    int polls_left = 0;  // GET /api/v1/media/:id answers 206 this many more times
    bool attached = false;
  };

  /// Binds 127.0.0.1 on a free port and starts serving. Throws
  /// std::runtime_error when no socket can be bound (tests GTEST_SKIP then).
  MastodonServer();
  ~MastodonServer();
  MastodonServer(const MastodonServer&) = delete;
  MastodonServer& operator=(const MastodonServer&) = delete;

  void stop();
  std::string base_url() const;  // "http://127.0.0.1:PORT", the instance URL
  int port() const;

  /// The one access token accepted (default "test-token").
  void set_access_token(std::string token);
  /// configuration.statuses (defaults 500, 4, 23).
  void set_max_characters(std::size_t n);
  void set_max_media_attachments(std::size_t n);
  void set_characters_reserved_per_url(std::size_t n);
  /// Uploads answer 202 and need this many 206 polls before they are
  /// processed; 0 (default) answers 200 with the url at once.
  void set_media_processing_polls(int n);

  /// Apps registered through POST /api/v1/apps so far.
  std::size_t apps_registered() const;
  /// Tokens issued by POST /oauth/token (each is accepted from then on, as
  /// is the one set_access_token() names).
  std::vector<std::string> issued_tokens() const;

  /// Replies used in order by the next requests to "METHOD /path" (the path
  /// as routed, e.g. "POST /api/v1/statuses"), before any other handling.
  void script(std::string route, std::vector<Reply> replies);
  /// A 429 as Mastodon sends it, the window reopening `reset_in` from now.
  static Reply rate_limited(std::chrono::seconds reset_in);

  std::vector<Received> received() const;
  /// Requests to "METHOD /path" so far (with the path as routed).
  std::size_t count(std::string_view route) const;
  std::vector<Status> statuses() const;  // in creation order
  std::vector<Media> media() const;
  /// True once at least n statuses exist, false on timeout.
  bool wait_for_statuses(std::size_t n, std::chrono::milliseconds timeout) const;

  /// The ISO 8601 form the fake writes times in ("2026-01-02T03:04:05.678Z").
  static std::string iso_time(std::chrono::system_clock::time_point t);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
