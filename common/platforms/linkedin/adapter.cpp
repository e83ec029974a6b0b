// SPDX-License-Identifier: MIT
#include "common/platforms/linkedin/adapter.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/oauth/form.hpp"
#include "common/oauth/oauth2.hpp"
#include "common/platforms/linkedin/wire.hpp"
#include "common/platforms/bearer_session.hpp"
#include "common/platforms/media_rules.hpp"
#include "common/platforms/settings.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::linkedin {

namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;
using std::chrono::system_clock;

constexpr auto k_default_media_timeout = 10min;
constexpr auto k_video_poll = 5s;
// Refreshing a 60-day token a day early costs nothing and keeps a post that
// starts just before expiry from failing halfway through its uploads.
constexpr auto k_refresh_margin = std::chrono::hours{24};
// A token closer to its end than this is reported (account check, logs) so
// the user re-links in time: LinkedIn gives most apps no refresh tokens.
constexpr auto k_expiry_warning = std::chrono::days{7};
constexpr const char* k_relink = "re-link it with 'multivio account add linkedin --oauth --author ...'";

struct Settings {
  std::string api_base;
  std::string auth_base;
  std::string api_version;
  std::string client_id;
  std::string client_secret;
  std::chrono::milliseconds media_timeout = k_default_media_timeout;
};

Settings settings_of(const config::Config& config) {
  const SettingsReader r(config, "linkedin");
  Settings s;
  s.api_base = r.url("api_base", k_default_api_base);
  s.auth_base = r.url("auth_base", k_default_auth_base);
  s.api_version = r.string("api_version", k_default_api_version);
  const bool yyyymm = s.api_version.size() >= 6 &&
                      std::all_of(s.api_version.begin(), s.api_version.begin() + 6, [](char c) {
                        return c >= '0' && c <= '9';
                      });
  if (!yyyymm) throw_usage("platforms.linkedin.api_version: '" + s.api_version + "' is not a YYYYMM version");
  s.client_id = r.string("client_id");
  s.client_secret = r.client_secret();
  s.media_timeout = r.duration("media_timeout", k_default_media_timeout);
  return s;
}

std::optional<system_clock::time_point> expires_at_of(const Json& secrets) {
  const auto at = json_integer(secrets, "expires_at", NumericText::reject);
  if (!at) return std::nullopt;
  return system_clock::time_point{std::chrono::seconds{*at}};
}

std::string author_of(const model::Account& account) {
  if (!account.options.is_object()) return {};
  const auto it = account.options.find("author");
  return it != account.options.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string file_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string read_range(const std::string& path, std::uint64_t first, std::uint64_t length,
                       const std::string& context) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(length, '\0');
  in.seekg(static_cast<std::streamoff>(first));
  in.read(bytes.data(), static_cast<std::streamsize>(length));
  if (!in || static_cast<std::uint64_t>(in.gcount()) != length) {
    throw Error(ErrorKind::validation, context + ": cannot read media file '" + path + "'");
  }
  return bytes;
}

// Whether a file LinkedIn takes (validated before publishing) is its one
// video: MP4 starts with an ftyp box. Reads 12 bytes, not a 500 MB file.
bool is_video_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[12] = {};
  in.read(head, sizeof head);
  return in.gcount() == sizeof head && std::string_view(head + 4, 4) == "ftyp";
}

// What LinkedIn accepts (Images and Videos APIs, MultiImage API).
MediaRules media_rules() {
  MediaRules r;
  r.network = "linkedin";
  r.max_count = k_max_images;
  r.image.formats = {media::Kind::jpeg, media::Kind::png, media::Kind::gif};
  r.video.formats = {media::Kind::mp4};
  r.video.max_bytes = 500ull * 1024 * 1024;
  r.video.min_duration_ms = 3'000;
  r.video.max_duration_ms = 30 * 60 * 1000;
  r.max_videos = 1;
  r.mix_images_and_video = false;
  return r;
}

// An account's tokens for one operation, with the versioned API headers.
// Most apps get no refresh token: a token past its end is refused before
// anything is sent; partner apps' tokens refresh through LinkedIn's endpoint.
class Session : public BearerSession {
 public:
  Session(http::Client& http, const config::Config& config, const Settings& settings, const model::Account& account,
          const Json& secrets, SaveSecrets save)
      : BearerSession(http, config, account.ref(), secrets, std::move(save),
                      policy(http, config, settings, account.ref())),
        settings_(settings) {}

