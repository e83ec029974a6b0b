// SPDX-License-Identifier: MIT
// `multivio ai ...`: writing help from the model (Grok by default; any
// OpenAI-compatible server through ai.base_url).
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/cli.hpp"
#include "cli/input.hpp"
#include "cli/output/table.hpp"
#include "common/app/ai.hpp"
#include "common/error.hpp"

namespace multivio::cli {
namespace {

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::size_t start = 0;
    for (;;) {
      const auto comma = v.find(',', start);
      const std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) out.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

// TEXT as an argument or "-" for standard input.
std::string text_argument(const CLI::Option* opt, const std::string& value) {
  if (opt->count() == 0) throw_usage("missing TEXT: give it as an argument or '-' to read standard input");
  if (value != "-") return value;
  std::string piped = input::read_stdin();
  if (piped.empty()) throw_usage("no text on standard input");
  return piped;
}

struct StyleFlags {
  std::string tone, audience;
  bool no_hashtags = false, no_emoji = false, no_links = false;

  void add(CLI::App* cmd) {
    cmd->add_option("--tone", tone, "Tone, e.g. friendly, formal, playful")->type_name("TONE");
    cmd->add_option("--audience", audience, "Who reads it, e.g. \"backend developers\"")->type_name("WHO");
    cmd->add_flag("--no-hashtags", no_hashtags, "Ask for no hashtags");
    cmd->add_flag("--no-emoji", no_emoji, "Ask for no emoji");
    cmd->add_flag("--no-links", no_links, "Ask for no links");
  }
  app::Style style() const { return app::Style{tone, audience, !no_hashtags, !no_emoji, !no_links}; }
};

void print_text(const output::Printer& out, const app::AiText& t, bool streamed) {
  if (!t.fit_note.empty()) out.note("note: " + t.fit_note);
  if (t.rewrites > 0) out.note("note: the model was asked " + std::to_string(t.rewrites) + " more time(s) to fit " + t.network);
  // A streamed answer that needed no change is already on the screen, but
  // for its line break.
  if (streamed) out.line("");
  if (!streamed || t.rewrites > 0 || !t.fit_note.empty() || t.cleaned) out.line(t.text);
  if (!t.network.empty()) {
    out.note(t.network + ": " + std::to_string(t.length) + (t.limit ? "/" + std::to_string(t.limit) : std::string()));
  }
}

void add_generate(CLI::App& group, Session& session) {
  struct Flags {
    std::string prompt, network;
    int variants = 1;
    bool stream = false, fit = false;
    StyleFlags style;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = group.add_subcommand("generate", "Write a post from a prompt, checked against a network's rules");
  cmd->add_option("PROMPT", f->prompt, "What the post is about")->required()->type_name("");
  cmd->add_option("--for", f->network, "Network or account whose rules the text must meet (x, discord, feed:main...)")
      ->type_name("NETWORK");
  cmd->add_option("--variants", f->variants, "How many different texts to write")->check(CLI::Range(1, 10));
  cmd->add_flag("--stream", f->stream, "Show the text as it arrives (the default on a terminal)");
  cmd->add_flag("--fit", f->fit, "Shorten a text that still breaks the rules instead of failing");
  f->style.add(cmd);
  examples(cmd, {"multivio ai generate \"announce v1.2: faster sync, new CLI\" --for x --tone friendly",
                 "multivio ai generate \"we are hiring a Rust engineer\" --for discord --variants 3",
                 "multivio --json ai generate \"release notes for v2\" --for mastodon"});

  session.on_run(cmd, [&session, f] {
    const auto& out = session.out();
    const bool stream = !out.json() && (f->stream || ::isatty(STDOUT_FILENO)) && f->variants == 1;
    app::GenerateRequest request;
    request.prompt = f->prompt;
    request.network = f->network;
    request.style = f->style.style();
    request.fit = f->fit;
    if (stream) {
      request.on_delta = [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
      };
    }
    nlohmann::json docs = nlohmann::json::array();
    for (int i = 0; i < f->variants; ++i) {
      auto* remote = session.remote();
      const auto text = remote ? remote->generate(request) : app::generate(session.ctx(), request);
      if (out.json()) {
        docs.push_back(app::to_json(text));
      } else {
        if (f->variants > 1) out.line(i == 0 ? "--- 1" : "\n--- " + std::to_string(i + 1));
        print_text(out, text, stream);
      }
    }
    if (out.json()) out.json_doc(f->variants == 1 ? docs.front() : docs);
    return 0;
  });
}

void add_transform(CLI::App& group, Session& session) {
  struct Flags {
    std::string text;
    std::vector<std::string> networks;
    bool fit = false;
    StyleFlags style;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = group.add_subcommand("transform", "Rewrite a text once per network, each valid for it");
  auto* text = cmd->add_option("TEXT", f->text, "The text; '-' reads standard input")->type_name("");
  cmd->add_option("--for", f->networks, "Networks or accounts, comma-separated")
      ->required()
      ->delimiter(',')
      ->type_name("NETWORK");
  cmd->add_flag("--fit", f->fit, "Shorten a text that still breaks the rules instead of failing");
  f->style.add(cmd);
  examples(cmd, {"multivio ai transform \"$(cat NEWS.md)\" --for x,mastodon,discord",
                 "git log -1 --format=%B | multivio ai transform - --for bluesky --tone playful"});

  session.on_run(cmd, [&session, f, text] {
    const std::string body = text_argument(text, f->text);
    const auto networks = split_commas(f->networks);
    auto* remote = session.remote();
    const auto results = remote ? remote->transform(body, networks, f->style.style(), f->fit)
                                : app::transform(session.ctx(), body, networks, f->style.style(), f->fit);
    const auto& out = session.out();
    if (out.json()) {
      nlohmann::json docs = nlohmann::json::array();
      for (const auto& r : results) docs.push_back(app::to_json(r));
      out.json_doc(docs);
      return 0;
    }
    for (std::size_t i = 0; i < results.size(); ++i) {
      out.line((i ? "\n--- " : "--- ") + results[i].network);
      print_text(out, results[i], false);
    }
    return 0;
  });
}

void add_hashtags(CLI::App& group, Session& session) {
  struct Flags {
    std::string text;
    int count = 5;
    std::vector<std::string> networks;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = group.add_subcommand("hashtags", "Suggest hashtags for a text, deduplicated and valid per network");
  auto* text = cmd->add_option("TEXT", f->text, "The text; '-' reads standard input")->type_name("");
  cmd->add_option("--count", f->count, "How many hashtags at most")->check(CLI::Range(1, 30));
  cmd->add_option("--for", f->networks, "Networks the set must fit, comma-separated")->delimiter(',')->type_name("NETWORK");
  examples(cmd, {"multivio ai hashtags \"v1.2: faster sync for self-hosted git\" --count 3",
                 "multivio ai hashtags - --for x < post.txt"});

  session.on_run(cmd, [&session, f, text] {
    const std::string body = text_argument(text, f->text);
    const auto networks = split_commas(f->networks);
    auto* remote = session.remote();
    const auto tags = remote ? remote->hashtags(body, f->count, networks)
                             : app::hashtags(session.ctx(), body, f->count, networks);
    const auto& out = session.out();
    if (out.json()) {
      out.json_doc(tags);
    } else {
      out.line(output::join(tags, " "));
    }
    return 0;
  });
}

void add_login(CLI::App& group, Session& session) {
  auto* cmd = group.add_subcommand("login", "Store the AI provider's API key, encrypted, read from standard input");
  examples(cmd, {"multivio ai login < ~/.xai-key", "pass show xai | multivio ai login"});
  session.on_run(cmd, [&session] {
    app::store_api_key(session.ctx(), input::read_stdin());
    const auto& out = session.out();
    if (out.json()) {
      out.json_doc({{"stored", true}});
    } else if (!out.quiet()) {
      out.line("API key stored (encrypted). An environment variable named by ai.api_key_env still takes precedence.");
    }
    return 0;
  });
}

void add_usage(CLI::App& group, Session& session) {
  auto since = std::make_shared<std::string>();
  auto* cmd = group.add_subcommand("usage", "Calls and tokens used, per provider and model");
  cmd->add_option("--since", *since, "Only calls since WHEN, e.g. \"2026-11-01 00:00\"")->type_name("WHEN");
  examples(cmd, {"multivio ai usage", "multivio ai usage --since \"2026-11-01 00:00\" --json"});
  session.on_run(cmd, [&session, since] {
    const auto totals =
        app::usage(session.ctx(), since->empty() ? std::nullopt : std::optional<std::string>(*since));
    const auto& out = session.out();
    if (out.json()) {
      nlohmann::json docs = nlohmann::json::array();
      for (const auto& t : totals) {
        docs.push_back({{"provider", t.provider},
                        {"model", t.model},
                        {"calls", t.calls},
                        {"failed", t.failed},
                        {"prompt_tokens", t.prompt_tokens},
                        {"completion_tokens", t.completion_tokens},
                        {"latency_ms", t.latency.count()}});
      }
      out.json_doc(docs);
      return 0;
    }
    if (totals.empty()) {
      out.line("No AI calls recorded" + (since->empty() ? std::string(".") : " since " + *since + "."));
      return 0;
    }
    output::Table table({"PROVIDER", "MODEL", "CALLS", "FAILED", "PROMPT", "COMPLETION"});
    for (const auto& t : totals) {
      table.add({t.provider, t.model, std::to_string(t.calls), std::to_string(t.failed),
                 std::to_string(t.prompt_tokens), std::to_string(t.completion_tokens)});
    }
    for (const auto& line : table.lines()) out.line(line);
    return 0;
  });
}

}  // namespace

void add_ai_commands(CLI::App& root, Session& session) {
  auto* group = root.add_subcommand("ai", "Write, adapt and tag posts with the AI model (Grok by default)");
  group->require_subcommand(1);
  add_generate(*group, session);
  add_transform(*group, session);
  add_hashtags(*group, session);
  add_login(*group, session);
  add_usage(*group, session);
  examples(group, {"multivio ai generate \"announce v1.2\" --for x",
                   "multivio ai transform \"$(cat NEWS.md)\" --for x,mastodon,discord",
                   "multivio ai hashtags \"v1.2: faster sync\" --count 3",
                   "echo \"$XAI_API_KEY\" | multivio ai login"});
}

}  // namespace multivio::cli
