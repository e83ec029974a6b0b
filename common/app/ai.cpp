// SPDX-License-Identifier: MIT
#include "common/app/ai.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>

#include <spdlog/spdlog.h>

#include "common/app/accounts.hpp"
#include "common/schedule/when.hpp"
#include "common/text/rules.hpp"
#include "common/text/text.hpp"

namespace multivio::app {
namespace {

constexpr const char* kKeySecret = "ai.api_key";

ai::ChatOptions chat_options(Context& ctx) {
  const auto& cfg = ctx.config().ai;
  ai::ChatOptions o;
  o.base_url = cfg.base_url;
  o.model = cfg.model;
  o.api_key = api_key(ctx);
  o.timeout = cfg.timeout;
  o.temperature = cfg.temperature;
  o.max_tokens = cfg.max_tokens;
  o.max_retries = cfg.retries;
  return o;
}

std::string provider(Context& ctx) { return "ai (" + ctx.config().ai.base_url + ")"; }

void record(Context& ctx, const std::string& purpose, bool ok, const ai::Usage& usage) {
  store::AiUsageRecord r;
  r.at = ctx.clock().now();
  r.provider = ctx.config().ai.base_url;
  r.model = usage.model.empty() ? ctx.config().ai.model : usage.model;
  r.purpose = purpose;
  r.ok = ok;
  r.prompt_tokens = usage.prompt_tokens;
  r.completion_tokens = usage.completion_tokens;
  r.latency = usage.latency;
  try {
    ctx.store().record_ai_usage(r);
  } catch (const std::exception& e) {
    // Accounting must not cost the user the text they paid for.
    spdlog::warn("could not record AI usage: {}", e.what());
  }
}

/// Models like to wrap posts in quotes or add a preamble line; the post is
/// what is left after the obvious wrappers.
std::string clean(std::string_view raw) {
  std::string_view s = text::trim(raw);
  auto strip_pair = [&](std::string_view open, std::string_view close) {
    if (s.size() >= open.size() + close.size() && s.starts_with(open) && s.ends_with(close)) {
      s = text::trim(s.substr(open.size(), s.size() - open.size() - close.size()));
      return true;
    }
    return false;
  };
  while (strip_pair("\"", "\"") || strip_pair("\u201c", "\u201d") || strip_pair("```", "```")) {
  }
  return std::string(s);
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : std::string(sep)) + i;
  return out;
}

/// One sentence stating a network's length rule, for the prompt.
std::string rule_sentence(Context& ctx, const std::string& network) {
  const auto report = check_for_network(ctx, network, "x");
  if (report.limit == 0) return "There is no length limit, but keep it short.";
  std::string unit = "characters";
  if (text::has_rules(network)) unit = text::measure(network, "x").unit;
  std::string rule = "It must be at most " + std::to_string(report.limit) + " " + unit + ".";
  if (network == "x") rule += " Every link counts as 23 characters; emoji and CJK characters count as 2.";
  if (network == "mastodon") rule += " Every link counts as 23 characters.";
  if (network == "bluesky") rule += " It must also be at most 3000 bytes of UTF-8.";
  return rule;
}

std::string style_sentences(const Style& style) {
  std::string s;
  if (!style.tone.empty()) s += " Tone: " + style.tone + ".";
  if (!style.audience.empty()) s += " Audience: " + style.audience + ".";
  s += style.hashtags ? " Add a few relevant hashtags if they help." : " Use no hashtags.";
  s += style.emoji ? " Emoji are welcome where natural." : " Use no emoji.";
  s += style.links ? " Keep any links from the request." : " Include no links.";
  return s;
}

std::string system_prompt(const std::string& network) {
  return "You write social media posts" + (network.empty() ? std::string() : " for " + network) +
         ". Reply with the post text only: no quotes around it, no preamble, no explanation, no markdown.";
}

void add_usage(ai::Usage& total, const ai::Usage& call) {
  total.model = call.model.empty() ? total.model : call.model;
  total.prompt_tokens += call.prompt_tokens;
  total.completion_tokens += call.completion_tokens;
  total.latency += call.latency;
}

std::string problems_of(const platforms::ValidationReport& r) { return join(r.problems, "; "); }

/// Asks, checks against the network, asks again with the problem stated.
AiText converse(Context& ctx, std::vector<ai::Message> messages, const std::string& network, bool fit,
                const std::string& purpose, const std::function<void(std::string_view)>& on_delta) {
  ai::ChatClient client(ctx.http(), chat_options(ctx));
  const int rewrites = ctx.config().ai.rewrites;
  AiText out;
  out.network = network;
  for (int round = 0;; ++round) {
    ai::ChatResult result;
    try {
      result = client.complete(messages, round == 0 ? on_delta : std::function<void(std::string_view)>{});
    } catch (const Error&) {
      record(ctx, purpose, false, ai::Usage{});
      throw;
    }
    record(ctx, purpose, true, result.usage);
    add_usage(out.usage, result.usage);
    out.text = clean(result.text);
    out.cleaned = out.text != text::trim(result.text);
    out.rewrites = round;
    if (network.empty()) {
      out.length = text::code_points(out.text);
      return out;
    }
    const auto report = check_for_network(ctx, network, out.text);
    out.length = report.length;
    out.limit = report.limit;
    if (report.ok()) return out;
    if (round >= rewrites) {
      if (fit) {
        if (auto shorter = fit_text(ctx, network, out.text)) {
          out.fit_note = "shortened from " + std::to_string(report.length) + " to fit " + network + "'s limit of " +
                         std::to_string(report.limit);
          out.text = *shorter;
          out.length = check_for_network(ctx, network, out.text).length;
          return out;
        }
      }
      throw_validation(provider(ctx) + ": the model's text still breaks " + network + "'s rules after " +
                       std::to_string(round) + " rewrite(s): " + problems_of(report) +
                       (fit ? "" : " (--fit shortens it instead)"));
    }
    messages.push_back({"assistant", result.text});
    messages.push_back({"user", "That text breaks the rules for " + network + ": " + problems_of(report) + ". " +
                                    rule_sentence(ctx, network) +
                                    " Write it again so that it fits. Reply with the post text only."});
  }
}

std::string lower_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// "#Release," -> "release"; keeps letters, digits, '_' and non-ASCII bytes.
std::string hashtag_body(std::string_view token) {
  std::string body;
  for (char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '_' || u >= 0x80) body += c;
  }
  return body;
}

}  // namespace

