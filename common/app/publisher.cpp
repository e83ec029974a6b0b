// SPDX-License-Identifier: MIT
#include "common/app/publisher.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "common/app/accounts.hpp"
#include "common/app/ai.hpp"
#include "common/app/reconcile.hpp"
#include "common/app/token_health.hpp"

namespace multivio::app {

Publisher::Publisher(Context& ctx, std::string owner)
    : ctx_(ctx), owner_(std::move(owner)), rng_(std::random_device{}()) {}

store::AttemptResult Publisher::publish(const store::Claim& claim) {
  const auto& target = claim.target;
  const auto& account = claim.account;
  // AI adaptation comes before the attempt row: the row must immediately
  // precede the network call, and AI trouble never blocks a post.
  std::string adapted;
  std::string note;
  if (claim.post.options.value("adapt_at_publish", false) && !target.variant) {
    try {
      Style style;
      style.tone = claim.post.options.value("tone", "");
      adapted = transform(ctx_, claim.post.text, {account.ref()}, style, true).front().text;
      ctx_.store().set_target_variant(target.id, owner_, adapted);
    } catch (const std::exception& e) {
      adapted.clear();
      note = std::string("AI adaptation failed, published the original text: ") + e.what();
      spdlog::warn("post={} target={} {}", claim.post.id, target.id, note);
    }
  }
  credentials_failed_ = false;
  const model::Attempt attempt = ctx_.store().begin_attempt(target.id, owner_, ctx_.clock().now());
  spdlog::debug("publishing post={} target={} attempt={} account={}", claim.post.id, target.id, attempt.id,
                account.ref());

  store::AttemptResult result;
  bool dedupes = false;
  // Attempts before the last `post retry` do not count against the budget.
  const int attempt_in_budget = attempt.number - target.retry_from;
  try {
    auto adapter = ctx_.adapter(account.platform);
    dedupes = adapter->capabilities(&account).idempotency_key;
    const std::string& text = adapted.empty() ? claim.post.text_for(target) : adapted;
    // Rules can change between scheduling and publishing (an edited account,
    // a new limit): a post that would be rejected is not sent at all.
    const auto report =
        adapter->validate(text, claim.post.media, &account, platforms::publish_options(claim.post, target));
    if (!report.ok()) {
      std::string problems;
      for (const auto& p : report.problems) problems += (problems.empty() ? "" : "; ") + p;
      throw Error(ErrorKind::validation, problems);
    }
    nlohmann::json secrets = open_secrets(ctx_, account);
    ensure_fresh_token(ctx_, *adapter, account, secrets, ctx_.clock().now());
    platforms::PublishRequest request{claim.post, target, account, secrets, text, attempt.idempotency_key};
    request.record_parts = [&](const std::vector<std::string>& ids) {
      ctx_.store().record_remote_ids(target.id, owner_, ids);
    };
    request.save_secrets = [&](const nlohmann::json& fresh) { save_secrets(ctx_, account.id, fresh); };
    request.progress = target.progress;
    request.save_progress = [&](const nlohmann::json& progress) {
      ctx_.store().save_target_progress(target.id, owner_, progress);
    };
    if (attempt.number > 1) {
      const auto earlier = ctx_.store().attempts(target.id);
      for (const auto& a : earlier) {
        if (a.number == attempt.number - 1) request.after_unknown = a.outcome == model::AttemptOutcome::unknown;
      }
    }
    auto published = adapter->publish(request);
    result = schedule::succeeded(std::move(published.remote_ids), std::move(published.remote_url),
                                 published.http_status);
    result.error = note;  // kept on the attempt row; the target shows no error
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::auth) {
      credentials_failed_ = true;
      try {
        ctx_.store().set_account_health(account.id, false, e.what());
      } catch (const std::exception& inner) {
        spdlog::warn("account={} could not be marked unhealthy: {}", account.ref(), inner.what());
      }
    }
    // Adapters usually name the account already; say it once.
    const bool named = std::string_view(e.what()).find(account.ref()) != std::string_view::npos ||
                       std::string_view(e.what()).find(account.platform + ":") == 0;
    result = schedule::failed(named ? e : e.with_prefix(account.ref()), attempt_in_budget, dedupes,
                              ctx_.retry_policy(), ctx_.clock().now(), rng_);
  } catch (const std::exception& e) {
    result = schedule::failed(Error(ErrorKind::permanent, account.ref() + ": internal error: " + e.what()),
                              attempt_in_budget, dedupes, ctx_.retry_policy(), ctx_.clock().now(), rng_);
  }
  ctx_.store().finish_attempt(attempt.id, result, ctx_.clock().now());
  // Sent but unanswered on a network that cannot dedupe: if the post is
  // already visible among the account's recent ones, it landed.
  if (result.next_status == model::TargetStatus::unknown && reconcile_from_recent(ctx_, target)) {
    result.next_status = model::TargetStatus::published;
    result.error.clear();
  }

  const auto level = result.next_status == model::TargetStatus::published ? spdlog::level::info
                     : result.next_status == model::TargetStatus::retry_wait ? spdlog::level::warn
                                                                               : spdlog::level::err;
  spdlog::log(level, "{} post={} target={} attempt={} account={}{}{}", model::to_string(result.next_status),
              claim.post.id, target.id, attempt.id, account.ref(), result.error.empty() ? "" : " error: ",
              result.error);
  return result;
}

std::string make_owner_id(std::string_view role) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(role) + "@" + host + ":" + std::to_string(::getpid()) + ":" + crypto::random_hex(4);
}

}  // namespace multivio::app
