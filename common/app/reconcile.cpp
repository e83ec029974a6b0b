// SPDX-License-Identifier: MIT
#include "common/app/reconcile.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/app/accounts.hpp"
#include "common/text/rules.hpp"

namespace multivio::app {
namespace {

constexpr std::size_t k_recent = 20;
constexpr std::chrono::minutes k_clock_slack{5};

std::string normalized(std::string_view text) {
  std::string out;
  std::size_t at = 0;
  auto append_words = [&out](std::string_view part) {
    for (const char c : part) {
      const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
      if (space) {
        if (!out.empty() && out.back() != ' ') out += ' ';
      } else {
        out += c;
      }
    }
  };
  for (const auto& url : text::find_urls(text)) {
    append_words(text.substr(at, url.begin - at));
    out += "\x01";  // any URL: the network may have rewritten it
    at = url.end;
  }
  append_words(text.substr(at));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

bool same_post_text(std::string_view published, std::string_view expected) {
  return normalized(published) == normalized(expected);
}

bool reconcile_from_recent(Context& ctx, const model::Target& given) {
  try {
    const auto account = ctx.store().find_account(given.account_id);
    const auto post = ctx.store().find_post(given.post_id);
    if (!account || !post) return false;
    // The stored row, not the caller's copy: parts recorded since count.
    const auto it = std::find_if(post->targets.begin(), post->targets.end(),
                                 [&](const model::Target& t) { return t.id == given.id; });
    if (it == post->targets.end() || it->status != model::TargetStatus::unknown) return false;
    const model::Target& target = *it;
    if (!target.remote_ids.empty()) return false;  // a thread under way: its parts are recorded one by one
    auto adapter = ctx.adapter(account->platform);
    if (!adapter->capabilities(&*account).find_recent) return false;
    const std::string& expected = post->text_for(target);
    const auto recent = adapter->find_recent(*account, open_secrets(ctx, *account), k_recent);
    for (const auto& remote : recent) {
      // Older than the post itself: an earlier post with the same words
      // (with some slack for the network's clock).
      if (remote.created_at != model::Timestamp{} && remote.created_at < post->created_at - k_clock_slack) continue;
      if (!same_post_text(remote.text, expected)) continue;
      if (ctx.store().resolve_unknown(target.id, {remote.id}, remote.url, ctx.clock().now())) {
        spdlog::info("reconciled post={} target={} account={}: found on the network as {}", target.post_id,
                     target.id, account->ref(), remote.id);
        return true;
      }
      return false;
    }
  } catch (const std::exception& e) {
    spdlog::warn("target={}: could not look for it among recent posts: {}", given.id, e.what());
  }
  return false;
}

}  // namespace multivio::app
