// SPDX-License-Identifier: MIT
// Written from the lexicons and the PDS behaviour described in
// ../shared/platform-apis.md §9/§11, independently of the adapter's wire
// layer, so a shared misreading does not make both sides agree.
#include "tests/fakes/bluesky_server.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <thread>

#include "common/crypto/crypto.hpp"

namespace multivio::fakes {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::system_clock;

constexpr std::size_t k_max_blob = 2'000'000;
constexpr std::string_view k_post = "app.bsky.feed.post";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string base64url(std::string_view bytes) {
  std::string s = crypto::base64_encode(bytes);
  std::replace(s.begin(), s.end(), '+', '-');
  std::replace(s.begin(), s.end(), '/', '_');
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

// CIDv1-looking: "bafyrei" + RFC 4648 base32 (lowercase) of a SHA-256.
std::string make_cid(std::string_view content) {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  const std::string h = crypto::sha256(content);
  std::string out = "bafyrei";
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char c : h) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

bool is_tid(std::string_view s) {
  static const std::regex tid("^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$");
  return std::regex_match(s.begin(), s.end(), tid);
}

bool is_datetime(const std::string& s) {
  static const std::regex dt(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$)");
  return std::regex_match(s, dt);
}

// Code points, with the ones that only extend a cluster (combining marks,
// variation selectors, skin tones, tag characters, keycaps, whatever follows
// a ZWJ, the second of a flag pair) not counted: close enough to graphemes
// for a length check.
std::size_t graphemes_ish(std::string_view s) {
  std::size_t count = 0;
  bool after_zwj = false, open_flag = false;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1Fu) : len == 3 ? (b & 0x0Fu) : (b & 0x07u);
    for (std::size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    i += len;
    const bool extend = (cp >= 0x300 && cp <= 0x36F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
                        (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
                        (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFE20 && cp <= 0xFE2F) ||
                        (cp >= 0x1F3FB && cp <= 0x1F3FF) || (cp >= 0xE0020 && cp <= 0xE007F) ||
                        (cp >= 0xE0100 && cp <= 0xE01EF) || cp == 0x200D;
    const bool regional = cp >= 0x1F1E6 && cp <= 0x1F1FF;
    if (extend || after_zwj || (regional && open_flag)) {
      if (!extend) after_zwj = false;
      if (regional) open_flag = false;
      if (cp == 0x200D) after_zwj = true;
      continue;
    }
    open_flag = regional;
    ++count;
  }
  return count;
}

bool on_boundary(std::string_view text, std::int64_t offset) {
  return offset == static_cast<std::int64_t>(text.size()) ||
         (static_cast<unsigned char>(text[static_cast<std::size_t>(offset)]) & 0xC0) != 0x80;
}

struct Answer {
  int status = 200;
  Json body;
  std::string error() const {
    return body.is_object() && body.contains("error") && body["error"].is_string() ? body["error"].get<std::string>()
                                                                                   : std::string();
  }
};

Answer fail(int status, std::string name, std::string message) {
  return {status, Json{{"error", std::move(name)}, {"message", std::move(message)}}};
}

struct Token {
  std::string did;
  bool refresh = false;
  bool expired = false;
  bool revoked = false;
  Clock::time_point expires_at;
};

struct Account {
  std::string handle;
  std::string did;
  std::string password;
};

}  // namespace

std::optional<std::string> BlueskyServer::Received::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

std::string BlueskyServer::Received::param(std::string_view name) const {
  httplib::Params params;
  httplib::detail::parse_query_text(query, params);
  auto it = params.find(std::string(name));
  return it == params.end() ? std::string() : it->second;
}

struct BlueskyServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  std::vector<Received> log;
  std::map<std::string, std::deque<Reply>> scripted;
  std::vector<Account> accounts;
  std::map<std::string, std::string> handles;  // lowercase handle -> did
  std::map<std::string, Token> tokens;
  std::vector<Record> records;
  std::vector<Blob> blobs;
  int duplicate_status = 400;
  int rate_limit = 3000;
  std::chrono::seconds rate_window{300};
  Clock::time_point window_start = Clock::now();
  int used = 0;
  int created = 0;
  int refreshed = 0;
  std::string signing_key = crypto::random_bytes(32);

  void stall(std::chrono::milliseconds total) const {
    const auto until = std::chrono::steady_clock::now() + total;
    while (!stopping && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }

  std::string issue(const std::string& did, bool refresh) {
    const auto now = Clock::now();
    const auto exp = now + (refresh ? std::chrono::hours(24 * 90) : std::chrono::hours(2));
    const auto secs = [](Clock::time_point t) {
      return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    };
    const Json header = {{"typ", refresh ? "refresh+jwt" : "at+jwt"}, {"alg", "HS256"}};
    const Json payload = {{"scope", refresh ? "com.atproto.refresh" : "com.atproto.appPass"},
                          {"sub", did},
                          {"aud", "did:web:127.0.0.1"},
                          {"iat", secs(now)},
                          {"exp", secs(exp)},
                          {"jti", crypto::random_hex(8)}};
    const std::string signing_input = base64url(header.dump()) + "." + base64url(payload.dump());
    std::string jwt = signing_input + "." + base64url(crypto::hmac_sha256(signing_key, signing_input));
    tokens[jwt] = Token{did, refresh, false, false, exp};
    return jwt;
  }

  Json session_json(const Account& a) {
    return {{"accessJwt", issue(a.did, false)},
            {"refreshJwt", issue(a.did, true)},
            {"handle", a.handle},
            {"did", a.did},
            {"active", true}};
  }

  const Account* account_by_did(const std::string& did) const {
    for (const auto& a : accounts) {
      if (a.did == did) return &a;
    }
    return nullptr;
  }

  // The repo parameter may be a handle or a DID.
  std::string repo_did(const std::string& repo) const {
    if (repo.starts_with("did:")) return repo;
    auto it = handles.find(lower(repo));
    return it == handles.end() ? std::string() : it->second;
  }

  // The DID behind a valid Bearer token of the wanted kind, or the error.
  std::optional<Answer> authenticate(const httplib::Request& req, bool want_refresh, std::string& did) {
    const std::string auth = req.get_header_value("Authorization");
    if (auth.empty()) return fail(401, "AuthMissing", "Authentication Required");
    if (!auth.starts_with("Bearer ")) return fail(400, "InvalidToken", "Unexpected authorization type");
    auto it = tokens.find(auth.substr(7));
    if (it == tokens.end() || it->second.revoked) return fail(400, "InvalidToken", "Token could not be verified");
    if (it->second.refresh != want_refresh) return fail(400, "InvalidToken", "Bad token scope");
    if (it->second.expired || it->second.expires_at <= Clock::now()) {
      it->second.expired = true;
      return fail(400, "ExpiredToken", "Token has expired");
    }
    did = it->second.did;
    return std::nullopt;
  }

  static std::optional<Json> json_body(const httplib::Request& req) {
    const std::string type = req.get_header_value("Content-Type");
    if (!iequals(type.substr(0, type.find(';')), "application/json")) return std::nullopt;
    auto j = Json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    return j;
  }

  const Record* find_record(const std::string& did, const std::string& rkey) const {
    for (const auto& r : records) {
      if (r.did == did && r.rkey == rkey) return &r;
    }
    return nullptr;
  }

  // ---- methods ----

  Answer create_session(const httplib::Request& req) {
    const auto body = json_body(req);
    if (!body || !(*body)["identifier"].is_string() || !(*body)["password"].is_string()) {
      return fail(400, "InvalidRequest", "Input must have the properties \"identifier\" and \"password\"");
    }
    const std::string id = lower((*body)["identifier"].get<std::string>());
    for (const auto& a : accounts) {
      if ((lower(a.handle) == id || a.did == id) && a.password == (*body)["password"].get<std::string>()) {
        ++created;
        return {200, session_json(a)};
      }
    }
    return fail(401, "AuthenticationRequired", "Invalid identifier or password");
  }

  Answer refresh_session(const httplib::Request& req) {
    std::string did;
    if (auto err = authenticate(req, true, did)) return *err;
    tokens[req.get_header_value("Authorization").substr(7)].revoked = true;  // rotated
    const Account* a = account_by_did(did);
    if (a == nullptr) return fail(400, "InvalidToken", "Token could not be verified");
    ++refreshed;
    return {200, session_json(*a)};
  }

  // com.atproto.server.getSession: who the access token belongs to.
  Answer get_session(const httplib::Request& req) {
    std::string did;
    if (auto err = authenticate(req, false, did)) return *err;
    const Account* a = account_by_did(did);
    if (a == nullptr) return fail(400, "InvalidToken", "Token could not be verified");
    return {200, Json{{"handle", a->handle}, {"did", a->did}, {"active", true}}};
  }

  Answer resolve_handle(const httplib::Request& req) {
    auto it = handles.find(lower(req.get_param_value("handle")));
    if (it == handles.end()) return fail(400, "HandleNotFound", "Unable to resolve handle");
    return {200, Json{{"did", it->second}}};
  }

  Answer upload_blob(const httplib::Request& req) {
    std::string did;
    if (auto err = authenticate(req, false, did)) return *err;
    const std::string type = req.get_header_value("Content-Type");
    if (type.empty()) return fail(400, "InvalidRequest", "Missing Content-Type");
    if (req.body.size() > k_max_blob) {
      return fail(400, "BlobTooLarge",
                  "This file is too large. It is " + std::to_string(req.body.size()) +
                      " bytes but the maximum size is 2,000,000 bytes.");
    }
    Blob b{make_cid(req.body), type, req.body.size()};
    blobs.push_back(b);
    return {200, Json{{"blob",
                       {{"$type", "blob"}, {"ref", {{"$link", b.cid}}}, {"mimeType", b.mime_type}, {"size", b.size}}}}};
  }

  // Empty when the record is acceptable, else why not.
  std::string check_post(const Json& rec) const {
    if (!rec.is_object()) return "record must be an object";
    if (rec.value("$type", "") != k_post) return "record/$type must be app.bsky.feed.post";
    if (!rec.contains("text") || !rec["text"].is_string()) return "record must have the property \"text\"";
    const std::string text = rec["text"].get<std::string>();
    if (text.size() > 3000) return "record/text must not be longer than 3000 characters";
    if (graphemes_ish(text) > 300) return "record/text must not be longer than 300 graphemes";
    if (!rec.contains("createdAt") || !rec["createdAt"].is_string() ||
        !is_datetime(rec["createdAt"].get<std::string>())) {
      return "record/createdAt must be a valid datetime";
    }
    if (rec.contains("langs")) {
      if (!rec["langs"].is_array() || rec["langs"].size() > 3) return "record/langs must be an array of at most 3";
      for (const auto& l : rec["langs"]) {
        if (!l.is_string() || l.get<std::string>().empty()) return "record/langs must hold language tags";
      }
    }
    if (rec.contains("facets")) {
      if (!rec["facets"].is_array()) return "record/facets must be an array";
      for (const auto& f : rec["facets"]) {
        const auto& idx = f.contains("index") ? f["index"] : Json();
        if (!idx.is_object() || !idx.contains("byteStart") || !idx.contains("byteEnd") ||
            !idx["byteStart"].is_number_integer() || !idx["byteEnd"].is_number_integer()) {
          return "record/facets/index must have integer byteStart and byteEnd";
        }
        const auto start = idx["byteStart"].get<std::int64_t>(), end = idx["byteEnd"].get<std::int64_t>();
        if (start < 0 || end <= start || end > static_cast<std::int64_t>(text.size())) {
          return "facet byte range " + std::to_string(start) + ".." + std::to_string(end) + " is outside the text";
        }
        if (!on_boundary(text, start) || !on_boundary(text, end)) {
          return "facet byte range " + std::to_string(start) + ".." + std::to_string(end) + " splits a UTF-8 sequence";
        }
        if (!f.contains("features") || !f["features"].is_array() || f["features"].empty()) {
          return "record/facets/features must be a non-empty array";
        }
        for (const auto& feature : f["features"]) {
          const std::string type = feature.value("$type", "");
          if (type == "app.bsky.richtext.facet#link") {
            const std::string uri = feature.value("uri", "");
            if (!uri.starts_with("http://") && !uri.starts_with("https://")) return "link facet uri must be a URI";
          } else if (type == "app.bsky.richtext.facet#mention") {
            if (!feature.value("did", "").starts_with("did:")) return "mention facet did must be a DID";
          } else if (type == "app.bsky.richtext.facet#tag") {
            const std::string tag = feature.value("tag", "");
            if (tag.empty() || tag.size() > 640 || tag.starts_with('#')) return "tag facet tag is malformed";
          } else {
            return "unknown facet feature type '" + type + "'";
          }
        }
      }
    }
    if (rec.contains("reply")) {
      for (const char* which : {"root", "parent"}) {
        const Json& ref = rec["reply"].value(which, Json());
        if (!ref.is_object() || !ref.contains("uri") || !ref.contains("cid")) {
          return std::string("record/reply/") + which + " must be a strong ref {uri, cid}";
        }
        const auto it = std::find_if(records.begin(), records.end(),
                                     [&](const Record& r) { return r.uri == ref["uri"] && r.cid == ref["cid"]; });
        if (it == records.end()) return std::string("reply ") + which + " " + ref["uri"].dump() + " not found";
      }
    }
    if (rec.contains("embed")) {
      const Json& e = rec["embed"];
      if (e.value("$type", "") != "app.bsky.embed.images") return "only app.bsky.embed.images is supported here";
      if (!e.contains("images") || !e["images"].is_array() || e["images"].empty() || e["images"].size() > 4) {
        return "record/embed/images must hold 1 to 4 images";
      }
      for (const auto& img : e["images"]) {
        if (!img.contains("alt") || !img["alt"].is_string()) return "record/embed/images/alt is required";
        const Json& blob = img.value("image", Json());
        if (blob.value("$type", "") != "blob" || !blob.contains("ref") || !blob["ref"].is_object()) {
          return "record/embed/images/image must be a blob";
        }
        const std::string cid = blob["ref"].value("$link", "");
        const auto it = std::find_if(blobs.begin(), blobs.end(), [&](const Blob& b) { return b.cid == cid; });
        if (it == blobs.end()) return "blob " + cid + " was not uploaded";
        if (blob.value("mimeType", "") != it->mime_type || blob.value("size", std::size_t{0}) != it->size) {
          return "blob " + cid + " mimeType/size do not match the upload";
        }
        if (img.contains("aspectRatio")) {
          const Json& ar = img["aspectRatio"];
          if (!ar.is_object() || ar.value("width", 0) < 1 || ar.value("height", 0) < 1) {
            return "record/embed/images/aspectRatio must have positive width and height";
          }
        }
      }
    }
    return {};
  }

  Answer create_record(const httplib::Request& req) {
    std::string did;
    if (auto err = authenticate(req, false, did)) return *err;
    const auto body = json_body(req);
    if (!body) return fail(400, "InvalidRequest", "Request body must be a JSON object");
    if (body->value("repo", "") != did) {
      return fail(400, "InvalidRequest", "repo does not match the authenticated account");
    }
    if (body->value("collection", "") != k_post) return fail(400, "InvalidRequest", "unsupported collection");
    if (body->contains("validate") && (*body)["validate"] == false) {
      return fail(400, "InvalidRequest", "this PDS always validates app.bsky.feed.post");
    }
    const Json& rec = body->contains("record") ? (*body)["record"] : Json();
    if (const std::string why = check_post(rec); !why.empty()) {
      return fail(400, "InvalidRecord", "Invalid app.bsky.feed.post record: " + why);
    }
    std::string rkey = body->value("rkey", "");
    if (rkey.empty()) {
      static constexpr char alphabet[] = "234567abcdefghijklmnopqrstuvwxyz";
      std::uint64_t v =
          static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count())
          << 10;
      rkey.assign(13, '2');
      for (std::size_t i = 13; i-- > 0; v >>= 5) rkey[i] = alphabet[v & 31];
    } else if (!is_tid(rkey)) {
      return fail(400, "InvalidRequest", "Invalid rkey for app.bsky.feed.post: expected a TID");
    }
    const std::string uri = "at://" + did + "/" + std::string(k_post) + "/" + rkey;
    if (find_record(did, rkey) != nullptr) {
      return duplicate_status >= 500 ? fail(500, "InternalServerError", "Internal Server Error")
                                     : fail(400, "InvalidRequest", "Record already exists at " + uri);
    }
    Record r{did, rkey, uri, make_cid(rec.dump()), rec};
    records.push_back(r);
    return {200, Json{{"uri", r.uri},
                      {"cid", r.cid},
                      {"commit", {{"cid", make_cid(r.cid + "commit")}, {"rev", rkey}}},
                      {"validationStatus", "valid"}}};
  }

  Answer get_record(const httplib::Request& req) {
    const std::string did = repo_did(req.get_param_value("repo"));
    const std::string rkey = req.get_param_value("rkey");
    const Record* r = req.get_param_value("collection") == k_post ? find_record(did, rkey) : nullptr;
    if (r == nullptr) {
      return fail(400, "RecordNotFound",
                  "Could not locate record: at://" + req.get_param_value("repo") + "/" +
                      req.get_param_value("collection") + "/" + rkey);
    }
    return {200, Json{{"uri", r->uri}, {"cid", r->cid}, {"value", r->value}}};
  }

  Answer list_records(const httplib::Request& req) {
    const std::string did = repo_did(req.get_param_value("repo"));
    if (did.empty() || account_by_did(did) == nullptr) return fail(400, "InvalidRequest", "Could not find repo");
    int limit = 50;
    if (req.has_param("limit")) limit = std::clamp(std::atoi(req.get_param_value("limit").c_str()), 1, 100);
    std::vector<const Record*> mine;
    for (const auto& r : records) {
      if (r.did == did) mine.push_back(&r);
    }
    const bool reverse = req.get_param_value("reverse") == "true";
    std::sort(mine.begin(), mine.end(),
              [&](const Record* a, const Record* b) { return reverse ? a->rkey < b->rkey : a->rkey > b->rkey; });
    Json out = Json::array();
    for (const Record* r : mine) {
      if (static_cast<int>(out.size()) == limit) break;
      out.push_back({{"uri", r->uri}, {"cid", r->cid}, {"value", r->value}});
    }
    return {200, Json{{"records", std::move(out)}}};
  }

  Answer dispatch(const std::string& nsid, const httplib::Request& req) {
    struct Method {
      std::string_view nsid;
      const char* verb;
      Answer (Impl::*handler)(const httplib::Request&);
    };
    static constexpr Method methods[] = {
        {"com.atproto.server.createSession", "POST", &Impl::create_session},
        {"com.atproto.server.refreshSession", "POST", &Impl::refresh_session},
        {"com.atproto.server.getSession", "GET", &Impl::get_session},
        {"com.atproto.identity.resolveHandle", "GET", &Impl::resolve_handle},
        {"com.atproto.repo.uploadBlob", "POST", &Impl::upload_blob},
        {"com.atproto.repo.createRecord", "POST", &Impl::create_record},
        {"com.atproto.repo.getRecord", "GET", &Impl::get_record},
        {"com.atproto.repo.listRecords", "GET", &Impl::list_records},
    };
    for (const auto& m : methods) {
      if (m.nsid != nsid) continue;
      if (req.method != m.verb) return fail(400, "InvalidRequest", "Incorrect HTTP method (" + req.method + ")");
      return (this->*m.handler)(req);
    }
    return fail(501, "MethodNotImplemented", "Method Not Implemented");
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    Received rec;
    rec.method = req.method;
    rec.nsid = req.path.starts_with("/xrpc/") ? req.path.substr(6) : req.path;
    const auto q = req.target.find('?');
    rec.query = q == std::string::npos ? std::string() : req.target.substr(q + 1);
    for (const auto& [k, v] : req.headers) rec.headers.emplace_back(k, v);
    rec.body = req.body;
    rec.time = Clock::now();

    int status = 200;
    std::string body;
    HeaderList extra;
    std::chrono::milliseconds delay{0};
    HeaderList limits;
    {
      std::lock_guard lock(mutex);
      const auto now = Clock::now();
      if (now - window_start >= rate_window) {
        window_start = now;
        used = 0;
      }
      ++used;
      const auto reset =
          std::chrono::duration_cast<std::chrono::seconds>((window_start + rate_window).time_since_epoch());
      limits = {{"RateLimit-Limit", std::to_string(rate_limit)},
                {"RateLimit-Remaining", std::to_string(std::max(0, rate_limit - used))},
                {"RateLimit-Reset", std::to_string(reset.count())},
                {"RateLimit-Policy", std::to_string(rate_limit) + ";w=" + std::to_string(rate_window.count())}};

      std::optional<Reply> reply;
      if (auto it = scripted.find(rec.nsid); it != scripted.end() && !it->second.empty()) {
        reply = std::move(it->second.front());
        it->second.pop_front();
      }
      Answer answer;
      if (used > rate_limit) {
        answer = fail(429, "RateLimitExceeded", "Rate Limit Exceeded");
      } else if (!reply || reply->after_processing) {
        answer = dispatch(rec.nsid, req);
      }
      if (reply) {
        status = reply->status;
        body = reply->body;
        extra = reply->headers;
        delay = reply->delay;
        rec.error = Answer{status, Json::parse(body, nullptr, false)}.error();
      } else {
        status = answer.status;
        body = answer.body.dump();
        rec.error = answer.error();
      }
      rec.status = status;
      log.push_back(std::move(rec));
    }
    stall(delay);
    res.status = status;
    for (const auto& [k, v] : limits) res.set_header(k, v);
    for (const auto& [k, v] : extra) res.set_header(k, v);
    res.set_content(body, "application/json");
  }
};

BlueskyServer::BlueskyServer() : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  auto handler = [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); };
  impl.server.Get(".*", handler);
  impl.server.Post(".*", handler);
  impl.server.set_payload_max_length(8 * 1024 * 1024);  // oversized blobs must reach the BlobTooLarge check
  impl.server.set_keep_alive_timeout(1);
  impl.server.set_tcp_nodelay(true);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("bluesky fake: cannot bind 127.0.0.1");
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

