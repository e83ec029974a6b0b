// SPDX-License-Identifier: MIT
#include "common/app/posts.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/app/accounts.hpp"
#include "common/app/ai.hpp"
#include "common/app/media.hpp"
#include "common/app/publisher.hpp"
#include "common/schedule/when.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"
#include "common/text/thread.hpp"

namespace multivio::app {
namespace {

using namespace std::chrono_literals;

// A time this far in the past is almost certainly a mistake (wrong zone,
// wrong date); "now" and times a few seconds old are fine.
constexpr auto kPastTolerance = 60s;

std::vector<std::string> split_refs(const std::vector<std::string>& to) {
  std::vector<std::string> out;
  for (const auto& item : to) {
    std::size_t start = 0;
    while (start <= item.size()) {
      const auto comma = item.find(',', start);
      const auto end = comma == std::string::npos ? item.size() : comma;
      std::string ref(text::trim(std::string_view(item).substr(start, end - start)));
      if (!ref.empty() && std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(std::move(ref));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

std::vector<std::string> checked_media(const std::vector<std::string>& media) {
  std::vector<std::string> out;
  for (const auto& path : media) {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(path, ec);
    if (ec || !std::filesystem::is_regular_file(absolute, ec)) {
      throw_usage("cannot read media file '" + path + "': no such file");
    }
    std::ifstream probe(absolute, std::ios::binary);
    if (!probe) throw_usage("cannot read media file '" + path + "': permission denied");
    out.push_back(absolute.string());
  }
  return out;
}

// `--media ID` and `--media media:ID` name library items (common/media/): each
// becomes the stored file's absolute path, and the item's alt text fills its
// position when no --alt was given for it.
NewPostRequest with_library_media(Context& ctx, const NewPostRequest& request) {
  NewPostRequest out = request;
  for (std::size_t i = 0; i < out.media.size(); ++i) {
    if (!is_media_ref(out.media[i])) continue;
    const auto item = resolve_media(ctx, out.media[i]);
    out.media[i] = item.path;
    const bool has_alt = i < out.alt.size() && !out.alt[i].empty();
    if (!has_alt && !item.alt.empty()) {
      if (out.alt.size() <= i) out.alt.resize(i + 1);  // earlier positions stay without alt text
      out.alt[i] = item.alt;
    }
  }
  return out;
}

std::string describe_problems(const std::vector<CheckResult>& checks) {
  std::string out;
  for (const auto& c : checks) {
    for (const auto& p : c.report.problems) out += (out.empty() ? "" : "; ") + c.target + ": " + p;
  }
  return out;
}

void require_valid(const std::vector<CheckResult>& checks) {
  const std::string problems = describe_problems(checks);
  if (!problems.empty()) throw_validation(problems);
}

CheckResult check_account(Context& ctx, const model::Account& account, std::string_view text,
                          const std::vector<std::string>& media, const nlohmann::json& options) {
  auto adapter = ctx.adapter(account.platform);
  return CheckResult{account.ref(), account.platform, adapter->validate(text, media, &account, options)};
}

struct ResolvedVariant {
  std::int64_t account_id;
  std::string text;
};

std::vector<ResolvedVariant> resolve_variants(Context& ctx,
                                              const std::vector<std::pair<std::string, std::string>>& variants,
                                              const std::vector<model::Account>& accounts) {
  std::vector<ResolvedVariant> out;
  for (const auto& [ref, text] : variants) {
    const auto account = resolve_account(ctx, ref);
    const bool is_target = std::any_of(accounts.begin(), accounts.end(),
                                       [&](const model::Account& a) { return a.id == account.id; });
    if (!is_target) throw_usage("--variant " + ref + ": that account is not a target of this post");
    out.push_back({account.id, text});
  }
  return out;
}

std::vector<TargetPreview> previews_for(Context& ctx, const model::Post& post,
                                        const std::vector<model::Account>& accounts) {
  std::vector<TargetPreview> out;
  for (std::size_t i = 0; i < post.targets.size(); ++i) {
    const auto& target = post.targets[i];
    const auto& account = accounts[i];
    auto adapter = ctx.adapter(account.platform);
    const nlohmann::json secrets = open_secrets(ctx, account);
    platforms::PublishRequest request{post, target, account, secrets, post.text_for(target), "dry-run"};
    out.push_back({account.ref(), account.platform, adapter->preview(request)});
  }
  return out;
}

bool unfinished(model::TargetStatus s) {
  using model::TargetStatus;
  return s == TargetStatus::draft || s == TargetStatus::scheduled || s == TargetStatus::retry_wait;
}

model::Timestamp parse_future(Context& ctx, const std::string& when) {
  const auto now = ctx.clock().now();
  const auto zone = ctx.zone();
  const auto t = schedule::parse_when(when, now, zone);
  if (t < now - kPastTolerance) {
    throw_usage("'" + when + "' is in the past (" + schedule::format_local(t, zone) + "); use --now to publish now");
  }
  return t;
}

}  // namespace

nlohmann::json to_json(const CheckResult& c) {
  return {
      {"target", c.target},         {"platform", c.platform},       {"length", c.report.length},
      {"limit", c.report.limit},    {"ok", c.report.ok()},          {"problems", c.report.problems},
      {"parts", c.report.parts},
  };
}

nlohmann::json to_json(const TargetPreview& p) {
  return {{"account", p.account}, {"platform", p.platform}, {"request", p.request.to_json()}};
}

NewPostResult new_post(Context& ctx, const NewPostRequest& original) {
  const NewPostRequest request = with_library_media(ctx, original);
  const int when_flags = (request.at ? 1 : 0) + (request.now ? 1 : 0) + (request.draft ? 1 : 0);
  if (when_flags > 1) throw_usage("choose one of --at, --now and --draft");
  const auto refs = split_refs(request.to);
  if (refs.empty()) throw_usage("no target: add --to REF (e.g. --to feed:main; see 'multivio account list')");

  std::vector<model::Account> accounts;
  for (const auto& ref : refs) {
    auto account = resolve_account(ctx, ref);
    if (std::none_of(accounts.begin(), accounts.end(), [&](const auto& a) { return a.id == account.id; })) {
      accounts.push_back(std::move(account));
    }
  }
  const auto media = checked_media(request.media);
  auto variant_texts = request.variants;
  std::optional<model::Timestamp> when;
  if (request.at) when = parse_future(ctx, *request.at);

  std::string text = request.text;
  Style style;
  style.tone = request.tone;
  if (request.ai_prompt) {
    if (!text::trim(text).empty()) throw_usage("give either TEXT or --ai PROMPT, not both");
    // One target: write for its rules; several: --adapt or the per-target
    // check below keeps every network honest.
    GenerateRequest generate_request;
    generate_request.prompt = *request.ai_prompt;
    generate_request.network = accounts.size() == 1 ? accounts.front().ref() : std::string();
    generate_request.style = style;
    generate_request.fit = true;
    text = generate(ctx, generate_request).text;
  }
  if (request.adapt) {
    for (const auto& account : accounts) {
      const bool given = std::any_of(variant_texts.begin(), variant_texts.end(),
                                     [&](const auto& v) { return resolve_account(ctx, v.first).id == account.id; });
      if (given) continue;
      variant_texts.emplace_back(account.ref(), transform(ctx, text, {account.ref()}, style, true).front().text);
    }
  }
  const auto variants = resolve_variants(ctx, variant_texts, accounts);
  const bool review_first = (request.ai_prompt || request.adapt) && !request.at && !request.now;
  if (!request.at && !request.draft && !review_first) when = ctx.clock().now();

  store::NewPost post;
  post.options = post_options(request);
  post.text = text;
  post.media = media;
  post.tags = request.tags;
  post.scheduled_at = when;
  post.timezone = ctx.zone();
  post.key = request.key;

  std::vector<CheckResult> checks;
  for (const auto& account : accounts) {
    store::NewTarget target{account.id, std::nullopt, nlohmann::json::object()};
    for (const auto& v : variants) {
      if (v.account_id == account.id) target.variant = v.text;
    }
    checks.push_back(check_account(ctx, account, target.variant ? *target.variant : post.text, media, post.options));
    post.targets.push_back(std::move(target));
  }
  require_valid(checks);

  NewPostResult result;
  if (request.dry_run) {
    const auto now = ctx.clock().now();
    result.post.text = post.text;
    result.post.media = post.media;
    result.post.tags = post.tags;
    result.post.scheduled_at = post.scheduled_at;
    result.post.timezone = post.timezone;
    result.post.key = post.key;
    result.post.options = post.options;
    result.post.created_at = result.post.updated_at = now;
    for (std::size_t i = 0; i < post.targets.size(); ++i) {
      model::Target t;
      t.account_id = accounts[i].id;
      t.account_ref = accounts[i].ref();
      t.platform = accounts[i].platform;
      t.variant = post.targets[i].variant;
      t.status = when ? model::TargetStatus::scheduled : model::TargetStatus::draft;
      t.next_attempt_at = when;
      result.post.targets.push_back(std::move(t));
    }
    result.previews = previews_for(ctx, result.post, accounts);
    return result;
  }
  auto created = ctx.store().create_post(post, ctx.clock().now());
  result.post = std::move(created.post);
  result.created = created.created;
  return result;
}

namespace {

// A bare network's rules, with thread: auto counting the parts of an
// over-long text instead of failing it.
platforms::ValidationReport check_network(Context& ctx, const std::string& network, const std::string& text,
                                          const nlohmann::json& options) {
  auto report = check_for_network(ctx, network, text);
  if (report.ok() || !text::has_rules(network) || platforms::option_string(options, nullptr, "thread") != "auto" ||
      !text::valid_utf8(text) || text::trim(text).empty()) {
    return report;
  }
  try {
    const auto parts =
        text::split_thread(text, [&](std::string_view part) { return text::measure(network, part).ok(); });
    report.parts = static_cast<int>(parts.size());
    report.problems.clear();
  } catch (const Error& e) {
    report.problems = {e.what()};
  }
  return report;
}

}  // namespace

nlohmann::json post_options(const NewPostRequest& request) {
  nlohmann::json options = nlohmann::json::object();
  if (request.adapt_at_publish) {
    options["adapt_at_publish"] = true;
    options["tone"] = request.tone;
  }
  if (!request.thread.empty()) {
    if (request.thread != "auto" && request.thread != "never") {
      throw_usage("--thread '" + request.thread + "' is not one of auto, never");
    }
    options["thread"] = request.thread;
  }
  if (request.alt.size() > request.media.size()) {
    throw_usage(std::to_string(request.alt.size()) + " --alt texts for " + std::to_string(request.media.size()) +
                " media files: give one --alt per --media, in the same order");
  }
  if (!request.alt.empty()) options["alt"] = request.alt;
  if (!request.cw.empty()) options["cw"] = request.cw;
  if (!request.language.empty()) options["language"] = request.language;
  return options;
}

std::vector<CheckResult> check(Context& ctx, const std::string& text, const std::vector<std::string>& to,
                               const std::vector<std::string>& media, const nlohmann::json& options) {
  const auto refs = split_refs(to);
  if (refs.empty()) throw_usage("nothing to check against: add --to REF or a network name (e.g. --to discord)");
  std::vector<std::string> paths = media;
  for (auto& m : paths) {
    if (is_media_ref(m)) m = resolve_media(ctx, m).path;
  }
  const auto files = checked_media(paths);
  std::vector<CheckResult> out;
  for (const auto& ref : refs) {
    // A bare network name checks that network's own rules, no account needed:
    // feed and webhook through their adapters, the others through text rules.
    if (ref.find(':') == std::string::npos && (platforms::is_platform(ref) || text::has_rules(ref))) {
      out.push_back({ref, ref, check_network(ctx, ref, text, options)});
      continue;
    }
    try {
      out.push_back(check_account(ctx, resolve_account(ctx, ref), text, files, options));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::not_found || ref.find(':') != std::string::npos) throw;
      std::string networks;
      for (const auto name : platforms::platform_names()) networks += std::string(networks.empty() ? "" : ", ") += name;
      for (const auto name : text::networks_with_rules()) networks += std::string(", ") += name;
      throw_not_found("'" + ref + "' is neither an account nor a network (networks: " + networks + "; " + e.what() +
                      ")");
    }
  }
  return out;
}

std::vector<model::Post> list_posts(Context& ctx, const ListRequest& request) {
  if (request.limit < 1) throw_usage("--limit must be at least 1");
  if (request.before_id < 0) throw_usage("the cursor must be a post id");
  store::PostFilter filter;
  filter.limit = request.limit;
  filter.before_id = request.before_id;
  if (request.status) {
    const std::string& s = *request.status;
    // "unknown", "retry_wait" and "claimed" are most useful as "any target in
    // that state"; the others name the derived post status.
    if (s == "overdue") {
      filter.overdue_before = ctx.clock().now() - ctx.config().daemon.late_grace;
    } else if (s == "unknown" || s == "retry_wait" || s == "claimed") {
      filter.target_status = model::parse_target_status(s);
    } else {
      try {
        filter.status = model::parse_post_status(s);
      } catch (const Error&) {
        throw_usage("unknown status '" + s +
                    "' (expected one of: draft, scheduled, publishing, published, partial, failed, cancelled, "
                    "unknown, retry_wait, claimed, overdue)");
      }
    }
  }
  if (request.to) filter.account_id = resolve_account(ctx, *request.to).id;
  const auto now = ctx.clock().now();
  if (request.since) filter.since = schedule::parse_when(*request.since, now, ctx.zone());
  if (request.until) filter.until = schedule::parse_when(*request.until, now, ctx.zone());
  return ctx.store().list_posts(filter);
}

model::Post get_post(Context& ctx, std::int64_t id) {
  if (auto p = ctx.store().find_post(id)) return *p;
  throw_not_found("post " + std::to_string(id) + " does not exist (see 'multivio post list')");
}

std::vector<model::Attempt> post_attempts(Context& ctx, const model::Post& post) {
  std::vector<model::Attempt> out;
  for (const auto& t : post.targets) {
    auto a = ctx.store().attempts(t.id);
    out.insert(out.end(), a.begin(), a.end());
  }
  return out;
}

model::Post edit_post(Context& ctx, const EditRequest& request) {
  auto post = get_post(ctx, request.id);
  if (request.text) post.text = *request.text;
  if (request.tags) post.tags = *request.tags;
  for (const auto& [ref, text] : request.variants) {
    const auto account = resolve_account(ctx, ref);
    auto it = std::find_if(post.targets.begin(), post.targets.end(),
                           [&](const model::Target& t) { return t.account_id == account.id; });
    if (it == post.targets.end()) throw_usage("--variant " + ref + ": that account is not a target of this post");
    it->variant = text.empty() ? std::nullopt : std::optional<std::string>(text);
  }
  std::vector<CheckResult> checks;
  for (const auto& t : post.targets) {
    if (!unfinished(t.status)) continue;
    const auto account = ctx.store().find_account(t.account_id);
    if (account) {
      checks.push_back(
          check_account(ctx, *account, post.text_for(t), post.media, platforms::publish_options(post, t)));
    }
  }
  require_valid(checks);
  ctx.store().update_post(post, ctx.clock().now());
  return get_post(ctx, request.id);
}

model::Post schedule_post(Context& ctx, std::int64_t id, const std::string& when) {
  get_post(ctx, id);
  const auto t = parse_future(ctx, when);
  ctx.store().schedule_post(id, t, ctx.zone(), ctx.clock().now());
  return get_post(ctx, id);
}

model::Post cancel_post(Context& ctx, std::int64_t id) {
  ctx.store().cancel_post(id, ctx.clock().now());
  return get_post(ctx, id);
}

void delete_post(Context& ctx, std::int64_t id) { ctx.store().delete_post(id); }

model::Post retry_post(Context& ctx, std::int64_t id) {
  if (ctx.store().retry_post(id, ctx.clock().now()) == 0) {
    throw_usage("post " + std::to_string(id) + " has no failed, unknown or cancelled target to retry");
  }
  return get_post(ctx, id);
}

PublishOutcome publish_post(Context& ctx, std::int64_t id, bool dry_run) {
  auto post = get_post(ctx, id);
  PublishOutcome outcome;
  if (dry_run) {
    model::Post pending = post;
    pending.targets.clear();
    std::vector<model::Account> accounts;
    for (const auto& t : post.targets) {
      if (!unfinished(t.status)) continue;
      auto account = ctx.store().find_account(t.account_id);
      if (!account) continue;
      pending.targets.push_back(t);
      accounts.push_back(std::move(*account));
    }
    if (pending.targets.empty()) throw_usage("post " + std::to_string(id) + " has nothing left to publish");
    outcome.previews = previews_for(ctx, pending, accounts);
    outcome.post = std::move(post);
    return outcome;
  }
  const std::string owner = make_owner_id("cli");
  auto claims = ctx.store().claim_post(id, ctx.clock().now(), owner, ctx.config().daemon.lease);
  if (claims.empty()) {
    throw_usage("post " + std::to_string(id) + " has nothing left to publish (status: " +
                std::string(model::to_string(post.status())) + "; use 'post retry' for failed targets)");
  }
  Publisher publisher(ctx, owner);
  for (const auto& claim : claims) publisher.publish(claim);
  outcome.post = get_post(ctx, id);
  outcome.all_published = std::all_of(outcome.post.targets.begin(), outcome.post.targets.end(), [](const auto& t) {
    return t.status == model::TargetStatus::published || t.status == model::TargetStatus::cancelled;
  });
  return outcome;
}

}  // namespace multivio::app
