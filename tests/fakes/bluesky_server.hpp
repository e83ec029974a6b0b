// SPDX-License-Identifier: MIT
// A Bluesky PDS on 127.0.0.1 for tests: the XRPC methods multivio calls,
// answering the way the reference PDS does where that is documented, and
// strictly where it is not:
//   - createSession checks identifier (handle or DID) and app password
//     (401 AuthenticationRequired otherwise) and issues JWT-shaped tokens
//     with an `exp`; refreshSession rotates both tokens and revokes the old
//     refresh token; a token can be expired on demand (400 ExpiredToken, as
//     the PDS says it: 400, not 401); a missing token is 401 AuthMissing, an
//     unknown one or one of the wrong kind 400 InvalidToken;
//   - createRecord checks the Bearer token, repo == the token's DID, the
//     collection, record.$type, text <= 300 graphemes (approximately
//     counted) and <= 3000 bytes, createdAt, langs <= 3, facet byte ranges
//     (within the text, on UTF-8 boundaries, known feature types), reply
//     refs (must name existing records with their CIDs), image embeds (<= 4,
//     uploaded blobs with matching refs) and rkey syntax (a TID), and refuses
//     a taken rkey. How the real PDS refuses it is not documented (its repo
//     tree throws "There is already a value at key", seen as a 500); this
//     fake ASSUMES 400 {"error":"InvalidRequest","message":"Record already
//     exists at ..."} by default, and set_duplicate_status(500) answers like
//     the reference PDS;
//   - getRecord (400 RecordNotFound), listRecords (rkey order, newest first),
//     uploadBlob (2,000,000-byte limit -> 400 BlobTooLarge) and
//     resolveHandle (400 HandleNotFound for unknown handles);
//   - every answer carries RateLimit-Limit/-Remaining/-Reset/-Policy; past the
//     limit, 429 RateLimitExceeded. Any method can be scripted to fail.
// Thread-safe; serves on its own threads from construction to destruction.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multivio::fakes {

class BlueskyServer {
 public:
  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  struct Reply {
    int status = 500;
    std::string body = R"({"error":"InternalServerError","message":"Internal Server Error"})";
    HeaderList headers;
    std::chrono::milliseconds delay{0};
    /// Handle the request normally first (a record is written), then send
    /// this reply instead of the real one: "it landed but the answer was lost".
    bool after_processing = false;
  };

  struct Received {
    std::string method;
    std::string nsid;  // "com.atproto.repo.createRecord"
    std::string query;
    HeaderList headers;
    std::string body;
    int status = 0;
    std::string error;  // XRPC error name answered, empty on success
    std::chrono::system_clock::time_point time;

    std::optional<std::string> header(std::string_view name) const;  // case-insensitive
    std::string param(std::string_view name) const;                  // decoded query parameter
  };

  struct Record {
    std::string did;
    std::string rkey;
    std::string uri;
    std::string cid;
    nlohmann::json value;
  };

  struct Blob {
    std::string cid;
    std::string mime_type;
    std::size_t size = 0;
  };

  /// Binds 127.0.0.1 on a free port. Throws std::runtime_error when no
  /// socket can be bound (tests GTEST_SKIP then).
  BlueskyServer();
  ~BlueskyServer();
  BlueskyServer(const BlueskyServer&) = delete;
  BlueskyServer& operator=(const BlueskyServer&) = delete;

  void stop();
  std::string base_url() const;  // "http://127.0.0.1:PORT", the PDS URL

  /// An account that can log in with `app_password`; returns its DID.
  std::string add_account(const std::string& handle, const std::string& app_password);
  /// A handle resolveHandle knows, without an account here.
  void add_handle(const std::string& handle, const std::string& did);

  /// Every access token issued so far is expired from now on: the next call
  /// with one gets 400 ExpiredToken.
  void expire_access_tokens();
  /// Likewise for refresh tokens (refreshSession answers 400 ExpiredToken).
  void expire_refresh_tokens();
  /// 400 (default, InvalidRequest) or 500 (InternalServerError) for a
  /// createRecord at a record key that is taken.
  void set_duplicate_status(int status);
  /// Replies for the next requests to `nsid`, used in order.
  void script(const std::string& nsid, std::vector<Reply> replies);
  /// Requests allowed per window before 429 RateLimitExceeded (default
  /// 3000 per 300 s, the documented per-IP limit).
  void set_rate_limit(int limit, std::chrono::seconds window);

  std::vector<Received> received() const;
  std::vector<Received> received(std::string_view nsid) const;
  std::size_t count(std::string_view nsid) const;
  /// Records of every repo in creation order.
  std::vector<Record> records() const;
  std::optional<Record> record(std::string_view uri) const;
  std::vector<Blob> blobs() const;
  int sessions_created() const;
  int sessions_refreshed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::fakes