  /// A request to LinkedIn. `versioned` adds LinkedIn-Version and the Rest.li
  /// protocol header that every /rest/ endpoint requires.
  http::Request request(std::string method, std::string url, bool versioned = true) const {
    http::Request req = BearerSession::request(std::move(method), std::move(url));
    req.headers = {{"Accept", "application/json"}};
    if (versioned) {
      req.headers.emplace_back("LinkedIn-Version", settings_.api_version);
      req.headers.emplace_back("X-Restli-Protocol-Version", std::string(k_restli_protocol));
    }
    return req;
  }

  http::Request json_request(std::string url, std::string body) const {
    http::Request req = request("POST", std::move(url));
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = std::move(body);
    return req;
  }

  static oauth::OAuth2Config oauth_config(const Settings& settings, const config::Config& config,
                                          const std::string& context) {
    return form_auth_client(config, settings.auth_base + "/oauth/v2/authorization",
                            settings.auth_base + "/oauth/v2/accessToken", settings.client_id, settings.client_secret,
                            context);
  }

 private:
  static BearerPolicy policy(http::Client& http, const config::Config& config, const Settings& settings,
                             const std::string& context) {
    BearerPolicy p;
    p.relink = k_relink;
    p.refresh_margin = std::max<std::chrono::milliseconds>(config.daemon.token_refresh_margin, k_refresh_margin);
    p.refresh_refused = "linkedin refused the refresh token (it lives 365 days from linking)";
    p.refresh = [&http, &config, &settings, context](const Json& secrets) {
      if (settings.client_id.empty() || settings.client_secret.empty()) {
        throw_auth(context + ": cannot refresh the access token: set platforms.linkedin.client_id and "
                             "client_secret (the app that issued it)");
      }
      return Refreshed{oauth::refresh_access_token(http, oauth_config(settings, config, context),
                                                   json_string(secrets, "refresh_token"), system_clock::now())};
    };
    return p;
  }

  const Settings& settings_;
};

// ---------------------------------------------------------------------------

class LinkedInAdapter final : public Adapter {
 public:
  LinkedInAdapter(const Context& context, Sleeper sleeper)
      : ctx_(context), settings_(settings_of(context.config)), sleep_(std::move(sleeper)) {}

  std::string_view name() const override { return "linkedin"; }

  Capabilities capabilities(const model::Account*) const override {
    Capabilities c;
    c.max_length = k_max_commentary;
    c.media = true;
    c.threads = false;
    c.idempotency_key = false;
    c.find_recent = false;
    c.needs_credentials = true;
    return c;
  }

  void configure_account(nlohmann::json& options) const override {
    check_option_keys("linkedin", options, {"author"});
    const auto it = options.find("author");
    if (it == options.end()) {
      throw_usage("linkedin: --author is required: urn:li:person:<id> to post as yourself or "
                  "urn:li:organization:<id> to post as a page");
    }
    std::string author = it->is_string() ? std::string(text::trim(it->get<std::string>())) : std::string();
    if (!is_person(author) && !is_organization(author)) {
      throw_usage("linkedin: author '" + (it->is_string() ? it->get<std::string>() : it->dump()) +
                  "' is not urn:li:person:<id> or urn:li:organization:<id>");
    }
    *it = author;
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>& media, const model::Account*,
                            const nlohmann::json&) const override {
    ValidationReport r;
    r.limit = k_max_commentary;
    r.length = text::code_points(text);
    if (!text::valid_utf8(text)) {
      r.problems.emplace_back("text is not valid UTF-8");
    } else if (r.length > r.limit) {
      r.problems.push_back("text is " + std::to_string(r.length) + " characters; linkedin allows " +
                           std::to_string(r.limit));
    }
    if (text::trim(text).empty() && media.empty()) r.problems.emplace_back("text is empty");
    check_media(media_rules(), media, r.problems);
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    const std::string author = author_of(request.account);
    if (author.empty()) throw_permanent(request.account.ref() + ": no author is set; add the account again with --author");
    // The publisher validated the media already; the text may be a target's variant.
    if (const std::size_t n = text::code_points(request.text); n > k_max_commentary) {
      throw Error(ErrorKind::validation, request.account.ref() + ": text is " + std::to_string(n) +
                                             " characters; linkedin allows " + std::to_string(k_max_commentary));
    }

    Session session(ctx_.http, ctx_.config, settings_, request.account, request.secrets, request.save_secrets);
    warn_if_expiring(session);
    const std::string& context = session.context();

    Progress progress{request.progress.is_object() ? request.progress : Json::object(), request.save_progress};
    PostParams params;
    params.author = author;
    params.text = request.text;
    for (std::size_t i = 0; i < request.post.media.size(); ++i) {
      const std::string& path = request.post.media[i];
      if (is_video_file(path)) {
        params.video = upload_video(session, author, path, progress);
      } else {
        params.images.push_back({upload_image(session, author, path, i, progress), alt_text(request.post, i)});
      }
    }

    const http::Response resp =
        session.send(session.json_request(settings_.api_base + "/rest/posts", post_body(params)), context);
    if (!resp.ok()) throw error_for(resp, context);
    const auto urn = created_post_urn(resp);
    if (!urn) {
      // The post exists but its id is unknown: like a lost answer.
      Error unknown(ErrorKind::transient, context + ": linkedin answered HTTP " + std::to_string(resp.status) +
                                              " without the new post's id (x-restli-id)");
      unknown.outcome_unknown = true;
      unknown.http_status = resp.status;
      throw unknown;
    }
    PublishResult result;
    result.remote_ids = {*urn};
    result.remote_url = post_url(*urn);
    result.http_status = resp.status;
    return result;
  }

