// SPDX-License-Identifier: MIT
// `multivio post ...`: flags -> app request structs -> output views.
#include <filesystem>
#include <memory>

#include "cli/cli.hpp"
#include "cli/input.hpp"
#include "cli/output/posts.hpp"
#include "cli/output/table.hpp"
#include "common/app/media.hpp"
#include "common/app/posts.hpp"
#include "common/config/config.hpp"
#include "common/error.hpp"

namespace multivio::cli {
namespace {

CLI::Option* add_id(CLI::App* cmd, std::int64_t& id) {
  // CLI11's own message for a non-number ("Could not convert: id = x") does
  // not say what an ID is.
  return cmd->add_option("ID", id, "Post id")
      ->required()
      ->type_name("")
      ->check(positive("a post id (a positive number, see 'multivio post list')"));
}

// Repeatable one-value option: `--tag a --tag b`, never swallowing a following TEXT.
CLI::Option* add_list(CLI::App* cmd, const std::string& name, std::vector<std::string>& into, const std::string& help,
                      const std::string& type) {
  return cmd->add_option(name, into, help)->allow_extra_args(false)->type_name(type);
}

CLI::Option* add_targets(CLI::App* cmd, std::vector<std::string>& into, const std::string& help) {
  return add_list(cmd, "--to", into, help, "REF")->delimiter(',')->required();
}

// Media paths are stored absolute: the daemon does not share the CLI's directory.
std::vector<std::string> absolute_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  // Library ids (ID, media:ID) are resolved by common/app, not against the working directory.
  for (const auto& p : paths) {
    out.push_back(app::is_media_ref(p) ? p
                                       : std::filesystem::absolute(config::expand_home(p)).lexically_normal().string());
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> variants(const std::vector<std::string>& values) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& v : values) out.push_back(input::split_assignment(v, "--variant"));
  return out;
}

// TEXT as an argument, "-" for stdin, or written in the editor (-e).
std::string text_from(const CLI::Option* text_opt, const std::string& text, bool edit, const std::string& help) {
  const bool given = text_opt->count() > 0;
  if (edit) {
    if (given && text == "-") throw_usage("'-' (read standard input) and --edit cannot be combined");
    return input::edit(given ? text : "", help);
  }
  if (!given) throw_usage("missing TEXT: give it as an argument, '-' to read standard input, or -e for your editor");
  if (text != "-") return text;
  std::string piped = input::read_stdin();
  if (piped.empty()) throw_usage("no text on standard input");
  return piped;
}

CLI::Option* add_thread_option(CLI::App* cmd, std::string& into) {
  return cmd->add_option("--thread", into,
                         "auto: a text over the limit becomes a thread (paragraph, sentence, then word breaks); "
                         "never: it is an error (default: the account's setting, else never)")
      ->check(CLI::IsMember({"auto", "never"}).description(""))
      ->type_name("auto|never");
}

void add_new(CLI::App& group, Session& session) {
  struct Flags {
    std::string text, at, key, ai, tone, thread, cw, language;
    std::vector<std::string> to, media, alt, variants, tags;
    bool now = false, draft = false, dry_run = false, edit = false, adapt = false, adapt_at_publish = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = group.add_subcommand("new", "Create a post and schedule it (or publish at the next daemon pass)");
  auto* text = cmd->add_option("TEXT", f->text, "Post text; '-' reads standard input")->type_name("");
  add_targets(cmd, f->to, "Accounts to post to: platform:name or id; comma-separated or repeated");
  auto* at = cmd->add_option("--at", f->at,
                             "When: 2026-12-01T09:00, \"2026-12-01 09:00+01:00\", \"in 2h\", \"tomorrow 09:00\", "
                             "\"mon 9:00\"")
                 ->type_name("WHEN");
  auto* now = cmd->add_flag("--now", f->now, "Due immediately: the next daemon pass publishes it (the default)");
  auto* draft = cmd->add_flag("--draft", f->draft, "Keep as a draft; schedule it later with 'post schedule'");
  at->excludes(now)->excludes(draft);
  now->excludes(draft);
  add_list(cmd, "--media", f->media,
           "Attach a file, or a media library item as ID or media:ID (repeatable; see 'multivio media')", "FILE|ID");
  add_list(cmd, "--alt", f->alt, "Alt text for the media file given in the same position (repeatable)", "TEXT");
  add_thread_option(cmd, f->thread);
  cmd->add_option("--cw", f->cw, "mastodon: content warning shown before the text")->type_name("TEXT");
  cmd->add_option("--lang", f->language, "Language of the text (ISO 639-1, e.g. en)")->type_name("CODE");
  add_list(cmd, "--variant", f->variants, "Text for one account instead of TEXT (repeatable)", "REF=TEXT");
  add_list(cmd, "--tag", f->tags, "Label for finding the post later (repeatable)", "TAG");
  cmd->add_option("--key", f->key, "Idempotency key: re-running with the same key returns the first post (CI run id)")
      ->type_name("KEY");
  cmd->add_flag("--dry-run", f->dry_run, "Validate and print exactly what each account would be sent; store nothing");
  cmd->add_flag("-e,--edit", f->edit, "Write the text in $VISUAL/$EDITOR (TEXT, if given, is the starting point)");
  const std::string ai_group = "AI help (see 'multivio ai --help')";
  cmd->add_option("--ai", f->ai, "Let the model write the text from PROMPT; saved as a draft unless --at/--now")
      ->type_name("PROMPT")
      ->group(ai_group);
  cmd->add_flag("--adapt", f->adapt, "Write a variant for every account from the text now (review it: a draft "
                "unless --at/--now)")
      ->group(ai_group);
  cmd->add_flag("--adapt-at-publish", f->adapt_at_publish,
                "Let the daemon write each account's variant just before publishing (falls back to the text)")
      ->group(ai_group);
  cmd->add_option("--tone", f->tone, "Tone for --ai/--adapt, e.g. friendly, formal")->type_name("TONE")->group(ai_group);
  examples(cmd, {"multivio post new \"v1.2 is out\" --to feed:main --at \"tomorrow 09:00\"",
                 "git log -1 --format=%B | multivio post new - --to feed:main,webhook:ci --now",
                 "multivio post new -e --to feed:main,webhook:discord --variant webhook:discord=\"short\" --draft",
                 "multivio post new \"Release $TAG\" --to webhook:ci --key \"ci-$GITHUB_RUN_ID\" --dry-run",
                 "multivio post new - --to mastodon:main,bluesky:main --thread auto < RELEASE-NOTES.txt",
                 "multivio post new \"New dashboard\" --to bluesky:main --media shot.png --alt \"Graph of p99 latency\"",
                 "multivio post new \"Same graph\" --to mastodon:main --media media:3 --now",
                 "multivio post new --ai \"announce v1.2: faster sync\" --to webhook:discord --tone friendly"});

  session.on_run(cmd, [&session, f, text] {
    app::NewPostRequest request;
    if (f->ai.empty() || text->count() > 0 || f->edit) {
      request.text = text_from(text, f->text, f->edit, "Post to: " + output::join(f->to));
    }
    if (!f->ai.empty()) request.ai_prompt = f->ai;
    request.adapt = f->adapt;
    request.adapt_at_publish = f->adapt_at_publish;
    request.tone = f->tone;
    request.to = f->to;
    if (!f->at.empty()) request.at = f->at;
    request.now = f->now;
    request.draft = f->draft;
    request.media = absolute_paths(f->media);
    request.alt = f->alt;
    request.thread = f->thread;
    request.cw = f->cw;
    request.language = f->language;
    request.variants = variants(f->variants);
    request.tags = f->tags;
    request.key = f->key;
    request.dry_run = f->dry_run;

    auto* remote = session.remote();
    const auto result = remote ? remote->new_post(request) : app::new_post(session.ctx(), request);
    if (f->dry_run) output::show_previews(session.out(), result.post, result.previews, session.zone());
    else output::show_created(session.out(), result, session.zone());
    return 0;
  });
}

void add_list_cmd(CLI::App& group, Session& session) {
  struct Flags {
    std::string status, to, since, until;
    int limit = 100;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = group.add_subcommand("list", "List posts, newest schedule first");
  cmd->add_option("--status", f->status,
                  "Only posts in this state: draft, scheduled, publishing, published, partial, failed, cancelled, "
                  "or with a target in state unknown, retry_wait, claimed; overdue: due longer ago than "
                  "daemon.late_grace or held by late_policy ask")
      ->type_name("STATUS");
  cmd->add_option("--to", f->to, "Only posts to this account")->type_name("REF");
  cmd->add_option("--since", f->since, "Only posts scheduled at or after WHEN")->type_name("WHEN");
  cmd->add_option("--until", f->until, "Only posts scheduled before WHEN")->type_name("WHEN");
  cmd->add_option("--limit", f->limit, "At most N posts")->capture_default_str()->type_name("N")->check(positive());
  examples(cmd, {"multivio post list --status scheduled", "multivio post list --status unknown   # needs a human",
                 "multivio post list --to feed:main --since \"in 0s\" --until \"in 7d\"",
                 "multivio post list --json | jq '.[].id'"});

  session.on_run(cmd, [&session, f] {
    app::ListRequest request;
    auto optional = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional<std::string>(s); };
    request.status = optional(f->status);
    request.to = optional(f->to);
    request.since = optional(f->since);
    request.until = optional(f->until);
    request.limit = f->limit;
    auto* remote = session.remote();
    output::show_posts(session.out(), remote ? remote->list_posts(request) : app::list_posts(session.ctx(), request),
                       session.zone());
    return 0;
  });
}

void add_edit(CLI::App& group, Session& session) {
  struct Flags {
    std::int64_t id = 0;
    std::string text, text_flag;
    std::vector<std::string> variants, tags;
    bool no_tags = false, edit = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = group.add_subcommand("edit", "Change the text, variants or tags of a post not yet published");
  add_id(cmd, f->id);
  auto* text = cmd->add_option("TEXT", f->text, "New text; '-' reads standard input")->type_name("");
  auto* text_flag = cmd->add_option("--text", f->text_flag, "New text (same as TEXT); '-' reads standard input")
                        ->type_name("TEXT");
  text->excludes(text_flag);
  auto* edit = cmd->add_flag("-e,--edit", f->edit, "Edit the current text in $VISUAL/$EDITOR");
  edit->excludes(text)->excludes(text_flag);
  add_list(cmd, "--variant", f->variants, "Text for one account; REF= removes the variant (repeatable)", "REF=TEXT");
  auto* tags = add_list(cmd, "--tag", f->tags, "Replace the tags (repeatable)", "TAG");
  cmd->add_flag("--no-tags", f->no_tags, "Remove all tags")->excludes(tags);
  examples(cmd, {"multivio post edit 12 \"v1.2.1 is out\"", "multivio post edit 12 -e",
                 "multivio post edit 12 --variant webhook:ci=\"v1.2.1 is out #release\"",
                 "multivio post edit 12 --tag release --tag v1.2"});

  session.on_run(cmd, [&session, f, text, text_flag] {
    auto* remote = session.remote();
    app::EditRequest request;
    request.id = f->id;
    if (f->edit) {
      const auto post = remote ? remote->get_post(f->id) : app::get_post(session.ctx(), f->id);
      request.text = input::edit(post.text, "Editing post " + std::to_string(f->id));
    } else if (text->count() > 0 || text_flag->count() > 0) {
      const std::string& value = text->count() > 0 ? f->text : f->text_flag;
      request.text = value == "-" ? input::read_stdin() : value;
    }
    request.variants = variants(f->variants);
    if (f->no_tags) request.tags = std::vector<std::string>{};
    else if (!f->tags.empty()) request.tags = f->tags;
    if (!request.text && request.variants.empty() && !request.tags) {
      throw_usage("nothing to change: give TEXT, -e, --variant, --tag or --no-tags");
    }
    output::show_changed(session.out(), remote ? remote->edit_post(request) : app::edit_post(session.ctx(), request),
                         "Updated", session.zone());
    return 0;
  });
}

// show, schedule, cancel, delete, retry: one ID, one library call.
void add_by_id(CLI::App& group, Session& session) {
  auto id = std::make_shared<std::int64_t>(0);

  auto* show = group.add_subcommand("show", "Show a post and, per account, its status, remote ids, attempts and error");
  add_id(show, *id);
  examples(show, {"multivio post show 12", "multivio post show 12 --json | jq '.targets[] | {account, status}'"});
  session.on_run(show, [&session, id] {
    auto* remote = session.remote();
    output::show_post(session.out(), remote ? remote->get_post(*id) : app::get_post(session.ctx(), *id),
                      session.zone());
    return 0;
  });

  auto when = std::make_shared<std::string>();
  auto* schedule = group.add_subcommand("schedule", "Schedule or reschedule a draft or scheduled post");
  add_id(schedule, *id);
  schedule->add_option("--at", *when, "When: 2026-12-01T09:00, \"in 2h\", \"tomorrow 09:00\", \"mon 9:00\", now")
      ->required()->type_name("WHEN");
  examples(schedule, {"multivio post schedule 12 --at \"tomorrow 09:00\"",
                      "multivio post schedule 12 --at 2026-12-01T09:00+01:00", "multivio post schedule 12 --at now"});
  session.on_run(schedule, [&session, id, when] {
    auto* remote = session.remote();
    output::show_changed(session.out(),
                         remote ? remote->schedule_post(*id, *when) : app::schedule_post(session.ctx(), *id, *when),
                         "Scheduled", session.zone());
    return 0;
  });

  auto* cancel = group.add_subcommand("cancel", "Stop a post's unpublished targets (published ones stay)");
  add_id(cancel, *id);
  examples(cancel, {"multivio post cancel 12"});
  session.on_run(cancel, [&session, id] {
    auto* remote = session.remote();
    output::show_changed(session.out(), remote ? remote->cancel_post(*id) : app::cancel_post(session.ctx(), *id),
                         "Cancelled", session.zone());
    return 0;
  });

  auto* remove = group.add_subcommand("delete", "Delete a post and its history (not from the networks)");
  add_id(remove, *id);
  examples(remove, {"multivio post delete 12"});
  session.on_run(remove, [&session, id] {
    if (auto* remote = session.remote()) remote->delete_post(*id);
    else app::delete_post(session.ctx(), *id);
    output::show_deleted(session.out(), *id);
    return 0;
  });

  auto* retry = group.add_subcommand("retry", "Reschedule failed, unknown or cancelled targets now");
  add_id(retry, *id);
  examples(retry, {"multivio post list --status unknown", "multivio post show 12   # did it reach the network?",
                   "multivio post retry 12"});
  session.on_run(retry, [&session, id] {
    auto* remote = session.remote();
    output::show_changed(session.out(), remote ? remote->retry_post(*id) : app::retry_post(session.ctx(), *id),
                         "Retrying", session.zone());
    return 0;
  });
}

void add_publish(CLI::App& group, Session& session) {
  struct Flags {
    std::int64_t id = 0;
    bool dry_run = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = group.add_subcommand("publish", "Publish a post now, in the foreground; exit 1 if any account fails");
  add_id(cmd, f->id);
  cmd->add_flag("--dry-run", f->dry_run, "Print exactly what each account would be sent; send nothing");
  examples(cmd, {"multivio post publish 12", "multivio post publish 12 --dry-run",
                 "multivio post new \"Deployed $SHA\" --to webhook:ci -q | xargs multivio post publish"});

  session.on_run(cmd, [&session, f] {
    auto* remote = session.remote();
    if (remote && f->dry_run) throw_usage("--dry-run does not work with --remote; run the command on the daemon's host");
    const auto outcome = remote ? remote->publish_post(f->id) : app::publish_post(session.ctx(), f->id, f->dry_run);
    if (f->dry_run) {
      output::show_previews(session.out(), outcome.post, outcome.previews, session.zone());
      return 0;
    }
    output::show_published(session.out(), outcome);
    if (!outcome.all_published) {
      throw_permanent("post " + std::to_string(f->id) + ": not every account was published; see 'multivio post show " +
                      std::to_string(f->id) + "'");
    }
    return 0;
  });
}

void add_check(CLI::App& group, Session& session) {
  struct Flags {
    std::string text, thread;
    std::vector<std::string> to, media;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = group.add_subcommand("check", "Validate text against each network's rules; store nothing (exit 3 if not ok)");
  auto* text = cmd->add_option("TEXT", f->text, "Text to check; '-' reads standard input")->type_name("");
  add_targets(cmd, f->to, "Accounts (platform:name or id) or bare networks (x, mastodon, bluesky, threads, linkedin, facebook, instagram, tiktok, youtube, discord, slack, feed, webhook); comma-separated");
  add_list(cmd, "--media", f->media, "File to attach, or a media library item as ID or media:ID (repeatable)",
           "FILE|ID");
  add_thread_option(cmd, f->thread);
  examples(cmd, {"multivio post check \"v1.2 is out\" --to discord,slack,feed:main",
                 "multivio post check - --to x,bluesky --thread auto < RELEASE-NOTES.txt",
                 "multivio post check - --to webhook:discord < CHANGELOG-summary.txt",
                 "multivio post check \"$MSG\" --to x --json | jq '.[] | select(.ok | not)'"});

  session.on_run(cmd, [&session, f, text] {
    nlohmann::json options = nlohmann::json::object();
    if (!f->thread.empty()) options["thread"] = f->thread;
    const std::string body = text_from(text, f->text, false, "");
    auto* remote = session.remote();
    if (remote && !f->media.empty()) {
      throw_usage("--media does not work with --remote (the daemon cannot read this machine's files)");
    }
    const auto checks = remote ? remote->check(body, f->to, options)
                               : app::check(session.ctx(), body, f->to, absolute_paths(f->media), options);
    output::show_checks(session.out(), checks);
    for (const auto& c : checks) {
      if (!c.report.ok()) return exit_code(ErrorKind::validation);
    }
    return 0;
  });
}

}  // namespace

void add_post_commands(CLI::App& root, Session& session) {
  auto* group = root.add_subcommand("post", "Write, validate, schedule, inspect and publish posts");
  group->require_subcommand(1);
  examples(group, {"multivio post new \"v1.2 is out\" --to feed:main --at \"tomorrow 09:00\"",
                   "multivio post check \"v1.2 is out\" --to discord", "multivio post list --status scheduled",
                   "multivio post show 12"});
  add_new(*group, session);
  add_check(*group, session);
  add_list_cmd(*group, session);
  add_by_id(*group, session);
  add_edit(*group, session);
  add_publish(*group, session);
}

}  // namespace multivio::cli
