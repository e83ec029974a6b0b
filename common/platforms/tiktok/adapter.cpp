// SPDX-License-Identifier: MIT
#include "common/platforms/tiktok/adapter.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

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
#include "common/platforms/tiktok/wire.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::tiktok {

namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;
using std::chrono::system_clock;

// Access tokens live two hours (older docs: 24): refreshing this early keeps
// an upload that starts just before expiry from failing halfway.
constexpr auto k_refresh_margin = 5min;
constexpr auto k_default_media_timeout = 10min;
// Status fetch allows 30 requests a minute per token: start quick (small
// videos finish in seconds), then back off.
constexpr auto k_first_poll = 1s;
constexpr auto k_max_poll = 10s;
constexpr const char* k_relink = "re-link it with 'multivio account add tiktok --oauth'";
constexpr std::string_view k_privacy_levels[] = {"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR",
                                                 "SELF_ONLY"};
constexpr std::string_view k_safe_privacy = "SELF_ONLY";

struct Settings {
  std::string api_base;
  std::string auth_base;
  std::string client_key;
  std::string client_secret;
  std::uint64_t chunk_bytes = k_default_chunk;
  std::chrono::milliseconds media_timeout = k_default_media_timeout;
};

Settings settings_of(const config::Config& config) {
  const SettingsReader r(config, "tiktok");
  Settings s;
  s.api_base = r.url("api_base", k_default_api_base);
  s.auth_base = r.url("auth_base", k_default_auth_base);
  s.client_key = r.string("client_id");
  s.client_secret = r.client_secret();
  s.chunk_bytes = r.size("upload_chunk_bytes", k_min_chunk, k_max_chunk, k_default_chunk);
  s.media_timeout = r.duration("media_timeout", k_default_media_timeout);
  return s;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

MediaRules media_rules() {
  MediaRules rules;
  rules.network = "tiktok";
  rules.max_count = 1;
  rules.requires_video = true;
  rules.max_videos = 1;
  // WebM is allowed too, but multivio cannot read its header to check it.
  rules.video.formats = {media::Kind::mp4, media::Kind::mov};
  rules.video.max_bytes = 4ULL * 1024 * 1024 * 1024;
  rules.video.max_duration_ms = 600'000;  // 10 minutes; creator_info may allow less
  return rules;
}

// Runs a wire function; its error names the step it failed in.
template <typename Parse>
auto parse_at(const std::string& context, Parse&& parse) {
  try {
    return parse();
  } catch (const Error& e) {
    throw e.with_prefix(context);
  }
}

// Converts a lifetime given at `account add` into the moment it ends.
void settle_expiry(Json& secrets, system_clock::time_point given_at) {
  const auto in = json_integer(secrets, "expires_in");
  if (!in || secrets.contains("expires_at")) return;
  if (*in > 0) {
    const auto at = std::chrono::floor<std::chrono::seconds>(given_at) + std::chrono::seconds{*in};
    secrets["expires_at"] = at.time_since_epoch().count();
  }
  secrets.erase("expires_in");
}

// ---------------------------------------------------------------------------
// An account's tokens for one operation, refreshed through TikTok's token
// endpoint (which rotates both tokens), with the envelope TikTok answers in.
class Session : public BearerSession {
 public:
  /// `may_refresh` false: a refresh here could not be saved (linking), so an
  /// expired token is left to 'account refresh'.
  Session(http::Client& http, const config::Config& config, const Settings& settings, const model::Account& account,
          const Json& secrets, SaveSecrets save, bool may_refresh)
      : BearerSession(http, config, account.ref(), settled(secrets, account), std::move(save),
                      policy(http, config, settings, account.ref(), may_refresh)),
        settings_(settings) {
    if (secrets.is_object() && secrets.contains("expires_in")) update(Json::object());
  }

  http::Request json_post(const std::string& path, std::string body) const {
    http::Request req = request("POST", settings_.api_base + path);
    req.headers.emplace_back("Content-Type", "application/json; charset=UTF-8");
    req.body = std::move(body);
    return req;
  }

  /// Sends with the Bearer token and returns the envelope's data.
  Json call(http::Request req, const std::string& context) { return expect_data(send(std::move(req), context), context); }

  User who_am_i() {
    const std::string context = this->context() + ": GET /v2/user/info/";
    const Json data =
        call(request("GET", settings_.api_base + "/v2/user/info/?fields=open_id,display_name,username"), context);
    const User user = parse_at(context, [&] { return parse_user(data); });
    if (json_string(secrets(), "open_id") != user.open_id || json_string(secrets(), "username") != user.username) {
      Json fields = {{"open_id", user.open_id}};
      if (!user.username.empty()) fields["username"] = user.username;
      update(fields);
    }
    return user;
  }

 private:
  static Json settled(const Json& secrets, const model::Account& account) {
    Json s = secrets.is_object() ? secrets : Json::object();
    if (!json_string(s, "access_token").empty()) settle_expiry(s, account.created_at);
    return s;
  }

  static BearerPolicy policy(http::Client& http, const config::Config& config, const Settings& settings,
                             const std::string& context, bool may_refresh) {
    BearerPolicy p;
    p.relink = k_relink;
    p.refresh_margin = k_refresh_margin;
    p.refresh_refused = "tiktok refused the refresh token (expired, revoked or already used)";
    p.refused = [](const http::Response& resp) {
      if (resp.status == 401) return true;
      const auto envelope = parse_envelope(resp.body);
      return envelope && envelope->code == "access_token_invalid";
    };
    p.refresh = [&http, &config, &settings, context, may_refresh](const Json& secrets) {
      if (!may_refresh) {
        throw_auth(context + ": the access token has expired and cannot be refreshed here; run 'multivio account "
                             "refresh " + context + "'");
      }
      if (settings.client_key.empty() || settings.client_secret.empty()) {
        throw_auth(context + ": cannot refresh the access token: set platforms.tiktok.client_id (the client key) "
                             "and client_secret of the app that issued it");
      }
      // TikTok names the client id client_key, so the shared OAuth 2.0 request
      // (client_id) does not fit; the answer is a standard token response.
      const oauth::Params form{{"client_key", settings.client_key},
                               {"client_secret", settings.client_secret},
                               {"grant_type", "refresh_token"},
                               {"refresh_token", json_string(secrets, "refresh_token")}};
      http::Request req = oauth::form_post(settings.api_base + "/v2/oauth/token/", form,
                                           config.daemon.connect_timeout, config.daemon.http_timeout);
      const std::string step = context + ": token refresh";
      const http::Response resp = oauth::send_with_context(http, req, step);
      const Json body = Json::parse(resp.body, nullptr, false);
      if (!resp.ok() || (body.is_object() && body.contains("error") && !body.contains("access_token"))) {
        oauth::throw_token_error(resp, step);
      }
      const auto now = system_clock::now();
      Refreshed answer{parse_at(step, [&] { return oauth::parse_token_response(resp.body, now); })};
      if (const auto in = json_integer(body, "refresh_expires_in"); in && *in > 0) {
        answer.extra["refresh_expires_at"] =
            (std::chrono::floor<std::chrono::seconds>(now) + std::chrono::seconds{*in}).time_since_epoch().count();
      }
      if (const std::string open_id = json_string(body, "open_id"); !open_id.empty()) answer.extra["open_id"] = open_id;
      return answer;
    };
    return p;
  }

  const Settings& settings_;
};

// ---------------------------------------------------------------------------

class TikTokAdapter final : public Adapter {
 public:
  TikTokAdapter(const Context& context, Sleeper sleeper)
      : ctx_(context), settings_(settings_of(context.config)), sleep_(std::move(sleeper)) {}

  std::string_view name() const override { return "tiktok"; }

  Capabilities capabilities(const model::Account*) const override {
    Capabilities c;
    c.max_length = k_max_title;
    c.length_unit = "UTF-16 code units";
    c.media = true;
    c.threads = false;
    c.idempotency_key = false;  // none; the saved publish_id makes retries safe instead
    c.find_recent = false;
    c.resumes_from_progress = true;
    c.needs_credentials = true;
    return c;
  }

  void configure_account(nlohmann::json& options) const override {
    check_option_keys("tiktok", options,
                      {"handle", "privacy_level", "disable_comment", "disable_duet", "disable_stitch"});
    if (options.contains("handle")) {
      std::string handle = options["handle"].is_string() ? options["handle"].get<std::string>() : std::string();
      if (handle.starts_with('@')) handle.erase(0, 1);
      if (handle.empty()) throw_usage("tiktok: handle must be a TikTok username");
      options["handle"] = handle;
    }
    if (options.contains("privacy_level")) {
      if (const std::string problem = privacy_problem(options["privacy_level"]); !problem.empty()) {
        throw_usage("tiktok: " + problem);
      }
    }
    for (const char* key : {"disable_comment", "disable_duet", "disable_stitch"}) {
      if (options.contains(key) && !options[key].is_boolean()) {
        throw_usage(std::string("tiktok: ") + key + " must be true or false");
      }
    }
  }

  void move_secret_options(nlohmann::json&, nlohmann::json& secrets) const override {
    if (secrets.is_object()) settle_expiry(secrets, system_clock::now());
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>& media,
                            const model::Account* account, const nlohmann::json& options) const override {
    const text::LengthReport m = text::measure("tiktok", text);
    ValidationReport r;
    r.length = m.length;
    r.limit = m.limit;
    for (const auto& p : m.problems) {
      if (p == "text is empty") continue;  // the title is optional: the video is the post
      r.problems.push_back(p);
    }
    check_media(media_rules(), media, r.problems);
    if (const Json* level = find_option(options, account, "privacy_level")) {
      if (std::string problem = privacy_problem(*level); !problem.empty()) r.problems.push_back(std::move(problem));
    }
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    Session session(ctx_.http, ctx_.config, settings_, request.account, request.secrets, request.save_secrets, true);
    const std::string& context = session.context();
    Json progress = request.progress.is_object() ? request.progress : Json::object();

    if (const std::string publish_id = json_string(progress, "publish_id"); !publish_id.empty()) {
      // An earlier attempt initialised this post: finish it, never post twice.
      spdlog::info("{}: continuing TikTok publish {} from an earlier attempt", context, publish_id);
      PublishStatus status = fetch_status(session, publish_id);
      if (status.status == "PROCESSING_UPLOAD") resume_upload(session, request, progress, status);
      return wait_published(session, publish_id, username_of(request.account, session.secrets(), progress));
    }

    if (request.post.media.size() != 1) {
      throw Error(ErrorKind::validation, context + ": a tiktok post is exactly one video (" +
                                             std::to_string(request.post.media.size()) + " media files given)");
    }
    const std::string& path = request.post.media.front();
    const std::string bytes = read_video(path, context);
    const media::Sniffed sniffed = sniff_video(bytes, path, context);

    const Json creator_data = session.call(session.json_post("/v2/post/publish/creator_info/query/", "{}"),
                                           context + ": creator_info");
    const CreatorInfo creator =
        parse_at(context + ": creator_info", [&] { return parse_creator_info(creator_data); });
    const PostInfo post = post_info(request, creator);
    if (creator.max_video_post_duration_sec && sniffed.duration_ms &&
        *sniffed.duration_ms > *creator.max_video_post_duration_sec * 1000) {
      throw Error(ErrorKind::validation, context + ": media '" + file_name(path) + "' is " +
                                             std::to_string(*sniffed.duration_ms / 1000) +
                                             " s long; this tiktok account can post at most " +
                                             std::to_string(*creator.max_video_post_duration_sec) + " s");
    }

    const ChunkPlan plan = parse_at(context, [&] { return plan_chunks(bytes.size(), settings_.chunk_bytes); });
    const Json init_data = session.call(session.json_post("/v2/post/publish/video/init/", init_body(post, plan)),
                                        context + ": video init");
    const InitResult init = parse_at(context + ": video init", [&] { return parse_init(init_data); });
    progress = {{"publish_id", init.publish_id},
                {"upload_url", init.upload_url},
                {"video_size", plan.video_size},
                {"chunk_size", plan.chunk_size},
                {"total_chunk_count", plan.total_chunk_count},
                {"chunks_done", 0},
                {"username", creator.username}};
    save(request, progress);
    upload(session, request, progress, bytes, plan, 0, sniffed.kind);
    return wait_published(session, init.publish_id, username_of(request.account, session.secrets(), progress));
  }

  Preview preview(const PublishRequest& request) const override {
    PostInfo post;
    post.title = request.text;
    post.privacy_level = layered_string(request, "privacy_level", std::string(k_safe_privacy));
    post.disable_comment = layered_bool(request, "disable_comment", false);
    post.disable_duet = layered_bool(request, "disable_duet", false);
    post.disable_stitch = layered_bool(request, "disable_stitch", false);
    ChunkPlan plan;
    if (!request.post.media.empty()) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(request.post.media.front(), ec);
      try {
        if (!ec) plan = plan_chunks(size, settings_.chunk_bytes);
      } catch (const Error&) {
        // Shown without a plan; validation reports why it cannot go out.
      }
    }
    Preview p;
    p.method = "POST";
    p.url = settings_.api_base + "/v2/post/publish/video/init/";
    p.headers = {{"Content-Type", "application/json; charset=UTF-8"}, {"Authorization", "Bearer ***"}};
    p.body = init_body(post, plan);
    return p;
  }

  std::optional<nlohmann::json> refresh(const model::Account& account, const nlohmann::json& secrets) override {
    Session session(ctx_.http, ctx_.config, settings_, account, secrets, {}, true);
    if (json_string(session.secrets(), "refresh_token").empty()) {
      const auto at = session.expires_at();
      if (at && *at <= system_clock::now()) {
        throw_auth(account.ref() + ": the access token has expired and no refresh token is stored; " + k_relink);
      }
      return std::nullopt;
    }
    session.refresh();
    return session.secrets();
  }

  AccountCheck check_account(const model::Account& account, const nlohmann::json& secrets,
                             const SaveSecrets& save) override {
    Session session(ctx_.http, ctx_.config, settings_, account, secrets, save, true);
    const User user = session.who_am_i();
    AccountCheck check;
    check.handle = user.username;
    if (const auto at = session.expires_at()) {
      check.expires_at = std::chrono::time_point_cast<std::chrono::milliseconds>(*at);
    }
    const std::string scopes = json_string(session.secrets(), "scope");
    std::string_view scope = scopes;
    while (!scope.empty()) {
      const auto comma = scope.find(',');
      if (comma != 0) check.scopes.emplace_back(text::trim(scope.substr(0, comma)));
      scope = comma == std::string_view::npos ? std::string_view{} : scope.substr(comma + 1);
    }
    check.detail = "open_id " + user.open_id + (user.display_name.empty() ? "" : " (" + user.display_name + ")") +
                   (session.refreshed() ? "; token refreshed now" : "");
    return check;
  }

  std::optional<OAuth2Link> oauth2_link(const nlohmann::json&, const std::string&, LinkStash&) override {
    if (settings_.client_key.empty()) {
      throw_usage("tiktok: linking with --oauth needs your TikTok app's client key: set platforms.tiktok.client_id "
                  "(and platforms.tiktok.client_secret_env) in the config");
    }
    OAuth2Link link;
    link.config.authorize_url = settings_.auth_base + "/v2/auth/authorize/";
    link.config.token_url = settings_.api_base + "/v2/oauth/token/";
    link.config.client_id = settings_.client_key;
    link.config.client_secret = settings_.client_secret;
    link.config.client_auth = oauth::ClientAuth::body;
    link.config.scope_separator = ",";
    link.config.connect_timeout = ctx_.config.daemon.connect_timeout;
    link.config.total_timeout = ctx_.config.daemon.http_timeout;
    link.config.context = "tiktok";
    // TikTok reads the client id as client_key, in the URL and the exchange.
    link.config.client_id_param = "client_key";
    for (const auto scope : k_scopes) link.scopes.emplace_back(scope);
    return link;
  }

  nlohmann::json secrets_from_tokens(const oauth::TokenSet& tokens, const nlohmann::json&,
                                     std::string& handle) override {
    model::Account linking;
    linking.platform = "tiktok";
    linking.name = "(linking)";
    Session session(ctx_.http, ctx_.config, settings_, linking, token_secrets(tokens), {}, false);
    handle = session.who_am_i().username;
    return session.secrets();
  }

 private:
  static std::string privacy_problem(const Json& level) {
    const std::string v = level.is_string() ? level.get<std::string>() : level.dump();
    if (level.is_string() && std::find(std::begin(k_privacy_levels), std::end(k_privacy_levels), v) !=
                                 std::end(k_privacy_levels)) {
      return {};
    }
    return "privacy_level '" + v +
           "' is not one of PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY";
  }

  // The post_info for this account as creator_info describes it now.
  static PostInfo post_info(const PublishRequest& request, const CreatorInfo& creator) {
    const std::string context = request.account.ref();
    const auto& offered = creator.privacy_level_options;
    const auto is_offered = [&](std::string_view level) {
      return std::find(offered.begin(), offered.end(), level) != offered.end();
    };
    PostInfo post;
    post.title = request.text;
    post.privacy_level = layered_string(request, "privacy_level");
    if (post.privacy_level.empty()) {
      if (!is_offered(k_safe_privacy)) {
        throw Error(ErrorKind::validation, context + ": set privacy_level to one of " + join(offered) +
                                               " (the levels tiktok offers this account)");
      }
      post.privacy_level = std::string(k_safe_privacy);
    } else if (!is_offered(post.privacy_level)) {
      throw Error(ErrorKind::validation, context + ": privacy_level " + post.privacy_level +
                                             " is not offered for this account; tiktok offers " + join(offered));
    }
    // Settings the creator turned off in the app cannot be turned on per post.
    post.disable_comment = creator.comment_disabled || layered_bool(request, "disable_comment", false);
    post.disable_duet = creator.duet_disabled || layered_bool(request, "disable_duet", false);
    post.disable_stitch = creator.stitch_disabled || layered_bool(request, "disable_stitch", false);
    return post;
  }

  static std::string read_video(const std::string& path, const std::string& context) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorKind::validation, context + ": cannot read media file '" + path + "'");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  static media::Sniffed sniff_video(const std::string& bytes, const std::string& path, const std::string& context) {
    const std::string label = context + ": media '" + file_name(path) + "'";
    media::Sniffed sniffed;
    try {
      sniffed = media::sniff(bytes);
    } catch (const Error& e) {
      throw Error(ErrorKind::validation, label + ": " + e.what());
    }
    if (sniffed.kind != media::Kind::mp4 && sniffed.kind != media::Kind::mov) {
      throw Error(ErrorKind::validation, label + " is not an MP4 or MOV video");
    }
    return sniffed;
  }

  static void save(const PublishRequest& request, const Json& progress) {
    if (request.save_progress) request.save_progress(progress);
  }

  // PUTs chunks `from`.. of the plan to the upload URL, saving how many are
  // done after each so a retry resumes instead of starting over.
  void upload(Session& session, const PublishRequest& request, Json& progress, const std::string& bytes,
              const ChunkPlan& plan, std::size_t from, media::Kind kind) {
    const std::string context = session.context() + ": upload";
    const std::string mime = kind == media::Kind::mov ? "video/quicktime" : "video/mp4";
    const std::string upload_url = json_string(progress, "upload_url");
    for (std::size_t i = from; i < plan.ranges.size(); ++i) {
      const ByteRange& range = plan.ranges[i];
      // The upload URL carries its own token: no Authorization header.
      http::Request req = session.request("PUT", upload_url);
      req.headers = {{"Content-Type", mime}, {"Content-Range", content_range(range, plan.video_size)}};
      req.body = bytes.substr(range.first, range.size());
      // A chunk is up to 128 MB: allow for a slow uplink (256 kB/s) on top of the usual timeout.
      req.total_timeout += std::chrono::milliseconds{range.size() / 256};
      const std::string chunk_context =
          context + " chunk " + std::to_string(i + 1) + " of " + std::to_string(plan.ranges.size());
      http::Response resp;
      try {
        resp = ctx_.http.send(req);
      } catch (const Error& e) {
        throw e.with_prefix(chunk_context);
      }
      if (!resp.ok()) throw to_error(resp, chunk_context);
      progress["chunks_done"] = i + 1;
      save(request, progress);
    }
  }

  // A retry that finds the upload unfinished sends the rest of the chunks.
  void resume_upload(Session& session, const PublishRequest& request, Json& progress, const PublishStatus& status) {
    const std::string context = session.context();
    if (request.post.media.size() != 1 || json_string(progress, "upload_url").empty()) {
      throw Error(ErrorKind::permanent, context + ": an earlier upload is unfinished and cannot be resumed");
    }
    const std::string bytes = read_video(request.post.media.front(), context);
    const auto size = json_integer(progress, "video_size");
    const auto chunk = json_integer(progress, "chunk_size");
    const auto count = json_integer(progress, "total_chunk_count");
    if (!size || !chunk || !count || *chunk <= 0 || static_cast<std::uint64_t>(*size) != bytes.size()) {
      throw Error(ErrorKind::permanent, context + ": the video changed since its upload started; remove the post's "
                                                  "tiktok target and add it again");
    }
    ChunkPlan plan{bytes.size(), static_cast<std::uint64_t>(*chunk), static_cast<std::uint64_t>(*count), {}};
    for (std::uint64_t i = 0; i < plan.total_chunk_count; ++i) {
      const std::uint64_t first = i * plan.chunk_size;
      plan.ranges.push_back({first, i + 1 == plan.total_chunk_count ? plan.video_size - 1 : first + plan.chunk_size - 1});
    }
    // What TikTok confirmed wins over what was saved: a crash may fall between the two.
    std::size_t from =
        static_cast<std::size_t>(std::max<long long>(0, json_integer(progress, "chunks_done").value_or(0)));
    for (std::size_t i = 0; i < plan.ranges.size(); ++i) {
      if (status.uploaded_bytes > 0 && plan.ranges[i].first == status.uploaded_bytes) from = i;
    }
    const media::Kind kind = sniff_video(bytes, request.post.media.front(), context).kind;
    upload(session, request, progress, bytes, plan, std::min(from, plan.ranges.size()), kind);
  }

  PublishStatus fetch_status(Session& session, const std::string& publish_id) {
    const std::string context = session.context() + ": status of " + publish_id;
    const Json data = session.call(session.json_post("/v2/post/publish/status/fetch/", status_body(publish_id)),
                                   context);
    return parse_at(context, [&] { return parse_status(data); });
  }

  // Polls the status until TikTok published the video, failed it, or
  // media_timeout passed (transient: the saved publish_id lets a retry keep
  // waiting on the same publish).
  PublishResult wait_published(Session& session, const std::string& publish_id, const std::string& username) {
    const std::string& context = session.context();
    std::chrono::milliseconds waited{0};
    std::chrono::milliseconds wait = k_first_poll;
    while (true) {
      const PublishStatus status = fetch_status(session, publish_id);
      if (status.status == "PUBLISH_COMPLETE" || status.status == "SEND_TO_USER_INBOX") {
        PublishResult result;
        result.http_status = 200;
        // The public id can lag behind (moderation); the publish_id still names the post.
        const std::string id = status.post_ids.empty() ? publish_id : status.post_ids.front();
        result.remote_ids = {id};
        if (!status.post_ids.empty()) result.remote_url = post_url(username, id);
        return result;
      }
      if (status.status == "FAILED") {
        throw Error(ErrorKind::permanent, context + ": tiktok could not publish the video: " +
                                              (status.fail_reason.empty() ? "no reason given" : status.fail_reason));
      }
      if (waited + wait > settings_.media_timeout) {
        Error error(ErrorKind::transient,
                    context + ": tiktok is still processing the video (" + status.status + ") after " +
                        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(waited).count()) +
                        " s; a retry keeps waiting on publish " + publish_id);
        error.retry_after = std::chrono::duration_cast<std::chrono::seconds>(k_max_poll);
        throw error;
      }
      sleep_(wait);
      waited += wait;
      wait = std::min<std::chrono::milliseconds>(wait * 2, k_max_poll);
    }
  }

  // For the post URL: creator_info's username (saved with the progress), else
  // the one user/info reported, else the account's handle.
  static std::string username_of(const model::Account& account, const Json& secrets, const Json& progress) {
    if (std::string u = json_string(progress, "username"); !u.empty()) return u;
    if (std::string u = json_string(secrets, "username"); !u.empty()) return u;
    if (!account.handle.empty()) return account.handle.starts_with('@') ? account.handle.substr(1) : account.handle;
    return json_string(account.options, "handle");
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
  return std::make_unique<TikTokAdapter>(context, std::move(sleeper));
}

}  // namespace multivio::platforms::tiktok
