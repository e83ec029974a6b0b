// SPDX-License-Identifier: MIT
// Everything a signature or a PKCE check needs is derived here from the RFCs
// again (encoding, sorting, base string, HMAC, SHA-256, base64): sharing the
// production code would let one bug pass on both sides.
#include "tests/fakes/oauth_server.hpp"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>

namespace multivio::fakes {

namespace {

using Clock = std::chrono::system_clock;
using Pairs = OAuthServer::Pairs;

// ---- Independent encodings ----

std::string rfc3986_escape(std::string_view in) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[(c >> 4) & 0xF];
      out += hex[c & 0xF];
    }
  }
  return out;
}

std::optional<std::string> unescape(std::string_view in, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
        return std::nullopt;
      }
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (in[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += in[i];
    }
  }
  return out;
}

std::optional<Pairs> split_pairs(std::string_view text) {
  Pairs out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(start, end - start);
    if (!item.empty()) {
      const std::size_t eq = item.find('=');
      auto k = unescape(item.substr(0, eq), true);
      auto v = eq == std::string_view::npos ? std::optional<std::string>("") : unescape(item.substr(eq + 1), true);
      if (!k || !v) return std::nullopt;
      out.emplace_back(*k, *v);
    }
    start = end + 1;
  }
  return out;
}

std::string join_pairs(const Pairs& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) {
    out += (out.empty() ? "" : "&") + rfc3986_escape(k) + "=" + rfc3986_escape(v);
  }
  return out;
}

std::string lookup(const Pairs& pairs, std::string_view name) {
  for (const auto& [k, v] : pairs) {
    if (k == name) return v;
  }
  return {};
}

bool has(const Pairs& pairs, std::string_view name) {
  return std::any_of(pairs.begin(), pairs.end(), [&](const auto& p) { return p.first == name; });
}

std::string base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int len = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (len < 0) return std::nullopt;
  std::size_t padding = 0;
  for (std::size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) ++padding;
  out.resize(static_cast<std::size_t>(len) - padding);
  return out;
}

std::string s256(std::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  std::string text = base64(digest, sizeof digest);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return text;
}

std::string hmac_sha1_b64(std::string_view key, std::string_view text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac, &n);
  return base64(mac, n);
}

bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_id(std::string_view prefix) {
  unsigned char bytes[12];
  RAND_bytes(bytes, sizeof bytes);
  static const char* hex = "0123456789abcdef";
  std::string out(prefix);
  for (const unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 0xF];
  }
  return out;
}

std::string random_pin() {
  unsigned char bytes[4];
  RAND_bytes(bytes, sizeof bytes);
  const unsigned value =
      (static_cast<unsigned>(bytes[0]) << 16 | static_cast<unsigned>(bytes[1]) << 8 | bytes[2]) % 10'000'000u;
  std::string pin = std::to_string(value);
  return std::string(7 - pin.size(), '0') + pin;  // X shows 7 digits
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string query_of(const httplib::Request& req) {
  const auto q = req.target.find('?');
  return q == std::string::npos ? std::string() : req.target.substr(q + 1);
}

std::string path_of(const httplib::Request& req) { return req.target.substr(0, req.target.find('?')); }

bool is_form(const httplib::Request& req) {
  const std::string type = lower(req.get_header_value("Content-Type"));
  return type.substr(0, type.find(';')) == "application/x-www-form-urlencoded";
}

bool loopback_redirect(std::string_view uri) {
  constexpr std::string_view prefix = "http://127.0.0.1:";
  if (!uri.starts_with(prefix)) return false;
  std::string_view rest = uri.substr(prefix.size());
  const auto slash = rest.find('/');
  const std::string_view port = rest.substr(0, slash);
  return !port.empty() && std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) &&
         rest.find('#') == std::string_view::npos;
}

std::string with_query(const std::string& uri, const Pairs& params) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + join_pairs(params);
}

// ---- OAuth 1.0a header parsing (RFC 5849 §3.5.1) ----