nlohmann::json to_json(const AiText& t) {
  return {
      {"platform", t.network.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.network)},
      {"text", t.text},
      {"length", t.length},
      {"limit", t.limit},
      {"rewrites", t.rewrites},
      {"fit", t.fit_note.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.fit_note)},
      {"usage",
       {{"model", t.usage.model},
        {"prompt_tokens", t.usage.prompt_tokens},
        {"completion_tokens", t.usage.completion_tokens},
        {"latency_ms", t.usage.latency.count()}}},
  };
}

platforms::ValidationReport check_for_network(Context& ctx, const std::string& network, std::string_view text) {
  if (text::has_rules(network)) {
    const auto m = text::measure(network, text);
    return platforms::ValidationReport{m.length, m.limit, m.problems, 1};
  }
  if (platforms::is_platform(network)) return ctx.adapter(network)->validate(text, {}, nullptr);
  if (network.find(':') != std::string::npos) {
    const auto account = resolve_account(ctx, network);
    return ctx.adapter(account.platform)->validate(text, {}, &account);
  }
  std::string known;
  for (const auto n : text::networks_with_rules()) known += std::string(known.empty() ? "" : ", ") += n;
  for (const auto n : platforms::platform_names()) known += std::string(", ") += n;
  throw_usage("unknown network '" + network + "' (known: " + known + ", or an account ref like feed:main)");
}

std::optional<std::string> fit_text(Context& ctx, const std::string& network, const std::string& text) {
  auto fits = [&](const std::string& candidate) {
    return !text::trim(candidate).empty() && check_for_network(ctx, network, candidate).ok();
  };
  // Longest prefix that ends a sentence, then the longest that ends a word
  // (with an ellipsis): never inside a word, so never inside a URL either.
  for (std::size_t end = text.size(); end > 0; --end) {
    const char c = text[end - 1];
    if ((c == '.' || c == '!' || c == '?' || c == '\n') && (end == text.size() || text[end] == ' ' || text[end] == '\n')) {
      std::string candidate(text::trim(std::string_view(text).substr(0, end)));
      if (fits(candidate)) return candidate;
    }
  }
  for (std::size_t end = text.size(); end > 0; --end) {
    if (text[end - 1] != ' ' && text[end - 1] != '\n') continue;
    std::string candidate = std::string(text::trim(std::string_view(text).substr(0, end))) + "\u2026";
    if (fits(candidate)) return candidate;
  }
  return std::nullopt;
}

