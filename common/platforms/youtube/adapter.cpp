// SPDX-License-Identifier: MIT
#include "common/platforms/youtube/adapter.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/media/sniff.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/oauth/form.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/platforms/bearer_session.hpp"
#include "common/platforms/media_rules.hpp"
#include "common/platforms/settings.hpp"
#include "common/platforms/youtube/wire.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::youtube {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using namespace std::chrono_literals;
using std::chrono::system_clock;

// Google access tokens live about an hour; refreshing a little early keeps a
// chunk from being refused halfway through an upload.
constexpr auto k_refresh_margin = 5min;
constexpr std::uint64_t k_default_chunk_bytes = 16 * k_chunk_granularity;  // 4 MiB
constexpr auto k_default_media_timeout = 5min;
// Chunks in a row that moved nothing (dropped, 5xx) before the attempt gives
// up; the saved progress lets the next attempt, after the daemon's backoff,
// continue from the last confirmed byte.
constexpr int k_max_stalls = 3;
constexpr const char* k_relink = "re-link it with 'multivio account add youtube --oauth'";
constexpr const char* k_insert_path = "/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status";

const MediaRules& rules() {
  static const MediaRules r = [] {
    MediaRules m;
    m.network = "youtube";
    m.max_count = 1;
    m.video.formats = {media::Kind::mp4, media::Kind::mov};
    m.video.max_bytes = 256ULL * 1024 * 1024 * 1024;
    m.video.max_duration_ms = 12LL * 3600 * 1000;
    m.requires_video = true;
    return m;
  }();
  return r;
}

struct Settings {
  std::string api_base;
  std::string upload_base;
  std::string auth_base;
  std::string token_base;
  std::string client_id;
  std::string client_secret;
  std::uint64_t chunk_bytes = k_default_chunk_bytes;
  std::chrono::milliseconds media_timeout = k_default_media_timeout;
};

Settings settings_of(const config::Config& config) {
  const SettingsReader r(config, "youtube");
  Settings s;
  s.api_base = r.url("api_base", k_default_api_base);
  s.upload_base = r.url("upload_base", s.api_base);
  s.auth_base = r.url("auth_base", k_default_auth_base);
  s.token_base = r.url("token_base", k_default_token_base);
  s.client_id = r.string("client_id");
  s.client_secret = r.client_secret();
  if (const std::string v = r.string("upload_chunk_bytes"); !v.empty()) {
    // Resumable uploads take chunks in 256 KiB steps, not a size range.
    const auto n = parse_unsigned(v);
    if (!n || *n == 0 || *n % k_chunk_granularity != 0) {
      throw_usage("platforms.youtube.upload_chunk_bytes: '" + v + "' is not a multiple of 262144 (256 KiB)");
    }
    s.chunk_bytes = *n;
  }
  s.media_timeout = r.duration("media_timeout", k_default_media_timeout);
  return s;
}

std::optional<std::chrono::sys_seconds> expires_at(const Json& secrets) {
  const auto at = json_integer(secrets, "expires_at", NumericText::reject);
  if (!at) return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::seconds{*at}};
}