std::optional<Pairs> parse_oauth_header(std::string_view value) {
  if (value.size() < 6 || lower(value.substr(0, 6)) != "oauth ") return std::nullopt;
  value.remove_prefix(6);
  Pairs out;
  while (true) {
    while (!value.empty() && (value.front() == ' ' || value.front() == ',' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    if (value.empty()) break;
    const auto eq = value.find('=');
    if (eq == std::string_view::npos || eq + 1 >= value.size() || value[eq + 1] != '"') return std::nullopt;
    const std::string_view name = value.substr(0, eq);
    const auto close = value.find('"', eq + 2);
    if (close == std::string_view::npos) return std::nullopt;
    auto decoded = unescape(value.substr(eq + 2, close - eq - 2), false);
    if (!decoded) return std::nullopt;
    out.emplace_back(std::string(name), *decoded);
    value.remove_prefix(close + 1);
  }
  return out;
}

void json_reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(), "application/json");
}

void oauth2_error(httplib::Response& res, int status, const std::string& error, const std::string& description) {
  json_reply(res, status, {{"error", error}, {"error_description", description}});
}

}  // namespace

std::optional<std::string> oauth1_base_string(std::string_view method, std::string_view uri, std::string_view query,
                                              const OAuthServer::Pairs& protocol, std::string_view form_body) {
  // RFC 5849 §3.4.1: collect query, header (minus oauth_signature and realm)
  // and form body parameters, encode, sort by name then value, join.
  auto all = split_pairs(query);
  auto body = split_pairs(form_body);
  if (!all || !body) return std::nullopt;
  for (const auto& p : protocol) {
    if (p.first != "oauth_signature" && p.first != "realm") all->push_back(p);
  }
  all->insert(all->end(), body->begin(), body->end());
  Pairs encoded;
  for (const auto& [k, v] : *all) encoded.emplace_back(rfc3986_escape(k), rfc3986_escape(v));
  std::sort(encoded.begin(), encoded.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first < b.first : a.second < b.second; });
  std::string normalized;
  for (const auto& [k, v] : encoded) normalized += (normalized.empty() ? "" : "&") + k + "=" + v;
  std::string verb(method);
  for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return verb + "&" + rfc3986_escape(uri) + "&" + rfc3986_escape(normalized);
}

std::string oauth1_signature(std::string_view base_string, std::string_view consumer_secret,
                             std::string_view token_secret) {
  return hmac_sha1_b64(rfc3986_escape(consumer_secret) + "&" + rfc3986_escape(token_secret), base_string);
}

