// SPDX-License-Identifier: MIT
// Writing help from the model: prompts that state each network's rules, a
// validation loop that sends a text back while it breaks them, usage
// records, and the stored API key.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ai/client.hpp"
#include "common/app/context.hpp"

namespace multivio::app {

/// What the prompt asks for besides the topic.
struct Style {
  std::string tone;      // "friendly", "formal", ...; empty: not stated
  std::string audience;  // "developers", ...; empty: not stated
  bool hashtags = true;
  bool emoji = true;
  bool links = true;
};

/// One generated text, checked against one network's rules.
struct AiText {
  std::string network;  // empty when generated without --for
  std::string text;
  std::size_t length = 0;
  std::size_t limit = 0;
  int rewrites = 0;        // times the model was asked again
  std::string fit_note;    // set when --fit shortened the text
  bool cleaned = false;    // quotes or fences were stripped from what was streamed
  ai::Usage usage;         // summed over the calls for this text
};
nlohmann::json to_json(const AiText& t);

struct GenerateRequest {
  std::string prompt;
  std::string network;  // platform or network name (x, discord, feed, ...); empty: any
  Style style;
  bool fit = false;     // shorten instead of failing when rewrites run out
  std::string purpose = "generate";
  /// Streams the first answer's text as it arrives.
  std::function<void(std::string_view)> on_delta;
};
AiText generate(Context& ctx, const GenerateRequest& request);

/// One variant of `text` per network, each valid for it.
std::vector<AiText> transform(Context& ctx, const std::string& text, const std::vector<std::string>& networks,
                              const Style& style, bool fit);

/// Up to `count` hashtags for the text ("#release"), deduplicated
/// case-insensitively and valid on every named network.
std::vector<std::string> hashtags(Context& ctx, const std::string& text, int count,
                                  const std::vector<std::string>& networks);

/// Stores the API key sealed in the database (`multivio ai login`).
void store_api_key(Context& ctx, const std::string& key);

/// Usage since a time (WHEN), summed per provider and model.
std::vector<store::AiUsageTotal> usage(Context& ctx, const std::optional<std::string>& since);

/// The key: the env var named by ai.api_key_env, else the stored one.
/// Throws Error(auth) saying how to provide one.
std::string api_key(Context& ctx);

/// Measures text for a network by its rules: a text rule (x, discord, ...)
/// or, for feed and webhook, the adapter's own validation.
platforms::ValidationReport check_for_network(Context& ctx, const std::string& network, std::string_view text);

/// Shortens text at a sentence, then a word boundary until it fits the
/// network; nullopt when even one word does not.
std::optional<std::string> fit_text(Context& ctx, const std::string& network, const std::string& text);

}  // namespace multivio::app
