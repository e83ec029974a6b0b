// SPDX-License-Identifier: MIT
#include "common/platforms/facebook/adapter.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/config/config.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/form.hpp"
#include "common/platforms/facebook/wire.hpp"
#include "common/platforms/media_rules.hpp"
#include "common/platforms/meta/graph.hpp"
#include "common/platforms/settings.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::facebook {

namespace {

using Json = nlohmann::json;
using std::chrono::system_clock;

constexpr const char* k_default_api_base = "https://graph.facebook.com";
constexpr const char* k_default_auth_base = "https://www.facebook.com";
constexpr const char* k_default_version = "v23.0";
constexpr const char* k_default_video_base = "https://graph-video.facebook.com";
constexpr std::size_t k_max_recent = 100;  // the posts edge's page size cap
// What the Page needs for posting and for reading its own posts back.
const std::vector<std::string> k_scopes = {"pages_manage_posts", "pages_read_engagement", "pages_show_list"};
constexpr const char* k_relink = "re-link it with 'multivio account add facebook --oauth'";

// Graph's /photos edge takes these (BMP and TIFF too, which multivio does not
// sniff); 4 MB per photo. A feed post attaches up to 10 photos here: Graph
// documents no number, and more are better split into several posts. A video
// goes alone through the non-resumable /videos upload: 1 GB, 20 minutes.
MediaRules media_rules() {
  MediaRules r;
  r.network = "facebook";
  r.max_count = 10;
  r.image.formats = {media::Kind::jpeg, media::Kind::png, media::Kind::gif};
  r.image.max_bytes = 4ULL * 1024 * 1024;
  r.video.formats = {media::Kind::mp4, media::Kind::mov};
  r.video.max_bytes = 1024ULL * 1024 * 1024;
  r.video.max_duration_ms = 20LL * 60 * 1000;
  r.max_videos = 1;
  return r;
}

struct Settings {
  std::string graph;   // api_base + "/" + api_version
  std::string dialog;  // auth_base + "/" + api_version + "/dialog/oauth"
  std::string client_id;
  std::string client_secret;
  std::string video;  // upload_base + "/" + api_version: Graph takes video files on its own host
  std::chrono::milliseconds media_timeout{300'000};  // a whole video upload
};

// "v23.0": the one form Graph's paths take.
bool is_version(std::string_view v) {
  if (v.size() < 4 || v.front() != 'v') return false;
  const auto dot = v.find('.');
  if (dot == std::string_view::npos || dot == 1 || dot + 1 == v.size()) return false;
  const auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(v.substr(1, dot - 1)) && digits(v.substr(dot + 1));
}

Settings settings_of(const config::Config& config) {
  const meta::Settings m =
      meta::settings_of(config, "facebook", k_default_api_base, k_default_version, k_default_auth_base);
  if (!is_version(m.api_version)) {
    throw_usage("platforms.facebook.api_version: '" + m.api_version + "' is not a Graph API version like v23.0");
  }
  const std::string video_host = SettingsReader(config, "facebook").url("upload_base", k_default_video_base);
  return Settings{m.graph_base(),  m.auth_base + "/" + m.api_version + "/dialog/oauth",
                  m.client_id,     m.client_secret,
                  video_host + "/" + m.api_version, m.media_timeout};
}

std::string page_of(const model::Account& account) {
  if (account.options.is_object()) {
    if (auto it = account.options.find("page_id"); it != account.options.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  throw Error(ErrorKind::permanent, account.ref() + ": account has no 'page_id'; add it again with --page-id ID");
}

std::string token_of(const model::Account& account, const Json& secrets) {
  if (secrets.is_object()) {
    if (auto it = secrets.find("access_token"); it != secrets.end() && it->is_string() && !it->empty()) {
      return it->get<std::string>();
    }
  }
  throw Error(ErrorKind::auth, account.ref() + ": no Page access token stored; " + k_relink);
}

std::string read_file(const std::string& path, const std::string& context) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::permanent, context + ": cannot read " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::permanent, context + ": cannot read " + path);
  return std::move(bytes).str();
}

std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// validate() has already reported a file that cannot be read.
bool is_video_file(const std::string& path) {
  try {
    return inspect_media(path).is_video();
  } catch (const Error&) {
    return false;
  }
}

class FacebookAdapter final : public Adapter {
 public:
  explicit FacebookAdapter(const Context& context) : ctx_(context) {}