  Preview preview(const PublishRequest& request) const override {
    PostParams params;
    params.author = author_of(request.account);
    params.text = request.text;
    for (std::size_t i = 0; i < request.post.media.size(); ++i) {
      const std::string& path = request.post.media[i];
      const std::string urn = "<urn of uploaded " + file_name(path) + ">";
      if (is_video_file(path)) {
        params.video = urn;
      } else {
        params.images.push_back({urn, alt_text(request.post, i)});
      }
    }
    Preview p;
    p.method = "POST";
    p.url = settings_.api_base + "/rest/posts";
    p.headers = {{"Accept", "application/json"},
                 {"LinkedIn-Version", settings_.api_version},
                 {"X-Restli-Protocol-Version", std::string(k_restli_protocol)},
                 {"Content-Type", "application/json"},
                 {"Authorization", "Bearer ***"}};
    p.body = post_body(params);
    return p;
  }

  std::optional<nlohmann::json> refresh(const model::Account& account, const nlohmann::json& secrets) override {
    Session session(ctx_.http, ctx_.config, settings_, account, secrets, {});
    if (!session.can_refresh()) {
      if (const auto at = expires_at_of(secrets); at && *at <= system_clock::now()) {
        throw_auth(account.ref() + ": the access token expired " + days_from_now(*at) +
                   " and linkedin gave this app no refresh token; " + k_relink);
      }
      return std::nullopt;
    }
    session.refresh();
    return session.secrets();
  }

  AccountCheck check_account(const model::Account& account, const nlohmann::json& secrets,
                             const SaveSecrets& save) override {
    Session session(ctx_.http, ctx_.config, settings_, account, secrets, save);
    const std::string author = author_of(account);
    AccountCheck check;
    std::string detail;
    if (is_organization(author)) {
      const std::string context = session.context() + ": GET /rest/organizations";
      const http::Response resp = session.send(
          session.request("GET", settings_.api_base + "/rest/organizations/" + oauth::percent_encode(urn_id(author))),
          context);
      if (!resp.ok()) throw error_for(resp, context);
      const std::string name = parse_organization_name(resp.body);
      check.handle = name.empty() ? author : name;
      detail = "page " + author;
    } else {
      const Member member = who_am_i(session);
      check.handle = member.name.empty() ? member.sub : member.name;
      detail = "member " + std::string(k_person_prefix) + member.sub;
      if (urn_id(author) != member.sub) detail += " (the token is not the author " + author + "'s: posts will fail)";
    }
    if (const auto at = expires_at_of(session.secrets())) {
      check.expires_at = std::chrono::time_point_cast<std::chrono::milliseconds>(*at);
      detail += "; token expires " + days_from_now(*at);
      if (*at - system_clock::now() < k_expiry_warning) {
        detail += session.can_refresh() ? " (refreshed automatically)" : std::string(" - ") + k_relink + " soon";
      }
    }
    if (session.refreshed()) detail += "; refreshed now";
    check.detail = std::move(detail);
    for (const auto& scope : split_scopes(json_string(session.secrets(), "scope"))) check.scopes.push_back(scope);
    return check;
  }