struct OAuthServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mutex;

  // OAuth 2.0 state.
  struct Code {
    std::string client_id, redirect_uri, challenge, scope;
    Clock::time_point expires;
    bool used = false;
    std::vector<std::string> issued;  // tokens from this code, revoked if it is replayed
  };
  struct Refresh {
    std::string client_id, scope, family;
    bool valid = true;
  };
  struct Access {
    std::string client_id, scope, family;
    Clock::time_point expires;
    bool valid = true;
  };
  std::map<std::string, Client> clients;
  AuthorizeMode mode = AuthorizeMode::consent_page;
  std::vector<AuthorizeRequest> authorizations;
  std::map<std::string, Code> codes;
  std::map<std::string, Refresh> refresh_tokens;
  std::map<std::string, Access> access_tokens;
  std::chrono::seconds expires_in{7200};
  std::chrono::seconds code_lifetime{600};
  bool issue_refresh = true;
  bool rotate = true;
  std::vector<Reply> scripted;
  std::vector<TokenRequest> token_log;

  // OAuth 1.0a state.
  struct Temporary {
    std::string consumer_key, secret, callback, verifier;
    bool authorized = false;
  };
  struct Linked {
    std::string consumer_key, secret, user_id, screen_name;
  };
  std::map<std::string, std::string> consumers;  // key -> secret
  std::map<std::string, Temporary> temporaries;
  std::map<std::string, Linked> linked;
  std::set<std::tuple<std::string, std::string, std::string>> nonces;  // consumer, timestamp, nonce
  std::vector<Oauth1Check> checks;

  // ---------------- OAuth 2.0 ----------------

  bool redirect_allowed(const Client& client, const std::string& uri) const {
    if (client.redirect_uris.empty()) return loopback_redirect(uri);
    return std::find(client.redirect_uris.begin(), client.redirect_uris.end(), uri) != client.redirect_uris.end();
  }

  std::string new_code(const std::string& client_id, const std::string& redirect_uri, const std::string& challenge,
                       const std::string& scope) {
    std::string code = random_id("code-");
    codes[code] = Code{client_id, redirect_uri, challenge, scope, Clock::now() + code_lifetime, false, {}};
    return code;
  }

  void authorize(const httplib::Request& req, httplib::Response& res) {
    auto params = split_pairs(query_of(req));
    if (!params) {
      res.status = 400;
      res.set_content("malformed query", "text/plain");
      return;
    }
    AuthorizeRequest rec;
    rec.params = *params;
    rec.client_id = lookup(*params, "client_id");
    rec.redirect_uri = lookup(*params, "redirect_uri");
    rec.state = lookup(*params, "state");
    rec.scope = lookup(*params, "scope");
    rec.code_challenge = lookup(*params, "code_challenge");
    rec.code_challenge_method = lookup(*params, "code_challenge_method");

    std::lock_guard lock(mutex);
    // RFC 6749 §4.1.2.1: with an unknown client or a bad redirect URI the
    // server must not redirect; it tells the user instead.
    const auto client = clients.find(rec.client_id);
    if (client == clients.end()) {
      res.status = 400;
      res.set_content("unknown client_id", "text/plain");
      return;
    }
    if (!redirect_allowed(client->second, rec.redirect_uri)) {
      res.status = 400;
      res.set_content("redirect_uri is not registered for this client", "text/plain");
      return;
    }
    const auto fail = [&](const std::string& error, const std::string& description) {
      Pairs back{{"error", error}, {"error_description", description}};
      if (!rec.state.empty()) back.emplace_back("state", rec.state);
      res.set_redirect(with_query(rec.redirect_uri, back));
    };
    if (lookup(*params, "response_type") != "code") {
      fail("unsupported_response_type", "only response_type=code is supported");
      return;
    }
    if (client->second.require_pkce && rec.code_challenge.empty()) {
      fail("invalid_request", "code_challenge required");
      return;
    }
    if (!rec.code_challenge.empty() && rec.code_challenge_method != "S256") {
      fail("invalid_request", "code_challenge_method must be S256");
      return;
    }
    authorizations.push_back(rec);
    switch (mode) {
      case AuthorizeMode::consent_page:
        res.set_content("<html><body><h1>Authorize " + rec.client_id + "?</h1></body></html>", "text/html");
        return;
      case AuthorizeMode::approve:
        res.set_redirect(approved_url(rec));
        return;
      case AuthorizeMode::deny:
        res.set_redirect(denied_url(rec));
        return;
    }
  }

  std::string approved_url(const AuthorizeRequest& rec) {
    Pairs back{{"code", new_code(rec.client_id, rec.redirect_uri, rec.code_challenge, rec.scope)}};
    if (!rec.state.empty()) back.emplace_back("state", rec.state);
    return with_query(rec.redirect_uri, back);
  }

  std::string denied_url(const AuthorizeRequest& rec) {
    Pairs back{{"error", "access_denied"}, {"error_description", "The user denied the request"}};
    if (!rec.state.empty()) back.emplace_back("state", rec.state);
    return with_query(rec.redirect_uri, back);
  }

  // Returns the authenticated client, or answers the error and returns nullptr.
  const Client* authenticate(const httplib::Request& req, const Pairs& form, httplib::Response& res,
                             TokenRequest& log) {
    const auto reject = [&](int status, const std::string& error, const std::string& reason) -> const Client* {
      log.error = error;
      log.reason = reason;
      if (status == 401) res.set_header("WWW-Authenticate", "Basic realm=\"fake\"");
      oauth2_error(res, status, error, reason);
      return nullptr;
    };
    std::string basic_id;
    std::string basic_secret;
    bool basic = false;
    if (const std::string auth = req.get_header_value("Authorization"); !auth.empty()) {
      if (lower(auth.substr(0, 6)) != "basic ")
        return reject(401, "invalid_client", "unsupported Authorization scheme");
      const auto decoded = base64_decode(auth.substr(6));
      const auto colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos) return reject(401, "invalid_client", "malformed Basic credentials");
      // RFC 6749 §2.3.1: both halves are form-urlencoded inside the Basic value.
      const auto id = unescape(decoded->substr(0, colon), true);
      const auto secret = unescape(decoded->substr(colon + 1), true);
      if (!id || !secret) return reject(401, "invalid_client", "malformed escapes in Basic credentials");
      basic_id = *id;
      basic_secret = *secret;
      basic = true;
    }
    const std::string body_id = lookup(form, "client_id");
    const bool body_secret = has(form, "client_secret");
    if (basic && body_secret) return reject(400, "invalid_request", "client credentials sent twice (Basic and body)");
    if (basic && !body_id.empty() && body_id != basic_id) {
      return reject(400, "invalid_request", "client_id in the body differs from the Basic user");
    }
    const std::string id = basic ? basic_id : body_id;
    if (id.empty()) return reject(401, "invalid_client", "no client_id");
    const auto it = clients.find(id);
    if (it == clients.end()) return reject(401, "invalid_client", "unknown client " + id);
    const Client& client = it->second;
    if (client.secret.empty()) {
      if (basic || body_secret) return reject(401, "invalid_client", "public client sent a secret");
      return &client;
    }
    if (!basic && !body_secret) {
      // X's wording for a confidential client that forgot its Basic header.
      return reject(401, "unauthorized_client", "Missing valid authorization header");
    }
    if (basic && client.auth == ClientAuthMethod::body) return reject(401, "invalid_client", "Basic not allowed");
    if (body_secret && client.auth == ClientAuthMethod::basic) {
      return reject(401, "unauthorized_client", "Missing valid authorization header");
    }
    if (!same(basic ? basic_secret : lookup(form, "client_secret"), client.secret)) {
      return reject(401, "invalid_client", "wrong client secret");
    }
    return &client;
  }

  void issue_tokens(httplib::Response& res, const std::string& client_id, const std::string& scope,
                    const std::string& family, bool with_refresh, std::vector<std::string>* issued) {
    const std::string access = random_id("at-");
    access_tokens[access] = Access{client_id, scope, family, Clock::now() + expires_in, true};
    nlohmann::json body{
        {"token_type", "bearer"}, {"access_token", access}, {"expires_in", expires_in.count()}, {"scope", scope}};
    if (issued) issued->push_back(access);
    if (with_refresh) {
      const std::string refresh = random_id("rt-");
      refresh_tokens[refresh] = Refresh{client_id, scope, family, true};
      body["refresh_token"] = refresh;
      if (issued) issued->push_back(refresh);
    }
    json_reply(res, 200, body);
  }

  void revoke_family(const std::string& family) {
    for (auto& [token, r] : refresh_tokens) {
      if (r.family == family) r.valid = false;
    }
    for (auto& [token, a] : access_tokens) {
      if (a.family == family) a.valid = false;
    }
  }

  void token(const httplib::Request& req, httplib::Response& res) {
    TokenRequest log;
    log.authorization = req.get_header_value("Authorization");
    std::lock_guard lock(mutex);
    const auto finish = [&] {
      log.status = res.status;
      token_log.push_back(log);
    };
    if (!scripted.empty()) {
      const Reply reply = scripted.front();
      scripted.erase(scripted.begin());
      res.status = reply.status;
      for (const auto& [k, v] : reply.headers) res.set_header(k, v);
      res.set_content(reply.body, nlohmann::json::accept(reply.body) ? "application/json" : "text/plain");
      log.reason = "scripted";
      finish();
      return;
    }
    const auto fail = [&](int status, const std::string& error, const std::string& reason) {
      log.error = error;
      log.reason = reason;
      oauth2_error(res, status, error, reason);
      finish();
    };
    if (!is_form(req)) return fail(400, "invalid_request", "body must be application/x-www-form-urlencoded");
    const auto form = split_pairs(req.body);
    if (!form) return fail(400, "invalid_request", "malformed form body");
    log.form = *form;
    log.grant_type = lookup(*form, "grant_type");

    const Client* client = authenticate(req, *form, res, log);
    if (client == nullptr) return finish();

    if (log.grant_type == "authorization_code") {
      const auto it = codes.find(lookup(*form, "code"));
      if (it == codes.end()) return fail(400, "invalid_grant", "unknown authorization code");
      Code& code = it->second;
      if (code.used) {
        // RFC 6749 §4.1.2: a replayed code revokes what it produced.
        for (const auto& t : code.issued) {
          if (auto a = access_tokens.find(t); a != access_tokens.end()) a->second.valid = false;
          if (auto r = refresh_tokens.find(t); r != refresh_tokens.end()) r->second.valid = false;
        }
        return fail(400, "invalid_grant", "authorization code already used");
      }
      code.used = true;  // single use, even when this exchange fails below
      if (Clock::now() > code.expires) return fail(400, "invalid_grant", "authorization code expired");
      if (code.client_id != client->id) return fail(400, "invalid_grant", "code was issued to another client");
      if (lookup(*form, "redirect_uri") != code.redirect_uri) {
        return fail(400, "invalid_grant", "redirect_uri does not match the authorization request");
      }
      if (!code.challenge.empty()) {
        const std::string verifier = lookup(*form, "code_verifier");
        const bool well_formed = verifier.size() >= 43 && verifier.size() <= 128 &&
                                 std::all_of(verifier.begin(), verifier.end(), [](unsigned char c) {
                                   return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
                                 });
        if (!well_formed) return fail(400, "invalid_grant", "code_verifier missing or malformed");
        if (!same(s256(verifier), code.challenge)) return fail(400, "invalid_grant", "PKCE verification failed");
      } else if (has(*form, "code_verifier")) {
        return fail(400, "invalid_grant", "code_verifier sent for a request without code_challenge");
      }
      issue_tokens(res, client->id, code.scope, random_id("fam-"), issue_refresh, &code.issued);
      return finish();
    }
    if (log.grant_type == "refresh_token") {
      const auto it = refresh_tokens.find(lookup(*form, "refresh_token"));
      if (it == refresh_tokens.end()) return fail(400, "invalid_grant", "unknown refresh token");
      Refresh& refresh = it->second;
      if (refresh.client_id != client->id) return fail(400, "invalid_grant", "refresh token of another client");
      if (!refresh.valid) {
        // Reuse of a rotated token: assume it leaked and end the whole chain.
        revoke_family(refresh.family);
        return fail(400, "invalid_grant", "refresh token was already used or revoked");
      }
      if (rotate) {
        refresh.valid = false;
        issue_tokens(res, client->id, refresh.scope, refresh.family, true, nullptr);
      } else {
        issue_tokens(res, client->id, refresh.scope, refresh.family, false, nullptr);
      }
      return finish();
    }
    if (log.grant_type.empty()) return fail(400, "invalid_request", "grant_type missing");
    fail(400, "unsupported_grant_type", "grant_type " + log.grant_type + " is not supported");
  }

  void userinfo(const httplib::Request& req, httplib::Response& res) {
    const std::string auth = req.get_header_value("Authorization");
    std::lock_guard lock(mutex);
    if (lower(auth.substr(0, 7)) == "bearer ") {
      const auto it = access_tokens.find(auth.substr(7));
      if (it != access_tokens.end() && it->second.valid && Clock::now() < it->second.expires) {
        json_reply(res, 200, {{"data", {{"id", "2244994945"}, {"username", "fakeuser"}, {"scope", it->second.scope}}}});
        return;
      }
    }
    res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    json_reply(res, 401,
               {{"title", "Unauthorized"}, {"type", "about:blank"}, {"status", 401}, {"detail", "Unauthorized"}});
  }

  // ---------------- OAuth 1.0a ----------------

  struct Verified {
    std::string consumer_key;
    std::string token;
    Pairs protocol;
  };

  // Checks the request's HMAC-SHA1 signature. `token_secret(token)` returns
  // the secret for the request's oauth_token, nullopt when unknown; when it is
  // empty the request must not carry a token (request_token).
  std::optional<Verified> verify(const httplib::Request& req,
                                 const std::function<std::optional<std::string>(const std::string&)>& token_secret) {
    Oauth1Check check;
    check.path = path_of(req);
    const auto reject = [&](std::string reason) -> std::optional<Verified> {
      check.reason = std::move(reason);
      checks.push_back(check);
      return std::nullopt;
    };
    const auto header = parse_oauth_header(req.get_header_value("Authorization"));
    if (!header) return reject("no parsable OAuth Authorization header");
    Pairs protocol;
    for (const auto& p : *header) {
      if (p.first != "realm") protocol.push_back(p);
    }
    const std::string consumer_key = lookup(protocol, "oauth_consumer_key");
    const std::string signature = lookup(protocol, "oauth_signature");
    const std::string timestamp = lookup(protocol, "oauth_timestamp");
    const std::string nonce = lookup(protocol, "oauth_nonce");
    const std::string token = lookup(protocol, "oauth_token");
    if (lookup(protocol, "oauth_signature_method") != "HMAC-SHA1") return reject("signature method is not HMAC-SHA1");
    if (has(protocol, "oauth_version") && lookup(protocol, "oauth_version") != "1.0")
      return reject("bad oauth_version");
    if (signature.empty() || timestamp.empty() || nonce.empty()) return reject("missing signature, timestamp or nonce");
    const auto consumer = consumers.find(consumer_key);
    if (consumer == consumers.end()) return reject("unknown consumer key");

    long long ts = 0;
    const auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
    if (ec != std::errc{} || end != timestamp.data() + timestamp.size()) return reject("timestamp is not a number");
    const long long now = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
    if (ts < now - 300 || ts > now + 300) return reject("timestamp outside the 300 s window");

    std::string secret_of_token;
    if (token_secret) {
      const auto secret = token.empty() ? std::nullopt : token_secret(token);
      if (!secret) return reject("unknown or missing oauth_token");
      secret_of_token = *secret;
    } else if (!token.empty()) {
      return reject("oauth_token not expected here");
    }

    std::string host = lower(req.get_header_value("Host"));
    if (host.ends_with(":80")) host.resize(host.size() - 3);
    const auto base = oauth1_base_string(req.method, "http://" + host + path_of(req), query_of(req), protocol,
                                         is_form(req) ? std::string_view(req.body) : std::string_view{});
    if (!base) return reject("malformed query or form body");
    check.base_string = *base;
    if (!same(oauth1_signature(*base, consumer->second, secret_of_token), signature)) {
      return reject("signature mismatch");
    }

    if (!nonces.emplace(consumer_key, timestamp, nonce).second) return reject("nonce replayed");
    check.ok = true;
    checks.push_back(check);
    return Verified{consumer_key, token, protocol};
  }

  // The token-secret lookup verify() takes, over one of the token maps.
  template <class Map>
  static std::function<std::optional<std::string>(const std::string&)> secret_in(const Map& tokens) {
    return [&tokens](const std::string& token) -> std::optional<std::string> {
      const auto it = tokens.find(token);
      return it == tokens.end() ? std::nullopt : std::optional<std::string>(it->second.secret);
    };
  }

  static void x_unauthorized(httplib::Response& res) {
    json_reply(res, 401, {{"errors", {{{"code", 32}, {"message", "Could not authenticate you."}}}}});
  }

  void request_token(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    const auto ok = verify(req, nullptr);
    if (!ok) return x_unauthorized(res);
    std::string callback = lookup(ok->protocol, "oauth_callback");
    if (callback.empty()) {
      res.status = 400;
      res.set_content("oauth_callback is required", "text/plain");
      return;
    }
    const std::string token = random_id("rt1-");
    const std::string secret = random_id("rs1-");
    temporaries[token] = Temporary{ok->consumer_key, secret, callback, random_pin(), false};
    res.set_content(
        join_pairs({{"oauth_token", token}, {"oauth_token_secret", secret}, {"oauth_callback_confirmed", "true"}}),
        "application/x-www-form-urlencoded");
  }

  void oauth1_authorize(const httplib::Request& req, httplib::Response& res) {
    const auto query = split_pairs(query_of(req));
    std::lock_guard lock(mutex);
    const auto it = query ? temporaries.find(lookup(*query, "oauth_token")) : temporaries.end();
    if (it == temporaries.end()) {
      res.status = 400;
      res.set_content("unknown oauth_token", "text/plain");
      return;
    }
    it->second.authorized = true;
    if (it->second.callback == "oob") {
      res.set_content(
          "<html><body><p>Enter this PIN: <code id=\"pin\">" + it->second.verifier + "</code></p></body></html>",
          "text/html");
    } else {
      res.set_redirect(
          with_query(it->second.callback, {{"oauth_token", it->first}, {"oauth_verifier", it->second.verifier}}));
    }
  }

  void access_token(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    const auto ok = verify(req, secret_in(temporaries));
    if (!ok) return x_unauthorized(res);
    auto it = temporaries.find(ok->token);
    // oauth_verifier may travel in the header, the query or the body.
    std::string verifier = lookup(ok->protocol, "oauth_verifier");
    if (verifier.empty()) {
      if (const auto q = split_pairs(query_of(req))) verifier = lookup(*q, "oauth_verifier");
    }
    if (verifier.empty() && is_form(req)) {
      if (const auto b = split_pairs(req.body)) verifier = lookup(*b, "oauth_verifier");
    }
    if (it->second.consumer_key != ok->consumer_key || !it->second.authorized || !same(verifier, it->second.verifier)) {
      res.status = 401;
      res.set_content("Invalid oauth_verifier parameter", "text/plain");
      return;
    }
    temporaries.erase(it);  // single use
    const std::string token = random_id("783214-");
    const std::string secret = random_id("ts-");
    linked[token] = Linked{ok->consumer_key, secret, "783214", "fakeuser"};
    res.set_content(join_pairs({{"oauth_token", token},
                                {"oauth_token_secret", secret},
                                {"user_id", "783214"},
                                {"screen_name", "fakeuser"}}),
                    "application/x-www-form-urlencoded");
  }

  void resource(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    const auto ok = verify(req, secret_in(linked));
    if (!ok) return x_unauthorized(res);
    const Linked& who = linked[ok->token];
    if (who.consumer_key != ok->consumer_key) return x_unauthorized(res);
    json_reply(res, 200, {{"id_str", who.user_id}, {"screen_name", who.screen_name}, {"path", path_of(req)}});
  }
};