  std::string_view name() const override { return "facebook"; }

  Capabilities capabilities(const model::Account*) const override {
    Capabilities c;
    c.max_length = k_max_message;
    c.length_unit = "characters";
    c.media = true;
    c.threads = false;
    c.idempotency_key = false;  // Graph has none; 506 refuses an identical post instead
    c.find_recent = true;
    c.needs_credentials = true;
    return c;
  }

  void configure_account(Json& options) const override {
    check_option_keys("facebook", options, {"page_id"});
    const auto it = options.find("page_id");
    if (it == options.end()) throw_usage("facebook: option 'page_id' is required (--page-id ID)");
    if (it->is_number_unsigned() || it->is_number_integer()) *it = std::to_string(it->get<long long>());
    const std::string id = it->is_string() ? it->get<std::string>() : std::string();
    if (id.empty() || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      throw_usage("facebook: page_id '" + (it->is_string() ? id : it->dump()) +
                  "' is not a Page id (digits, as in the Page's About section)");
    }
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>& media, const model::Account*,
                            const Json& options) const override {
    const text::LengthReport base = text::measure("facebook", text);
    ValidationReport r;
    r.length = base.length;
    r.limit = base.limit;
    for (const auto& p : base.problems) {
      if (p == "text is empty" && !media.empty()) continue;  // a photo without words is a post
      r.problems.push_back(p);
    }
    check_media(media_rules(), media, r.problems);
    if (const Json* link = find_option(options, nullptr, "link"); link != nullptr) {
      const std::string url = link->is_string() ? link->get<std::string>() : std::string();
      if (!url.starts_with("https://") && !url.starts_with("http://")) {
        r.problems.push_back("link '" + (link->is_string() ? url : link->dump()) + "' is not an http(s) URL");
      } else if (!media.empty()) {
        r.problems.push_back("facebook posts carry photos or a link card, not both: drop the link or the media");
      }
    }
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    const std::string context = request.account.ref();
    const Settings settings = settings_of(ctx_.config);
    const std::string page = page_of(request.account);
    const std::string token = token_of(request.account, request.secrets);
    const auto& media = request.post.media;

    if (media.size() == 1) {
      if (is_video_file(media.front())) return publish_video(request, settings, page, token, context);
      return publish_photo(request, settings, page, token, context);
    }

    FeedParams params;
    params.message = request.text;
    params.link = layered_string(request, "link");
    if (!media.empty()) params.attached_media = upload_unpublished(request, settings, page, token, context);
    const http::Response resp = send(feed_request(settings, page, token, params), context);
    PublishResult result;
    if (resp.ok()) {
      result.remote_ids = {parse_id_or_unknown(resp, context)};
    } else if (meta::is_duplicate(resp) && request.after_unknown) {
      // The attempt before this one sent the post and never heard back: the
      // refusal says it landed, and the Page's posts say which one it is.
      const std::string id = find_posted(request, page, token);
      if (id.empty()) throw meta::classify_response(resp, context);
      spdlog::info("{}: facebook refused a duplicate after an unknown outcome; found the earlier post {}", context, id);
      result.remote_ids = {id};
    } else {
      throw meta::classify_response(resp, context);
    }
    result.remote_url = post_url(result.remote_ids.front());
    result.http_status = resp.ok() ? resp.status : 200;
    return result;
  }

  Preview preview(const PublishRequest& request) const override {
    const Settings settings = settings_of(ctx_.config);
    const std::string page = page_of(request.account);
    const auto& media = request.post.media;
    if (media.size() == 1) {
      const bool video = is_video_file(media.front());
      Preview p{"POST", video ? settings.video + "/" + page + "/videos" : settings.graph + "/" + page + "/photos",
                {{"Authorization", "Bearer ***"}}, {}};
      p.headers.emplace_back("Content-Type", "multipart/form-data");
      p.body = "source=<" + file_name(media.front()) + ">" +
               (request.text.empty() ? std::string()
                                     : (video ? "&description=" : "&message=") + oauth::percent_encode(request.text));
      return p;
    }
    FeedParams params;
    params.message = request.text;
    params.link = layered_string(request, "link");
    // Photo ids exist only after the uploads; name the files instead.
    for (const auto& path : media) params.attached_media.push_back("<id of uploaded " + file_name(path) + ">");
    const http::Request req = feed_request(settings, page, "***", params);
    return Preview{req.method, http::redact_url(req.url), req.headers, req.body};
  }

