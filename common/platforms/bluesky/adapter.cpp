// SPDX-License-Identifier: MIT
#include "common/platforms/bluesky/adapter.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/form.hpp"
#include "common/platforms/bluesky/wire.hpp"
#include "common/platforms/settings.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"
#include "common/text/thread.hpp"

namespace multivio::platforms::bluesky {

namespace {

namespace fs = std::filesystem;

// The account as publish needs it, read from the options configure_account
// normalised.
struct AccountView {
  std::string handle;
  std::string pds;
  std::vector<std::string> langs;
};

AccountView view_of(const model::Account& account) {
  AccountView v;
  const auto& o = account.options;
  if (o.is_object()) {
    if (auto it = o.find("handle"); it != o.end() && it->is_string()) v.handle = it->get<std::string>();
    if (auto it = o.find("pds"); it != o.end() && it->is_string()) v.pds = it->get<std::string>();
    if (auto it = o.find("langs"); it != o.end() && it->is_array()) {
      for (const auto& l : *it) {
        if (l.is_string()) v.langs.push_back(l.get<std::string>());
      }
    }
  }
  if (v.handle.empty()) {
    throw Error(ErrorKind::permanent, account.ref() + ": account has no 'handle' option; add it again with --handle");
  }
  if (v.pds.empty()) v.pds = std::string(k_default_pds);
  return v;
}

bool is_http_url(std::string_view url) {
  auto lower_starts = [&](std::string_view prefix) {
    return url.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), url.begin(), [](char p, char c) {
             return p == std::tolower(static_cast<unsigned char>(c));
           });
  };
  const std::size_t host = lower_starts("https://") ? 8 : lower_starts("http://") ? 7 : 0;
  return host != 0 && url[host] != '/' && url[host] != '?' && url[host] != '#' &&
         url.find_first_of(" \t\r\n?#") == std::string_view::npos;
}

// BCP 47 in the shape the lexicon's "language" format accepts in practice:
// a 2-3 letter primary subtag, then alphanumeric subtags of 1-8.
bool is_language_tag(std::string_view tag) {
  auto letters = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
  };
  auto alnums = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
  };
  const auto dash = tag.find('-');
  const std::string_view primary = tag.substr(0, dash);
  if (primary.size() < 2 || primary.size() > 3 || !letters(primary)) return false;
  std::string_view rest = dash == std::string_view::npos ? std::string_view{} : tag.substr(dash + 1);
  if (dash != std::string_view::npos && rest.empty()) return false;
  while (!rest.empty()) {
    const auto next = rest.find('-');
    const std::string_view sub = rest.substr(0, next);
    if (sub.empty() || sub.size() > 8 || !alnums(sub)) return false;
    if (next == std::string_view::npos) break;
    rest = rest.substr(next + 1);
    if (rest.empty()) return false;
  }
  return true;
}

std::string read_bytes(const std::string& path, const std::string& context) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::validation, context + ": cannot read media file '" + path + "'");
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string read_head(const std::string& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string head(n, '\0');
  in.read(head.data(), static_cast<std::streamsize>(n));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
  return head;
}

std::string join(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : "; ") + p;
  return out;
}


class BlueskyAdapter final : public Adapter {
 public:
  explicit BlueskyAdapter(const Context& context) : ctx_(context) {}

  std::string_view name() const override { return "bluesky"; }

  Capabilities capabilities(const model::Account*) const override {
    Capabilities c;
    c.max_length = 300;
    c.length_unit = "graphemes";  // and at most 3000 UTF-8 bytes
    c.media = true;
    c.threads = true;
    // Not a key the network reads, but the record key derived from it: a
    // retry after an unknown outcome cannot create a second post.
    c.idempotency_key = true;
    c.find_recent = true;
    c.needs_credentials = true;
    return c;
  }