OAuthServer::OAuthServer() : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.server.Get("/authorize", [&impl](const httplib::Request& q, httplib::Response& r) { impl.authorize(q, r); });
  impl.server.Post("/token", [&impl](const httplib::Request& q, httplib::Response& r) { impl.token(q, r); });
  impl.server.Get("/userinfo", [&impl](const httplib::Request& q, httplib::Response& r) { impl.userinfo(q, r); });
  impl.server.Post("/oauth/request_token",
                   [&impl](const httplib::Request& q, httplib::Response& r) { impl.request_token(q, r); });
  impl.server.Get("/oauth/authorize",
                  [&impl](const httplib::Request& q, httplib::Response& r) { impl.oauth1_authorize(q, r); });
  impl.server.Post("/oauth/access_token",
                   [&impl](const httplib::Request& q, httplib::Response& r) { impl.access_token(q, r); });
  const auto resource = [&impl](const httplib::Request& q, httplib::Response& r) { impl.resource(q, r); };
  impl.server.Get(R"(/(1\.1|2)/.*)", resource);
  impl.server.Post(R"(/(1\.1|2)/.*)", resource);

  impl.server.set_keep_alive_timeout(1);
  impl.server.set_tcp_nodelay(true);
  impl.port = impl.server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) {
    throw std::runtime_error("oauth fake: cannot bind 127.0.0.1");
  }
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  while (!impl.server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

OAuthServer::~OAuthServer() { stop(); }

void OAuthServer::stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

std::string OAuthServer::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }
int OAuthServer::port() const { return impl_->port; }
std::string OAuthServer::authorize_url() const { return base_url() + "/authorize"; }
std::string OAuthServer::token_url() const { return base_url() + "/token"; }
std::string OAuthServer::userinfo_url() const { return base_url() + "/userinfo"; }
std::string OAuthServer::protected_url(std::string_view path) const { return base_url() + std::string(path); }