  std::vector<RemotePost> find_recent(const model::Account& account, const Json& secrets,
                                      std::size_t limit) override {
    const Settings settings = settings_of(ctx_.config);
    return recent_posts(settings, page_of(account), token_of(account, secrets), limit, account.ref());
  }

  AccountCheck check_account(const model::Account& account, const Json& secrets, const SaveSecrets&) override {
    const Settings settings = settings_of(ctx_.config);
    const std::string context = account.ref();
    const std::string page_id = page_of(account);
    const http::Response resp =
        send(get(settings.graph + "/" + page_id + "?fields=id,name", token_of(account, secrets)), context);
    if (!resp.ok()) throw meta::classify_response(resp, context);
    const Page page = parse_page(resp.body);
    AccountCheck check;
    check.handle = page.name;
    check.detail = "Page " + page.id + ", Page token (does not expire)";
    return check;
  }

  std::optional<OAuth2Link> oauth2_link(const Json&, const std::string&, LinkStash&) override {
    const Settings settings = settings_of(ctx_.config);
    if (settings.client_id.empty() || settings.client_secret.empty()) {
      throw_usage("facebook: linking with --oauth needs your Meta app's id and secret: set "
                  "platforms.facebook.client_id and platforms.facebook.client_secret_env in the config");
    }
    OAuth2Link link;
    link.config.authorize_url = settings.dialog;
    link.config.token_url = settings.graph + "/oauth/access_token";
    link.config.client_id = settings.client_id;
    link.config.client_secret = settings.client_secret;
    link.config.client_auth = oauth::ClientAuth::body;
    link.config.scope_separator = ",";
    link.config.connect_timeout = ctx_.config.daemon.connect_timeout;
    link.config.total_timeout = ctx_.config.daemon.http_timeout;
    link.scopes = k_scopes;
    return link;
  }

  std::string link_choice_option() const override { return "page_id"; }

  std::vector<LinkChoice> link_choices(const oauth::TokenSet& tokens, const Json&) override {
    std::vector<LinkChoice> out;
    for (const auto& page : pages_for(tokens)) out.push_back({page.id, page.name});
    return out;
  }

  Json secrets_from_tokens(const oauth::TokenSet& tokens, const Json& options, std::string& handle) override {
    const std::string wanted = options.value("page_id", "");
    const std::vector<Page> pages = pages_for(tokens);
    const auto it = std::find_if(pages.begin(), pages.end(), [&](const Page& p) { return p.id == wanted; });
    if (it == pages.end()) {
      std::string known;
      for (const auto& p : pages) known += (known.empty() ? "" : ", ") + p.name + " (" + p.id + ")";
      throw_usage("facebook: this login does not manage Page " + wanted +
                  (known.empty() ? std::string("; it reaches no Pages") : "; it reaches " + known));
    }
    if (it->access_token.empty()) {
      throw_auth("facebook: Graph gave no token for Page " + it->id + "; grant multivio pages_show_list and "
                 "pages_manage_posts for it when logging in");
    }
    handle = it->name;
    return {{"access_token", it->access_token}};
  }