  std::optional<OAuth2Link> oauth2_link(const nlohmann::json& options, const std::string&, LinkStash&) override {
    if (settings_.client_id.empty() || settings_.client_secret.empty()) {
      throw_usage("linkedin: linking with --oauth needs your LinkedIn app's credentials: set "
                  "platforms.linkedin.client_id and client_secret_env (or client_secret) in the config");
    }
    const std::string author = options.is_object() ? options.value("author", std::string()) : std::string();
    OAuth2Link link;
    link.config = Session::oauth_config(settings_, ctx_.config, "linkedin");
    if (is_organization(author)) {
      link.scopes = {"w_organization_social", "r_organization_social"};
    } else {
      link.scopes = {"openid", "profile", "w_member_social"};
    }
    return link;
  }

  nlohmann::json secrets_from_tokens(const oauth::TokenSet& tokens, const nlohmann::json& options,
                                     std::string& handle) override {
    Json secrets = token_secrets(tokens);
    const std::string author = options.is_object() ? options.value("author", std::string()) : std::string();
    model::Account linking;
    linking.platform = "linkedin";
    linking.name = "(linking)";
    linking.options = options;
    Session session(ctx_.http, ctx_.config, settings_, linking, secrets, {});
    if (is_organization(author)) {
      // Reading the page needs an admin scope the app may lack: the URN is a fine handle then.
      const http::Response resp = session.send(
          session.request("GET", settings_.api_base + "/rest/organizations/" + oauth::percent_encode(urn_id(author))),
          "linkedin: GET /rest/organizations");
      const std::string name = resp.ok() ? parse_organization_name(resp.body) : std::string();
      handle = name.empty() ? author : name;
      return secrets;
    }
    const Member member = who_am_i(session);
    if (urn_id(author) != member.sub) {
      throw_usage("linkedin: you signed in as " + std::string(k_person_prefix) + member.sub +
                  (member.name.empty() ? "" : " (" + member.name + ")") + ", not " + author +
                  "; add the account with --author " + std::string(k_person_prefix) + member.sub);
    }
    handle = member.name.empty() ? member.sub : member.name;
    return secrets;
  }

 private:
  // Upload URNs of this target, saved as each upload completes.
  struct Progress {
    Json data;
    std::function<void(const Json&)> save;

    std::string image(std::size_t index) const {
      const auto it = data.find("images");
      if (it == data.end() || !it->is_object()) return {};
      return json_string(*it, std::to_string(index).c_str());
    }
    void set_image(std::size_t index, const std::string& urn) {
      if (!data.contains("images") || !data["images"].is_object()) data["images"] = Json::object();
      data["images"][std::to_string(index)] = urn;
      if (save) save(data);
    }
    std::string video() const { return json_string(data, "video"); }
    void set_video(const std::string& urn) {
      data["video"] = urn;
      if (save) save(data);
    }
  };

  static std::vector<std::string> split_scopes(std::string_view scopes) {
    // LinkedIn's token answers separate scopes with commas, the authorize URL with spaces.
    std::vector<std::string> out;
    std::string current;
    for (const char c : scopes) {
      if (c == ',' || c == ' ') {
        if (!current.empty()) out.push_back(std::move(current));
        current.clear();
      } else {
        current += c;
      }
    }
    if (!current.empty()) out.push_back(std::move(current));
    return out;
  }

  static void warn_if_expiring(const Session& session) {
    const auto at = expires_at_of(session.secrets());
    // An expired token is refused with an error instead.
    if (!at || session.can_refresh() || *at <= system_clock::now() || *at - system_clock::now() > k_expiry_warning) {
      return;
    }
    spdlog::warn("{}: the linkedin access token expires {}; {}", session.context(), days_from_now(*at), k_relink);
  }

  Member who_am_i(Session& session) {
    const std::string context = session.context() + ": GET /v2/userinfo";
    const http::Response resp = session.send(session.request("GET", settings_.api_base + "/v2/userinfo", false), context);
    if (!resp.ok()) throw error_for(resp, context);
    return parse_userinfo(resp.body);
  }