  void configure_account(nlohmann::json& options) const override {
    check_option_keys("bluesky", options, {"handle", "pds", "langs"});

    if (!options.contains("handle") || !options["handle"].is_string() || options["handle"].get<std::string>().empty()) {
      throw_usage("bluesky: option 'handle' is required (--handle me.bsky.social)");
    }
    std::string handle = options["handle"].get<std::string>();
    if (handle.starts_with('@')) handle.erase(0, 1);
    if (handle.starts_with("did:")) {
      const bool ok = handle.size() > 8 && std::all_of(handle.begin(), handle.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == '-' ||
                               c == '_' || c == '%';
                      });
      if (!ok) throw_usage("bluesky: handle '" + handle + "' is not a valid DID");
    } else {
      std::transform(handle.begin(), handle.end(), handle.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!is_handle(handle)) {
        throw_usage("bluesky: handle '" + handle + "' is not a valid handle (e.g. me.bsky.social)");
      }
    }
    options["handle"] = handle;

    if (!options.contains("pds")) options["pds"] = std::string(k_default_pds);
    if (!options["pds"].is_string() || !is_http_url(options["pds"].get<std::string>())) {
      throw_usage("bluesky: pds '" +
                  (options["pds"].is_string() ? options["pds"].get<std::string>() : options["pds"].dump()) +
                  "' must be an http:// or https:// URL with a host (e.g. https://bsky.social)");
    }
    std::string pds = options["pds"].get<std::string>();
    while (pds.ends_with('/')) pds.pop_back();
    options["pds"] = pds;

    if (options.contains("langs")) {
      std::vector<std::string> langs;
      const auto& l = options["langs"];
      if (l.is_string()) {  // "en,de" from a flag or config string
        std::string_view rest = l.get_ref<const std::string&>();
        while (!rest.empty()) {
          const auto comma = rest.find(',');
          const auto item = multivio::text::trim(rest.substr(0, comma));
          if (!item.empty()) langs.emplace_back(item);
          rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
      } else if (l.is_array()) {
        for (const auto& v : l) {
          if (!v.is_string()) throw_usage("bluesky: option 'langs' must be a list of language tags");
          langs.push_back(v.get<std::string>());
        }
      } else {
        throw_usage("bluesky: option 'langs' must be a list of language tags (e.g. [en, de])");
      }
      for (const auto& tag : langs) {
        if (!is_language_tag(tag)) {
          throw_usage("bluesky: '" + tag + "' in 'langs' is not a language tag (e.g. en, pt-BR)");
        }
      }
      if (langs.size() > k_max_langs) {
        throw_usage("bluesky: 'langs' has " + std::to_string(langs.size()) + " entries; a post may name at most 3");
      }
      if (langs.empty()) {
        options.erase("langs");
      } else {
        options["langs"] = langs;
      }
    }
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>& media,
                            const model::Account* account, const nlohmann::json& options) const override {
    const auto m = multivio::text::measure("bluesky", text);
    ValidationReport r;
    r.length = m.length;
    r.limit = m.limit;
    r.problems = m.problems;
    if (!m.ok() && option_string(options, account, "thread", "never") == "auto" && splittable(text)) {
      try {
        r.parts = static_cast<int>(split_text(text).size());
        r.problems.clear();  // every part fits; other checks follow
      } catch (const Error& e) {
        r.problems = {e.what()};
      }
    }
    if (media.size() > k_max_images) {
      r.problems.push_back("the post has " + std::to_string(media.size()) + " images; bluesky allows at most " +
                           std::to_string(k_max_images));
    }
    for (const auto& path : media) {
      std::error_code ec;
      const auto size = fs::file_size(path, ec);
      if (ec) {
        r.problems.push_back("cannot read media file '" + path + "': " + ec.message());
        continue;
      }
      if (size > k_max_image_bytes) {
        r.problems.push_back("image '" + path + "' is " + std::to_string(size) +
                             " bytes; bluesky allows at most 2,000,000 bytes per image");
      }
      if (sniff_image(read_head(path, 16)).empty()) {
        r.problems.push_back("'" + path + "' is not a PNG, JPEG, WebP or GIF image, the kinds bluesky accepts");
      }
    }
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    const std::string context = request.account.ref();
    const AccountView acct = view_of(request.account);
    const std::vector<std::string> parts = split(request, context);
    const SaveScope saving(save_, request.save_secrets);

    ensure_session(acct, request.secrets, context);
    const Json embed = upload_images(acct, request.secrets, request.post, context);
    const std::string key = base_key(request);
    const auto now = std::chrono::system_clock::now();

    std::optional<StrongRef> root, parent;
    std::vector<std::string> uris;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      // Part 0 uses the target's key itself, so a single post and the first
      // part of a thread land at the same record key.
      const std::string rkey = rkey_for(i == 0 ? key : key + ":" + std::to_string(i),
                                        request.post.created_at + std::chrono::milliseconds(i));
      PostRecord post;
      post.text = parts[i];
      post.created_at = format_datetime(now + std::chrono::milliseconds(i));
      post.langs = langs_for(request, acct);
      post.facets = facets(acct, parts[i], context);
      if (i == 0) post.embed = embed;
      post.root = root;
      post.parent = parent;
      try {
        const StrongRef ref = create_or_find(acct, request.secrets, rkey, make_record(post), context);
        if (!root) root = ref;
        parent = ref;
        uris.push_back(ref.uri);
        if (parts.size() > 1 && request.record_parts) request.record_parts(uris);
      } catch (const Error& e) {
        if (parts.size() == 1) throw;
        // The parts already published stay; their record keys let a retry
        // find them and continue the thread from here.
        throw e.with_suffix(" (thread part " + std::to_string(i + 1) + " of " + std::to_string(parts.size()) + "; " +
                                 std::to_string(i) + " published before it)");
      }
    }

