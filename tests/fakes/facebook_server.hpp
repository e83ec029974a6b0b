// SPDX-License-Identifier: MIT
// Facebook's Graph API for Pages on 127.0.0.1, written from Meta's documented
// wire format and as strict as Graph where adapters go wrong: every path is
// under the one API version it is told (/v23.0/...); access tokens come from
// the query, a form or JSON field, or "Authorization: Bearer|OAuth" and are
// told apart (short- and long-lived user tokens, Page tokens per Page); the
// Facebook Login dialog (/vN/dialog/oauth, comma-separated scopes, a "#_"
// after the redirect), the code exchange (confidential: client secret and
// the exact redirect_uri, PKCE when a challenge was sent) and the
// fb_exchange_token grant; /me/accounts with two Pages whose tokens last an
// hour unless derived from a long-lived user token; POST /{page}/feed
// (message, link, attached_media of this Page's unpublished photos; a user
// token gets error 200; the same message twice in a row gets 506);
// multipart POST /{page}/photos (source must be an image; published=false
// keeps it for attached_media); GET /{page}/posts and /{page}. Errors use the
// Graph envelope, and every answer carries X-App-Usage. Scripted replies per
// route; expire_tokens() turns every token into error 190/463.
// Thread-safe; the server runs on its own thread from construction until stop().
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

class FacebookServer {
 public:
  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  /// A scripted answer for one request to a route. status 0 means "handle
  /// the request normally, then wait `delay` before answering" (an answer
  /// lost to a client timeout after the server acted).
  struct Reply {
    int status = 0;
    std::string body;
    HeaderList headers;
    std::chrono::milliseconds delay{0};
  };

  struct Received {
    std::string method;
    std::string path;    // as sent, without the query
    std::string route;   // "METHOD /pattern" without the version: "POST /:page/feed", "GET /me/accounts"
    std::string target;  // path and query as sent
    HeaderList headers;
    std::string body;
    int status = 0;  // answered

    std::optional<std::string> header(std::string_view name) const;
  };

  struct Page {
    std::string id;
    std::string name;
  };

  /// A Page post, from /feed or from a published photo.
  struct Post {
    std::string id;  // "PAGEID_POSTID"
    std::string page_id;
    std::string message;
    std::string link;
    std::vector<std::string> photo_ids;
    std::string video_id;  // a post made by a /videos upload
  };

  /// A file uploaded to /{page}/videos (non-resumable: `source` in one form).
  struct Video {
    std::string id;
    std::string page_id;
    std::string file_name;
    std::string content_type;
    std::string description;
    std::string bytes;  // as received, to compare with the file
  };

  struct Photo {
    std::string id;
    std::string page_id;
    std::string file_name;
    std::string content_type;
    std::size_t bytes = 0;
    bool published = true;
    bool attached = false;  // used by a feed post's attached_media
  };

  /// What the Login dialog was asked.
  struct Authorize {
    std::string client_id;
    std::string redirect_uri;
    std::string scope;
    std::string state;
    std::string code_challenge;
  };

  /// Binds 127.0.0.1 on a free port. Throws std::runtime_error when it cannot.
  FacebookServer();
  ~FacebookServer();
  FacebookServer(const FacebookServer&) = delete;
  FacebookServer& operator=(const FacebookServer&) = delete;

  void stop();
  std::string base_url() const;  // "http://127.0.0.1:PORT": api_base and auth_base
  int port() const;

  /// The API version paths must carry (default "v23.0").
  void set_version(std::string version);
  /// The app the Login dialog and token endpoint accept (default
  /// "fb-app-id" / "fb-app-secret").
  void set_app(std::string client_id, std::string client_secret);
  /// The Pages the user manages (default 1111 "Multivio Cafe" and 2222
  /// "Multivio Books").
  std::vector<Page> pages() const;

  /// A user token as a login would give (long_lived: as fb_exchange_token does).
  std::string issue_user_token(bool long_lived);
  /// A Page token that does not expire (as got with a long-lived user token).
  std::string issue_page_token(const std::string& page_id);
  /// Whether `token` is a Page token derived from a long-lived user token.
  bool is_long_lived_page_token(const std::string& token) const;
  /// Every token issued so far answers error 190/463 from now on.
  void expire_tokens();

  /// Replies used in order by the next requests to `route` (as in
  /// Received::route), before any other handling (authentication included).
  void script(std::string route, std::vector<Reply> replies);
  /// A Graph error envelope answer (type OAuthException for 190, else
  /// GraphMethodException... as Graph labels them).
  static Reply graph_error(int http_status, int code, int subcode, std::string message);
  /// Error 32 (Page request limit) with X-Business-Use-Case-Usage saying
  /// access returns in `minutes`.
  static Reply rate_limited(int minutes);
  /// A post as if made earlier; returns its id.
  std::string add_post(const std::string& page_id, std::string message);

  std::vector<Received> received() const;
  std::size_t count(std::string_view route) const;
  std::vector<Post> posts() const;  // in creation order
  std::vector<Photo> photos() const;
  std::vector<Video> videos() const;
  std::vector<Authorize> authorize_requests() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