BlueskyServer::~BlueskyServer() { stop(); }

void BlueskyServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stopping = true;
  impl_->server.stop();
  impl_->thread.join();
}

std::string BlueskyServer::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

std::string BlueskyServer::add_account(const std::string& handle, const std::string& app_password) {
  std::lock_guard lock(impl_->mutex);
  // did:plc identifiers are 24 base32 characters.
  std::string did = "did:plc:" + make_cid("plc:" + lower(handle)).substr(7, 24);
  impl_->accounts.push_back({handle, did, app_password});
  impl_->handles[lower(handle)] = did;
  return did;
}

void BlueskyServer::add_handle(const std::string& handle, const std::string& did) {
  std::lock_guard lock(impl_->mutex);
  impl_->handles[lower(handle)] = did;
}

void BlueskyServer::expire_access_tokens() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [jwt, t] : impl_->tokens) {
    if (!t.refresh) t.expired = true;
  }
}

void BlueskyServer::expire_refresh_tokens() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [jwt, t] : impl_->tokens) {
    if (t.refresh) t.expired = true;
  }
}

void BlueskyServer::set_duplicate_status(int status) {
  std::lock_guard lock(impl_->mutex);
  impl_->duplicate_status = status;
}

void BlueskyServer::script(const std::string& nsid, std::vector<Reply> replies) {
  std::lock_guard lock(impl_->mutex);
  auto& q = impl_->scripted[nsid];
  q.assign(std::make_move_iterator(replies.begin()), std::make_move_iterator(replies.end()));
}