    PublishResult result;
    result.remote_ids = uris;
    result.remote_url = post_url(session_->handle.empty() ? acct.handle : session_->handle, rkey_of(uris.front()));
    result.http_status = 200;
    return result;
  }

  // The createRecord call exactly as publish sends it for the first (or
  // only) post, tokens redacted. Not shown: the createSession call that
  // precedes it, the uploadBlob calls (the embed carries placeholders where
  // the uploaded blob refs go) and the resolveHandle calls (mention facets,
  // which need a resolved DID, are added at publish time).
  Preview preview(const PublishRequest& request) const override {
    const AccountView acct = view_of(request.account);
    std::vector<std::string> parts{request.text};
    try {
      parts = split(request, request.account.ref());
    } catch (const Error&) {
      // An unsplittable text is shown whole; validation reports it.
    }
    PostRecord post;
    post.text = parts.front();
    post.created_at = format_datetime(std::chrono::system_clock::now());
    post.langs = langs_for(request, acct);
    for (const auto& span : find_facets(post.text)) {
      if (span.kind != FacetKind::mention) post.facets.push_back(facet_json(span));
    }
    Json images = Json::array();
    for (std::size_t i = 0; i < request.post.media.size(); ++i) {
      const std::string& path = request.post.media[i];
      std::error_code ec;
      const auto size = fs::file_size(path, ec);
      const std::string bytes = ec || size > k_max_image_bytes ? read_head(path, 64) : read_head(path, size);
      Json blob = {{"$type", "blob"},
                   {"ref", {{"$link", "(uploaded at publish: " + fs::path(path).filename().string() + ")"}}},
                   {"mimeType", std::string(sniff_image(bytes))},
                   {"size", ec ? 0 : size}};
      images.push_back(image_entry(std::move(blob), bytes, alt_text(request.post, i)));
    }
    if (!images.empty()) post.embed = {{"$type", "app.bsky.embed.images"}, {"images", std::move(images)}};

    std::string repo = json_string(request.secrets, "did");
    if (repo.empty()) repo = acct.handle;  // an at-identifier; publish sends the session's DID
    const std::string key = base_key(request);
    Preview p;
    p.method = "POST";
    p.url = acct.pds + "/xrpc/com.atproto.repo.createRecord";
    p.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer ***"}};
    p.body = dump(create_record_body(repo, rkey_for(key, request.post.created_at), make_record(post)));
    return p;
  }

  // The session's refresh JWT renews it (the app password, when stored, too).
  bool can_refresh(const nlohmann::json& secrets) const override {
    return !json_string(secrets, "refresh_jwt").empty() || !json_string(secrets, "app_password").empty();
  }

  std::optional<nlohmann::json> refresh(const model::Account& account, const nlohmann::json& secrets) override {
    const std::string context = account.ref();
    const AccountView acct = view_of(account);
    session_.reset();
    if (const std::string refresh_jwt = json_string(secrets, "refresh_jwt"); !refresh_jwt.empty()) {
      session_ = Session{"", refresh_jwt, json_string(secrets, "did"), json_string(secrets, "handle")};
      renew(acct, secrets, context);
    } else {
      session_ = create_session(acct, secrets, context);
    }
    return session_secrets(secrets);
  }

  AccountCheck check_account(const model::Account& account, const nlohmann::json& secrets,
                             const SaveSecrets& save) override {
    const std::string context = account.ref();
    const AccountView acct = view_of(account);
    const SaveScope saving(save_, save);
    session_.reset();  // ask the PDS, not a cached session
    const auto resp = authed(acct, secrets, xrpc(acct, "GET", "com.atproto.server.getSession"), context);
    if (!resp.ok()) throw classify_xrpc(resp, context + ": getSession");
    const Json j = Json::parse(resp.body, nullptr, false);
    AccountCheck check;
    check.handle = j.is_object() ? j.value("handle", "") : "";
    if (const auto exp = jwt_expiry(session_->access_jwt)) check.expires_at = model::Timestamp(*exp);
    check.detail = "PDS " + acct.pds + ", " + (j.is_object() ? j.value("did", session_->did) : session_->did);
    return check;
  }

  std::vector<RemotePost> find_recent(const model::Account& account, const nlohmann::json& secrets,
                                      std::size_t limit) override {
    const std::string context = account.ref();
    const AccountView acct = view_of(account);
    // listRecords needs no session; the repo may be named by handle.
    std::string repo = json_string(secrets, "did");
    if (repo.empty()) repo = acct.handle;
    const std::size_t n = std::clamp<std::size_t>(limit, 1, 100);
    const auto req = xrpc(acct, "GET", "com.atproto.repo.listRecords",
                          "repo=" + oauth::percent_encode(repo) + "&collection=" + std::string(k_post_collection) +
                              "&limit=" + std::to_string(n));
    const auto resp = send(req, context);
    if (!resp.ok()) throw classify_xrpc(resp, context + ": listRecords");
    auto posts = parse_records(resp.body, acct.handle);
    if (posts.size() > limit) posts.resize(limit);
    return posts;
  }

 private:
  static std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

  // The stored secrets with the current session's tokens in place.
  nlohmann::json session_secrets(const nlohmann::json& secrets) const {
    nlohmann::json out = secrets.is_object() ? secrets : nlohmann::json::object();
    out["access_jwt"] = session_->access_jwt;
    out["refresh_jwt"] = session_->refresh_jwt;  // parse_session never yields an empty one
    out["did"] = session_->did;
    if (!session_->handle.empty()) out["handle"] = session_->handle;
    if (auto exp = jwt_expiry(session_->access_jwt)) {
      out["expires_at"] = exp->time_since_epoch().count();
    } else {
      out.erase("expires_at");
    }
    return out;
  }

  // A session the network just issued replaces the stored one at once: the
  // old refresh token is dead after refreshSession.
  void persist_session(const nlohmann::json& secrets) {
    if (save_ && session_) save_(session_secrets(secrets));
  }

  static std::string base_key(const PublishRequest& r) {
    return r.idempotency_key.empty() ? "post:" + std::to_string(r.post.id) + ":target:" + std::to_string(r.target.id)
                                     : r.idempotency_key;
  }

  // A post's --lang names its language; else the account's langs apply.
  static std::vector<std::string> langs_for(const PublishRequest& request, const AccountView& acct) {
    const nlohmann::json options = publish_options(request.post, request.target);
    if (auto it = options.find("language"); it != options.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      return {it->get<std::string>()};
    }
    return acct.langs;
  }

  // Only a text that is too long becomes a thread; an empty or malformed one
  // is reported as it is.
  static bool splittable(std::string_view text) {
    return multivio::text::valid_utf8(text) && !multivio::text::trim(text).empty();
  }

  static std::vector<std::string> split_text(std::string_view text) {
    return multivio::text::split_thread(text,
                                        [](std::string_view part) { return multivio::text::measure("bluesky", part).ok(); });
  }

  // The text as posts: one, or a thread when the target asks for one and the
  // text is too long. Throws Error(validation) listing every problem.
  std::vector<std::string> split(const PublishRequest& request, const std::string& context) const {
    std::vector<std::string> parts{request.text};
    if (splittable(request.text) && layered_string(request, "thread", "never") == "auto" &&
        !multivio::text::measure("bluesky", request.text).ok()) {
      try {
        parts = split_text(request.text);
      } catch (const Error& e) {
        throw e.with_prefix(context);
      }
    }
    std::vector<std::string> problems;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const auto r = validate(parts[i], i == 0 ? request.post.media : std::vector<std::string>{}, &request.account,
                                nlohmann::json::object());
      for (const auto& p : r.problems) {
        problems.push_back(parts.size() > 1 ? "part " + std::to_string(i + 1) + ": " + p : p);
      }
    }
    if (!problems.empty()) throw Error(ErrorKind::validation, context + ": " + join(problems));
    return parts;
  }

  http::Request xrpc(const AccountView& acct, const char* method, std::string_view nsid,
                     const std::string& query = {}) const {
    http::Request req;
    req.method = method;
    req.url = acct.pds + "/xrpc/" + std::string(nsid) + (query.empty() ? "" : "?" + query);
    req.connect_timeout = ctx_.config.daemon.connect_timeout;
    req.total_timeout = ctx_.config.daemon.http_timeout;
    req.headers = {{"Accept", "application/json"}};
    return req;
  }

  static http::Request with_json(http::Request req, const Json& body) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = dump(body);
    return req;
  }

  http::Response send(const http::Request& req, const std::string& context) const {
    try {
      return ctx_.http.send(req);
    } catch (const Error& e) {
      throw e.with_prefix(context);
    }
  }

  // ---- Sessions ----

  Session create_session(const AccountView& acct, const nlohmann::json& secrets, const std::string& context) {
    const std::string password = json_string(secrets, "app_password");
    if (password.empty()) {
      throw Error(ErrorKind::auth, context +
                                       ": no app password stored; add the account again with "
                                       "--app-password-env VAR");
    }
    const auto req = with_json(xrpc(acct, "POST", "com.atproto.server.createSession"),
                               Json{{"identifier", acct.handle}, {"password", password}});
    const auto resp = send(req, context);
    if (!resp.ok()) {
      Error e = classify_xrpc(resp, context + ": createSession");
      if (e.kind() == ErrorKind::auth) e = e.with_suffix(" (check the handle and the app password)");
      throw e;
    }
    return parse_session(resp.body);
  }

  // Uses the tokens refresh() stored when they are still good, else logs in.
  void ensure_session(const AccountView& acct, const nlohmann::json& secrets, const std::string& context) {
    if (session_) return;
    Session stored{json_string(secrets, "access_jwt"), json_string(secrets, "refresh_jwt"), json_string(secrets, "did"),
                   json_string(secrets, "handle")};
    if (!stored.access_jwt.empty() && !stored.did.empty()) {
      const auto exp = jwt_expiry(stored.access_jwt);
      if (!exp || *exp > std::chrono::system_clock::now() + std::chrono::minutes(1)) {
        session_ = stored;
        return;
      }
    }
    if (!stored.refresh_jwt.empty()) {
      session_ = stored;
      renew(acct, secrets, context);
      return;
    }
    session_ = create_session(acct, secrets, context);
    persist_session(secrets);
  }

  // refreshSession (it rotates both tokens); when the refresh token is no
  // longer accepted, a new session from the app password.
  void renew(const AccountView& acct, const nlohmann::json& secrets, const std::string& context) {
    if (session_ && !session_->refresh_jwt.empty()) {
      auto req = xrpc(acct, "POST", "com.atproto.server.refreshSession");
      req.headers.emplace_back("Authorization", "Bearer " + session_->refresh_jwt);
      const auto resp = send(req, context);
      if (resp.ok()) {
        Session s = parse_session(resp.body);
        if (s.handle.empty() && session_) s.handle = session_->handle;
        session_ = std::move(s);
        persist_session(secrets);
        return;
      }
      const Error e = classify_xrpc(resp, context + ": refreshSession");
      if (e.kind() != ErrorKind::auth) throw e;
    }
    session_ = create_session(acct, secrets, context);
    persist_session(secrets);
  }

  // Sends with the access token; when it is refused as expired (400
  // ExpiredToken, as the PDS says it) or with a 401 (what a PDS behind an
  // entryway or proxy may answer for a stale token), renews the session and
  // sends once more. A second refusal is the caller's auth error.
  http::Response authed(const AccountView& acct, const nlohmann::json& secrets, const http::Request& req,
                        const std::string& context) {
    ensure_session(acct, secrets, context);
    auto with_token = [&] {
      http::Request r = req;
      r.headers.emplace_back("Authorization", "Bearer " + session_->access_jwt);
      return r;
    };
    http::Response resp = send(with_token(), context);
    if (is_expired_token(resp) || resp.status == 401) {
      renew(acct, secrets, context);
      resp = send(with_token(), context);
    }
    return resp;
  }

  // ---- Content ----

  // The DID of a mentioned handle, or nullopt when it does not resolve (the
  // mention then stays plain text rather than failing the post).
  std::optional<std::string> resolve(const AccountView& acct, std::string handle, const std::string& context) {
    std::transform(handle.begin(), handle.end(), handle.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (auto it = dids_.find(handle); it != dids_.end()) return it->second;
    std::optional<std::string> did;
    try {
      const auto resp = send(
          xrpc(acct, "GET", "com.atproto.identity.resolveHandle", "handle=" + oauth::percent_encode(handle)), context);
      if (resp.ok()) {
        const auto j = nlohmann::json::parse(resp.body, nullptr, false);
        if (j.is_object() && j.contains("did") && j["did"].is_string() &&
            j["did"].get_ref<const std::string&>().starts_with("did:")) {
          did = j["did"].get<std::string>();
        }
      }
    } catch (const Error&) {
      // Unreachable resolver: no facet, as for an unknown handle.
    }
    dids_[handle] = did;
    return did;
  }

  Json facets(const AccountView& acct, std::string_view text, const std::string& context) {
    Json out = Json::array();
    for (const auto& span : find_facets(text)) {
      if (span.kind != FacetKind::mention) {
        out.push_back(facet_json(span));
      } else if (auto did = resolve(acct, span.value, context)) {
        out.push_back(facet_json(span, *did));
      }
    }
    return out;
  }

  static Json image_entry(Json blob, std::string_view bytes, const std::string& alt) {
    Json image = {{"image", std::move(blob)}, {"alt", alt}};
    if (auto dims = image_dimensions(bytes)) {
      image["aspectRatio"] = {{"width", dims->first}, {"height", dims->second}};
    }
    return image;
  }

  Json upload_images(const AccountView& acct, const nlohmann::json& secrets, const model::Post& post,
                     const std::string& context) {
    const auto& media = post.media;
    if (media.empty()) return nullptr;
    Json images = Json::array();
    for (std::size_t i = 0; i < media.size(); ++i) {
      const std::string& path = media[i];
      const std::string bytes = read_bytes(path, context);
      auto req = xrpc(acct, "POST", "com.atproto.repo.uploadBlob");
      req.headers.emplace_back("Content-Type", std::string(sniff_image(bytes)));
      req.body = bytes;
      const auto resp = authed(acct, secrets, req, context);
      if (!resp.ok()) {
        throw classify_xrpc(resp, context + ": uploadBlob " + fs::path(path).filename().string());
      }
      images.push_back(image_entry(parse_blob(resp.body), bytes, alt_text(post, i)));
    }
    return {{"$type", "app.bsky.embed.images"}, {"images", std::move(images)}};
  }

  struct Existing {
    StrongRef ref;
    std::string text;
  };

  // getRecord needs no auth. nullopt when the PDS has no record at the key.
  std::optional<Existing> get_record(const AccountView& acct, const std::string& rkey, const std::string& context) {
    const auto resp = send(xrpc(acct, "GET", "com.atproto.repo.getRecord",
                                "repo=" + oauth::percent_encode(session_->did) +
                                    "&collection=" + std::string(k_post_collection) + "&rkey=" + rkey),
                           context);
    if (resp.status == 404 || (resp.status == 400 && parse_error(resp.body).name == "RecordNotFound")) {
      return std::nullopt;
    }
    if (!resp.ok()) throw classify_xrpc(resp, context + ": getRecord " + rkey);
    Existing e{parse_strong_ref(resp.body), {}};
    const auto j = nlohmann::json::parse(resp.body, nullptr, false);
    if (j.contains("value") && j["value"].is_object() && j["value"].contains("text") &&
        j["value"]["text"].is_string()) {
      e.text = j["value"]["text"].get<std::string>();
    }
    return e;
  }

  // createRecord at our record key. The PDS refuses a record key that is
  // taken, and how it says so is not documented (the reference PDS's tree
  // throws, which surfaces as a 500; others answer 400 InvalidRequest), so
  // after any 400 or 5xx the key is looked up: a record with our text there
  // is an earlier attempt that landed, and is the result.
  StrongRef create_or_find(const AccountView& acct, const nlohmann::json& secrets, const std::string& rkey,
                           const Json& record, const std::string& context) {
    ensure_session(acct, secrets, context);
    const auto req =
        with_json(xrpc(acct, "POST", "com.atproto.repo.createRecord"), create_record_body(session_->did, rkey, record));
    const auto resp = authed(acct, secrets, req, context);
    if (resp.ok()) return parse_strong_ref(resp.body);

    const Error error = classify_xrpc(resp, context + ": createRecord");
    const bool maybe_taken = (resp.status == 400 && error.kind() != ErrorKind::auth) || resp.status >= 500;
    if (!maybe_taken) throw error;
    std::optional<Existing> existing;
    try {
      existing = get_record(acct, rkey, context);
    } catch (const Error&) {
      throw error;  // the createRecord failure is the one worth reporting
    }
    if (!existing) throw error;
    if (existing->text != record["text"].get<std::string>()) {
      throw Error(ErrorKind::permanent, context + ": record key " + rkey + " already holds a different post (" +
                                            existing->ref.uri + "); not publishing over it");
    }
    return existing->ref;
  }

  Context ctx_;
  // The caller's SaveSecrets for the length of one call: sessions renewed
  // during it are stored; none leaks into a later call.
  class SaveScope {
   public:
    SaveScope(SaveSecrets& slot, SaveSecrets save) : slot_(slot) { slot_ = std::move(save); }
    ~SaveScope() { slot_ = nullptr; }
    SaveScope(const SaveScope&) = delete;
    SaveScope& operator=(const SaveScope&) = delete;

   private:
    SaveSecrets& slot_;
  };

  std::optional<Session> session_;
  SaveSecrets save_;  // the current publish's, so renewed sessions are stored
  std::map<std::string, std::optional<std::string>> dids_;
};

}  // namespace

std::unique_ptr<Adapter> make_adapter(const Context& context) { return std::make_unique<BlueskyAdapter>(context); }

}  // namespace multivio::platforms::bluesky
