// SPDX-License-Identifier: MIT
#include "common/platforms/threads/adapter.hpp"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/media/stage.hpp"
#include "common/platforms/settings.hpp"
#include "common/platforms/threads/wire.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"
#include "common/text/thread.hpp"

namespace multivio::platforms::threads {

namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

meta::NetworkTraits traits_of(const meta::Settings& s) {
  meta::NetworkTraits t;
  t.name = "threads";
  t.me_fields = "id,username";
  t.id_field = "id";
  t.list_edge = "threads";
  t.text_field = "text";
  t.create_edge = "threads";
  t.publish_edge = "threads_publish";
  t.status_fields = "status,error_message";
  t.authorize_url = s.auth_base + "/oauth/authorize";
  t.token_url = s.api_base + "/oauth/access_token";
  for (const auto scope : k_scopes) t.scopes.emplace_back(scope);
  t.tokens = {s.api_base + "/access_token", "th_exchange_token", s.api_base + "/refresh_access_token",
              "th_refresh_token", s.client_secret};
  return t;
}

std::string describe(const Json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

bool fits(std::string_view part) { return text::measure("threads", part).ok(); }

// "; parts 1-2 are live (ids 17, 18) and a retry continues after them"
std::string live_note(const std::vector<std::string>& ids) {
  if (ids.empty()) return "; no part is live yet";
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
  const std::string range = ids.size() == 1 ? "part 1 is" : "parts 1-" + std::to_string(ids.size()) + " are";
  return "; " + range + " live (" + list + ") and a retry continues after them";
}

class ThreadsAdapter final : public meta::GraphAdapter {
 public:
  ThreadsAdapter(const Context& context, Sleeper sleeper)
      : GraphAdapter(context,
                     meta::settings_of(context.config, "threads", k_default_api_base, k_default_api_version,
                                       k_default_auth_base),
                     {}, std::move(sleeper)) {
    traits_ = traits_of(settings_);
    if (const std::string v = SettingsReader(context.config, "threads").string("thread_counter"); !v.empty()) {
      counter_default_ = v != "false";
    }
  }

  std::string_view name() const override { return "threads"; }

  Capabilities capabilities(const model::Account*) const override {
    Capabilities c;
    c.max_length = k_max_text;
    c.media = true;
    c.threads = true;
    c.idempotency_key = false;  // the container check stands in for one
    c.find_recent = true;
    c.resumes_from_progress = true;  // a saved container is checked before publishing
    return c;
  }

  void configure_account(nlohmann::json& options) const override {
    check_option_keys("threads", options, {"handle", "thread", "thread_counter", "reply_control"});
    normalize_handle(options);
    if (options.contains("thread") &&
        (!options["thread"].is_string() || (options["thread"] != "auto" && options["thread"] != "never"))) {
      throw_usage("threads: thread '" + describe(options["thread"]) + "' is not one of auto, never");
    }
    if (options.contains("thread_counter") && !options["thread_counter"].is_boolean()) {
      throw_usage("threads: thread_counter must be true or false");
    }
    if (options.contains("reply_control")) {
      const auto& v = options["reply_control"];
      if (!v.is_string() || std::find(std::begin(k_reply_controls), std::end(k_reply_controls),
                                      v.get<std::string>()) == std::end(k_reply_controls)) {
        throw_usage("threads: reply_control '" + describe(v) +
                    "' is not one of everyone, accounts_you_follow, mentioned_only, parent_post_author_only, "
                    "followers_only");
      }
    }
  }

  ValidationReport validate(std::string_view text, const std::vector<std::string>& media,
                            const model::Account* account, const nlohmann::json& options) const override {
    ValidationReport r;
    const text::LengthReport m = text::measure("threads", text);
    r.length = m.length;
    r.limit = m.limit;
    const bool too_long = m.length > m.limit;
    for (const auto& p : m.problems) {
      if (p == "text is empty" && !media.empty()) continue;
      if (too_long && p.find("characters") != std::string::npos &&
          option_string(options, account, "thread", "never") == "auto") {
        continue;  // becomes a thread below
      }
      r.problems.push_back(p);
    }
    if (too_long && option_string(options, account, "thread", "never") == "auto" && text::valid_utf8(text)) {
      try {
        r.parts = static_cast<int>(split(text, option_bool(options, account, "thread_counter", counter_default_)).size());
      } catch (const Error& e) {
        r.problems.emplace_back(e.what());
      }
    }
    check_media(media_rules(), media, r.problems);
    check_staging(media, r.problems);
    return r;
  }

  PublishResult publish(const PublishRequest& request) override {
    const std::vector<std::string> parts = plan(request);
    const auto& media = request.post.media;
    std::unique_ptr<media::Stager> staging;
    if (!media.empty() && request.target.remote_ids.empty()) {
      staging = stager();
      if (!staging) throw Error(ErrorKind::validation, media::staging_required_problem("threads"));
    }
    meta::UserSession s = session(request.account, request.secrets, request.save_secrets);
    const std::string user = user_id(s);
    const std::string reply_control = layered_string(request, "reply_control");

    std::vector<std::string> ids = request.target.remote_ids;
    const bool thread = parts.size() > 1;
    for (std::size_t i = ids.size(); i < parts.size(); ++i) {
      const std::string context =
          thread ? s.context() + ": thread part " + std::to_string(i + 1) + " of " + std::to_string(parts.size())
                 : s.context();
      const PostParams post{parts[i], ids.empty() ? std::string() : ids.back(), reply_control};
      std::optional<meta::StagedFiles> files;
      if (i == 0 && staging) files.emplace(*staging, context);

      const auto create = [&]() -> std::string {
        if (!files) return create_container(s, user, text_container(post));
        return create_media(s, user, *files, request, post);
      };
      meta::ContainerSteps steps = container_steps(s, user, request, parts[i], create);
      steps.remember = [&request, i](const std::string& id) {
        if (request.save_progress) request.save_progress(Json{{"part", i}, {"container_id", id}});
      };
      std::optional<std::string> resume;
      if (request.progress.value("part", std::size_t{0}) == i && request.progress.contains("container_id") &&
          request.progress["container_id"].is_string()) {
        resume = request.progress["container_id"].get<std::string>();
      }
      try {
        ids.push_back(meta::publish_container(steps, resume, meta::poll_policy(settings_.media_timeout), sleep_,
                                              context));
      } catch (const Error& e) {
        if (files && e.kind() != ErrorKind::transient) files->remove_all();
        throw thread ? e.with_suffix(live_note(ids)) : e;
      }
      if (files) files->remove_all();
      if (request.record_parts) request.record_parts(ids);
    }
    PublishResult result;
    result.remote_ids = ids;
    result.remote_url = permalink(s, ids.front());
    result.http_status = 200;
    return result;
  }

  Preview preview(const PublishRequest& request) const override {
    std::vector<std::string> parts{request.text};
    try {
      parts = plan(request);
    } catch (const Error&) {
    }
    const auto& ids = request.target.remote_ids;
    const std::size_t next = std::min(ids.size(), parts.size() - 1);
    const PostParams post{parts[next], ids.empty() ? std::string() : ids.back(),
                          layered_string(request, "reply_control")};
    const auto& media = request.post.media;
    oauth::Params params;
    if (next > 0 || media.empty()) {
      params = text_container(post);
    } else if (media.size() == 1) {
      const std::string name = std::filesystem::path(media[0]).filename().string();
      params = item_container(kind_of(media[0]), "<staged URL of " + name + ">", alt_text(request.post, 0), &post);
    } else {
      std::vector<std::string> children;
      for (const auto& path : media) {
        children.push_back("<container of " + std::filesystem::path(path).filename().string() + ">");
      }
      params = carousel_container(children, post);
    }
    params.emplace_back("access_token", "***");
    const std::string user =
        request.secrets.is_object() ? request.secrets.value("user_id", "{threads-user-id}") : "{threads-user-id}";
    Preview p;
    p.method = "POST";
    p.url = settings_.graph_base() + "/" + user + "/threads";
    p.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    p.body = oauth::form_encode(params);
    return p;
  }

 private:
  static ItemKind kind_of(const std::string& path) { return is_video(path) ? ItemKind::video : ItemKind::image; }

  static std::vector<std::string> split(std::string_view text, bool counter) {
    return text::split_thread(text, fits, text::ThreadOptions{counter});
  }

  std::vector<std::string> plan(const PublishRequest& r) const {
    const text::LengthReport m = text::measure("threads", r.text);
    if (m.length <= m.limit || !text::valid_utf8(r.text)) return {r.text};
    if (layered_string(r, "thread", "never") != "auto") {
      throw Error(ErrorKind::validation, r.account.ref() + ": text is " + std::to_string(m.length) +
                                             " characters; threads allows 500 (thread: auto splits it)");
    }
    try {
      return split(r.text, layered_bool(r, "thread_counter", counter_default_));
    } catch (const Error& e) {
      throw e.with_prefix(r.account.ref());
    }
  }

  std::string create_media(meta::UserSession& s, const std::string& user, meta::StagedFiles& files,
                           const PublishRequest& request, const PostParams& post) const {
    const auto& media = request.post.media;
    if (media.size() == 1) {
      const std::string url = files.stage(media[0], stage_ttl());
      return create_container(s, user, item_container(kind_of(media[0]), url, alt_text(request.post, 0), &post));
    }
    std::vector<std::string> children;
    for (std::size_t i = 0; i < media.size(); ++i) {
      const std::string url = files.stage(media[i], stage_ttl());
      children.push_back(
          create_container(s, user, item_container(kind_of(media[i]), url, alt_text(request.post, i), nullptr)));
    }
    for (const auto& child : children) wait_finished(s, child);
    return create_container(s, user, carousel_container(children, post));
  }

  bool counter_default_ = true;
};

}  // namespace

std::unique_ptr<Adapter> make_adapter(const Context& context) {
  return make_adapter_with_sleeper(context, real_sleep);
}

std::unique_ptr<Adapter> make_adapter_with_sleeper(const Context& context, Sleeper sleeper) {
  return std::make_unique<ThreadsAdapter>(context, std::move(sleeper));
}

}  // namespace multivio::platforms::threads