void BlueskyServer::set_rate_limit(int limit, std::chrono::seconds window) {
  std::lock_guard lock(impl_->mutex);
  impl_->rate_limit = limit;
  impl_->rate_window = window;
  impl_->window_start = Clock::now();
  impl_->used = 0;
}

std::vector<BlueskyServer::Received> BlueskyServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}

std::vector<BlueskyServer::Received> BlueskyServer::received(std::string_view nsid) const {
  std::lock_guard lock(impl_->mutex);
  std::vector<Received> out;
  for (const auto& r : impl_->log) {
    if (r.nsid == nsid) out.push_back(r);
  }
  return out;
}

std::size_t BlueskyServer::count(std::string_view nsid) const { return received(nsid).size(); }

std::vector<BlueskyServer::Record> BlueskyServer::records() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->records;
}

std::optional<BlueskyServer::Record> BlueskyServer::record(std::string_view uri) const {
  std::lock_guard lock(impl_->mutex);
  for (const auto& r : impl_->records) {
    if (r.uri == uri) return r;
  }
  return std::nullopt;
}

std::vector<BlueskyServer::Blob> BlueskyServer::blobs() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->blobs;
}

int BlueskyServer::sessions_created() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->created;
}

int BlueskyServer::sessions_refreshed() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->refreshed;
}

}  // namespace multivio::fakes