 private:
  // The Pages the login reaches, with Page tokens derived from a long-lived
  // user token (those do not expire; ones from the short-lived token last an
  // hour). Asked once per grant: link_choices and secrets_from_tokens share it.
  const std::vector<Page>& pages_for(const oauth::TokenSet& tokens) {
    if (granted_ && granted_->first == tokens.access_token) return granted_->second;
    const Settings settings = settings_of(ctx_.config);
    const std::string context = "facebook";
    const oauth::Params exchange = {{"grant_type", "fb_exchange_token"},
                                    {"client_id", settings.client_id},
                                    {"client_secret", settings.client_secret},
                                    {"fb_exchange_token", tokens.access_token}};
    http::Response resp = send(plain_get(oauth::append_query(settings.graph + "/oauth/access_token", exchange)),
                               context + ": long-lived token");
    if (!resp.ok()) throw meta::classify_response(resp, context + ": long-lived token");
    const LongLivedToken user = parse_long_lived(resp.body, system_clock::now());

    resp = send(get(settings.graph + "/me/accounts?fields=id,name,access_token,tasks&limit=100", user.access_token),
                context + ": listing Pages");
    if (!resp.ok()) throw meta::classify_response(resp, context + ": listing Pages");
    granted_.emplace(tokens.access_token, parse_pages(resp.body));
    return granted_->second;
  }

  PublishResult publish_photo(const PublishRequest& request, const Settings& settings, const std::string& page,
                              const std::string& token, const std::string& context) {
    const std::string& path = request.post.media.front();
    const std::string media_context = context + ": photo " + file_name(path);
    const http::Response resp = upload_photo(settings, page, token, path, request.text, true, media_context);
    PhotoResult photo;
    try {
      photo = parse_photo(resp.body);
    } catch (const Error& e) {
      throw unknown_outcome(e, resp, media_context);
    }
    // The photo's own post; Graph names it post_id (the photo id is its
    // object, not the feed story).
    const std::string id = !photo.post_id.empty() ? photo.post_id : photo.id;
    return PublishResult{{id}, post_url(id), resp.status};
  }

  // One video as its own Page post. Graph answers {"id"} of the video; a lost
  // answer is `unknown` (the Page's posts tell whether it landed).
  PublishResult publish_video(const PublishRequest& request, const Settings& settings, const std::string& page,
                              const std::string& token, const std::string& context) {
    const std::string& path = request.post.media.front();
    const std::string media_context = context + ": video " + file_name(path);
    const std::string bytes = read_file(path, media_context);
    VideoParams params;
    params.file_name = file_name(path);
    params.mime_type = inspect_mime(bytes, media_context);
    params.bytes = bytes;
    params.description = request.text;
    const Multipart form = video_body(params, "multivio-" + crypto::random_hex(16));
    http::Request req = base_request("POST", settings.video + "/" + page + "/videos", token);
    req.headers.emplace_back("Content-Type", form.content_type);
    req.body = form.body;
    // Large files: the whole upload may take far longer than one API call.
    req.total_timeout = std::max(req.total_timeout, settings.media_timeout);
    const http::Response resp = send(req, media_context);
    if (!resp.ok()) throw meta::classify_response(resp, media_context);
    const std::string id = parse_id_or_unknown(resp, media_context);
    return PublishResult{{id}, "https://www.facebook.com/" + page + "/videos/" + id + "/", resp.status};
  }

  // Uploads each photo unpublished, reusing ones an earlier attempt uploaded
  // (kept in progress.photos, by position): a retry posts them, not copies.
  std::vector<std::string> upload_unpublished(const PublishRequest& request, const Settings& settings,
                                              const std::string& page, const std::string& token,
                                              const std::string& context) {
    std::vector<std::string> ids;
    if (auto it = request.progress.find("photos"); it != request.progress.end() && it->is_array()) {
      for (const auto& id : *it) {
        if (id.is_string() && ids.size() < request.post.media.size()) ids.push_back(id.get<std::string>());
      }
    }
    for (std::size_t i = ids.size(); i < request.post.media.size(); ++i) {
      const std::string& path = request.post.media[i];
      const http::Response resp =
          upload_photo(settings, page, token, path, {}, false, context + ": photo " + file_name(path));
      ids.push_back(parse_id(resp.body));
      if (request.save_progress) request.save_progress({{"photos", ids}});
    }
    return ids;
  }