std::string describe(const Json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

// The whole file's SHA-256, read in blocks: ties saved progress to the file,
// so a file replaced between attempts starts a new upload instead of
// finishing the old one with foreign bytes.
std::string file_sha256(const std::string& path, const std::string& context) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::validation, context + ": cannot read media file '" + path + "'");
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) throw_permanent(context + ": SHA-256 failed");
  std::string block(1 << 20, '\0');
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(md.get(), block.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(md.get(), digest, &n);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

std::string read_range(const std::string& path, std::uint64_t offset, std::uint64_t length,
                       const std::string& context) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(length, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(bytes.data(), static_cast<std::streamsize>(length));
  if (!in || static_cast<std::uint64_t>(in.gcount()) != length) {
    throw Error(ErrorKind::permanent, context + ": media file '" + path + "' changed or became unreadable mid-upload");
  }
  return bytes;
}

// The metadata a post becomes, with every problem found on the way: the same
// rules for validate() and publish().
using Lookup = std::function<const Json*(std::string_view key)>;

VideoMetadata metadata_of(std::string_view text, const Lookup& option, std::vector<std::string>& problems) {
  VideoMetadata m;
  const TitleAndDescription td = split_text(text);
  for (auto& p : text_problems(td)) problems.push_back(std::move(p));
  m.title = td.title;
  m.description = td.description;
  bool privacy_given = false;
  if (const Json* v = option("privacy")) {
    privacy_given = true;
    m.privacy = describe(*v);
    if (m.privacy != "private" && m.privacy != "unlisted" && m.privacy != "public") {
      problems.push_back("privacy '" + m.privacy + "' is not one of private, unlisted, public");
    }
  }
  if (const Json* v = option("publish_at")) {
    m.publish_at = describe(*v);
    if (!is_rfc3339(m.publish_at)) {
      problems.push_back("publish_at '" + m.publish_at + "' is not an RFC 3339 time such as 2026-12-01T09:00:00Z");
    } else if (privacy_given && m.privacy != "private") {
      problems.push_back("publish_at needs privacy private (youtube makes the video public at that time), not " +
                         m.privacy);
    }
  }
  if (const Json* v = option("tags")) {
    try {
      m.tags = parse_tags(*v);
      for (auto& p : tag_problems(m.tags)) problems.push_back(std::move(p));
    } catch (const Error& e) {
      problems.emplace_back(e.what());
    }
  }
  if (const Json* v = option("category")) {
    m.category_id = describe(*v);
    if (m.category_id.empty() ||
        !std::all_of(m.category_id.begin(), m.category_id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      problems.push_back("category '" + m.category_id + "' is not a numeric YouTube category id (22: People & Blogs)");
    }
  }
  if (const Json* v = option("made_for_kids")) {
    if (v->is_boolean()) {
      m.made_for_kids = v->get<bool>();
    } else {
      problems.emplace_back("made_for_kids must be true or false");
    }
  }
  return m;
}

// ---------------------------------------------------------------------------
// An account's tokens for one operation, refreshed through Google's token
// endpoint, and the channel they belong to.
class Tokens : public BearerSession {
 public:
  Tokens(http::Client& http, const config::Config& config, const Settings& settings, const model::Account& account,
         const Json& secrets, SaveSecrets save)
      : BearerSession(http, config, account.ref(), secrets, std::move(save),
                      policy(http, config, settings, account.ref())),
        settings_(settings) {}

  Channel channel() {
    const std::string context = this->context() + ": GET /youtube/v3/channels";
    const http::Response resp =
        send(request("GET", settings_.api_base + "/youtube/v3/channels?part=snippet&mine=true"), context);
    if (!resp.ok()) throw classify(resp, context, system_clock::now());
    try {
      Channel c = parse_channel(resp.body);
      if (!c.id.empty() && json_string(secrets(), "channel_id") != c.id) update({{"channel_id", c.id}});
      return c;
    } catch (const Error& e) {
      throw e.with_prefix(this->context());
    }
  }

  static oauth::OAuth2Config oauth_config(const Settings& settings, const config::Config& config,
                                          const std::string& context) {
    return form_auth_client(config, settings.auth_base + "/o/oauth2/v2/auth", settings.token_base + "/token",
                            settings.client_id, settings.client_secret, context);
  }

 private:
  static BearerPolicy policy(http::Client& http, const config::Config& config, const Settings& settings,
                             const std::string& context) {
    BearerPolicy p;
    p.relink = k_relink;
    p.refresh_margin = k_refresh_margin;
    p.refresh_refused = "Google refused the refresh token (expired or revoked)";
    // Google does not rotate refresh tokens: the session keeps the old one
    // when the answer has none.
    p.refresh = [&http, &config, &settings, context](const Json& secrets) {
      if (settings.client_id.empty()) {
        throw_auth(context + ": cannot refresh the access token: set platforms.youtube.client_id (and "
                             "client_secret) to the OAuth client that issued it");
      }
      return Refreshed{oauth::refresh_access_token(http, oauth_config(settings, config, context),
                                                   json_string(secrets, "refresh_token"), system_clock::now())};
    };
    return p;
  }

  const Settings& settings_;
};

// ---------------------------------------------------------------------------
// One resumable upload of one file: the session URI, how many bytes the
// server holds, and the progress record that survives a crash.
class Upload {
 public:
  Upload(Tokens& tokens, const Settings& settings, const PublishRequest& request, std::string path, std::string mime,
         VideoMetadata metadata)
      : tokens_(tokens),
        settings_(settings),
        request_(request),
        path_(std::move(path)),
        mime_(std::move(mime)),
        metadata_(std::move(metadata)),
        context_(tokens.context() + ": upload " + fs::path(path_).filename().string()) {
    std::error_code ec;
    size_ = fs::file_size(path_, ec);
    if (ec || size_ == 0) throw Error(ErrorKind::validation, context_ + ": cannot read the media file or it is empty");
    sha256_ = file_sha256(path_, context_);
  }

  /// The video id, once the server holds every byte.
  std::string run() {
    if (auto id = resume()) return *id;
    for (int session = 0;; ++session) {
      start();
      if (auto id = send_rest()) return *id;
      // The session expired or vanished; one fresh start within the attempt.
      if (session >= 1) {
        throw Error(ErrorKind::transient, context_ + ": youtube dropped the upload session twice; will retry");
      }
      spdlog::warn("{}: the upload session is gone (404/410); starting a new one", context_);
    }
  }

 private:
  struct Status {
    std::optional<std::string> video_id;  // the upload is complete
    bool gone = false;                    // 404/410: start over
    std::uint64_t confirmed = 0;
  };

  // Continues the session an earlier attempt saved, if it is for this file.
  std::optional<std::string> resume() {
    const Json& p = request_.progress;
    if (!p.is_object() || !p.contains("upload_url") || !p["upload_url"].is_string()) return std::nullopt;
    if (p.value("size", std::uint64_t{0}) != size_ || p.value("sha256", std::string()) != sha256_) {
      spdlog::info("{}: the file changed since the saved upload session; starting a new one", context_);
      return std::nullopt;
    }
    url_ = p["upload_url"].get<std::string>();
    const Status s = query();
    if (s.video_id) return s.video_id;
    if (s.gone) {
      spdlog::info("{}: the saved upload session expired; starting a new one", context_);
      url_.clear();
      return std::nullopt;
    }
    confirmed_ = s.confirmed;
    spdlog::info("{}: resuming the upload at byte {} of {}", context_, confirmed_, size_);
    save();
    if (auto id = send_rest()) return id;
    url_.clear();  // gone mid-way: run() starts a new one
    return std::nullopt;
  }

  void start() {
    http::Request req = tokens_.request("POST", settings_.upload_base + k_insert_path);
    req.headers = {{"Content-Type", "application/json; charset=UTF-8"},
                   {"X-Upload-Content-Length", std::to_string(size_)},
                   {"X-Upload-Content-Type", mime_}};
    req.body = video_body(metadata_);
    const std::string context = context_ + ": videos.insert";
    const http::Response resp = tokens_.send(std::move(req), context);
    if (!resp.ok()) throw classify(resp, context, system_clock::now());
    const auto location = resp.header("Location");
    if (!location || text::trim(*location).empty()) {
      throw Error(ErrorKind::permanent, context + ": youtube answered without an upload session URI (Location)");
    }
    url_ = std::string(text::trim(*location));
    if (url_.starts_with('/')) url_ = settings_.upload_base + url_;
    confirmed_ = 0;
    save();
  }

  // Sends chunks from the confirmed byte on. The video id when done; nullopt
  // when the session is gone.
  std::optional<std::string> send_rest() {
    int stalls = 0;
    while (true) {
      const std::uint64_t first = confirmed_;
      const std::uint64_t length = std::min<std::uint64_t>(settings_.chunk_bytes, size_ - first);
      http::Request req = tokens_.request("PUT", url_);
      req.total_timeout = std::max(req.total_timeout, settings_.media_timeout);
      req.headers = {{"Content-Type", mime_}, {"Content-Range", content_range(first, first + length - 1, size_)}};
      req.body = read_range(path_, first, length, context_);
      const std::string context = context_ + ": bytes " + std::to_string(first) + "-" +
                                  std::to_string(first + length - 1) + "/" + std::to_string(size_);
      std::optional<http::Response> resp;
      std::optional<Error> failure;
      try {
        resp = tokens_.send(std::move(req), context);
      } catch (const Error& e) {
        // A dropped connection or a timeout: the server may hold part of the chunk.
        if (e.kind() != ErrorKind::transient) throw;
        failure = e;
      }
      if (resp) {
        if (resp->status == 200 || resp->status == 201) return video_id(*resp, context);
        if (resp->status == 308) {
          advance(*resp, first + length, context);
          stalls = confirmed_ > first ? 0 : stalls + 1;
          if (stalls > k_max_stalls) throw stalled(context);
          continue;
        }
        if (resp->status == 404 || resp->status == 410) return std::nullopt;
        const Error e = classify(*resp, context, system_clock::now());
        // Quota and rate limits say when to come back; only a server error
        // leaves the chunk's fate open.
        if (resp->status < 500) throw e.with_suffix(progress_note());
        failure = e;
      }
      spdlog::info("{}; asking the session how far it got", failure->what());
      if (++stalls > k_max_stalls) throw failure->with_suffix(progress_note());
      Status s;
      try {
        s = query();
      } catch (const Error& e) {
        throw e.with_suffix(progress_note());
      }
      if (s.video_id) return s.video_id;
      if (s.gone) return std::nullopt;
      if (s.confirmed > confirmed_) stalls = 0;
      confirmed_ = s.confirmed;
      save();
    }
  }

  // A status query: PUT with no body and Content-Range bytes */SIZE.
  Status query() {
    http::Request req = tokens_.request("PUT", url_);
    req.headers = {{"Content-Range", content_range(std::nullopt, std::nullopt, size_)}};
    const std::string context = context_ + ": upload status";
    const http::Response resp = tokens_.send(std::move(req), context);
    Status s;
    if (resp.status == 200 || resp.status == 201) {
      s.video_id = video_id(resp, context);
    } else if (resp.status == 404 || resp.status == 410) {
      s.gone = true;
    } else if (resp.status == 308) {
      const auto n = confirmed_bytes(resp);
      if (!n || *n > size_) {
        throw Error(ErrorKind::permanent, context + ": unreadable Range '" + resp.header("Range").value_or("") + "'");
      }
      s.confirmed = *n;
    } else {
      throw classify(resp, context, system_clock::now());
    }
    return s;
  }

  void advance(const http::Response& resp, std::uint64_t sent_to, const std::string& context) {
    const auto n = confirmed_bytes(resp);
    // The server may keep fewer bytes than were sent (never more).
    if (!n || *n > sent_to) {
      throw Error(ErrorKind::permanent, context + ": unreadable Range '" + resp.header("Range").value_or("") + "'");
    }
    confirmed_ = *n;
    save();
  }

  std::string video_id(const http::Response& resp, const std::string& context) const {
    try {
      return parse_video_id(resp.body);
    } catch (const Error& e) {
      // The video exists but its id is unreadable; the session still knows it.
      Error unknown(ErrorKind::transient, context + ": " + e.what());
      unknown.outcome_unknown = true;
      unknown.http_status = resp.status;
      throw unknown;
    }
  }

  Error stalled(const std::string& context) const {
    return Error(ErrorKind::transient, context + ": youtube accepted no new bytes " +
                                           std::to_string(k_max_stalls + 1) + " times in a row" + progress_note());
  }

  std::string progress_note() const {
    return " (" + std::to_string(confirmed_) + " of " + std::to_string(size_) +
           " bytes confirmed; a retry continues from there)";
  }

  // Before the next chunk goes out: a crash now resumes from here.
  void save() const {
    if (!request_.save_progress) return;
    request_.save_progress(
        Json{{"upload_url", url_}, {"confirmed", confirmed_}, {"size", size_}, {"sha256", sha256_}});
  }

  Tokens& tokens_;
  const Settings& settings_;
  const PublishRequest& request_;
  std::string path_;
  std::string mime_;
  VideoMetadata metadata_;
  std::string context_;
  std::uint64_t size_ = 0;
  std::string sha256_;
  std::string url_;
  std::uint64_t confirmed_ = 0;
};

// ---------------------------------------------------------------------------

class YouTubeAdapter final : public Adapter {
 public:
  explicit YouTubeAdapter(const Context& context) : ctx_(context), settings_(settings_of(context.config)) {}

  std::string_view name() const override { return "youtube"; }

  Capabilities capabilities(const model::Account*) const override {
    Capabilities c;
    c.max_length = k_max_title;
    c.length_unit = "characters of title (the first line)";
    c.media = true;
    c.threads = false;
    c.idempotency_key = false;  // the saved upload session plays that part
    c.find_recent = false;
    c.resumes_from_progress = true;
    c.needs_credentials = true;
    return c;
  }

  void configure_account(nlohmann::json& options) const override {
    check_option_keys("youtube", options, {"privacy", "tags", "category", "made_for_kids"});
    std::vector<std::string> problems;
    metadata_of("title", [&](std::string_view key) { return find_option(options, nullptr, key); }, problems);
    if (!problems.empty()) throw_usage("youtube: " + problems.front());
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>& media,
                            const model::Account* account, const nlohmann::json& options) const override {
    ValidationReport r;
    const Lookup lookup = [&](std::string_view key) { return find_option(options, account, key); };
    metadata_of(text, lookup, r.problems);
    r.limit = k_max_title;
    r.length = text::valid_utf8(text) ? text::code_points(split_text(text).title) : text.size();
    check_media(rules(), media, r.problems);
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    const std::string& context = request.account.ref();
    std::vector<std::string> problems;
    VideoMetadata metadata = metadata_of(request.text, lookup_of(request), problems);
    if (request.post.media.size() != 1) problems.emplace_back("youtube takes exactly one video per post");
    if (!problems.empty()) throw Error(ErrorKind::validation, context + ": " + problems.front());
    const std::string path = request.post.media.front();
    const MediaInfo info = inspect_media(path);
    if (!info.is_video()) throw Error(ErrorKind::validation, context + ": media '" + path + "' is not a video");

    Tokens tokens(ctx_.http, ctx_.config, settings_, request.account, request.secrets, request.save_secrets);
    Upload upload(tokens, settings_, request, path, info.sniffed.mime, std::move(metadata));
    std::string id;
    try {
      id = upload.run();
    } catch (Error& e) {
      // With progress kept, an unanswered request cannot become a second
      // video: a session gets its video only from its last byte, and the
      // retry asks the saved session before sending anything; a session
      // whose creation went unanswered never gets a byte.
      if (request.save_progress) e.outcome_unknown = false;
      throw;
    }
    PublishResult result;
    result.remote_ids = {id};
    result.remote_url = watch_url(id);
    result.http_status = 200;
    return result;
  }

  Preview preview(const PublishRequest& request) const override {
    std::vector<std::string> problems;  // validation reports them
    const VideoMetadata metadata = metadata_of(request.text, lookup_of(request), problems);
    Preview p;
    p.method = "POST";
    p.url = settings_.upload_base + k_insert_path;
    std::string size = "<file size>";
    std::string mime = "video/*";
    if (request.post.media.size() == 1) {
      std::error_code ec;
      if (const auto n = fs::file_size(request.post.media.front(), ec); !ec) size = std::to_string(n);
      try {
        mime = inspect_media(request.post.media.front()).sniffed.mime;
      } catch (const Error&) {
        // An unreadable file is validation's to report.
      }
    }
    p.headers = {{"Authorization", "Bearer ***"},
                 {"Content-Type", "application/json; charset=UTF-8"},
                 {"X-Upload-Content-Length", size},
                 {"X-Upload-Content-Type", mime}};
    p.body = video_body(metadata);
    return p;
  }

  std::optional<nlohmann::json> refresh(const model::Account& account, const nlohmann::json& secrets) override {
    Tokens tokens(ctx_.http, ctx_.config, settings_, account, secrets, {});
    if (json_string(tokens.secrets(), "refresh_token").empty()) {
      if (const auto at = expires_at(secrets); at && *at <= system_clock::now()) {
        throw_auth(account.ref() + ": the access token has expired and no refresh token is stored; " + k_relink);
      }
      return std::nullopt;
    }
    tokens.refresh();
    return tokens.secrets();
  }

  AccountCheck check_account(const model::Account& account, const nlohmann::json& secrets,
                             const SaveSecrets& save) override {
    Tokens tokens(ctx_.http, ctx_.config, settings_, account, secrets, save);
    const Channel channel = tokens.channel();
    AccountCheck check;
    check.handle = channel.title;
    if (const auto at = expires_at(tokens.secrets())) {
      check.expires_at = std::chrono::time_point_cast<std::chrono::milliseconds>(*at);
    }
    const std::string scopes = json_string(tokens.secrets(), "scope");
    std::string_view scope = scopes;
    while (!scope.empty()) {
      const auto space = scope.find(' ');
      if (space != 0) check.scopes.emplace_back(scope.substr(0, space));
      scope = space == std::string_view::npos ? std::string_view{} : scope.substr(space + 1);
    }
    check.detail = "channel " + channel.id + "; OAuth 2.0 token" + (tokens.refreshed() ? ", refreshed now" : "");
    return check;
  }

  std::optional<OAuth2Link> oauth2_link(const nlohmann::json&, const std::string&, LinkStash&) override {
    if (settings_.client_id.empty()) {
      throw_usage("youtube: linking with --oauth needs your Google OAuth client (Desktop app): set "
                  "platforms.youtube.client_id and platforms.youtube.client_secret in the config");
    }
    OAuth2Link link;
    link.config = Tokens::oauth_config(settings_, ctx_.config, "youtube");
    link.scopes = {std::string(k_upload_scope), std::string(k_readonly_scope)};
    // A refresh token, every time: Google only grants one at the first consent
    // unless asked again.
    link.extra = {{"access_type", "offline"}, {"prompt", "consent"}};
    return link;
  }

  nlohmann::json secrets_from_tokens(const oauth::TokenSet& tokens, const nlohmann::json&,
                                     std::string& handle) override {
    model::Account linking;
    linking.platform = "youtube";
    linking.name = "(linking)";
    Tokens session(ctx_.http, ctx_.config, settings_, linking, token_secrets(tokens), {});
    handle = session.channel().title;
    return session.secrets();
  }

 private:
  static Lookup lookup_of(const PublishRequest& request) {
    return [&request](std::string_view key) { return layered_option(request, key); };
  }

  Context ctx_;
  Settings settings_;
};

}  // namespace

std::unique_ptr<Adapter> make_adapter(const Context& context) { return std::make_unique<YouTubeAdapter>(context); }

}  // namespace multivio::platforms::youtube
