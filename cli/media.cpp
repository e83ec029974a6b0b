// SPDX-License-Identifier: MIT
// `multivio media add|list|show|rm`: the media library. The work is in
// common/app/media.cpp and common/media/.
#include <memory>

#include "cli/cli.hpp"
#include "cli/output/media.hpp"
#include "common/app/media.hpp"

namespace multivio::cli {

void add_media_commands(CLI::App& root, Session& session) {
  auto* group = root.add_subcommand("media", "Add, list, show and remove files in the media library");
  group->require_subcommand(1);
  examples(group, {"multivio media add chart.png --alt \"p99 latency by week\"", "multivio media list",
                   "multivio post new \"Weekly chart\" --to mastodon:main --media media:1 --now"});

  auto file = std::make_shared<std::string>();
  auto alt = std::make_shared<std::string>();
  auto* add = group->add_subcommand(
      "add", "Copy a file into the library; the same bytes are stored once. Prints the media id");
  add->add_option("FILE", *file, "Image or video; the type is read from the bytes")->required();
  auto* alt_opt = add->add_option("--alt", *alt, "Alt text, used by posts that attach this item without --alt");
  examples(add, {"multivio media add chart.png --alt \"p99 latency by week\"",
                 "multivio --json media add clip.mp4 | jq .duration_ms"});
  session.on_run(add, [&session, file, alt, alt_opt] {
    const auto added = app::add_media(session.ctx(), *file,
                                      alt_opt->count() > 0 ? std::optional<std::string>(*alt) : std::nullopt);
    output::show_added_media(session.out(), added);
    return 0;
  });

  auto* list = group->add_subcommand("list", "List the library, oldest first");
  examples(list, {"multivio media list", "multivio media list --json"});
  session.on_run(list, [&session] {
    output::show_media_list(session.out(), app::list_media(session.ctx()));
    return 0;
  });

  auto show_ref = std::make_shared<std::string>();
  auto* show = group->add_subcommand("show", "Show one item: kind, size or duration, hash, stored path, alt text");
  show->add_option("ID", *show_ref, "Media id (ID or media:ID)")->required();
  examples(show, {"multivio media show 3", "multivio media show media:3 --json"});
  session.on_run(show, [&session, show_ref] {
    output::show_media(session.out(), app::resolve_media(session.ctx(), *show_ref));
    return 0;
  });

  auto rm_ref = std::make_shared<std::string>();
  auto* rm = group->add_subcommand(
      "rm", "Remove an item, and its file when nothing else holds the same bytes. Posts that attached it keep the "
            "path and fail validation");
  rm->add_option("ID", *rm_ref, "Media id (ID or media:ID)")->required();
  examples(rm, {"multivio media rm 3"});
  session.on_run(rm, [&session, rm_ref] {
    const auto item = app::remove_media(session.ctx(), *rm_ref);
    session.out().note("media " + std::to_string(item.id) + " removed");
    if (session.out().json()) session.out().json_doc({{"removed", item.id}});
    return 0;
  });
}

}  // namespace multivio::cli