  std::string upload_image(Session& session, const std::string& owner, const std::string& path, std::size_t index,
                           Progress& progress) {
    if (std::string done = progress.image(index); !done.empty()) return done;
    const std::string context = session.context() + ": image " + file_name(path);
    http::Response resp = session.send(
        session.json_request(settings_.api_base + "/rest/images?action=initializeUpload", image_init_body(owner)),
        context);
    if (!resp.ok()) throw error_for(resp, context + ": initializeUpload");
    const ImageUpload upload = parse_image_upload(resp.body);

    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorKind::validation, context + ": cannot read media file '" + path + "'");
    http::Request put = session.request("PUT", upload.upload_url, false);
    put.headers.emplace_back("Content-Type", "application/octet-stream");
    put.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    resp = session.send(std::move(put), context);
    if (!resp.ok()) throw error_for(resp, context + ": upload");
    progress.set_image(index, upload.image);
    return upload.image;
  }

  std::string upload_video(Session& session, const std::string& owner, const std::string& path, Progress& progress) {
    const std::string context = session.context() + ": video " + file_name(path);
    std::string video = progress.video();
    if (video.empty()) {
      std::error_code ec;
      const std::uint64_t size = std::filesystem::file_size(path, ec);
      if (ec) throw Error(ErrorKind::validation, context + ": cannot read media file '" + path + "'");
      http::Response resp = session.send(
          session.json_request(settings_.api_base + "/rest/videos?action=initializeUpload",
                               video_init_body(owner, size)),
          context);
      if (!resp.ok()) throw error_for(resp, context + ": initializeUpload");
      const VideoUpload upload = parse_video_upload(resp.body, size);

      std::vector<std::string> etags;
      for (std::size_t i = 0; i < upload.parts.size(); ++i) {
        const UploadPart& part = upload.parts[i];
        const std::string part_context =
            context + ": part " + std::to_string(i + 1) + " of " + std::to_string(upload.parts.size());
        // Upload URLs are pre-signed: no bearer token goes to them.
        http::Request put = session.request("PUT", part.url, false);
        put.headers.emplace_back("Content-Type", "application/octet-stream");
        put.body = read_range(path, part.first_byte, part.last_byte - part.first_byte + 1, part_context);
        resp = session.send(std::move(put), part_context, false);
        if (!resp.ok()) throw error_for(resp, part_context);
        const auto etag = resp.header("ETag");
        if (!etag || etag->empty()) throw_permanent(part_context + ": linkedin answered without an ETag");
        etags.push_back(*etag);
      }
      resp = session.send(session.json_request(settings_.api_base + "/rest/videos?action=finalizeUpload",
                                               video_finalize_body(upload.video, upload.upload_token, etags)),
                          context);
      if (!resp.ok()) throw error_for(resp, context + ": finalizeUpload");
      video = upload.video;
      progress.set_video(video);
    }
    wait_until_available(session, video, context);
    return video;
  }

  // LinkedIn refuses a post whose video is still processing: poll its status
  // until AVAILABLE, within media_timeout.
  void wait_until_available(Session& session, const std::string& video, const std::string& context) {
    const std::string url = settings_.api_base + "/rest/videos/" + oauth::percent_encode(video);
    std::chrono::milliseconds waited{0};
    while (true) {
      const http::Response resp = session.send(session.request("GET", url), context + ": status");
      if (!resp.ok()) throw error_for(resp, context + ": status");
      const VideoStatus status = parse_video_status(resp.body);
      if (status.status == "AVAILABLE") return;
      if (status.status == "PROCESSING_FAILED") {
        throw Error(ErrorKind::validation, context + ": linkedin could not process it: " +
                                               (status.failure.empty() ? "no reason given" : status.failure));
      }
      if (waited + k_video_poll > settings_.media_timeout) {
        throw Error(ErrorKind::transient,
                    context + ": still " + status.status + " after " +
                        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(waited).count()) + " s");
      }
      sleep_(k_video_poll);
      waited += k_video_poll;
    }
  }

  Context ctx_;
  Settings settings_;
  Sleeper sleep_;
};

}  // namespace

std::unique_ptr<Adapter> make_adapter(const Context& context) {
  return make_adapter_with_sleeper(context, real_sleep);
}

std::unique_ptr<Adapter> make_adapter_with_sleeper(const Context& context, Sleeper sleeper) {
  return std::make_unique<LinkedInAdapter>(context, std::move(sleeper));
}

}  // namespace multivio::platforms::linkedin