void OAuthServer::add_client(Client client) {
  std::lock_guard lock(impl_->mutex);
  impl_->clients[client.id] = std::move(client);
}

void OAuthServer::set_authorize_mode(AuthorizeMode mode) {
  std::lock_guard lock(impl_->mutex);
  impl_->mode = mode;
}

std::vector<OAuthServer::AuthorizeRequest> OAuthServer::authorize_requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->authorizations;
}

std::string OAuthServer::approve() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->authorizations.empty()) throw std::logic_error("oauth fake: approve() before any /authorize request");
  return impl_->approved_url(impl_->authorizations.back());
}

std::string OAuthServer::deny() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->authorizations.empty()) throw std::logic_error("oauth fake: deny() before any /authorize request");
  return impl_->denied_url(impl_->authorizations.back());
}

std::string OAuthServer::issue_code(const std::string& client_id, const std::string& redirect_uri,
                                    const std::string& code_challenge, const std::string& scope) {
  std::lock_guard lock(impl_->mutex);
  return impl_->new_code(client_id, redirect_uri, code_challenge, scope);
}

void OAuthServer::set_expires_in(std::chrono::seconds lifetime) {
  std::lock_guard lock(impl_->mutex);
  impl_->expires_in = lifetime;
}

void OAuthServer::set_code_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(impl_->mutex);
  impl_->code_lifetime = lifetime;
}