AiText generate(Context& ctx, const GenerateRequest& request) {
  if (text::trim(request.prompt).empty()) throw_usage("the prompt is empty");
  if (!request.network.empty()) check_for_network(ctx, request.network, "x");  // unknown network: fail before paying
  std::string user = "Write a post about: " + request.prompt + "\n";
  if (!request.network.empty()) user += "It is for " + request.network + ". " + rule_sentence(ctx, request.network);
  user += style_sentences(request.style);
  return converse(ctx, {{"system", system_prompt(request.network)}, {"user", user}}, request.network, request.fit,
                  request.purpose, request.on_delta);
}

std::vector<AiText> transform(Context& ctx, const std::string& text, const std::vector<std::string>& networks,
                              const Style& style, bool fit) {
  if (text::trim(text).empty()) throw_usage("the text to transform is empty");
  if (networks.empty()) throw_usage("name at least one network with --for (e.g. --for x,discord)");
  for (const auto& n : networks) check_for_network(ctx, n, "x");
  std::vector<AiText> out;
  for (const auto& network : networks) {
    std::string user = "Rewrite the post below for " + network + ". " + rule_sentence(ctx, network) +
                       style_sentences(style) + " Keep its meaning and its links.\n\nPost:\n" + text;
    out.push_back(converse(ctx, {{"system", system_prompt(network)}, {"user", user}}, network, fit, "transform", {}));
  }
  return out;
}

std::vector<std::string> hashtags(Context& ctx, const std::string& text, int count,
                                  const std::vector<std::string>& networks) {
  if (text::trim(text).empty()) throw_usage("the text to find hashtags for is empty");
  if (count < 1 || count > 30) throw_usage("--count must be between 1 and 30");
  for (const auto& n : networks) check_for_network(ctx, n, "x");
  const std::string user = "Suggest " + std::to_string(count) +
                           " hashtags for the post below. Reply with the hashtags only, separated by spaces, each "
                           "starting with #.\n\nPost:\n" + text;
  const AiText answer =
      converse(ctx, {{"system", system_prompt("")}, {"user", user}}, "", false, "hashtags", {});
  std::vector<std::string> tags;
  std::set<std::string> seen;
  std::string token;
  auto flush = [&] {
    const std::string body = hashtag_body(token);
    token.clear();
    // An all-digit tag is not a hashtag on X, Mastodon or Instagram.
    const bool has_letter = std::any_of(body.begin(), body.end(), [](char c) {
      return !std::isdigit(static_cast<unsigned char>(c));
    });
    if (body.empty() || !has_letter || static_cast<int>(tags.size()) >= count) return;
    if (seen.insert(lower_ascii(body)).second) tags.push_back("#" + body);
  };
  for (char c : answer.text) {
    if (c == ' ' || c == '\n' || c == ',' || c == '\t' || c == '#') {
      if (!token.empty()) flush();
    } else {
      token += c;
    }
  }
  if (!token.empty()) flush();
  // Drop from the end until the set, written as one line, fits every network.
  for (const auto& network : networks) {
    while (!tags.empty() && !check_for_network(ctx, network, join(tags, " ")).ok()) tags.pop_back();
  }
  return tags;
}

void store_api_key(Context& ctx, const std::string& key) {
  const std::string trimmed(text::trim(key));
  if (trimmed.empty()) throw_usage("no API key on standard input");
  if (trimmed.find_first_of(" \t\r\n") != std::string::npos) throw_usage("an API key has no spaces or line breaks");
  ctx.store().put_secret(kKeySecret, ctx.sealer().seal(trimmed), ctx.clock().now());
}

std::vector<store::AiUsageTotal> usage(Context& ctx, const std::optional<std::string>& since) {
  std::optional<model::Timestamp> from;
  if (since) from = schedule::parse_when(*since, ctx.clock().now(), ctx.zone());
  return ctx.store().ai_usage(from);
}

std::string api_key(Context& ctx) {
  const std::string& var = ctx.config().ai.api_key_env;
  if (!var.empty()) {
    if (auto v = ctx.options().env(var); v && !v->empty()) return *v;
  }
  if (auto sealed = ctx.store().get_secret(kKeySecret)) return ctx.sealer().open(*sealed);
  throw_auth("no API key for the AI provider: set " + (var.empty() ? std::string("ai.api_key_env") : var) +
             " or run 'multivio ai login'");
}

}  // namespace multivio::app
