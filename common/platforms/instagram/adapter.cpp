// SPDX-License-Identifier: MIT
#include "common/platforms/instagram/adapter.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/media/stage.hpp"
#include "common/platforms/instagram/wire.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"

namespace multivio::platforms::instagram {

namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

meta::NetworkTraits traits_of(const meta::Settings& s) {
  meta::NetworkTraits t;
  t.name = "instagram";
  t.me_fields = "user_id,username";
  t.id_field = "user_id";
  t.list_edge = "media";
  t.text_field = "caption";
  t.create_edge = "media";
  t.publish_edge = "media_publish";
  t.status_fields = "status_code,status";
  t.authorize_url = s.auth_base + "/oauth/authorize";
  t.token_url = s.auth_base_set ? s.auth_base + "/oauth/access_token" : std::string(k_default_token_url);
  for (const auto scope : k_scopes) t.scopes.emplace_back(scope);
  t.tokens = {s.api_base + "/access_token", "ig_exchange_token", s.api_base + "/refresh_access_token",
              "ig_refresh_token", s.client_secret};
  return t;
}

class InstagramAdapter final : public meta::GraphAdapter {
 public:
  InstagramAdapter(const Context& context, Sleeper sleeper)
      : GraphAdapter(context,
                     meta::settings_of(context.config, "instagram", k_default_api_base, k_default_api_version,
                                       k_default_auth_base),
                     {}, std::move(sleeper)) {
    traits_ = traits_of(settings_);
  }

  std::string_view name() const override { return "instagram"; }

  Capabilities capabilities(const model::Account*) const override {
    Capabilities c;
    c.max_length = k_max_caption;
    c.media = true;
    c.threads = false;
    c.idempotency_key = false;  // the container check stands in for one
    c.find_recent = true;
    c.resumes_from_progress = true;  // a saved container is checked before publishing
    return c;
  }

  void configure_account(nlohmann::json& options) const override {
    check_option_keys("instagram", options, {"handle"});
    normalize_handle(options);
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>& media, const model::Account*,
                            const nlohmann::json&) const override {
    ValidationReport r;
    const text::LengthReport m = text::measure("instagram", text);
    r.length = m.length;
    r.limit = m.limit;
    for (const auto& p : m.problems) {
      if (p == "text is empty") continue;  // a caption is optional
      r.problems.push_back(p);
    }
    if (const auto n = count_mentions(text); n > k_max_mentions) {
      r.problems.push_back("text has " + std::to_string(n) + " @-mentions; instagram allows at most " +
                           std::to_string(k_max_mentions));
    }
    check_media(media_rules(), media, r.problems);
    check_staging(media, r.problems);
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    const auto& media = request.post.media;
    if (media.empty()) {
      throw Error(ErrorKind::validation, request.account.ref() + ": instagram posts need an image or a video");
    }
    const auto staging = stager();
    if (!staging) throw Error(ErrorKind::validation, media::staging_required_problem("instagram"));
    meta::UserSession s = session(request.account, request.secrets, request.save_secrets);
    const std::string user = user_id(s);
    meta::StagedFiles files(*staging, s.context());
    const std::string caption = request.text;

    const auto create = [&]() -> std::string {
      if (media.size() == 1) {
        const std::string url = files.stage(media[0], stage_ttl());
        return create_container(s, user, item_container(kind_of(media[0]), url, caption,
                                                         alt_text(request.post, 0), false));
      }
      std::vector<std::string> children;
      for (std::size_t i = 0; i < media.size(); ++i) {
        const std::string url = files.stage(media[i], stage_ttl());
        children.push_back(create_container(
            s, user, item_container(kind_of(media[i]), url, {}, alt_text(request.post, i), true)));
      }
      // The parent is refused until every child has been fetched and processed.
      for (const auto& child : children) wait_finished(s, child);
      return create_container(s, user, carousel_container(children, caption));
    };

    std::optional<std::string> resume;
    if (const auto it = request.progress.find("container_id"); it != request.progress.end() && it->is_string()) {
      resume = it->get<std::string>();
    }
    std::string media_id;
    try {
      media_id = meta::publish_container(container_steps(s, user, request, caption, create), resume,
                                         meta::poll_policy(settings_.media_timeout), sleep_, s.context());
    } catch (const Error& e) {
      // A retry may resume a container that still fetches from these URLs.
      if (e.kind() != ErrorKind::transient) files.remove_all();
      throw;
    }
    files.remove_all();
    PublishResult result;
    result.remote_ids = {media_id};
    result.remote_url = permalink(s, media_id);
    result.http_status = 200;
    return result;
  }

  Preview preview(const PublishRequest& request) const override {
    const auto& media = request.post.media;
    const std::string user = request.secrets.is_object() ? request.secrets.value("user_id", "{ig-user-id}")
                                                         : std::string("{ig-user-id}");
    oauth::Params params;
    if (media.size() > 1) {
      std::vector<std::string> children;
      for (const auto& path : media) children.push_back("<container of " + std::filesystem::path(path).filename().string() + ">");
      params = carousel_container(children, request.text);
    } else {
      const std::string name = media.empty() ? "" : std::filesystem::path(media[0]).filename().string();
      params = item_container(media.empty() ? ItemKind::image : kind_of(media[0]), "<staged URL of " + name + ">",
                              request.text, alt_text(request.post, 0), false);
    }
    params.emplace_back("access_token", "***");
    Preview p;
    p.method = "POST";
    p.url = settings_.graph_base() + "/" + user + "/media";
    p.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    p.body = oauth::form_encode(params);
    return p;
  }

 private:
  static ItemKind kind_of(const std::string& path) { return is_video(path) ? ItemKind::video : ItemKind::image; }
};

}  // namespace

std::unique_ptr<Adapter> make_adapter(const Context& context) {
  return make_adapter_with_sleeper(context, real_sleep);
}

std::unique_ptr<Adapter> make_adapter_with_sleeper(const Context& context, Sleeper sleeper) {
  return std::make_unique<InstagramAdapter>(context, std::move(sleeper));
}

}  // namespace multivio::platforms::instagram