  // POST /{page}/photos with the file as `source`; throws unless 2xx.
  http::Response upload_photo(const Settings& settings, const std::string& page, const std::string& token,
                              const std::string& path, const std::string& message, bool published,
                              const std::string& context) const {
    const std::string bytes = read_file(path, context);
    PhotoParams params;
    params.file_name = file_name(path);
    params.mime_type = inspect_mime(bytes, context);
    params.bytes = bytes;
    params.message = message;
    params.published = published;
    const Multipart form = photo_body(params, "multivio-" + crypto::random_hex(16));
    http::Request req = base_request("POST", settings.graph + "/" + page + "/photos", token);
    req.headers.emplace_back("Content-Type", form.content_type);
    req.body = form.body;
    const http::Response resp = send(req, context);
    if (!resp.ok()) throw meta::classify_response(resp, context);
    return resp;
  }

  // The post a lost attempt made: the newest of the Page's posts whose text
  // is this one's.
  std::string find_posted(const PublishRequest& request, const std::string& page, const std::string& token) {
    try {
      const Settings settings = settings_of(ctx_.config);
      for (const auto& post : recent_posts(settings, page, token, 25, request.account.ref())) {
        // Graph gives the message back as it was sent.
        if (text::trim(post.text) == text::trim(request.text)) return post.id;
      }
    } catch (const Error& e) {
      spdlog::warn("{}: could not look for the earlier post: {}", request.account.ref(), e.what());
    }
    return {};
  }

  std::vector<RemotePost> recent_posts(const Settings& settings, const std::string& page, const std::string& token,
                                       std::size_t limit, const std::string& context) const {
    const std::size_t n = std::clamp<std::size_t>(limit, 1, k_max_recent);
    const http::Response resp = send(get(settings.graph + "/" + page +
                                             "/posts?fields=id,message,created_time,permalink_url&limit=" +
                                             std::to_string(n),
                                         token),
                                     context);
    if (!resp.ok()) throw meta::classify_response(resp, context);
    std::vector<RemotePost> out;
    for (auto& p : parse_posts(resp.body)) {
      RemotePost r;
      r.id = p.id;
      r.text = std::move(p.message);
      r.url = !p.permalink_url.empty() ? p.permalink_url : post_url(p.id);
      if (p.created_time) r.created_at = *p.created_time;
      out.push_back(std::move(r));
      if (out.size() == limit) break;
    }
    return out;
  }

  static std::string inspect_mime(const std::string& bytes, const std::string& context) {
    try {
      return media::sniff(bytes).mime;
    } catch (const Error& e) {
      throw e.with_prefix(context);
    }
  }

  // A post Graph made but whose id cannot be read: the next attempt must look
  // before posting again.
  static Error unknown_outcome(const Error& e, const http::Response& resp, const std::string& context) {
    Error unknown(ErrorKind::transient, context + ": " + e.what());
    unknown.outcome_unknown = true;
    unknown.http_status = resp.status;
    return unknown;
  }

  static std::string parse_id_or_unknown(const http::Response& resp, const std::string& context) {
    try {
      return parse_id(resp.body);
    } catch (const Error& e) {
      throw unknown_outcome(e, resp, context);
    }
  }

  http::Request feed_request(const Settings& settings, const std::string& page, const std::string& token,
                             const FeedParams& params) const {
    http::Request req = base_request("POST", settings.graph + "/" + page + "/feed", token);
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = feed_body(params);
    return req;
  }

  http::Request get(const std::string& url, const std::string& token) const {
    return base_request("GET", url, token);
  }

  http::Request plain_get(const std::string& url) const {
    http::Request req;
    req.url = url;
    req.connect_timeout = ctx_.config.daemon.connect_timeout;
    req.total_timeout = ctx_.config.daemon.http_timeout;
    req.headers = {{"Accept", "application/json"}};
    return req;
  }

  http::Request base_request(std::string method, std::string url, const std::string& token) const {
    http::Request req = plain_get(std::move(url));
    req.method = std::move(method);
    req.headers.emplace_back("Authorization", "Bearer " + token);
    return req;
  }

  http::Response send(const http::Request& req, const std::string& context) const {
    try {
      return ctx_.http.send(req);
    } catch (const Error& e) {
      throw e.with_prefix(context);
    }
  }

  Context ctx_;
  std::optional<std::pair<std::string, std::vector<Page>>> granted_;
};

}  // namespace

std::unique_ptr<Adapter> make_adapter(const Context& context) { return std::make_unique<FacebookAdapter>(context); }

}  // namespace multivio::platforms::facebook