void OAuthServer::set_issue_refresh_tokens(bool issue) {
  std::lock_guard lock(impl_->mutex);
  impl_->issue_refresh = issue;
}

void OAuthServer::set_rotate_refresh_tokens(bool rotate) {
  std::lock_guard lock(impl_->mutex);
  impl_->rotate = rotate;
}

void OAuthServer::script_token_replies(std::vector<Reply> replies) {
  std::lock_guard lock(impl_->mutex);
  impl_->scripted = std::move(replies);
}

std::vector<OAuthServer::TokenRequest> OAuthServer::token_requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->token_log;
}

bool OAuthServer::access_token_valid(std::string_view token) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->access_tokens.find(std::string(token));
  return it != impl_->access_tokens.end() && it->second.valid && Clock::now() < it->second.expires;
}

bool OAuthServer::refresh_token_valid(std::string_view token) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->refresh_tokens.find(std::string(token));
  return it != impl_->refresh_tokens.end() && it->second.valid;
}

void OAuthServer::expire_access_tokens() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [token, access] : impl_->access_tokens) {
    access.expires = Clock::now() - std::chrono::seconds{1};
  }
}

void OAuthServer::add_consumer(std::string key, std::string secret) {
  std::lock_guard lock(impl_->mutex);
  impl_->consumers[std::move(key)] = std::move(secret);
}

void OAuthServer::add_oauth1_token(std::string consumer_key, std::string token, std::string secret, std::string user_id,
                                   std::string screen_name) {
  std::lock_guard lock(impl_->mutex);
  impl_->linked[std::move(token)] =
      Impl::Linked{std::move(consumer_key), std::move(secret), std::move(user_id), std::move(screen_name)};
}

std::optional<std::string> OAuthServer::oauth1_pin(std::string_view temporary_token) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->temporaries.find(std::string(temporary_token));
  if (it == impl_->temporaries.end() || !it->second.authorized) return std::nullopt;
  return it->second.verifier;
}

std::vector<OAuthServer::Oauth1Check> OAuthServer::oauth1_checks() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->checks;
}

}  // namespace multivio::fakes
